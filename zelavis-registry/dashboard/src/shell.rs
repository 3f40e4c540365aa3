//! The shell: one HTML document, a stylesheet and a script, embedded in the binary (no build step, no CDN).

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use zelavis_core::page::escape_html;
use zelavis_core::paths::ApiPaths;

use crate::bridge::BRIDGE_VERSION;
use crate::options::DashboardOptions;

/// The shell's stylesheet.
pub const SHELL_CSS: &str = include_str!("assets/shell.css");
/// The shell's script: navigation, Marketplace, the `zelavis-plugin-frame` element and the bridge's shell side.
pub const SHELL_JS: &str = include_str!("assets/shell.js");
/// The helper plugin pages load (`<script src="<base>/dashboard/bridge.js">`): `window.zelavis`.
pub const BRIDGE_JS: &str = include_str!("assets/bridge.js");

/// Where the shell's assets live under a root.
pub(crate) fn asset_path(paths: &ApiPaths, file: &str) -> String {
    format!("{}/assets/{file}", paths.root())
}

/// The shell document for these paths and options.
pub(crate) fn document(paths: &ApiPaths, options: &DashboardOptions) -> String {
    let root = paths.root();
    let boot = serde_json::json!({
        "title": options.title,
        "root": root,
        "base": paths.base(),
        "pageOrigin": options.page_origin,
        "bridge": BRIDGE_VERSION,
    })
    .to_string()
    .replace('<', "\\u003c");
    let title = escape_html(&options.title);
    let css = escape_html(&asset_path(paths, "shell.css"));
    let js = escape_html(&asset_path(paths, "shell.js"));
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"stylesheet\" href=\"{css}\">\n\
         <script type=\"application/json\" id=\"zelavis-boot\">{boot}</script>\n\
         <script src=\"{js}\" defer></script>\n</head>\n<body>\n<div id=\"app\" class=\"app\"></div>\n\
         <noscript>The dashboard needs JavaScript.</noscript>\n</body>\n</html>\n"
    )
}

/// The shell's own policy: only its own scripts and styles, frames from itself (or the page origin), never
/// framed itself.
pub(crate) fn policy(options: &DashboardOptions) -> String {
    let frames = options
        .page_origin
        .as_deref()
        .map_or_else(|| "'self'".to_owned(), |origin| format!("'self' {origin}"));
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         frame-src {frames}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
}

pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Bytes::from_static(body.as_bytes()),
    )
        .into_response()
}
