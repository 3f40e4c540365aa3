//! [`OperatorStore`]: where the operator layer keeps its data — tenants, catalog rows, releases, enablements,
//! settings, health, rollouts — and its append-only audit log.
//!
//! The trait is small on purpose, so a host adapter implements five methods: rows are plain JSON documents with
//! a kind, a key, a revision and two indexed columns (`tenant`, `plugin`) plus a flag (`enabled` for an
//! enablement), and every change is one [`Batch`] that the store applies atomically — each write checked against
//! the revision it was based on (compare-and-swap), the batch's audit entries appended to the hash chain in the
//! same transaction. Two operators acting at once therefore never lose an update: one commits, the other gets
//! [`OperatorStoreError::Conflict`] and the operator layer re-reads and re-decides.
//!
//! Backends: [`memory::MemoryOperatorStore`], [`sqlite::SqliteOperatorStore`] (feature `sqlite`, the embedded
//! default under `.zelavis/`), [`postgres::PostgresOperatorStore`] (feature `postgres`). [`conformance`] runs
//! the same behavioural tests against any of them — and against yours.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::audit::{AuditEntry, AuditEvent};

pub mod conformance;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// What a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A tenant (key: the tenant id).
    Tenant,
    /// A catalog row (key: the plugin id).
    Plugin,
    /// A release (key: `plugin@version`; `plugin` column set).
    Release,
    /// A tenant's grant of a plugin (key: `tenant|plugin`; `tenant` and `plugin` set; flag: enabled).
    Enablement,
    /// A tenant's settings for a plugin (key: `tenant|plugin`).
    Settings,
    /// Health of a plugin on one tenant and host (key: `plugin|tenant|host`).
    Health,
    /// A rollout (key: `plugin@version`; `plugin` column set).
    Rollout,
    /// A published bundle's bytes (key: `plugin@version`; `plugin` column set).
    Bundle,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] = [
        Kind::Tenant,
        Kind::Plugin,
        Kind::Release,
        Kind::Enablement,
        Kind::Settings,
        Kind::Health,
        Kind::Rollout,
        Kind::Bundle,
    ];

    /// The kind's name as stored: `tenant`, `plugin`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tenant => "tenant",
            Kind::Plugin => "plugin",
            Kind::Release => "release",
            Kind::Enablement => "enablement",
            Kind::Settings => "settings",
            Kind::Health => "health",
            Kind::Rollout => "rollout",
            Kind::Bundle => "bundle",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row's revision: 1 after its first write, one more after each.
pub type RowRevision = u64;

/// A stored row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// What it holds.
    pub kind: Kind,
    /// Its key within the kind.
    pub key: String,
    /// The indexed tenant column.
    pub tenant: Option<String>,
    /// The indexed plugin column.
    pub plugin: Option<String>,
    /// The indexed flag (an enablement: enabled).
    pub flag: bool,
    /// Its revision.
    pub revision: RowRevision,
    /// The document, JSON text.
    pub body: String,
}

/// What a write is based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expected {
    /// The row must not exist yet (create).
    Absent,
    /// The row must be at this revision.
    Revision(RowRevision),
}

impl Expected {
    /// What to expect of a row read as `row` (absent or its revision).
    pub fn of(row: Option<&Row>) -> Self {
        row.map_or(Expected::Absent, |r| Expected::Revision(r.revision))
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Absent => f.write_str("absent"),
            Expected::Revision(r) => write!(f, "revision {r}"),
        }
    }
}

/// One row to write, with the revision it was based on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The kind.
    pub kind: Kind,
    /// The key.
    pub key: String,
    /// The tenant column.
    pub tenant: Option<String>,
    /// The plugin column.
    pub plugin: Option<String>,
    /// The flag.
    pub flag: bool,
    /// The new document, JSON text.
    pub body: String,
    /// What the row must be for the write to apply.
    pub expected: Expected,
}

/// Writes and audit entries applied together or not at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The rows, applied in order (a key appears at most once).
    pub writes: Vec<Write>,
    /// Appended to the audit log, in order, in the same transaction.
    pub audit: Vec<AuditEntry>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write.
    pub fn write(mut self, write: Write) -> Self {
        self.writes.push(write);
        self
    }

    /// Adds an audit entry.
    pub fn audit(mut self, entry: AuditEntry) -> Self {
        self.audit.push(entry);
        self
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.audit.is_empty()
    }
}

/// What a committed batch produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// The new revision of each write, in the batch's order.
    pub revisions: Vec<RowRevision>,
    /// The audit events appended, in order.
    pub events: Vec<AuditEvent>,
}

/// Which rows to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Every row of a kind, by key.
    All(Kind),
    /// The rows of a kind whose tenant column is `tenant`, by key.
    Tenant {
        /// The kind.
        kind: Kind,
        /// The tenant.
        tenant: String,
    },
    /// The rows of a kind whose plugin column is `plugin` (only flagged ones when `flagged`), by key.
    Plugin {
        /// The kind.
        kind: Kind,
        /// The plugin.
        plugin: String,
        /// Only rows whose flag is set.
        flagged: bool,
    },
}

