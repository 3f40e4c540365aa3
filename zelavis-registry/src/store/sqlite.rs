//! [`SqliteStore`]: registry state in an embedded SQLite database (feature `sqlite`, on by default).
//!
//! One database file holds every scope, the migration ledger and the schema version:
//!
//! - `zelavis_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)`: the row `schema_version` says which
//!   [`SCHEMA_VERSION`] the tables follow. The store creates and migrates its own schema when it opens a file,
//!   and refuses a file whose schema is newer than this build knows.
//! - `zelavis_state(scope TEXT PRIMARY KEY, revision INTEGER NOT NULL, format INTEGER NOT NULL, body TEXT NOT
//!   NULL)`: one row per scope (`default`, `tenant:<name>`); `body` is the state as JSON (`{"records":[...]}`),
//!   `format` its [`FORMAT_VERSION`], `revision` how many times it was written.
//! - `zelavis_migrations(scope TEXT, plugin TEXT, id TEXT, applied_at TEXT, PRIMARY KEY(scope, plugin, id))`: the
//!   migration ledger, one row per migration applied in a scope, `applied_at` in UTC (`2026-01-31T12:00:00.000Z`).
//!   Schema version 1 had no `scope` column; opening such a file moves its rows to the `default` scope.
//!
//! Several stores — in one process or in several — may open the same file: each is a separate connection,
//! every save is a compare-and-swap inside one `BEGIN IMMEDIATE` transaction, and a connection that finds the
//! database locked waits up to [`BUSY_TIMEOUT`] instead of failing. SQLite has no change notifications across
//! connections, so [`RegistryStore::watch`] returns `None`: hosts poll (see
//! [`RuntimeBuilder::poll_every`](crate::runtime::RuntimeBuilder::poll_every)).
//!
//! [`open_connection`] opens a file with the same settings for other stores that keep their own tables in
//! SQLite (the operator layer's).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use zelavis_core::name::Name;

use super::document::{check_format, decode_state};
use super::validated::Validated;
use super::{FORMAT_VERSION, RegistryStore, Retry, Revision, Scope, StateChange, StoreError, Stored};
use crate::ledger::MigrationLedger;
use crate::state::RegistryState;

/// The schema version this build creates, and the newest it opens.
pub const SCHEMA_VERSION: u64 = 2;

/// How long an operation waits for another connection's lock on the database before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema migrations: `MIGRATIONS[v]` takes a database from schema version `v` to `v + 1`. Tables are
/// created without `IF NOT EXISTS`, so a foreign table of the same name is reported rather than adopted.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE zelavis_state (
         scope TEXT PRIMARY KEY NOT NULL,
         revision INTEGER NOT NULL,
         format INTEGER NOT NULL,
         body TEXT NOT NULL
     );
     CREATE TABLE zelavis_migrations (
         plugin TEXT NOT NULL,
         id TEXT NOT NULL,
         applied_at TEXT NOT NULL,
         PRIMARY KEY (plugin, id)
     );",
    "CREATE TABLE zelavis_migrations_scoped (
         scope TEXT NOT NULL,
         plugin TEXT NOT NULL,
         id TEXT NOT NULL,
         applied_at TEXT NOT NULL,
         PRIMARY KEY (scope, plugin, id)
     );
     INSERT INTO zelavis_migrations_scoped (scope, plugin, id, applied_at)
         SELECT 'default', plugin, id, applied_at FROM zelavis_migrations;
     DROP TABLE zelavis_migrations;
     ALTER TABLE zelavis_migrations_scoped RENAME TO zelavis_migrations;",
];

const _: () = assert!(
    MIGRATIONS.len() as u64 == SCHEMA_VERSION,
    "one migration per schema version"
);

const CREATE_META: &str =
    "CREATE TABLE IF NOT EXISTS zelavis_meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)";
const SELECT_STATE: &str = "SELECT revision, format, body FROM zelavis_state WHERE scope = ?1";
const UPSERT_STATE: &str = "INSERT INTO zelavis_state (scope, revision, format, body) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (scope) DO UPDATE SET revision = excluded.revision, format = excluded.format, body = excluded.body";

