//! The conformance kit: one behavioural suite every [`RegistryStore`] must pass. The built-in stores run it in
//! their tests; host adapters run it against theirs.
//!
//! Implement [`Harness`] for your store (how to make a fresh, isolated one; how to open a second client on the
//! same data; how to plant corrupt or newer-format data), then run [`run`]:
//!
//! ```
//! use async_trait::async_trait;
//! use zelavis_registry::store::conformance::{self, Harness};
//! use zelavis_registry::store::{Scope, memory::MemoryStore};
//!
//! struct MyHarness;
//!
//! #[async_trait]
//! impl Harness for MyHarness {
//!     type Store = MemoryStore; // your adapter's store type
//!
//!     async fn fresh(&self) -> MemoryStore {
//!         MemoryStore::new() // e.g. a unique database schema or key prefix
//!     }
//!     async fn second_client(&self, store: &MemoryStore) -> MemoryStore {
//!         store.clone() // e.g. a new connection to the same schema
//!     }
//!     async fn write_corrupt(&self, store: &MemoryStore, scope: &Scope) {
//!         store.write_raw(scope, b"{ not json");
//!     }
//!     async fn write_newer_format(&self, store: &MemoryStore, scope: &Scope, format: u64) {
//!         store.write_raw(scope, format!(r#"{{"format":{format},"revision":1,"state":{{}}}}"#).as_bytes());
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let report = conformance::run(&MyHarness).await;
//! assert!(report.passed(), "{report}");
//! # });
//! ```

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::channel::oneshot;
use futures::future::{Either, select};
use zelavis_core::name::Name;

use super::{RegistryStore, Retry, Revision, Scope, StoreError};
use crate::ledger::MigrationLedger;
use crate::record::InstallRecord;
use crate::registry::Status;
use crate::state::RegistryState;

/// How the kit gets stores to test.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The store under test: registry state and migration ledger.
    type Store: RegistryStore + MigrationLedger + 'static;

    /// A store over a fresh, empty, isolated namespace (a temp directory, a unique schema or key prefix).
    async fn fresh(&self) -> Self::Store;

    /// A second, separate client of the same namespace as `store` (a new connection, a new handle).
    async fn second_client(&self, store: &Self::Store) -> Self::Store;

    /// Plants unreadable data as the stored state of `scope`.
    async fn write_corrupt(&self, store: &Self::Store, scope: &Scope);

    /// Plants a document of format `format` (newer than this build reads) as the stored state of `scope`.
    async fn write_newer_format(&self, store: &Self::Store, scope: &Scope, format: u64);

    /// How many concurrent updates each of two clients makes in the contention check (default 50).
    fn contention_writers(&self) -> usize {
        50
    }

    /// Removes what `fresh` created (default: nothing).
    async fn cleanup(&self, store: Self::Store) {
        drop(store);
    }
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check's name, e.g. `concurrent_writers`.
    pub name: &'static str,
    /// `Err` with what went wrong.
    pub outcome: Result<(), String>,
}

/// The outcome of every check.
#[derive(Debug, Clone)]
pub struct ConformanceReport {
    /// What the store described itself as.
    pub store: String,
    /// One result per check, in order.
    pub results: Vec<CheckResult>,
}

impl ConformanceReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.outcome.is_ok())
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of {}:", self.store)?;
        for result in &self.results {
            match &result.outcome {
                Ok(()) => writeln!(f, "  ok    {}", result.name)?,
                Err(why) => writeln!(f, "  FAIL  {}: {why}", result.name)?,
            }
        }
        Ok(())
    }
}

type Check = Result<(), String>;

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Check {
    if condition { Ok(()) } else { Err(message()) }
}

fn record(name: &str) -> InstallRecord {
    InstallRecord::new(
        Name::parse(name).unwrap_or_else(|_| unreachable!("kit names are valid")),
        Status::Installed,
    )
}

fn state(names: &[&str]) -> RegistryState {
    RegistryState::new(names.iter().map(|n| record(n)).collect())
}

fn names(state: &RegistryState) -> Vec<String> {
    state.records.iter().map(|r| r.name.to_string()).collect()
}

fn tenant(name: &str) -> Scope {
    Scope::tenant(name).unwrap_or_else(|_| unreachable!("kit names are valid"))
}

