//! The super-admin HTTP interface: the seed's `/api/super-admin/...` routes as an axum [`Router`] over an
//! [`Operator`], and the embedded Plugins panel (HTML, CSS and vanilla JS — no build step, no CDN).
//!
//! ```no_run
//! use zelavis_operator::prelude::*;
//!
//! # async fn host() -> Result<(), Box<dyn std::error::Error>> {
//! let operator = Operator::builder(MemoryOperatorStore::new()).licenses(FixedLicenses::new()).build();
//! let auth = StaticTokens::new().token("s3cret", Actor::new("ops@example.com", Role::Owner));
//! let app = axum::Router::new().merge(zelavis_operator::http::router(operator, auth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! println!("panel: http://127.0.0.1:8080/zelavis/super-admin/");
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! # Routes (default base `/api/super-admin`)
//!
//! | route | call | answer |
//! |---|---|---|
//! | `GET /tenants` | [`Operator::tenants`] | `{tenants: [`[`TenantView`]`]}` |
//! | `POST /tenants` | [`Operator::create_tenant`] with a [`TenantSpec`](crate::tenant::TenantSpec) | `201` [`TenantView`] |
//! | `GET /tenants/{id}` | [`Operator::tenant`] | [`TenantView`] |
//! | `PATCH /tenants/{id}` | [`Operator::update_tenant`] with any of `{tier, niche, canary, license}` | [`TenantView`] |
//! | `GET /tenants/{id}/plugins` | [`Operator::tenant_plugins`], [`Operator::banners`] | `{tenant, plugins, banners}` |
//! | `POST /tenants/{id}/plugins/{plugin}/enable` | [`Operator::enable`], body `{version?}` | [`GrantChange`](crate::operator::GrantChange) |
//! | `POST /tenants/{id}/plugins/{plugin}/disable` | [`Operator::disable`] | [`GrantChange`](crate::operator::GrantChange) |
//! | `POST /tenants/{id}/plugins/{plugin}/pin` | [`Operator::pin`], body `{version}` | [`GrantChange`](crate::operator::GrantChange) |
//! | `DELETE /tenants/{id}/plugins/{plugin}/pin` | [`Operator::clear_pin`] | [`GrantChange`](crate::operator::GrantChange) |
//! | `GET`, `PUT /tenants/{id}/plugins/{plugin}/settings` | [`Operator::settings`], [`Operator::set_settings`] | the settings object |
//! | `GET /plugins` | [`Operator::catalog`] | `{plugins: [`[`CatalogRow`](crate::catalog::CatalogRow)`]}` |
//! | `GET /plugins/{id}` | [`Operator::catalog_row`] | [`CatalogRow`](crate::catalog::CatalogRow) |
//! | `POST /plugins/{id}/deprecate` | [`Operator::deprecate`], body `{message, replacement?, disallow_new_enable?}` | `{plugin, banners}` |
//! | `DELETE /plugins/{id}` | [`Operator::remove`] (owners) | the tombstone [`PluginRecord`](crate::catalog::PluginRecord) |
//! | `POST /plugins/{id}/kill`, `DELETE /plugins/{id}/kill` | [`Operator::kill_switch`] (owners), body `{reason}` | `{plugin, killed, tenants}` |
//! | `GET /health` | [`Operator::collect_health`], [`Operator::health`] | `{healthy, plugins}` |
//! | `GET /audit?after=&limit=` | [`Operator::audit`] (limit 1 to 1000, default 100) | `{events: [{seq, prev_hash, hash, body, entry}], next_after}` |
//! | `GET /audit/verify` | [`Operator::verify_audit`] | `{valid, events, head}` or `{valid: false, problem, seq, message}` |
//! | `POST /plugins/{id}/publish` | [`Operator::publish`], `multipart/form-data` (below) | `201` [`Rollout`](crate::rollout::Rollout) |
//! | `GET /rollouts?open=` | [`Operator::rollouts`] (`open=true`: not in a final state), newest first | `{rollouts: [`[`Rollout`](crate::rollout::Rollout)`]}` |
//! | `GET /plugins/{id}/rollouts?open=` | [`Operator::rollouts`] of one plugin | `{plugin, rollouts}` |
//! | `GET /plugins/{id}/rollouts/{version}` | [`Operator::rollout`] | [`Rollout`](crate::rollout::Rollout) |
//! | `POST /plugins/{id}/rollouts/{version}/canary` | [`Operator::start_canary`], body `{tenants}` | [`Rollout`](crate::rollout::Rollout) |
//! | `POST /plugins/{id}/rollouts/{version}/judge` | [`Operator::judge_rollout`] with an [`OperatorHealthMonitor`] (operators) | [`Rollout`](crate::rollout::Rollout) |
//! | `POST /plugins/{id}/rollouts/{version}/promote` | [`Operator::promote`], body `{reason?}` | [`Rollout`](crate::rollout::Rollout) |
//! | `POST /plugins/{id}/rollouts/{version}/pause` | [`Operator::pause`], body `{reason?}` | [`Rollout`](crate::rollout::Rollout) |
//! | `POST /plugins/{id}/rollouts/{version}/resume` | [`Operator::resume`], body `{reason?}` | [`Rollout`](crate::rollout::Rollout) |
//! | `POST /plugins/{id}/rollouts/{version}/rollback` | [`Operator::rollback`], body `{reason}` | [`Rollout`](crate::rollout::Rollout) |
//! | `POST /plugins/{id}/rollouts/{version}/resume-rollout` | [`Operator::resume_rollout`] (an interrupted `uploaded` or `verified` one) | [`Rollout`](crate::rollout::Rollout) |
//!
//! A scoped plugin id is one path segment, percent-encoded: `/plugins/%40acme%2Freports`.
//!
//! # Publishing
//!
//! `POST /plugins/{id}/publish` takes `multipart/form-data` with the parts `bundle` (the `.tar.gz`),
//! `signature` (the signed release record, the `.sig` JSON), `tenant` (the publishing tenant, whose license
//! needs the `marketplace_publisher` feature: else `403 feature_denied` and nothing is stored), and optionally
//! `backport` (`true`), `wait` (the canary wait, seconds; default 24 h) and the judge's settings `window`
//! (seconds), `ratio`, `floor`, `min_requests`, `breaches_to_rollback`. Each part at most once; an unknown,
//! missing or repeated part is `422 invalid_body`, a body that is not multipart `415 not_multipart`. The signed
//! record must be for `{id}` (else `422 wrong_release`); a refused signature or bundle answers `422` with the
//! check's code (`unknown_kid`, `tampered_bundle`, ...), a version published before `409 version_exists`.
//! Only this route takes more than the body limit: up to [`SuperAdminOptions::upload_limit`] (33 MiB).
//! It answers `201` with the rollout as the publication left it: `smoke_tested` with the smoke test's figures,
//! or `failed` with the evidence in its history.
//!
//! # Authentication and errors
//!
//! Every API request carries `authorization: Bearer <token>`, which the host's
//! [`Authenticator`] turns into the [`Actor`](crate::role::Actor) every call (reads too) is made as; without a
//! known token the answer is `401 {"error": "unauthorized"}`. The actor's role decides the rest
//! (`403 forbidden`).
//!
//! Every error is JSON `{error, message}` (plus `problems` for invalid settings and `tenants` for a removal
//! refused while in use) — [`ApiError`]: an operator refusal keeps its code and
//! [`status`](crate::error::OperatorError::status) (`license_denied` 403, `tier_too_low` 403, `niche_mismatch`
//! 409, `version_not_found` 404, `invalid_version` 422, ...); malformed JSON is `400 bad_request`, JSON of the
//! wrong shape `422 invalid_body`, a body that is not `application/json` `415 not_json`, a body over the limit
//! `413 too_large`, an unknown route `404 not_found`, a wrong method `405 method_not_allowed`, and a panic
//! `500 internal`. Answers are `Cache-Control: no-store`; every response is `X-Content-Type-Options: nosniff`.
//!
//! # The panel
//!
//! Served at `/zelavis/super-admin/` by default with `Content-Security-Policy: `[`PANEL_POLICY`]: a token field
//! (kept in `sessionStorage`), the catalog with badges, versions, tiers, niches, usage and state, health and
//! deprecation banners, a tenant picker and the tenant's plugins with enable / disable and a pin selector;
//! a refused call shows its code (e.g. `tier_too_low`) on the plugin's row. Its Publishing area uploads a signed
//! bundle (multipart, with the publishing tenant), and shows each rollout's wizard steps (`Uploaded → Verified →
//! SmokeTested → Canary → Promoted`, or `RolledBack`, `Paused`, `Failed`), the smoke test's figures, the canary
//! tenants and the judged windows, with buttons to start a canary, judge, promote, pause, resume and roll back.

