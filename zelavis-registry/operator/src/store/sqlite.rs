//! [`SqliteOperatorStore`]: operator data in an embedded SQLite database (feature `sqlite`, the default, under
//! `.zelavis/`).
//!
//! The layout, schema version 1 (`PRAGMA user_version`):
//!
//! - `operator_rows(kind TEXT, key TEXT, tenant TEXT, plugin TEXT, flag INTEGER, revision INTEGER, body TEXT,
//!   PRIMARY KEY (kind, key)) WITHOUT ROWID`, indexed on `(kind, tenant)` and `(kind, plugin, flag)`. Without a
//!   rowid, each index entry ends with the primary key, so a tenant's rows come out of its index already in key
//!   order, and a `count(*)` reads only the index.
//! - `operator_audit(seq INTEGER PRIMARY KEY, prev_hash TEXT, hash TEXT, body TEXT)`, with triggers that refuse
//!   every `UPDATE` and `DELETE`. The triggers stop mistakes, not attackers: whoever can write the file can drop
//!   them. The hash chain is what detects that ([`verify`](crate::audit::verify)).
//!
//! Each [`commit`](OperatorStore::commit) is one `BEGIN IMMEDIATE` transaction — check every expectation, write
//! every row, read the audit head, seal and append every entry — so several stores, in one process or in
//! several, may open the same file: a writer that finds the file locked waits up to [`BUSY_TIMEOUT`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use zelavis_registry::store::sqlite::{open_connection, open_in_memory};

use super::memory::{check_expected, next_revision, refuse_duplicates};
use super::{Batch, Committed, Expected, Kind, OperatorStore, OperatorStoreError, Query, Row, RowRevision, Write};
use crate::audit::{AuditEvent, GENESIS_HASH};

/// The schema version this build creates, and the newest it opens (kept in `PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = 1;

pub use zelavis_registry::store::sqlite::BUSY_TIMEOUT;

/// The largest revision an `INTEGER` column holds.
const LAST_REVISION: RowRevision = i64::MAX.unsigned_abs();

/// `MIGRATIONS[v]` takes a database from schema version `v` to `v + 1`. Tables are created without
/// `IF NOT EXISTS`, so a foreign table of the same name is reported rather than adopted.
const MIGRATIONS: &[&str] = &["CREATE TABLE operator_rows (
         kind TEXT NOT NULL,
         key TEXT NOT NULL,
         tenant TEXT,
         plugin TEXT,
         flag INTEGER NOT NULL CHECK (flag IN (0, 1)),
         revision INTEGER NOT NULL CHECK (revision > 0),
         body TEXT NOT NULL,
         PRIMARY KEY (kind, key)
     ) WITHOUT ROWID;
     CREATE INDEX operator_rows_tenant ON operator_rows (kind, tenant);
     CREATE INDEX operator_rows_plugin ON operator_rows (kind, plugin, flag);
     CREATE TABLE operator_audit (
         seq INTEGER PRIMARY KEY CHECK (seq > 0),
         prev_hash TEXT NOT NULL,
         hash TEXT NOT NULL,
         body TEXT NOT NULL
     );
     CREATE TRIGGER operator_audit_no_update BEFORE UPDATE ON operator_audit
     BEGIN SELECT RAISE(ABORT, 'operator_audit is append-only: an audit event cannot be changed'); END;
     CREATE TRIGGER operator_audit_no_delete BEFORE DELETE ON operator_audit
     BEGIN SELECT RAISE(ABORT, 'operator_audit is append-only: an audit event cannot be removed'); END;"];

const _: () = assert!(
    MIGRATIONS.len() == SCHEMA_VERSION as usize,
    "one migration per schema version"
);

const SELECT_ROW: &str =
    "SELECT kind, key, tenant, plugin, flag, revision, body FROM operator_rows WHERE kind = ?1 AND key = ?2";
const SELECT_REVISION: &str = "SELECT revision FROM operator_rows WHERE kind = ?1 AND key = ?2";
const UPSERT_ROW: &str = "INSERT INTO operator_rows (kind, key, tenant, plugin, flag, revision, body)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (kind, key) DO UPDATE SET tenant = excluded.tenant, plugin = excluded.plugin,
         flag = excluded.flag, revision = excluded.revision, body = excluded.body";