/// Runs every check, each against a fresh store, and reports them all.
pub async fn run<H: Harness>(harness: &H) -> ConformanceReport {
    let mut results = Vec::new();
    let probe = harness.fresh().await;
    let store_name = probe.describe();
    harness.cleanup(probe).await;
    macro_rules! check {
        ($name:ident) => {{
            let store = harness.fresh().await;
            let outcome = $name(harness, &store).await;
            harness.cleanup(store).await;
            results.push(CheckResult {
                name: stringify!($name),
                outcome,
            });
        }};
    }
    check!(empty_load);
    check!(round_trip);
    check!(stale_revision_conflicts);
    check!(concurrent_writers_lose_nothing);
    check!(contended_updates_all_succeed);
    check!(tenant_isolation);
    check!(newer_format_is_refused);
    check!(corrupt_data_is_an_error);
    check!(large_state);
    check!(unicode_and_scoped_names);
    check!(ledger_idempotence);
    check!(ledger_per_scope);
    check!(watch_delivery);
    ConformanceReport {
        store: store_name,
        results,
    }
}

async fn empty_load<H: Harness>(_: &H, store: &H::Store) -> Check {
    let stored = store.load(&Scope::Default).await.map_err(|e| e.to_string())?;
    ensure(
        stored.revision == Revision::NONE && stored.state.records.is_empty(),
        || format!("a fresh store loaded {stored:?}, expected an empty state at r0"),
    )
}

async fn round_trip<H: Harness>(_: &H, store: &H::Store) -> Check {
    let mut written = state(&["alpha", "beta"]);
    written.records[1].order = Some(0);
    written.records[1].status = Status::Available;
    let r1 = store
        .save(&Scope::Default, &written, Revision::NONE)
        .await
        .map_err(|e| e.to_string())?;
    ensure(r1 > Revision::NONE, || format!("first save returned {r1}"))?;
    let stored = store.load(&Scope::Default).await.map_err(|e| e.to_string())?;
    ensure(stored.state == written && stored.revision == r1, || {
        format!("loaded {stored:?}, expected {written:?} at {r1}")
    })?;
    let r2 = store
        .save(&Scope::Default, &state(&["gamma"]), r1)
        .await
        .map_err(|e| e.to_string())?;
    ensure(r2 > r1, || format!("second save returned {r2}, not after {r1}"))
}

async fn stale_revision_conflicts<H: Harness>(_: &H, store: &H::Store) -> Check {
    let r1 = store
        .save(&Scope::Default, &state(&["a"]), Revision::NONE)
        .await
        .map_err(|e| e.to_string())?;
    match store.save(&Scope::Default, &state(&["b"]), Revision::NONE).await {
        Err(StoreError::Conflict { expected, actual, .. }) => {
            ensure(expected == Revision::NONE && actual == r1, || {
                format!("conflict named expected {expected} and actual {actual}, not r0 and {r1}")
            })?;
        }
        other => return Err(format!("a stale save returned {other:?}, expected a conflict")),
    }
    let stored = store.load(&Scope::Default).await.map_err(|e| e.to_string())?;
    ensure(names(&stored.state) == ["a"], || {
        format!("a refused save changed the state to {stored:?}")
    })
}

