//! A [`WasmModule`] as an ordinary [`PluginDef`]: its manifest becomes the definition, and each hook, filter,
//! route, page, child setup and extension point becomes a call into a fresh instance.

use std::sync::Arc;

use async_trait::async_trait;
use http::{HeaderName, HeaderValue, StatusCode};
use zelavis_core::bus::{FilterRef, HandlerError, HookRef, Subscription};
use zelavis_core::name::Name;
use zelavis_core::page::{Page, PageEntry, RenderContext, RenderError, RenderOutput};
use zelavis_plugin::context::SetupContext;
use zelavis_plugin::data::Data;
use zelavis_plugin::definition::{ExtendsDecl, ExtensionPointDecl};
use zelavis_plugin::route::{Route, RouteParams, RouteRequest, RouteResponse};
use zelavis_plugin::setup::{DataChildSetup, SetupError};
use zelavis_plugin::{DefinitionError, PluginDef};

use crate::abi::{EntryKind, PageInput, RouteInput, RouteOutput};
use crate::error::{CallError, Stop};
use crate::module::WasmModule;

impl WasmModule {
    /// The module as a plugin definition: activated, ordered, reported, recomposed and governed by
    /// extension-point policy like any plugin. A child's API crosses as JSON (the parent declares its point
    /// with `ExtensionPointRef::data`); a parent's extension points start from the API its guest returns and
    /// compose through `SetupContext::extend_data`.
    pub fn definition(&self) -> Result<PluginDef, DefinitionError> {
        let m = self.manifest();
        let mut builder = PluginDef::builder(m.name.as_str())
            .version(m.version.to_string())
            .contract(m.contract.clone())
            .description(m.description.clone())
            .permissions(m.permissions.iter().copied());
        for dependency in &m.dependencies {
            let requirement = dependency.version.as_ref().map(ToString::to_string);
            builder = builder.dependency(dependency.plugin.as_str(), requirement.as_deref());
        }
        for point in &m.extension_points {
            builder = builder.extension_point(
                ExtensionPointDecl::new(point.name.as_str())
                    .policy(point.policy)
                    .allow_all(point.allowed_plugins.iter().map(Name::as_str)),
            );
        }
        if let Some(menu) = &m.menu {
            let order: Vec<&str> = menu.pages().map(|p| p.id.as_str()).collect();
            builder = builder.menu(menu.map_pages(&mut |entry: &PageEntry| {
                let index = order.iter().position(|id| *id == entry.id).unwrap_or(0);
                page(self, entry, index)
            }));
        }
        builder = match &m.extends {
            Some(extends) => builder.extends(ExtendsDecl::data(
                extends.plugin.as_str(),
                extends.extension_point.as_str(),
                WasmChild(self.clone()),
            )),
            None if self.has_setup() => {
                let module = self.clone();
                builder.setup_async(move |cx| {
                    let module = module.clone();
                    async move { module.setup(&cx).await }
                })
            }
            None => builder,
        };
        builder.build()
    }

    fn has_setup(&self) -> bool {
        !(self.inner.hooks.is_empty()
            && self.inner.filters.is_empty()
            && self.inner.routes.is_empty()
            && self.manifest().extension_points.is_empty())
    }

    /// A top-level module's setup: its registrations, then each extension point composed with its children.
    async fn setup(&self, cx: &SetupContext) -> Result<(), SetupError> {
        self.register(cx)?;
        for (index, point) in self.manifest().extension_points.iter().enumerate() {
            let index32 = u32::try_from(index).unwrap_or(u32::MAX);
            let mut api = self
                .call_json(EntryKind::Point, index32, b"")
                .map_err(SetupError::other)?;
            cx.extend_data(point.name.as_str(), &mut api).await?;
            self.set_point_api(index, Arc::from(api));
        }
        Ok(())
    }

    /// Subscribes the hooks and filters and registers the routes.
    fn register(&self, cx: &SetupContext) -> Result<(), SetupError> {
        for (index, (name, entry)) in (0u32..).zip(&self.inner.hooks) {
            let module = self.clone();
            cx.subscribe(Subscription::hook_sync(
                &HookRef::<Data>::new(name),
                entry.priority,
                move |event: &Data| {
                    module
                        .call(EntryKind::Hook, index, event.as_bytes())
                        .map(drop)
                        .map_err(handler_error)
                },
            ))?;
        }
        for (index, (name, entry)) in (0u32..).zip(&self.inner.filters) {
            let module = self.clone();
            cx.subscribe(Subscription::filter(
                &FilterRef::<Data>::new(name),
                entry.priority,
                move |value: &Data| {
                    let json = module
                        .call_json(EntryKind::Filter, index, value.as_bytes())
                        .map_err(handler_error)?;
                    // ok: `call_json` checked that the output is one JSON document.
                    Data::from_json(json).map_err(HandlerError::from)
                },
            ))?;
        }
        for (index, (method, entry)) in (0u32..).zip(&self.inner.routes) {
            let module = self.clone();
            let route = Route::new(method.clone(), entry.path.clone(), move |request: RouteRequest| {
                let answer = module.route(index, &request);
                async move { answer }
            })?;
            cx.register_route(route)?;
        }
        Ok(())
    }

