//! What the operator's integration tests share. Each test file declares `mod support;` and uses its part:
//!
//! - here, the store fixtures: rows and audit entries, a harness whose second client is a clone, the checks
//!   every SQL backend runs the same way, the PostgreSQL server (never skipped) and raw access to a store's
//!   tables behind its back;
//! - [`bundle`]: WebAssembly plugin bundles built from the hand-written WAT guests ([`guest`]), and their
//!   signatures;
//! - [`api`] (feature `http`): the super-admin API's routes called in process, and their replies;
//! - [`cli`] (feature `cli`): the `zelavis` binary, and the keyring and license files it reads.

#![allow(dead_code, reason = "each test file uses a part of the support")]

#[cfg(feature = "http")]
pub(crate) mod api;
pub(crate) mod bundle;
#[cfg(feature = "cli")]
pub(crate) mod cli;
#[path = "../../../wasm/tests/support/mod.rs"]
pub(crate) mod guest;

use async_trait::async_trait;
use zelavis_operator::audit::{self, AuditEntry, AuditError, AuditVerified};
use zelavis_operator::store::conformance::Harness;
use zelavis_operator::store::{Batch, Expected, Kind, OperatorStore, OperatorStoreError, Write};
use zelavis_operator::time::Timestamp;

/// A write of `kind`/`key` with no indexed columns.
pub(crate) fn write(kind: Kind, key: &str, body: &str, expected: Expected) -> Write {
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

/// Audit entry `n` (its time, in milliseconds, and its reason): `action` by ops@example.com on acme.
pub(crate) fn entry(n: i64, action: &str) -> AuditEntry {
    AuditEntry::new(Timestamp::from_millis(n), "ops@example.com", action, "tenant:acme").reason(format!("step {n}"))
}

/// Commits three audit events, `tenant.enable` at 1, 2 and 3.
pub(crate) async fn add_three_events<S: OperatorStore>(store: &S) {
    for n in 1..=3 {
        store
            .commit(Batch::new().audit(entry(n, "tenant.enable")))
            .await
            .unwrap();
    }
}

/// Reads the whole audit log of `store` and verifies its chain.
pub(crate) async fn verify_log<S: OperatorStore>(store: &S) -> Result<AuditVerified, AuditError> {
    audit::verify(&store.audit(0, usize::MAX).await.unwrap())
}

/// A harness over stores that `fresh` makes, whose second client is a clone (one connection or one memory,
/// shared).
pub(crate) struct Clones<S>(pub(crate) fn() -> S);

#[async_trait]
impl<S: OperatorStore + Clone> Harness for Clones<S> {
    type Store = S;

    async fn fresh(&self) -> S {
        (self.0)()
    }

    async fn second_client(&self, store: &S) -> S {
        store.clone()
    }
}

/// `a` and `b` are two clients of one fresh store: each sees the other's commits, a write based on a revision
/// the other has moved on from conflicts, and both read one audit chain.
pub(crate) async fn two_clients_see_each_other_and_conflict<S: OperatorStore>(a: &S, b: &S) {
    let created = a
        .commit(
            Batch::new()
                .write(write(Kind::Tenant, "acme", r#"{"v":1}"#, Expected::Absent))
                .audit(entry(1, "tenant.create")),
        )
        .await
        .unwrap();
    assert_eq!(created.revisions, [1]);
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
    // One chain across both clients.
    let log = a.audit(0, usize::MAX).await.unwrap();
    assert_eq!(audit::verify(&log).unwrap().events, 2);
    assert_eq!(log, b.audit(0, usize::MAX).await.unwrap());
}

/// Creates the plugins `stripe` and `blog`, both at revision 1: before a test moves `stripe` to the backend's
/// last revision behind the store's back, for [`the_last_revision_is_refused`].
pub(crate) async fn create_two_plugins<S: OperatorStore>(store: &S) {
    store
        .commit(
            Batch::new()
                .write(write(Kind::Plugin, "stripe", "{}", Expected::Absent))
                .write(write(Kind::Plugin, "blog", "{}", Expected::Absent)),
        )
        .await
        .unwrap();
}

/// With `stripe` at `last`, the backend's largest revision, a batch that writes `blog` and `stripe` is refused
/// with [`OperatorStoreError::RevisionExhausted`] and applies nothing, audit included.
pub(crate) async fn the_last_revision_is_refused<S: OperatorStore>(store: &S, last: u64) {
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
    let blog = store.get(Kind::Plugin, "blog").await.unwrap().unwrap();
    assert_eq!((blog.revision, blog.body.as_str()), (1, "{}"));
    let stripe = store.get(Kind::Plugin, "stripe").await.unwrap().unwrap();
    assert_eq!(stripe.revision, last);
    assert!(store.audit(0, usize::MAX).await.unwrap().is_empty());
}

/// Where a test's SQLite operator store lives in its temp directory.
#[cfg(feature = "sqlite")]
pub(crate) fn db_path(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join(".zelavis/operator.db")
}

/// A raw connection to the store file of `dir`, to change it behind the store's back.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_file(dir: &tempfile::TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(db_path(dir)).unwrap()
}

/// Where the PostgreSQL tests connect unless `ZELAVIS_POSTGRES_URL` says otherwise.
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES_DEFAULT: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

#[cfg(feature = "postgres")]
const POSTGRES_START: &str = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";

/// The server's URL (`ZELAVIS_POSTGRES_URL`, or [`POSTGRES_DEFAULT`]) once it answers `SELECT 1`. Fails the
/// test otherwise — loudly under `CI`, and everywhere with how to start the server: these tests never skip.
#[cfg(feature = "postgres")]
pub(crate) async fn postgres_server() -> String {
    use std::time::Duration;

    let url = std::env::var("ZELAVIS_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_DEFAULT.to_owned());
    let probe = async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
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
        "start it with `{POSTGRES_START}`, or set ZELAVIS_POSTGRES_URL to another server, or run the tests without \
         the `postgres` feature"
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "CI: PostgreSQL is not reachable at {url:?} ({error}); the PostgreSQL store tests must run here: {how}"
    );
    panic!("PostgreSQL is not reachable at {url:?} ({error}): {how}");
}

/// A schema no other test, process or run uses.
#[cfg(feature = "postgres")]
pub(crate) fn unique_schema() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("zop_{}_{nanos}_{n}", std::process::id())
}

/// A raw connection to the server at `url`, to change a store's tables behind its back.
#[cfg(feature = "postgres")]
pub(crate) async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Drops a test's schema and everything in it.
#[cfg(feature = "postgres")]
pub(crate) async fn drop_schema(url: &str, schema: &str) {
    postgres_client(url)
        .await
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}
