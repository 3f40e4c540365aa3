//! `/health` and `/audit`: plugin health across tenants, the audit log and its verification.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{Authed, QueryOf};
use super::{Shared, answer};
use crate::audit::AuditError;

type St = State<Arc<Shared>>;

/// The most audit events one page returns.
pub(crate) const MAX_AUDIT_PAGE: usize = 1000;
/// The page size without `limit`.
pub(crate) const DEFAULT_AUDIT_PAGE: usize = 100;

/// `GET /audit?after=&limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    limit: Option<usize>,
}

pub(crate) async fn health(State(shared): St, Authed(actor): Authed) -> Result<Response, ApiError> {
    // Fold in what this host's tenant runtimes know first; a failure to do so still answers what is stored.
    if let Err(error) = shared.operator.collect_health().await {
        tracing::warn!(%error, "could not collect health from this host's tenant runtimes");
    }
    let plugins = shared.operator.health(&actor).await?;
    Ok(answer(
        StatusCode::OK,
        &json!({ "healthy": plugins.is_empty(), "plugins": plugins }),
    ))
}

pub(crate) async fn audit(
    State(shared): St,
    Authed(actor): Authed,
    QueryOf(query): QueryOf<AuditQuery>,
) -> Result<Response, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE).clamp(1, MAX_AUDIT_PAGE);
    let events = shared.operator.audit(&actor, query.after, limit).await?;
    let next = events.last().map(|e| e.seq);
    let events: Vec<_> = events
        .iter()
        .map(|event| {
            json!({
                "seq": event.seq,
                "prev_hash": event.prev_hash,
                "hash": event.hash,
                "body": event.body,
                "entry": event.entry().ok(),
            })
        })
        .collect();
    Ok(answer(StatusCode::OK, &json!({ "events": events, "next_after": next })))
}

pub(crate) async fn verify(State(shared): St, Authed(actor): Authed) -> Result<Response, ApiError> {
    let body = match shared.operator.verify_audit(&actor).await? {
        Ok(verified) => json!({ "valid": true, "events": verified.events, "head": verified.head }),
        Err(problem) => {
            let (kind, seq) = match &problem {
                AuditError::Edited { seq } => ("edited", *seq),
                AuditError::Broken { seq, .. } => ("broken", *seq),
                AuditError::Missing { from, .. } => ("missing", *from),
                AuditError::Unreadable { seq, .. } => ("unreadable", *seq),
            };
            json!({ "valid": false, "problem": kind, "seq": seq, "message": problem.to_string() })
        }
    };
    Ok(answer(StatusCode::OK, &body))
}
