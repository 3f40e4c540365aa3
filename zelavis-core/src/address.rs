//! [`PageAddress`]: build and parse `/zelavis/api/v1/dashboard/plugin-pages/:plugin/:page`.

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;

use crate::name::{Name, NameError};
use crate::page::{PageId, PageIdError};
use crate::path::MAX_PATH_LEN;
use crate::paths::{ApiPaths, decode_segment, encode_segment, is_unreserved};
use crate::quote::{Quoted, quote};

/// The route segment between the API base and the plugin name.
pub const PLUGIN_PAGES_ROUTE: &str = "/dashboard/plugin-pages";

/// The address of one plugin page.
///
/// ```
/// use zelavis_core::address::PageAddress;
/// use zelavis_core::name::Name;
/// use zelavis_core::page::PageId;
///
/// let address = PageAddress::new(Name::parse("@acme/shop")?, PageId::parse("orders")?);
/// let path = address.path();
/// assert_eq!(path, "/zelavis/api/v1/dashboard/plugin-pages/%40acme%2Fshop/orders");
/// assert_eq!(PageAddress::parse(&path)?, address);
/// assert!(PageAddress::parse("/zelavis/api/v1/dashboard/plugin-pages/../orders").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageAddress {
    /// The plugin that owns the page.
    pub plugin: Name,
    /// The page id.
    pub page: PageId,
}

/// Why a path is not a plugin page address.
///
/// A path longer than [`MAX_PATH_LEN`] bytes is refused first ([`TooLong`](Self::TooLong), with a bounded
/// copy), so the `path` fields of the other variants are bounded too.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PageAddressError {
    /// The path is longer than [`MAX_PATH_LEN`] bytes.
    #[error("path {path} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// A bounded copy of the path.
        path: Quoted,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The path does not start with the plugin-pages route.
    #[error("path {} is not under {expected:?}", quote(path))]
    WrongPrefix {
        /// The offending path.
        path: String,
        /// The route it must start with.
        expected: String,
    },
    /// The path does not have exactly a plugin and a page after the route.
    #[error("path {} must end with exactly \"/<plugin>/<page>\"", quote(path))]
    WrongShape {
        /// The offending path.
        path: String,
    },
    /// A `.` or `..` segment.
    #[error("path {} has a '.' or '..' segment", quote(path))]
    Traversal {
        /// The offending path.
        path: String,
    },
    /// A malformed percent escape, or one that does not decode to UTF-8.
    #[error("path {} has a malformed percent escape in {}", quote(path), quote(segment))]
    BadEscape {
        /// The offending path.
        path: String,
        /// The segment with the bad escape.
        segment: String,
    },
    /// The segment is not in canonical encoding (only characters outside `a-z0-9-._~` may be escaped).
    #[error(
        "path {} encodes {} non-canonically; expected {}",
        quote(path),
        quote(segment),
        quote(canonical)
    )]
    NotCanonical {
        /// The offending path.
        path: String,
        /// The segment as given.
        segment: String,
        /// The canonical encoding.
        canonical: String,
    },
    /// The plugin segment is not a valid name.
    #[error("path {} has an invalid plugin name: {source}", quote(path))]
    InvalidPlugin {
        /// The offending path.
        path: String,
        /// Which rule the name broke.
        source: NameError,
    },
    /// The page segment is not a valid page id.
    #[error("path {} has an invalid page id: {source}", quote(path))]
    InvalidPage {
        /// The offending path.
        path: String,
        /// Which rule the id broke.
        source: PageIdError,
    },
}

impl PageAddress {
    /// The address of `page` of `plugin`.
    pub fn new(plugin: Name, page: PageId) -> Self {
        Self { plugin, page }
    }

    /// The path under the default mount ([`ApiPaths::default`]).
    pub fn path(&self) -> String {
        self.path_in(&ApiPaths::default())
    }

    /// The path under the given mount.
    pub fn path_in(&self, paths: &ApiPaths) -> String {
        format!(
            "{}{PLUGIN_PAGES_ROUTE}/{}/{}",
            paths.base(),
            encode_segment(self.plugin.as_str()),
            self.page
        )
    }

    /// Parses a path under the default mount.
    pub fn parse(path: &str) -> Result<Self, PageAddressError> {
        Self::parse_in(path, &ApiPaths::default())
    }

