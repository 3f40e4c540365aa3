//! Cost of the PostgreSQL store's compare-and-swap save against a hand-written upsert of the same row.
//!
//! `postgres_save_100/postgres_store` saves a 100-plugin state with [`PostgresStore::save`]: serialise the state,
//! then — since this store wrote the row it replaces — its fast path, one `UPDATE ... WHERE revision = $expected
//! AND xmin = $version` with its `pg_notify` (the transaction with `SELECT ... FOR UPDATE` and a parse of the row
//! runs only when the row is not the version this store knows). `postgres_save_100/baseline_upsert` writes the same, already serialised body by hand with one
//! autocommit, prepared `INSERT ... ON CONFLICT (scope) DO UPDATE SET body = ..., revision = state.revision + 1`
//! into the same table and row. Both run on one connection each to the same server, driven by
//! `Runtime::block_on` on a current-thread tokio runtime, and each commit is durable (the server's
//! `synchronous_commit`), so the ratio is the store's serialisation, its checked write and its notification on top
//! of a durable write. Target: ≤ 1.5×.
//!
//! The bench works in a schema of its own, dropped at the end. When the server (`ZELAVIS_POSTGRES_URL`, default
//! `host=127.0.0.1 port=5432 user=postgres dbname=test`) is unreachable it says so and measures nothing.
//!
//! Run with `cargo bench --bench store_postgres --features postgres -- --warm-up-time 1 --measurement-time 3`.

#[path = "support/store.rs"]
#[allow(dead_code, reason = "this bench uses only the state")]
mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use support::state;
use tokio::runtime::Runtime;
use tokio_postgres::{Client, NoTls};
use zelavis::registry::prelude::*;
use zelavis::registry::store::postgres::PostgresStore;

const DEFAULT_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// A raw connection driven on `runtime`, or why not.
fn connect(runtime: &Runtime, url: &str) -> Result<Client, String> {
    runtime.block_on(async {
        let connecting = tokio_postgres::connect(url, NoTls);
        match tokio::time::timeout(Duration::from_secs(5), connecting).await {
            Ok(Ok((client, connection))) => {
                tokio::spawn(connection);
                Ok(client)
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("no answer within 5 s".to_owned()),
        }
    })
}

fn postgres_save(c: &mut Criterion) {
    let url = std::env::var("ZELAVIS_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let admin = match connect(&runtime, &url) {
        Ok(client) => client,
        Err(error) => {
            eprintln!(
                "store_postgres: PostgreSQL is not reachable at {url:?} ({error}); skipping. Start it with \
                 `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`."
            );
            return;
        }
    };
    let schema = format!("bench_{}", std::process::id());
    let store = runtime
        .block_on(PostgresStore::connect_in_schema(&url, &schema))
        .expect("open the store");
    let state = state(100);
    let mut revision = runtime
        .block_on(store.save(&Scope::Default, &state, Revision::NONE))
        .expect("first save");

    let body = serde_json::to_string(&state).expect("serialise");
    let baseline = connect(&runtime, &url).expect("baseline connection");
    let upsert = runtime
        .block_on(baseline.prepare(&format!(
            "INSERT INTO \"{schema}\".state (scope, revision, format, body) VALUES ('default', 1, 1, $1)
             ON CONFLICT (scope) DO UPDATE SET body = EXCLUDED.body, revision = state.revision + 1"
        )))
        .expect("prepare the upsert");

    let mut group = c.benchmark_group("postgres_save_100");
    group.bench_function("postgres_store", |b| {
        b.iter(|| {
            revision = runtime
                .block_on(store.save(&Scope::Default, black_box(&state), revision))
                .expect("save");
        });
    });
    group.bench_function("baseline_upsert", |b| {
        b.iter(|| {
            runtime
                .block_on(baseline.execute(&upsert, &[black_box(&body)]))
                .expect("upsert")
        });
    });
    group.finish();

    // Both sides wrote the same row; the store still reads it back.
    let stored = runtime.block_on(store.load(&Scope::Default)).expect("load");
    assert_eq!(stored.state, state);
    drop(store);
    runtime
        .block_on(admin.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE")))
        .expect("drop the bench schema");
}

criterion_group!(benches, postgres_save);
criterion_main!(benches);
