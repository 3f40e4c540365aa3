//! The SQLite operator store: the conformance kit on a file and in memory, the append-only audit table and its
//! hash chain against raw edits of the file, two stores on one file, schema versions and revision limits.
#![cfg(feature = "sqlite")]

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::executor::block_on;
use support::{
    Clones, add_three_events, create_two_plugins, db_path, entry, sqlite_file, the_last_revision_is_refused,
    two_clients_see_each_other_and_conflict, verify_log, write,
};
use zelavis_operator::audit::AuditError;
use zelavis_operator::store::conformance::{self, Harness};
use zelavis_operator::store::sqlite::SqliteOperatorStore;
use zelavis_operator::store::{Batch, Expected, Kind, OperatorStore, OperatorStoreError};

/// Each store in its own file under one temp directory.
struct File {
    dir: tempfile::TempDir,
    next: AtomicUsize,
}

impl File {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            next: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl Harness for File {
    type Store = SqliteOperatorStore;

    async fn fresh(&self) -> SqliteOperatorStore {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        SqliteOperatorStore::open(self.dir.path().join(format!("store-{n}/operator.db"))).unwrap()
    }

    async fn second_client(&self, store: &SqliteOperatorStore) -> SqliteOperatorStore {
        SqliteOperatorStore::open(store.path().unwrap()).unwrap()
    }
}

/// A store at `path` holding three audit events.
fn with_three_events(path: &Path) -> SqliteOperatorStore {
    let store = SqliteOperatorStore::open(path).unwrap();
    block_on(add_three_events(&store));
    store
}

#[test]
fn sqlite_file_store_conforms() {
    let report = block_on(conformance::run(&File::new()));
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 12);
    assert!(report.store.starts_with("sqlite:"), "{}", report.store);
}

#[test]
fn sqlite_in_memory_store_conforms() {
    let report = block_on(conformance::run(&Clones(|| SqliteOperatorStore::in_memory().unwrap())));
    assert!(report.passed(), "{report}");
    assert_eq!(report.store, "sqlite::memory:");
}

#[test]
fn the_triggers_refuse_edits_and_removals_of_audit_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_three_events(&db_path(&dir));
    let raw = sqlite_file(&dir);
    let edit = raw.execute("UPDATE operator_audit SET body = '{}' WHERE seq = 2", []);
    assert!(
        edit.as_ref().is_err_and(|e| e.to_string().contains("append-only")),
        "{edit:?}"
    );
    let remove = raw.execute("DELETE FROM operator_audit", []);
    assert!(
        remove.as_ref().is_err_and(|e| e.to_string().contains("append-only")),
        "{remove:?}"
    );
    assert_eq!(block_on(verify_log(&store)).unwrap().events, 3);
}

#[test]
fn an_edit_behind_a_dropped_trigger_is_caught_by_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_three_events(&db_path(&dir));
    let raw = sqlite_file(&dir);
    raw.execute_batch("DROP TRIGGER operator_audit_no_update").unwrap();
    let edited = raw
        .execute(
            "UPDATE operator_audit SET body = replace(body, 'tenant.enable', 'tenant.disable') WHERE seq = 2",
            [],
        )
        .unwrap();
    assert_eq!(edited, 1);
    assert_eq!(block_on(verify_log(&store)), Err(AuditError::Edited { seq: 2 }));

    // A removal behind the other trigger is caught as well.
    raw.execute_batch("DROP TRIGGER operator_audit_no_delete; DELETE FROM operator_audit WHERE seq = 1")
        .unwrap();
    assert_eq!(
        block_on(verify_log(&store)),
        Err(AuditError::Missing { from: 1, to: 1 })
    );
}

#[test]
fn two_stores_on_one_file_see_each_other_and_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let a = SqliteOperatorStore::open(db_path(&dir)).unwrap();
    let b = SqliteOperatorStore::open(db_path(&dir)).unwrap();
    block_on(two_clients_see_each_other_and_conflict(&a, &b));
}

