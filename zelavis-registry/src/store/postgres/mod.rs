//! [`PostgresStore`]: registry state in PostgreSQL (feature `postgres`), over a pool of connections, with
//! compare-and-swap saves, updates applied under a row lock, and change hints over `LISTEN`/`NOTIFY`.
//!
//! **This backend needs a tokio runtime**: it is built on `tokio-postgres` and `deadpool-postgres`, whose
//! connections are driven by tokio tasks. Connecting outside a tokio runtime returns a [`StoreError::Backend`]
//! instead of panicking.
//!
//! # Layout
//!
//! Everything lives in one schema (`zelavis` by default; [`PostgresStoreBuilder::schema`] picks another, so
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
//! # Writers
//!
//! A store holds a pool of connections (16 by default, [`PostgresStoreBuilder::pool_size`]), so concurrent
//! callers do not queue behind one connection. [`RegistryStore::update`] — what a runtime and
//! [`update_state`](crate::store::update_state) use — runs one transaction that locks the scope's row
//! (`SELECT … FOR UPDATE`), applies the change and writes it: PostgreSQL queues concurrent writers on the row
//! lock, first come first served, so an update never conflicts however many hosts write at once.
//!
//! [`RegistryStore::save`] is the compare-and-swap: a transaction that locks the row, refuses a newer-format or
//! unreadable row (never overwriting it) and a revision other than the expected one
//! ([`StoreError::Conflict`] naming both), then writes. **Fast path:** the store remembers, per scope, the
//! revision and row version (PostgreSQL's `xmin`, which every update of the row changes, whoever makes it) of
//! the row it last parsed or wrote; a save based on that revision first sends one autocommitted
//! `UPDATE … WHERE revision = $expected AND xmin = $version`, one round trip and no parse. (`xmin` is a 32-bit
//! transaction id: a false match would need the row rewritten behind the store's back, at the same revision,
//! exactly 2³² transactions later, while the store still remembers the old version.)
//!
//! Revisions are `BIGINT`: a scope at `i64::MAX` is refused with [`StoreError::RevisionLimit`].
//!
//! # Watch
//!
//! After a successful write the store notifies channel `<schema>_changes` with `{"scope": "...", "revision":
//! n}` — never the data: `NOTIFY` payloads are capped at 8000 bytes and delivered only on commit.
//! [`RegistryStore::watch`] opens a separate connection that `LISTEN`s on that channel. Notifications are
//! **hints**: delivered at most once, never replayed, lost while no listener is connected. The stream ends when
//! its connection does; watch again and re-read every scope you care about, and re-read whenever a hint names a
//! newer revision than the one you hold.
//!
//! # Other stores on PostgreSQL
//!
//! [`parse_config`], [`build_pool`], [`is_lower_identifier`], [`server_of`] and [`describe_error`] connect and
//! name a server as this store does, for stores that keep their own tables next to it (the operator layer's).

mod schema;
mod watch;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use futures::stream::BoxStream;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, NoTls, Row};
use zelavis_core::name::Name;

pub use schema::SCHEMA_VERSION;

use super::document::{check_format, decode_state};
use super::{Change, FORMAT_VERSION, RegistryStore, Retry, Revision, Scope, StateChange, StoreError, Stored};
use crate::hash::HashMap;
use crate::ledger::MigrationLedger;
use crate::state::RegistryState;

/// The schema [`PostgresStore::connect`] uses.
pub const DEFAULT_SCHEMA: &str = "zelavis";

/// How many connections a store keeps at most, unless [`PostgresStoreBuilder::pool_size`] says otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long to wait for a connection when the configuration does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Registry state in PostgreSQL. Clones share one pool.
///
/// ```no_run
/// use zelavis_registry::state::RegistryState;
/// use zelavis_registry::store::postgres::PostgresStore;
/// use zelavis_registry::store::{RegistryStore, Scope, StoreError, update_state};
///
/// # async fn demo() -> Result<(), StoreError> {
/// // Inside a tokio runtime.
/// let store = PostgresStore::builder("host=127.0.0.1 user=postgres dbname=test").pool_size(8).connect().await?;
/// let current = store.load(&Scope::Default).await?;
/// let next = store.save(&Scope::Default, &RegistryState::default(), current.revision).await?;
/// // A save based on a stale revision is refused, naming both revisions.
/// let stale = store.save(&Scope::Default, &RegistryState::default(), current.revision).await;
/// assert!(stale.unwrap_err().is_conflict());
/// // An update is applied under the row lock: it never conflicts.
/// update_state(&store, &Scope::Default, |state| state.records.clear()).await?;
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
    pool: Pool,
    /// The unquoted schema name.
    schema: String,
    /// `postgres host:port/db schema s`, for messages.
    name: String,
    /// The notification channel, `<schema>_changes`.
    channel: String,
    sql: Sql,
    /// Per scope key, the revision and row version (`xmin`) of the row this store last parsed or wrote.
    known: std::sync::Mutex<HashMap<String, Known>>,
}