async fn concurrent_writers_lose_nothing<H: Harness>(harness: &H, store: &H::Store) -> Check {
    const WRITERS: usize = 8;
    const EACH: usize = 3;
    let mut clients = Vec::new();
    for _ in 0..WRITERS {
        clients.push(harness.second_client(store).await);
    }
    let writers = clients.iter().enumerate().map(|(w, client)| async move {
        for i in 0..EACH {
            loop {
                let mut stored = client.load(&Scope::Default).await.map_err(|e| e.to_string())?;
                stored.state.records.push(record(&format!("w{w}-p{i}")));
                match client.save(&Scope::Default, &stored.state, stored.revision).await {
                    Ok(_) => break,
                    Err(e) if e.is_conflict() => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        Ok::<(), String>(())
    });
    for result in futures::future::join_all(writers).await {
        result?;
    }
    let stored = store.load(&Scope::Default).await.map_err(|e| e.to_string())?;
    let mut found = names(&stored.state);
    found.sort();
    let mut expected: Vec<String> = (0..WRITERS)
        .flat_map(|w| (0..EACH).map(move |i| format!("w{w}-p{i}")))
        .collect();
    expected.sort();
    ensure(found == expected, || {
        format!("after concurrent writers the state holds {found:?}")
    })
}

/// Two clients, each running many concurrent [`RegistryStore::update`]s that each add one record: every call
/// succeeds (no conflict reaches the caller), every record is there, and each update was one revision.
async fn contended_updates_all_succeed<H: Harness>(harness: &H, store: &H::Store) -> Check {
    let writers = harness.contention_writers();
    let other = harness.second_client(store).await;
    let retry = Retry::default();
    let clients = [store, &other];
    let calls = (0..2 * writers).map(|i| {
        let client = clients[i % 2];
        let retry = &retry;
        async move {
            let name = format!("u{}-{}", i % 2, i / 2);
            let add = |state: &mut RegistryState| state.records.push(record(&name));
            client
                .update(&Scope::Default, &add, retry)
                .await
                .map_err(|e| format!("{name}: {e}"))
        }
    });
    let results = futures::future::join_all(calls).await;
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    ensure(failed.is_empty(), || {
        format!(
            "{} of {} contended updates failed, first: {}",
            failed.len(),
            2 * writers,
            failed[0]
        )
    })?;
    let stored = store.load(&Scope::Default).await.map_err(|e| e.to_string())?;
    let mut found = names(&stored.state);
    found.sort();
    let mut expected: Vec<String> = (0..2 * writers).map(|i| format!("u{}-{}", i % 2, i / 2)).collect();
    expected.sort();
    ensure(found == expected, || {
        format!(
            "after {} contended updates the state holds {} records",
            2 * writers,
            found.len()
        )
    })?;
    ensure(stored.revision == Revision(2 * writers as u64), || {
        format!("{} updates left the scope at {}", 2 * writers, stored.revision)
    })
}

async fn tenant_isolation<H: Harness>(_: &H, store: &H::Store) -> Check {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let ra = store
        .save(&a, &state(&["only-acme"]), Revision::NONE)
        .await
        .map_err(|e| e.to_string())?;
    store
        .save(&b, &state(&["only-globex"]), Revision::NONE)
        .await
        .map_err(|e| e.to_string())?;
    let default = store.load(&Scope::Default).await.map_err(|e| e.to_string())?;
    ensure(default.state.records.is_empty(), || {
        format!("default scope sees {default:?}")
    })?;
    let acme = store.load(&a).await.map_err(|e| e.to_string())?;
    ensure(names(&acme.state) == ["only-acme"] && acme.revision == ra, || {
        format!("tenant acme sees {acme:?}")
    })?;
    let globex = store.load(&b).await.map_err(|e| e.to_string())?;
    ensure(names(&globex.state) == ["only-globex"], || {
        format!("tenant globex sees {globex:?}")
    })
}

async fn newer_format_is_refused<H: Harness>(harness: &H, store: &H::Store) -> Check {
    harness
        .write_newer_format(store, &Scope::Default, super::FORMAT_VERSION + 1)
        .await;
    match store.load(&Scope::Default).await {
        Err(StoreError::NewerFormat { found, .. }) if found == super::FORMAT_VERSION + 1 => {}
        other => return Err(format!("loading a newer format returned {other:?}")),
    }
    let save = store.save(&Scope::Default, &state(&["x"]), Revision(1)).await;
    ensure(save.is_err(), || {
        format!("a save over a newer-format document returned {save:?}")
    })?;
    let again = store.load(&Scope::Default).await;
    ensure(matches!(again, Err(StoreError::NewerFormat { .. })), || {
        format!("the newer-format document was replaced: {again:?}")
    })
}

async fn corrupt_data_is_an_error<H: Harness>(harness: &H, store: &H::Store) -> Check {
    harness.write_corrupt(store, &Scope::Default).await;
    match store.load(&Scope::Default).await {
        Err(StoreError::Corrupt {
            store: name, location, ..
        }) => {
            ensure(!name.is_empty() && !location.is_empty(), || {
                "corrupt error names no store or location".to_owned()
            })?;
        }
        other => return Err(format!("loading corrupt data returned {other:?}")),
    }
    for revision in [Revision::NONE, Revision(1)] {
        let save = store.save(&Scope::Default, &state(&["x"]), revision).await;
        ensure(save.is_err(), || {
            format!("a save over corrupt data at {revision} returned {save:?}")
        })?;
    }
    let again = store.load(&Scope::Default).await;
    ensure(matches!(again, Err(StoreError::Corrupt { .. })), || {
        format!("corrupt data was replaced: {again:?}")
    })
}

async fn large_state<H: Harness>(_: &H, store: &H::Store) -> Check {
    let mut big = RegistryState::new((0..10_000).map(|i| record(&format!("plugin-{i:05}"))).collect());
    for (i, r) in big.records.iter_mut().enumerate() {
        r.order = u32::try_from(i % 100).ok();
    }
    let r1 = store
        .save(&Scope::Default, &big, Revision::NONE)
        .await
        .map_err(|e| e.to_string())?;
    let stored = store.load(&Scope::Default).await.map_err(|e| e.to_string())?;
    ensure(stored.state == big && stored.revision == r1, || {
        format!(
            "a 10k-plugin state came back with {} records",
            stored.state.records.len()
        )
    })
}

async fn unicode_and_scoped_names<H: Harness>(_: &H, store: &H::Store) -> Check {
    let mut written = state(&["@ecommus-plugin/niche-booking", "@a/b.c_d-e"]);
    written.records[0].specifier = Some("file:///plugins/réservation/日本語/✓".to_owned());
    written.records[1].specifier = Some("emoji 🚀 \"quoted\" \\ back".to_owned());
    let scope = tenant("@tenant/scoped-tenant");
    store
        .save(&scope, &written, Revision::NONE)
        .await
        .map_err(|e| e.to_string())?;
    let stored = store.load(&scope).await.map_err(|e| e.to_string())?;
    ensure(stored.state == written, || {
        format!("scoped and unicode data came back as {stored:?}")
    })
}

async fn ledger_idempotence<H: Harness>(harness: &H, store: &H::Store) -> Check {
    let plugin = Name::parse("@acme/shop").map_err(|e| e.to_string())?;
    let other = Name::parse("other").map_err(|e| e.to_string())?;
    let default = Scope::Default;
    let first = store
        .record(&default, &plugin, "001-orders")
        .await
        .map_err(|e| e.to_string())?;
    let second = store
        .record(&default, &plugin, "001-orders")
        .await
        .map_err(|e| e.to_string())?;
    ensure(first && !second, || {
        format!("recording twice returned {first} then {second}, expected true then false")
    })?;
    let client = harness.second_client(store).await;
    let seen = client
        .is_applied(&default, &plugin, "001-orders")
        .await
        .map_err(|e| e.to_string())?;
    let unrelated = client
        .is_applied(&default, &other, "001-orders")
        .await
        .map_err(|e| e.to_string())?;
    let unknown = client
        .is_applied(&default, &plugin, "002-more")
        .await
        .map_err(|e| e.to_string())?;
    ensure(seen && !unrelated && !unknown, || {
        format!("another client sees applied={seen}, other plugin={unrelated}, unknown id={unknown}")
    })?;
    let writers = (0..4).map(|_| store.record(&default, &plugin, "003-race"));
    let firsts = futures::future::join_all(writers)
        .await
        .into_iter()
        .collect::<Result<Vec<bool>, _>>()
        .map_err(|e| e.to_string())?;
    ensure(firsts.iter().filter(|f| **f).count() == 1, || {
        format!("concurrent recordings reported {firsts:?}; exactly one should be first")
    })
}

/// Tenants sharing one store each get their own ledger: a migration applied for one tenant (or the default
/// scope) is not applied for another, and recording it there is a first recording.
async fn ledger_per_scope<H: Harness>(harness: &H, store: &H::Store) -> Check {
    let plugin = Name::parse("@acme/shop").map_err(|e| e.to_string())?;
    let (acme, globex) = (tenant("acme"), tenant("@globex/eu"));
    let recorded = store
        .record(&acme, &plugin, "001-orders")
        .await
        .map_err(|e| e.to_string())?;
    let client = harness.second_client(store).await;
    let mut seen = Vec::new();
    for scope in [&acme, &globex, &Scope::Default] {
        seen.push(
            client
                .is_applied(scope, &plugin, "001-orders")
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    ensure(recorded && seen == [true, false, false], || {
        format!("recorded for tenant acme ({recorded}); applied per scope acme, globex, default: {seen:?}")
    })?;
    let elsewhere = client
        .record(&globex, &plugin, "001-orders")
        .await
        .map_err(|e| e.to_string())?;
    let again = store
        .record(&acme, &plugin, "001-orders")
        .await
        .map_err(|e| e.to_string())?;
    ensure(elsewhere && !again, || {
        format!("recording in another tenant returned {elsewhere} (want true), again in acme {again} (want false)")
    })
}

async fn watch_delivery<H: Harness>(harness: &H, store: &H::Store) -> Check {
    let Some(mut changes) = store.watch().await.map_err(|e| e.to_string())? else {
        return Ok(()); // The store does not publish changes; hosts poll it.
    };
    let writer = harness.second_client(store).await;
    let revision = writer
        .save(&Scope::Default, &state(&["watched"]), Revision::NONE)
        .await
        .map_err(|e| e.to_string())?;
    let deadline = sleep(Duration::from_secs(10));
    futures::pin_mut!(deadline);
    loop {
        match select(changes.next(), deadline.as_mut()).await {
            Either::Left((Some(change), _)) if change.scope == Scope::Default && change.revision >= revision => {
                return Ok(());
            }
            Either::Left((Some(_), _)) => {}
            Either::Left((None, _)) => return Err("the watch stream ended before the change arrived".to_owned()),
            Either::Right(((), _)) => return Err(format!("no change for {revision} arrived within 10 s")),
        }
    }
}

/// A runtime-agnostic sleep: a thread completes a oneshot.
async fn sleep(duration: Duration) {
    let (done, wait) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(duration);
        let _ = done.send(());
    });
    let _ = wait.await;
}
