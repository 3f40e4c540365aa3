//! A runtime that owns its store: it starts from the stored state (saving the defaults once), applies records
//! exactly, writes every change back, merges with other hosts on a conflict, and keeps one migration ledger per
//! scope.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::executor::block_on;
use semver::Version;
use zelavis_registry::prelude::*;
use zelavis_registry::store::memory::MemoryStore;
use zelavis_registry::store::update_state;

fn n(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn plain(name: &str) -> PluginDef {
    PluginDef::builder(name).version("1.0.0").build().unwrap()
}

fn registry(entries: impl IntoIterator<Item = RegistryEntry>) -> PluginRegistry {
    PluginRegistry::new(entries).unwrap()
}

fn on_store<S: RegistryStore + MigrationLedger + 'static>(store: S, entries: Vec<RegistryEntry>) -> Runtime {
    block_on(Runtime::builder(registry(entries)).store(store, Scope::Default).start())
        .unwrap()
        .0
}

fn stored(store: &MemoryStore) -> Stored {
    block_on(store.load(&Scope::Default)).unwrap()
}

#[test]
fn a_missing_document_is_the_registry_defaults_saved_once() {
    let store = MemoryStore::new();
    let entries = || {
        vec![
            RegistryEntry::installed(plain("a")).order(3),
            RegistryEntry::available(plain("b")),
        ]
    };
    let runtime = on_store(store.clone(), entries());
    let first = stored(&store);
    assert_eq!(first.revision, Revision(1));
    assert_eq!(first.state, block_on(runtime.state()));
    assert_eq!(first.state.get("a").unwrap().order, Some(3));

    // A second start (another process, a restart) saves nothing: everything is recorded.
    let again = on_store(store.clone(), entries());
    assert_eq!(stored(&store).revision, Revision(1));
    assert_eq!(block_on(again.state()), first.state);

    // A plugin the host links since then gets its default record, once.
    let grown = on_store(store.clone(), {
        let mut e = entries();
        e.push(RegistryEntry::installed(plain("c")));
        e
    });
    assert_eq!(stored(&store).revision, Revision(2));
    assert!(block_on(grown.is_active("c")));
    assert_eq!(stored(&store).state.records.len(), 3);
}

#[test]
fn the_stored_state_wins_over_the_defaults_and_applies_exactly() {
    let store = MemoryStore::new();
    block_on(update_state(&store, &Scope::Default, |state| {
        state.upsert(InstallRecord::new(n("a"), Status::Available));
        state.upsert(InstallRecord::new(n("b"), Status::Installed).pin(Version::new(2, 0, 0)));
        state.upsert(InstallRecord::new(n("elsewhere"), Status::Installed));
    }))
    .unwrap();
    let runtime = on_store(
        store.clone(),
        vec![
            RegistryEntry::installed(plain("a")).order(1).pin(Version::new(1, 0, 0)),
            RegistryEntry::available(plain("b")),
        ],
    );
    assert!(!block_on(runtime.is_active("a")));
    assert!(block_on(runtime.is_active("b")));
    let registry = block_on(runtime.registry());
    let a = registry.get("a").unwrap().record();
    assert_eq!(
        (a.order, a.pin.as_ref()),
        (None, None),
        "absent fields clear the defaults"
    );
    assert_eq!(registry.get("b").unwrap().record().pin, Some(Version::new(2, 0, 0)));
    // The state is what the store says, records of plugins this host does not link included.
    assert_eq!(block_on(runtime.state()), stored(&store).state);
    assert!(block_on(runtime.state()).get("elsewhere").is_some());
}

