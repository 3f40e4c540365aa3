//! Cost of the file store against hand-written file I/O on the same bytes, in the same directory.
//!
//! `file_save_100/file_store` saves a 100-plugin state with [`FileStore::save`] (lock file + exclusive lock,
//! read of the current document for the revision check — decoded only when it is not the one this store last
//! wrote — encode, temporary file, write, fsync, rename, directory fsync). `file_save_100/baseline` writes the same document bytes by hand with `std::fs`:
//! create a temporary file in the same directory, write, fsync, rename over the target, fsync the directory.
//! fsync dominates both, so the ratio is the store's bookkeeping on top of durable I/O. Target: ≤ 1.2×.
//!
//! `file_load_10k/file_store` loads a 10 000-plugin state with [`FileStore::load`] (read, format check,
//! decode and validation of every record). `file_load_10k/baseline_value` reads the same file and parses it
//! with `serde_json::from_slice::<serde_json::Value>`; `file_load_10k/baseline_value_then_state` also turns
//! the `state` value into a `RegistryState` with `serde_json::from_value` (serde's derive, which validates
//! names too). All three read the file.
//!
//! The files live in a directory under cargo's `CARGO_TARGET_TMPDIR` (inside `target/`, on the same disk as
//! the build), not `/tmp`, which may be a tmpfs where fsync is free.
//!
//! Run with `cargo bench --bench store_file -- --warm-up-time 1 --measurement-time 3`.

#[path = "support/store.rs"]
mod support;

use std::fs::{self, File};
use std::hint::black_box;
use std::io::Write;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use support::{BenchDir, state};
use zelavis::registry::prelude::*;
use zelavis::registry::store::encode_document;
use zelavis::registry::store::file::FileStore;

/// The baseline write: temporary file in the same directory, write, fsync, rename, directory fsync.
fn write_by_hand(dir: &Path, target: &Path, bytes: &[u8]) {
    let temp = dir.join(".baseline.json.tmp");
    let mut file = File::create(&temp).expect("create");
    file.write_all(bytes).expect("write");
    file.sync_all().expect("fsync");
    drop(file);
    fs::rename(&temp, target).expect("rename");
    File::open(dir)
        .expect("open the directory")
        .sync_all()
        .expect("fsync the directory");
}

fn file_save(c: &mut Criterion) {
    let dir = BenchDir::new("store_file-save");
    let store = FileStore::new(&dir.0);
    let state = state(100);
    let mut revision = block_on(store.save(&Scope::Default, &state, Revision::NONE)).expect("first save");
    let bytes = encode_document(&state, revision);
    let target = dir.0.join("baseline.json");

    let mut group = c.benchmark_group("file_save_100");
    group.bench_function("file_store", |b| {
        b.iter(|| {
            revision = block_on(store.save(&Scope::Default, black_box(&state), revision)).expect("save");
        });
    });
    group.bench_function("baseline", |b| {
        b.iter(|| write_by_hand(&dir.0, &target, black_box(&bytes)));
    });
    group.finish();
}

fn file_load(c: &mut Criterion) {
    let dir = BenchDir::new("store_file-load");
    let store = FileStore::new(&dir.0);
    let state = state(10_000);
    block_on(store.save(&Scope::Default, &state, Revision::NONE)).expect("save");
    let path = store.document_path(&Scope::Default);
    let stored = block_on(store.load(&Scope::Default)).expect("load");
    assert_eq!(stored.state.records.len(), 10_000);

    let mut group = c.benchmark_group("file_load_10k");
    group.bench_function("file_store", |b| {
        b.iter(|| block_on(store.load(black_box(&Scope::Default))).expect("load"));
    });
    group.bench_function("baseline_value", |b| {
        b.iter(|| {
            let bytes = fs::read(black_box(&path)).expect("read");
            serde_json::from_slice::<serde_json::Value>(&bytes).expect("parse")
        });
    });
    group.bench_function("baseline_value_then_state", |b| {
        b.iter(|| {
            let bytes = fs::read(black_box(&path)).expect("read");
            let mut document = serde_json::from_slice::<serde_json::Value>(&bytes).expect("parse");
            serde_json::from_value::<RegistryState>(document["state"].take()).expect("a state")
        });
    });
    group.finish();
}

criterion_group!(benches, file_save, file_load);
criterion_main!(benches);
