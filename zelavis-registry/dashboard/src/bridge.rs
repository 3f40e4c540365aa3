//! The typed frame bridge, `zelavis-bridge/1`: the only way a plugin page talks to the shell.
//!
//! 1. The shell opens each frame with a one-time nonce in the URL fragment (`#zelavis-bridge=<nonce>`).
//! 2. The page (with the helper at `<base>/dashboard/bridge.js`) posts a [`Hello`](Handshake::Hello) carrying
//!    the nonce to its parent. The shell accepts it only from that frame's window, only once, and answers with
//!    a [`Welcome`](Handshake::Welcome) that transfers a `MessagePort`; everything else goes through the port.
//! 3. Requests are `{v, id, method, params}` ([`BridgeRequest`]), answers `{v, id, result}` or
//!    `{v, id, error}` ([`BridgeReply`]); the shell also sends [`BridgeEvent`]s (`theme.changed`).
//!
//! `api.fetch` is performed by the shell, with the user's session, and only under the calling plugin's own API
//! prefix (`<base>/plugins/<plugin>`): the page never sees the cookie. Unknown methods, malformed requests and
//! forged messages get an error (or are dropped, when they do not come from a frame the shell opened) and are
//! logged.
//!
//! The JSON Schema of every message is generated from these types ([`schema`]) and checked in at
//! `zelavis-registry/dashboard/schema/zelavis-bridge-1.schema.json`.
//!
//! ```
//! use zelavis_dashboard::bridge::{BridgeRequest, Call, ToastKind};
//!
//! let request: BridgeRequest = serde_json::from_str(
//!     r#"{"v":"zelavis-bridge/1","id":1,"method":"toast.show","params":{"message":"Saved","kind":"success"}}"#,
//! )?;
//! assert!(matches!(request.call, Call::ToastShow { kind: ToastKind::Success, .. }));
//! assert_eq!(request.call.method(), "toast.show");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The protocol version every message carries in `v`.
pub const BRIDGE_VERSION: &str = "zelavis-bridge/1";

/// The URL fragment key the shell puts the nonce under.
pub const NONCE_FRAGMENT: &str = "zelavis-bridge";

/// The handshake, posted on the window (not yet on a port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Handshake {
    /// Page → shell: the nonce from the page's URL fragment.
    Hello {
        /// Always [`BRIDGE_VERSION`].
        v: String,
        /// The nonce.
        nonce: String,
    },
    /// Shell → page, with the port transferred alongside: the bridge is open.
    Welcome {
        /// Always [`BRIDGE_VERSION`].
        v: String,
        /// The theme at the time of opening.
        theme: Theme,
    },
}

/// A request id chosen by the page: a number or a string, echoed in the reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RequestId {
    /// A number.
    Number(u64),
    /// A string (at most 64 characters).
    Text(String),
}

/// How a toast looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ToastKind {
    /// Neutral information.
    #[default]
    Info,
    /// Something worked.
    Success,
    /// Caution.
    Warning,
    /// Something failed.
    Error,
}

/// A method and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", content = "params")]
pub enum Call {
    /// Opens a dashboard path (a menu path such as `/ecommerce/orders`). Result: `{}`.
    #[serde(rename = "nav.go")]
    NavGo {
        /// The dashboard path, starting with `/`.
        path: String,
    },
    /// Sets the title the shell shows for this frame (at most 120 characters). Result: `{}`.
    #[serde(rename = "nav.setTitle")]
    NavSetTitle {
        /// The title.
        title: String,
    },
    /// Shows a toast (text only, at most 300 characters). Result: `{}`.
    #[serde(rename = "toast.show")]
    ToastShow {
        /// The text.
        message: String,
        /// How it looks.
        #[serde(default)]
        kind: ToastKind,
    },
    /// The current theme. Result: [`Theme`].
    #[serde(rename = "theme.get")]
    ThemeGet {},
    /// Asks the shell to give the frame this height in CSS pixels (clamped to 120–20000). Result: `{height}`.
    #[serde(rename = "frame.resize")]
    FrameResize {
        /// The wanted height.
        height: u32,
    },
    /// A request the shell performs with the user's session, only under the plugin's own API prefix. Result:
    /// [`FetchResult`].
    #[serde(rename = "api.fetch")]
    ApiFetch {
        /// The path relative to the plugin's API prefix, starting with `/` (no `..`, no `//`, no escapes of `.`
        /// or `/`).
        path: String,
        /// `GET` (default), `POST`, `PUT`, `PATCH` or `DELETE`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<String>,
        /// Request headers; only `content-type` and `accept` are passed on.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        /// The request body (at most 64 KiB).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
}

impl Call {
    /// Every method name, as the wire spells it.
    pub const METHODS: [&'static str; 6] = [
        "nav.go",
        "nav.setTitle",
        "toast.show",
        "theme.get",
        "frame.resize",
        "api.fetch",
    ];

    /// This call's method name.
    pub fn method(&self) -> &'static str {
        match self {
            Call::NavGo { .. } => "nav.go",
            Call::NavSetTitle { .. } => "nav.setTitle",
            Call::ToastShow { .. } => "toast.show",
            Call::ThemeGet {} => "theme.get",
            Call::FrameResize { .. } => "frame.resize",
            Call::ApiFetch { .. } => "api.fetch",
        }
    }
}

