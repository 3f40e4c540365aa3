//! [`MemoryOperatorStore`]: operator data in memory, for tests and ephemeral hosts.
//!
//! This file also holds the batch rules every built-in backend applies the same way — a batch names each row
//! once (`refuse_duplicates`), a write applies only over what it expected (`check_expected`), a revision
//! never wraps (`next_revision`) — so that each is written once.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{Batch, Committed, Expected, Kind, OperatorStore, OperatorStoreError, Query, Row, RowRevision, Write};
use crate::audit::{AuditEvent, GENESIS_HASH};

/// What [`MemoryOperatorStore::describe`](OperatorStore::describe) says.
const STORE: &str = "memory";

/// An in-memory [`OperatorStore`]. Clones share the same data (like two clients of one server); reads return
/// copies.
///
/// ```
/// use zelavis_operator::store::memory::MemoryOperatorStore;
/// use zelavis_operator::store::{Batch, Expected, Kind, OperatorStore, OperatorStoreError, Write};
///
/// # futures::executor::block_on(async {
/// let store = MemoryOperatorStore::new();
/// let create = Write {
///     kind: Kind::Tenant,
///     key: "acme".into(),
///     tenant: Some("acme".into()),
///     plugin: None,
///     flag: false,
///     body: r#"{"name":"Acme"}"#.into(),
///     expected: Expected::Absent,
/// };
/// let committed = store.commit(Batch::new().write(create.clone())).await?;
/// assert_eq!(committed.revisions, [1]);
/// // A second create, based on the row being absent, is refused.
/// let again = store.commit(Batch::new().write(create)).await;
/// assert!(matches!(again, Err(OperatorStoreError::Conflict { .. })));
/// # Ok::<(), OperatorStoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryOperatorStore {
    inner: Arc<Mutex<Memory>>,
}

#[derive(Debug, Default)]
struct Memory {
    rows: BTreeMap<(Kind, String), Row>,
    audit: Vec<AuditEvent>,
}

impl MemoryOperatorStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `row` in place as it is, revision included, with no check and no audit event: for tests (e.g. of
    /// a row at the last revision).
    pub fn write_raw(&self, row: Row) {
        self.lock().rows.insert((row.kind, row.key.clone()), row);
    }

    /// A panic cannot leave a half-applied batch (a commit checks everything before it changes anything), so a
    /// poisoned lock is usable.
    fn lock(&self) -> MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Refuses a batch that writes one row twice, with [`OperatorStoreError::DuplicateWrite`] naming it.
pub(super) fn refuse_duplicates(writes: &[Write]) -> Result<(), OperatorStoreError> {
    let mut seen = HashSet::with_capacity(writes.len());
    for write in writes {
        if !seen.insert((write.kind, write.key.as_str())) {
            return Err(OperatorStoreError::DuplicateWrite {
                kind: write.kind,
                key: write.key.clone(),
            });
        }
    }
    Ok(())
}

/// Refuses `write` unless the row is what it expected; `found` is what the store holds.
pub(super) fn check_expected(write: &Write, found: Expected) -> Result<(), OperatorStoreError> {
    if write.expected == found {
        Ok(())
    } else {
        Err(OperatorStoreError::Conflict {
            kind: write.kind,
            key: write.key.clone(),
            expected: write.expected,
            found,
        })
    }
}

/// The revision a write of the row at `current` (absent: `None`) gives it: 1 for a new row, one more
/// otherwise; a row at `last`, the largest revision the backend holds, is [`OperatorStoreError::RevisionExhausted`].
pub(super) fn next_revision(
    write: &Write,
    current: Option<RowRevision>,
    last: RowRevision,
) -> Result<RowRevision, OperatorStoreError> {
    match current {
        None => Ok(1),
        Some(revision) if revision < last => Ok(revision + 1),
        Some(_) => Err(OperatorStoreError::RevisionExhausted {
            kind: write.kind,
            key: write.key.clone(),
        }),
    }
}

impl Memory {
    fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Row> {
        self.rows
            .range((kind, String::new())..)
            .take_while(move |((k, _), _)| *k == kind)
            .map(|(_, row)| row)
    }

    fn commit(&mut self, batch: Batch) -> Result<Committed, OperatorStoreError> {
        refuse_duplicates(&batch.writes)?;
        let mut revisions = Vec::with_capacity(batch.writes.len());
        for write in &batch.writes {
            let current = self.rows.get(&(write.kind, write.key.clone())).map(|row| row.revision);
            check_expected(write, current.map_or(Expected::Absent, Expected::Revision))?;
            revisions.push(next_revision(write, current, RowRevision::MAX)?);
        }
        // Everything is checked: from here on nothing fails.
        for (write, &revision) in batch.writes.into_iter().zip(&revisions) {
            let row = Row {
                kind: write.kind,
                key: write.key,
                tenant: write.tenant,
                plugin: write.plugin,
                flag: write.flag,
                revision,
                body: write.body,
            };
            self.rows.insert((row.kind, row.key.clone()), row);
        }
        let mut events = Vec::with_capacity(batch.audit.len());
        for entry in &batch.audit {
            let (seq, prev) = self
                .audit
                .last()
                .map_or((1, GENESIS_HASH), |head| (head.seq + 1, head.hash.as_str()));
            let event = entry.seal(seq, prev);
            self.audit.push(event.clone());
            events.push(event);
        }
        Ok(Committed { revisions, events })
    }
}

#[async_trait]
impl OperatorStore for MemoryOperatorStore {
    fn describe(&self) -> String {
        STORE.to_owned()
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Row>, OperatorStoreError> {
        Ok(self.lock().rows.get(&(kind, key.to_owned())).cloned())
    }

    async fn query(&self, query: &Query) -> Result<Vec<Row>, OperatorStoreError> {
        let memory = self.lock();
        Ok(memory
            .of_kind(query.kind())
            .filter(|row| query.matches(row))
            .cloned()
            .collect())
    }

    async fn count(&self, query: &Query) -> Result<u64, OperatorStoreError> {
        let memory = self.lock();
        let count = memory.of_kind(query.kind()).filter(|row| query.matches(row)).count();
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, OperatorStoreError> {
        self.lock().commit(batch)
    }

    async fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorStoreError> {
        let memory = self.lock();
        let skip = usize::try_from(after).unwrap_or(usize::MAX);
        Ok(memory.audit.iter().skip(skip).take(limit).cloned().collect())
    }
}
