//! [`ApiPaths`]: where Zelavis is mounted in the host (root `/zelavis`, API `/api`, version `v1`).

use std::fmt;
use std::sync::Arc;

use thiserror::Error;

use crate::name::Name;
use crate::path::{self, PathError};

/// The mount points of Zelavis in a host: a root (`/zelavis`), an API prefix (`/api`) and a version (`v1`).
///
/// Root and prefix are paths of the [path grammar](crate::path) (the root may also be `""` or `"/"`, to mount
/// at the host's top level); the version is one path segment. Nothing is normalised: `"admin/"`, `"//api"` or
/// `"/v2/"` are refused, not rewritten, so what a host writes is exactly what is mounted.
///
/// ```
/// use zelavis_core::paths::{ApiPaths, MountError};
///
/// let paths = ApiPaths::default();
/// assert_eq!(paths.base(), "/zelavis/api/v1");
///
/// let custom = ApiPaths::new("/admin", "/api", "v2")?;
/// assert_eq!(custom.base(), "/admin/api/v2");
/// assert_eq!(ApiPaths::new("/", "/api", "v1")?.base(), "/api/v1");
/// assert!(matches!(ApiPaths::new("//evil.example", "/api", "v1"), Err(MountError::Invalid { part: "root", .. })));
/// # Ok::<(), MountError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPaths {
    root: Arc<str>,
    prefix: Arc<str>,
    version: Arc<str>,
}

/// Why a mount path is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MountError {
    /// The root or the prefix breaks the path grammar, or the API base they make with the version does
    /// (each part within the limits, the whole too long or with too many segments).
    #[error("{part} mount path is invalid: {source}")]
    Invalid {
        /// Which part: `root`, `prefix`, or `base` for the joined `root + prefix + "/" + version`.
        part: &'static str,
        /// The rule it broke.
        source: PathError,
    },
    /// The version is not one path segment.
    #[error("api version must be one path segment such as \"v1\": {source}")]
    InvalidVersion {
        /// The rule it broke (the error quotes `/<version>`).
        source: PathError,
    },
    /// The prefix is `/`: the API needs a prefix of its own.
    #[error("api prefix is empty; write one such as \"/api\"")]
    EmptyPrefix,
}

impl Default for ApiPaths {
    fn default() -> Self {
        Self {
            root: Arc::from("/zelavis"),
            prefix: Arc::from("/api"),
            version: Arc::from("v1"),
        }
    }
}

impl ApiPaths {
    /// Mount paths from a root (`/zelavis`), an API prefix (`/api`) and a version (`v1`), checked against the
    /// [path grammar](crate::path). A root of `/` or `""` mounts Zelavis at the host's top level.
    pub fn new(root: &str, prefix: &str, version: &str) -> Result<Self, MountError> {
        let root = if root.is_empty() || root == "/" {
            ""
        } else {
            path::check(root).map_err(|source| MountError::Invalid { part: "root", source })?;
            root
        };
        path::check(prefix).map_err(|source| MountError::Invalid { part: "prefix", source })?;
        if prefix == "/" {
            return Err(MountError::EmptyPrefix);
        }
        path::check_segment(version).map_err(|source| MountError::InvalidVersion { source })?;
        let paths = Self {
            root: Arc::from(root),
            prefix: Arc::from(prefix),
            version: Arc::from(version),
        };
        path::check(&paths.base()).map_err(|source| MountError::Invalid { part: "base", source })?;
        Ok(paths)
    }

    /// The root, e.g. `/zelavis` (empty when mounted at the top level).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The API prefix, e.g. `/api`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The version segment, e.g. `v1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The API base, e.g. `/zelavis/api/v1`.
    pub fn base(&self) -> String {
        format!("{}{}/{}", self.root, self.prefix, self.version)
    }