    /// Calls an entry whose output must be one JSON document.
    fn call_json(&self, kind: EntryKind, index: u32, input: &[u8]) -> Result<Vec<u8>, CallError> {
        let output = self.call(kind, index, input)?;
        match serde_json::from_slice::<serde::de::IgnoredAny>(&output) {
            Ok(_) => Ok(output),
            Err(error) => Err(self.stopped(
                kind,
                index,
                Stop::AbiMismatch {
                    reason: format!("the {} output is not JSON: {error}", kind.as_str()),
                },
            )),
        }
    }

    fn route(&self, index: u32, request: &RouteRequest) -> Result<RouteResponse, String> {
        let Ok(body) = std::str::from_utf8(request.body()) else {
            return respond(
                StatusCode::UNSUPPORTED_MEDIA_TYPE.as_u16(),
                &[],
                "routes of zelavis-guest/1 take UTF-8 bodies".to_owned(),
            );
        };
        let input = RouteInput {
            method: request.method().to_string(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().unwrap_or_default().to_owned(),
            params: RouteParams::of(request)
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            headers: request
                .headers()
                .iter()
                .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
                .collect(),
            body: body.to_owned(),
        };
        let input = serde_json::to_vec(&input).map_err(|e| e.to_string())?;
        let output = self.call(EntryKind::Route, index, &input).map_err(|e| e.to_string())?;
        let output: RouteOutput = serde_json::from_slice(&output).map_err(|error| {
            self.stopped(
                EntryKind::Route,
                index,
                Stop::AbiMismatch {
                    reason: format!("the route output is not a RouteOutput: {error}"),
                },
            )
            .to_string()
        })?;
        respond(output.status, &output.headers, output.body)
    }

    fn render(&self, index: u32, cx: &RenderContext) -> Result<RenderOutput, RenderError> {
        let input = PageInput {
            plugin: cx.plugin.to_string(),
            page: cx.page.to_string(),
            title: cx.title.clone(),
        };
        let input = serde_json::to_vec(&input).map_err(|e| RenderError::new(e.to_string()))?;
        let output = self
            .call(EntryKind::Page, index, &input)
            .map_err(|e| RenderError::new(e.to_string()))?;
        serde_json::from_slice::<RenderOutput>(&output).map_err(|error| {
            let stop = Stop::AbiMismatch {
                reason: format!("the page output is neither a JSON string nor {{\"html\": ...}}: {error}"),
            };
            RenderError::new(self.stopped(EntryKind::Page, index, stop).to_string())
        })
    }
}

#[allow(clippy::needless_pass_by_value, reason = "used as `map_err(handler_error)`")]
fn handler_error(error: CallError) -> HandlerError {
    HandlerError::new(error.to_string())
}

fn respond(status: u16, headers: &[(String, String)], body: String) -> Result<RouteResponse, String> {
    let mut response = RouteResponse::new(body.into_bytes());
    *response.status_mut() = StatusCode::from_u16(status).map_err(|_| format!("guest answered status {status}"))?;
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("guest header {name:?}: {e}"))?;
        let value = HeaderValue::from_str(value).map_err(|e| format!("guest header value {value:?}: {e}"))?;
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

fn page(module: &WasmModule, entry: &PageEntry, index: usize) -> Page {
    let module = module.clone();
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    Page::new(entry.id.clone(), entry.title.clone(), move |cx: &RenderContext| {
        module.render(index, cx)
    })
}

/// A wasm child's setup: its registrations, then the guest's changes to the parent's API.
struct WasmChild(WasmModule);

#[async_trait]
impl DataChildSetup for WasmChild {
    async fn setup(&self, api: Vec<u8>, cx: &SetupContext) -> Result<Vec<u8>, SetupError> {
        self.0.register(cx)?;
        self.0.call_json(EntryKind::Child, 0, &api).map_err(SetupError::other)
    }
}
