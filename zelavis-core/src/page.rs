//! Pages: [`Page`] (id, title, render function), [`PageEntry`] (the same without code, for manifests), and the
//! normalisation of what a render returns into a full HTML document.

use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::name::Name;
use crate::panic::catch;
use crate::quote::{Quoted, quote};

/// Longest accepted page id, in bytes.
pub const MAX_PAGE_ID_LEN: usize = 64;

/// A validated page id: `[a-z0-9][a-z0-9_-]*`, at most [`MAX_PAGE_ID_LEN`] bytes.
///
/// Page ids are unique within a plugin and appear verbatim in page addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct PageId(String);

/// Why a text is not a valid [`PageId`].
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PageIdError {
    /// The id is empty.
    #[error("page id is empty")]
    Empty,
    /// The id is too long.
    #[error("page id {id} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// A bounded copy of the offending id.
        id: Quoted,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside `a-z`, `0-9`, `-`, `_`, or a first character that is not a letter or digit.
    #[error(
        "page id {} has invalid character {ch:?} at byte {index}; use a-z, 0-9, '-', '_' and start with a letter or digit",
        quote(id)
    )]
    InvalidChar {
        /// The offending id.
        id: String,
        /// The character.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
}

impl PageId {
    /// Parses and validates a page id.
    pub fn parse(text: &str) -> Result<Self, PageIdError> {
        validate_page_id(text)?;
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks `text` against the page-id grammar without allocating.
pub fn validate_page_id(text: &str) -> Result<(), PageIdError> {
    if text.is_empty() {
        return Err(PageIdError::Empty);
    }
    if text.len() > MAX_PAGE_ID_LEN {
        return Err(PageIdError::TooLong {
            id: Quoted::new(text),
            len: text.len(),
            max: MAX_PAGE_ID_LEN,
        });
    }
    for (index, ch) in text.char_indices() {
        let alnum = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        if !(alnum || (index > 0 && matches!(ch, '-' | '_'))) {
            return Err(PageIdError::InvalidChar {
                id: text.to_owned(),
                ch,
                index,
            });
        }
    }
    Ok(())
}

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PageId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a page's render function returns: an HTML string, an `{ html }` value, or a full [`PageResponse`].
///
/// The first two are normalised by [`html_document`]: a fragment is wrapped into a full document, a full
/// document passes unchanged. A [`PageResponse`] is sent as its author wrote it (status, content type, headers,
/// body); the host still decides which headers it lets through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RenderOutput {
    /// A string of HTML (fragment or full document).
    Markup(String),
    /// An `{ "html": "..." }` value.
    Html(Html),
    /// A full response: status, content type, headers and body.
    Response(PageResponse),
}

/// A full page response: what a render returns when it needs more than HTML (a status, a content type, its own
/// `cache-control`), and what [`Page::render`] gives the host.
///
/// ```
/// use zelavis_core::page::{Page, PageResponse, RenderContext, PageId};
/// use zelavis_core::name::Name;
///
/// let gone = Page::new("old", "Old report", |_| {
///     PageResponse::new("<p>This report moved.</p>").status(410).header("cache-control", "max-age=60")
/// });
/// let cx = RenderContext::new(Name::parse("shop")?, PageId::parse("old")?, "Old report");
/// let response = gone.render(&cx)?;
/// assert_eq!(response.status, 410);
/// assert_eq!(response.header_value("Cache-Control"), Some("max-age=60"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageResponse {
    /// The HTTP status (default 200).
    #[serde(default = "ok_status")]
    pub status: u16,
    /// The content type; `None` lets the host choose (`text/html; charset=utf-8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Extra headers, name and value, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The body, sent as written.
    pub body: String,
}

const fn ok_status() -> u16 {
    200
}

