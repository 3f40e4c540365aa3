//! The audit log: every operator action, appended, each event carrying the hash of the one before it, so
//! [`verify`] finds any event that was edited, removed or reordered.
//!
//! An event's hash is SHA-256 over the previous event's hash and the event's body exactly as it was stored
//! (its JSON text), so verification never depends on how a JSON library orders keys.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::hex;
use crate::time::Timestamp;

/// The hash the first event chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, by whom, to what: the body of an audit event, before the store numbers and chains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who (an actor id from the authenticator).
    pub actor: String,
    /// The action, e.g. `tenant.enable`, `plugin.deprecate`, `rollout.promote`.
    pub action: String,
    /// What it acted on, e.g. `tenant:acme/plugin:stripe`.
    pub target: String,
    /// The state before (as the operator layer stores it), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The state after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Why, as the actor said, or the evidence of an automatic decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AuditEntry {
    /// An entry with no before/after/reason.
    pub fn new(at: Timestamp, actor: impl Into<String>, action: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            at,
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            before: None,
            after: None,
            reason: None,
        }
    }

    /// Records the state before.
    pub fn before(mut self, before: impl Serialize) -> Self {
        self.before = serde_json::to_value(before).ok();
        self
    }

    /// Records the state after.
    pub fn after(mut self, after: impl Serialize) -> Self {
        self.after = serde_json::to_value(after).ok();
        self
    }

    /// Records why.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Numbers and chains this entry after an event whose hash is `prev_hash` (a store calls this inside the
    /// transaction that appends it).
    pub fn seal(&self, seq: u64, prev_hash: &str) -> AuditEvent {
        // ok: an entry is strings, a timestamp and JSON values, which serde_json always serialises.
        let body = serde_json::to_string(self).unwrap_or_default();
        let hash = chain_hash(prev_hash, seq, &body);
        AuditEvent {
            seq,
            prev_hash: prev_hash.to_owned(),
            hash,
            body,
        }
    }
}

/// One stored audit event: its number, its chain hashes and its body as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// 1, 2, 3, ... in append order.
    pub seq: u64,
    /// The previous event's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 of `prev_hash`, `seq` and `body`, hex.
    pub hash: String,
    /// The [`AuditEntry`] as JSON text, exactly as stored.
    pub body: String,
}

impl AuditEvent {
    /// The entry this event holds.
    pub fn entry(&self) -> Result<AuditEntry, AuditError> {
        serde_json::from_str(&self.body).map_err(|e| AuditError::Unreadable {
            seq: self.seq,
            reason: e.to_string(),
        })
    }
}

fn chain_hash(prev_hash: &str, seq: u64, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(seq.to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(body.as_bytes());
    hex::encode(&hasher.finalize())
}

/// Why an audit log failed verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// An event's body or number no longer matches its hash: it was edited.
    #[error("audit event {seq} was edited: its hash no longer matches its content")]
    Edited {
        /// The event.
        seq: u64,
    },
    /// An event does not chain to the one before it: something between was removed or reordered.
    #[error("audit event {seq} does not follow event {previous}: an event was removed or reordered")]
    Broken {
        /// The event whose `prev_hash` does not match.
        seq: u64,
        /// The event before it in the log.
        previous: u64,
    },
    /// The numbering skips: events are missing.
    #[error("audit events {from} to {to} are missing")]
    Missing {
        /// The first missing number.
        from: u64,
        /// The last missing number.
        to: u64,
    },
    /// An event's body is not an audit entry.
    #[error("audit event {seq} is unreadable: {reason}")]
    Unreadable {
        /// The event.
        seq: u64,
        /// Why.
        reason: String,
    },
}

/// What [`verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerified {
    /// How many events were checked.
    pub events: u64,
    /// The last event's hash (the log's head), [`GENESIS_HASH`] when empty.
    pub head: String,
}

/// Checks a whole log, from its first event, in order: each event's hash matches its content, each chains to
/// the one before, the numbering has no gap. The first problem is returned. Events cut from the end leave a
/// shorter chain that still verifies: compare the returned [`head`](AuditVerified::head) with one kept
/// elsewhere to detect that.
///
/// ```
/// use zelavis_operator::audit::{AuditEntry, GENESIS_HASH, verify};
/// use zelavis_operator::time::Timestamp;
///
/// let first = AuditEntry::new(Timestamp::EPOCH, "ops@example.com", "tenant.create", "tenant:acme").seal(1, GENESIS_HASH);
/// let second = AuditEntry::new(Timestamp::EPOCH, "ops@example.com", "tenant.enable", "tenant:acme").seal(2, &first.hash);
/// assert_eq!(verify(&[first.clone(), second.clone()]).unwrap().events, 2);
///
/// let mut edited = second.clone();
/// edited.body = edited.body.replace("enable", "disable");
/// assert!(verify(&[first, edited]).is_err());
/// ```
pub fn verify(events: &[AuditEvent]) -> Result<AuditVerified, AuditError> {
    let mut head = GENESIS_HASH.to_owned();
    let mut expected_seq = 1u64;
    for event in events {
        if event.seq > expected_seq {
            return Err(AuditError::Missing {
                from: expected_seq,
                to: event.seq - 1,
            });
        }
        if event.seq < expected_seq || event.prev_hash != head {
            return Err(AuditError::Broken {
                seq: event.seq,
                previous: expected_seq.saturating_sub(1),
            });
        }
        if chain_hash(&event.prev_hash, event.seq, &event.body) != event.hash {
            return Err(AuditError::Edited { seq: event.seq });
        }
        event.entry()?;
        head.clone_from(&event.hash);
        expected_seq += 1;
    }
    Ok(AuditVerified {
        events: expected_seq - 1,
        head,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: u64) -> Vec<AuditEvent> {
        let mut out: Vec<AuditEvent> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS_HASH.to_owned(), |e| e.hash.clone());
            let entry = AuditEntry::new(
                Timestamp::from_millis(i64::try_from(seq).unwrap()),
                "op",
                "tenant.enable",
                "t",
            )
            .after(seq)
            .reason("because");
            out.push(entry.seal(seq, &prev));
        }
        out
    }

    #[test]
    fn an_intact_log_verifies() {
        let events = log(5);
        let verified = verify(&events).unwrap();
        assert_eq!(verified.events, 5);
        assert_eq!(verified.head, events[4].hash);
        assert_eq!(verify(&[]).unwrap().head, GENESIS_HASH);
    }

    #[test]
    fn an_edited_event_is_found() {
        let mut events = log(4);
        events[2].body = events[2].body.replace("because", "because!");
        assert_eq!(verify(&events), Err(AuditError::Edited { seq: 3 }));
    }

    #[test]
    fn a_removed_event_is_found_wherever_it_was() {
        for gone in 0..3 {
            let mut events = log(4);
            events.remove(gone);
            assert!(verify(&events).is_err(), "removing event {} went unnoticed", gone + 1);
        }
        // A cut tail still chains: only the head an operator kept (e.g. printed by `zelavis audit verify`)
        // shows it, and the count.
        let events = log(4);
        let head = verify(&events).unwrap().head;
        let cut = verify(&events[..3]).unwrap();
        assert_ne!(cut.head, head);
        assert_eq!(cut.events, 3);
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_chain() {
        let mut events = log(3);
        let forged = AuditEntry::new(Timestamp::EPOCH, "mallory", "tenant.enable", "t").seal(2, &events[0].hash);
        events[1] = forged;
        assert_eq!(verify(&events), Err(AuditError::Broken { seq: 3, previous: 2 }));
    }
}
