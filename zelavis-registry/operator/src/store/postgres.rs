//! [`PostgresOperatorStore`]: operator data in PostgreSQL (feature `postgres`), for many hosts sharing one
//! operator layer, over a pool of connections.
//!
//! **This backend needs a tokio runtime**: `tokio-postgres` and `deadpool-postgres` drive their connections on
//! tokio tasks.
//!
//! # Layout
//!
//! Everything lives in one schema ([`DEFAULT_SCHEMA`], or the one given to
//! [`connect_with`](PostgresOperatorStore::connect_with), so parallel tests or several platforms share a
//! database), next to the registry's tables; the store creates it on connect:
//!
//! - `operator_meta(key, value)` holds `schema_version` ([`SCHEMA_VERSION`]); a newer one is refused;
//! - `operator_rows(kind, key, tenant, plugin, flag BOOLEAN, revision BIGINT, body, PRIMARY KEY (kind, key))`,
//!   indexed on `(kind, tenant)` and `(kind, plugin, flag)`. Text columns use the `"C"` collation, so rows come
//!   back in byte order of their keys, as from every other backend;
//! - `operator_audit(seq BIGINT PRIMARY KEY, prev_hash, hash, body)`, with triggers that refuse every `UPDATE`,
//!   `DELETE` and `TRUNCATE`. A superuser can disable them; the hash chain is what detects that
//!   ([`verify`](crate::audit::verify)).
//!
//! # Writers
//!
//! Each [`commit`](OperatorStore::commit) is one transaction that first takes
//! `pg_advisory_xact_lock(ADVISORY_LOCK_CLASS, hashtext(schema))`: operator writes in one schema are
//! serialised across every host (they are rare, and it makes reading the audit head and appending to it safe),
//! then the expectations are checked, the rows written and the audit entries sealed from the head — a round
//! trip each, whatever the batch's size. A failed expectation is [`OperatorStoreError::Conflict`], any SQL
//! failure [`OperatorStoreError::Backend`]; either way the transaction rolls back and nothing applies.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::types::ToSql;
use zelavis_registry::store::postgres::{build_pool, describe_error, is_lower_identifier, parse_config, server_of};

use super::memory::{check_expected, next_revision, refuse_duplicates};
use super::{Batch, Committed, Expected, Kind, OperatorStore, OperatorStoreError, Query, Row, RowRevision};
use crate::audit::{AuditEvent, GENESIS_HASH};

/// The schema [`PostgresOperatorStore::connect`] uses (the registry's default schema too).
pub const DEFAULT_SCHEMA: &str = "zelavis";

/// The version of the table layout this build creates, and the newest it opens.
pub const SCHEMA_VERSION: u64 = 1;

/// The first key of the advisory lock that serialises operator writes (and the schema's creation) in one
/// schema; the second is `hashtext(schema)`. Two-key advisory locks never collide with one-key ones.
pub const ADVISORY_LOCK_CLASS: i32 = 0x7a6f_7072; // "zopr"

/// How many connections a store keeps at most.
pub const POOL_SIZE: usize = 8;

/// The largest revision a `BIGINT` column holds.
const LAST_REVISION: RowRevision = i64::MAX.unsigned_abs();