const SELECT_HEAD: &str = "SELECT seq, hash FROM operator_audit ORDER BY seq DESC LIMIT 1";
const INSERT_EVENT: &str = "INSERT INTO operator_audit (seq, prev_hash, hash, body) VALUES (?1, ?2, ?3, ?4)";
const SELECT_EVENTS: &str =
    "SELECT seq, prev_hash, hash, body FROM operator_audit WHERE seq > ?1 ORDER BY seq LIMIT ?2";

macro_rules! rows_where {
    ($index:literal, $filter:literal) => {
        concat!(
            "SELECT kind, key, tenant, plugin, flag, revision, body FROM operator_rows ",
            $index,
            " WHERE ",
            $filter,
            " ORDER BY key"
        )
    };
}

macro_rules! revisions_where {
    ($index:literal, $filter:literal) => {
        concat!(
            "SELECT key, revision FROM operator_rows ",
            $index,
            " WHERE ",
            $filter,
            " ORDER BY key"
        )
    };
}

macro_rules! count_where {
    ($index:literal, $filter:literal) => {
        concat!("SELECT count(*) FROM operator_rows ", $index, " WHERE ", $filter)
    };
}

/// The statements a [`Query`] runs, and their parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Tenant,
    Plugin,
    PluginFlagged,
}

impl Filter {
    fn of(query: &Query) -> (Filter, Vec<&str>) {
        match query {
            Query::All(kind) => (Filter::All, vec![kind.as_str()]),
            Query::Tenant { kind, tenant } => (Filter::Tenant, vec![kind.as_str(), tenant]),
            Query::Plugin { kind, plugin, flagged } => {
                let filter = if *flagged {
                    Filter::PluginFlagged
                } else {
                    Filter::Plugin
                };
                (filter, vec![kind.as_str(), plugin])
            }
        }
    }

    // Without statistics, SQLite's planner prefers walking a whole kind in primary-key order (no sort, no
    // lookups) to the tenant and plugin indexes, which turns one tenant's read into a read of every tenant's:
    // the statements name their index.

    fn rows(self) -> &'static str {
        match self {
            Filter::All => rows_where!("", "kind = ?1"),
            Filter::Tenant => rows_where!("INDEXED BY operator_rows_tenant", "kind = ?1 AND tenant = ?2"),
            Filter::Plugin => rows_where!("INDEXED BY operator_rows_plugin", "kind = ?1 AND plugin = ?2"),
            Filter::PluginFlagged => {
                rows_where!(
                    "INDEXED BY operator_rows_plugin",
                    "kind = ?1 AND plugin = ?2 AND flag = 1"
                )
            }
        }
    }

    fn revisions(self) -> &'static str {
        match self {
            Filter::All => revisions_where!("", "kind = ?1"),
            Filter::Tenant => revisions_where!("INDEXED BY operator_rows_tenant", "kind = ?1 AND tenant = ?2"),
            Filter::Plugin => revisions_where!("INDEXED BY operator_rows_plugin", "kind = ?1 AND plugin = ?2"),
            Filter::PluginFlagged => {
                revisions_where!(
                    "INDEXED BY operator_rows_plugin",
                    "kind = ?1 AND plugin = ?2 AND flag = 1"
                )
            }
        }
    }

    fn count(self) -> &'static str {
        match self {
            Filter::All => count_where!("", "kind = ?1"),
            Filter::Tenant => count_where!("INDEXED BY operator_rows_tenant", "kind = ?1 AND tenant = ?2"),
            Filter::Plugin => count_where!("INDEXED BY operator_rows_plugin", "kind = ?1 AND plugin = ?2"),
            Filter::PluginFlagged => {
                count_where!(
                    "INDEXED BY operator_rows_plugin",
                    "kind = ?1 AND plugin = ?2 AND flag = 1"
                )
            }
        }
    }
}