impl PageResponse {
    /// A `200` response with `body`, no content type and no headers.
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            content_type: None,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Sets the status.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Sets the content type.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Appends a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of the first header called `name` (ASCII case-insensitive), if any.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The `{ html }` form of a render result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Html {
    /// HTML text (fragment or full document).
    pub html: String,
}

impl Html {
    /// Wraps HTML text.
    pub fn new(html: impl Into<String>) -> Self {
        Self { html: html.into() }
    }
}

impl RenderOutput {
    /// The HTML text, whichever form it came in.
    pub fn as_html(&self) -> &str {
        match self {
            RenderOutput::Markup(html) | RenderOutput::Html(Html { html }) => html,
            RenderOutput::Response(response) => &response.body,
        }
    }
}

impl From<String> for RenderOutput {
    fn from(value: String) -> Self {
        RenderOutput::Markup(value)
    }
}

impl From<&str> for RenderOutput {
    fn from(value: &str) -> Self {
        RenderOutput::Markup(value.to_owned())
    }
}

impl From<Html> for RenderOutput {
    fn from(value: Html) -> Self {
        RenderOutput::Html(value)
    }
}

/// An error a render function reports; the page is answered with [`PageError::Render`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct RenderError {
    message: String,
}

impl RenderError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<String> for RenderError {
    fn from(message: String) -> Self {
        Self { message }
    }
}

impl From<&str> for RenderError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

/// What a render function may return: a [`RenderOutput`] form, or a `Result` of one.
pub trait IntoRenderResult {
    /// Converts into the canonical result.
    fn into_render_result(self) -> Result<RenderOutput, RenderError>;
}

impl IntoRenderResult for String {
    fn into_render_result(self) -> Result<RenderOutput, RenderError> {
        Ok(self.into())
    }
}

impl IntoRenderResult for &'static str {
    fn into_render_result(self) -> Result<RenderOutput, RenderError> {
        Ok(self.into())
    }
}

impl IntoRenderResult for Html {
    fn into_render_result(self) -> Result<RenderOutput, RenderError> {
        Ok(self.into())
    }
}

impl From<PageResponse> for RenderOutput {
    fn from(value: PageResponse) -> Self {
        RenderOutput::Response(value)
    }
}

impl IntoRenderResult for PageResponse {
    fn into_render_result(self) -> Result<RenderOutput, RenderError> {
        Ok(self.into())
    }
}

impl IntoRenderResult for RenderOutput {
    fn into_render_result(self) -> Result<RenderOutput, RenderError> {
        Ok(self)
    }
}

impl<T: Into<RenderOutput>, E: Into<RenderError>> IntoRenderResult for Result<T, E> {
    fn into_render_result(self) -> Result<RenderOutput, RenderError> {
        self.map(Into::into).map_err(Into::into)
    }
}

/// What a render function is told: which plugin and page it renders.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderContext {
    /// The plugin that owns the page.
    pub plugin: Name,
    /// The page's id.
    pub page: PageId,
    /// The page's title.
    pub title: String,
}

impl RenderContext {
    /// A context for rendering `page` of `plugin`.
    pub fn new(plugin: Name, page: PageId, title: impl Into<String>) -> Self {
        Self {
            plugin,
            page,
            title: title.into(),
        }
    }
}

type RenderFn = dyn Fn(&RenderContext) -> Result<RenderOutput, RenderError> + Send + Sync;

/// A page a plugin owns: an id unique within the plugin, a title, and a render function.
///
/// ```
/// use zelavis_core::page::{Page, Html};
///
/// let orders = Page::new("orders", "Orders", |_| Html::new("<h1>Orders</h1>"));
/// let static_page = Page::new("about", "About", |_| "<p>About us</p>");
/// # let _ = (orders, static_page);
/// ```
#[derive(Clone)]
pub struct Page {
    /// The page id (validated when the plugin is built).
    pub id: String,
    /// The title shown in menus and in the document's `<title>`.
    pub title: String,
    render: Arc<RenderFn>,
}

impl Page {
    /// A page whose `render` returns a string, an [`Html`] value, or a `Result` of either.
    pub fn new<F, R>(id: impl Into<String>, title: impl Into<String>, render: F) -> Self
    where
        F: Fn(&RenderContext) -> R + Send + Sync + 'static,
        R: IntoRenderResult,
    {
        Self {
            id: id.into(),
            title: title.into(),
            render: Arc::new(move |cx| render(cx).into_render_result()),
        }
    }

