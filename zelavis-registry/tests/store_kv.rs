//! The key/value store passes the conformance kit over [`MemoryKeyValue`], lays its keys out as documented,
//! and turns races and adapter failures into conflicts and backend errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::executor::block_on;
use zelavis_registry::prelude::*;
use zelavis_registry::store::conformance::{self, Harness};
use zelavis_registry::store::encode_document;
use zelavis_registry::store::kv::{Cas, KeyValue, KvError, KvStore, MemoryKeyValue};

/// Each fresh store is a new [`MemoryKeyValue`] under a unique prefix.
#[derive(Default)]
struct Kv {
    next: AtomicUsize,
}

#[async_trait]
impl Harness for Kv {
    type Store = KvStore<MemoryKeyValue>;

    async fn fresh(&self) -> Self::Store {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        KvStore::new(MemoryKeyValue::new(), format!("conformance-{n}"))
    }

    async fn second_client(&self, store: &Self::Store) -> Self::Store {
        KvStore::new(store.kv().clone(), store.prefix())
    }

    async fn write_corrupt(&self, store: &Self::Store, scope: &Scope) {
        store.kv().set(&store.state_key(scope), b"\x00\x01 definitely not json");
    }

    async fn write_newer_format(&self, store: &Self::Store, scope: &Scope, format: u64) {
        let document = format!(r#"{{"format":{format},"revision":3,"state":{{"records":[]}}}}"#);
        store.kv().set(&store.state_key(scope), document.as_bytes());
    }

    async fn cleanup(&self, store: Self::Store) {
        let kv = store.kv();
        for key in kv.list(&format!("{}/", store.prefix())).await.expect("list") {
            assert!(kv.delete(&key), "{key} was listed but not deleted");
        }
        assert_eq!(
            kv.list("").await.expect("list"),
            Vec::<String>::new(),
            "keys outside the prefix"
        );
    }
}

#[test]
fn kv_store_conforms() {
    let report = block_on(conformance::run(&Kv::default()));
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 13);
}

fn name(text: &str) -> Name {
    Name::parse(text).expect("a valid name")
}

fn state_of(names: &[&str]) -> RegistryState {
    RegistryState::new(
        names
            .iter()
            .map(|n| InstallRecord::new(name(n), Status::Installed))
            .collect(),
    )
}

#[test]
fn a_document_edited_behind_the_store_at_the_same_revision_is_not_overwritten() {
    let store = KvStore::new(MemoryKeyValue::new(), "app");
    let key = store.state_key(&Scope::Default);
    block_on(async {
        let r1 = store
            .save(&Scope::Default, &state_of(&["shop"]), Revision::NONE)
            .await
            .expect("first save");
        let written = store.kv().get(&key).await.expect("get").expect("a document").0;
        let edited = String::from_utf8(written.clone())
            .expect("utf-8")
            .replace("shop", "SHOP");
        store.kv().set(&key, edited.as_bytes());
        let saved = store.save(&Scope::Default, &state_of(&["shop"]), r1).await;
        assert!(matches!(saved, Err(StoreError::Corrupt { .. })), "{saved:?}");
        assert_eq!(
            store.kv().get(&key).await.expect("get").expect("a document").0,
            edited.as_bytes()
        );
        // Its own bytes, planted back: recognised without a parse, and the save goes through.
        store.kv().set(&key, &written);
        let r2 = store
            .save(&Scope::Default, &state_of(&["shop"]), r1)
            .await
            .expect("save");
        assert_eq!(r2, Revision(2));
    });
}

#[test]
fn keys_are_laid_out_under_the_prefix() {
    let kv = MemoryKeyValue::new();
    let store = KvStore::new(kv.clone(), "apps/shop/");
    assert_eq!(store.prefix(), "apps/shop");
    let acme = Scope::tenant("@acme/tenant").expect("a valid tenant");
    assert_eq!(store.state_key(&Scope::Default), "apps/shop/state/default");
    assert_eq!(store.state_key(&acme), "apps/shop/state/tenant:@acme/tenant");
    assert_eq!(
        store.migration_key(&Scope::Default, &name("@acme/shop"), "001/orders"),
        "apps/shop/migrations/@acme/shop/001/orders"
    );
    block_on(async {
        store
            .save(&Scope::Default, &state_of(&["a"]), Revision::NONE)
            .await
            .expect("save");
        store
            .save(&acme, &state_of(&["b"]), Revision::NONE)
            .await
            .expect("save");
        store
            .record(&Scope::Default, &name("shop"), "001")
            .await
            .expect("record");
        assert_eq!(
            kv.list("").await.expect("list"),
            [
                "apps/shop/migrations/shop/001",
                "apps/shop/state/default",
                "apps/shop/state/tenant:@acme/tenant"
            ]
        );
        assert_eq!(store.scopes().await.expect("scopes"), [Scope::Default, acme.clone()]);
        // The document is the versioned format.
        let (bytes, _) = kv
            .get("apps/shop/state/default")
            .await
            .expect("get")
            .expect("a document");
        let document: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(
            (document["format"].as_u64(), document["revision"].as_u64()),
            (Some(1), Some(1))
        );
    });

    let top = KvStore::new(MemoryKeyValue::new(), "");
    assert_eq!(top.prefix(), "");
    assert_eq!(top.state_key(&Scope::Default), "state/default");
    assert_eq!(
        top.migration_key(&Scope::Default, &name("shop"), "1"),
        "migrations/shop/1"
    );
}

