//! `/tenants`: tenants, their plugins (enable, disable, pin) and their per-plugin settings.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use zelavis_core::name::Name;

use super::error::ApiError;
use super::extract::{Authed, JsonBody, Segments};
use super::{Shared, answer, plugin_name, tenant_name};
use crate::Operator;
use crate::error::parse_version;
use crate::license::License;
use crate::tenant::{Tenant, TenantSpec};
use crate::time::Timestamp;

type St = State<Arc<Shared>>;

/// A tenant as the super-admin API shows it: its license as verified, never its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantView {
    /// The id.
    pub id: Name,
    /// Its tier.
    pub tier: String,
    /// Its niche.
    pub niche: String,
    /// Whether it takes canary releases.
    pub canary: bool,
    /// Whether a license token is stored (the token itself is write-only).
    pub license_token: bool,
    /// The license the host's license source verified, when there is a valid one.
    pub license: Option<License>,
    /// Why there is no valid license, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_error: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl TenantView {
    /// The view of `tenant`, with its license checked by `operator`'s license source.
    pub async fn of(operator: &Operator, tenant: &Tenant) -> Self {
        let (license, license_error) = match operator.license(tenant).await {
            Ok(license) => (Some(license), None),
            Err(error) => (None, Some(error.to_string())),
        };
        Self {
            id: tenant.id.clone(),
            tier: tenant.tier.clone(),
            niche: tenant.niche.clone(),
            canary: tenant.canary,
            license_token: tenant.license.is_some(),
            license,
            license_error,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }
}

/// `POST /tenants`: a [`TenantSpec`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenant {
    id: String,
    tier: String,
    niche: String,
    #[serde(default)]
    canary: bool,
    #[serde(default)]
    license: Option<String>,
}

/// `PATCH /tenants/{id}`: any of tier, niche, canary and license; `license: null` removes the token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::option_option, reason = "absent keeps the token, null removes it")]
pub(crate) struct TenantPatch {
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    niche: Option<String>,
    #[serde(default)]
    canary: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    license: Option<Option<String>>,
}

/// A field that is present (`Some(None)` for `null`), as opposed to absent (`None`).
#[allow(clippy::option_option, reason = "absent keeps a value, null clears it")]
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `POST .../enable`: `{version?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnableBody {
    #[serde(default)]
    version: Option<String>,
}

/// `POST .../pin`: `{version}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PinBody {
    version: String,
}

pub(crate) async fn list(State(shared): St, Authed(actor): Authed) -> Result<Response, ApiError> {
    let tenants = shared.operator.tenants(&actor).await?;
    let mut views = Vec::with_capacity(tenants.len());
    for tenant in &tenants {
        views.push(TenantView::of(&shared.operator, tenant).await);
    }
    Ok(answer(StatusCode::OK, &json!({ "tenants": views })))
}

pub(crate) async fn create(
    State(shared): St,
    Authed(actor): Authed,
    JsonBody(body): JsonBody<NewTenant>,
) -> Result<Response, ApiError> {
    let spec = TenantSpec {
        id: tenant_name(&body.id)?,
        tier: body.tier,
        niche: body.niche,
        canary: body.canary,
        license: body.license,
    };
    let tenant = shared.operator.create_tenant(&actor, spec).await?;
    Ok(answer(
        StatusCode::CREATED,
        &TenantView::of(&shared.operator, &tenant).await,
    ))
}

pub(crate) async fn get(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let id = tenant_name(&id)?;
    let tenant = shared.operator.tenant(&actor, id.as_str()).await?;
    Ok(answer(StatusCode::OK, &TenantView::of(&shared.operator, &tenant).await))
}

pub(crate) async fn update(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
    JsonBody(patch): JsonBody<TenantPatch>,
) -> Result<Response, ApiError> {
    let id = tenant_name(&id)?;
    let current = shared.operator.tenant(&actor, id.as_str()).await?;
    let spec = TenantSpec {
        id,
        tier: patch.tier.unwrap_or(current.tier),
        niche: patch.niche.unwrap_or(current.niche),
        canary: patch.canary.unwrap_or(current.canary),
        license: patch.license.unwrap_or(current.license),
    };
    let tenant = shared.operator.update_tenant(&actor, spec).await?;
    Ok(answer(StatusCode::OK, &TenantView::of(&shared.operator, &tenant).await))
}

pub(crate) async fn plugins(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let id = tenant_name(&id)?;
    let plugins = shared.operator.tenant_plugins(&actor, id.as_str()).await?;
    let banners = shared.operator.banners(&actor, id.as_str()).await?;
    Ok(answer(
        StatusCode::OK,
        &json!({ "tenant": id, "plugins": plugins, "banners": banners }),
    ))
}

fn names(tenant: &str, plugin: &str) -> Result<(Name, Name), ApiError> {
    Ok((tenant_name(tenant)?, plugin_name(plugin)?))
}

pub(crate) async fn enable(
    State(shared): St,
    Authed(actor): Authed,
    Segments((tenant, plugin)): Segments<(String, String)>,
    JsonBody(body): JsonBody<EnableBody>,
) -> Result<Response, ApiError> {
    let (tenant, plugin) = names(&tenant, &plugin)?;
    let version = body.version.as_deref().map(parse_version).transpose()?;
    let change = shared
        .operator
        .enable(&actor, tenant.as_str(), plugin.as_str(), version)
        .await?;
    Ok(answer(StatusCode::OK, &change))
}

pub(crate) async fn disable(
    State(shared): St,
    Authed(actor): Authed,
    Segments((tenant, plugin)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let (tenant, plugin) = names(&tenant, &plugin)?;
    let change = shared
        .operator
        .disable(&actor, tenant.as_str(), plugin.as_str())
        .await?;
    Ok(answer(StatusCode::OK, &change))
}

pub(crate) async fn pin(
    State(shared): St,
    Authed(actor): Authed,
    Segments((tenant, plugin)): Segments<(String, String)>,
    JsonBody(body): JsonBody<PinBody>,
) -> Result<Response, ApiError> {
    let (tenant, plugin) = names(&tenant, &plugin)?;
    let version = parse_version(&body.version)?;
    let change = shared
        .operator
        .pin(&actor, tenant.as_str(), plugin.as_str(), version)
        .await?;
    Ok(answer(StatusCode::OK, &change))
}

pub(crate) async fn unpin(
    State(shared): St,
    Authed(actor): Authed,
    Segments((tenant, plugin)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let (tenant, plugin) = names(&tenant, &plugin)?;
    let change = shared
        .operator
        .clear_pin(&actor, tenant.as_str(), plugin.as_str())
        .await?;
    Ok(answer(StatusCode::OK, &change))
}

pub(crate) async fn settings(
    State(shared): St,
    Authed(actor): Authed,
    Segments((tenant, plugin)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let (tenant, plugin) = names(&tenant, &plugin)?;
    let values = shared
        .operator
        .settings(&actor, tenant.as_str(), plugin.as_str())
        .await?;
    Ok(answer(StatusCode::OK, &values))
}

pub(crate) async fn set_settings(
    State(shared): St,
    Authed(actor): Authed,
    Segments((tenant, plugin)): Segments<(String, String)>,
    JsonBody(values): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let (tenant, plugin) = names(&tenant, &plugin)?;
    let saved = shared
        .operator
        .set_settings(&actor, tenant.as_str(), plugin.as_str(), values)
        .await?;
    Ok(answer(StatusCode::OK, &saved))
}
