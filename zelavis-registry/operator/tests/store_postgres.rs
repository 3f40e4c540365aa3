//! The PostgreSQL operator store against a real server: the conformance kit, the append-only audit table and
//! its hash chain against raw edits, the operator lock, failures that apply nothing, schema versions and
//! revision limits. Each test works in its own schema and drops it.
//!
//! These tests never skip: when the server does not answer they fail, saying how to start it (run the tests
//! without the `postgres` feature to leave them out).
#![cfg(feature = "postgres")]

use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio_postgres::{Client, NoTls};
use zelavis_operator::audit::{self, AuditEntry, AuditError};
use zelavis_operator::store::conformance::{self, Harness};
use zelavis_operator::store::postgres::{ADVISORY_LOCK_CLASS, PostgresOperatorStore};
use zelavis_operator::store::{Batch, Expected, Kind, OperatorStore, OperatorStoreError, Write};
use zelavis_operator::time::Timestamp;

const DEFAULT_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
const START: &str = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";

/// The server's URL (`ZELAVIS_POSTGRES_URL`, or the default) once it answers `SELECT 1`. Fails the test
/// otherwise — loudly under `CI`, and everywhere with how to start the server.
async fn server() -> String {
    let url = std::env::var("ZELAVIS_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let probe = async {
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
        tokio::spawn(connection);
        client.simple_query("SELECT 1").await.map(drop)
    };
    let error = match tokio::time::timeout(Duration::from_secs(5), probe).await {
        Ok(Ok(())) => return url,
        Ok(Err(error)) => {
            std::error::Error::source(&error).map_or_else(|| error.to_string(), |s| format!("{error}: {s}"))
        }
        Err(_) => "no answer within 5 s".to_owned(),
    };
    let how = format!(
        "start it with `{START}`, or set ZELAVIS_POSTGRES_URL to another server, or run the tests without the \
         `postgres` feature"
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "CI: PostgreSQL is not reachable at {url:?} ({error}); the PostgreSQL store tests must run here: {how}"
    );
    panic!("PostgreSQL is not reachable at {url:?} ({error}): {how}");
}

/// A schema no other test, process or run uses.
fn unique_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("zop_{}_{nanos}_{n}", process::id())
}