#[test]
fn prefixes_on_one_service_are_isolated() {
    let kv = MemoryKeyValue::new();
    let (a, b) = (KvStore::new(kv.clone(), "a"), KvStore::new(kv.clone(), "ab"));
    block_on(async {
        a.save(&Scope::Default, &state_of(&["only-a"]), Revision::NONE)
            .await
            .expect("save");
        assert!(a.record(&Scope::Default, &name("shop"), "1").await.expect("record"));
        let seen = b.load(&Scope::Default).await.expect("load");
        assert!(seen.state.is_empty() && seen.revision == Revision::NONE, "{seen:?}");
        assert!(!b.is_applied(&Scope::Default, &name("shop"), "1").await.expect("read"));
        assert!(
            b.record(&Scope::Default, &name("shop"), "1")
                .await
                .expect("record in b")
        );
        assert_eq!(b.scopes().await.expect("scopes"), Vec::<Scope>::new());
    });
}

#[test]
fn memory_key_value_versions_never_repeat() {
    block_on(async {
        let kv = MemoryKeyValue::new();
        let Cas::Written(v1) = kv.compare_and_set("k", None, b"1").await.expect("cas") else {
            panic!("not created");
        };
        assert_eq!(
            kv.compare_and_set("k", Some(v1 + 100), b"x").await.expect("cas"),
            Cas::Mismatch { actual: Some(v1) }
        );
        let Cas::Written(v2) = kv.compare_and_set("k", Some(v1), b"2").await.expect("cas") else {
            panic!("not updated");
        };
        assert!(kv.delete("k"));
        assert!(!kv.delete("k"));
        assert_eq!(
            kv.compare_and_set("k", Some(v2), b"x").await.expect("cas"),
            Cas::Mismatch { actual: None }
        );
        let v3 = kv.set("k", b"3");
        assert!(
            v3 != v1 && v3 != v2,
            "a re-created key reused a version: {v1} {v2} {v3}"
        );
        assert_eq!(kv.get("k").await.expect("get"), Some((b"3".to_vec(), v3)));
        kv.set("k/a", b"");
        kv.set("l", b"");
        assert_eq!(kv.list("k").await.expect("list"), ["k", "k/a"]);
        assert_eq!(kv.list("k/").await.expect("list"), ["k/a"]);
    });
}

/// An adapter that implements only the required methods; optionally, a write by "another host" slips in before
/// its next compare-and-set.
#[derive(Clone, Default)]
struct Minimal {
    inner: MemoryKeyValue,
    interfere: Arc<AtomicBool>,
}

#[async_trait]
impl KeyValue for Minimal {
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, KvError> {
        self.inner.get(key).await
    }
    async fn compare_and_set(&self, key: &str, expected: Option<u64>, value: &[u8]) -> Result<Cas, KvError> {
        if self.interfere.swap(false, Ordering::SeqCst) {
            let theirs = encode_document(&state_of(&["theirs"]), Revision(7));
            self.inner.set(key, &theirs);
        }
        self.inner.compare_and_set(key, expected, value).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        self.inner.list(prefix).await
    }
}

#[test]
fn the_minimal_adapter_is_three_methods() {
    block_on(async {
        let kv = Minimal::default();
        assert_eq!(kv.describe(), "key/value");
        let Cas::Written(v1) = kv.compare_and_set("k", None, b"1").await.expect("create") else {
            panic!("a new key was refused");
        };
        assert_eq!(
            kv.compare_and_set("k", None, b"2").await.expect("cas"),
            Cas::Mismatch { actual: Some(v1) }
        );
        assert_eq!(kv.list("").await.expect("list"), ["k"]);
    });
}

#[test]
fn a_write_between_read_and_compare_and_set_is_a_conflict() {
    let kv = Minimal::default();
    let store = KvStore::new(kv.clone(), "race");
    block_on(async {
        let r1 = store
            .save(&Scope::Default, &state_of(&["ours"]), Revision::NONE)
            .await
            .expect("save");
        kv.interfere.store(true, Ordering::SeqCst);
        match store.save(&Scope::Default, &state_of(&["lost"]), r1).await {
            Err(StoreError::Conflict { expected, actual, .. }) => assert_eq!((expected, actual), (r1, Revision(7))),
            other => panic!("a raced save returned {other:?}"),
        }
        let stored = store.load(&Scope::Default).await.expect("load");
        assert_eq!((stored.state, stored.revision), (state_of(&["theirs"]), Revision(7)));
    });
}

/// An adapter whose service is down.
struct Down;

#[async_trait]
impl KeyValue for Down {
    fn describe(&self) -> String {
        "kv.example:2379".to_owned()
    }
    async fn get(&self, _: &str) -> Result<Option<(Vec<u8>, u64)>, KvError> {
        Err(KvError::new("connection refused"))
    }
    async fn compare_and_set(&self, _: &str, _: Option<u64>, _: &[u8]) -> Result<Cas, KvError> {
        Err(KvError::new("connection refused"))
    }
    async fn list(&self, _: &str) -> Result<Vec<String>, KvError> {
        Err(KvError::new("connection refused"))
    }
}

#[test]
fn adapter_failures_are_backend_errors_naming_the_key() {
    // Shared behind an `Arc<dyn KeyValue>`, as a host would.
    let kv: Arc<dyn KeyValue> = Arc::new(Down);
    let store = KvStore::new(kv, "down");
    block_on(async {
        let error = store.load(&Scope::Default).await.expect_err("the service is down");
        assert_eq!(
            error.to_string(),
            r#"key/value store kv.example:2379 at "down": cannot read down/state/default: connection refused"#
        );
        let error = store
            .record(&Scope::Default, &name("shop"), "1")
            .await
            .expect_err("the service is down");
        assert!(
            matches!(&error, StoreError::Backend { message, .. } if message.contains("down/migrations/shop/1")),
            "{error:?}"
        );
        assert!(
            store
                .save(&Scope::Default, &state_of(&["a"]), Revision::NONE)
                .await
                .is_err()
        );
        assert!(store.scopes().await.is_err());
    });
}
