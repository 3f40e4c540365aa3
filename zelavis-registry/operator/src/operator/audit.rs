//! The audit log: reading it and verifying its hash chain.

use super::{Operator, require};
use crate::audit::{self, AuditEntry, AuditError, AuditEvent, AuditVerified};
use crate::error::OperatorError;
use crate::role::{Actor, Role};
use crate::store::Batch;

impl Operator {
    /// Audit events after `after`, at most `limit`.
    pub async fn audit(&self, actor: &Actor, after: u64, limit: usize) -> Result<Vec<AuditEvent>, OperatorError> {
        require(actor, Role::Viewer, "read the audit log")?;
        Ok(self.inner.store.audit(after, limit).await?)
    }

    /// Verifies the whole audit log's hash chain.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<Result<AuditVerified, AuditError>, OperatorError> {
        require(actor, Role::Viewer, "verify the audit log")?;
        let mut events = Vec::new();
        loop {
            let after = events.last().map_or(0, |e: &AuditEvent| e.seq);
            let page = self.inner.store.audit(after, 1000).await?;
            if page.is_empty() {
                break;
            }
            events.extend(page);
        }
        Ok(audit::verify(&events))
    }

    /// Appends an audit entry on its own (for actions outside the operator store, e.g. a CLI key generation).
    pub async fn record(&self, entry: AuditEntry) -> Result<(), OperatorError> {
        self.commit(Batch::new().audit(entry)).await
    }
}