/// Page → shell, on the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BridgeRequest {
    /// Always [`BRIDGE_VERSION`].
    pub v: String,
    /// Echoed in the reply.
    pub id: RequestId,
    /// The method and its parameters.
    #[serde(flatten)]
    pub call: Call,
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message is not a request of this protocol version.
    BadRequest,
    /// No such method.
    UnknownMethod,
    /// The parameters do not fit the method.
    InvalidParams,
    /// Refused: e.g. `api.fetch` outside the plugin's own prefix.
    Forbidden,
    /// `nav.go` to a path the navigation does not have.
    NotFound,
    /// The shell could not do it (e.g. the fetch failed).
    Failed,
}

/// An error in a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BridgeError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
}

/// Shell → page, on the port: the answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BridgeReply {
    /// It worked.
    Ok {
        /// Always [`BRIDGE_VERSION`].
        v: String,
        /// The request's id (`null` when the request had none).
        id: Option<RequestId>,
        /// The method's result.
        result: serde_json::Value,
    },
    /// It did not.
    Err {
        /// Always [`BRIDGE_VERSION`].
        v: String,
        /// The request's id (`null` when the request had none).
        id: Option<RequestId>,
        /// Why.
        error: BridgeError,
    },
}

/// Light or dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThemeMode {
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The shell's theme, so pages can match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Theme {
    /// Light or dark.
    pub mode: ThemeMode,
    /// Design tokens (CSS colour values) by name: `background`, `surface`, `text`, `muted`, `border`,
    /// `accent`.
    pub tokens: BTreeMap<String, String>,
}

/// The result of `api.fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FetchResult {
    /// The HTTP status.
    pub status: u16,
    /// Response headers the page may read (`content-type`).
    pub headers: BTreeMap<String, String>,
    /// The body as text (at most 1 MiB).
    pub body: String,
}

/// Shell → page, on the port, unasked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "event", content = "params")]
pub enum BridgeEvent {
    /// The user switched theme.
    #[serde(rename = "theme.changed")]
    ThemeChanged(Theme),
}

/// Any message of the protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "zelavis-bridge/1")]
pub enum BridgeMessage {
    /// The handshake.
    Handshake(Handshake),
    /// A request.
    Request(BridgeRequest),
    /// A reply.
    Reply(BridgeReply),
    /// An event.
    Event(BridgeEventMessage),
}

/// An event with its protocol version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BridgeEventMessage {
    /// Always [`BRIDGE_VERSION`].
    pub v: String,
    /// The event.
    #[serde(flatten)]
    pub event: BridgeEvent,
}

/// The JSON Schema of every bridge message, as checked in.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(BridgeMessage)
}

/// [`schema`] as pretty JSON with a trailing newline, as served and checked in.
pub fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_else(|_| unreachable!("a schema is JSON"));
    text.push('\n');
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn every_method_round_trips() {
        let calls = [
            Call::NavGo { path: "/x".into() },
            Call::NavSetTitle { title: "T".into() },
            Call::ToastShow {
                message: "m".into(),
                kind: ToastKind::Warning,
            },
            Call::ThemeGet {},
            Call::FrameResize { height: 300 },
            Call::ApiFetch {
                path: "/orders".into(),
                method: None,
                headers: BTreeMap::new(),
                body: None,
            },
        ];
        let methods: Vec<&str> = calls.iter().map(Call::method).collect();
        assert_eq!(methods, Call::METHODS);
        for call in calls {
            let request = BridgeRequest {
                v: BRIDGE_VERSION.into(),
                id: RequestId::Number(1),
                call,
            };
            let json = serde_json::to_string(&request).unwrap();
            assert_eq!(serde_json::from_str::<BridgeRequest>(&json).unwrap(), request, "{json}");
        }
        let bare: BridgeRequest =
            serde_json::from_str(r#"{"v":"zelavis-bridge/1","id":"a","method":"theme.get","params":{}}"#).unwrap();
        assert_eq!(bare.call, Call::ThemeGet {});
    }

    #[test]
    fn unknown_methods_do_not_parse() {
        let text = r#"{"v":"zelavis-bridge/1","id":1,"method":"shell.eval","params":{}}"#;
        assert!(serde_json::from_str::<BridgeRequest>(text).is_err());
    }

    #[test]
    fn the_checked_in_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/zelavis-bridge-1.schema.json");
        let current = schema_json();
        if std::env::var_os("ZELAVIS_BLESS").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == current,
            "{path} is stale: run `ZELAVIS_BLESS=1 cargo test -p zelavis-dashboard --lib bridge` and commit it"
        );
    }

    #[test]
    fn the_shell_knows_exactly_these_methods() {
        let shell = include_str!("assets/shell.js");
        let start = shell.find("const METHODS = {").unwrap();
        let end = start + shell[start..].find("\n  };").unwrap();
        let keys: Vec<&str> = shell[start..end]
            .lines()
            .filter_map(|line| line.strip_prefix("    '"))
            .filter_map(|rest| rest.split_once("':").map(|(key, _)| key))
            .collect();
        assert_eq!(
            keys,
            Call::METHODS,
            "shell.js's METHODS table and the Rust types disagree"
        );
    }
}