impl Query {
    /// The kind the query reads.
    pub fn kind(&self) -> Kind {
        match self {
            Query::All(kind) | Query::Tenant { kind, .. } | Query::Plugin { kind, .. } => *kind,
        }
    }

    /// Whether `row` answers this query.
    pub fn matches(&self, row: &Row) -> bool {
        row.kind == self.kind()
            && match self {
                Query::All(_) => true,
                Query::Tenant { tenant, .. } => row.tenant.as_deref() == Some(tenant.as_str()),
                Query::Plugin { plugin, flagged, .. } => {
                    row.plugin.as_deref() == Some(plugin.as_str()) && (!flagged || row.flag)
                }
            }
    }
}

/// Why an operator store refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OperatorStoreError {
    /// A write's expectation did not hold: someone else changed the row first. Nothing of the batch applied.
    #[error("{kind} {key:?} changed meanwhile: expected {expected}, found {found}")]
    Conflict {
        /// The row's kind.
        kind: Kind,
        /// The row's key.
        key: String,
        /// What the write expected.
        expected: Expected,
        /// What the store holds (`absent` or a revision).
        found: Expected,
    },
    /// The same row appears twice in one batch.
    #[error("{kind} {key:?} is written twice in one batch")]
    DuplicateWrite {
        /// The row's kind.
        kind: Kind,
        /// The row's key.
        key: String,
    },
    /// A row's revision reached the largest number a revision can hold.
    #[error("{kind} {key:?} is at the last revision a store can count")]
    RevisionExhausted {
        /// The row's kind.
        kind: Kind,
        /// The row's key.
        key: String,
    },
    /// The backend failed (connection, I/O, SQL). Nothing of the batch applied.
    #[error("operator store {store} failed: {reason}")]
    Backend {
        /// The store, as [`OperatorStore::describe`] says.
        store: String,
        /// What failed.
        reason: String,
    },
    /// The backend holds something this version cannot read.
    #[error("operator store {store} holds an unreadable {what}: {reason}")]
    Corrupt {
        /// The store.
        store: String,
        /// What was unreadable.
        what: String,
        /// Why.
        reason: String,
    },
}

/// Where the operator layer's data lives.
///
/// Implementations apply each [`Batch`] atomically: every write's [`Expected`] is checked and every row
/// written, and every audit entry sealed onto the chain ([`AuditEntry::seal`] with the next number and the
/// current head's hash), in one transaction — or nothing changes and the first failed expectation is returned
/// as [`OperatorStoreError::Conflict`]. The audit log is append-only: the trait has no way to change or remove
/// an event. Run [`conformance::run`] against an implementation to check it.
#[async_trait]
pub trait OperatorStore: Send + Sync + 'static {
    /// A short description for logs and errors, e.g. `sqlite:.zelavis/operator.db`.
    fn describe(&self) -> String;

    /// One row.
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Row>, OperatorStoreError>;

    /// The rows a query selects, ordered by key.
    async fn query(&self, query: &Query) -> Result<Vec<Row>, OperatorStoreError>;

    /// How many rows a query selects (through the index; never by reading the rows).
    async fn count(&self, query: &Query) -> Result<u64, OperatorStoreError>;

    /// The keys and revisions a query selects, ordered by key, without the documents: what a reader that
    /// keeps decoded rows asks first, to fetch only the rows that changed. The default reads the rows; a
    /// backend that can select two columns should.
    async fn revisions(&self, query: &Query) -> Result<Vec<(String, RowRevision)>, OperatorStoreError> {
        Ok(self
            .query(query)
            .await?
            .into_iter()
            .map(|r| (r.key, r.revision))
            .collect())
    }

    /// Applies a batch atomically (see the trait's docs).
    async fn commit(&self, batch: Batch) -> Result<Committed, OperatorStoreError>;

    /// Audit events with `seq > after`, in order, at most `limit`.
    async fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorStoreError>;
}

#[async_trait]
impl<S: OperatorStore + ?Sized> OperatorStore for std::sync::Arc<S> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Row>, OperatorStoreError> {
        (**self).get(kind, key).await
    }
    async fn query(&self, query: &Query) -> Result<Vec<Row>, OperatorStoreError> {
        (**self).query(query).await
    }
    async fn count(&self, query: &Query) -> Result<u64, OperatorStoreError> {
        (**self).count(query).await
    }
    async fn revisions(&self, query: &Query) -> Result<Vec<(String, RowRevision)>, OperatorStoreError> {
        (**self).revisions(query).await
    }
    async fn commit(&self, batch: Batch) -> Result<Committed, OperatorStoreError> {
        (**self).commit(batch).await
    }
    async fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorStoreError> {
        (**self).audit(after, limit).await
    }
}