/// A [`RegistryStore`] over an SQLite database file (or an in-memory database, for tests).
///
/// **Settings.** Files are opened in WAL mode (`PRAGMA journal_mode=WAL`: readers never block the writer) with
/// `PRAGMA synchronous=FULL` (a save or a recorded migration that returned `Ok` survives a power loss, which the
/// ledger's "never lost" promises; writes of registry state are rare, so the fsync per commit is cheap in
/// practice) and a [`BUSY_TIMEOUT`] so that several connections and processes on one file wait for each other.
///
/// **Threads and runtimes.** `rusqlite` is blocking and its `Connection` is `Send` but not `Sync`. Each store
/// owns one connection behind an `Arc<Mutex<_>>` and runs each operation — one short transaction on a local
/// file — directly inside the `async fn`, holding the lock for that call only and never across an `.await`.
/// This keeps the store free of any async runtime (it works under tokio, async-std or
/// `futures::executor::block_on`) and costs no thread hop per call. The price: a call blocks the calling thread
/// while SQLite works, and under write contention from *other* connections it may wait up to [`BUSY_TIMEOUT`]
/// for the file lock. Hosts that write from many processes at once on a latency-sensitive executor can run the
/// calls on a blocking pool (e.g. `tokio::task::spawn_blocking(move || block_on(store.save(..)))`).
///
/// **Clients.** Clones share one connection (and its mutex); every [`SqliteStore::open`] makes a new, separate
/// connection. Two hosts sharing state open the same file, each with its own store.
///
/// ```
/// use zelavis_registry::prelude::*;
/// use zelavis_registry::store::{sqlite::SqliteStore, update_state};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join(".zelavis/registry.db");
/// let host_a = SqliteStore::open(&path)?; // creates `.zelavis/` and the schema
/// let host_b = SqliteStore::open(&path)?; // a second connection to the same file
///
/// futures::executor::block_on(async {
///     let saved = update_state(&host_a, &Scope::Default, |state| {
///         state.upsert(InstallRecord::new(Name::parse("shop").unwrap(), Status::Installed));
///     })
///     .await?;
///     assert_eq!(saved.revision, Revision(1));
///
///     // Host B sees the write; a save based on a stale revision is refused.
///     let seen = host_b.load(&Scope::Default).await?;
///     assert_eq!((seen.revision, seen.state.records.len()), (Revision(1), 1));
///     let stale = host_b.save(&Scope::Default, &RegistryState::default(), Revision::NONE).await;
///     assert!(stale.unwrap_err().is_conflict());
///
///     // The migration ledger: the first recording wins, per scope.
///     let shop = Name::parse("shop").unwrap();
///     assert!(host_a.record(&Scope::Default, &shop, "001-orders").await?);
///     assert!(!host_b.record(&Scope::Default, &shop, "001-orders").await?);
///     Ok::<(), StoreError>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Shared>,
}

struct Shared {
    /// `sqlite <path>`.
    store: String,
    /// The path as displayed in locations, or `:memory:`.
    path_text: String,
    /// The file, when not in memory.
    path: Option<PathBuf>,
    session: Mutex<Session>,
}

/// What the mutex guards: the connection, and which rows are known to be valid.
struct Session {
    connection: Connection,
    validated: Validated,
}

/// A `zelavis_state` row as stored, before it is checked.
struct Row {
    revision: Value,
    format: Value,
    body: Value,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, creating its parent directories, enabling WAL and creating
    /// or migrating the schema. A database whose schema is newer than [`SCHEMA_VERSION`] is refused with
    /// [`StoreError::NewerFormat`]; anything else that fails is [`StoreError::Backend`] naming the path.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let path_text = path.display().to_string();
        let store = format!("sqlite {path_text}");
        let connection = open_connection(path).map_err(|e| StoreError::Backend {
            store: store.clone(),
            message: e.to_string(),
        })?;
        Self::with(Shared {
            store,
            path_text,
            path: Some(path.to_owned()),
            session: Mutex::new(Session {
                connection,
                validated: Validated::default(),
            }),
        })
    }

    /// A private in-memory database (no WAL, no file): for tests. Only clones of this store share it; there is
    /// no way to open a second connection to it.
    pub fn in_memory() -> Result<Self, StoreError> {
        let store = "sqlite :memory:".to_owned();
        let connection = open_in_memory().map_err(|e| StoreError::Backend {
            store: store.clone(),
            message: e.to_string(),
        })?;
        Self::with(Shared {
            store,
            path_text: ":memory:".to_owned(),
            path: None,
            session: Mutex::new(Session {
                connection,
                validated: Validated::default(),
            }),
        })
    }

    /// A store over an open connection, once its schema is current.
    fn with(shared: Shared) -> Result<Self, StoreError> {
        shared.migrate(&mut shared.lock().connection)?;
        Ok(Self {
            inner: Arc::new(shared),
        })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }
}