mod catalog;
mod error;
mod extract;
mod log;
mod options;
mod panel;
mod rollouts;
mod tenants;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use serde::Serialize;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use zelavis_core::name::Name;

use crate::Operator;
use crate::error::parse_name;
use crate::judge::OperatorHealthMonitor;
use crate::role::Authenticator;

pub use error::ApiError;
pub use options::{DEFAULT_BASE_PATH, DEFAULT_BODY_LIMIT, DEFAULT_PANEL_PATH, DEFAULT_UPLOAD_LIMIT, SuperAdminOptions};
pub use panel::PANEL_POLICY;
pub use tenants::TenantView;

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) operator: Operator,
    pub(crate) auth: Arc<dyn Authenticator>,
    pub(crate) options: SuperAdminOptions,
    /// The judge's monitor: one per router, so each window counts what was added since the last one.
    pub(crate) monitor: OperatorHealthMonitor,
}

/// The super-admin router with the default [`SuperAdminOptions`]: the API under `/api/super-admin` and the
/// panel at `/zelavis/super-admin/`. `merge` it into the host's router (or serve it alone).
pub fn router(operator: Operator, auth: impl Authenticator) -> Router {
    router_with(operator, auth, SuperAdminOptions::default())
}

/// The super-admin router with `options`.
pub fn router_with(operator: Operator, auth: impl Authenticator, options: SuperAdminOptions) -> Router {
    let limit = options.body_limit;
    let upload = options.upload_limit;
    let base = options.base.clone();
    let panel_path = options.panel.clone();
    let shared = Arc::new(Shared {
        monitor: OperatorHealthMonitor::new(operator.clone()),
        operator,
        auth: Arc::new(auth),
        options,
    });

    let grant = |action: &str| format!("{base}/tenants/{{id}}/plugins/{{plugin}}/{action}");
    let rollout = |action: &str| format!("{base}/plugins/{{id}}/rollouts/{{version}}/{action}");
    let api = Router::new()
        .route(&format!("{base}/tenants"), get(tenants::list).post(tenants::create))
        .route(
            &format!("{base}/tenants/{{id}}"),
            get(tenants::get).patch(tenants::update),
        )
        .route(&format!("{base}/tenants/{{id}}/plugins"), get(tenants::plugins))
        .route(&grant("enable"), post(tenants::enable))
        .route(&grant("disable"), post(tenants::disable))
        .route(&grant("pin"), post(tenants::pin).delete(tenants::unpin))
        .route(&grant("settings"), get(tenants::settings).put(tenants::set_settings))
        .route(&format!("{base}/plugins"), get(catalog::list))
        .route(
            &format!("{base}/plugins/{{id}}"),
            get(catalog::get).delete(catalog::remove),
        )
        .route(&format!("{base}/plugins/{{id}}/deprecate"), post(catalog::deprecate))
        .route(
            &format!("{base}/plugins/{{id}}/kill"),
            post(catalog::kill).delete(catalog::revive),
        )
        .route(&format!("{base}/health"), get(log::health))
        .route(&format!("{base}/audit"), get(log::audit))
        .route(&format!("{base}/audit/verify"), get(log::verify))
        .route(&format!("{base}/rollouts"), get(rollouts::list))
        .route(&format!("{base}/plugins/{{id}}/rollouts"), get(rollouts::of_plugin))
        .route(
            &format!("{base}/plugins/{{id}}/rollouts/{{version}}"),
            get(rollouts::get),
        )
        .route(&rollout("canary"), post(rollouts::canary))
        .route(&rollout("judge"), post(rollouts::judge))
        .route(&rollout("promote"), post(rollouts::promote))
        .route(&rollout("pause"), post(rollouts::pause))
        .route(&rollout("resume"), post(rollouts::resume))
        .route(&rollout("rollback"), post(rollouts::rollback))
        .route(&rollout("resume-rollout"), post(rollouts::resume_rollout))
        .route(&format!("{base}/{{*rest}}"), any(unknown))
        .route(if base.is_empty() { "/" } else { &base }, any(unknown))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(RequestBodyLimitLayer::new(limit))
        .with_state(shared.clone());

    // The publish upload alone takes more than the body limit: its multipart body is read up to the upload
    // limit (a larger one is refused as `413 too_large` naming that limit).
    let publish = Router::new()
        .route(&format!("{base}/plugins/{{id}}/publish"), post(rollouts::publish))
        .layer(DefaultBodyLimit::max(upload))
        .layer(axum::middleware::map_response_with_state(upload, error::normalise))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(shared.clone());

    let mut app = api.merge(publish);
    if let Some(panel_path) = panel_path {
        app = app.merge(panel_routes(&shared.options, &panel_path));
    }

    // One stack for every route, outermost first: nosniff on everything; then every error answer made JSON
    // (including the ones the layers below write); a panic caught. Bodies are limited per group: the API's
    // and the panel's to the body limit, the publish upload to the upload limit.
    let common = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(axum::middleware::map_response_with_state(limit, error::normalise))
        .layer(CatchPanicLayer::new());
    app.layer(common)
}

