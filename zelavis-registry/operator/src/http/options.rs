//! [`SuperAdminOptions`]: where the super-admin API and its panel live, and how large a body (and a publish
//! upload) may be.

/// The default path of the super-admin API.
pub const DEFAULT_BASE_PATH: &str = "/api/super-admin";
/// The default path of the super-admin Plugins panel.
pub const DEFAULT_PANEL_PATH: &str = "/zelavis/super-admin/";
/// The default limit of request bodies, in bytes (64 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// The default limit of a publish upload (`POST /plugins/{id}/publish`), in bytes: the largest bundle
/// ([`BundleLimits::max_bundle_bytes`](crate::bundle::BundleLimits::max_bundle_bytes), 32 MiB) plus 1 MiB for the
/// signature, the other parts and the multipart framing.
pub const DEFAULT_UPLOAD_LIMIT: usize = 33 * 1024 * 1024;

/// How a host mounts the super-admin API. Every setting has a default.
///
/// ```
/// use zelavis_operator::http::SuperAdminOptions;
///
/// let options = SuperAdminOptions::new().base_path("/ops/api/").panel_path("/ops").body_limit(16 * 1024);
/// assert_eq!(options.base(), "/ops/api");
/// assert_eq!(options.upload(), 33 * 1024 * 1024);
/// assert_eq!(options.panel(), Some("/ops/"));
/// assert_eq!(SuperAdminOptions::new().without_panel().panel(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct SuperAdminOptions {
    pub(crate) base: String,
    pub(crate) panel: Option<String>,
    pub(crate) body_limit: usize,
    pub(crate) upload_limit: usize,
}

impl Default for SuperAdminOptions {
    fn default() -> Self {
        Self {
            base: DEFAULT_BASE_PATH.to_owned(),
            panel: Some(DEFAULT_PANEL_PATH.to_owned()),
            body_limit: DEFAULT_BODY_LIMIT,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
        }
    }
}

impl SuperAdminOptions {
    /// The defaults: the API at [`DEFAULT_BASE_PATH`], the panel at [`DEFAULT_PANEL_PATH`], bodies up to
    /// [`DEFAULT_BODY_LIMIT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Where the API lives (`/api/super-admin` by default). A trailing `/` is dropped.
    pub fn base_path(mut self, path: impl AsRef<str>) -> Self {
        let trimmed = path.as_ref().trim().trim_end_matches('/');
        self.base = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// Where the panel lives (`/zelavis/super-admin/` by default). It always ends with `/`.
    pub fn panel_path(mut self, path: impl AsRef<str>) -> Self {
        let trimmed = path.as_ref().trim().trim_matches('/');
        self.panel = Some(if trimmed.is_empty() {
            "/".to_owned()
        } else {
            format!("/{trimmed}/")
        });
        self
    }

    /// Serves no panel: the API only.
    pub fn without_panel(mut self) -> Self {
        self.panel = None;
        self
    }

    /// The largest request body accepted, in bytes (default 64 KiB); larger ones are answered `413 too_large`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The largest publish upload accepted (`POST /plugins/{id}/publish`, multipart), in bytes (default
    /// [`DEFAULT_UPLOAD_LIMIT`]); larger ones are answered `413 too_large`. Only that route takes more than
    /// [`body_limit`](Self::body_limit).
    pub fn upload_limit(mut self, bytes: usize) -> Self {
        self.upload_limit = bytes;
        self
    }

    /// The API's path, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The panel's path, ending with `/`, when a panel is served.
    pub fn panel(&self) -> Option<&str> {
        self.panel.as_deref()
    }

    /// The body limit in bytes.
    pub fn limit(&self) -> usize {
        self.body_limit
    }

    /// The publish upload limit in bytes.
    pub fn upload(&self) -> usize {
        self.upload_limit
    }
}