/// Why [`open_connection`] or [`open_in_memory`] gave no connection: one message saying what it was doing and
/// what failed, e.g. `cannot enable WAL: database is locked`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(String);

impl OpenError {
    fn new(doing: &str, error: &dyn fmt::Display) -> Self {
        Self(format!("{doing}: {error}"))
    }
}

/// Opens (or creates) the database file at `path` with the settings of every zelavis SQLite store: its parent
/// directories are created, WAL is enabled (`journal_mode=WAL`, retried while another connection opening the
/// file holds the lock), `synchronous=FULL`, and the connection waits up to [`BUSY_TIMEOUT`] for other
/// connections' locks. The schema is the caller's to create.
pub fn open_connection(path: &Path) -> Result<Connection, OpenError> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| OpenError::new(&format!("cannot create the directory {}", parent.display()), &e))?;
    }
    let connection = Connection::open(path).map_err(|e| OpenError::new("cannot open the database", &e))?;
    set_busy_timeout(&connection)?;
    enable_wal(&connection)?;
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(|e| OpenError::new("cannot set synchronous=FULL", &e))?;
    Ok(connection)
}

/// Opens a private in-memory database (no file, no WAL) that waits up to [`BUSY_TIMEOUT`] for locks, like
/// [`open_connection`]: for tests.
pub fn open_in_memory() -> Result<Connection, OpenError> {
    let connection =
        Connection::open_in_memory().map_err(|e| OpenError::new("cannot open an in-memory database", &e))?;
    set_busy_timeout(&connection)?;
    Ok(connection)
}

fn set_busy_timeout(connection: &Connection) -> Result<(), OpenError> {
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| OpenError::new("cannot set the busy timeout", &e))
}