fn panel_routes(options: &SuperAdminOptions, panel: &str) -> Router {
    let html = axum::body::Bytes::from(panel::document(options, panel));
    let document = move || {
        let html = html.clone();
        async move {
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                ],
                html,
            )
        }
    };
    let mut routes = Router::new()
        .route(panel, get(document))
        .route(
            &format!("{panel}panel.css"),
            get(|| async { panel::asset("text/css; charset=utf-8", panel::PANEL_CSS) }),
        )
        .route(
            &format!("{panel}panel.js"),
            get(|| async { panel::asset("text/javascript; charset=utf-8", panel::PANEL_JS) }),
        );
    let bare = panel.trim_end_matches('/');
    if !bare.is_empty() {
        let target = panel.to_owned();
        routes = routes.route(bare, get(move || async move { Redirect::permanent(&target) }));
    }
    routes.layer(
        tower::ServiceBuilder::new()
            .layer(RequestBodyLimitLayer::new(options.body_limit))
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PANEL_POLICY),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            )),
    )
}

async fn unknown(request: axum::extract::Request) -> ApiError {
    ApiError::not_found(request.uri().path())
}

/// A JSON answer.
pub(crate) fn answer<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            bytes,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "a super-admin answer did not serialise");
            ApiError::Internal.into_response()
        }
    }
}

/// A tenant id from the path or a body.
pub(crate) fn tenant_name(text: &str) -> Result<Name, ApiError> {
    Ok(parse_name("tenant", text)?)
}

/// A plugin id from the path or a body.
pub(crate) fn plugin_name(text: &str) -> Result<Name, ApiError> {
    Ok(parse_name("plugin", text)?)
}