/// An [`OperatorStore`] over an SQLite database file (or an in-memory database, for tests).
///
/// Files are opened as the registry's SQLite store opens its own ([`open_connection`]): in WAL mode (readers
/// never block the writer) with `synchronous=FULL` (a commit that returned `Ok` — and its audit events —
/// survives a power loss; operator writes are rare) and a [`BUSY_TIMEOUT`]. Like the registry's SQLite store, each store owns one connection behind a mutex and runs
/// each call directly inside the `async fn`, holding the lock for that call only: no async runtime is needed,
/// and a call blocks its thread while SQLite works. Clones share the connection; every
/// [`open`](SqliteOperatorStore::open) makes a new one.
///
/// ```
/// use zelavis_operator::store::sqlite::SqliteOperatorStore;
/// use zelavis_operator::store::{Batch, Expected, Kind, OperatorStore, OperatorStoreError, Query, Write};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join(".zelavis/operator.db");
/// let host_a = SqliteOperatorStore::open(&path)?; // creates `.zelavis/` and the schema
/// let host_b = SqliteOperatorStore::open(&path)?; // a second connection to the same file
///
/// futures::executor::block_on(async {
///     let enable = Write {
///         kind: Kind::Enablement,
///         key: "acme|stripe".into(),
///         tenant: Some("acme".into()),
///         plugin: Some("stripe".into()),
///         flag: true,
///         body: "{}".into(),
///         expected: Expected::Absent,
///     };
///     host_a.commit(Batch::new().write(enable.clone())).await?;
///     let enabled = Query::Plugin { kind: Kind::Enablement, plugin: "stripe".into(), flagged: true };
///     assert_eq!(host_b.count(&enabled).await?, 1);
///     // Host B's create, based on the row being absent, conflicts.
///     assert!(matches!(
///         host_b.commit(Batch::new().write(enable)).await,
///         Err(OperatorStoreError::Conflict { .. })
///     ));
///     Ok::<(), OperatorStoreError>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqliteOperatorStore {
    inner: Arc<Shared>,
}

struct Shared {
    /// `sqlite:<path>`.
    store: String,
    /// The file, when not in memory.
    path: Option<PathBuf>,
    connection: Mutex<Connection>,
}

/// An `operator_rows` row as read, before it is checked.
type RawRow = (String, String, Option<String>, Option<String>, i64, i64, String);