#[test]
fn every_change_is_written_back() {
    let store = MemoryStore::new();
    let runtime = on_store(
        store.clone(),
        vec![
            RegistryEntry::installed(plain("a")),
            RegistryEntry::available(plain("b")),
        ],
    );
    block_on(runtime.enable("b")).unwrap();
    block_on(runtime.set_pin("b", Some(Version::new(1, 2, 0)))).unwrap();
    block_on(runtime.set_order("a", Some(5))).unwrap();
    block_on(runtime.disable("a", Cascade::No)).unwrap();
    let state = stored(&store).state;
    assert_eq!(state, block_on(runtime.state()));
    assert_eq!(
        state.get("b").map(|r| (r.status, r.pin.clone())),
        Some((Status::Installed, Some(Version::new(1, 2, 0))))
    );
    assert_eq!(
        state.get("a").map(|r| (r.status, r.order)),
        Some((Status::Available, Some(5)))
    );
    assert_eq!(stored(&store).revision, block_on(runtime.revision()));

    // A verb that changes nothing writes nothing.
    let revision = stored(&store).revision;
    block_on(runtime.enable("b")).unwrap();
    assert_eq!(stored(&store).revision, revision);

    block_on(runtime.uninstall("a", Cascade::No)).unwrap();
    assert!(stored(&store).state.get("a").is_none());
    assert_eq!(block_on(runtime.state()), stored(&store).state);
}

#[test]
fn an_update_with_its_specifier_is_one_write() {
    let store = MemoryStore::new();
    let runtime = on_store(
        store.clone(),
        vec![RegistryEntry::installed(plain("pay")).specifier("wasm:pay@1.0.0")],
    );
    let revision = stored(&store).revision;
    let next = PluginDef::builder("pay").version("2.0.0").build().unwrap();
    let report = block_on(runtime.update_with_specifier(next, "wasm:pay@2.0.0")).unwrap();
    assert!(report.is_live("pay"), "{report}");
    let after = stored(&store);
    assert_eq!(
        after.revision,
        revision.checked_next().unwrap(),
        "one change, one write"
    );
    assert_eq!(
        after.state.get("pay").and_then(|r| r.specifier.clone()).as_deref(),
        Some("wasm:pay@2.0.0")
    );
    assert_eq!(after.state, block_on(runtime.state()));
    let version = |r: &Runtime| block_on(r.registry()).get("pay").unwrap().plugin.version().to_string();
    assert_eq!(version(&runtime), "2.0.0");

    // The same specifier again writes nothing; an unknown plugin is refused and nothing is written.
    let again = PluginDef::builder("pay").version("2.0.0").build().unwrap();
    block_on(runtime.update_with_specifier(again, "wasm:pay@2.0.0")).unwrap();
    assert_eq!(stored(&store).revision, after.revision);
    let ghost = plain("ghost");
    assert!(matches!(
        block_on(runtime.update_with_specifier(ghost, "wasm:ghost@1.0.0")),
        Err(RuntimeError::Unknown { .. })
    ));
    assert_eq!(stored(&store), after);
}

#[test]
fn a_pin_cleared_on_one_host_is_cleared_on_every_follower() {
    let store = MemoryStore::new();
    let entries = || vec![RegistryEntry::installed(plain("shop")).pin(Version::new(1, 0, 0))];
    let here = on_store(store.clone(), entries());
    let there = on_store(store.clone(), entries());
    assert_eq!(pin_of(&there), Some(Version::new(1, 0, 0)));
    block_on(here.set_pin("shop", None)).unwrap();
    block_on(there.follower().unwrap().sync()).unwrap();
    assert_eq!(pin_of(&there), None);
    assert_eq!(block_on(there.state()), stored(&store).state);
}

fn pin_of(runtime: &Runtime) -> Option<Version> {
    block_on(runtime.registry()).get("shop").unwrap().record().pin.clone()
}

#[test]
fn a_conflicting_write_takes_the_other_hosts_state_and_loses_nothing() {
    let store = MemoryStore::new();
    let entries = || {
        vec![
            RegistryEntry::available(plain("x")),
            RegistryEntry::available(plain("y")),
        ]
    };
    let here = on_store(store.clone(), entries());
    let there = on_store(store.clone(), entries());
    // `there` enables x; `here` has not seen it and enables y.
    block_on(there.enable("x")).unwrap();
    let change = block_on(here.enable("y")).unwrap();
    let state = stored(&store).state;
    assert_eq!(state.get("x").map(|r| r.status), Some(Status::Installed), "x was lost");
    assert_eq!(state.get("y").map(|r| r.status), Some(Status::Installed), "y was lost");
    // `here` took the other host's change with its own, live, in the same change.
    assert!(block_on(here.is_active("x")), "{change}");
    assert!(block_on(here.is_active("y")));
    assert_eq!(block_on(here.state()), state);
    assert_eq!(block_on(here.revision()), stored(&store).revision);
}

