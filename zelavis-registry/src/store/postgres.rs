//! [`PostgresStore`]: registry state in PostgreSQL (feature `postgres`), with compare-and-swap saves in a
//! transaction and change hints over `LISTEN`/`NOTIFY`.
//!
//! **This backend needs a tokio runtime**: it is built on `tokio-postgres`, whose connections are driven by
//! tasks it starts with `tokio::spawn`. Calling [`PostgresStore::connect`] outside a tokio runtime returns a
//! [`StoreError::Backend`] instead of panicking.
//!
//! # Layout
//!
//! Everything lives in one schema (`zelavis` by default; [`PostgresStore::connect_in_schema`] picks another, so
//! several registries or parallel tests can share a database). The store creates and migrates it on connect,
//! under an advisory lock so concurrent hosts migrate it once:
//!
//! - `meta(key, value)` holds `schema_version`; a schema newer than this build knows is refused with
//!   [`StoreError::NewerFormat`] and left untouched;
//! - `state(scope TEXT PRIMARY KEY, revision BIGINT, format INT, body TEXT)`, one row per [`Scope`] key, `body`
//!   being the state's JSON (`{"records": [...]}`) in document format `format`;
//! - `migrations(scope, plugin, id, applied_at, PRIMARY KEY (scope, plugin, id))`, the migration ledger (layout
//!   version 1 had no `scope`: its rows become the `default` scope's).
//!
//! # Compare-and-swap
//!
//! A save runs one transaction: `SELECT revision, format, body ... FOR UPDATE` (an absent row is revision 0), a
//! check in Rust (a newer-format or unreadable row is refused, never overwritten; a revision other than the
//! expected one is a [`StoreError::Conflict`] naming both), then an `UPDATE` — or, for a new scope, an
//! `INSERT ... ON CONFLICT DO NOTHING` whose row count tells whether another host inserted the scope first — that
//! also calls `pg_notify`, and `COMMIT`. Statements are prepared once per connection and sent pipelined
//! (`BEGIN` with the `SELECT`, the write with the `COMMIT`), so a save costs two round trips.
//!
//! **Fast path.** The store remembers, per scope, the revision and row version (PostgreSQL's `xmin`, which
//! every update of the row changes, whoever makes it) of the row it last parsed or wrote. When a save is based
//! on that revision, it first sends one autocommitted `UPDATE ... WHERE scope = $1 AND revision = $expected AND
//! xmin = $version` (with its `pg_notify`): one round trip, and no parse, since that very row version was
//! already found valid. If the row changed in between the statement writes nothing, and the transaction above
//! runs and says why (conflict, corrupt or newer row). Likewise the transaction skips parsing a row whose
//! version the store knows. (`xmin` is a 32-bit transaction id: a false match would need the row rewritten
//! behind the store's back, at the same revision, exactly 2³² transactions later, while the store still
//! remembers the old version.)
//!
//! One store holds one connection; its clones share it and take turns (a transaction needs the connection to
//! itself). Open several stores for parallel writers. A closed connection is reopened on the next call.
//!
//! # Watch
//!
//! After a successful save the store notifies channel `<schema>_changes` with `{"scope": "...", "revision": n}` —
//! never the data: `NOTIFY` payloads are capped at 8000 bytes and delivered only on commit.
//! [`RegistryStore::watch`] opens a separate connection that `LISTEN`s on that channel. Notifications are
//! **hints**: delivered at most once, never replayed, lost while no listener is connected. The stream ends when
//! its connection does; watch again and re-read every scope you care about, and re-read whenever a hint names a
//! newer revision than the one you hold.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::channel::mpsc;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use futures::{FutureExt, join};
use serde::{Deserialize, Serialize};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Row, Statement};
use zelavis_core::name::Name;

use super::document::decode_state;
use super::{Change, FORMAT_VERSION, RegistryStore, Revision, Scope, StoreError, Stored};
use crate::ledger::MigrationLedger;
use crate::state::RegistryState;

/// The schema [`PostgresStore::connect`] uses.
pub const DEFAULT_SCHEMA: &str = "zelavis";

/// The version of the table layout this build creates and reads.
pub const SCHEMA_VERSION: u64 = 2;