    /// Runs the render function and returns a full HTML document (a [`PageResponse`]'s body as written: use
    /// [`render`](Self::render) to keep its status and headers).
    ///
    /// An error or a panic inside the render function is returned as a [`PageError`]; it never unwinds into
    /// the caller.
    pub fn render_document(&self, cx: &RenderContext) -> Result<String, PageError> {
        self.render(cx).map(|response| response.body)
    }

    /// Runs the render function and returns the full response: HTML (a string or an `{ html }` value) is
    /// normalised into a full document with status 200 and no content type or headers (the host chooses them);
    /// a [`PageResponse`] passes as written.
    ///
    /// An error or a panic inside the render function is returned as a [`PageError`]; it never unwinds into
    /// the caller.
    pub fn render(&self, cx: &RenderContext) -> Result<PageResponse, PageError> {
        match catch(|| (self.render)(cx)) {
            Ok(Ok(RenderOutput::Response(response))) => Ok(response),
            Ok(Ok(output)) => Ok(PageResponse::new(html_document(&self.title, output.as_html()))),
            Ok(Err(source)) => Err(PageError::Render {
                plugin: cx.plugin.clone(),
                page: cx.page.as_str().to_owned(),
                source,
            }),
            Err(caught) => Err(PageError::Panicked {
                plugin: cx.plugin.clone(),
                page: cx.page.as_str().to_owned(),
                message: caught.into_message(),
            }),
        }
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("id", &self.id)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

/// The serialisable part of a [`Page`]: id, title and its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageEntry {
    /// The page id.
    pub id: String,
    /// The page title.
    pub title: String,
    /// The page's address under the default root (see `PageAddress`); computed, optional on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Anything a menu can hold as its page: id and title are what validation looks at.
pub trait MenuPage {
    /// The page id as written.
    fn id(&self) -> &str;
    /// The page title.
    fn title(&self) -> &str;
    /// The page's address as written, if any (manifests carry one).
    fn url(&self) -> Option<&str> {
        None
    }
}

impl MenuPage for Page {
    fn id(&self) -> &str {
        &self.id
    }
    fn title(&self) -> &str {
        &self.title
    }
}

impl MenuPage for PageEntry {
    fn id(&self) -> &str {
        &self.id
    }
    fn title(&self) -> &str {
        &self.title
    }
    fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

/// A page could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PageError {
    /// The plugin has no page with that id.
    #[error("plugin {plugin:?} has no page {}", quote(page))]
    NotFound {
        /// The plugin.
        plugin: Name,
        /// The requested page id, as asked for; callers may cut a long one (`PluginDef::render_page` keeps 256
        /// bytes and a `…`). The message quotes at most 64 characters of it.
        page: String,
    },
    /// The render function returned an error.
    #[error("page {} of plugin {plugin:?} failed to render: {source}", quote(page))]
    Render {
        /// The plugin.
        plugin: Name,
        /// The page id.
        page: String,
        /// What the render function said.
        source: RenderError,
    },
    /// The render function panicked.
    #[error("page {} of plugin {plugin:?} panicked while rendering: {message}", quote(page))]
    Panicked {
        /// The plugin.
        plugin: Name,
        /// The page id.
        page: String,
        /// The panic message.
        message: String,
    },
}

/// Extracts a readable message from a panic payload; kept here for existing callers, the rule lives in
/// [`crate::panic`]. Prefer [`Caught::from_payload`](crate::panic::Caught::from_payload), which also disposes
/// of the payload without running its `Drop`.
pub use crate::panic::message as panic_message;

/// Normalises rendered HTML into a full document.
///
/// Text that already is a document (it starts, after whitespace, with `<!doctype html` or `<html`, in any case)
/// passes unchanged. Anything else is a fragment and is wrapped with `<!doctype html>`, a UTF-8 charset, a
/// viewport and the escaped page title.
///
/// ```
/// use zelavis_core::page::html_document;
///
/// let doc = html_document("Orders & Returns", "<h1>Orders</h1>");
/// assert!(doc.starts_with("<!doctype html>"));
/// assert!(doc.contains("<meta charset=\"utf-8\">"));
/// assert!(doc.contains("<title>Orders &amp; Returns</title>"));
///
/// let full = "<!DOCTYPE html><html><body>hi</body></html>";
/// assert_eq!(html_document("x", full), full);
/// ```
pub fn html_document(title: &str, html: &str) -> String {
    if is_full_document(html) {
        return html.to_owned();
    }
    let title = escape_html(title);
    format!(
        "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n{html}\n</body>\n</html>\n"
    )
}

fn is_full_document(html: &str) -> bool {
    let head = html.trim_start().as_bytes();
    let starts = |prefix: &[u8]| head.len() >= prefix.len() && head[..prefix.len()].eq_ignore_ascii_case(prefix);
    starts(b"<!doctype html") || starts(b"<html")
}

/// Escapes `&`, `<`, `>`, `"` and `'` for use in HTML text and attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> RenderContext {
        RenderContext::new(Name::parse("shop").unwrap(), PageId::parse("orders").unwrap(), "Orders")
    }

