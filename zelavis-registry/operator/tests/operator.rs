//! The operator layer end to end on real runtimes: the ordered enable checks, grants that drive each tenant's
//! runtime (migrations once per tenant, hooks and routes mounted and withdrawn), pins, deprecation, removal,
//! the kill switch, settings, health, audit, roles, concurrent operators and a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use zelavis_core::bus::HookRef;
use zelavis_operator::prelude::*;
use zelavis_plugin::settings::{REDACTED, SettingField, SettingKind};
use zelavis_registry::report::Outcome;
use zelavis_registry::runtime::Runtime;
use zelavis_registry::store::memory::MemoryStore;

const ORDER_PAID: HookRef<u64> = HookRef::new("order.paid");

#[derive(Default)]
struct Counters {
    setups: AtomicUsize,
    migrations: AtomicUsize,
    paid: AtomicUsize,
}

fn plugin(name: &str, version: &str, counters: &Arc<Counters>) -> PluginDef {
    let counters = counters.clone();
    PluginDef::builder(name)
        .version(version)
        .permissions(Permission::ALL)
        .setting(SettingField::new("api_key", "API key", SettingKind::Password).required())
        .setting(
            SettingField::new("mode", "Mode", SettingKind::Select)
                .option("live", "Live")
                .option("test", "Test")
                .default_value("test"),
        )
        .setup(move |cx| {
            counters.setups.fetch_add(1, Ordering::SeqCst);
            let migrations = counters.clone();
            cx.register_migration(Migration::new("001-create", move || {
                let migrations = migrations.clone();
                async move {
                    migrations.migrations.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })?)?;
            let paid = counters.clone();
            cx.subscribe(Subscription::hook_sync(&ORDER_PAID, 0, move |_| {
                paid.paid.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }))?;
            cx.register_route(Route::new(http::Method::GET, "/ping", |_| async {
                Ok(RouteResponse::new(b"pong".to_vec()))
            })?)?;
            Ok(())
        })
        .build()
        .unwrap()
}

fn broken(name: &str, version: &str) -> PluginDef {
    PluginDef::builder(name)
        .version(version)
        .setup(|_| {
            Err(SetupError::other(std::io::Error::other(
                "the payment gateway is unreachable",
            )))
        })
        .build()
        .unwrap()
}

fn owner() -> Actor {
    Actor::new("owner@example.com", Role::Owner)
}

fn ops() -> Actor {
    Actor::new("ops@example.com", Role::Operator)
}

fn license(plugins: &[&str]) -> License {
    License {
        licensed_plugins: plugins.iter().map(|p| (*p).to_owned()).collect(),
        tier: "pro".into(),
        features: vec![MARKETPLACE_PUBLISHER.into()],
        ..License::default()
    }
}

struct Platform {
    operator: Operator,
    tenants: LocalTenants,
    counters: Arc<Counters>,
    store: MemoryOperatorStore,
    registry_store: MemoryStore,
}

async fn platform() -> Platform {
    platform_on(MemoryOperatorStore::new(), MemoryStore::new(), Arc::default()).await
}

async fn platform_on(store: MemoryOperatorStore, registry_store: MemoryStore, counters: Arc<Counters>) -> Platform {
    let releases = BuiltinReleases::new()
        .with(plugin("stripe", "1.0.0", &counters))
        .with(plugin("stripe", "2.0.0", &counters))
        .with(plugin("stripe", "2.1.0-beta.1", &counters))
        .with(plugin("reports", "1.0.0", &counters))
        .with(plugin("kitchen", "1.0.0", &counters))
        .with(broken("flaky", "1.0.0"));
    let licenses = FixedLicenses::new()
        .grant("acme", license(&["stripe", "reports", "kitchen", "flaky"]))
        .grant("globex", license(&["stripe", "reports"]))
        .grant("initech", license(&["stripe"]));
    let tenants = LocalTenants::new(registry_store.clone(), "host-1");
    let operator = Operator::builder(store.clone())
        .licenses(licenses)
        .tenants(tenants.clone())
        .releases(releases.clone())
        .build();
    for def in releases.defs() {
        let spec = match def.name().as_str() {
            "reports" => PluginSpec::new(CatalogSource::Premium, "acme-analytics").tier_minimum("growth"),
            "kitchen" => PluginSpec::new(CatalogSource::BuiltIn, "zelavis").niche("restaurants"),
            _ => PluginSpec::new(CatalogSource::BuiltIn, "zelavis"),
        };
        operator.register_builtin(&owner(), def, spec).await.unwrap();
    }
    for (id, tier, niche) in [
        ("acme", "pro", "retail"),
        ("globex", "enterprise", "retail"),
        ("initech", "starter", "retail"),
    ] {
        match operator
            .create_tenant(&owner(), TenantSpec::new(Name::parse(id).unwrap(), tier, niche))
            .await
        {
            Ok(_) | Err(OperatorError::AlreadyExists { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    Platform {
        operator,
        tenants,
        counters,
        store,
        registry_store,
    }
}

/// The version of `plugin` a tenant's runtime holds.
async fn running_version(runtime: &Runtime, plugin: &str) -> String {
    runtime
        .registry()
        .await
        .get(plugin)
        .unwrap()
        .plugin
        .version()
        .to_string()
}

async fn runtime(p: &Platform, tenant: &str) -> Runtime {
    p.tenants.runtime(&Name::parse(tenant).unwrap()).await.unwrap().0
}

#[tokio::test]
async fn enable_checks_run_in_the_seed_order() {
    let p = platform().await;
    // `kitchen` is licensed to acme but needs the restaurants niche; `reports` needs growth; globex is not
    // licensed for kitchen at all.
    let refused = p.operator.enable(&ops(), "globex", "kitchen", None).await.unwrap_err();
    assert_eq!((refused.code(), refused.status()), ("license_denied", 403));
    let refused = p.operator.enable(&ops(), "acme", "reports", None).await.unwrap_err();
    assert_eq!((refused.code(), refused.status()), ("tier_too_low", 403));
    assert!(refused.to_string().contains("growth"), "{refused}");
    let refused = p.operator.enable(&ops(), "acme", "kitchen", None).await.unwrap_err();
    assert_eq!((refused.code(), refused.status()), ("niche_mismatch", 409));
    let refused = p
        .operator
        .enable(&ops(), "acme", "stripe", Some("9.9.9".parse().unwrap()))
        .await
        .unwrap_err();
    assert_eq!((refused.code(), refused.status()), ("version_not_found", 404));
    // A license denial wins over everything after it: globex on reports is licensed and enterprise, fine.
    assert!(
        p.operator
            .enable(&ops(), "globex", "reports", None)
            .await
            .unwrap()
            .changed
    );
    // Unknown names are typed too.
    assert_eq!(
        p.operator
            .enable(&ops(), "nobody", "stripe", None)
            .await
            .unwrap_err()
            .code(),
        "unknown_tenant"
    );
    assert_eq!(
        p.operator
            .enable(&ops(), "acme", "nothing", None)
            .await
            .unwrap_err()
            .code(),
        "unknown_plugin"
    );
    // Nothing refused was stored.
    assert_eq!(p.operator.tenants_using("kitchen").await.unwrap(), 0);
}

#[tokio::test]
async fn enabling_drives_the_tenant_runtime_and_disabling_withdraws_it() {
    let p = platform().await;
    let change = p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    assert!(change.changed);
    assert_eq!(
        change.enablement.version.as_ref().unwrap().to_string(),
        "2.0.0",
        "default-latest skips the pre-release"
    );
    let acme = runtime(&p, "acme").await;
    assert!(acme.is_active("stripe").await);
    assert_eq!(acme.routes().len(), 1);
    acme.bus().emit(&ORDER_PAID, 1).await;
    assert_eq!(p.counters.paid.load(Ordering::SeqCst), 1);
    assert_eq!(p.counters.migrations.load(Ordering::SeqCst), 1);

    // Enabling at the same version is a no-op: no second setup.
    let setups = p.counters.setups.load(Ordering::SeqCst);
    assert!(!p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap().changed);
    assert_eq!(p.counters.setups.load(Ordering::SeqCst), setups);

    // Another tenant runs its own migration once, in its own scope.
    p.operator.enable(&ops(), "globex", "stripe", None).await.unwrap();
    assert_eq!(p.counters.migrations.load(Ordering::SeqCst), 2);
    assert_eq!(p.operator.tenants_using("stripe").await.unwrap(), 2);

    // Disable: hook and route leave the live process; the migration is kept (re-enabling does not rerun it).
    assert!(p.operator.disable(&ops(), "acme", "stripe").await.unwrap().changed);
    assert!(!acme.is_active("stripe").await);
    assert!(acme.routes().is_empty());
    acme.bus().emit(&ORDER_PAID, 1).await;
    assert_eq!(p.counters.paid.load(Ordering::SeqCst), 1);
    assert!(
        !p.operator.disable(&ops(), "acme", "stripe").await.unwrap().changed,
        "disabling twice changes nothing"
    );
    p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    assert_eq!(p.counters.migrations.load(Ordering::SeqCst), 2);

    let list = p.operator.tenant_plugins(&ops(), "acme").await.unwrap();
    let stripe = list.iter().find(|t| t.plugin.as_str() == "stripe").unwrap();
    assert!(stripe.enabled);
    assert_eq!(stripe.version.as_ref().unwrap().to_string(), "2.0.0");
    assert!(list.iter().any(|t| t.plugin.as_str() == "reports" && !t.enabled));
}

#[tokio::test]
async fn pins_override_default_latest_until_cleared_and_reach_pre_releases() {
    let p = platform().await;
    p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    let acme = runtime(&p, "acme").await;
    let pinned = p
        .operator
        .pin(&ops(), "acme", "stripe", "1.0.0".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(pinned.enablement.pin.as_ref().unwrap().to_string(), "1.0.0");
    assert_eq!(running_version(&acme, "stripe").await, "1.0.0");
    assert!(acme.is_active("stripe").await);

    // A pre-release is only reachable by pin.
    p.operator
        .pin(&ops(), "acme", "stripe", "2.1.0-beta.1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(running_version(&acme, "stripe").await, "2.1.0-beta.1");
    let refused = p
        .operator
        .pin(&ops(), "acme", "stripe", "3.0.0".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "version_not_found");

    let list = p.operator.tenant_plugins(&ops(), "acme").await.unwrap();
    let stripe = list.iter().find(|t| t.plugin.as_str() == "stripe").unwrap();
    assert_eq!(stripe.pin.as_ref().unwrap().to_string(), "2.1.0-beta.1");

    p.operator.clear_pin(&ops(), "acme", "stripe").await.unwrap();
    assert_eq!(running_version(&acme, "stripe").await, "2.0.0");
    assert!(!p.operator.clear_pin(&ops(), "acme", "stripe").await.unwrap().changed);
}

#[tokio::test]
async fn deprecation_yields_banners_and_can_close_the_door_to_new_tenants() {
    let p = platform().await;
    p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    let banners = p
        .operator
        .deprecate(
            &ops(),
            "stripe",
            DeprecateRequest {
                message: "stripe v1 API sunsets in March".into(),
                replacement: Some(Name::parse("reports").unwrap()),
                disallow_new_enable: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(banners.len(), 1);
    assert_eq!(banners[0].tenant.as_str(), "acme");
    assert_eq!(p.operator.banners(&ops(), "acme").await.unwrap().len(), 1);
    // acme stays on it; globex may not start.
    assert!(runtime(&p, "acme").await.is_active("stripe").await);
    let refused = p.operator.enable(&ops(), "globex", "stripe", None).await.unwrap_err();
    assert_eq!(refused.code(), "deprecated");
    let row = p.operator.catalog_row(&ops(), "stripe").await.unwrap();
    assert!(row.deprecated.is_some());

    // A deprecated version is never default-latest again.
    p.operator
        .deprecate_version(&ops(), "stripe", &"2.0.0".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        p.operator
            .catalog_row(&ops(), "stripe")
            .await
            .unwrap()
            .version
            .unwrap()
            .to_string(),
        "1.0.0"
    );
}

#[tokio::test]
async fn removal_is_refused_while_in_use_and_leaves_a_tombstone() {
    let p = platform().await;
    p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    p.operator.enable(&ops(), "globex", "stripe", None).await.unwrap();
    let refused = p.operator.remove(&ops(), "stripe").await.unwrap_err();
    assert_eq!(
        (refused.code(), refused.status()),
        ("forbidden", 403),
        "only owners remove"
    );
    let refused = p.operator.remove(&owner(), "stripe").await.unwrap_err();
    let OperatorError::InUse { count, tenants, .. } = &refused else {
        panic!("{refused}")
    };
    assert_eq!(
        (*count, tenants.as_slice()),
        (2, ["acme".to_owned(), "globex".to_owned()].as_slice())
    );
    assert_eq!(refused.status(), 409);

    p.operator.disable(&ops(), "acme", "stripe").await.unwrap();
    p.operator.disable(&ops(), "globex", "stripe").await.unwrap();
    p.operator.remove(&owner(), "stripe").await.unwrap();
    assert!(
        p.operator
            .catalog(&ops())
            .await
            .unwrap()
            .iter()
            .all(|r| r.id.as_str() != "stripe")
    );
    assert_eq!(
        p.operator
            .enable(&ops(), "acme", "stripe", None)
            .await
            .unwrap_err()
            .code(),
        "unknown_plugin"
    );
    // The tombstone keeps the id and versions: registering them again is refused.
    let again = p
        .operator
        .register_plugin(
            &owner(),
            Name::parse("stripe").unwrap(),
            PluginSpec::new(CatalogSource::BuiltIn, "x"),
        )
        .await;
    assert_eq!(again.unwrap_err().code(), "already_exists");
}

#[tokio::test]
async fn versions_are_never_reused_and_downgrades_need_a_backport() {
    let p = platform().await;
    let manifest = |v: &str| {
        PluginDef::builder("stripe")
            .version(v)
            .build()
            .unwrap()
            .manifest()
            .clone()
    };
    let release = |v: &str| Release {
        plugin: Name::parse("stripe").unwrap(),
        version: v.parse().unwrap(),
        manifest: manifest(v),
        publisher: "zelavis".into(),
        kid: None,
        bundle_sha256: None,
        staged: false,
        deprecated: false,
        removed: false,
        published_at: Timestamp::EPOCH,
    };
    assert_eq!(
        p.operator
            .add_release(&ops(), release("2.0.0"), false)
            .await
            .unwrap_err()
            .code(),
        "version_exists"
    );
    let lower = p
        .operator
        .add_release(&ops(), release("1.5.0"), false)
        .await
        .unwrap_err();
    assert!(lower.to_string().contains("backport"), "{lower}");
    p.operator.add_release(&ops(), release("1.5.0"), true).await.unwrap();
    // A built-in whose manifest changed under the same version is refused.
    let changed = PluginDef::builder("stripe")
        .version("1.0.0")
        .description("changed")
        .build()
        .unwrap();
    let refused = p
        .operator
        .register_builtin(&owner(), &changed, PluginSpec::new(CatalogSource::BuiltIn, "zelavis"))
        .await;
    assert_eq!(refused.unwrap_err().code(), "version_exists");
}

#[tokio::test]
async fn the_kill_switch_takes_a_plugin_down_everywhere_and_back() {
    let p = platform().await;
    p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    p.operator.enable(&ops(), "globex", "stripe", None).await.unwrap();
    assert_eq!(
        p.operator
            .kill_switch(&ops(), "stripe", Some("leaks card data".into()))
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    let touched = p
        .operator
        .kill_switch(&owner(), "stripe", Some("leaks card data".into()))
        .await
        .unwrap();
    assert_eq!(touched.len(), 2);
    assert!(!runtime(&p, "acme").await.is_active("stripe").await);
    assert!(!runtime(&p, "globex").await.is_active("stripe").await);
    assert_eq!(
        p.operator
            .enable(&ops(), "initech", "stripe", None)
            .await
            .unwrap_err()
            .code(),
        "killed"
    );
    p.operator.kill_switch(&owner(), "stripe", None).await.unwrap();
    assert!(runtime(&p, "acme").await.is_active("stripe").await);
}

#[tokio::test]
async fn settings_are_validated_merged_and_redacted() {
    let p = platform().await;
    let bad = p
        .operator
        .set_settings(
            &ops(),
            "acme",
            "stripe",
            json!({"mode": "staging", "colour": 1}).as_object().unwrap().clone(),
        )
        .await
        .unwrap_err();
    let OperatorError::InvalidSettings { problems, .. } = &bad else {
        panic!("{bad}")
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["$.api_key", "$.mode", "$.\"colour\""]);
    assert_eq!(bad.status(), 422);
    assert!(
        p.operator
            .settings(&ops(), "acme", "stripe")
            .await
            .unwrap()
            .get("api_key")
            .is_none(),
        "nothing was saved"
    );

    let saved = p
        .operator
        .set_settings(
            &ops(),
            "acme",
            "stripe",
            json!({"api_key": "sk_live_1"}).as_object().unwrap().clone(),
        )
        .await
        .unwrap();
    assert_eq!(saved["api_key"], json!(REDACTED));
    assert_eq!(saved["mode"], json!("test"), "defaults merge on read");
    // The form sends the redacted value back: the secret is kept.
    p.operator
        .set_settings(
            &ops(),
            "acme",
            "stripe",
            json!({"api_key": REDACTED, "mode": "live"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .await
        .unwrap();
    let clear = p.operator.plugin_settings("acme", "stripe").await.unwrap();
    assert_eq!(
        (clear["api_key"].clone(), clear["mode"].clone()),
        (json!("sk_live_1"), json!("live"))
    );
    // The audit log never holds the secret.
    let events = p.operator.audit(&ops(), 0, usize::MAX).await.unwrap();
    assert!(events.iter().all(|e| !e.body.contains("sk_live_1")));
}

#[tokio::test]
async fn health_collects_setup_failures_across_tenants() {
    let p = platform().await;
    let change = p.operator.enable(&ops(), "acme", "flaky", None).await.unwrap();
    assert!(matches!(
        change.report.unwrap().outcome("flaky"),
        Some(Outcome::Failed { .. })
    ));
    let health = p.operator.health(&ops()).await.unwrap();
    let flaky = health.iter().find(|h| h.plugin.as_str() == "flaky").unwrap();
    assert_eq!(flaky.setup_failures, 1);
    assert_eq!(flaky.affected_tenants, [Name::parse("acme").unwrap()]);
    assert!(flaky.last_error.as_deref().unwrap().contains("unreachable"));
    assert_eq!(flaky.hosts, ["host-1"]);
}

#[tokio::test]
async fn every_action_is_audited_in_an_unbroken_chain_and_viewers_only_read() {
    let p = platform().await;
    let viewer = Actor::new("auditor@example.com", Role::Viewer);
    assert_eq!(
        p.operator
            .enable(&viewer, "acme", "stripe", None)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    p.operator
        .pin(&ops(), "acme", "stripe", "1.0.0".parse().unwrap())
        .await
        .unwrap();
    p.operator.disable(&ops(), "acme", "stripe").await.unwrap();
    let events = p.operator.audit(&viewer, 0, usize::MAX).await.unwrap();
    let actions: Vec<String> = events.iter().map(|e| e.entry().unwrap().action).collect();
    assert!(
        actions.ends_with(&["tenant.enable".into(), "tenant.pin".into(), "tenant.disable".into()]),
        "{actions:?}"
    );
    let last = events.last().unwrap().entry().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.target.as_str()),
        ("ops@example.com", "tenant:acme plugin:stripe")
    );
    assert!(last.before.is_some() && last.after.is_some());
    let verified = p.operator.verify_audit(&viewer).await.unwrap().unwrap();
    assert_eq!(verified.events, events.len() as u64);
}

#[tokio::test]
async fn two_operators_acting_at_once_lose_nothing() {
    let p = platform().await;
    let second = Operator::builder(p.store.clone())
        .licenses(FixedLicenses::new().grant("acme", license(&["stripe", "reports", "kitchen", "flaky"])))
        .build();
    // One operator enables while the other pins and sets settings for the same tenant, many times over.
    let a = async {
        for _ in 0..10 {
            p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
            p.operator.disable(&ops(), "acme", "stripe").await.unwrap();
        }
    };
    let b = async {
        for i in 0..10 {
            let version = if i % 2 == 0 { "1.0.0" } else { "2.0.0" };
            second
                .pin(&ops(), "acme", "stripe", version.parse().unwrap())
                .await
                .unwrap();
        }
    };
    futures::join!(a, b);
    let list = p.operator.tenant_plugins(&ops(), "acme").await.unwrap();
    let stripe = list.iter().find(|t| t.plugin.as_str() == "stripe").unwrap();
    assert!(!stripe.enabled, "the last disable holds");
    assert_eq!(stripe.pin.as_ref().unwrap().to_string(), "2.0.0", "the last pin holds");
    let events = p.operator.audit(&ops(), 0, usize::MAX).await.unwrap();
    let count = |action: &str| events.iter().filter(|e| e.entry().unwrap().action == action).count();
    assert_eq!(
        (count("tenant.enable"), count("tenant.disable"), count("tenant.pin")),
        (10, 10, 10)
    );
    assert!(p.operator.verify_audit(&ops()).await.unwrap().is_ok());
}

#[tokio::test]
async fn a_restarted_host_brings_every_tenant_back_to_its_grants() {
    let p = platform().await;
    p.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    p.operator
        .pin(&ops(), "acme", "stripe", "1.0.0".parse().unwrap())
        .await
        .unwrap();
    p.operator.enable(&ops(), "globex", "reports", None).await.unwrap();
    let migrations = p.counters.migrations.load(Ordering::SeqCst);

    // A new process on the same stores: the runtimes start empty and sync from the operator store.
    let restarted = platform_on(p.store.clone(), p.registry_store.clone(), p.counters.clone()).await;
    let report = restarted.operator.sync_tenant("acme").await.unwrap();
    assert_eq!(
        report.applied,
        [(Name::parse("stripe").unwrap(), "1.0.0".parse().unwrap())]
    );
    let acme = runtime(&restarted, "acme").await;
    assert!(acme.is_active("stripe").await);
    assert_eq!(running_version(&acme, "stripe").await, "1.0.0");
    restarted.operator.sync_tenant("globex").await.unwrap();
    assert!(runtime(&restarted, "globex").await.is_active("reports").await);
    assert_eq!(
        p.counters.migrations.load(Ordering::SeqCst),
        migrations,
        "migrations are not run again"
    );
}

#[tokio::test]
async fn another_hosts_decision_reaches_this_hosts_runtimes_on_sync() {
    let a = platform().await;
    // Host B: the same operator and registry stores, its own process (own tenant runtimes).
    let b = platform_on(a.store.clone(), a.registry_store.clone(), a.counters.clone()).await;
    b.operator.enable(&ops(), "acme", "stripe", None).await.unwrap();
    let on_b = runtime(&b, "acme").await;
    assert_eq!(running_version(&on_b, "stripe").await, "2.0.0");

    a.operator
        .pin(&ops(), "acme", "stripe", "1.0.0".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(running_version(&on_b, "stripe").await, "2.0.0", "not yet");
    let synced = b.operator.sync_running().await.unwrap();
    assert_eq!(
        synced[0].1.applied,
        [(Name::parse("stripe").unwrap(), "1.0.0".parse().unwrap())]
    );
    assert_eq!(running_version(&on_b, "stripe").await, "1.0.0");

    a.operator
        .kill_switch(&owner(), "stripe", Some("incident".into()))
        .await
        .unwrap();
    b.operator.sync_running().await.unwrap();
    assert!(!on_b.is_active("stripe").await);
    // Nothing changed: a second sync does nothing.
    assert_eq!(b.operator.sync_running().await.unwrap()[0].1, SyncReport::default());
}
