//! Writes under contention: two hosts (two separate clients of one store), each running `WRITERS` concurrent
//! `update_state` calls that each add one record, all at once on a tokio runtime. Every call must succeed and
//! every record must be there; the figure is the wall time until the last call returned, per store.
//!
//! Stores: memory, file (two `FileStore`s on one directory), key/value (two clients of one
//! `MemoryKeyValue`), SQLite (two connections to one file), and, when built with the `postgres` / `redis`
//! features and the servers are reachable, PostgreSQL (two pools) and Redis (two connections).
//!
//! Run with `cargo bench --bench contention --features postgres,redis` (`ZELAVIS_WRITERS=500` by default).

#[path = "../zelavis-registry/tests/support/servers.rs"]
#[cfg(any(feature = "postgres", feature = "redis"))]
mod servers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use zelavis::prelude::*;
use zelavis::registry::store::file::FileStore;
use zelavis::registry::store::kv::{KvStore, MemoryKeyValue};
use zelavis::registry::store::memory::MemoryStore;
use zelavis::registry::store::sqlite::SqliteStore;
use zelavis::registry::store::update_state;

fn writers() -> usize {
    std::env::var("ZELAVIS_WRITERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(500)
}

/// Runs 2 × `writers()` concurrent updates through `a` and `b`; prints the time and checks nothing was lost.
async fn measure<S: RegistryStore + 'static>(label: &str, a: S, b: S) {
    let writers = writers();
    let (a, b) = (Arc::new(a), Arc::new(b));
    let started = Instant::now();
    let calls: Vec<_> = (0..2 * writers)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let name = Name::parse(&format!("w{}-{}", i % 2, i / 2)).expect("valid name");
                update_state(&*store, &Scope::Default, move |state| {
                    state.upsert(InstallRecord::new(name.clone(), Status::Installed));
                })
                .await
            })
        })
        .collect();
    let mut errors = Vec::new();
    for call in calls {
        match call.await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => errors.push(error.to_string()),
            Err(panic) => errors.push(format!("task failed: {panic}")),
        }
    }
    let elapsed = started.elapsed();
    let stored = a.load(&Scope::Default).await.expect("load");
    println!(
        "contention/{label:<8} {:>4}/{} calls succeeded, {} records, r{}, {:>9.1} ms{}",
        2 * writers - errors.len(),
        2 * writers,
        stored.state.records.len(),
        stored.revision.0,
        ms(elapsed),
        errors
            .first()
            .map(|e| format!("; first error: {e}"))
            .unwrap_or_default()
    );
    assert!(errors.is_empty(), "{label}: {} calls failed", errors.len());
    assert_eq!(stored.state.records.len(), 2 * writers, "{label}: records lost");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo test --benches` runs bench targets without `--bench`; measure only under `cargo bench`.
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
        measure("file", FileStore::new(dir.path()), FileStore::new(dir.path())).await;

        let kv = MemoryKeyValue::new();
        measure("kv", KvStore::new(kv.clone(), "bench"), KvStore::new(kv, "bench")).await;

        let path = dir.path().join("registry.db");
        let a = SqliteStore::open(&path).expect("open");
        let b = SqliteStore::open(&path).expect("open");
        measure("sqlite", a, b).await;

        #[cfg(feature = "postgres")]
        if let Some(url) = servers::postgres_or_skip().await {
            use zelavis::registry::store::postgres::PostgresStore;
            let schema = servers::unique("contention").replace('-', "_");
            let a = PostgresStore::connect_in_schema(&url, &schema).await.expect("connect");
            let b = PostgresStore::connect_in_schema(&url, &schema).await.expect("connect");
            measure("postgres", a, b).await;
            servers::drop_schema(&url, &schema).await;
        }

        #[cfg(feature = "redis")]
        if let Some(url) = servers::redis_or_skip().await {
            use zelavis::registry::store::redis::RedisStore;
            let prefix = servers::unique("contention");
            let a = RedisStore::connect(&url, &prefix).await.expect("connect");
            let b = RedisStore::connect(&url, &prefix).await.expect("connect");
            measure("redis", a, b).await;
            servers::delete_prefix(&url, &prefix).await;
        }
    });
}
