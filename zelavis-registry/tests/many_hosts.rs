//! Many hosts on one store: host A installs, enables and disables plugins through the shared store; host B's
//! runtime follows without restart; concurrent installs from both hosts lose nothing.

#[path = "support/hosts.rs"]
#[allow(dead_code)]
mod hosts;
#[cfg(any(feature = "postgres", feature = "redis"))]
#[path = "support/servers.rs"]
mod servers;

use std::sync::atomic::Ordering;

use hosts::{set_status, start_host, wait_until};
use zelavis_registry::prelude::*;
use zelavis_registry::store::memory::MemoryStore;

/// The scenario, for any store: `a` and `b` are separate clients of one store.
async fn two_hosts<S: RegistryStore + MigrationLedger + Clone + 'static>(a: S, b: S) {
    let scope = Scope::Default;
    let host_a = start_host(a.clone(), scope.clone(), 20).await;
    let host_b = start_host(b.clone(), scope.clone(), 20).await;

    // A installs and enables shop: both runtimes activate it, B without restart.
    set_status(&a, &scope, "shop", Status::Installed).await;
    wait_until(&host_a, "shop", true).await;
    wait_until(&host_b, "shop", true).await;
    assert!(host_b.runtime.services().get("shop-service").is_some());

    // A disables it: B tears it down.
    set_status(&a, &scope, "shop", Status::Available).await;
    wait_until(&host_b, "shop", false).await;
    assert!(host_b.runtime.services().get("shop-service").is_none());

    // Concurrent installs from both hosts lose nothing.
    let (a_names, b_names): (Vec<String>, Vec<String>) = (
        (0..10).map(|i| format!("extra-{i}")).collect(),
        (10..20).map(|i| format!("extra-{i}")).collect(),
    );
    let from_a = a_names.iter().map(|n| set_status(&a, &scope, n, Status::Installed));
    let from_b = b_names.iter().map(|n| set_status(&b, &scope, n, Status::Installed));
    futures::future::join(futures::future::join_all(from_a), futures::future::join_all(from_b)).await;
    let state = b.load(&scope).await.expect("load").state;
    for i in 0..20 {
        let name = format!("extra-{i}");
        assert_eq!(
            state.get(&name).map(|r| r.status),
            Some(Status::Installed),
            "{name} lost"
        );
        wait_until(&host_a, &name, true).await;
        wait_until(&host_b, &name, true).await;
    }
    // Recomposition was incremental: shop set up twice on B (install, then nothing else re-ran it).
    assert_eq!(
        host_b.setups.load(Ordering::SeqCst),
        21,
        "B set up shop once and each extra once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_memory_store() {
    let store = MemoryStore::new();
    two_hosts(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_sqlite_file() {
    use zelavis_registry::store::sqlite::SqliteStore;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("registry.db");
    // Two separate connections, as two processes on one host would have.
    let a = SqliteStore::open(&path).expect("open a");
    let b = SqliteStore::open(&path).expect("open b");
    two_hosts(a, b).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_postgres() {
    use zelavis_registry::store::postgres::PostgresStore;
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let schema = servers::unique("many_hosts").replace('-', "_");
    let a = PostgresStore::connect_in_schema(&url, &schema)
        .await
        .expect("connect a");
    let b = PostgresStore::connect_in_schema(&url, &schema)
        .await
        .expect("connect b");
    two_hosts(a, b).await;
    servers::drop_schema(&url, &schema).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_redis() {
    use zelavis_registry::store::redis::RedisStore;
    let Some(url) = servers::redis_or_skip().await else {
        return;
    };
    let prefix = servers::unique("many-hosts");
    let a = RedisStore::connect(&url, &prefix).await.expect("connect a");
    let b = RedisStore::connect(&url, &prefix).await.expect("connect b");
    two_hosts(a, b).await;
    servers::delete_prefix(&url, &prefix).await;
}