#[test]
fn two_connections_on_two_threads_lose_no_increment() {
    const EACH: u64 = 50;
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let first = SqliteOperatorStore::open(&path).unwrap();
    block_on(first.commit(Batch::new().write(write(Kind::Rollout, "counter", "0", Expected::Absent)))).unwrap();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let store = SqliteOperatorStore::open(&path).unwrap();
            std::thread::spawn(move || {
                block_on(async {
                    for i in 0..EACH {
                        loop {
                            let row = store.get(Kind::Rollout, "counter").await.unwrap().unwrap();
                            let next = row.body.parse::<u64>().unwrap() + 1;
                            let batch = Batch::new()
                                .write(write(
                                    Kind::Rollout,
                                    "counter",
                                    &next.to_string(),
                                    Expected::of(Some(&row)),
                                ))
                                .audit(entry(i64::try_from(next).unwrap(), &format!("thread{t}.step{i}")));
                            match store.commit(batch).await {
                                Ok(_) => break,
                                Err(OperatorStoreError::Conflict { .. }) => {}
                                Err(e) => panic!("thread {t}: {e}"),
                            }
                        }
                    }
                });
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let row = block_on(first.get(Kind::Rollout, "counter")).unwrap().unwrap();
    assert_eq!((row.body.as_str(), row.revision), ("100", 2 * EACH + 1));
    assert_eq!(block_on(verify_log(&first)).unwrap().events, 2 * EACH);
}

#[test]
fn open_creates_directories_and_names_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("a/b/c/operator.db");
    let store = SqliteOperatorStore::open(&deep).unwrap();
    assert_eq!(store.path(), Some(deep.as_path()));
    assert_eq!(store.describe(), format!("sqlite:{}", deep.display()));
    assert!(deep.exists());

    std::fs::write(dir.path().join("plain-file"), "not a directory").unwrap();
    let under_a_file = dir.path().join("plain-file/operator.db");
    match SqliteOperatorStore::open(&under_a_file) {
        Err(OperatorStoreError::Backend { store, reason }) => {
            assert_eq!(store, format!("sqlite:{}", under_a_file.display()));
            assert!(reason.contains("plain-file"), "{reason}");
        }
        other => panic!("opening under a file returned {other:?}"),
    }
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteOperatorStore::open(db_path(&dir)).unwrap());
    sqlite_file(&dir).pragma_update(None, "user_version", 99).unwrap();
    match SqliteOperatorStore::open(db_path(&dir)) {
        Err(OperatorStoreError::Corrupt { what, reason, .. }) => {
            assert!(what.contains("user_version"), "{what}");
            assert!(reason.contains("99"), "{reason}");
        }
        other => panic!("opening a newer schema returned {other:?}"),
    }
    let version: i64 = sqlite_file(&dir)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 99);
}

#[test]
fn a_foreign_table_of_the_same_name_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".zelavis")).unwrap();
    sqlite_file(&dir)
        .execute_batch("CREATE TABLE operator_rows (x TEXT)")
        .unwrap();
    match SqliteOperatorStore::open(db_path(&dir)) {
        Err(OperatorStoreError::Backend { reason, .. }) => {
            assert!(reason.contains("operator_rows"), "{reason}");
        }
        other => panic!("opening over a foreign table returned {other:?}"),
    }
}

#[test]
fn the_last_revision_is_refused_and_nothing_applies() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteOperatorStore::open(db_path(&dir)).unwrap();
    block_on(create_two_plugins(&store));
    sqlite_file(&dir)
        .execute(
            "UPDATE operator_rows SET revision = ?1 WHERE key = 'stripe'",
            [i64::MAX],
        )
        .unwrap();
    let last = u64::try_from(i64::MAX).unwrap();
    block_on(the_last_revision_is_refused(&store, last));
}

#[test]
fn a_damaged_row_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteOperatorStore::open(db_path(&dir)).unwrap();
    block_on(store.commit(Batch::new().write(write(Kind::Tenant, "acme", "{}", Expected::Absent)))).unwrap();
    sqlite_file(&dir)
        .execute_batch("UPDATE operator_rows SET body = x'00ff' WHERE key = 'acme'")
        .unwrap();
    match block_on(store.get(Kind::Tenant, "acme")) {
        Err(OperatorStoreError::Corrupt { what, .. }) => assert!(what.contains("acme"), "{what}"),
        other => panic!("reading a blob body returned {other:?}"),
    }
}