/// How long to wait for a connection when the configuration does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The migrations of the table layout: entry `n` takes a schema from version `n` to `n + 1`. `{s}` is the
/// quoted schema.
const LAYOUT_MIGRATIONS: &[&str] = &[
    "CREATE TABLE {s}.state (
        scope TEXT PRIMARY KEY,
        revision BIGINT NOT NULL CHECK (revision > 0),
        format INT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE {s}.migrations (
        plugin TEXT NOT NULL,
        id TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (plugin, id)
    );",
    "ALTER TABLE {s}.migrations ADD COLUMN scope TEXT NOT NULL DEFAULT 'default';
    ALTER TABLE {s}.migrations DROP CONSTRAINT migrations_pkey;
    ALTER TABLE {s}.migrations ADD PRIMARY KEY (scope, plugin, id);",
];

/// Registry state in PostgreSQL. Clones share one connection.
///
/// ```no_run
/// use zelavis_registry::state::RegistryState;
/// use zelavis_registry::store::postgres::PostgresStore;
/// use zelavis_registry::store::{RegistryStore, Scope, StoreError};
///
/// # async fn demo() -> Result<(), StoreError> {
/// // Inside a tokio runtime.
/// let store = PostgresStore::connect("host=127.0.0.1 user=postgres dbname=test").await?;
/// let current = store.load(&Scope::Default).await?;
/// let next = store.save(&Scope::Default, &RegistryState::default(), current.revision).await?;
/// // A save based on a stale revision is refused, naming both revisions.
/// let stale = store.save(&Scope::Default, &RegistryState::default(), current.revision).await;
/// assert!(stale.unwrap_err().is_conflict());
///
/// // Another host hears about the change (a hint: re-read the scope).
/// use futures::StreamExt;
/// if let Some(mut changes) = store.watch().await? {
///     while let Some(change) = changes.next().await {
///         let fresh = store.load(&change.scope).await?;
///         # let _ = (fresh, next);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// The unquoted schema name.
    schema: String,
    /// `postgres host:port/db schema s`, for messages.
    name: String,
    /// The notification channel, `<schema>_changes`.
    channel: String,
    sql: Sql,
    connection: Mutex<Option<Connection>>,
    /// Per scope key, the revision and row version (`xmin`) of the row this store last parsed or wrote.
    known: std::sync::Mutex<HashMap<String, Known>>,
}

/// The statements' text, with the schema filled in.
struct Sql {
    load: String,
    lock: String,
    revision: String,
    update: String,
    insert: String,
    swap: String,
    record: String,
    applied: String,
}

impl Sql {
    fn new(quoted: &str) -> Self {
        let s = |text: &str| text.replace("{s}", quoted);
        Sql {
            load: s("SELECT revision, format, body, xmin::text::bigint FROM {s}.state WHERE scope = $1"),
            lock: s("SELECT revision, format, body, xmin::text::bigint FROM {s}.state WHERE scope = $1 FOR UPDATE"),
            revision: s("SELECT revision FROM {s}.state WHERE scope = $1"),
            update: s("WITH written AS (
                    UPDATE {s}.state SET revision = $2, format = $3, body = $4 WHERE scope = $1
                    RETURNING xmin::text::bigint AS version
                ) SELECT pg_notify($5, $6), version FROM written"),
            insert: s("WITH written AS (
                    INSERT INTO {s}.state (scope, revision, format, body) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (scope) DO NOTHING RETURNING xmin::text::bigint AS version
                ) SELECT pg_notify($5, $6), version FROM written"),
            swap: s("WITH written AS (
                    UPDATE {s}.state SET revision = $2, format = $3, body = $4
                    WHERE scope = $1 AND revision = $7 AND xmin::text::bigint = $8
                    RETURNING xmin::text::bigint AS version
                ) SELECT pg_notify($5, $6), version FROM written"),
            record: s("INSERT INTO {s}.migrations (scope, plugin, id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"),
            applied: s("SELECT EXISTS (SELECT 1 FROM {s}.migrations WHERE scope = $1 AND plugin = $2 AND id = $3)"),
        }
    }
}

/// One open connection and its prepared statements.
struct Connection {
    client: Client,
    statements: Statements,
    /// A transaction may be open (a save was cancelled mid-way): roll back before the next use.
    dirty: bool,
}