/// Configures a [`PostgresStore`] before it connects.
#[derive(Debug, Clone)]
#[must_use]
pub struct PostgresStoreBuilder {
    config: String,
    schema: String,
    pool_size: usize,
}

impl PostgresStoreBuilder {
    /// The schema: a lower-case SQL identifier (`[a-z_][a-z0-9_]*`, at most 55 bytes; default
    /// [`DEFAULT_SCHEMA`]). Stores in different schemas never see each other's state, ledger or change hints.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How many connections to keep at most (default [`DEFAULT_POOL_SIZE`]; at least 1).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Connects, and creates or migrates the schema. Needs a tokio runtime.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        let parsed = parse_config(&self.config).map_err(|e| StoreError::Backend {
            store: "postgres".to_owned(),
            message: format!("invalid connection configuration: {}", describe_error(&e)),
        })?;
        let schema = self.schema;
        if !is_lower_identifier(&schema, MAX_SCHEMA_LEN) {
            return Err(StoreError::Backend {
                store: format!("postgres {}", server_of(&parsed)),
                message: format!(
                    "schema {} is not a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 55 bytes)",
                    zelavis_core::quote::quote(&schema)
                ),
            });
        }
        let name = format!("postgres {} schema {schema}", server_of(&parsed));
        let backend = |message: String| StoreError::Backend {
            store: name.clone(),
            message,
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(backend(
                "the postgres store needs a tokio runtime (tokio-postgres drives its connections on tokio tasks)"
                    .to_owned(),
            ));
        }
        let pool = build_pool(parsed.clone(), self.pool_size)
            .map_err(|e| backend(format!("cannot build the connection pool: {e}")))?;
        let store = PostgresStore {
            inner: Arc::new(Inner {
                config: parsed,
                pool,
                channel: format!("{schema}_changes"),
                sql: Sql::new(&format!("\"{schema}\"")),
                schema,
                name,
                known: std::sync::Mutex::default(),
            }),
        };
        let mut client = store.client().await?;
        schema::migrate(&mut client, &store.inner.schema, &store.inner.name).await?;
        Ok(store)
    }
}

/// The statements' text, with the schema filled in. Each pooled connection prepares them once (deadpool's
/// statement cache).
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

/// [`FORMAT_VERSION`] as the `format` column's type.
#[expect(clippy::cast_possible_truncation, reason = "the format version is a small constant")]
const FORMAT_COLUMN: i32 = FORMAT_VERSION as i32;

/// The largest revision a `BIGINT` column holds.
const MAX_REVISION: u64 = i64::MAX.unsigned_abs();

/// A row this store parsed or wrote: its revision and its row version, PostgreSQL's `xmin`, which every update
/// of the row changes, whoever makes it. A save that finds that very version knows the row is valid without
/// parsing it, and can swap it in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known {
    revision: Revision,
    version: i64,
}

/// What a write puts in the row and in the hint.
struct Write<'a> {
    key: &'a str,
    revision: i64,
    body: String,
    hint: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("store", &self.inner.name)
            .field("channel", &self.inner.channel)
            .finish_non_exhaustive()
    }
}

/// The longest schema name: it leaves room for the `_changes` channel suffix in PostgreSQL's 63 bytes.
const MAX_SCHEMA_LEN: usize = 55;

/// Reads a connection configuration (a URL or `key=value` string, as `tokio-postgres` reads them), with a
/// connect timeout of 10 seconds when it sets none.
pub fn parse_config(config: &str) -> Result<Config, tokio_postgres::Error> {
    let mut parsed = Config::from_str(config)?;
    if parsed.get_connect_timeout().is_none() {
        parsed.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok(parsed)
}

/// A pool of at most `max_size` connections to `config`, without TLS, on tokio; a connection handed out again
/// is only checked for being closed (deadpool's fast recycling). Building connects nothing.
pub fn build_pool(config: Config, max_size: usize) -> Result<Pool, deadpool_postgres::BuildError> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
}

/// Whether `name` is a plain lower-case SQL identifier (`[a-z_][a-z0-9_]*`) of at most `max_len` bytes: one
/// that needs no escaping in quotes and that PostgreSQL keeps as it is written.
pub fn is_lower_identifier(name: &str, max_len: usize) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= max_len
}

