//! The PostgreSQL store against a real server: the conformance kit, tenant watch, the insert race, schema
//! versions and reconnection. Each test works in its own schema and drops it.
#![cfg(feature = "postgres")]

#[path = "support/servers.rs"]
mod servers;

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use tokio_postgres::{Client, NoTls};
use zelavis_core::name::Name;
use zelavis_registry::ledger::MigrationLedger;
use zelavis_registry::record::InstallRecord;
use zelavis_registry::registry::Status;
use zelavis_registry::state::RegistryState;
use zelavis_registry::store::conformance::{self, Harness};
use zelavis_registry::store::postgres::{PostgresStore, SCHEMA_VERSION};
use zelavis_registry::store::{Change, RegistryStore, Revision, Scope, StoreError};

async fn raw(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("raw connection");
    tokio::spawn(connection);
    client
}

async fn fresh(url: &str) -> PostgresStore {
    PostgresStore::connect_in_schema(url, &servers::unique("zt"))
        .await
        .expect("connect in a fresh schema")
}

/// Plants a raw row.
async fn plant(url: &str, schema: &str, scope: &Scope, revision: i64, format: i32, body: &str) {
    raw(url)
        .await
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".state (scope, revision, format, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (scope) DO UPDATE SET revision = $2, format = $3, body = $4"
            ),
            &[&scope.key(), &revision, &format, &body],
        )
        .await
        .expect("plant a row");
}

struct Postgres {
    url: String,
}

#[async_trait]
impl Harness for Postgres {
    type Store = PostgresStore;

    async fn fresh(&self) -> PostgresStore {
        fresh(&self.url).await
    }

    async fn second_client(&self, store: &PostgresStore) -> PostgresStore {
        PostgresStore::connect_in_schema(&self.url, store.schema())
            .await
            .expect("second client")
    }

    async fn write_corrupt(&self, store: &PostgresStore, scope: &Scope) {
        plant(&self.url, store.schema(), scope, 1, 1, "\u{1} definitely { not json").await;
    }

