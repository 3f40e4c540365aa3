//! The SQLite store passes the conformance kit, migrates its own schema, refuses newer schemas and formats, and
//! loses nothing when two threads with separate connections write one file.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::executor::block_on;
use rusqlite::{Connection, params};
use tempfile::TempDir;
use zelavis_registry::prelude::*;
use zelavis_registry::store::conformance::{self, Harness};
use zelavis_registry::store::sqlite::{BUSY_TIMEOUT, SCHEMA_VERSION, SqliteStore};
use zelavis_registry::store::{FORMAT_VERSION, update_state};

/// A raw connection to a store's file, for planting data the store would never write.
fn raw(path: &Path) -> Connection {
    let connection = Connection::open(path).unwrap();
    connection.busy_timeout(BUSY_TIMEOUT).unwrap();
    connection
}

fn plant(store: &SqliteStore, scope: &Scope, revision: i64, format: i64, body: &str) {
    raw(store.path().unwrap())
        .execute(
            "INSERT INTO zelavis_state (scope, revision, format, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scope) DO UPDATE SET revision = excluded.revision, format = excluded.format,
             body = excluded.body",
            params![scope.key(), revision, format, body],
        )
        .unwrap();
}

struct Sqlite {
    dir: TempDir,
    next: AtomicUsize,
}

impl Sqlite {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            next: AtomicUsize::new(0),
        }
    }

    fn fresh_path(&self) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("store-{n}/registry.db"))
    }
}

#[async_trait]
impl Harness for Sqlite {
    type Store = SqliteStore;

    async fn fresh(&self) -> SqliteStore {
        SqliteStore::open(self.fresh_path()).unwrap()
    }

    async fn second_client(&self, store: &SqliteStore) -> SqliteStore {
        SqliteStore::open(store.path().unwrap()).unwrap()
    }

    async fn write_corrupt(&self, store: &SqliteStore, scope: &Scope) {
        plant(store, scope, 1, 1, "not json");
    }

    async fn write_newer_format(&self, store: &SqliteStore, scope: &Scope, format: u64) {
        plant(store, scope, 1, i64::try_from(format).unwrap(), r#"{"records":[]}"#);
    }
}

#[test]
fn sqlite_store_conforms() {
    let report = block_on(conformance::run(&Sqlite::new()));
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 13);
    assert!(report.store.starts_with("sqlite "), "{report}");
}

fn record(name: &str) -> InstallRecord {
    InstallRecord::new(Name::parse(name).unwrap(), Status::Installed)
}

#[test]
fn open_creates_directories_and_reopening_keeps_state_and_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".zelavis/registry.db");
    let shop = Name::parse("@acme/shop").unwrap();
    {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.describe(), format!("sqlite {}", path.display()));
        block_on(async {
            update_state(&store, &Scope::Default, |state| {
                state.upsert(record("shop"));
            })
            .await
            .unwrap();
            update_state(&store, &Scope::tenant("acme").unwrap(), |state| {
                state.upsert(record("crm"));
            })
            .await
            .unwrap();
            assert!(store.record(&Scope::Default, &shop, "001-orders").await.unwrap());
        });
    }
    assert!(path.is_file());

    let store = SqliteStore::open(&path).unwrap();
    block_on(async {
        let stored = store.load(&Scope::Default).await.unwrap();
        assert_eq!(
            (stored.revision, stored.state.records),
            (Revision(1), vec![record("shop")])
        );
        let tenant = store.load(&Scope::tenant("acme").unwrap()).await.unwrap();
        assert_eq!(tenant.state.records, vec![record("crm")]);
        assert!(store.is_applied(&Scope::Default, &shop, "001-orders").await.unwrap());
        assert!(!store.record(&Scope::Default, &shop, "001-orders").await.unwrap());
    });

    let connection = raw(&path);
    let (mode, version): (String, i64) = (
        connection.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap(),
        connection
            .query_row("SELECT value FROM zelavis_meta WHERE key = 'schema_version'", [], |r| {
                r.get(0)
            })
            .unwrap(),
    );
    assert_eq!(mode, "wal");
    assert_eq!(u64::try_from(version).unwrap(), SCHEMA_VERSION);
    let applied_at: String = connection
        .query_row("SELECT applied_at FROM zelavis_migrations", [], |r| r.get(0))
        .unwrap();
    assert!(applied_at.ends_with('Z') && applied_at.contains('T'), "{applied_at}");
}