/// `host:port/db` of a configuration, without credentials.
pub fn server_of(config: &Config) -> String {
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
pub fn describe_error(error: &tokio_postgres::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

impl PostgresStore {
    /// Connects with the default schema and pool size; see [`PostgresStore::builder`]. Needs a tokio runtime.
    pub async fn connect(config: &str) -> Result<Self, StoreError> {
        Self::builder(config).connect().await
    }

    /// Like [`PostgresStore::connect`], in `schema` (see [`PostgresStoreBuilder::schema`]).
    pub async fn connect_in_schema(config: &str, schema: &str) -> Result<Self, StoreError> {
        Self::builder(config).schema(schema).connect().await
    }

    /// A store over `config` (a URL or `key=value` string, as `tokio-postgres` reads them), to configure then
    /// [connect](PostgresStoreBuilder::connect).
    pub fn builder(config: &str) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            config: config.to_owned(),
            schema: DEFAULT_SCHEMA.to_owned(),
            pool_size: DEFAULT_POOL_SIZE,
        }
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

    /// A pooled connection.
    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.inner.pool.get().await.map_err(|e| StoreError::Backend {
            store: self.inner.name.clone(),
            message: format!("cannot get a connection: {e}"),
        })
    }

    /// The statement `sql`, prepared once per connection.
    async fn statement<C: GenericClient + Sync>(
        &self,
        client: &C,
        sql: &str,
    ) -> Result<tokio_postgres::Statement, StoreError> {
        client
            .prepare_cached(sql)
            .await
            .map_err(|e| self.backend("cannot prepare a statement", &e))
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

    /// The revision of a row about to be overwritten, checked like [`Self::decode`]; the body is parsed unless
    /// the row is the very version this store last parsed or wrote.
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
        check_format(format, &self.inner.name, &location)?;
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

    /// What writing `state` to `scope` as `revision` puts in the row and the hint.
    fn write<'k>(
        &self,
        scope: &Scope,
        key: &'k str,
        state: &RegistryState,
        revision: Revision,
    ) -> Result<Write<'k>, StoreError> {
        let encode = |what: &str, e: &serde_json::Error| StoreError::Backend {
            store: self.inner.name.clone(),
            message: format!("cannot encode {what}: {e}"),
        };
        let body = serde_json::to_string(state).map_err(|e| encode("the state", &e))?;
        let hint = serde_json::to_string(&watch::Hint {
            scope: scope.key(),
            revision: revision.0,
        })
        .map_err(|e| encode("the change hint", &e))?;
        Ok(Write {
            key,
            revision: i64::try_from(revision.0).map_err(|_| StoreError::RevisionLimit {
                store: self.inner.name.clone(),
                scope: scope.key(),
                revision,
            })?,
            body,
            hint,
        })
    }

    /// Sends `statement` (update, insert or swap) with the write's parameters and `extra`; the version of the
    /// row written, or `None` when it wrote nothing.
    async fn send<C: GenericClient + Sync>(
        &self,
        client: &C,
        sql: &str,
        write: &Write<'_>,
        extra: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<i64>, StoreError> {
        let statement = self.statement(client, sql).await?;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &write.key,
            &write.revision,
            &FORMAT_COLUMN,
            &write.body,
            &self.inner.channel,
            &write.hint,
        ];
        params.extend_from_slice(extra);
        let rows = client
            .query(&statement, &params)
            .await
            .map_err(|e| self.backend(&format!("cannot write scope {}", write.key), &e))?;
        rows.first()
            .map(|row| row.try_get::<_, i64>(1))
            .transpose()
            .map_err(|e| self.backend("cannot read the version of the written row", &e))
    }

    /// The revision of `key` now, outside any transaction (for a conflict's message).
    async fn current_revision(&self, client: &deadpool_postgres::Client, key: &str) -> Result<Revision, StoreError> {
        let statement = self.statement(client, &self.inner.sql.revision).await?;
        let row = client
            .query_opt(&statement, &[&key])
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

    /// One attempt of an update: lock the row (or find none), apply `change`, write, commit. `Ok(None)` when
    /// another writer created the scope's row in between (the attempt wrote nothing; try again).
    async fn try_update(&self, scope: &Scope, change: &StateChange<'_>) -> Result<Option<Stored>, StoreError> {
        let key = scope.key();
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| self.backend(&format!("cannot begin an update of scope {scope}"), &e))?;
        let lock = self.statement(&tx, &self.inner.sql.lock).await?;
        let row = tx
            .query_opt(&lock, &[&key])
            .await
            .map_err(|e| self.backend(&format!("cannot lock scope {scope}"), &e))?;
        let (mut state, current) = match &row {
            None => (RegistryState::default(), Revision::NONE),
            Some(row) => {
                let stored = self.decode(scope, row)?;
                (stored.state, stored.revision)
            }
        };
        change(&mut state);
        let revision = current.after(MAX_REVISION, &self.inner.name, scope)?;
        let write = self.write(scope, &key, &state, revision)?;
        let sql = if row.is_some() {
            &self.inner.sql.update
        } else {
            &self.inner.sql.insert
        };
        let Some(version) = self.send(&tx, sql, &write, &[]).await? else {
            // The row did not exist and another writer inserted it first; dropping the transaction rolls back.
            return Ok(None);
        };
        tx.commit()
            .await
            .map_err(|e| self.backend(&format!("cannot commit scope {scope}"), &e))?;
        self.remember(key, revision, version);
        Ok(Some(Stored { state, revision }))
    }
}

