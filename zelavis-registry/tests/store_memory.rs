//! The memory store passes the conformance kit.

use async_trait::async_trait;
use zelavis_registry::store::conformance::{self, Harness};
use zelavis_registry::store::{Scope, memory::MemoryStore};

struct Memory;

#[async_trait]
impl Harness for Memory {
    type Store = MemoryStore;

    async fn fresh(&self) -> MemoryStore {
        MemoryStore::new()
    }

    async fn second_client(&self, store: &MemoryStore) -> MemoryStore {
        store.clone()
    }

    async fn write_corrupt(&self, store: &MemoryStore, scope: &Scope) {
        store.write_raw(scope, b"\x00\x01 definitely not json");
    }

    async fn write_newer_format(&self, store: &MemoryStore, scope: &Scope, format: u64) {
        store.write_raw(
            scope,
            format!(r#"{{"format":{format},"revision":3,"state":{{"records":[]}}}}"#).as_bytes(),
        );
    }
}

#[test]
fn memory_store_conforms() {
    let report = futures::executor::block_on(conformance::run(&Memory));
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 13);
}

#[test]
fn revisions_never_wrap() {
    use zelavis_registry::state::RegistryState;
    use zelavis_registry::store::{RegistryStore, Revision, StoreError, encode_document, update_state};
    let store = MemoryStore::new();
    store.write_raw(
        &Scope::Default,
        &encode_document(&RegistryState::default(), Revision(u64::MAX)),
    );
    futures::executor::block_on(async {
        let refused = store
            .save(&Scope::Default, &RegistryState::default(), Revision(u64::MAX))
            .await;
        assert!(matches!(refused, Err(StoreError::RevisionLimit { .. })), "{refused:?}");
        let refused = update_state(&store, &Scope::Default, |_| {}).await;
        assert!(matches!(refused, Err(StoreError::RevisionLimit { .. })), "{refused:?}");
        assert_eq!(
            store.load(&Scope::Default).await.expect("load").revision,
            Revision(u64::MAX)
        );
    });
}
