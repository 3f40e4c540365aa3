//! [`ApiPaths`]: where Zelavis is mounted in the host (root `/zelavis`, API `/api`, version `v1`).

use std::fmt;
use std::sync::Arc;

use thiserror::Error;

use crate::name::Name;

/// The mount points of Zelavis in a host, normalised: each part starts with `/` (the version excepted), has no
/// trailing `/`, no empty, `.` or `..` segment.
///
/// ```
/// use zelavis_core::paths::ApiPaths;
///
/// let paths = ApiPaths::default();
/// assert_eq!(paths.base(), "/zelavis/api/v1");
///
/// let custom = ApiPaths::new("admin/", "//api", "/v2/")?;
/// assert_eq!(custom.base(), "/admin/api/v2");
/// # Ok::<(), zelavis_core::paths::PathError>(())
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
pub enum PathError {
    /// The path has a `.` or `..` segment.
    #[error("{part} path {path:?} has a '.' or '..' segment")]
    Traversal {
        /// Which part: `root`, `prefix` or `version`.
        part: &'static str,
        /// The offending path.
        path: String,
    },
    /// The path has a character that is not allowed in a mount path.
    #[error("{part} path {path:?} has invalid character {ch:?}; use letters, digits, '-', '_', '.' and '/'")]
    InvalidChar {
        /// Which part.
        part: &'static str,
        /// The offending path.
        path: String,
        /// The character.
        ch: char,
    },
    /// The version is empty.
    #[error("api version is empty")]
    EmptyVersion,
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
    /// Mount paths from a root (`/zelavis`), an API prefix (`/api`) and a version (`v1`), normalised.
    /// A root of `/` or `""` mounts Zelavis at the host's top level.
    pub fn new(root: &str, prefix: &str, version: &str) -> Result<Self, PathError> {
        let root = normalise("root", root)?;
        let prefix = normalise("prefix", prefix)?;
        let version = normalise("version", version)?;
        let version = version.trim_start_matches('/');
        if version.is_empty() {
            return Err(PathError::EmptyVersion);
        }
        Ok(Self {
            root: Arc::from(root),
            prefix: Arc::from(prefix),
            version: Arc::from(version),
        })
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

fn normalise(part: &'static str, path: &str) -> Result<String, PathError> {
    let mut out = String::with_capacity(path.len() + 1);
    for segment in path.trim().split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            return Err(PathError::Traversal {
                part,
                path: path.to_owned(),
            });
        }
        if let Some(ch) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(PathError::InvalidChar {
                part,
                path: path.to_owned(),
                ch,
            });
        }
        out.push('/');
        out.push_str(segment);
    }
    Ok(out)
}

/// Percent-encodes one path segment: everything but `A-Z a-z 0-9 - . _ ~` becomes `%XX` (uppercase hex).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
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
    fn normalises_slashes() {
        let p = ApiPaths::new(" /zelavis// ", "api", "v1").unwrap();
        assert_eq!(p, ApiPaths::default());
        assert_eq!(ApiPaths::new("/", "/api", "v1").unwrap().base(), "/api/v1");
    }

    #[test]
    fn refuses_traversal_and_odd_characters() {
        assert!(matches!(
            ApiPaths::new("/a/../b", "/api", "v1"),
            Err(PathError::Traversal { part: "root", .. })
        ));
        assert!(matches!(
            ApiPaths::new("/a b", "/api", "v1"),
            Err(PathError::InvalidChar { ch: ' ', .. })
        ));
        assert_eq!(ApiPaths::new("/a", "/api", "/"), Err(PathError::EmptyVersion));
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