/// Switching to WAL takes an exclusive lock; when several connections open a new file at once, it can report
/// busy without waiting, so it is retried until [`BUSY_TIMEOUT`].
fn enable_wal(connection: &Connection) -> Result<(), OpenError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(OpenError::new(
                    "cannot enable WAL",
                    &format!("the journal mode stayed {mode}"),
                ));
            }
            Err(e) if is_busy(&e) && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(OpenError::new("cannot enable WAL", &e)),
        }
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Session> {
        // A panic cannot leave a transaction open (rusqlite rolls back on drop), so a poisoned lock is usable.
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn backend(&self, doing: &str, error: &dyn fmt::Display) -> StoreError {
        StoreError::Backend {
            store: self.store.clone(),
            message: format!("{doing}: {error}"),
        }
    }

    fn corrupt(&self, location: String, reason: String) -> StoreError {
        StoreError::Corrupt {
            store: self.store.clone(),
            location,
            reason,
        }
    }

    fn state_location(&self, key: &str) -> String {
        format!("{} zelavis_state[scope={key}]", self.path_text)
    }

    fn schema_location(&self) -> String {
        format!("{} zelavis_meta[key=schema_version]", self.path_text)
    }

    /// The schema version recorded in `zelavis_meta`, 0 when the table or row is absent.
    fn schema_version(&self, connection: &Connection) -> Result<u64, StoreError> {
        let read = |connection: &Connection| -> rusqlite::Result<Option<Value>> {
            let has_meta: bool = connection.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'zelavis_meta')",
                [],
                |row| row.get(0),
            )?;
            if !has_meta {
                return Ok(None);
            }
            connection
                .query_row(
                    "SELECT value FROM zelavis_meta WHERE key = 'schema_version'",
                    [],
                    |row| row.get(0),
                )
                .optional()
        };
        match read(connection).map_err(|e| self.backend("cannot read the schema version", &e))? {
            None => Ok(0),
            Some(Value::Integer(version)) => u64::try_from(version)
                .map_err(|_| self.corrupt(self.schema_location(), format!("schema version {version} is negative"))),
            Some(other) => Err(self.corrupt(
                self.schema_location(),
                format!("the schema version is {}, not an integer", other.data_type()),
            )),
        }
    }

    fn refuse_newer_schema(&self, version: u64) -> Result<(), StoreError> {
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerFormat {
                store: self.store.clone(),
                location: self.schema_location(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Brings the schema to [`SCHEMA_VERSION`]. A current schema is only read; otherwise the migration runs in
    /// one `BEGIN IMMEDIATE` transaction, re-reading the version inside it so that concurrent openers migrate
    /// exactly once.
    fn migrate(&self, connection: &mut Connection) -> Result<(), StoreError> {
        let version = self.schema_version(connection)?;
        self.refuse_newer_schema(version)?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let fail = |e: rusqlite::Error| self.backend("cannot migrate the schema", &e);
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        transaction.execute_batch(CREATE_META).map_err(fail)?;
        let version = self.schema_version(&transaction)?;
        self.refuse_newer_schema(version)?;
        let from = usize::try_from(version).unwrap_or(usize::MAX);
        for migration in MIGRATIONS.iter().skip(from) {
            transaction.execute_batch(migration).map_err(fail)?;
        }
        let target = i64::try_from(SCHEMA_VERSION).map_err(|e| self.backend("cannot migrate the schema", &e))?;
        transaction
            .execute(
                "INSERT INTO zelavis_meta (key, value) VALUES ('schema_version', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [target],
            )
            .map_err(fail)?;
        transaction.commit().map_err(fail)
    }

    fn select(&self, connection: &Connection, key: &str, doing: &str) -> Result<Option<Row>, StoreError> {
        let read = || -> rusqlite::Result<Option<Row>> {
            connection
                .prepare_cached(SELECT_STATE)?
                .query_row([key], |row| {
                    Ok(Row {
                        revision: row.get(0)?,
                        format: row.get(1)?,
                        body: row.get(2)?,
                    })
                })
                .optional()
        };
        read().map_err(|e| self.backend(&format!("cannot {doing} scope {key}"), &e))
    }

    /// Checks a row's format, revision and body type: a newer format is [`StoreError::NewerFormat`] (checked
    /// first, since its body may be unreadable by design), anything malformed [`StoreError::Corrupt`].
    fn check(&self, key: &str, row: Row) -> Result<(Revision, String), StoreError> {
        let format = match row.format {
            Value::Integer(format) => u64::try_from(format)
                .map_err(|_| self.corrupt(self.state_location(key), format!("format {format} is negative")))?,
            other => {
                return Err(self.corrupt(
                    self.state_location(key),
                    format!("the format is {}, not an integer", other.data_type()),
                ));
            }
        };
        check_format(format, &self.store, &self.state_location(key))?;
        let revision = match row.revision {
            Value::Integer(revision) => u64::try_from(revision)
                .map_err(|_| self.corrupt(self.state_location(key), format!("revision {revision} is negative")))?,
            other => {
                return Err(self.corrupt(
                    self.state_location(key),
                    format!("the revision is {}, not an integer", other.data_type()),
                ));
            }
        };
        match row.body {
            Value::Text(body) => Ok((Revision(revision), body)),
            other => Err(self.corrupt(
                self.state_location(key),
                format!("the body is {}, not text", other.data_type()),
            )),
        }
    }

    /// Parses a state body.
    fn parse(&self, key: &str, body: &str) -> Result<RegistryState, StoreError> {
        decode_state(body, &self.store, &self.state_location(key))
    }

    fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        let key = scope.key();
        let row = self.select(&self.lock().connection, &key, "load")?;
        let Some(row) = row else {
            return Ok(Stored::default());
        };
        let (revision, body) = self.check(&key, row)?;
        let state = self.parse(&key, &body)?;
        self.lock().validated.remember(key, revision, body.into_bytes());
        Ok(Stored { state, revision })
    }

    fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        let key = scope.key();
        let doing = format!("cannot save scope {key}");
        let fail = |e: rusqlite::Error| self.backend(&doing, &e);
        let mut session = self.lock();
        let Session { connection, validated } = &mut *session;
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let actual = match self.select(&transaction, &key, "save")? {
            None => Revision::NONE,
            Some(row) => {
                // A newer-format or unreadable row is never overwritten, whatever revision the save names.
                let (revision, body) = self.check(&key, row)?;
                if !validated.vouches_for(&key, revision, body.as_bytes()) {
                    self.parse(&key, &body)?;
                }
                revision
            }
        };
        if actual != expected {
            return Err(StoreError::Conflict {
                store: self.store.clone(),
                scope: key,
                expected,
                actual,
            });
        }
        self.write(transaction, validated, scope, actual, state)
    }

    /// Reads, changes and writes the state of `scope` inside one `BEGIN IMMEDIATE` transaction: no other
    /// connection writes in between, so there is no conflict to retry.
    fn update(&self, scope: &Scope, change: &StateChange<'_>) -> Result<Stored, StoreError> {
        let key = scope.key();
        let doing = format!("cannot update scope {key}");
        let fail = |e: rusqlite::Error| self.backend(&doing, &e);
        let mut session = self.lock();
        let Session { connection, validated } = &mut *session;
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let (actual, mut state) = match self.select(&transaction, &key, "update")? {
            None => (Revision::NONE, RegistryState::default()),
            Some(row) => {
                let (revision, body) = self.check(&key, row)?;
                (revision, self.parse(&key, &body)?)
            }
        };
        change(&mut state);
        let revision = self.write(transaction, validated, scope, actual, &state)?;
        Ok(Stored { state, revision })
    }

    /// Writes `state` as the revision after `actual` and commits.
    fn write(
        &self,
        transaction: rusqlite::Transaction<'_>,
        validated: &mut Validated,
        scope: &Scope,
        actual: Revision,
        state: &RegistryState,
    ) -> Result<Revision, StoreError> {
        let key = scope.key();
        let doing = format!("cannot save scope {key}");
        let fail = |e: rusqlite::Error| self.backend(&doing, &e);
        let body = serde_json::to_string(state).map_err(|e| self.backend("cannot serialise the state", &e))?;
        let format = i64::try_from(FORMAT_VERSION).map_err(|e| self.backend(&doing, &e))?;
        let next = actual.after(i64::MAX.unsigned_abs(), &self.store, scope)?;
        let stored_next = i64::try_from(next.0).map_err(|e| self.backend(&doing, &e))?;
        transaction
            .prepare_cached(UPSERT_STATE)
            .and_then(|mut statement| statement.execute(params![key, stored_next, format, body]))
            .map_err(fail)?;
        transaction.commit().map_err(fail)?;
        validated.remember(key, next, body.into_bytes());
        Ok(next)
    }

    fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        self.lock()
            .connection
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM zelavis_migrations WHERE scope = ?1 AND plugin = ?2 AND id = ?3)",
            )
            .and_then(|mut statement| statement.query_row(params![scope.key(), plugin.as_str(), id], |row| row.get(0)))
            .map_err(|e| self.backend(&format!("cannot read the ledger for {plugin} {id} in {scope}"), &e))
    }

    /// One autocommit `INSERT OR IGNORE`: atomic, and exactly one connection sees a row inserted.
    fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let inserted = self
            .lock()
            .connection
            .prepare_cached(
                "INSERT OR IGNORE INTO zelavis_migrations (scope, plugin, id, applied_at)
                 VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            )
            .and_then(|mut statement| statement.execute(params![scope.key(), plugin.as_str(), id]))
            .map_err(|e| self.backend(&format!("cannot record migration {id} of {plugin} in {scope}"), &e))?;
        Ok(inserted == 1)
    }
}

#[async_trait]
impl RegistryStore for SqliteStore {
    fn describe(&self) -> String {
        self.inner.store.clone()
    }

    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        self.inner.load(scope)
    }

    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        self.inner.save(scope, state, expected)
    }

    async fn update(&self, scope: &Scope, change: &StateChange<'_>, _retry: &Retry) -> Result<Stored, StoreError> {
        self.inner.update(scope, change)
    }
}

#[async_trait]
impl MigrationLedger for SqliteStore {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        self.inner.is_applied(scope, plugin, id)
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        self.inner.record(scope, plugin, id)
    }
}
