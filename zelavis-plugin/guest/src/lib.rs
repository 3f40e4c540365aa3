//! The Zelavis guest SDK: write a WebAssembly plugin in the words of a native one.
//!
//! A guest is a `cdylib` crate with one [`define_plugin!`] — the shape of the native `define_plugin!` (name,
//! version, permissions, menu with pages, extension points, `extends`) plus what its code handles (hooks,
//! filters, routes) — built for `wasm32-unknown-unknown`. The macro writes the module's manifest into a custom
//! section (checked by the host like a `zelavis.plugin.json`, before any guest code runs) and exports the
//! ABI's `zelavis_call`; this crate exports `zelavis_alloc` and turns bytes into your types and back.
//!
//! ```ignore
//! use serde::{Deserialize, Serialize};
//! use zelavis_guest::{Error, PageContext, http::{Request, Response}};
//!
//! #[derive(Serialize, Deserialize)]
//! struct PaymentsApi { providers: Vec<String> }
//! #[derive(Deserialize)]
//! struct Order { id: u64, cents: u64 }
//!
//! zelavis_guest::define_plugin! {
//!     name: "acme-pay",
//!     // version: defaults to the crate's version
//!     permissions: [hooks.subscribe, routes.register],
//!     host_permissions: [log, kv],
//!     extends: { plugin: "zelavis-ecommerce", extension_point: "payments" },
//!     setup: |api: &mut PaymentsApi| { api.providers.push("acme-pay".into()); Ok(()) },
//!     hooks: [{ hook: "order.created", priority: 10, handler: on_order }],
//!     routes: [{ method: "GET", path: "/status", handler: status }],
//! }
//!
//! fn on_order(order: Order) -> Result<(), Error> {
//!     zelavis_guest::log::info(&format!("order {} for {} cents", order.id, order.cents));
//!     Ok(())
//! }
//!
//! fn status(_request: Request) -> Result<Response, Error> {
//!     Ok(Response::json(&serde_json::json!({ "ok": true }))?)
//! }
//! ```
//!
//! # Building
//!
//! With rustup: `rustup target add wasm32-unknown-unknown`, then
//! `cargo build --release --target wasm32-unknown-unknown`; the module is
//! `target/wasm32-unknown-unknown/release/<crate>.wasm`. Where rustup cannot add targets, Debian's toolchain
//! can (this is what the repository's `.ci/guests` does):
//!
//! ```sh
//! apt-get install -y --no-install-recommends rustc-web cargo-web rust-web-src lld-22
//! RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc /usr/bin/cargo build --release \
//!   --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort \
//!   --config 'target.wasm32-unknown-unknown.linker="wasm-ld-22"'
//! ```
//!
//! Recommended profile: `panic = "abort"`, `opt-level = "s"`, `lto = true`, `strip = "debuginfo"` (keep the
//! custom sections: do not strip them), and a small stack (`-C link-arg=-zstack-size=65536`) so each call's
//! fresh instance starts with little memory.
//!
//! # Handlers
//!
//! | entry | handler | receives | returns |
//! |---|---|---|---|
//! | `hooks` | `handler` | the event, any `T: Deserialize` (e.g. [`Value`]) | `Result<(), E>` |
//! | `filters` | `handler` | the value, `T: Deserialize` | `Result<U, E>`, `U: Serialize` |
//! | `routes` | `handler` | a [`Request`](http::Request) | `Result<Response, E>` |
//! | menu `page` | `render` | `&`[`PageContext`] | a `String`, `&str` or [`Html`], or a `Result` of one |
//! | `setup` (a child) | — | `&mut Api`, `Api: Serialize + Deserialize` | `Result<(), E>` |
//! | `extension_points[i].init` | — | nothing | the API children start from, `Serialize` |
//!
//! where `E: Display` (e.g. [`Error`]). An error is the call's failure, reported to the host with its message;
//! a panic stops the call as a trap, its message reported through `zelavis.abort`.
//!
//! The ABI itself (`zelavis-guest/1`: sections, exports, imports, memory and encoding rules, versioning) is
//! written down in the host crate `zelavis-wasm`.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use serde_json::{self, Value, json};
pub use zelavis_guest_macros::define_plugin;

/// The ABI this SDK builds for.
pub const ABI: &str = "zelavis-guest/1";

/// An error a handler returns: a message for the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Self(error.to_string())
    }
}

