//! Crash trials: a child process writing to a file or SQLite store is killed with SIGKILL at random points;
//! after each kill the store loads the old or the new document — never a torn one — and nothing that was
//! written before the kill is lost or reordered.
//!
//! `ZELAVIS_CRASH_TRIALS` sets the number of kills per store (default 8; the campaign runs thousands).

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed unwrap is a failed test"
)]

use std::hash::BuildHasher;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::executor::block_on;
use zelavis_registry::prelude::*;
use zelavis_registry::store::file::FileStore;
use zelavis_registry::store::sqlite::SqliteStore;
use zelavis_registry::store::update_state;

const CHILD_DIR: &str = "ZELAVIS_CRASH_CHILD_DIR";
const CHILD_STORE: &str = "ZELAVIS_CRASH_CHILD_STORE";

fn trials() -> usize {
    std::env::var("ZELAVIS_CRASH_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(8)
}

/// The record the `n`th update adds: a name and a long specifier, so a write takes long enough to be killed
/// in the middle of.
fn record(n: usize) -> InstallRecord {
    InstallRecord::new(Name::parse(&format!("r{n}")).unwrap(), Status::Installed).specifier("x".repeat(2_000))
}

fn open(kind: &str, dir: &Path) -> Box<dyn RegistryStore> {
    match kind {
        "file" => Box::new(FileStore::new(dir)),
        _ => Box::new(SqliteStore::open(dir.join("registry.db")).unwrap()),
    }
}

/// The child: adds records `r<n>`, `r<n+1>`, ... one update each, until it is killed.
#[test]
fn crash_child_process() {
    let (Ok(dir), Ok(kind)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_STORE)) else {
        return; // Run as a normal test: nothing to do.
    };
    let store = open(&kind, Path::new(&dir));
    block_on(async {
        loop {
            update_state(&*store, &Scope::Default, |state| {
                let n = state.records.len();
                state.records.push(record(n));
            })
            .await
            .unwrap();
        }
    });
}

/// Kills a writing child `trials()` times at random moments; checks the store after each kill.
fn trial(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let random = foldhash::fast::RandomState::default();
    let mut last = 0;
    for trial in 0..trials() {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child_process", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_STORE, kind)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = 20 + random.hash_one(trial) % 120;
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL on unix
        child.wait().unwrap();
        let stored = block_on(open(kind, dir.path()).load(&Scope::Default))
            .unwrap_or_else(|e| panic!("{kind} store after kill {trial}: {e}"));
        let n = stored.state.records.len();
        assert!(
            n >= last,
            "{kind}: {last} records before kill {trial}, {n} after: a write was lost"
        );
        for (i, record_i) in stored.state.records.iter().enumerate() {
            assert_eq!(*record_i, record(i), "{kind}: record {i} after kill {trial}");
        }
        assert_eq!(stored.revision, Revision(n as u64), "{kind}: one revision per update");
        last = n;
    }
    assert!(last > 0, "{kind}: the child never wrote (kills came too early)");
    // A writer after the crashes removes what they left behind (planted, in case no kill left any).
    if kind == "file" {
        std::fs::write(dir.path().join(".plugins.json.planted.tmp"), b"half a document").unwrap();
    }
    let store = open(kind, dir.path());
    block_on(update_state(&*store, &Scope::Default, |state| {
        let n = state.records.len();
        state.records.push(record(n));
    }))
    .unwrap();
    let strays: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| Path::new(name).extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert!(strays.is_empty(), "{kind}: stray temporary files {strays:?}");
}

#[test]
fn killing_a_file_store_writer_never_tears_a_document() {
    trial("file");
}

#[test]
fn killing_a_sqlite_writer_never_tears_the_database() {
    trial("sqlite");
}