struct Statements {
    load: Statement,
    lock: Statement,
    revision: Statement,
    update: Statement,
    insert: Statement,
    swap: Statement,
    record: Statement,
    applied: Statement,
}

/// [`FORMAT_VERSION`] as the `format` column's type.
#[expect(clippy::cast_possible_truncation, reason = "the format version is a small constant")]
const FORMAT_COLUMN: i32 = FORMAT_VERSION as i32;

/// A row this store parsed or wrote: its revision and its row version, PostgreSQL's `xmin`, which every update
/// of the row changes, whoever makes it. A save that finds that very version knows the row is valid without
/// parsing it, and can swap it in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known {
    revision: Revision,
    version: i64,
}

/// The change hint sent with `NOTIFY`.
#[derive(Serialize, Deserialize)]
struct Hint {
    scope: String,
    revision: u64,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("store", &self.inner.name)
            .field("channel", &self.inner.channel)
            .finish_non_exhaustive()
    }
}

/// Whether `schema` is a plain lower-case identifier that leaves room for the `_changes` channel suffix.
fn valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 55
}

/// `host:port/db` of a configuration, without credentials.
fn server_of(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// An error's message with its causes (a database error's own message is in its source).
fn describe_error(error: &tokio_postgres::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Opens a connection and drives it on a tokio task.
async fn open_client(config: &Config, store: &str) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await.map_err(|e| StoreError::Backend {
        store: store.to_owned(),
        message: format!("cannot connect: {}", describe_error(&e)),
    })?;
    let name = store.to_owned();
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(store = %name, error = %describe_error(&error), "postgres connection ended");
        }
    });
    Ok(client)
}

fn to_i64(revision: Revision, store: &str) -> Result<i64, StoreError> {
    i64::try_from(revision.0).map_err(|_| StoreError::Backend {
        store: store.to_owned(),
        message: format!("revision {revision} does not fit a BIGINT"),
    })
}

impl PostgresStore {
    /// Connects to PostgreSQL (`config` is a URL or `key=value` string, as `tokio-postgres` reads them) and
    /// creates or migrates the [`DEFAULT_SCHEMA`]. Needs a tokio runtime.
    pub async fn connect(config: &str) -> Result<Self, StoreError> {
        Self::connect_in_schema(config, DEFAULT_SCHEMA).await
    }