async fn raw(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn drop_schema(url: &str, schema: &str) {
    raw(url)
        .await
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

async fn fresh(url: &str) -> PostgresOperatorStore {
    PostgresOperatorStore::connect_with(url, &unique_schema())
        .await
        .unwrap()
}

struct Postgres {
    url: String,
}

#[async_trait]
impl Harness for Postgres {
    type Store = PostgresOperatorStore;

    async fn fresh(&self) -> PostgresOperatorStore {
        fresh(&self.url).await
    }

    async fn second_client(&self, store: &PostgresOperatorStore) -> PostgresOperatorStore {
        PostgresOperatorStore::connect_with(&self.url, store.schema())
            .await
            .unwrap()
    }

    async fn cleanup(&self, store: PostgresOperatorStore) {
        let schema = store.schema().to_owned();
        drop(store);
        drop_schema(&self.url, &schema).await;
    }
}

fn write(kind: Kind, key: &str, body: &str, expected: Expected) -> Write {
    Write {
        kind,
        key: key.to_owned(),
        tenant: None,
        plugin: None,
        flag: false,
        body: body.to_owned(),
        expected,
    }
}

fn entry(n: i64, action: &str) -> AuditEntry {
    AuditEntry::new(Timestamp::from_millis(n), "ops@example.com", action, "tenant:acme").reason(format!("step {n}"))
}

async fn with_three_events(url: &str) -> PostgresOperatorStore {
    let store = fresh(url).await;
    for n in 1..=3 {
        store
            .commit(Batch::new().audit(entry(n, "tenant.enable")))
            .await
            .unwrap();
    }
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let url = server().await;
    let report = conformance::run(&Postgres { url }).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 12);
    assert!(report.store.starts_with("postgres:"), "{}", report.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_triggers_refuse_edits_removals_and_truncation() {
    let url = server().await;
    let store = with_three_events(&url).await;
    let s = store.schema().to_owned();
    let client = raw(&url).await;
    for statement in [
        format!("UPDATE \"{s}\".operator_audit SET body = '{{}}' WHERE seq = 2"),
        format!("DELETE FROM \"{s}\".operator_audit WHERE seq = 3"),
        format!("TRUNCATE \"{s}\".operator_audit"),
    ] {
        let refused = client.batch_execute(&statement).await;
        let message = refused
            .as_ref()
            .err()
            .and_then(|e| e.as_db_error())
            .map(|e| e.message().to_owned());
        assert!(
            message.as_deref().is_some_and(|m| m.contains("append-only")),
            "{statement} returned {refused:?}"
        );
    }
    let log = store.audit(0, usize::MAX).await.unwrap();
    assert_eq!(audit::verify(&log).unwrap().events, 3);
    drop_schema(&url, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_behind_a_disabled_trigger_is_caught_by_the_chain() {
    let url = server().await;
    let store = with_three_events(&url).await;
    let s = store.schema().to_owned();
    let client = raw(&url).await;
    client
        .batch_execute(&format!(
            "ALTER TABLE \"{s}\".operator_audit DISABLE TRIGGER operator_audit_append_only;
             UPDATE \"{s}\".operator_audit SET body = replace(body, 'tenant.enable', 'tenant.disable') WHERE seq = 2;"
        ))
        .await
        .unwrap();
    let log = store.audit(0, usize::MAX).await.unwrap();
    assert_eq!(audit::verify(&log), Err(AuditError::Edited { seq: 2 }));

    client
        .batch_execute(&format!("DELETE FROM \"{s}\".operator_audit WHERE seq = 1"))
        .await
        .unwrap();
    let log = store.audit(0, usize::MAX).await.unwrap();
    assert_eq!(audit::verify(&log), Err(AuditError::Missing { from: 1, to: 1 }));
    drop_schema(&url, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_see_each_other_and_conflict() {
    let url = server().await;
    let a = fresh(&url).await;
    let b = PostgresOperatorStore::connect_with(&url, a.schema()).await.unwrap();
    a.commit(
        Batch::new()
            .write(write(Kind::Tenant, "acme", r#"{"v":1}"#, Expected::Absent))
            .audit(entry(1, "tenant.create")),
    )
    .await
    .unwrap();
    let seen = b.get(Kind::Tenant, "acme").await.unwrap().unwrap();
    assert_eq!((seen.revision, seen.body.as_str()), (1, r#"{"v":1}"#));
    let updated = b
        .commit(
            Batch::new()
                .write(write(Kind::Tenant, "acme", r#"{"v":2}"#, Expected::Revision(1)))
                .audit(entry(2, "tenant.update")),
        )
        .await
        .unwrap();
    assert_eq!((updated.revisions[0], updated.events[0].seq), (2, 2));
    let stale = a
        .commit(Batch::new().write(write(Kind::Tenant, "acme", r#"{"v":3}"#, Expected::Revision(1))))
        .await;
    assert_eq!(
        stale,
        Err(OperatorStoreError::Conflict {
            kind: Kind::Tenant,
            key: "acme".to_owned(),
            expected: Expected::Revision(1),
            found: Expected::Revision(2),
        })
    );
    let log = a.audit(0, usize::MAX).await.unwrap();
    assert_eq!(audit::verify(&log).unwrap().events, 2);

    // Another schema sees none of it.
    let elsewhere = fresh(&url).await;
    assert_eq!(elsewhere.get(Kind::Tenant, "acme").await.unwrap(), None);
    assert!(elsewhere.audit(0, usize::MAX).await.unwrap().is_empty());
    drop_schema(&url, a.schema()).await;
    drop_schema(&url, elsewhere.schema()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_waits_for_the_operator_lock() {
    let url = server().await;
    let store = fresh(&url).await;
    let mut holder = raw(&url).await;
    let tx = holder.transaction().await.unwrap();
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&ADVISORY_LOCK_CLASS, &store.schema()],
    )
    .await
    .unwrap();
    let committing = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .commit(Batch::new().write(write(Kind::Tenant, "acme", "{}", Expected::Absent)))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !committing.is_finished(),
        "a commit went ahead while another session held the operator lock"
    );
    tx.commit().await.unwrap();
    let committed = tokio::time::timeout(Duration::from_secs(10), committing)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(committed.revisions, [1]);
    drop_schema(&url, store.schema()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_statement_applies_nothing() {
    let url = server().await;
    let store = fresh(&url).await;
    store
        .commit(Batch::new().write(write(Kind::Plugin, "blog", "{}", Expected::Absent)))
        .await
        .unwrap();
    // PostgreSQL text cannot hold NUL: the write statement fails after the expectations passed.
    let failed = store
        .commit(
            Batch::new()
                .write(write(Kind::Plugin, "blog", r#"{"v":2}"#, Expected::Revision(1)))
                .write(write(Kind::Plugin, "stripe", "{\"nul\":\"\0\"}", Expected::Absent))
                .audit(entry(1, "plugin.create")),
        )
        .await;
    match failed {
        Err(OperatorStoreError::Backend { store: name, reason }) => {
            assert_eq!(name, store.describe());
            assert!(reason.contains("cannot write 2 rows"), "{reason}");
        }
        other => panic!("a write PostgreSQL refuses returned {other:?}"),
    }
    let blog = store.get(Kind::Plugin, "blog").await.unwrap().unwrap();
    assert_eq!((blog.revision, blog.body.as_str()), (1, "{}"));
    assert_eq!(store.get(Kind::Plugin, "stripe").await.unwrap(), None);
    assert!(store.audit(0, usize::MAX).await.unwrap().is_empty());
    // The store is still usable.
    let next = store
        .commit(Batch::new().write(write(Kind::Plugin, "blog", r#"{"v":2}"#, Expected::Revision(1))))
        .await
        .unwrap();
    assert_eq!(next.revisions, [2]);
    drop_schema(&url, store.schema()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_revision_is_refused_and_nothing_applies() {
    let url = server().await;
    let store = fresh(&url).await;
    let s = store.schema().to_owned();
    store
        .commit(
            Batch::new()
                .write(write(Kind::Plugin, "stripe", "{}", Expected::Absent))
                .write(write(Kind::Plugin, "blog", "{}", Expected::Absent)),
        )
        .await
        .unwrap();
    raw(&url)
        .await
        .execute(
            &format!("UPDATE \"{s}\".operator_rows SET revision = $1 WHERE key = 'stripe'"),
            &[&i64::MAX],
        )
        .await
        .unwrap();
    let last = u64::try_from(i64::MAX).unwrap();
    let refused = store
        .commit(
            Batch::new()
                .write(write(Kind::Plugin, "blog", r#"{"v":2}"#, Expected::Revision(1)))
                .write(write(Kind::Plugin, "stripe", r#"{"v":2}"#, Expected::Revision(last)))
                .audit(entry(1, "plugin.update")),
        )
        .await;
    assert_eq!(
        refused,
        Err(OperatorStoreError::RevisionExhausted {
            kind: Kind::Plugin,
            key: "stripe".to_owned()
        })
    );
    assert_eq!(store.get(Kind::Plugin, "blog").await.unwrap().unwrap().revision, 1);
    assert!(store.audit(0, usize::MAX).await.unwrap().is_empty());
    drop_schema(&url, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    let url = server().await;
    let store = fresh(&url).await;
    let s = store.schema().to_owned();
    raw(&url)
        .await
        .batch_execute(&format!(
            "UPDATE \"{s}\".operator_meta SET value = '99' WHERE key = 'schema_version'"
        ))
        .await
        .unwrap();
    match PostgresOperatorStore::connect_with(&url, &s).await {
        Err(OperatorStoreError::Corrupt { what, reason, .. }) => {
            assert!(what.contains("schema_version"), "{what}");
            assert!(reason.contains("99"), "{reason}");
        }
        other => panic!("connecting to a newer schema returned {other:?}"),
    }
    drop_schema(&url, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_schemas_and_servers_are_named() {
    let url = server().await;
    match PostgresOperatorStore::connect_with(&url, "Robert'); DROP TABLE students;--").await {
        Err(OperatorStoreError::Backend { reason, .. }) => assert!(reason.contains("not a lower-case"), "{reason}"),
        other => panic!("a schema that is not an identifier returned {other:?}"),
    }
    match PostgresOperatorStore::connect_with("host=127.0.0.1 port=1 user=postgres dbname=test", "zop_nowhere").await {
        Err(OperatorStoreError::Backend { store, reason }) => {
            assert!(store.contains("127.0.0.1:1/test"), "{store}");
            assert!(reason.contains("cannot get a connection"), "{reason}");
        }
        other => panic!("an unreachable server returned {other:?}"),
    }
}