#[test]
fn a_database_with_a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    drop(SqliteStore::open(&path).unwrap());
    let newer = i64::try_from(SCHEMA_VERSION + 1).unwrap();
    raw(&path)
        .execute(
            "UPDATE zelavis_meta SET value = ?1 WHERE key = 'schema_version'",
            [newer],
        )
        .unwrap();

    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(&err, StoreError::NewerFormat { found, supported, .. } if *found == SCHEMA_VERSION + 1 && *supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("zelavis_meta") && message.contains("upgrade zelavis"),
        "{message}"
    );
    let version: i64 = raw(&path)
        .query_row("SELECT value FROM zelavis_meta WHERE key = 'schema_version'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, newer);
}

#[test]
fn a_database_from_before_the_meta_table_is_migrated() {
    // Schema version 0: a plain SQLite file with someone else's table and no zelavis tables yet.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    raw(&path)
        .execute_batch("CREATE TABLE host_settings (k TEXT, v TEXT)")
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    block_on(async {
        assert_eq!(store.load(&Scope::Default).await.unwrap(), Stored::default());
        store
            .save(&Scope::Default, &RegistryState::default(), Revision::NONE)
            .await
            .unwrap();
    });
    let tables: i64 = raw(&path)
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'zelavis_%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 3);
}

#[test]
fn rows_name_their_location_and_are_never_overwritten_when_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("registry.db")).unwrap();
    let tenant = Scope::tenant("acme").unwrap();
    let next = i64::try_from(FORMAT_VERSION + 1).unwrap();
    plant(&store, &Scope::Default, 4, next, "{}");
    plant(
        &store,
        &tenant,
        2,
        1,
        r#"{"records":[{"name":"Bad Name","status":"installed"}]}"#,
    );
    block_on(async {
        let newer = store.load(&Scope::Default).await.unwrap_err();
        assert!(
            newer
                .to_string()
                .contains("registry.db zelavis_state[scope=default] has format 2"),
            "{newer}"
        );
        let saved = store
            .save(&Scope::Default, &RegistryState::default(), Revision(4))
            .await;
        assert!(matches!(saved, Err(StoreError::NewerFormat { .. })), "{saved:?}");

        let corrupt = store.load(&tenant).await.unwrap_err();
        let message = corrupt.to_string();
        assert!(matches!(corrupt, StoreError::Corrupt { .. }), "{corrupt:?}");
        assert!(
            message.contains("zelavis_state[scope=tenant:acme] is corrupt"),
            "{message}"
        );
        assert!(message.contains("$.records[0].name"), "{message}");
        let saved = store.save(&tenant, &RegistryState::default(), Revision(2)).await;
        assert!(matches!(saved, Err(StoreError::Corrupt { .. })), "{saved:?}");
    });
    // Wrong column types are corrupt too, not backend failures.
    plant(&store, &Scope::Default, -1, 1, r#"{"records":[]}"#);
    let negative = block_on(store.load(&Scope::Default)).unwrap_err();
    assert!(matches!(negative, StoreError::Corrupt { .. }), "{negative:?}");
}

#[test]
fn a_row_edited_behind_the_store_at_the_same_revision_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("registry.db")).unwrap();
    let state = RegistryState::new(vec![record("shop")]);
    let r1 = block_on(store.save(&Scope::Default, &state, Revision::NONE)).unwrap();
    // Same revision, same length, different (invalid) content: the store's memory of its own write must not
    // vouch for it.
    let edited = state.to_json().replace("shop", "SHOP");
    let compact = serde_json::to_string(&state).unwrap().replace("shop", "SHOP");
    for body in [edited, compact] {
        plant(&store, &Scope::Default, 1, 1, &body);
        let saved = block_on(store.save(&Scope::Default, &state, r1));
        assert!(matches!(saved, Err(StoreError::Corrupt { .. })), "{saved:?}");
    }
    plant(&store, &Scope::Default, 1, 1, &serde_json::to_string(&state).unwrap());
    assert_eq!(block_on(store.save(&Scope::Default, &state, r1)).unwrap(), Revision(2));
}

#[test]
fn backend_errors_name_the_store_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-database.db");
    std::fs::write(
        &path,
        b"this is a text file, definitely not an SQLite database, long enough to matter",
    )
    .unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!("sqlite {}: ", path.display())),
        "{err}"
    );
}

#[test]
fn in_memory_stores_work_and_clones_share_them() {
    let store = SqliteStore::in_memory().unwrap();
    assert_eq!(store.describe(), "sqlite :memory:");
    assert!(store.path().is_none());
    let clone = store.clone();
    block_on(async {
        let r1 = store
            .save(&Scope::Default, &RegistryState::new(vec![record("a")]), Revision::NONE)
            .await
            .unwrap();
        assert_eq!(clone.load(&Scope::Default).await.unwrap().revision, r1);
        assert!(clone.watch().await.unwrap().is_none());
    });
}