    async fn write_newer_format(&self, store: &PostgresStore, scope: &Scope, format: u64) {
        let format = i32::try_from(format).expect("small format");
        plant(&self.url, store.schema(), scope, 3, format, r#"{"records":[]}"#).await;
    }

    async fn cleanup(&self, store: PostgresStore) {
        let schema = store.schema().to_owned();
        drop(store);
        servers::drop_schema(&self.url, &schema).await;
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
async fn postgres_store_conforms() {
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let report = conformance::run(&Postgres { url }).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 13);
    assert!(report.store.starts_with("postgres "), "{}", report.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_changes_reach_watchers_of_the_same_schema_only() {
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let other = fresh(&url).await;
    let mut changes = store.watch().await.expect("watch").expect("postgres publishes changes");
    let mut elsewhere = other.watch().await.expect("watch").expect("postgres publishes changes");
    let writer = PostgresStore::connect_in_schema(&url, store.schema())
        .await
        .expect("writer");

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
    // The hint is a reason to re-read.
    let reread = store.load(&acme).await.expect("re-read");
    assert_eq!((reread.revision, reread.state), (r2, state(&["shop", "blog"])));
    // Another schema's watcher hears nothing.
    let quiet = tokio::time::timeout(Duration::from_millis(300), elsewhere.next()).await;
    assert!(quiet.is_err(), "another schema's watcher got {quiet:?}");
    // A refused save notifies nobody.
    assert!(
        writer
            .save(&acme, &state(&["stale"]), r1)
            .await
            .unwrap_err()
            .is_conflict()
    );
    let quiet = tokio::time::timeout(Duration::from_millis(300), changes.next()).await;
    assert!(quiet.is_err(), "a refused save notified {quiet:?}");

    servers::drop_schema(&url, store.schema()).await;
    servers::drop_schema(&url, other.schema()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_first_saves_of_a_new_scope_make_one_winner() {
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let mut clients = Vec::new();
    for _ in 0..6 {
        clients.push(
            PostgresStore::connect_in_schema(&url, store.schema())
                .await
                .expect("client"),
        );
    }
    let scope = Scope::tenant("newcomer").expect("valid tenant");
    let saves = clients.iter().enumerate().map(|(i, client)| {
        let scope = scope.clone();
        async move { client.save(&scope, &state(&[&format!("p{i}")]), Revision::NONE).await }
    });
    let results = futures::future::join_all(saves).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for result in &results {
        match result {
            Ok(revision) => assert_eq!(*revision, Revision(1)),
            Err(StoreError::Conflict { expected, actual, .. }) => {
                assert_eq!((*expected, *actual), (Revision::NONE, Revision(1)));
            }
            Err(other) => panic!("a losing save failed with {other}"),
        }
    }
    assert_eq!(store.load(&scope).await.expect("load").revision, Revision(1));
    servers::drop_schema(&url, store.schema()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_store_and_the_row() {
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let schema = store.schema().to_owned();
    plant(&url, &schema, &Scope::Default, 1, 1, "{ nope").await;
    let error = store.load(&Scope::Default).await.unwrap_err();
    let StoreError::Corrupt {
        store: name, location, ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(
        name.starts_with("postgres ") && name.ends_with(&format!("schema {schema}")),
        "{name}"
    );
    assert_eq!(location, &format!("{schema}.state[scope=default]"));
    // The corrupt row survives a save at its own revision.
    assert!(matches!(
        store.save(&Scope::Default, &state(&["x"]), Revision(1)).await,
        Err(StoreError::Corrupt { .. })
    ));

    let acme = Scope::tenant("acme").expect("valid tenant");
    plant(&url, &schema, &acme, 4, 7, r#"{"records":[]}"#).await;
    let error = store.save(&acme, &state(&["x"]), Revision(4)).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::NewerFormat { found: 7, supported: 1, location, .. } if location == &format!("{schema}.state[scope=tenant:acme]")),
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
    servers::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_edited_behind_the_store_at_the_same_revision_is_not_overwritten() {
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let schema = store.schema().to_owned();
    let shop = state(&["shop"]);
    let r1 = store
        .save(&Scope::Default, &shop, Revision::NONE)
        .await
        .expect("first save");
    // Same revision, same length, different (invalid) content: the store's memory of its own write must not
    // vouch for it.
    let written = serde_json::to_string(&shop).expect("encode");
    plant(&url, &schema, &Scope::Default, 1, 1, &written.replace("shop", "SHOP")).await;
    let saved = store.save(&Scope::Default, &shop, r1).await;
    assert!(matches!(saved, Err(StoreError::Corrupt { .. })), "{saved:?}");
    // The row it wrote, planted back by hand: valid, so the save goes through.
    plant(&url, &schema, &Scope::Default, 1, 1, &written).await;
    assert_eq!(store.save(&Scope::Default, &shop, r1).await.expect("save"), Revision(2));
    servers::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused_and_bad_names_are_rejected() {
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let schema = store.schema().to_owned();
    // Reconnecting to the current layout is a no-op.
    PostgresStore::connect_in_schema(&url, &schema)
        .await
        .expect("reconnect");
    raw(&url)
        .await
        .batch_execute(&format!(
            "UPDATE \"{schema}\".meta SET value = '{}' WHERE key = 'schema_version'",
            SCHEMA_VERSION + 1
        ))
        .await
        .expect("bump the schema version");
    let error = PostgresStore::connect_in_schema(&url, &schema).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::NewerFormat { found, location, .. } if *found == SCHEMA_VERSION + 1 && location == &format!("{schema}.meta[key=schema_version]")),
        "{error:?}"
    );
    servers::drop_schema(&url, &schema).await;

    for bad in ["", "Upper", "has space", "quo\"te", "1digit", &"x".repeat(56)] {
        let error = PostgresStore::connect_in_schema(&url, bad).await.unwrap_err();
        assert!(
            error.to_string().contains("is not a lower-case SQL identifier"),
            "{bad:?}: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_reopened() {
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let schema = store.schema().to_owned();
    let r1 = store
        .save(&Scope::Default, &state(&["a"]), Revision::NONE)
        .await
        .expect("save");
    // A load leaves its statement, naming the schema, in pg_stat_activity.query.
    store.load(&Scope::Default).await.expect("load");
    let killed: i64 = raw(&url)
        .await
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'",
            &[&schema],
        )
        .await
        .expect("terminate the store's backend")
        .get(0);
    assert!(killed >= 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stored = store.load(&Scope::Default).await.expect("load after reconnecting");
    assert_eq!(stored.revision, r1);
    store
        .save(&Scope::Default, &state(&["b"]), r1)
        .await
        .expect("save after reconnecting");
    servers::drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_is_shared_by_clients_of_a_schema() {
    let Some(url) = servers::postgres_or_skip().await else {
        return;
    };
    let store = fresh(&url).await;
    let other_schema = fresh(&url).await;
    let plugin = Name::parse("@acme/shop").expect("valid name");
    assert!(store.record(&Scope::Default, &plugin, "001").await.expect("record"));
    let client = PostgresStore::connect_in_schema(&url, store.schema())
        .await
        .expect("client");
    assert!(
        !client
            .record(&Scope::Default, &plugin, "001")
            .await
            .expect("record again")
    );
    assert!(client.is_applied(&Scope::Default, &plugin, "001").await.expect("read"));
    assert!(
        !other_schema
            .is_applied(&Scope::Default, &plugin, "001")
            .await
            .expect("read elsewhere")
    );
    servers::drop_schema(&url, store.schema()).await;
    servers::drop_schema(&url, other_schema.schema()).await;
}
