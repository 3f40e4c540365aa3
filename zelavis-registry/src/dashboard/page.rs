//! [`PageReply`]: what a dashboard sends for a plugin page, computed from the page's render.
//!
//! - HTML (a string or `{ html }`) is normalised to a full document, sent as `text/html; charset=utf-8` with
//!   `cache-control: no-cache`;
//! - a full [`PageResponse`] keeps its status, content type and the headers a page may set
//!   ([`is_allowed_page_header`]); it gets `cache-control: no-cache` unless it sets its own;
//! - an unknown plugin or page (or one not installed) is a `404` JSON error `{error, message}`;
//! - a render that failed or panicked is a `500` error document (the runtime records it in the plugin's
//!   health).
//!
//! Security headers (the sandboxing `Content-Security-Policy`, `X-Content-Type-Options`, `Referrer-Policy`) are
//! the server's to set, and a page can never set or weaken them.

use zelavis_core::page::{PageError, PageResponse, escape_html, html_document};

/// The content type of HTML pages.
pub const HTML: &str = "text/html; charset=utf-8";
/// The content type of JSON errors.
pub const JSON: &str = "application/json";

/// A page as it is sent: status, content type, headers and body.
///
/// ```
/// use zelavis_core::page::{PageError, PageResponse};
/// use zelavis_core::name::Name;
/// use zelavis_registry::dashboard::PageReply;
///
/// let ok = PageReply::from_render(Ok(PageResponse::new("<!doctype html><p>hi</p>")));
/// assert_eq!((ok.status, ok.content_type.as_str()), (200, "text/html; charset=utf-8"));
/// assert_eq!(ok.header("cache-control"), Some("no-cache"));
///
/// let missing = PageReply::from_render(Err(PageError::NotFound { plugin: Name::parse("shop")?, page: "x".into() }));
/// assert_eq!(missing.status, 404);
/// assert!(missing.body.starts_with("{\"error\":\"page_not_found\""));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageReply {
    /// The HTTP status.
    pub status: u16,
    /// The content type.
    pub content_type: String,
    /// Headers besides the content type, in order (`cache-control` always among them).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// Headers the page asked for and did not get, by name (see [`is_allowed_page_header`]).
    pub refused_headers: Vec<String>,
}

impl PageReply {
    /// The reply for a render result (see the [module docs](self)).
    pub fn from_render(result: Result<PageResponse, PageError>) -> Self {
        match result {
            Ok(response) => Self::from_response(response),
            Err(error @ PageError::NotFound { .. }) => Self::error(404, "page_not_found", &error.to_string()),
            Err(error) => Self::failed(&error.to_string()),
        }
    }

    fn from_response(response: PageResponse) -> Self {
        if !(200..=599).contains(&response.status) {
            return Self::failed(&format!(
                "the page answered with status {}, which a page cannot send",
                response.status
            ));
        }
        let mut headers = Vec::with_capacity(response.headers.len() + 1);
        let mut refused_headers = Vec::new();
        for (name, value) in response.headers {
            if is_allowed_page_header(&name) && is_valid_header(&name, &value) {
                headers.push((name.to_ascii_lowercase(), value));
            } else {
                refused_headers.push(zelavis_core::quote::clip(&name, 64));
            }
        }
        if !headers.iter().any(|(n, _)| n == "cache-control") {
            headers.push(("cache-control".to_owned(), "no-cache".to_owned()));
        }
        let content_type = response
            .content_type
            .filter(|ct| is_valid_header("content-type", ct))
            .unwrap_or_else(|| HTML.to_owned());
        Self {
            status: response.status,
            content_type,
            headers,
            body: response.body,
            refused_headers,
        }
    }

    /// A JSON error `{error, message}` with `status`.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::json!({ "error": code, "message": message }).to_string();
        Self {
            status,
            content_type: JSON.to_owned(),
            headers: vec![("cache-control".to_owned(), "no-store".to_owned())],
            body,
            refused_headers: Vec::new(),
        }
    }

    /// The `500` error document for a page that failed to render.
    pub fn failed(message: &str) -> Self {
        let body = html_document(
            "Page failed to render",
            &format!(
                "<main style=\"font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2937\">\
                 <h1 style=\"font-size:1.25rem\">This page failed to render</h1>\
                 <p>The plugin reported an error. It has been recorded in the plugin's health.</p>\
                 <pre style=\"white-space:pre-wrap;background:#f3f4f6;padding:.75rem;border-radius:6px\">{}</pre></main>",
                escape_html(message)
            ),
        );
        Self {
            status: 500,
            content_type: HTML.to_owned(),
            headers: vec![("cache-control".to_owned(), "no-store".to_owned())],
            body,
            refused_headers: Vec::new(),
        }
    }

    /// The value of header `name` (lowercase), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Whether a page may set header `name`: caching and content metadata (`cache-control`, `content-language`,