    /// Parses a path under the given mount. Anything that is not exactly
    /// `<base>/dashboard/plugin-pages/<plugin>/<page>` is refused: a query, a trailing slash, extra or empty
    /// segments, traversal, bad escapes, non-canonical encodings, invalid names or page ids, and more than
    /// [`MAX_PATH_LEN`] bytes.
    pub fn parse_in<'a>(path: &'a str, paths: &ApiPaths) -> Result<Self, PageAddressError> {
        if path.len() > MAX_PATH_LEN {
            return Err(PageAddressError::TooLong {
                path: Quoted::new(path),
                len: path.len(),
                max: MAX_PATH_LEN,
            });
        }
        let rest = paths
            .strip_base(path)
            .and_then(|rest| rest.strip_prefix(PLUGIN_PAGES_ROUTE))
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| PageAddressError::WrongPrefix {
                path: path.to_owned(),
                expected: format!("{}{PLUGIN_PAGES_ROUTE}/", paths.base()),
            })?;
        if rest.split('/').any(|s| matches!(s, "." | "..")) {
            return Err(PageAddressError::Traversal { path: path.to_owned() });
        }
        let mut segments = rest.split('/');
        let (Some(plugin_raw), Some(page_raw), None) = (segments.next(), segments.next(), segments.next()) else {
            return Err(PageAddressError::WrongShape { path: path.to_owned() });
        };
        if plugin_raw.is_empty() || page_raw.is_empty() {
            return Err(PageAddressError::WrongShape { path: path.to_owned() });
        }
        let decode = |segment: &'a str| -> Result<Cow<'a, str>, PageAddressError> {
            // A segment of unreserved characters only is its own canonical encoding: nothing to decode.
            if segment.bytes().all(is_unreserved) {
                return Ok(Cow::Borrowed(segment));
            }
            let decoded = decode_segment(segment).ok_or_else(|| PageAddressError::BadEscape {
                path: path.to_owned(),
                segment: segment.to_owned(),
            })?;
            if matches!(decoded.as_str(), "." | "..") {
                return Err(PageAddressError::Traversal { path: path.to_owned() });
            }
            let canonical = encode_segment(&decoded);
            if !canonical.eq_ignore_ascii_case(segment) {
                return Err(PageAddressError::NotCanonical {
                    path: path.to_owned(),
                    segment: segment.to_owned(),
                    canonical,
                });
            }
            Ok(Cow::Owned(decoded))
        };
        let plugin = Name::parse(&decode(plugin_raw)?).map_err(|source| PageAddressError::InvalidPlugin {
            path: path.to_owned(),
            source,
        })?;
        let page = PageId::parse(&decode(page_raw)?).map_err(|source| PageAddressError::InvalidPage {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self { plugin, page })
    }
}

impl fmt::Display for PageAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::RESERVED_NAMES;
    use proptest::prelude::*;

    const BASE: &str = "/zelavis/api/v1/dashboard/plugin-pages";

    #[test]
    fn refuses_everything_but_the_exact_shape() {
        let bad = [
            "/zelavis/api/v1/dashboard/plugin-pages/shop",
            "/zelavis/api/v1/dashboard/plugin-pages/shop/",
            "/zelavis/api/v1/dashboard/plugin-pages//orders",
            "/zelavis/api/v1/dashboard/plugin-pages/shop/orders/",
            "/zelavis/api/v1/dashboard/plugin-pages/shop/orders/x",
            "/zelavis/api/v2/dashboard/plugin-pages/shop/orders",
            "/zelavis/api/v1/dashboard/plugin-pages/../orders",
            "/zelavis/api/v1/dashboard/plugin-pages/%2E%2E/orders",
            "/zelavis/api/v1/dashboard/plugin-pages/shop/orders?x=1",
            "/zelavis/api/v1/dashboard/plugin-pages/Shop/orders",
            "/zelavis/api/v1/dashboard/plugin-pages/shop/%zz",
            "/zelavis/api/v1/dashboard/plugin-pages/%73hop/orders",
            "/zelavis/api/v1/dashboard/plugin-pages/@acme/shop/orders",
            "zelavis/api/v1/dashboard/plugin-pages/shop/orders",
        ];
        for path in bad {
            assert!(PageAddress::parse(path).is_err(), "{path}");
        }
        assert!(matches!(
            PageAddress::parse(bad[6]),
            Err(PageAddressError::Traversal { .. })
        ));
        assert!(matches!(
            PageAddress::parse(bad[7]),
            Err(PageAddressError::Traversal { .. })
        ));
        assert!(matches!(
            PageAddress::parse(bad[11]),
            Err(PageAddressError::NotCanonical { .. })
        ));
    }

    #[test]
    fn a_megabyte_path_is_refused_with_a_bounded_error() {
        let huge = format!("{BASE}/shop/{}", "a".repeat(1 << 20));
        let error = PageAddress::parse(&huge).unwrap_err();
        assert!(matches!(error, PageAddressError::TooLong { .. }));
        assert!(error.to_string().len() < 300);
    }

    #[test]
    fn lowercase_escapes_are_accepted() {
        let a = PageAddress::parse(&format!("{BASE}/%40acme%2fshop/orders")).unwrap();
        assert_eq!(a.plugin.as_str(), "@acme/shop");
    }

    #[test]
    fn custom_mounts() {
        let paths = ApiPaths::new("/", "/api", "v2").unwrap();
        let a = PageAddress::new(Name::parse("shop").unwrap(), PageId::parse("home").unwrap());
        assert_eq!(a.path_in(&paths), "/api/v2/dashboard/plugin-pages/shop/home");
        assert_eq!(PageAddress::parse_in(&a.path_in(&paths), &paths).unwrap(), a);
    }

    proptest! {
        #[test]
        fn round_trip(scope in proptest::option::of("[a-z0-9][a-z0-9._-]{0,12}"),
                      bare in "[a-z0-9][a-z0-9._-]{0,20}",
                      page in "[a-z0-9][a-z0-9_-]{0,20}") {
            prop_assume!(!RESERVED_NAMES.contains(&bare.as_str()));
            let text = match scope { Some(s) => format!("@{s}/{bare}"), None => bare };
            let address = PageAddress::new(Name::parse(&text).unwrap(), PageId::parse(&page).unwrap());
            prop_assert_eq!(PageAddress::parse(&address.path()).unwrap(), address);
        }

        #[test]
        fn parse_never_panics(tail in "\\PC{0,40}") {
            let _ = PageAddress::parse(&format!("{BASE}/{tail}"));
        }
    }
}
