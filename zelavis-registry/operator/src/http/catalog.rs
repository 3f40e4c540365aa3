//! `/plugins`: the catalog — rows with badges and usage, deprecation, removal and the kill switch.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{Authed, JsonBody, Segments};
use super::{Shared, answer, plugin_name};
use crate::operator::DeprecateRequest;
use crate::role::Actor;

type St = State<Arc<Shared>>;

/// `POST /plugins/{id}/deprecate`: `{message, replacement?, disallow_new_enable?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeprecateBody {
    message: String,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    disallow_new_enable: bool,
}

/// `POST /plugins/{id}/kill`: `{reason}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KillBody {
    reason: String,
}

fn required(field: &str, text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::InvalidBody {
            message: format!("`{field}` must not be empty"),
        });
    }
    Ok(())
}

pub(crate) async fn list(State(shared): St, Authed(actor): Authed) -> Result<Response, ApiError> {
    let rows = shared.operator.catalog(&actor).await?;
    Ok(answer(StatusCode::OK, &json!({ "plugins": rows })))
}

pub(crate) async fn get(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let id = plugin_name(&id)?;
    let row = shared.operator.catalog_row(&actor, id.as_str()).await?;
    Ok(answer(StatusCode::OK, &row))
}

pub(crate) async fn deprecate(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
    JsonBody(body): JsonBody<DeprecateBody>,
) -> Result<Response, ApiError> {
    let id = plugin_name(&id)?;
    required("message", &body.message)?;
    let request = DeprecateRequest {
        message: body.message,
        replacement: body.replacement.as_deref().map(plugin_name).transpose()?,
        disallow_new_enable: body.disallow_new_enable,
    };
    let banners = shared.operator.deprecate(&actor, id.as_str(), request).await?;
    Ok(answer(StatusCode::OK, &json!({ "plugin": id, "banners": banners })))
}

pub(crate) async fn remove(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let id = plugin_name(&id)?;
    let tombstone = shared.operator.remove(&actor, id.as_str()).await?;
    Ok(answer(StatusCode::OK, &tombstone))
}

pub(crate) async fn kill(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
    JsonBody(body): JsonBody<KillBody>,
) -> Result<Response, ApiError> {
    switch(&shared, &actor, &id, Some(body.reason)).await
}

pub(crate) async fn revive(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    switch(&shared, &actor, &id, None).await
}

/// Flips the kill switch of plugin `id`: on with a `reason` (it must not be empty), off without.
async fn switch(shared: &Shared, actor: &Actor, id: &str, reason: Option<String>) -> Result<Response, ApiError> {
    let id = plugin_name(id)?;
    if let Some(reason) = &reason {
        required("reason", reason)?;
    }
    let killed = reason.is_some();
    let tenants = shared.operator.kill_switch(actor, id.as_str(), reason).await?;
    Ok(answer(
        StatusCode::OK,
        &json!({ "plugin": id, "killed": killed, "tenants": tenants }),
    ))
}