/// What a page render is told.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PageContext {
    /// The plugin.
    pub plugin: String,
    /// The page id.
    pub page: String,
    /// The page title.
    pub title: String,
}

/// The `{ html }` form of a render result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Html {
    /// HTML text: a fragment (the host wraps it into a full document) or a full document.
    pub html: String,
}

impl Html {
    /// Wraps HTML text.
    pub fn new(html: impl Into<String>) -> Self {
        Self { html: html.into() }
    }
}

/// What a page render returns, as the host reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Rendered {
    /// An HTML string.
    Markup(String),
    /// `{ "html": ... }`.
    Html(Html),
}

impl From<String> for Rendered {
    fn from(value: String) -> Self {
        Rendered::Markup(value)
    }
}

impl From<&str> for Rendered {
    fn from(value: &str) -> Self {
        Rendered::Markup(value.to_owned())
    }
}

impl From<Html> for Rendered {
    fn from(value: Html) -> Self {
        Rendered::Html(value)
    }
}

/// HTTP for routes: what a route receives and answers.
pub mod http {
    use serde::{Deserialize, Serialize};

    /// A request to one of the plugin's routes.
    #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
    pub struct Request {
        /// The method, e.g. `GET`.
        pub method: String,
        /// The full request path.
        pub path: String,
        /// The query string, without `?`.
        #[serde(default)]
        pub query: String,
        /// The values the path gave the route's parameters (`{id}`, `{*rest}`), percent-decoded.
        #[serde(default)]
        pub params: Vec<(String, String)>,
        /// Headers whose values are UTF-8, in order.
        #[serde(default)]
        pub headers: Vec<(String, String)>,
        /// The body (UTF-8).
        #[serde(default)]
        pub body: String,
    }

    impl Request {
        /// The value of route parameter `name` (`/orders/{id}` → `param("id")`).
        pub fn param(&self, name: &str) -> Option<&str> {
            self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
        }

        /// The first header named `name` (case-insensitive).
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        /// The body decoded from JSON.
        pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
            serde_json::from_str(&self.body)
        }
    }

    /// A route's answer.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
    pub struct Response {
        /// The status code.
        pub status: u16,
        /// Headers, in order.
        pub headers: Vec<(String, String)>,
        /// The body.
        pub body: String,
    }

    impl Response {
        /// `200` with a `text/plain` body.
        pub fn text(body: impl Into<String>) -> Self {
            Self {
                status: 200,
                headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                body: body.into(),
            }
        }

        /// `200` with `value` as a JSON body.
        pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
            Ok(Self {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_string(value)?,
            })
        }

        /// The same answer with another status.
        #[must_use]
        pub fn status(mut self, status: u16) -> Self {
            self.status = status;
            self
        }

        /// The same answer with one more header.
        #[must_use]
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.headers.push((name.into(), value.into()));
            self
        }
    }
}

mod imports;

/// Logging through the host (needs `host_permissions: [log]`).
pub mod log {
    fn write(level: i32, message: &str) {
        crate::imports::log(level, message);
    }

    /// Logs an error.
    pub fn error(message: &str) {
        write(0, message);
    }

    /// Logs a warning.
    pub fn warn(message: &str) {
        write(1, message);
    }

    /// Logs information.
    pub fn info(message: &str) {
        write(2, message);
    }

    /// Logs a debugging detail.
    pub fn debug(message: &str) {
        write(3, message);
    }
}

/// The plugin's own settings, as the host set them (needs `host_permissions: [settings.read]`); `None` when
/// the host set none or they are not a `T`.
pub fn settings<T: DeserializeOwned>() -> Option<T> {
    serde_json::from_slice(&imports::settings()?).ok()
}

/// The API extension point `index` (its position in `extension_points`) composed with its children at setup;
/// `None` before setup or when it is not a `T`.
pub fn point_api<T: DeserializeOwned>(index: u32) -> Option<T> {
    serde_json::from_slice(&imports::point_api(index)?).ok()
}

/// The plugin's own key/value space (needs `host_permissions: [kv]`); kept by the host, shared by every call.
pub mod kv {
    /// The host refused a write: the space is full ([`Limits::kv_bytes`] on the host) or the key is empty or
    /// longer than 256 bytes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Refused;

    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the host refused the key/value write (quota or key length)")
        }
    }

    /// The value of `key`.
    pub fn get(key: &[u8]) -> Option<Vec<u8>> {
        crate::imports::kv_get(key)
    }

    /// Sets `key` to `value`.
    pub fn set(key: &[u8], value: &[u8]) -> Result<(), Refused> {
        if crate::imports::kv_set(key, value) {
            Ok(())
        } else {
            Err(Refused)
        }
    }

    /// Removes `key`; says whether it was there.
    pub fn delete(key: &[u8]) -> bool {
        crate::imports::kv_delete(key)
    }
}

