//! The PostgreSQL operator store against a real server: the conformance kit, the append-only audit table and
//! its hash chain against raw edits, the operator lock, failures that apply nothing, schema versions and
//! revision limits. Each test works in its own schema and drops it.
//!
//! These tests never skip: when the server does not answer they fail, saying how to start it (run the tests
//! without the `postgres` feature to leave them out).
#![cfg(feature = "postgres")]

mod support;

use std::time::Duration;

use async_trait::async_trait;
use support::{
    add_three_events, create_two_plugins, drop_schema, entry, postgres_client, postgres_server,
    the_last_revision_is_refused, two_clients_see_each_other_and_conflict, unique_schema, verify_log, write,
};
use zelavis_operator::audit::AuditError;
use zelavis_operator::store::conformance::{self, Harness};
use zelavis_operator::store::postgres::{ADVISORY_LOCK_CLASS, PostgresOperatorStore};
use zelavis_operator::store::{Batch, Expected, Kind, OperatorStore, OperatorStoreError};

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

async fn with_three_events(url: &str) -> PostgresOperatorStore {
    let store = fresh(url).await;
    add_three_events(&store).await;
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let url = postgres_server().await;
    let report = conformance::run(&Postgres { url }).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 12);
    assert!(report.store.starts_with("postgres:"), "{}", report.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_triggers_refuse_edits_removals_and_truncation() {
    let url = postgres_server().await;
    let store = with_three_events(&url).await;
    let s = store.schema().to_owned();
    let client = postgres_client(&url).await;
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
    assert_eq!(verify_log(&store).await.unwrap().events, 3);
    drop_schema(&url, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_behind_a_disabled_trigger_is_caught_by_the_chain() {
    let url = postgres_server().await;
    let store = with_three_events(&url).await;
    let s = store.schema().to_owned();
    let client = postgres_client(&url).await;
    client
        .batch_execute(&format!(
            "ALTER TABLE \"{s}\".operator_audit DISABLE TRIGGER operator_audit_append_only;
             UPDATE \"{s}\".operator_audit SET body = replace(body, 'tenant.enable', 'tenant.disable') WHERE seq = 2;"
        ))
        .await
        .unwrap();
    assert_eq!(verify_log(&store).await, Err(AuditError::Edited { seq: 2 }));

    client
        .batch_execute(&format!("DELETE FROM \"{s}\".operator_audit WHERE seq = 1"))
        .await
        .unwrap();
    assert_eq!(verify_log(&store).await, Err(AuditError::Missing { from: 1, to: 1 }));
    drop_schema(&url, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_see_each_other_and_conflict() {
    let url = postgres_server().await;
    let a = fresh(&url).await;
    let b = PostgresOperatorStore::connect_with(&url, a.schema()).await.unwrap();
    two_clients_see_each_other_and_conflict(&a, &b).await;

    // Another schema sees none of it.
    let elsewhere = fresh(&url).await;
    assert_eq!(elsewhere.get(Kind::Tenant, "acme").await.unwrap(), None);
    assert!(elsewhere.audit(0, usize::MAX).await.unwrap().is_empty());
    drop_schema(&url, a.schema()).await;
    drop_schema(&url, elsewhere.schema()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_waits_for_the_operator_lock() {
    let url = postgres_server().await;
    let store = fresh(&url).await;
    let mut holder = postgres_client(&url).await;
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
    let url = postgres_server().await;
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
    let url = postgres_server().await;
    let store = fresh(&url).await;
    let s = store.schema().to_owned();
    create_two_plugins(&store).await;
    postgres_client(&url)
        .await
        .execute(
            &format!("UPDATE \"{s}\".operator_rows SET revision = $1 WHERE key = 'stripe'"),
            &[&i64::MAX],
        )
        .await
        .unwrap();
    let last = u64::try_from(i64::MAX).unwrap();
    the_last_revision_is_refused(&store, last).await;
    drop_schema(&url, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    let url = postgres_server().await;
    let store = fresh(&url).await;
    let s = store.schema().to_owned();
    postgres_client(&url)
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
    let url = postgres_server().await;
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