/// A store whose writes fail: a refused change changes nothing live.
#[derive(Clone, Default)]
struct Failing(MemoryStore, Arc<AtomicUsize>);

#[async_trait]
impl RegistryStore for Failing {
    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        self.0.load(scope).await
    }

    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        if self.1.load(Ordering::SeqCst) > 0 {
            return Err(StoreError::Backend {
                store: "failing".into(),
                message: "disk full".into(),
            });
        }
        self.0.save(scope, state, expected).await
    }
}

#[async_trait]
impl MigrationLedger for Failing {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        self.0.is_applied(scope, plugin, id).await
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        self.0.record(scope, plugin, id).await
    }
}

#[test]
fn a_failed_write_changes_nothing_live() {
    let store = Failing::default();
    let runtime = on_store(store.clone(), vec![RegistryEntry::installed(plain("a"))]);
    store.1.store(1, Ordering::SeqCst);
    let refused = block_on(runtime.disable("a", Cascade::No)).unwrap_err();
    assert!(
        matches!(refused, RuntimeError::Store(StoreError::Backend { .. })),
        "{refused}"
    );
    assert!(block_on(runtime.is_active("a")));
    assert_eq!(
        block_on(runtime.state()).get("a").map(|r| r.status),
        Some(Status::Installed)
    );
    let refused = block_on(runtime.install(RegistryEntry::installed(plain("b")))).unwrap_err();
    assert!(matches!(refused, RuntimeError::Store(_)));
    assert!(!block_on(runtime.registry()).contains("b"), "the plugin was not added");
    assert_eq!(block_on(store.0.load(&Scope::Default)).unwrap().revision, Revision(1));
}

/// A plugin whose migration counts its runs.
fn migrating(runs: &Arc<AtomicUsize>) -> PluginDef {
    let runs = runs.clone();
    PluginDef::builder("orders")
        .version("1.0.0")
        .permission(Permission::MigrationsRegister)
        .setup(move |cx| {
            let runs = runs.clone();
            cx.register_migration(Migration::new("001-create-orders", move || {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })?)
        })
        .build()
        .unwrap()
}

#[test]
fn migrations_run_once_per_tenant_scope_and_survive_disable_and_restart() {
    let store = MemoryStore::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let tenant = |name: &str| {
        let scope = Scope::tenant(name).unwrap();
        block_on(
            Runtime::builder(registry([RegistryEntry::installed(migrating(&runs))]))
                .store(store.clone(), scope)
                .start(),
        )
        .unwrap()
    };
    let (acme, report) = tenant("acme");
    assert_eq!(
        report.get("orders").unwrap().migrations,
        ["001-create-orders"],
        "{report}"
    );
    let (globex, report) = tenant("globex");
    assert_eq!(
        report.get("orders").unwrap().migrations,
        ["001-create-orders"],
        "another tenant runs it too"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // Disable and enable again: kept, not run again.
    block_on(acme.disable("orders", Cascade::No)).unwrap();
    let change = block_on(acme.enable("orders")).unwrap();
    assert!(change.get("orders").unwrap().migrations.is_empty(), "{change}");
    // A restart of a tenant's runtime: not run again either.
    drop((acme, globex));
    let (_again, report) = tenant("acme");
    assert!(report.get("orders").unwrap().migrations.is_empty());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // The tenants' states never see each other.
    assert_eq!(block_on(store.load(&Scope::Default)).unwrap().revision, Revision::NONE);
}

#[test]
fn following_needs_a_store() {
    let (runtime, _) = block_on(Runtime::builder(PluginRegistry::default()).start()).unwrap();
    assert!(matches!(runtime.follower(), Err(FollowError::NoStore)));
}