/// What the code `define_plugin!` generates calls. Not a public API.
#[doc(hidden)]
pub mod __rt {
    use std::fmt::Display;

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use crate::{PageContext, Rendered};

    /// A handler's outcome: its result bytes, or its error message.
    pub type Outcome = Result<Vec<u8>, String>;

    fn decode<T: DeserializeOwned>(input: &[u8], what: &str) -> Result<T, String> {
        serde_json::from_slice(input).map_err(|e| format!("the {what} is not what the handler takes: {e}"))
    }

    fn encode<T: Serialize + ?Sized>(value: &T) -> Outcome {
        serde_json::to_vec(value).map_err(|e| e.to_string())
    }

    /// One `zelavis_call`: installs the panic reporter, reads the input, runs `dispatch`, returns the output.
    pub fn call(kind: i32, index: i32, ptr: i32, len: i32, dispatch: impl FnOnce(i32, i32, &[u8]) -> Outcome) -> i64 {
        crate::imports::report_panics();
        let input = crate::imports::input(ptr, len);
        crate::imports::output(dispatch(kind, index, &input))
    }

    /// A hook handler.
    pub fn hook<T: DeserializeOwned, E: Display>(handler: impl Fn(T) -> Result<(), E>, input: &[u8]) -> Outcome {
        let event = decode(input, "event")?;
        handler(event).map(|()| Vec::new()).map_err(|e| e.to_string())
    }

    /// A filter.
    pub fn filter<T: DeserializeOwned, U: Serialize, E: Display>(
        handler: impl Fn(T) -> Result<U, E>,
        input: &[u8],
    ) -> Outcome {
        let value = decode(input, "value")?;
        encode(&handler(value).map_err(|e| e.to_string())?)
    }

    /// A route.
    pub fn route<E: Display>(
        handler: impl Fn(crate::http::Request) -> Result<crate::http::Response, E>,
        input: &[u8],
    ) -> Outcome {
        let request = decode(input, "request")?;
        encode(&handler(request).map_err(|e| e.to_string())?)
    }

    /// What a page render may return: a [`Rendered`] form, or a `Result` of one.
    pub trait IntoRender {
        /// The rendered page, or the error's message.
        fn into_render(self) -> Result<Rendered, String>;
    }

    impl IntoRender for String {
        fn into_render(self) -> Result<Rendered, String> {
            Ok(self.into())
        }
    }

    impl IntoRender for &str {
        fn into_render(self) -> Result<Rendered, String> {
            Ok(self.into())
        }
    }

    impl IntoRender for crate::Html {
        fn into_render(self) -> Result<Rendered, String> {
            Ok(self.into())
        }
    }

    impl IntoRender for Rendered {
        fn into_render(self) -> Result<Rendered, String> {
            Ok(self)
        }
    }

    impl<T: Into<Rendered>, E: Display> IntoRender for Result<T, E> {
        fn into_render(self) -> Result<Rendered, String> {
            self.map(Into::into).map_err(|e| e.to_string())
        }
    }

    /// A page render.
    pub fn page<R: IntoRender>(handler: impl Fn(&PageContext) -> R, input: &[u8]) -> Outcome {
        let cx: PageContext = decode(input, "page context")?;
        encode(&handler(&cx).into_render()?)
    }

    /// A child's setup against its parent's API.
    pub fn child<Api: Serialize + DeserializeOwned, E: Display>(
        setup: impl Fn(&mut Api) -> Result<(), E>,
        input: &[u8],
    ) -> Outcome {
        let mut api: Api = decode(input, "parent's API")?;
        setup(&mut api).map_err(|e| e.to_string())?;
        encode(&api)
    }

    /// The API an extension point starts from.
    pub fn point<Api: Serialize>(init: impl Fn() -> Api) -> Outcome {
        encode(&init())
    }

    /// A kind and index the manifest does not have.
    pub fn unknown(kind: i32, index: i32) -> Outcome {
        Err(format!("this module has no entry {index} of kind {kind}"))
    }
}
