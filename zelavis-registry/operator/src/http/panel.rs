//! The super-admin Plugins panel: one HTML document, a stylesheet and a script, embedded in the binary (no build
//! step, no CDN), sent with a strict Content-Security-Policy.

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use zelavis_core::page::escape_html;

use super::options::SuperAdminOptions;

/// The panel's document; `{{boot}}`, `{{css}}` and `{{js}}` are filled in when the router is built.
const PANEL_HTML: &str = include_str!("panel/panel.html");
/// The panel's stylesheet.
pub(crate) const PANEL_CSS: &str = include_str!("panel/panel.css");
/// The panel's script: token, catalog, health and deprecation banners, tenant picker, enable / disable / pin.
pub(crate) const PANEL_JS: &str = include_str!("panel/panel.js");

/// The panel's policy: only its own script, styles and API; never framed.
pub const PANEL_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";

/// The panel's document for these options (the API base and the asset paths).
pub(crate) fn document(options: &SuperAdminOptions, panel: &str) -> String {
    let boot = serde_json::json!({ "base": options.base, "panel": panel, "version": env!("CARGO_PKG_VERSION") })
        .to_string()
        .replace('<', "\\u003c");
    PANEL_HTML
        .replace("{{css}}", &escape_html(&format!("{panel}panel.css")))
        .replace("{{js}}", &escape_html(&format!("{panel}panel.js")))
        .replace("{{boot}}", &boot)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_its_assets_and_api() {
        let options = SuperAdminOptions::new().base_path("/ops/api").panel_path("/ops/panel");
        let html = document(&options, "/ops/panel/");
        assert!(html.contains("href=\"/ops/panel/panel.css\""));
        assert!(html.contains("src=\"/ops/panel/panel.js\""));
        assert!(html.contains("\"base\":\"/ops/api\""));
        assert!(!html.contains("{{"), "every placeholder is filled");
        assert!(
            !html.contains("<script>"),
            "no inline script: the policy would refuse it"
        );
    }
}