#[async_trait]
impl RegistryStore for PostgresStore {
    fn describe(&self) -> String {
        self.inner.name.clone()
    }

    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        let client = self.client().await?;
        let statement = self.statement(&client, &self.inner.sql.load).await?;
        let row = client
            .query_opt(&statement, &[&scope.key()])
            .await
            .map_err(|e| self.backend(&format!("cannot load scope {scope}"), &e))?;
        match row {
            None => Ok(Stored::default()),
            Some(row) => self.decode(scope, &row),
        }
    }

    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        let key = scope.key();
        let revision = expected.after(MAX_REVISION, &self.inner.name, scope)?;
        let write = self.write(scope, &key, state, revision)?;
        let mut client = self.client().await?;
        // The fast path: the row is still the very version this store knows at the expected revision.
        if let Some(known) = self.known(&key).filter(|known| known.revision == expected) {
            let expected_column = i64::try_from(known.revision.0).unwrap_or(i64::MAX);
            let swapped = self
                .send(
                    &client,
                    &self.inner.sql.swap,
                    &write,
                    &[&expected_column, &known.version],
                )
                .await?;
            if let Some(version) = swapped {
                self.remember(key, revision, version);
                return Ok(revision);
            }
        }
        let tx = client
            .transaction()
            .await
            .map_err(|e| self.backend(&format!("cannot begin a save of scope {scope}"), &e))?;
        let lock = self.statement(&tx, &self.inner.sql.lock).await?;
        let row = tx
            .query_opt(&lock, &[&key])
            .await
            .map_err(|e| self.backend(&format!("cannot read scope {scope}"), &e))?;
        let actual = match &row {
            None => Revision::NONE,
            // A newer-format or unreadable row is never overwritten, whatever revision the save names.
            Some(row) => self.revision_to_replace(scope, &key, row)?,
        };
        if actual != expected {
            return Err(StoreError::Conflict {
                store: self.inner.name.clone(),
                scope: key,
                expected,
                actual,
            });
        }
        let sql = if row.is_some() {
            &self.inner.sql.update
        } else {
            &self.inner.sql.insert
        };
        let written = self.send(&tx, sql, &write, &[]).await?;
        let Some(version) = written else {
            // Another host inserted this new scope first (ON CONFLICT DO NOTHING wrote nothing).
            drop(tx);
            let actual = self.current_revision(&client, &key).await?;
            return Err(StoreError::Conflict {
                store: self.inner.name.clone(),
                scope: key,
                expected,
                actual,
            });
        };
        tx.commit()
            .await
            .map_err(|e| self.backend(&format!("cannot commit scope {scope}"), &e))?;
        self.remember(key, revision, version);
        Ok(revision)
    }

    /// One transaction under the scope's row lock: concurrent updates queue on the lock and never conflict. Only
    /// the very first writes of a new scope can race to create its row; the loser tries again under `retry`.
    async fn update(&self, scope: &Scope, change: &StateChange<'_>, retry: &Retry) -> Result<Stored, StoreError> {
        retry
            .run(|| async {
                self.try_update(scope, change)
                    .await?
                    .ok_or_else(|| StoreError::Conflict {
                        store: self.inner.name.clone(),
                        scope: scope.key(),
                        expected: Revision::NONE,
                        actual: Revision::NONE,
                    })
            })
            .await
    }

    async fn watch(&self) -> Result<Option<BoxStream<'static, Change>>, StoreError> {
        watch::watch(&self.inner.config, &self.inner.channel, &self.inner.name)
            .await
            .map(Some)
    }
}

#[async_trait]
impl MigrationLedger for PostgresStore {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = self.statement(&client, &self.inner.sql.applied).await?;
        let row = client
            .query_one(&statement, &[&scope.key(), &plugin.as_str(), &id])
            .await
            .map_err(|e| self.backend("cannot read the migration ledger", &e))?;
        row.try_get(0)
            .map_err(|e| self.backend("cannot read the migration ledger", &e))
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = self.statement(&client, &self.inner.sql.record).await?;
        let inserted = client
            .execute(&statement, &[&scope.key(), &plugin.as_str(), &id])
            .await
            .map_err(|e| self.backend("cannot record a migration", &e))?;
        Ok(inserted == 1)
    }
}