impl fmt::Debug for SqliteOperatorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteOperatorStore")
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl SqliteOperatorStore {
    /// Opens (or creates) the database at `path`, creating its parent directories, enabling WAL and creating
    /// the schema. A schema newer than [`SCHEMA_VERSION`] is refused with [`OperatorStoreError::Corrupt`];
    /// anything else that fails is [`OperatorStoreError::Backend`] naming the path.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OperatorStoreError> {
        let path = path.as_ref();
        let store = format!("sqlite:{}", path.display());
        let connection = open_connection(path).map_err(|e| OperatorStoreError::Backend {
            store: store.clone(),
            reason: e.to_string(),
        })?;
        Self::with(Shared {
            store,
            path: Some(path.to_owned()),
            connection: Mutex::new(connection),
        })
    }

    /// A private in-memory database (no WAL, no file): for tests. Only clones of this store share it.
    pub fn in_memory() -> Result<Self, OperatorStoreError> {
        let store = "sqlite::memory:".to_owned();
        let connection = open_in_memory().map_err(|e| OperatorStoreError::Backend {
            store: store.clone(),
            reason: e.to_string(),
        })?;
        Self::with(Shared {
            store,
            path: None,
            connection: Mutex::new(connection),
        })
    }

    /// A store over an open connection, once its schema is current.
    fn with(shared: Shared) -> Result<Self, OperatorStoreError> {
        shared.migrate(&mut shared.lock())?;
        Ok(Self {
            inner: Arc::new(shared),
        })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic cannot leave a transaction open (rusqlite rolls back on drop), so a poisoned lock is usable.
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn backend(&self, doing: &str, error: &dyn fmt::Display) -> OperatorStoreError {
        OperatorStoreError::Backend {
            store: self.store.clone(),
            reason: format!("{doing}: {error}"),
        }
    }

    fn corrupt(&self, what: String, reason: String) -> OperatorStoreError {
        OperatorStoreError::Corrupt {
            store: self.store.clone(),
            what,
            reason,
        }
    }

    /// An SQL error: a value of the wrong type is [`OperatorStoreError::Corrupt`], anything else
    /// [`OperatorStoreError::Backend`].
    fn sql(&self, doing: &str, what: &str, error: &rusqlite::Error) -> OperatorStoreError {
        match error {
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => self.corrupt(what.to_owned(), error.to_string()),
            _ => self.backend(doing, error),
        }
    }

    /// `PRAGMA user_version`, refused when newer than this build reads.
    fn schema_version(&self, connection: &Connection) -> Result<u32, OperatorStoreError> {
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.backend("cannot read the schema version", &e))?;
        let what = || "schema version (PRAGMA user_version)".to_owned();
        match u32::try_from(version) {
            Ok(version) if version <= SCHEMA_VERSION => Ok(version),
            _ => Err(self.corrupt(
                what(),
                format!(
                    "version {version} is not one this build reads (0 to {SCHEMA_VERSION}): upgrade zelavis, or \
                     this file is not an operator store"
                ),
            )),
        }
    }

    /// Brings the schema to [`SCHEMA_VERSION`] inside one `BEGIN IMMEDIATE` transaction, re-reading the version
    /// inside it so that concurrent openers migrate once.
    fn migrate(&self, connection: &mut Connection) -> Result<(), OperatorStoreError> {
        if self.schema_version(connection)? == SCHEMA_VERSION {
            return Ok(());
        }
        let fail = |e: rusqlite::Error| self.backend("cannot create the schema", &e);
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let from = self.schema_version(&transaction)?;
        for migration in MIGRATIONS.iter().skip(from as usize) {
            transaction.execute_batch(migration).map_err(fail)?;
        }
        transaction
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(fail)?;
        transaction.commit().map_err(fail)
    }

    /// Checks a row as read.
    fn decode(&self, raw: RawRow) -> Result<Row, OperatorStoreError> {
        let (kind, key, tenant, plugin, flag, revision, body) = raw;
        let what = || format!("operator_rows[kind={kind}, key={key:?}]");
        let kind_read = Kind::parse(&kind).ok_or_else(|| self.corrupt(what(), format!("unknown kind {kind:?}")))?;
        let flag = match flag {
            0 => false,
            1 => true,
            other => return Err(self.corrupt(what(), format!("flag {other} is neither 0 nor 1"))),
        };
        let revision = u64::try_from(revision)
            .ok()
            .filter(|r| *r > 0)
            .ok_or_else(|| self.corrupt(what(), format!("revision {revision} is not positive")))?;
        Ok(Row {
            kind: kind_read,
            key,
            tenant,
            plugin,
            flag,
            revision,
            body,
        })
    }

    fn get(&self, kind: Kind, key: &str) -> Result<Option<Row>, OperatorStoreError> {
        let what = format!("operator_rows[kind={kind}, key={key:?}]");
        let raw = self
            .lock()
            .prepare_cached(SELECT_ROW)
            .and_then(|mut statement| statement.query_row(params![kind.as_str(), key], read_row).optional())
            .map_err(|e| self.sql(&format!("cannot read {kind} {key:?}"), &what, &e))?;
        raw.map(|raw| self.decode(raw)).transpose()
    }

    fn query(&self, query: &Query) -> Result<Vec<Row>, OperatorStoreError> {
        let (filter, parameters) = Filter::of(query);
        let raw = self
            .lock()
            .prepare_cached(filter.rows())
            .and_then(|mut statement| {
                statement
                    .query_map(params_from_iter(parameters), read_row)?
                    .collect::<rusqlite::Result<Vec<RawRow>>>()
            })
            .map_err(|e| self.sql(&format!("cannot run {query:?}"), "operator_rows", &e))?;
        raw.into_iter().map(|raw| self.decode(raw)).collect()
    }

    fn revisions(&self, query: &Query) -> Result<Vec<(String, RowRevision)>, OperatorStoreError> {
        let (filter, parameters) = Filter::of(query);
        let raw = self
            .lock()
            .prepare_cached(filter.revisions())
            .and_then(|mut statement| {
                statement
                    .query_map(params_from_iter(parameters), |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                    })?
                    .collect::<rusqlite::Result<Vec<(String, i64)>>>()
            })
            .map_err(|e| self.sql(&format!("cannot run {query:?}"), "operator_rows", &e))?;
        raw.into_iter()
            .map(|(key, revision)| {
                let revision = RowRevision::try_from(revision).map_err(|_| {
                    self.corrupt(
                        format!("{} {key:?}", query.kind()),
                        format!("revision {revision} is not positive"),
                    )
                })?;
                Ok((key, revision))
            })
            .collect()
    }

    fn count(&self, query: &Query) -> Result<u64, OperatorStoreError> {
        let (filter, parameters) = Filter::of(query);
        let count: i64 = self
            .lock()
            .prepare_cached(filter.count())
            .and_then(|mut statement| statement.query_row(params_from_iter(parameters), |row| row.get(0)))
            .map_err(|e| self.backend(&format!("cannot count {query:?}"), &e))?;
        u64::try_from(count).map_err(|e| self.backend(&format!("cannot count {query:?}"), &e))
    }

    /// The revision of the row `write` names, inside the commit's transaction.
    fn current_revision(
        &self,
        connection: &Connection,
        write: &Write,
    ) -> Result<Option<RowRevision>, OperatorStoreError> {
        let what = format!("operator_rows[kind={}, key={:?}]", write.kind, write.key);
        let revision: Option<i64> = connection
            .prepare_cached(SELECT_REVISION)
            .and_then(|mut statement| {
                statement
                    .query_row(params![write.kind.as_str(), write.key], |row| row.get(0))
                    .optional()
            })
            .map_err(|e| self.sql(&format!("cannot check {} {:?}", write.kind, write.key), &what, &e))?;
        revision
            .map(|revision| {
                u64::try_from(revision)
                    .ok()
                    .filter(|r| *r > 0)
                    .ok_or_else(|| self.corrupt(what.clone(), format!("revision {revision} is not positive")))
            })
            .transpose()
    }

    /// The audit log's last number and hash (0 and [`GENESIS_HASH`] when empty).
    fn head(&self, connection: &Connection) -> Result<(u64, String), OperatorStoreError> {
        let head: Option<(i64, String)> = connection
            .prepare_cached(SELECT_HEAD)
            .and_then(|mut statement| statement.query_row([], |row| Ok((row.get(0)?, row.get(1)?))).optional())
            .map_err(|e| self.sql("cannot read the audit head", "operator_audit head", &e))?;
        match head {
            None => Ok((0, GENESIS_HASH.to_owned())),
            Some((seq, hash)) => u64::try_from(seq)
                .map(|seq| (seq, hash))
                .map_err(|_| self.corrupt("operator_audit head".to_owned(), format!("seq {seq} is negative"))),
        }
    }

    fn commit(&self, batch: &Batch) -> Result<Committed, OperatorStoreError> {
        if batch.is_empty() {
            return Ok(Committed::default());
        }
        refuse_duplicates(&batch.writes)?;
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.backend("cannot begin a commit", &e))?;
        let mut revisions = Vec::with_capacity(batch.writes.len());
        for write in &batch.writes {
            let current = self.current_revision(&transaction, write)?;
            check_expected(write, current.map_or(Expected::Absent, Expected::Revision))?;
            revisions.push(next_revision(write, current, LAST_REVISION)?);
        }
        for (write, &revision) in batch.writes.iter().zip(&revisions) {
            let stored = i64::try_from(revision).map_err(|e| self.backend("cannot store a revision", &e))?;
            transaction
                .prepare_cached(UPSERT_ROW)
                .and_then(|mut statement| {
                    statement.execute(params![
                        write.kind.as_str(),
                        write.key,
                        write.tenant,
                        write.plugin,
                        write.flag,
                        stored,
                        write.body
                    ])
                })
                .map_err(|e| self.backend(&format!("cannot write {} {:?}", write.kind, write.key), &e))?;
        }
        let (mut seq, mut prev) = self.head(&transaction)?;
        let mut events = Vec::with_capacity(batch.audit.len());
        for entry in &batch.audit {
            seq += 1;
            let event = entry.seal(seq, &prev);
            let stored = i64::try_from(seq).map_err(|e| self.backend("cannot number an audit event", &e))?;
            transaction
                .prepare_cached(INSERT_EVENT)
                .and_then(|mut statement| statement.execute(params![stored, event.prev_hash, event.hash, event.body]))
                .map_err(|e| self.backend(&format!("cannot append audit event {seq}"), &e))?;
            prev.clone_from(&event.hash);
            events.push(event);
        }
        transaction.commit().map_err(|e| self.backend("cannot commit", &e))?;
        Ok(Committed { revisions, events })
    }

    fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorStoreError> {
        let Ok(after) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raw = self
            .lock()
            .prepare_cached(SELECT_EVENTS)
            .and_then(|mut statement| {
                statement
                    .query_map(params![after, limit], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                    })?
                    .collect::<rusqlite::Result<Vec<(i64, String, String, String)>>>()
            })
            .map_err(|e| self.sql("cannot read the audit log", "operator_audit", &e))?;
        raw.into_iter()
            .map(|(seq, prev_hash, hash, body)| {
                let seq = u64::try_from(seq)
                    .map_err(|_| self.corrupt("operator_audit".to_owned(), format!("seq {seq} is negative")))?;
                Ok(AuditEvent {
                    seq,
                    prev_hash,
                    hash,
                    body,
                })
            })
            .collect()
    }
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