/// `MIGRATIONS[v]` takes a schema from layout version `v` to `v + 1`; `{s}` is the quoted schema.
const MIGRATIONS: &[&str] = &[r#"CREATE TABLE {s}.operator_rows (
        kind TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        tenant TEXT COLLATE "C",
        plugin TEXT COLLATE "C",
        flag BOOLEAN NOT NULL,
        revision BIGINT NOT NULL CHECK (revision > 0),
        body TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE INDEX operator_rows_tenant ON {s}.operator_rows (kind, tenant);
    CREATE INDEX operator_rows_plugin ON {s}.operator_rows (kind, plugin, flag);
    CREATE TABLE {s}.operator_audit (
        seq BIGINT PRIMARY KEY CHECK (seq > 0),
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE FUNCTION {s}.operator_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'operator_audit is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER operator_audit_append_only BEFORE UPDATE OR DELETE ON {s}.operator_audit
        FOR EACH ROW EXECUTE FUNCTION {s}.operator_audit_refuse();
    CREATE TRIGGER operator_audit_no_truncate BEFORE TRUNCATE ON {s}.operator_audit
        FOR EACH STATEMENT EXECUTE FUNCTION {s}.operator_audit_refuse();"#];

const _: () = assert!(
    MIGRATIONS.len() as u64 == SCHEMA_VERSION,
    "one migration per layout version"
);

/// Operator data in PostgreSQL. Clones share one pool.
///
/// ```no_run
/// use zelavis_operator::store::postgres::PostgresOperatorStore;
/// use zelavis_operator::store::{Batch, Expected, Kind, OperatorStore, OperatorStoreError, Write};
///
/// # async fn demo() -> Result<(), OperatorStoreError> {
/// // Inside a tokio runtime.
/// let store = PostgresOperatorStore::connect("host=127.0.0.1 user=postgres dbname=test").await?;
/// let tenant = Write {
///     kind: Kind::Tenant,
///     key: "acme".into(),
///     tenant: Some("acme".into()),
///     plugin: None,
///     flag: false,
///     body: "{}".into(),
///     expected: Expected::Absent,
/// };
/// store.commit(Batch::new().write(tenant)).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresOperatorStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// The unquoted schema name.
    schema: String,
    /// `postgres:host:port/db (schema s)`, for messages.
    name: String,
    sql: Sql,
}

impl fmt::Debug for PostgresOperatorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresOperatorStore")
            .field("store", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// The statements' text, with the schema filled in; each pooled connection prepares them once.
struct Sql {
    lock: String,
    get: String,
    all: String,
    tenant: String,
    plugin: String,
    plugin_flagged: String,
    count_all: String,
    count_tenant: String,
    count_plugin: String,
    count_plugin_flagged: String,
    revisions: String,
    keys_all: String,
    keys_tenant: String,
    keys_plugin: String,
    keys_plugin_flagged: String,
    upsert: String,
    head: String,
    append: String,
    audit: String,
}

impl Sql {
    fn new(quoted: &str) -> Self {
        let s = |text: &str| text.replace("{s}", quoted);
        let rows = |filter: &str| {
            s(&format!(
                "SELECT kind, key, tenant, plugin, flag, revision, body FROM {{s}}.operator_rows WHERE {filter} \
                 ORDER BY key"
            ))
        };
        let count = |filter: &str| s(&format!("SELECT count(*) FROM {{s}}.operator_rows WHERE {filter}"));
        let keys = |filter: &str| {
            s(&format!(
                "SELECT key, revision FROM {{s}}.operator_rows WHERE {filter} ORDER BY key"
            ))
        };
        Sql {
            lock: "SELECT pg_advisory_xact_lock($1, hashtext($2))".to_owned(),
            get: s(
                "SELECT kind, key, tenant, plugin, flag, revision, body FROM {s}.operator_rows
                    WHERE kind = $1 AND key = $2",
            ),
            all: rows("kind = $1"),
            tenant: rows("kind = $1 AND tenant = $2"),
            plugin: rows("kind = $1 AND plugin = $2"),
            plugin_flagged: rows("kind = $1 AND plugin = $2 AND flag"),
            count_all: count("kind = $1"),
            count_tenant: count("kind = $1 AND tenant = $2"),
            count_plugin: count("kind = $1 AND plugin = $2"),
            count_plugin_flagged: count("kind = $1 AND plugin = $2 AND flag"),
            keys_all: keys("kind = $1"),
            keys_tenant: keys("kind = $1 AND tenant = $2"),
            keys_plugin: keys("kind = $1 AND plugin = $2"),
            keys_plugin_flagged: keys("kind = $1 AND plugin = $2 AND flag"),
            revisions: s("SELECT kind, key, revision FROM {s}.operator_rows
                    WHERE (kind, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))"),
            upsert: s(
                "INSERT INTO {s}.operator_rows (kind, key, tenant, plugin, flag, revision, body)
                    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::bigint[],
                        $7::text[])
                    ON CONFLICT (kind, key) DO UPDATE SET tenant = EXCLUDED.tenant, plugin = EXCLUDED.plugin,
                        flag = EXCLUDED.flag, revision = EXCLUDED.revision, body = EXCLUDED.body",
            ),
            head: s("SELECT seq, hash FROM {s}.operator_audit ORDER BY seq DESC LIMIT 1"),
            append: s("INSERT INTO {s}.operator_audit (seq, prev_hash, hash, body)
                    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])"),
            audit: s(
                "SELECT seq, prev_hash, hash, body FROM {s}.operator_audit WHERE seq > $1
                    ORDER BY seq LIMIT $2",
            ),
        }
    }

    /// The statements a query runs: its rows, and its count.
    fn of(&self, query: &Query) -> (&str, &str) {
        match query {
            Query::All(_) => (&self.all, &self.count_all),
            Query::Tenant { .. } => (&self.tenant, &self.count_tenant),
            Query::Plugin { flagged: false, .. } => (&self.plugin, &self.count_plugin),
            Query::Plugin { flagged: true, .. } => (&self.plugin_flagged, &self.count_plugin_flagged),
        }
    }

    /// The statement selecting a query's keys and revisions.
    fn keys_of(&self, query: &Query) -> &str {
        match query {
            Query::All(_) => &self.keys_all,
            Query::Tenant { .. } => &self.keys_tenant,
            Query::Plugin { flagged: false, .. } => &self.keys_plugin,
            Query::Plugin { flagged: true, .. } => &self.keys_plugin_flagged,
        }
    }
}