#[test]
fn many_connections_opening_a_new_file_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race/registry.db");
    let stores: Vec<SqliteStore> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6).map(|_| s.spawn(|| SqliteStore::open(&path))).collect();
        handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
    });
    let version: i64 = raw(&path)
        .query_row("SELECT value FROM zelavis_meta WHERE key = 'schema_version'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(u64::try_from(version).unwrap(), SCHEMA_VERSION);
    drop(stores);
}

#[test]
fn two_threads_with_their_own_connections_lose_nothing() {
    const EACH: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared/registry.db");
    drop(SqliteStore::open(&path).unwrap());
    let conflicts: usize = std::thread::scope(|s| {
        let writers: Vec<_> = (0..2)
            .map(|thread| {
                let path = &path;
                s.spawn(move || {
                    let store = SqliteStore::open(path).unwrap();
                    let mut conflicts = 0;
                    block_on(async {
                        for i in 0..EACH {
                            loop {
                                let mut stored = store.load(&Scope::Default).await.unwrap();
                                stored.state.upsert(record(&format!("t{thread}-p{i}")));
                                match store.save(&Scope::Default, &stored.state, stored.revision).await {
                                    Ok(_) => break,
                                    Err(e) if e.is_conflict() => conflicts += 1,
                                    Err(e) => panic!("{e}"),
                                }
                            }
                        }
                    });
                    conflicts
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let stored = block_on(SqliteStore::open(&path).unwrap().load(&Scope::Default)).unwrap();
    assert_eq!(
        stored.state.records.len(),
        2 * EACH,
        "{conflicts} conflicts were retried"
    );
    assert_eq!(stored.revision, Revision(u64::try_from(2 * EACH).unwrap()));
    for thread in 0..2 {
        for i in 0..EACH {
            assert!(
                stored.state.get(&format!("t{thread}-p{i}")).is_some(),
                "t{thread}-p{i} was lost"
            );
        }
    }
}

#[test]
fn a_version_1_ledger_is_moved_to_the_default_scope() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    // A database as schema version 1 left it: no scope in the ledger.
    raw(&path)
        .execute_batch(
            "CREATE TABLE zelavis_meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
             INSERT INTO zelavis_meta VALUES ('schema_version', 1);
             CREATE TABLE zelavis_state (scope TEXT PRIMARY KEY NOT NULL, revision INTEGER NOT NULL,
                 format INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE TABLE zelavis_migrations (plugin TEXT NOT NULL, id TEXT NOT NULL, applied_at TEXT NOT NULL,
                 PRIMARY KEY (plugin, id));
             INSERT INTO zelavis_migrations VALUES ('shop', '001-orders', '2026-01-01T00:00:00.000Z');",
        )
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let shop = Name::parse("shop").unwrap();
    block_on(async {
        assert!(store.is_applied(&Scope::Default, &shop, "001-orders").await.unwrap());
        let acme = Scope::tenant("acme").unwrap();
        assert!(!store.is_applied(&acme, &shop, "001-orders").await.unwrap());
        assert!(store.record(&acme, &shop, "001-orders").await.unwrap());
    });
    let version: i64 = raw(&path)
        .query_row("SELECT value FROM zelavis_meta WHERE key = 'schema_version'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, 2);
}

#[test]
fn revisions_stop_at_the_column_limit_and_format_0_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("registry.db")).unwrap();
    plant(&store, &Scope::Default, i64::MAX, 1, r#"{"records":[]}"#);
    block_on(async {
        let last = Revision(i64::MAX.unsigned_abs());
        let refused = store.save(&Scope::Default, &RegistryState::default(), last).await;
        assert!(matches!(refused, Err(StoreError::RevisionLimit { .. })), "{refused:?}");
        let refused = update_state(&store, &Scope::Default, |_| {}).await;
        assert!(matches!(refused, Err(StoreError::RevisionLimit { .. })), "{refused:?}");
    });
    plant(&store, &Scope::Default, 3, 0, r#"{"records":[]}"#);
    block_on(async {
        let load = store.load(&Scope::Default).await;
        assert!(matches!(load, Err(StoreError::Corrupt { .. })), "{load:?}");
        let save = store
            .save(&Scope::Default, &RegistryState::default(), Revision(3))
            .await;
        assert!(matches!(save, Err(StoreError::Corrupt { .. })), "{save:?}");
    });
}
