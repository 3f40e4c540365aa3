//! The guest ABI `zelavis-guest/1`, as constants and the manifest a module carries. The rules in words are in
//! the [crate docs](crate#the-guest-abi-zelavis-guest1).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::host::HostPermission;

/// The ABI this host speaks.
pub const ABI: &str = "zelavis-guest/1";

/// The custom section naming the module's ABI (UTF-8, e.g. `zelavis-guest/1`).
pub const ABI_SECTION: &str = "zelavis.abi";

/// The custom section holding the module's [`GuestManifest`] (UTF-8 JSON).
pub const MANIFEST_SECTION: &str = "zelavis.manifest";

/// The module's exported linear memory.
pub const EXPORT_MEMORY: &str = "memory";
/// `zelavis_alloc(len: i32) -> i32`: a guest buffer of `len` bytes for the host to write a call's input into.
pub const EXPORT_ALLOC: &str = "zelavis_alloc";
/// `zelavis_call(kind: i32, index: i32, ptr: i32, len: i32) -> i64`: one call; returns `ptr << 32 | len` of
/// its output.
pub const EXPORT_CALL: &str = "zelavis_call";

/// The import module every host function lives in.
pub const IMPORT_MODULE: &str = "zelavis";

/// Output status byte: the call succeeded; the rest of the output is its result.
pub const STATUS_OK: u8 = 0;
/// Output status byte: the guest's handler failed; the rest of the output is its message (UTF-8).
pub const STATUS_ERROR: u8 = 1;

/// Longest hook or filter name a manifest may declare, in bytes.
pub const MAX_ENTRY_NAME_LEN: usize = 128;
/// Most hooks, filters or routes a manifest may declare, each.
pub const MAX_ENTRIES: usize = 256;

/// What a call runs: the `kind` argument of `zelavis_call`. The `index` argument is the entry's position in
/// its list of the [`GuestManifest`] (hooks, filters, routes), in the menu's pages (depth first, in menu
/// order), or in the plugin's extension points; it is `0` for a child's setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(i32)]
pub enum EntryKind {
    /// A hook handler: input the event (JSON), output empty.
    Hook = 0,
    /// A filter: input the value (JSON), output the next value (JSON).
    Filter = 1,
    /// A route: input a [`RouteInput`] (JSON), output a
    /// [`RouteOutput`] (JSON).
    Route = 2,
    /// A page render: input a [`PageInput`] (JSON), output an HTML string or
    /// `{"html": ...}` (JSON).
    Page = 3,
    /// A child plugin's setup: input the parent's API (JSON), output the API after the child's changes (JSON).
    Child = 4,
    /// An extension point of a parent: input empty, output the API its children start from (JSON).
    Point = 5,
}

impl EntryKind {
    /// The lowercase name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Hook => "hook",
            EntryKind::Filter => "filter",
            EntryKind::Route => "route",
            EntryKind::Page => "page",
            EntryKind::Child => "child setup",
            EntryKind::Point => "extension point",
        }
    }
}

/// What a module's [`MANIFEST_SECTION`] holds: its plugin manifest (the same document as a
/// `zelavis.plugin.json`, checked by the same rules) and what its code handles.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestManifest {
    /// The plugin manifest, checked with [`PluginManifest::from_json`](zelavis_plugin::manifest::PluginManifest::from_json).
    pub plugin: Box<RawValue>,
    /// The host functions the module may import, beyond the always-linked ABI plumbing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_permissions: Vec<HostPermission>,
    /// Hook handlers, in `index` order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookEntry>,
    /// Filters, in `index` order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HookEntry>,
    /// Routes, in `index` order; paths are relative to the plugin's API path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteEntry>,
}

/// A hook handler or filter the module handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookEntry {
    /// The hook or filter name (the bus grammar: `order.created`).
    pub name: String,
    /// Lower runs first.
    #[serde(default)]
    pub priority: i32,
}

/// A route the module serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteEntry {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The path relative to the plugin's API path, e.g. `/status`.
    pub path: String,
}

/// The input of a route call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInput {
    /// The request method.
    pub method: String,
    /// The request path (the route's full mounted path).
    pub path: String,
    /// The query string, without `?` (empty when there is none).
    #[serde(default)]
    pub query: String,
    /// The values the path gave the route's parameters (`{id}`, `{*rest}`), percent-decoded, in pattern order.
    /// Added within `zelavis-guest/1`: guests that do not read it ignore it.
    #[serde(default)]
    pub params: Vec<(String, String)>,
    /// Request headers whose values are UTF-8, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The request body: routes of `zelavis-guest/1` take UTF-8 bodies (others are answered 415 by the host).
    #[serde(default)]
    pub body: String,
}

/// The output of a route call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteOutput {
    /// The status code (default 200).
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Response headers, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The response body.
    #[serde(default)]
    pub body: String,
}

fn ok_status() -> u16 {
    200
}

/// The input of a page render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInput {
    /// The plugin.
    pub plugin: String,
    /// The page id.
    pub page: String,
    /// The page title.
    pub title: String,
}

/// Packs an output location the way `zelavis_call` returns it.
pub fn pack(ptr: u32, len: u32) -> i64 {
    // ok: the high half holds the pointer's bits, reinterpreted as a signed i64 by design of the ABI.
    #[expect(clippy::cast_possible_wrap, reason = "the ABI reinterprets the bits")]
    let packed = ((u64::from(ptr) << 32) | u64::from(len)) as i64;
    packed
}

/// Unpacks what `zelavis_call` returned into `(ptr, len)`.
pub fn unpack(packed: i64) -> (u32, u32) {
    #[expect(clippy::cast_sign_loss, reason = "the ABI reinterprets the bits")]
    let bits = packed as u64;
    #[expect(clippy::cast_possible_truncation, reason = "each half is 32 bits by construction")]
    ((bits >> 32) as u32, bits as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_every_half() {
        for (ptr, len) in [
            (0, 0),
            (1, 2),
            (u32::MAX, 0),
            (0, u32::MAX),
            (u32::MAX, u32::MAX),
            (65_536, 17),
        ] {
            assert_eq!(unpack(pack(ptr, len)), (ptr, len));
        }
    }
}
