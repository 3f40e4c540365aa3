//! Cost of the SQLite store against hand-written rusqlite on the same rows, files and settings.
//!
//! `sqlite_save_100/sqlite_store` saves a 100-plugin state with [`SqliteStore::save`]: serialise the state,
//! `BEGIN IMMEDIATE`, read the row and check its format, revision and body (so a corrupt row is never
//! overwritten: here the body is the one this store wrote, recognised byte for byte, so it is not re-parsed;
//! a row written by anyone else would be), compare revisions, upsert the new row, `COMMIT`.
//! `sqlite_save_100/baseline_upsert` writes the same, already serialised body by hand with one autocommit
//! `INSERT ... ON CONFLICT(scope) DO UPDATE SET body = ?, revision = revision + 1` (a prepared, cached
//! statement) into an identical `zelavis_state` table in its own file. Both files are opened the same way —
//! `journal_mode=WAL`, `synchronous=FULL`, the same busy timeout — so each commit fsyncs the WAL on both sides,
//! and the ratio is the store's serialisation, revision check and validation on top of a durable commit.
//! Target: ≤ 1.5×. `baseline_serialize_upsert` also serialises the state in each iteration, as any
//! hand-written persistence must. `sqlite_save_100_in_memory/*` are the same three on in-memory databases (no
//! file, no fsync), where the store's own CPU cost stands out.
//!
//! `sqlite_load_10k/sqlite_store` loads a 10 000-plugin state with [`SqliteStore::load`] (select, format and
//! revision check, parse and validation of every record). `sqlite_load_10k/baseline_from_slice` parses the
//! same body bytes, read once from the database beforehand, with `serde_json::from_slice::<RegistryState>`
//! (the store parses with `serde_json::from_str`, which skips UTF-8 re-validation, so it can come out ahead).
//!
//! Disk timings here move with the fsync latency of a shared machine; the in-memory pair is the stable one.
//!
//! The files live under cargo's `CARGO_TARGET_TMPDIR` (inside `target/`, on the same disk as the build), not
//! `/tmp`, which may be a tmpfs where fsync is free.
//!
//! Run with `cargo bench --bench store_sqlite -- --warm-up-time 1 --measurement-time 3`.

#[path = "support/store.rs"]
mod support;

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use rusqlite::Connection;
use support::{BenchDir, state};
use zelavis::registry::prelude::*;
use zelavis::registry::store::sqlite::{BUSY_TIMEOUT, SqliteStore};

/// The store's table, as the baseline creates it.
const CREATE_STATE: &str = "CREATE TABLE zelavis_state (
    scope TEXT PRIMARY KEY NOT NULL,
    revision INTEGER NOT NULL,
    format INTEGER NOT NULL,
    body TEXT NOT NULL
)";

/// The baseline's write: one autocommit upsert of the already serialised body.
const UPSERT: &str = "INSERT INTO zelavis_state (scope, revision, format, body) VALUES ('default', 1, 1, ?1)
    ON CONFLICT (scope) DO UPDATE SET body = excluded.body, revision = revision + 1";

/// The baseline's connection: the settings [`SqliteStore::open`] uses, and the same table.
fn baseline_connection(path: &Path) -> Connection {
    let connection = Connection::open(path).expect("open");
    connection.busy_timeout(BUSY_TIMEOUT).expect("busy timeout");
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .expect("WAL");
    assert_eq!(mode, "wal");
    connection
        .pragma_update(None, "synchronous", "FULL")
        .expect("synchronous");
    connection.execute_batch(CREATE_STATE).expect("create the table");
    connection
}

fn sqlite_save(c: &mut Criterion) {
    let dir = BenchDir::new("store_sqlite-save");
    let store = SqliteStore::open(dir.0.join("store.db")).expect("open the store");
    let state = state(100);
    let mut revision = block_on(store.save(&Scope::Default, &state, Revision::NONE)).expect("first save");
    let body = serde_json::to_string(&state).expect("serialise");
    let baseline = baseline_connection(&dir.0.join("baseline.db"));

    let mut group = c.benchmark_group("sqlite_save_100");
    group.bench_function("sqlite_store", |b| {
        b.iter(|| {
            revision = block_on(store.save(&Scope::Default, black_box(&state), revision)).expect("save");
        });
    });
    group.bench_function("baseline_upsert", |b| {
        b.iter(|| {
            let mut statement = baseline.prepare_cached(UPSERT).expect("prepare");
            statement.execute([black_box(&body)]).expect("upsert")
        });
    });
    group.bench_function("baseline_serialize_upsert", |b| {
        b.iter(|| {
            let body = serde_json::to_string(black_box(&state)).expect("serialise");
            let mut statement = baseline.prepare_cached(UPSERT).expect("prepare");
            statement.execute([&body]).expect("upsert")
        });
    });
    group.finish();
}

/// The same pair on in-memory databases (no file, no fsync): the store's own CPU cost against the bare upsert.
fn sqlite_save_in_memory(c: &mut Criterion) {
    let store = SqliteStore::in_memory().expect("open the store");
    let state = state(100);
    let mut revision = block_on(store.save(&Scope::Default, &state, Revision::NONE)).expect("first save");
    let body = serde_json::to_string(&state).expect("serialise");
    let baseline = Connection::open_in_memory().expect("open");
    baseline.execute_batch(CREATE_STATE).expect("create the table");

    let mut group = c.benchmark_group("sqlite_save_100_in_memory");
    group.bench_function("sqlite_store", |b| {
        b.iter(|| {
            revision = block_on(store.save(&Scope::Default, black_box(&state), revision)).expect("save");
        });
    });
    group.bench_function("baseline_upsert", |b| {
        b.iter(|| {
            let mut statement = baseline.prepare_cached(UPSERT).expect("prepare");
            statement.execute([black_box(&body)]).expect("upsert")
        });
    });
    group.bench_function("baseline_serialize_upsert", |b| {
        b.iter(|| {
            let body = serde_json::to_string(black_box(&state)).expect("serialise");
            let mut statement = baseline.prepare_cached(UPSERT).expect("prepare");
            statement.execute([&body]).expect("upsert")
        });
    });
    group.finish();
}

fn sqlite_load(c: &mut Criterion) {
    let dir = BenchDir::new("store_sqlite-load");
    let path = dir.0.join("store.db");
    let store = SqliteStore::open(&path).expect("open the store");
    let state = state(10_000);
    block_on(store.save(&Scope::Default, &state, Revision::NONE)).expect("save");
    let stored = block_on(store.load(&Scope::Default)).expect("load");
    assert_eq!(stored.state, state);
    let body: Vec<u8> = Connection::open(&path)
        .expect("open")
        .query_row("SELECT body FROM zelavis_state WHERE scope = 'default'", [], |row| {
            row.get::<_, String>(0)
        })
        .expect("the body")
        .into_bytes();

    let mut group = c.benchmark_group("sqlite_load_10k");
    group.bench_function("sqlite_store", |b| {
        b.iter(|| block_on(store.load(black_box(&Scope::Default))).expect("load"));
    });
    group.bench_function("baseline_from_slice", |b| {
        b.iter(|| serde_json::from_slice::<RegistryState>(black_box(&body)).expect("parse"));
    });
    group.finish();
}

criterion_group!(benches, sqlite_save, sqlite_save_in_memory, sqlite_load);
criterion_main!(benches);
