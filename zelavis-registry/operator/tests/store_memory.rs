//! The memory operator store passes the conformance kit, and never wraps a revision.

mod support;

use std::sync::Arc;

use async_trait::async_trait;
use support::Clones;
use zelavis_operator::audit::AuditEvent;
use zelavis_operator::store::conformance;
use zelavis_operator::store::memory::MemoryOperatorStore;
use zelavis_operator::store::{Batch, Committed, Expected, Kind, OperatorStore, OperatorStoreError, Query, Row, Write};

#[test]
fn memory_store_conforms() {
    let report = futures::executor::block_on(conformance::run(&Clones(MemoryOperatorStore::new)));
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 12);
    assert_eq!(report.store, "memory");
}

/// The kit through `Arc<dyn OperatorStore>`, as the operator layer holds a store.
#[test]
fn a_shared_memory_store_conforms() {
    let shared = Clones(|| -> Arc<dyn OperatorStore> { Arc::new(MemoryOperatorStore::new()) });
    let report = futures::executor::block_on(conformance::run(&shared));
    assert!(report.passed(), "{report}");
}

#[test]
fn revisions_never_wrap() {
    let store = MemoryOperatorStore::new();
    store.write_raw(Row {
        kind: Kind::Rollout,
        key: "stripe@2.0.0".to_owned(),
        tenant: None,
        plugin: Some("stripe".to_owned()),
        flag: false,
        revision: u64::MAX,
        body: "{}".to_owned(),
    });
    let write = Write {
        kind: Kind::Rollout,
        key: "stripe@2.0.0".to_owned(),
        tenant: None,
        plugin: Some("stripe".to_owned()),
        flag: true,
        body: r#"{"next":true}"#.to_owned(),
        expected: Expected::Revision(u64::MAX),
    };
    futures::executor::block_on(async {
        let refused = store.commit(Batch::new().write(write)).await;
        assert_eq!(
            refused,
            Err(OperatorStoreError::RevisionExhausted {
                kind: Kind::Rollout,
                key: "stripe@2.0.0".to_owned()
            })
        );
        let row = store.get(Kind::Rollout, "stripe@2.0.0").await.unwrap().unwrap();
        assert_eq!((row.revision, row.body.as_str(), row.flag), (u64::MAX, "{}", false));
    });
}

/// A broken store: it applies a batch one write at a time, so a later write's conflict leaves the earlier ones
/// applied, and it returns rows newest first.
#[derive(Clone, Default)]
struct Piecemeal(MemoryOperatorStore);

#[async_trait]
impl OperatorStore for Piecemeal {
    fn describe(&self) -> String {
        "piecemeal".to_owned()
    }
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Row>, OperatorStoreError> {
        self.0.get(kind, key).await
    }
    async fn query(&self, query: &Query) -> Result<Vec<Row>, OperatorStoreError> {
        let mut rows = self.0.query(query).await?;
        rows.reverse();
        Ok(rows)
    }
    async fn count(&self, query: &Query) -> Result<u64, OperatorStoreError> {
        self.0.count(query).await
    }
    async fn commit(&self, batch: Batch) -> Result<Committed, OperatorStoreError> {
        let mut committed = Committed::default();
        for write in batch.writes {
            committed
                .revisions
                .extend(self.0.commit(Batch::new().write(write)).await?.revisions);
        }
        committed.events = self
            .0
            .commit(Batch {
                writes: Vec::new(),
                audit: batch.audit,
            })
            .await?
            .events;
        Ok(committed)
    }
    async fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorStoreError> {
        self.0.audit(after, limit).await
    }
}

#[test]
fn the_kit_catches_a_store_that_is_not_atomic_or_ordered() {
    let report = futures::executor::block_on(conformance::run(&Clones(Piecemeal::default)));
    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.outcome.is_err())
        .map(|r| r.name)
        .collect();
    assert_eq!(
        failed,
        [
            "failed_batch_applies_nothing",
            "duplicate_write_is_refused",
            "queries_select_by_column",
            "many_tenants_count_right"
        ],
        "{report}"
    );
}
