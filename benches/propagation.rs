//! How fast a change made by one host reaches another host's live runtime through a shared store.
//!
//! Host A flips `shop` between installed and available with `update_state`; host B follows the store
//! (its runtime owns the store and runs `Follower::run`: the store's watch where it has one, plus polling every 20 ms) and the clock stops when B's
//! runtime shows the change. Reports p50 and p99 over 100 flips per store. Stores: memory, one SQLite file with
//! two connections, and, when built with the `postgres` / `redis` features and the servers are reachable,
//! PostgreSQL (LISTEN/NOTIFY) and Redis (pub/sub).
//!
//! Run with `cargo bench --bench propagation --all-features`.

#[path = "../zelavis-registry/tests/support/hosts.rs"]
#[allow(dead_code)]
mod hosts;
#[cfg(any(feature = "postgres", feature = "redis"))]
#[path = "../zelavis-registry/tests/support/servers.rs"]
mod servers;

use std::time::Duration;

use hosts::{set_status, start_host, wait_until};
use zelavis::registry::prelude::*;
use zelavis::registry::store::memory::MemoryStore;
use zelavis::registry::store::sqlite::SqliteStore;

const FLIPS: usize = 100;

async fn measure<S: RegistryStore + MigrationLedger + Clone + 'static>(label: &str, a: S, b: S) {
    let scope = Scope::Default;
    let host_b = start_host(b, scope.clone(), 0).await;
    let mut samples = Vec::with_capacity(FLIPS);
    for i in 0..FLIPS {
        let installed = i % 2 == 0;
        let status = if installed {
            Status::Installed
        } else {
            Status::Available
        };
        let start = std::time::Instant::now();
        set_status(&a, &scope, "shop", status).await;
        wait_until(&host_b, "shop", installed).await;
        samples.push(start.elapsed());
    }
    samples.sort();
    // Nearest-rank percentiles: the sample at rank ceil(n * p / 100).
    let at = |percent: usize| samples[(samples.len() * percent).div_ceil(100).clamp(1, samples.len()) - 1];
    println!(
        "propagation/{label:<8} p50 {:>9.3} ms   p99 {:>9.3} ms   ({FLIPS} flips)",
        ms(at(50)),
        ms(at(99))
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less arguments; measure only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let memory = MemoryStore::new();
        measure("memory", memory.clone(), memory).await;

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.db");
        let a = SqliteStore::open(&path).expect("open");
        let b = SqliteStore::open(&path).expect("open");
        measure("sqlite", a, b).await;

        #[cfg(feature = "postgres")]
        if let Some(url) = servers::postgres_or_skip().await {
            use zelavis::registry::store::postgres::PostgresStore;
            let schema = servers::unique("propagation");
            let a = PostgresStore::connect_in_schema(&url, &schema).await.expect("connect");
            let b = PostgresStore::connect_in_schema(&url, &schema).await.expect("connect");
            measure("postgres", a, b).await;
            servers::drop_schema(&url, &schema).await;
        }

        #[cfg(feature = "redis")]
        if let Some(url) = servers::redis_or_skip().await {
            use zelavis::registry::store::redis::RedisStore;
            let prefix = servers::unique("propagation");
            let a = RedisStore::connect(&url, &prefix).await.expect("connect");
            let b = RedisStore::connect(&url, &prefix).await.expect("connect");
            measure("redis", a, b).await;
            servers::delete_prefix(&url, &prefix).await;
        }
    });
}
