//! The JSON API under `<base>`: config, navigation, plugins, Marketplace, health, the last report, plugin
//! routes, and the plugin pages.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use semver::Version;
use serde::{Deserialize, Deserializer, Serialize};
use zelavis_core::address::PageAddress;
use zelavis_core::name::Name;
use zelavis_core::page::{PageError, PageId, RenderContext};
use zelavis_registry::catalog::Catalog;
use zelavis_registry::controller::{ControllerAnswer, ControllerState, Refusal};
use zelavis_registry::dashboard::{DashboardConfig, Marketplace, PageReply};
use zelavis_registry::loader::LoadError;
use zelavis_registry::registry::{RegistryEntry, Status};
use zelavis_registry::runtime::RouteCallError;

use crate::error::ApiError;
use crate::state::Shared;

type Shared_ = State<Arc<Shared>>;

fn json_bytes(bytes: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        bytes,
    )
        .into_response()
}

fn no_cache<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => json_bytes(Bytes::from(bytes)),
        Err(error) => {
            tracing::error!(%error, "a dashboard answer did not serialise");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub(crate) async fn navigation(State(shared): Shared_) -> Response {
    json_bytes(shared.snapshot().await.navigation_json.clone())
}

pub(crate) async fn config(State(shared): Shared_) -> Response {
    let snapshot = shared.snapshot().await;
    let marketplace = shared.marketplace(&snapshot).await;
    no_cache(&DashboardConfig::build(
        shared.options.title.clone(),
        &snapshot.sources,
        marketplace,
    ))
}

pub(crate) async fn marketplace(State(shared): Shared_) -> Response {
    let snapshot = shared.snapshot().await;
    no_cache(&shared.marketplace(&snapshot).await)
}

pub(crate) async fn plugins(State(shared): Shared_) -> Response {
    let snapshot = shared.snapshot().await;
    let empty = Marketplace::build(
        &snapshot.sources,
        &Catalog::default(),
        shared.controller.capabilities(),
        &|_| false,
    );
    let config = DashboardConfig::build(shared.options.title.clone(), &snapshot.sources, empty);
    no_cache(&serde_json::json!({ "plugins": config.plugins }))
}

pub(crate) async fn health(State(shared): Shared_) -> Response {
    let health = shared.runtime.health();
    let healthy = health
        .plugins
        .values()
        .all(|h| h.setup_failures == 0 && h.runtime_failures == 0);
    no_cache(&serde_json::json!({ "healthy": healthy, "plugins": health.plugins }))
}

pub(crate) async fn report(State(shared): Shared_) -> Response {
    no_cache(&shared.runtime.last_report().await)
}

pub(crate) async fn unknown_api(request: Request) -> ApiError {
    ApiError::not_found(format!("API path {}", zelavis_core::quote::quote(request.uri().path())))
}

/// Reads a JSON body (the guard already checked the content type and the layer the size).
async fn read_json<T: for<'de> Deserialize<'de>>(shared: &Shared, body: Body) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, shared.options.body_limit)
        .await
        .map_err(|_| ApiError::TooLarge {
            limit: shared.options.body_limit,
        })?;
    serde_json::from_slice(&bytes).map_err(|error| ApiError::bad_request(error.to_string()))
}

/// `POST <base>/dashboard/plugins`: registers a specifier the host's loader knows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    specifier: String,
    /// Install (activate) at once; default `true`. `false` registers it as available.
    #[serde(default = "yes")]
    install: bool,
}

const fn yes() -> bool {
    true
}

#[derive(Debug, Serialize)]
struct Answer {
    plugin: Name,
    #[serde(flatten)]
    answer: ControllerAnswer,
}