/// A query's parameters.
fn parameters(query: &Query) -> Vec<&str> {
    match query {
        Query::All(kind) => vec![kind.as_str()],
        Query::Tenant { kind, tenant } => vec![kind.as_str(), tenant.as_str()],
        Query::Plugin { kind, plugin, .. } => vec![kind.as_str(), plugin.as_str()],
    }
}

/// Parameters as `tokio-postgres` takes them.
fn as_sql<'a>(values: &'a [&'a str]) -> Vec<&'a (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// The longest schema name PostgreSQL keeps whole.
const MAX_SCHEMA_LEN: usize = 63;

impl PostgresOperatorStore {
    /// Connects to `url` (a URL or `key=value` string, as `tokio-postgres` reads them) in [`DEFAULT_SCHEMA`],
    /// creating the tables when needed. Needs a tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, OperatorStoreError> {
        Self::connect_with(url, DEFAULT_SCHEMA).await
    }

    /// Like [`connect`](Self::connect), in `schema`: a lower-case SQL identifier (`[a-z_][a-z0-9_]*`, at most
    /// 63 bytes). Stores in different schemas never see each other's rows or audit log (tests use one schema
    /// each).
    pub async fn connect_with(url: &str, schema: &str) -> Result<Self, OperatorStoreError> {
        let config = parse_config(url).map_err(|e| OperatorStoreError::Backend {
            store: "postgres".to_owned(),
            reason: format!("invalid connection configuration: {}", describe_error(&e)),
        })?;
        let name = format!("postgres:{} (schema {schema})", server_of(&config));
        let backend = |reason: String| OperatorStoreError::Backend {
            store: name.clone(),
            reason,
        };
        if !is_lower_identifier(schema, MAX_SCHEMA_LEN) {
            return Err(backend(format!(
                "schema {schema:?} is not a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes)"
            )));
        }
        let pool =
            build_pool(config, POOL_SIZE).map_err(|e| backend(format!("cannot build the connection pool: {e}")))?;
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                schema: schema.to_owned(),
                sql: Sql::new(&format!("\"{schema}\"")),
                name,
            }),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema this store uses.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    fn backend(&self, doing: &str, error: &tokio_postgres::Error) -> OperatorStoreError {
        OperatorStoreError::Backend {
            store: self.inner.name.clone(),
            reason: format!("{doing}: {}", describe_error(error)),
        }
    }

    fn corrupt(&self, what: String, reason: String) -> OperatorStoreError {
        OperatorStoreError::Corrupt {
            store: self.inner.name.clone(),
            what,
            reason,
        }
    }

    /// A pooled connection.
    async fn client(&self) -> Result<deadpool_postgres::Client, OperatorStoreError> {
        self.inner.pool.get().await.map_err(|e| OperatorStoreError::Backend {
            store: self.inner.name.clone(),
            reason: format!("cannot get a connection: {e}"),
        })
    }

    /// The statement `sql`, prepared once per connection.
    async fn statement<C: GenericClient + Sync>(
        &self,
        client: &C,
        sql: &str,
    ) -> Result<tokio_postgres::Statement, OperatorStoreError> {
        client
            .prepare_cached(sql)
            .await
            .map_err(|e| self.backend("cannot prepare a statement", &e))
    }

    /// Takes the schema's operator lock until the transaction ends.
    async fn take_lock<C: GenericClient + Sync>(&self, client: &C) -> Result<(), OperatorStoreError> {
        let statement = self.statement(client, &self.inner.sql.lock).await?;
        client
            .execute(&statement, &[&ADVISORY_LOCK_CLASS, &self.inner.schema])
            .await
            .map(drop)
            .map_err(|e| self.backend("cannot take the operator lock", &e))
    }

    /// Creates the schema and its tables, or checks their version, under the operator lock.
    async fn migrate(&self) -> Result<(), OperatorStoreError> {
        let quoted = format!("\"{}\"", self.inner.schema);
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| self.backend("cannot begin creating the schema", &e))?;
        self.take_lock(&tx).await?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted};
             CREATE TABLE IF NOT EXISTS {quoted}.operator_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        ))
        .await
        .map_err(|e| self.backend("cannot create the schema", &e))?;
        let row = tx
            .query_opt(
                &format!("SELECT value FROM {quoted}.operator_meta WHERE key = 'schema_version'"),
                &[],
            )
            .await
            .map_err(|e| self.backend("cannot read the schema version", &e))?;
        let what = || format!("{}.operator_meta[key=schema_version]", self.inner.schema);
        let current = match row {
            None => 0,
            Some(row) => {
                let text: String = row
                    .try_get(0)
                    .map_err(|e| self.backend("cannot read the schema version", &e))?;
                text.trim()
                    .parse::<u64>()
                    .map_err(|_| self.corrupt(what(), format!("schema version {text:?} is not a number")))?
            }
        };
        if current > SCHEMA_VERSION {
            return Err(self.corrupt(
                what(),
                format!(
                    "schema version {current} is newer than the {SCHEMA_VERSION} this build reads: upgrade zelavis"
                ),
            ));
        }
        if current < SCHEMA_VERSION {
            for (from, migration) in MIGRATIONS
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
                    "INSERT INTO {quoted}.operator_meta (key, value) VALUES ('schema_version', $1)
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
                ),
                &[&SCHEMA_VERSION.to_string()],
            )
            .await
            .map_err(|e| self.backend("cannot record the schema version", &e))?;
        }
        tx.commit()
            .await
            .map_err(|e| self.backend("cannot commit the schema", &e))
    }

    /// A row's kind and revision, checked.
    fn checked(&self, kind: &str, key: &str, revision: i64) -> Result<(Kind, RowRevision), OperatorStoreError> {
        let what = || format!("operator_rows[kind={kind}, key={key:?}]");
        let kind = Kind::parse(kind).ok_or_else(|| self.corrupt(what(), format!("unknown kind {kind:?}")))?;
        let revision = u64::try_from(revision)
            .ok()
            .filter(|r| *r > 0)
            .ok_or_else(|| self.corrupt(what(), format!("revision {revision} is not positive")))?;
        Ok((kind, revision))
    }

    /// Checks a row as read.
    fn decode(&self, row: &tokio_postgres::Row) -> Result<Row, OperatorStoreError> {
        let unreadable = |e: tokio_postgres::Error| self.corrupt("operator_rows".to_owned(), describe_error(&e));
        let key: String = row.try_get(1).map_err(unreadable)?;
        let (kind, revision) = self.checked(
            row.try_get(0).map_err(unreadable)?,
            &key,
            row.try_get(5).map_err(unreadable)?,
        )?;
        Ok(Row {
            kind,
            key,
            tenant: row.try_get(2).map_err(unreadable)?,
            plugin: row.try_get(3).map_err(unreadable)?,
            flag: row.try_get(4).map_err(unreadable)?,
            revision,
            body: row.try_get(6).map_err(unreadable)?,
        })
    }

    /// The current revision of each row the batch writes, by kind and key, inside the commit's transaction.
    async fn revisions<C: GenericClient + Sync>(
        &self,
        client: &C,
        batch: &Batch,
    ) -> Result<HashMap<(Kind, String), RowRevision>, OperatorStoreError> {
        let kinds: Vec<&str> = batch.writes.iter().map(|w| w.kind.as_str()).collect();
        let keys: Vec<&str> = batch.writes.iter().map(|w| w.key.as_str()).collect();
        let statement = self.statement(client, &self.inner.sql.revisions).await?;
        let rows = client
            .query(&statement, &[&kinds, &keys])
            .await
            .map_err(|e| self.backend("cannot read the revisions the batch is based on", &e))?;
        rows.iter().map(|row| self.decode_revision(row)).collect()
    }

    fn decode_revision(&self, row: &tokio_postgres::Row) -> Result<((Kind, String), RowRevision), OperatorStoreError> {
        let unreadable = |e: tokio_postgres::Error| self.corrupt("operator_rows".to_owned(), describe_error(&e));
        let key: String = row.try_get(1).map_err(unreadable)?;
        let (kind, revision) = self.checked(
            row.try_get(0).map_err(unreadable)?,
            &key,
            row.try_get(2).map_err(unreadable)?,
        )?;
        Ok(((kind, key), revision))
    }

    /// The audit log's last number and hash (0 and [`GENESIS_HASH`] when empty).
    async fn head<C: GenericClient + Sync>(&self, client: &C) -> Result<(u64, String), OperatorStoreError> {
        let statement = self.statement(client, &self.inner.sql.head).await?;
        let row = client
            .query_opt(&statement, &[])
            .await
            .map_err(|e| self.backend("cannot read the audit head", &e))?;
        let Some(row) = row else {
            return Ok((0, GENESIS_HASH.to_owned()));
        };
        let unreadable = |e: tokio_postgres::Error| self.corrupt("operator_audit head".to_owned(), describe_error(&e));
        let seq: i64 = row.try_get(0).map_err(unreadable)?;
        let hash: String = row.try_get(1).map_err(unreadable)?;
        let seq = u64::try_from(seq)
            .map_err(|_| self.corrupt("operator_audit head".to_owned(), format!("seq {seq} is negative")))?;
        Ok((seq, hash))
    }

    async fn commit_in(&self, batch: &Batch) -> Result<Committed, OperatorStoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| self.backend("cannot begin a commit", &e))?;
        self.take_lock(&tx).await?;
        let mut revisions = Vec::with_capacity(batch.writes.len());
        if !batch.writes.is_empty() {
            let current = self.revisions(&tx, batch).await?;
            for write in &batch.writes {
                let found = current.get(&(write.kind, write.key.clone())).copied();
                check_expected(write, found.map_or(Expected::Absent, Expected::Revision))?;
                revisions.push(next_revision(write, found, LAST_REVISION)?);
            }
            // `next_revision` stops at `LAST_REVISION`, so every revision fits a `BIGINT`.
            let stored: Vec<i64> = revisions
                .iter()
                .map(|&r| i64::try_from(r).unwrap_or(i64::MAX))
                .collect();
            let kinds: Vec<&str> = batch.writes.iter().map(|w| w.kind.as_str()).collect();
            let keys: Vec<&str> = batch.writes.iter().map(|w| w.key.as_str()).collect();
            let tenants: Vec<Option<&str>> = batch.writes.iter().map(|w| w.tenant.as_deref()).collect();
            let plugins: Vec<Option<&str>> = batch.writes.iter().map(|w| w.plugin.as_deref()).collect();
            let flags: Vec<bool> = batch.writes.iter().map(|w| w.flag).collect();
            let bodies: Vec<&str> = batch.writes.iter().map(|w| w.body.as_str()).collect();
            let statement = self.statement(&tx, &self.inner.sql.upsert).await?;
            tx.execute(
                &statement,
                &[&kinds, &keys, &tenants, &plugins, &flags, &stored, &bodies],
            )
            .await
            .map_err(|e| self.backend(&format!("cannot write {} rows", batch.writes.len()), &e))?;
        }
        let mut events = Vec::with_capacity(batch.audit.len());
        if !batch.audit.is_empty() {
            let (mut seq, mut prev) = self.head(&tx).await?;
            for entry in &batch.audit {
                seq += 1;
                let event = entry.seal(seq, &prev);
                prev.clone_from(&event.hash);
                events.push(event);
            }
            let seqs = events
                .iter()
                .map(|e| i64::try_from(e.seq))
                .collect::<Result<Vec<i64>, _>>()
                .map_err(|e| OperatorStoreError::Backend {
                    store: self.inner.name.clone(),
                    reason: format!("cannot number an audit event: {e}"),
                })?;
            let prevs: Vec<&str> = events.iter().map(|e| e.prev_hash.as_str()).collect();
            let hashes: Vec<&str> = events.iter().map(|e| e.hash.as_str()).collect();
            let bodies: Vec<&str> = events.iter().map(|e| e.body.as_str()).collect();
            let statement = self.statement(&tx, &self.inner.sql.append).await?;
            tx.execute(&statement, &[&seqs, &prevs, &hashes, &bodies])
                .await
                .map_err(|e| self.backend(&format!("cannot append {} audit events", events.len()), &e))?;
        }
        tx.commit().await.map_err(|e| self.backend("cannot commit", &e))?;
        Ok(Committed { revisions, events })
    }
}