#[async_trait]
impl OperatorStore for SqliteOperatorStore {
    fn describe(&self) -> String {
        self.inner.store.clone()
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Row>, OperatorStoreError> {
        self.inner.get(kind, key)
    }

    async fn query(&self, query: &Query) -> Result<Vec<Row>, OperatorStoreError> {
        self.inner.query(query)
    }

    async fn count(&self, query: &Query) -> Result<u64, OperatorStoreError> {
        self.inner.count(query)
    }

    async fn revisions(&self, query: &Query) -> Result<Vec<(String, RowRevision)>, OperatorStoreError> {
        self.inner.revisions(query)
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, OperatorStoreError> {
        self.inner.commit(&batch)
    }

    async fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorStoreError> {
        self.inner.audit(after, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query plan of `sql`, one detail line per step.
    fn plan(connection: &Connection, sql: &str, parameters: &[&str]) -> Vec<String> {
        let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        statement
            .query_map(params_from_iter(parameters), |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn counts_and_filtered_reads_use_their_index() {
        let store = SqliteOperatorStore::in_memory().unwrap();
        let connection = store.inner.lock();
        let queries = [
            (Query::All(Kind::Enablement), "PRIMARY KEY"),
            (
                Query::Tenant {
                    kind: Kind::Enablement,
                    tenant: "acme".into(),
                },
                "INDEX operator_rows_tenant (kind=? AND tenant=?)",
            ),
            (
                Query::Plugin {
                    kind: Kind::Enablement,
                    plugin: "stripe".into(),
                    flagged: false,
                },
                "INDEX operator_rows_plugin (kind=? AND plugin=?)",
            ),
            (
                Query::Plugin {
                    kind: Kind::Enablement,
                    plugin: "stripe".into(),
                    flagged: true,
                },
                "INDEX operator_rows_plugin (kind=? AND plugin=? AND flag=?)",
            ),
        ];
        for (query, index) in &queries {
            let (filter, parameters) = Filter::of(query);
            let count = plan(&connection, filter.count(), &parameters);
            assert!(
                matches!(count.as_slice(), [step] if step.starts_with("SEARCH") && step.contains("INDEX")),
                "counting {query:?} plans {count:?}"
            );
            let rows = plan(&connection, filter.rows(), &parameters);
            assert!(
                rows.first()
                    .is_some_and(|step| step.starts_with("SEARCH") && step.contains(index)),
                "reading {query:?} plans {rows:?}"
            );
            if filter != Filter::Plugin {
                // Each index ends with the primary key: its rows come out in key order.
                assert_eq!(rows.len(), 1, "reading {query:?} plans {rows:?}");
            }
        }
    }
}