fn answered(
    plugin: Name,
    answer: ControllerAnswer,
    supports_runtime: bool,
    created: bool,
) -> Result<Response, ApiError> {
    let status = match (answer.state, &answer.report) {
        (ControllerState::Refused, _) => {
            return Err(ApiError::Refused {
                message: answer.message,
                refusal: answer.refusal.unwrap_or(Refusal::RuntimeFailed),
            });
        }
        (ControllerState::Active, _) | (ControllerState::Pending, Some(_)) => {
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            }
        }
        (ControllerState::Pending, None) if supports_runtime => {
            return Err(ApiError::NotApplied {
                message: answer.message,
            });
        }
        (ControllerState::Pending, None) => StatusCode::ACCEPTED,
    };
    let mut response = no_cache(&Answer { plugin, answer });
    *response.status_mut() = status;
    Ok(response)
}

pub(crate) async fn register(State(shared): Shared_, request: Request) -> Result<Response, ApiError> {
    let Register { specifier, install } = read_json(&shared, request.into_body()).await?;
    let specifier = specifier.trim().to_owned();
    if specifier.is_empty() || specifier.len() > 512 {
        return Err(ApiError::bad_request("specifier must be 1 to 512 characters"));
    }
    let Some(loader) = &shared.options.loader else {
        return Err(ApiError::NoLoader);
    };
    let def = match loader.load(&specifier).await.and_then(|m| m.resolve(&specifier)) {
        Ok(def) => def,
        Err(LoadError::NotFound { .. } | LoadError::EmptySpecifier) => {
            let specifier = zelavis_core::quote::clip(&specifier, 128);
            return Err(ApiError::UnknownSpecifier { specifier });
        }
        Err(error) => return Err(ApiError::Load(error)),
    };
    let name = def.name().clone();
    let catalog = shared.options.catalog.get(name.as_str());
    if catalog.is_some_and(zelavis_registry::catalog::CatalogEntry::is_blocked) {
        return Err(ApiError::Blocked { name: name.to_string() });
    }
    if shared.runtime.entry(name.as_str()).await.is_some() {
        return Err(ApiError::AlreadyRegistered { name: name.to_string() });
    }
    let mut entry = RegistryEntry::new(def, if install { Status::Installed } else { Status::Available })
        .specifier(specifier.clone());
    if let Some(catalog) = catalog {
        entry = entry.source(catalog.source);
    }
    tracing::info!(plugin = %name, %specifier, install, "registering a plugin from the dashboard");
    let answer = shared.controller.install(entry).await;
    answered(
        name,
        answer,
        shared.controller.capabilities().supports_runtime_install,
        true,
    )
}

/// `PATCH <base>/dashboard/plugins/:name`: any of status, order and pin; `null` clears order or pin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::option_option, reason = "absent leaves a value alone, null clears it")]
struct Patch {
    #[serde(default)]
    status: Option<Status>,
    #[serde(default, deserialize_with = "present")]
    order: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    pin: Option<Option<Version>>,
}

/// A field that is present (`Some(None)` for `null`), as opposed to absent (`None`).
#[allow(clippy::option_option, reason = "absent leaves a value alone, null clears it")]
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

pub(crate) async fn patch(
    State(shared): Shared_,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let patch: Patch = read_json(&shared, request.into_body()).await?;
    if patch.status.is_none() && patch.order.is_none() && patch.pin.is_none() {
        return Err(ApiError::bad_request("nothing to change: give status, order or pin"));
    }
    let Some(entry) = shared.runtime.entry(&name).await else {
        return Err(ApiError::Runtime(zelavis_registry::runtime::RuntimeError::Unknown {
            name: name.as_str().into(),
        }));
    };
    let plugin = entry.name().clone();
    let mut answer = None;
    if let Some(order) = patch.order {
        let report = shared.runtime.set_order(plugin.as_str(), order).await?;
        answer = Some(
            ControllerAnswer::active(format!(
                "order of {:?} is saved; it applies from the next start-up",
                plugin.as_str()
            ))
            .with_report(report),
        );
    }
    if let Some(pin) = patch.pin {
        let report = shared.runtime.set_pin(plugin.as_str(), pin).await?;
        answer = Some(ControllerAnswer::active(format!("pin of {:?} is saved", plugin.as_str())).with_report(report));
    }
    if let Some(status) = patch.status {
        answer = Some(match status {
            Status::Installed => shared.controller.enable(&plugin).await,
            Status::Available => shared.controller.disable(&plugin).await,
        });
    }
    let answer = answer.unwrap_or_else(|| unreachable!("one field at least was checked above"));
    answered(
        plugin,
        answer,
        shared.controller.capabilities().supports_runtime_install,
        false,
    )
}