/// `etag`, `expires`, `last-modified`, `vary`) and the page's own `x-…` headers. Never the headers that make
/// isolation (`content-security-policy`, `x-frame-options`, `x-content-type-options`, `referrer-policy`,
/// `cross-origin-*`, `permissions-policy`), cookies, CORS or transport headers.
///
/// ```
/// use zelavis_registry::dashboard::is_allowed_page_header;
///
/// assert!(is_allowed_page_header("Cache-Control"));
/// assert!(is_allowed_page_header("x-report-id"));
/// assert!(!is_allowed_page_header("Content-Security-Policy"));
/// assert!(!is_allowed_page_header("set-cookie"));
/// ```
pub fn is_allowed_page_header(name: &str) -> bool {
    const ALLOWED: [&str; 6] = [
        "cache-control",
        "content-language",
        "etag",
        "expires",
        "last-modified",
        "vary",
    ];
    const DENIED_X: [&str; 5] = [
        "x-frame-options",
        "x-content-type-options",
        "x-xss-protection",
        "x-forwarded-for",
        "x-forwarded-host",
    ];
    let lower = name.to_ascii_lowercase();
    ALLOWED.contains(&lower.as_str()) || (lower.starts_with("x-") && !DENIED_X.contains(&lower.as_str()))
}

/// Whether `name: value` is a well-formed header (token name, visible ASCII value without CR or LF).
fn is_valid_header(name: &str, value: &str) -> bool {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(token)
        && value.len() <= 4096
        && value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use zelavis_core::name::Name;
    use zelavis_core::page::RenderError;

    use super::*;

    #[test]
    fn html_gets_the_defaults() {
        let reply = PageReply::from_render(Ok(PageResponse::new("<!doctype html>x")));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.content_type, HTML);
        assert_eq!(reply.headers, [("cache-control".to_owned(), "no-cache".to_owned())]);
    }

    #[test]
    fn a_full_response_keeps_what_a_page_may_set() {
        let response = PageResponse::new("{}")
            .status(202)
            .content_type("application/json")
            .header("Cache-Control", "max-age=30")
            .header("X-Report", "7")
            .header("Content-Security-Policy", "default-src *")
            .header("Set-Cookie", "a=b")
            .header("x-frame-options", "ALLOWALL")
            .header("x-evil", "a\r\nb");
        let reply = PageReply::from_render(Ok(response));
        assert_eq!((reply.status, reply.content_type.as_str()), (202, "application/json"));
        assert_eq!(reply.header("cache-control"), Some("max-age=30"));
        assert_eq!(reply.header("x-report"), Some("7"));
        assert_eq!(
            reply.refused_headers,
            ["Content-Security-Policy", "Set-Cookie", "x-frame-options", "x-evil"]
        );
    }

    #[test]
    fn bad_statuses_and_failures_are_500_documents() {
        let reply = PageReply::from_render(Ok(PageResponse::new("x").status(99)));
        assert_eq!(reply.status, 500);
        let shop = Name::parse("shop").unwrap();
        let failed = PageReply::from_render(Err(PageError::Render {
            plugin: shop.clone(),
            page: "orders".into(),
            source: RenderError::new("<db down>"),
        }));
        assert_eq!((failed.status, failed.content_type.as_str()), (500, HTML));
        assert!(failed.body.contains("&lt;db down&gt;") && !failed.body.contains("<db down>"));
        let panicked = PageReply::from_render(Err(PageError::Panicked {
            plugin: shop,
            page: "orders".into(),
            message: "boom".into(),
        }));
        assert_eq!(panicked.status, 500);
        assert!(panicked.body.starts_with("<!doctype html>"));
    }

    #[test]
    fn not_found_is_json() {
        let reply = PageReply::from_render(Err(PageError::NotFound {
            plugin: Name::parse("shop").unwrap(),
            page: "nope".into(),
        }));
        assert_eq!((reply.status, reply.content_type.as_str()), (404, JSON));
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(json["error"], "page_not_found");
        assert!(json["message"].as_str().unwrap().contains("nope"));
    }
}
