//! The Redis store against a real server: the conformance kit, tenant watch, the key layout and errors. Each
//! test works under its own key prefix and deletes its keys.
#![cfg(feature = "redis")]

#[path = "support/servers.rs"]
mod servers;

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use zelavis_core::name::Name;
use zelavis_registry::ledger::MigrationLedger;
use zelavis_registry::record::InstallRecord;
use zelavis_registry::registry::Status;
use zelavis_registry::state::RegistryState;
use zelavis_registry::store::conformance::{self, Harness};
use zelavis_registry::store::redis::RedisStore;
use zelavis_registry::store::{Change, RegistryStore, Revision, Scope, StoreError};

async fn raw(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

async fn fresh(url: &str) -> RedisStore {
    RedisStore::connect(url, &servers::unique("zelavis-test"))
        .await
        .expect("connect under a fresh prefix")
}

async fn set_raw(url: &str, key: &str, value: &[u8]) {
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async::<()>(&mut raw(url).await)
        .await
        .expect("plant a value");
}

struct Redis {
    url: String,
}

#[async_trait]
impl Harness for Redis {
    type Store = RedisStore;

    async fn fresh(&self) -> RedisStore {
        fresh(&self.url).await
    }

    async fn second_client(&self, store: &RedisStore) -> RedisStore {
        RedisStore::connect(&self.url, store.prefix())
            .await
            .expect("second client")
    }

    async fn write_corrupt(&self, store: &RedisStore, scope: &Scope) {
        set_raw(&self.url, &store.state_key(scope), b"\x00\x01 definitely not json").await;
    }

    async fn write_newer_format(&self, store: &RedisStore, scope: &Scope, format: u64) {
        let document = format!(r#"{{"format":{format},"revision":1,"state":{{"records":[]}}}}"#);
        set_raw(&self.url, &store.state_key(scope), document.as_bytes()).await;
    }

    async fn cleanup(&self, store: RedisStore) {
        servers::delete_prefix(&self.url, store.prefix()).await;
    }
}

fn state(names: &[&str]) -> RegistryState {
    RegistryState::new(
        names
            .iter()
            .map(|n| InstallRecord::new(Name::parse(n).expect("valid name"), Status::Installed))
            .collect(),
    )
}

async fn next_change(changes: &mut futures::stream::BoxStream<'static, Change>) -> Option<Change> {
    tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_conforms() {
    let Some(url) = servers::redis_or_skip().await else {
        return;
    };
    let report = conformance::run(&Redis { url }).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 13);
    assert!(report.store.starts_with("redis "), "{}", report.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_changes_reach_watchers_of_the_same_prefix_only() {
    let Some(url) = servers::redis_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let other = fresh(&url).await;
    let mut changes = store.watch().await.expect("watch").expect("redis publishes changes");
    let mut elsewhere = other.watch().await.expect("watch").expect("redis publishes changes");
    let writer = RedisStore::connect(&url, store.prefix()).await.expect("writer");

    let acme = Scope::tenant("acme").expect("valid tenant");
    let scoped = Scope::tenant("@tenant/scoped-tenant").expect("valid tenant");
    let r1 = writer
        .save(&acme, &state(&["shop"]), Revision::NONE)
        .await
        .expect("save acme");
    let r2 = writer
        .save(&acme, &state(&["shop", "blog"]), r1)
        .await
        .expect("save acme again");
    writer
        .save(&scoped, &state(&["x"]), Revision::NONE)
        .await
        .expect("save scoped");

    let seen = [
        next_change(&mut changes).await,
        next_change(&mut changes).await,
        next_change(&mut changes).await,
    ];
    assert_eq!(
        seen,
        [
            Some(Change {
                scope: acme.clone(),
                revision: r1
            }),
            Some(Change {
                scope: acme.clone(),
                revision: r2
            }),
            Some(Change {
                scope: scoped,
                revision: Revision(1)
            }),
        ]
    );
    let reread = store.load(&acme).await.expect("re-read");
    assert_eq!((reread.revision, reread.state), (r2, state(&["shop", "blog"])));
    let quiet = tokio::time::timeout(Duration::from_millis(300), elsewhere.next()).await;
    assert!(quiet.is_err(), "another prefix's watcher got {quiet:?}");
    assert!(
        writer
            .save(&acme, &state(&["stale"]), r1)
            .await
            .unwrap_err()
            .is_conflict()
    );
    let quiet = tokio::time::timeout(Duration::from_millis(300), changes.next()).await;
    assert!(quiet.is_err(), "a refused save published {quiet:?}");

    servers::delete_prefix(&url, store.prefix()).await;
    servers::delete_prefix(&url, other.prefix()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_hold_the_shared_document_and_the_ledger() {
    let Some(url) = servers::redis_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let prefix = store.prefix().to_owned();
    let acme = Scope::tenant("acme").expect("valid tenant");
    store
        .save(&acme, &state(&["shop"]), Revision::NONE)
        .await
        .expect("save");
    let key = format!("{prefix}:state:tenant:acme");
    assert_eq!(store.state_key(&acme), key);
    let document: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut raw(&url).await)
        .await
        .expect("get");
    let document: serde_json::Value = serde_json::from_str(&document).expect("a JSON document");
    assert_eq!(document["format"], 1);
    assert_eq!(document["revision"], 1);
    assert_eq!(document["state"]["records"][0]["name"], "shop");

    let plugin = Name::parse("@acme/shop").expect("valid name");
    assert!(
        store
            .record(&Scope::Default, &plugin, "001 orders")
            .await
            .expect("record")
    );
    let fields: Vec<String> = redis::cmd("HKEYS")
        .arg(format!("{prefix}:migrations"))
        .query_async(&mut raw(&url).await)
        .await
        .expect("hkeys");
    assert_eq!(fields, [r#"["@acme/shop","001 orders"]"#]);
    servers::delete_prefix(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_store_and_the_key() {
    let Some(url) = servers::redis_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let prefix = store.prefix().to_owned();

    // A key of the wrong type is corrupt, for loads and saves alike, and is left alone.
    let key = store.state_key(&Scope::Default);
    redis::cmd("HSET")
        .arg(&key)
        .arg("f")
        .arg("v")
        .query_async::<()>(&mut raw(&url).await)
        .await
        .expect("hset");
    let error = store.load(&Scope::Default).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Corrupt { location, .. } if location == &key),
        "{error:?}"
    );
    let name = store.describe();
    assert!(
        name.starts_with("redis ") && name.ends_with(&format!("prefix {prefix}")),
        "{name}"
    );
    assert!(
        error.to_string().starts_with(&format!("{name}: {key} is corrupt")),
        "{error}"
    );
    let error = store
        .save(&Scope::Default, &state(&["x"]), Revision::NONE)
        .await
        .unwrap_err();
    assert!(matches!(&error, StoreError::Corrupt { .. }), "{error:?}");

    // A document whose envelope is wrong is refused at its own revision.
    let acme = Scope::tenant("acme").expect("valid tenant");
    set_raw(
        &url,
        &store.state_key(&acme),
        br#"{"format":1,"revision":"two","state":{}}"#,
    )
    .await;
    let error = store.save(&acme, &state(&["x"]), Revision(2)).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Corrupt { reason, .. } if reason.contains("revision")),
        "{error:?}"
    );

    // Newer formats are refused by the script too.
    let globex = Scope::tenant("globex").expect("valid tenant");
    set_raw(
        &url,
        &store.state_key(&globex),
        br#"{"format":5,"revision":2,"state":{}}"#,
    )
    .await;
    let error = store.save(&globex, &state(&["x"]), Revision(2)).await.unwrap_err();
    assert!(
        matches!(
            &error,
            StoreError::NewerFormat {
                found: 5,
                supported: 1,
                ..
            }
        ),
        "{error:?}"
    );

    let r1 = store
        .save(&Scope::tenant("ok").expect("valid"), &state(&["a"]), Revision::NONE)
        .await
        .expect("save");
    let conflict = store
        .save(&Scope::tenant("ok").expect("valid"), &state(&["b"]), Revision(9))
        .await
        .unwrap_err();
    assert!(
        conflict
            .to_string()
            .contains(&format!("based on r9 but the store is at {r1}")),
        "{conflict}"
    );

    for bad in ["", "has space", "tab\there"] {
        let error = RedisStore::connect(&url, bad).await.unwrap_err();
        assert!(error.to_string().contains("key prefix"), "{bad:?}: {error}");
    }
    servers::delete_prefix(&url, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_first_saves_of_a_new_scope_make_one_winner() {
    let Some(url) = servers::redis_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let mut clients = Vec::new();
    for _ in 0..6 {
        clients.push(RedisStore::connect(&url, store.prefix()).await.expect("client"));
    }
    let scope = Scope::tenant("newcomer").expect("valid tenant");
    let saves = clients.iter().enumerate().map(|(i, client)| {
        let scope = scope.clone();
        async move { client.save(&scope, &state(&[&format!("p{i}")]), Revision::NONE).await }
    });
    let results = futures::future::join_all(saves).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| match r {
        Ok(revision) => *revision == Revision(1),
        Err(StoreError::Conflict { expected, actual, .. }) => (*expected, *actual) == (Revision::NONE, Revision(1)),
        Err(_) => false,
    }));
    servers::delete_prefix(&url, store.prefix()).await;
}

/// Revisions are compared exactly, even above 2^53 where Lua's doubles round, and never wrap at `u64::MAX`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_compare_exactly_and_never_wrap() {
    let Some(url) = servers::redis_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let key = store.state_key(&Scope::Default);
    let big = (1_u64 << 53) + 1;
    let document = zelavis_registry::store::encode_document(&state(&["a"]), Revision(big));
    set_raw(&url, &key, &document).await;
    // 2^53 and 2^53 + 1 are the same double: a save based on 2^53 must still be stale.
    let stale = store.save(&Scope::Default, &state(&["b"]), Revision(big - 1)).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { actual, .. }) if actual == Revision(big)),
        "{stale:?}"
    );
    let next = store
        .save(&Scope::Default, &state(&["b"]), Revision(big))
        .await
        .expect("save");
    assert_eq!(next, Revision(big + 1));

    let last = zelavis_registry::store::encode_document(&state(&["a"]), Revision(u64::MAX));
    set_raw(&url, &key, &last).await;
    let refused = store.save(&Scope::Default, &state(&["b"]), Revision(u64::MAX)).await;
    assert!(matches!(refused, Err(StoreError::RevisionLimit { .. })), "{refused:?}");
    assert_eq!(
        store.load(&Scope::Default).await.expect("load").revision,
        Revision(u64::MAX)
    );
    servers::delete_prefix(&url, store.prefix()).await;
}
