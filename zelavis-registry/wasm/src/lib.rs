//! WebAssembly plugins for Zelavis: uploaded code that installs live and runs sandboxed.
//!
//! A module built with the guest SDK (`zelavis-guest`) carries its plugin manifest; [`WasmLoader`] checks it
//! with the same rules as a `zelavis.plugin.json` and turns it into an ordinary `PluginDef`
//! ([`WasmModule::definition`]), so a wasm plugin activates, reports, recomposes, follows a shared store and is
//! governed by extension-point policy like a compiled-in one. What it can contribute: hook handlers and filters
//! (on [`Data`](zelavis_plugin::data::Data) payloads), routes, page renders, and — as a child — changes to a
//! parent's data API (`ExtensionPointRef::data`); as a parent, extension points whose API its native or wasm
//! children change.
//!
//! Every call gets a **fresh instance** of the compiled module, within [`Limits`] (fuel, memory, input,
//! output, wall-clock time); exceeding one stops the call with a typed [`Stop`] that feeds plugin health
//! (the runtime's, and [`WasmLoader::health`]); the host and the other plugins go on. A module is linked only
//! to the host functions its manifest's `host_permissions` grant. Compiled modules live in memory per
//! (plugin, version) while a definition uses them and are **dropped on uninstall**: unlike native plugins,
//! whose code stays linked, a wasm plugin's code is data and really goes away.
//!
//! - [`loader`]: [`WasmLoader`], specifiers `wasm:<plugin>@<version>`, the module cache, uploads;
//! - [`module`]: [`WasmModule`], a checked, linked module and its calls;
//! - [`controller`]: [`WasmController`], live installs from uploads and convergence of hosts;
//! - [`abi`], [`host`], [`limits`], [`error`], [`health`]: the ABI, host functions, limits, errors, health.
//!
//! ```
//! use zelavis_wasm::{WasmError, WasmLoader, abi};
//!
//! // A module built for another ABI is refused, naming both versions, before any of it runs.
//! let wasm = wat::parse_str(r#"(module (@custom "zelavis.abi" "zelavis-guest/2"))"#)?;
//! let loader = WasmLoader::new(tempfile::tempdir()?.path());
//! let error = loader.load_bytes(&wasm).unwrap_err();
//! assert!(matches!(&error, WasmError::AbiMismatch { supported: abi::ABI, .. }));
//! assert_eq!(error.to_string(), "module is built for ABI \"zelavis-guest/2\", but this host speaks zelavis-guest/1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The guest ABI `zelavis-guest/1`
//!
//! **Versioning.** A module names its ABI in the custom section `zelavis.abi` (UTF-8, exactly
//! `zelavis-guest/1`). A host refuses a module without it ([`WasmError::NotAGuest`]) and a module naming
//! another ABI ([`WasmError::AbiMismatch`], naming both) before reading anything else. A new major ABI is a new
//! name (`zelavis-guest/2`); additions that old guests can ignore (a new host function, a new entry kind) keep
//! the name.
//!
//! **Manifest.** The custom section `zelavis.manifest` holds one UTF-8 JSON [`GuestManifest`](abi::GuestManifest):
//!
//! ```json
//! {
//!   "plugin": { "name": "stripe", "version": "1.0.0", "permissions": ["hooks.subscribe"],
//!               "extends": { "plugin": "zelavis-ecommerce", "extension_point": "payments" } },
//!   "host_permissions": ["log", "kv"],
//!   "hooks":   [{ "name": "order.created", "priority": 0 }],
//!   "filters": [{ "name": "price.total", "priority": 10 }],
//!   "routes":  [{ "method": "GET", "path": "/status" }]
//! }
//! ```
//!
//! `plugin` is a plugin manifest, checked by `PluginManifest::from_json` (a bad one is the same typed
//! [`ManifestError`](zelavis_plugin::manifest::ManifestError), every problem listed); hooks, filters and routes
//! need the matching plugin permission (`hooks.subscribe`, `filters.register`, `routes.register`), names follow
//! the bus grammar, a route's path the route grammar ([`WasmError::Entries`] lists every problem).
//!
//! **Exports.** `memory` (one 32-bit linear memory); `zelavis_alloc(len: i32) -> i32`, returning a buffer of
//! `len` bytes inside `memory` (never 0); `zelavis_call(kind: i32, index: i32, ptr: i32, len: i32) -> i64`.
//! A missing or mistyped export is [`WasmError::Export`].
//!
//! **A call.** The host instantiates the module afresh; if the input is not empty it calls
//! `zelavis_alloc(len)` and writes the input there; then it calls `zelavis_call(kind, index, ptr, len)`
//! (`ptr = len = 0` for an empty input). `kind` and `index` name the entry ([`EntryKind`](abi::EntryKind)):
//!
//! | kind | entry | `index` | input (JSON) | output (JSON) |
//! |---|---|---|---|---|
//! | 0 | hook | position in `hooks` | the event | nothing |
//! | 1 | filter | position in `filters` | the value | the next value |
//! | 2 | route | position in `routes` | [`RouteInput`](abi::RouteInput) | [`RouteOutput`](abi::RouteOutput) |
//! | 3 | page | position in the menu's pages, depth first | [`PageInput`](abi::PageInput) | an HTML string or `{"html": ...}` |
//! | 4 | child setup | 0 | the parent's API | the API after the child's changes |
//! | 5 | extension point | position in `plugin.extension_points` | nothing | the API children start from |
//!
//! The result is `ptr << 32 | len` of the output in `memory`: one status byte — `0` ok, then the result;
//! `1` error, then a UTF-8 message ([`Stop::Failed`]) — so `len` is at least 1. Output outside memory, an
//! unknown status or output that is not the entry's JSON is [`Stop::AbiMismatch`].
//!
//! **Memory rules.** All pointers and lengths are `i32` offsets into the exported memory; the host never frees
//! guest memory (the instance is dropped after the call, with everything in it), so a guest may leak freely
//! within a call. Text is UTF-8; data is JSON.
//!
//! **Imports.** Module `zelavis` only; any other import is [`WasmError::UnknownImport`], and an import its
//! manifest does not grant is [`WasmError::UngrantedImport`] (both before any guest code runs):
//!
//! | import | type | granted by | does |
//! |---|---|---|---|
//! | `abort` | `(ptr, len)` | always | stops the call as [`Stop::Trap`] with the message (the SDK's panic hook) |
//! | `take` | `(ptr, len) -> i32` | always | copies the bytes the last host function staged; returns how many |
//! | `point_api` | `(index) -> i32` | always | stages the API extension point `index` composed at setup; its length or -1 |
//! | `log` | `(level, ptr, len)` | `log` | logs a UTF-8 line (0 error, 1 warn, 2 info, 3 debug, else trace) |
//! | `settings` | `() -> i32` | `settings.read` | stages the plugin's settings (JSON); its length or -1 |
//! | `kv_get` | `(kptr, klen) -> i32` | `kv` | stages the value of a key of the plugin's own space; its length or -1 |
//! | `kv_set` | `(kptr, klen, vptr, vlen) -> i32` | `kv` | 0, or -1 when refused (quota [`Limits::kv_bytes`], key of 1 to 256 bytes) |
//! | `kv_delete` | `(kptr, klen) -> i32` | `kv` | 1 if the key was there, else 0 |
//!
//! Functions that return bytes *stage* them and return their length; the guest allocates that much and calls
//! `take`.
//!
//! **Limits** ([`Limits`], per call, per plugin): fuel ([`Stop::OutOfFuel`]), linear memory
//! ([`Stop::MemoryLimit`]), input size ([`Stop::InputTooLarge`], the guest is not called), output size
//! ([`Stop::OutputTooLarge`]) and a wall-clock deadline ([`Stop::DeadlineExceeded`], checked between fuel
//! slices and in host functions); a trap is [`Stop::Trap`]. Calls are synchronous: a wasm hook or route runs on
//! the calling thread for at most its deadline.

pub mod abi;
pub mod controller;
mod engine;
pub mod error;
pub mod health;
pub mod host;
mod intern;
pub mod limits;
pub mod loader;
pub mod module;
mod plugin;

pub use controller::{ControllerError, WasmController};
pub use error::{CallError, Stop, StopKind, WasmError};
pub use health::{WasmHealth, WasmPluginHealth};
pub use limits::Limits;
pub use loader::{DEFAULT_CACHE_DIR, Uploaded, WasmLoader};
pub use module::WasmModule;