    #[test]
    fn page_ids_follow_their_grammar() {
        assert!(PageId::parse("orders-2_b").is_ok());
        assert_eq!(PageId::parse(""), Err(PageIdError::Empty));
        assert!(matches!(
            PageId::parse("-x"),
            Err(PageIdError::InvalidChar { index: 0, .. })
        ));
        assert!(matches!(
            PageId::parse("a/b"),
            Err(PageIdError::InvalidChar { ch: '/', .. })
        ));
        assert!(matches!(
            PageId::parse("Orders"),
            Err(PageIdError::InvalidChar { ch: 'O', .. })
        ));
        assert!(matches!(
            PageId::parse(&"a".repeat(65)),
            Err(PageIdError::TooLong { .. })
        ));
    }

    #[test]
    fn string_and_html_forms_both_become_documents() {
        let a = Page::new("orders", "Orders", |_| "<p>x</p>")
            .render_document(&cx())
            .unwrap();
        let b = Page::new("orders", "Orders", |_| Html::new("<p>x</p>"))
            .render_document(&cx())
            .unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("<!doctype html>") && a.contains("<title>Orders</title>") && a.contains("<p>x</p>"));
    }

    #[test]
    fn full_documents_pass_unchanged() {
        let doc = "  \n<HTML><head><title>t</title></head></HTML>";
        let out = Page::new("orders", "Orders", move |_| doc)
            .render_document(&cx())
            .unwrap();
        assert_eq!(out, doc);
    }

    #[test]
    fn render_errors_and_panics_are_typed() {
        let failing = Page::new("orders", "Orders", |_| Err::<String, _>("db down"));
        assert!(
            matches!(failing.render_document(&cx()), Err(PageError::Render { source, .. }) if source.message() == "db down")
        );
        let panicking = Page::new("orders", "Orders", |_| -> String { panic!("boom") });
        let err = panicking.render_document(&cx()).unwrap_err();
        assert!(
            matches!(&err, PageError::Panicked { message, .. } if message == "boom"),
            "{err}"
        );
    }

    #[test]
    fn a_payload_whose_drop_panics_stays_inside_the_render() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("the payload's drop panicked");
            }
        }
        let page = Page::new("orders", "Orders", |_| -> String { std::panic::panic_any(Bomb) });
        let err = page.render_document(&cx()).unwrap_err();
        assert!(
            matches!(&err, PageError::Panicked { message, .. } if message == crate::panic::NON_STRING_PAYLOAD),
            "{err}"
        );
    }

    #[test]
    fn render_output_serde_takes_both_shapes() {
        let a: RenderOutput = serde_json::from_str("\"<p>x</p>\"").unwrap();
        let b: RenderOutput = serde_json::from_str("{\"html\":\"<p>x</p>\"}").unwrap();
        assert_eq!(a.as_html(), b.as_html());
    }

    #[test]
    fn titles_are_escaped() {
        assert!(html_document("<script>", "x").contains("<title>&lt;script&gt;</title>"));
    }
}