    /// Like [`PostgresStore::connect`], in `schema`: a lower-case SQL identifier (`[a-z_][a-z0-9_]*`, at most 55
    /// bytes). Stores in different schemas never see each other's state, ledger or change hints.
    pub async fn connect_in_schema(config: &str, schema: &str) -> Result<Self, StoreError> {
        let mut parsed = Config::from_str(config).map_err(|e| StoreError::Backend {
            store: "postgres".to_owned(),
            message: format!("invalid connection configuration: {}", describe_error(&e)),
        })?;
        if parsed.get_connect_timeout().is_none() {
            parsed.connect_timeout(CONNECT_TIMEOUT);
        }
        let name = format!("postgres {} schema {schema}", server_of(&parsed));
        if !valid_schema(schema) {
            return Err(StoreError::Backend {
                store: name,
                message: format!(
                    "schema {schema:?} is not a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 55 bytes)"
                ),
            });
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Backend {
                store: name,
                message: "the postgres store needs a tokio runtime (tokio-postgres drives its connections on tokio \
                          tasks)"
                    .to_owned(),
            });
        }
        let quoted = format!("\"{schema}\"");
        let store = PostgresStore {
            inner: Arc::new(Inner {
                config: parsed,
                schema: schema.to_owned(),
                channel: format!("{schema}_changes"),
                sql: Sql::new(&quoted),
                name,
                connection: Mutex::new(None),
                known: std::sync::Mutex::default(),
            }),
        };
        let mut client = open_client(&store.inner.config, &store.inner.name).await?;
        store.migrate(&mut client).await?;
        let statements = store.prepare(&client).await?;
        *store.inner.connection.lock().await = Some(Connection {
            client,
            statements,
            dirty: false,
        });
        Ok(store)
    }

    /// The schema this store uses.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The channel change hints are notified on, `<schema>_changes`.
    pub fn channel(&self) -> &str {
        &self.inner.channel
    }

    fn backend(&self, context: &str, error: &tokio_postgres::Error) -> StoreError {
        StoreError::Backend {
            store: self.inner.name.clone(),
            message: format!("{context}: {}", describe_error(error)),
        }
    }

    fn location(&self, scope: &Scope) -> String {
        format!("{}.state[scope={}]", self.inner.schema, scope.key())
    }

    /// Creates the schema, or brings an older one up to [`SCHEMA_VERSION`]; refuses a newer one.
    async fn migrate(&self, client: &mut Client) -> Result<(), StoreError> {
        let quoted = format!("\"{}\"", self.inner.schema);
        let fail = |context: &'static str| move |e: tokio_postgres::Error| self.backend(context, &e);
        let tx = client
            .transaction()
            .await
            .map_err(fail("cannot begin the schema migration"))?;
        // One migrator per schema at a time, across hosts; released at commit.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&format!("zelavis-schema:{}", self.inner.schema)],
        )
        .await
        .map_err(fail("cannot lock the schema for migration"))?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted};
             CREATE TABLE IF NOT EXISTS {quoted}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        ))
        .await
        .map_err(fail("cannot create the schema"))?;
        let row = tx
            .query_opt(
                &format!("SELECT value FROM {quoted}.meta WHERE key = 'schema_version'"),
                &[],
            )
            .await
            .map_err(fail("cannot read the schema version"))?;
        let location = format!("{}.meta[key=schema_version]", self.inner.schema);
        let current = match row {
            None => 0,
            Some(row) => {
                let text: String = row.try_get(0).map_err(fail("cannot read the schema version"))?;
                text.trim().parse::<u64>().map_err(|_| StoreError::Corrupt {
                    store: self.inner.name.clone(),
                    location: location.clone(),
                    reason: format!("schema version {text:?} is not a number"),
                })?
            }
        };
        if current > SCHEMA_VERSION {
            return Err(StoreError::NewerFormat {
                store: self.inner.name.clone(),
                location,
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        if current == SCHEMA_VERSION {
            return tx.commit().await.map_err(fail("cannot finish the schema check"));
        }
        for (from, migration) in LAYOUT_MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(current).unwrap_or(0))
        {
            tx.batch_execute(&migration.replace("{s}", &quoted))
                .await
                .map_err(|e| self.backend(&format!("cannot migrate the schema from version {from}"), &e))?;
        }
        tx.execute(
            &format!(
                "INSERT INTO {quoted}.meta (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            &[&SCHEMA_VERSION.to_string()],
        )
        .await
        .map_err(fail("cannot record the schema version"))?;
        tx.commit().await.map_err(fail("cannot commit the schema migration"))
    }

    /// Prepares every statement, pipelined.
    async fn prepare(&self, client: &Client) -> Result<Statements, StoreError> {
        let sql = &self.inner.sql;
        let (load, lock, revision, update, insert, swap, record, applied) = join!(
            client.prepare(&sql.load),
            client.prepare(&sql.lock),
            client.prepare(&sql.revision),
            client.prepare(&sql.update),
            client.prepare(&sql.insert),
            client.prepare(&sql.swap),
            client.prepare(&sql.record),
            client.prepare(&sql.applied),
        );
        let fail = |e: tokio_postgres::Error| self.backend("cannot prepare statements", &e);
        Ok(Statements {
            load: load.map_err(fail)?,
            lock: lock.map_err(fail)?,
            revision: revision.map_err(fail)?,
            update: update.map_err(fail)?,
            insert: insert.map_err(fail)?,
            swap: swap.map_err(fail)?,
            record: record.map_err(fail)?,
            applied: applied.map_err(fail)?,
        })
    }

    /// The connection, to itself: reopened when closed, rolled back when a cancelled save left it dirty.
    async fn connection(&self) -> Result<MappedMutexGuard<'_, Connection>, StoreError> {
        let mut guard = self.inner.connection.lock().await;
        if let Some(connection) = guard.as_mut() {
            if connection.dirty && !connection.client.is_closed() {
                // Outside a transaction this is only a warning.
                if connection.client.batch_execute("ROLLBACK").await.is_ok() {
                    connection.dirty = false;
                }
            }
            if connection.dirty || connection.client.is_closed() {
                *guard = None;
            }
        }
        if guard.is_none() {
            let client = open_client(&self.inner.config, &self.inner.name).await?;
            let statements = self.prepare(&client).await?;
            *guard = Some(Connection {
                client,
                statements,
                dirty: false,
            });
        }
        MutexGuard::try_map(guard, Option::as_mut).map_err(|_| StoreError::Backend {
            store: self.inner.name.clone(),
            message: "no connection".to_owned(),
        })
    }

    /// Checks a stored row and decodes its state.
    fn decode(&self, scope: &Scope, row: &Row) -> Result<Stored, StoreError> {
        let (revision, body) = self.check(scope, row)?;
        let state = decode_state(body, &self.inner.name, &self.location(scope))?;
        if let Ok(version) = row.try_get::<_, i64>(3) {
            self.remember(scope.key(), revision, version);
        }
        Ok(Stored { state, revision })
    }

    /// The revision of a row about to be overwritten, checked like [`Self::decode`]; the body is parsed unless the
    /// row is the very version this store last parsed or wrote.
    fn revision_to_replace(&self, scope: &Scope, key: &str, row: &Row) -> Result<Revision, StoreError> {
        let (revision, _) = self.check(scope, row)?;
        let this = row.try_get::<_, i64>(3).ok().map(|version| Known { revision, version });
        if this.is_none() || this != self.known(key) {
            self.decode(scope, row)?;
        }
        Ok(revision)
    }

    /// A row's revision and body, after checking its format and revision.
    fn check<'r>(&self, scope: &Scope, row: &'r Row) -> Result<(Revision, &'r str), StoreError> {
        let fail = |e: tokio_postgres::Error| self.backend("cannot read a state row", &e);
        let revision: i64 = row.try_get(0).map_err(fail)?;
        let format: i32 = row.try_get(1).map_err(fail)?;
        let body: &str = row.try_get(2).map_err(fail)?;
        let location = self.location(scope);
        let corrupt = |reason: String| StoreError::Corrupt {
            store: self.inner.name.clone(),
            location: location.clone(),
            reason,
        };
        let Ok(format) = u64::try_from(format) else {
            return Err(corrupt(format!("format {format} is not a zelavis document format")));
        };
        if format > FORMAT_VERSION {
            return Err(StoreError::NewerFormat {
                store: self.inner.name.clone(),
                location,
                found: format,
                supported: FORMAT_VERSION,
            });
        }
        if format == 0 {
            return Err(corrupt("format 0 is not a zelavis document format".to_owned()));
        }
        match u64::try_from(revision) {
            Ok(revision) if revision > 0 => Ok((Revision(revision), body)),
            _ => Err(corrupt(format!("revision {revision} is not positive"))),
        }
    }

    /// The row of `key` this store last parsed or wrote.
    fn known(&self, key: &str) -> Option<Known> {
        self.known_rows().get(key).copied()
    }

    /// Records that the row of `key` at `revision` and `version` is valid: parsed, or written by this store.
    fn remember(&self, key: String, revision: Revision, version: i64) {
        self.known_rows().insert(key, Known { revision, version });
    }

    /// The known rows. A poisoned lock is taken over: each update is one whole insert.
    fn known_rows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.inner
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The revision of `scope` now, outside any transaction (for a conflict's message).
    async fn current_revision(&self, connection: &Connection, key: &str) -> Result<Revision, StoreError> {
        let row = connection
            .client
            .query_opt(&connection.statements.revision, &[&key])
            .await
            .map_err(|e| self.backend("cannot read the current revision", &e))?;
        let revision: i64 = match row {
            None => return Ok(Revision::NONE),
            Some(row) => row
                .try_get(0)
                .map_err(|e| self.backend("cannot read the current revision", &e))?,
        };
        Ok(Revision(u64::try_from(revision).unwrap_or(0)))
    }

    /// The save's fast path, when this store knows the row it replaces (`known`, at the save's expected revision):
    /// one autocommitted statement that writes only if the row is still that very version. The new row's version
    /// if it wrote; `None` if the row changed since, and the full [`Self::compare_and_swap`] must say why.
    async fn swap(&self, connection: &Connection, write: &Write<'_>, known: Known) -> Result<Option<i64>, StoreError> {
        let expected = to_i64(known.revision, &self.inner.name)?;
        let [key, revision, format, body, channel, hint] = self.write_params(write);
        let params = [key, revision, format, body, channel, hint, &expected, &known.version];
        let rows = connection
            .client
            .query(&connection.statements.swap, &params)
            .await
            .map_err(|e| self.backend(&format!("cannot write scope {}", write.scope), &e))?;
        self.written_version(&rows)
    }

    /// The parameters `$1`..`$6` of the write statements: scope, revision, format, body, channel, hint.
    fn write_params<'a>(&'a self, write: &'a Write<'_>) -> [&'a (dyn ToSql + Sync); 6] {
        [
            &write.key,
            &write.revision,
            &FORMAT_COLUMN,
            &write.body,
            &self.inner.channel,
            &write.hint,
        ]
    }

    /// The version of the row a write statement wrote, from its answer; `None` when it wrote nothing.
    fn written_version(&self, rows: &[Row]) -> Result<Option<i64>, StoreError> {
        rows.first()
            .map(|row| row.try_get::<_, i64>(1))
            .transpose()
            .map_err(|e| self.backend("cannot read the version of the written row", &e))
    }

    /// The save's transaction: the new row's version if the write happened (`None`: another host inserted the
    /// scope first), and whether the transaction is closed (committed or rolled back) for sure.
    async fn compare_and_swap(
        &self,
        connection: &Connection,
        write: &Write<'_>,
    ) -> (Result<Option<i64>, StoreError>, bool) {
        let client = &connection.client;
        let mut open = OpenTransaction { client, open: true };
        // BEGIN and the locking read, pipelined.
        let key: [&(dyn ToSql + Sync); 1] = [&write.key];
        let (begin, current) = join!(
            client.batch_execute("BEGIN"),
            client.query_opt(&connection.statements.lock, &key),
        );
        let checked = match (begin, current) {
            (Err(e), _) | (_, Err(e)) => Err(self.backend(&format!("cannot read scope {}", write.scope), &e)),
            (Ok(()), Ok(None)) => Ok(None),
            (Ok(()), Ok(Some(row))) => self.revision_to_replace(write.scope, write.key, &row).map(Some),
        };
        let refusal = match checked {
            Err(error) => error,
            Ok(existing) if existing.unwrap_or(Revision::NONE) != write.expected => StoreError::Conflict {
                store: self.inner.name.clone(),
                scope: write.key.to_owned(),
                expected: write.expected,
                actual: existing.unwrap_or(Revision::NONE),
            },
            Ok(existing) => {
                let statement = if existing.is_some() {
                    &connection.statements.update
                } else {
                    &connection.statements.insert
                };
                // The write (with its NOTIFY) and COMMIT, pipelined. If the write fails, COMMIT rolls back.
                let params = self.write_params(write);
                let (written, commit) = join!(client.query(statement, &params), client.batch_execute("COMMIT"),);
                open.open = false;
                let closed = commit.is_ok();
                let outcome = match (written, commit) {
                    (Err(e), _) => Err(self.backend(&format!("cannot write scope {}", write.scope), &e)),
                    (Ok(_), Err(e)) => Err(self.backend(&format!("cannot commit scope {}", write.scope), &e)),
                    (Ok(rows), Ok(())) => self.written_version(&rows),
                };
                return (outcome, closed);
            }
        };
        open.open = false;
        let closed = client.batch_execute("ROLLBACK").await.is_ok();
        (Err(refusal), closed)
    }
}