/// Any method under `<base>/plugins/...`: the active plugin route serving exactly that path.
pub(crate) async fn plugin_route(State(shared): Shared_, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, shared.options.body_limit)
        .await
        .map_err(|_| ApiError::TooLarge {
            limit: shared.options.body_limit,
        })?;
    let mut forwarded = http::Request::new(bytes.to_vec());
    *forwarded.method_mut() = parts.method.clone();
    *forwarded.uri_mut() = parts.uri.clone();
    *forwarded.headers_mut() = parts.headers;
    match shared
        .runtime
        .call_route(&parts.method, parts.uri.path(), forwarded)
        .await
    {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            Ok(Response::from_parts(parts, Body::from(body)))
        }
        Err(RouteCallError::NotFound { method, path }) => Err(ApiError::not_found(format!("route {method} {path}"))),
        Err(RouteCallError::Handler(error)) => Err(ApiError::Route(error)),
        Err(error) => Err(ApiError::bad_request(error.to_string())),
    }
}

fn reply_response(reply: PageReply) -> Response {
    if !reply.refused_headers.is_empty() {
        tracing::warn!(headers = ?reply.refused_headers, "a plugin page asked for headers it may not set");
    }
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            headers.append(name, value);
        }
    }
    response
}

fn bad_address(error: &zelavis_core::address::PageAddressError) -> Response {
    reply_response(PageReply::error(400, "bad_page_address", &error.to_string()))
}

/// `GET <base>/dashboard/plugin-pages/:plugin/:page`.
pub(crate) async fn page(State(shared): Shared_, request: Request) -> Response {
    let address = match PageAddress::parse_in(request.uri().path(), &shared.paths) {
        Ok(address) => address,
        Err(error) => return bad_address(&error),
    };
    let (plugin, page) = (address.plugin.as_str(), address.page.as_str());
    let mut result = shared.runtime.render_page_response(plugin, page);
    if matches!(result, Err(PageError::NotFound { .. })) {
        let snapshot = shared.snapshot().await;
        if !snapshot.sources.registry.contains(plugin)
            && let Some(rendered) = render_service_page(&snapshot.sources.services, &address)
        {
            result = rendered;
        }
    }
    if let Err(error) = &result {
        if matches!(error, PageError::NotFound { .. }) {
            tracing::debug!(plugin, page, "no such page");
        } else {
            tracing::warn!(plugin, page, %error, "a plugin page failed to render");
        }
    }
    reply_response(PageReply::from_render(result))
}

/// `HEAD <base>/dashboard/plugin-pages/:plugin/:page`: whether the page exists and its plugin runs, without
/// rendering it (the shell asks before framing, to show a clear error instead of a JSON body).
pub(crate) async fn page_head(State(shared): Shared_, request: Request) -> Response {
    let address = match PageAddress::parse_in(request.uri().path(), &shared.paths) {
        Ok(address) => address,
        Err(error) => return bad_address(&error),
    };
    let snapshot = shared.snapshot().await;
    let key = (address.plugin.to_string(), address.page.to_string());
    let status = match snapshot.pages.get(&key) {
        Some(true) => StatusCode::OK,
        Some(false) | None => StatusCode::NOT_FOUND,
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(zelavis_registry::dashboard::page::HTML),
    );
    response
}

/// A page of a service's menu, addressed with the service's name in the plugin segment.
fn render_service_page(
    services: &zelavis_core::service::Services,
    address: &PageAddress,
) -> Option<Result<zelavis_core::page::PageResponse, PageError>> {
    let service = services.get(address.plugin.as_str())?;
    let page = service
        .service
        .menu_ref()?
        .pages()
        .find(|p| p.id == address.page.as_str())?;
    let id = PageId::parse(&page.id).ok()?;
    Some(page.render(&RenderContext::new(address.plugin.clone(), id, page.title.clone())))
}