    /// What follows [`base`](Self::base) in `path`, if `path` starts with it (without building the base).
    pub(crate) fn strip_base<'a>(&self, path: &'a str) -> Option<&'a str> {
        path.strip_prefix(&*self.root)?
            .strip_prefix(&*self.prefix)?
            .strip_prefix('/')?
            .strip_prefix(&*self.version)
    }

    /// The API path of a plugin, under which its routes are mounted: `/zelavis/api/v1/plugins/<name>`, with a
    /// scoped name percent-encoded.
    pub fn plugin_api(&self, plugin: &Name) -> String {
        format!("{}/plugins/{}", self.base(), encode_segment(plugin.as_str()))
    }
}

impl fmt::Display for ApiPaths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base())
    }
}

/// Percent-encodes one path segment: everything but `A-Z a-z 0-9 - . _ ~` becomes `%XX` (uppercase hex).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// Whether `byte` is an RFC 3986 unreserved character, the only bytes [`encode_segment`] writes as they are.
pub(crate) const fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Decodes `%XX` escapes of one path segment; `None` when an escape is malformed or the result is not UTF-8.
pub fn decode_segment(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hi = char::from(hex[0]).to_digit(16)?;
            let lo = char::from(hex[1]).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_mounts_are_taken_as_written() {
        assert_eq!(ApiPaths::new("/zelavis", "/api", "v1").unwrap(), ApiPaths::default());
        assert_eq!(ApiPaths::new("/", "/api", "v1").unwrap().base(), "/api/v1");
        assert_eq!(ApiPaths::new("", "/x/api", "v2.1").unwrap().base(), "/x/api/v2.1");
    }

    #[test]
    fn refuses_anything_outside_the_grammar_instead_of_normalising() {
        let root = |root: &str| ApiPaths::new(root, "/api", "v1").unwrap_err();
        for bad in [
            "/a/../b",
            "/a/./b",
            "//host/x",
            "/a%2e",
            "/a b",
            "/a\0",
            "/a\u{202e}",
            "admin/",
            "/admin/",
            " /zelavis",
        ] {
            assert!(matches!(root(bad), MountError::Invalid { part: "root", .. }), "{bad}");
        }
        assert!(matches!(
            root("/a/../b"),
            MountError::Invalid {
                source: PathError::DotSegment { .. },
                ..
            }
        ));
        assert!(matches!(
            ApiPaths::new("/", "//api", "v1"),
            Err(MountError::Invalid { part: "prefix", .. })
        ));
        assert_eq!(ApiPaths::new("/", "/", "v1"), Err(MountError::EmptyPrefix));
        for bad in ["", "/", "/v2/", "v1/x", "..", "v 1"] {
            assert!(
                matches!(ApiPaths::new("/", "/api", bad), Err(MountError::InvalidVersion { .. })),
                "{bad}"
            );
        }
        // Each part within the limits, the base they make is not: refused as a whole.
        let half = "/a".repeat(path::MAX_PATH_SEGMENTS / 2 + 1);
        assert!(matches!(
            ApiPaths::new(&half, &half, "v1"),
            Err(MountError::Invalid {
                part: "base",
                source: PathError::TooManySegments { .. }
            })
        ));
        let long = format!("/{}", "a".repeat(path::MAX_PATH_LEN / 2 + 1));
        assert!(matches!(
            ApiPaths::new(&long, &long, "v1"),
            Err(MountError::Invalid { part: "base", .. })
        ));
        let huge = format!("/{}", "a".repeat(1 << 20));
        let message = ApiPaths::new(&huge, "/api", "v1").unwrap_err().to_string();
        assert!(message.len() < 300, "{message}");
    }

    #[test]
    fn plugin_api_encodes_scopes() {
        let name = Name::parse("@acme/pay").unwrap();
        assert_eq!(
            ApiPaths::default().plugin_api(&name),
            "/zelavis/api/v1/plugins/%40acme%2Fpay"
        );
    }

    #[test]
    fn segments_round_trip() {
        for s in ["@a/b", "plain", "100%", "é"] {
            assert_eq!(decode_segment(&encode_segment(s)).as_deref(), Some(s));
        }
        assert_eq!(decode_segment("%4"), None);
        assert_eq!(decode_segment("%zz"), None);
        assert_eq!(decode_segment("%FF"), None);
    }
}