#[async_trait]
impl OperatorStore for PostgresOperatorStore {
    fn describe(&self) -> String {
        self.inner.name.clone()
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Row>, OperatorStoreError> {
        let client = self.client().await?;
        let statement = self.statement(&client, &self.inner.sql.get).await?;
        let row = client
            .query_opt(&statement, &[&kind.as_str(), &key])
            .await
            .map_err(|e| self.backend(&format!("cannot read {kind} {key:?}"), &e))?;
        row.map(|row| self.decode(&row)).transpose()
    }

    async fn query(&self, query: &Query) -> Result<Vec<Row>, OperatorStoreError> {
        let client = self.client().await?;
        let statement = self.statement(&client, self.inner.sql.of(query).0).await?;
        let values = parameters(query);
        let parameters = as_sql(&values);
        let rows = client
            .query(&statement, &parameters)
            .await
            .map_err(|e| self.backend(&format!("cannot run {query:?}"), &e))?;
        rows.iter().map(|row| self.decode(row)).collect()
    }

    async fn count(&self, query: &Query) -> Result<u64, OperatorStoreError> {
        let client = self.client().await?;
        let statement = self.statement(&client, self.inner.sql.of(query).1).await?;
        let values = parameters(query);
        let parameters = as_sql(&values);
        let row = client
            .query_one(&statement, &parameters)
            .await
            .map_err(|e| self.backend(&format!("cannot count {query:?}"), &e))?;
        let count: i64 = row
            .try_get(0)
            .map_err(|e| self.backend(&format!("cannot count {query:?}"), &e))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn revisions(&self, query: &Query) -> Result<Vec<(String, RowRevision)>, OperatorStoreError> {
        let client = self.client().await?;
        let statement = self.statement(&client, self.inner.sql.keys_of(query)).await?;
        let values = parameters(query);
        let parameters = as_sql(&values);
        let rows = client
            .query(&statement, &parameters)
            .await
            .map_err(|e| self.backend(&format!("cannot list the revisions of {query:?}"), &e))?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get(0).map_err(|e| self.backend("cannot read a key", &e))?;
                let revision: i64 = row.try_get(1).map_err(|e| self.backend("cannot read a revision", &e))?;
                let revision = RowRevision::try_from(revision).map_err(|_| OperatorStoreError::Corrupt {
                    store: self.describe(),
                    what: format!("{} {key:?}", query.kind()),
                    reason: format!("revision {revision} is not positive"),
                })?;
                Ok((key, revision))
            })
            .collect()
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, OperatorStoreError> {
        if batch.is_empty() {
            return Ok(Committed::default());
        }
        refuse_duplicates(&batch.writes)?;
        // Returning early drops the transaction, which rolls it back: nothing of the batch applies.
        self.commit_in(&batch).await
    }

    async fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorStoreError> {
        let Ok(after) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let statement = self.statement(&client, &self.inner.sql.audit).await?;
        let rows = client
            .query(&statement, &[&after, &limit])
            .await
            .map_err(|e| self.backend("cannot read the audit log", &e))?;
        let unreadable = |e: tokio_postgres::Error| self.corrupt("operator_audit".to_owned(), describe_error(&e));
        rows.iter()
            .map(|row| {
                let seq: i64 = row.try_get(0).map_err(unreadable)?;
                Ok(AuditEvent {
                    seq: u64::try_from(seq)
                        .map_err(|_| self.corrupt("operator_audit".to_owned(), format!("seq {seq} is negative")))?,
                    prev_hash: row.try_get(1).map_err(unreadable)?,
                    hash: row.try_get(2).map_err(unreadable)?,
                    body: row.try_get(3).map_err(unreadable)?,
                })
            })
            .collect()
    }
}