/// What a save writes.
struct Write<'a> {
    scope: &'a Scope,
    key: &'a str,
    expected: Revision,
    revision: i64,
    body: &'a str,
    hint: &'a str,
}

/// Sends `ROLLBACK` if dropped while a transaction is open (a cancelled save), so its row lock is released
/// at once rather than at the connection's next use. The request is queued on the connection by the first poll.
struct OpenTransaction<'a> {
    client: &'a Client,
    open: bool,
}

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.client.batch_execute("ROLLBACK").now_or_never();
        }
    }
}

#[async_trait]
impl RegistryStore for PostgresStore {
    fn describe(&self) -> String {
        self.inner.name.clone()
    }

    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        let connection = self.connection().await?;
        let row = connection
            .client
            .query_opt(&connection.statements.load, &[&scope.key()])
            .await
            .map_err(|e| self.backend(&format!("cannot load scope {scope}"), &e))?;
        match row {
            None => Ok(Stored::default()),
            Some(row) => self.decode(scope, &row),
        }
    }

    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        let key = scope.key();
        let revision = expected.next();
        let body = serde_json::to_string(state).map_err(|e| StoreError::Backend {
            store: self.inner.name.clone(),
            message: format!("cannot encode the state: {e}"),
        })?;
        let hint = serde_json::to_string(&Hint {
            scope: key.clone(),
            revision: revision.0,
        })
        .map_err(|e| StoreError::Backend {
            store: self.inner.name.clone(),
            message: format!("cannot encode the change hint: {e}"),
        })?;
        let write = Write {
            scope,
            key: &key,
            expected,
            revision: to_i64(revision, &self.inner.name)?,
            body: &body,
            hint: &hint,
        };
        let known = self.known(&key).filter(|known| known.revision == expected);
        let mut connection = self.connection().await?;
        if let Some(known) = known
            && let Some(version) = self.swap(&connection, &write, known).await?
        {
            self.remember(key, revision, version);
            return Ok(revision);
        }
        // Stays set if this future is dropped mid-transaction: the next call rolls back first.
        connection.dirty = true;
        let (outcome, closed) = self.compare_and_swap(&connection, &write).await;
        connection.dirty = !closed;
        match outcome {
            Ok(Some(version)) => {
                self.remember(key, revision, version);
                Ok(revision)
            }
            Ok(None) => {
                // Another host inserted this new scope first (ON CONFLICT DO NOTHING wrote nothing).
                let actual = self.current_revision(&connection, &key).await?;
                Err(StoreError::Conflict {
                    store: self.inner.name.clone(),
                    scope: key,
                    expected,
                    actual,
                })
            }
            Err(error) => Err(error),
        }
    }

    async fn watch(&self) -> Result<Option<BoxStream<'static, Change>>, StoreError> {
        let (client, mut connection) = self
            .inner
            .config
            .connect(NoTls)
            .await
            .map_err(|e| self.backend("cannot open the watch connection", &e))?;
        let (sender, receiver) = mpsc::unbounded();
        let channel = self.inner.channel.clone();
        let name = self.inner.name.clone();
        tokio::spawn(async move {
            let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(note)) if note.channel() == channel => {
                        let Some(change) = parse_hint(note.payload()) else {
                            tracing::debug!(store = %name, payload = note.payload(), "ignored a malformed hint");
                            continue;
                        };
                        if sender.unbounded_send(change).is_err() {
                            break; // The stream was dropped.
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(store = %name, error = %describe_error(&error), "watch connection ended");
                        break;
                    }
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN \"{}\"", self.inner.channel))
            .await
            .map_err(|e| self.backend("cannot listen for changes", &e))?;
        Ok(Some(
            Changes {
                receiver,
                _client: client,
            }
            .boxed(),
        ))
    }
}

#[async_trait]
impl MigrationLedger for PostgresStore {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let connection = self.connection().await?;
        let row = connection
            .client
            .query_one(&connection.statements.applied, &[&scope.key(), &plugin.as_str(), &id])
            .await
            .map_err(|e| self.backend("cannot read the migration ledger", &e))?;
        row.try_get(0)
            .map_err(|e| self.backend("cannot read the migration ledger", &e))
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let connection = self.connection().await?;
        let inserted = connection
            .client
            .execute(&connection.statements.record, &[&scope.key(), &plugin.as_str(), &id])
            .await
            .map_err(|e| self.backend("cannot record a migration", &e))?;
        Ok(inserted == 1)
    }
}

fn parse_hint(payload: &str) -> Option<Change> {
    let hint: Hint = serde_json::from_str(payload).ok()?;
    Some(Change {
        scope: hint.scope.parse().ok()?,
        revision: Revision(hint.revision),
    })
}

/// The watch stream: the hints, and the listening client that keeps the connection open until it is dropped.
struct Changes {
    receiver: mpsc::UnboundedReceiver<Change>,
    _client: Client,
}

impl Stream for Changes {
    type Item = Change;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        self.receiver.poll_next_unpin(cx)
    }
}
