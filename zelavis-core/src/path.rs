//! The one path grammar: every path a plugin or a host declares (menu paths, route paths, mount paths) is
//! checked here and nowhere else.
//!
//! # Grammar
//!
//! ```text
//! path     = "/" | 1*( "/" segment )        ; "/" alone is the root
//! segment  = 1*pchar                        ; never only dots: ".", "..", "..." are refused
//! pchar    = "A".."Z" | "a".."z" | "0".."9" | "-" | "_" | "." | "~"
//!
//! ; route paths only (`check_route`), each a whole segment:
//! param    = "{" ident "}"                  ; one segment, e.g. "/orders/{id}"
//!          | "{*" ident "}"                 ; the rest of the path, last segment only: "/files/{*rest}"
//! ident    = ( "A".."Z" | "a".."z" | "_" ) *( "A".."Z" | "a".."z" | "0".."9" | "_" )
//! ```
//!
//! - at most [`MAX_PATH_LEN`] bytes and [`MAX_PATH_SEGMENTS`] segments;
//! - paths are written **decoded**: `%` is refused outright, so `%2e%2e` can never decode into `..` later;
//! - no empty segment, so no `//` (which a browser reads as another host) and no trailing `/`;
//! - printable ASCII from the set above only: no NUL, no whitespace, no bidirectional controls, no `:` (so no
//!   `javascript:`), no `?`, `#` or `\`;
//! - in a route path, a parameter name appears once.
//!
//! Valid: `/`, `/shop`, `/shop/orders`, `/v1.2/~me`; in routes also `/orders/{id}`, `/files/{*rest}`.
//! Invalid: `shop`, `/shop/`, `//host/x`, `/a/./b`, `/a/../b`, `/%2e%2e`, `/a b`, `/javascript:x`.
//!
//! ```
//! use zelavis_core::path::{PathError, check, check_route};
//!
//! assert!(check("/shop/orders").is_ok());
//! assert!(matches!(check("//evil.example/x"), Err(PathError::EmptySegment { .. })));
//! assert!(matches!(check("/%2e%2e/state"), Err(PathError::PercentEncoded { .. })));
//! assert!(check_route("/orders/{id}").is_ok());
//! assert!(check("/orders/{id}").is_err());
//! ```

use thiserror::Error;

use crate::quote::{Quoted, quote};

/// Longest accepted path, in bytes.
pub const MAX_PATH_LEN: usize = 1024;

/// Most segments a path may have.
pub const MAX_PATH_SEGMENTS: usize = 32;

/// The characters a path segment may hold besides letters and digits.
pub const PATH_PUNCTUATION: &[char] = &['-', '_', '.', '~'];

/// Why a text is not a valid path; each variant names the rule it broke and quotes the path.
///
/// The `path` fields hold the whole path: every check but [`TooLong`](Self::TooLong) runs only on paths of at
/// most [`MAX_PATH_LEN`] bytes, and `TooLong` keeps a bounded [`Quoted`] copy.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty.
    #[error("path is empty; write \"/\" for the root")]
    Empty,
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
    /// The path does not start with `/`.
    #[error("path {} does not start with '/'", quote(path))]
    NotAbsolute {
        /// The offending path.
        path: String,
    },
    /// The path has more than [`MAX_PATH_SEGMENTS`] segments.
    #[error("path {} has {count} segments; at most {max} are allowed", quote(path))]
    TooManySegments {
        /// The offending path.
        path: String,
        /// How many it has.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// `//` or a trailing `/`: an empty segment.
    #[error(
        "path {} has an empty segment at byte {index} (a '//' or a trailing '/')",
        quote(path)
    )]
    EmptySegment {
        /// The offending path.
        path: String,
        /// The byte offset of the empty segment (just after a `/`).
        index: usize,
    },
    /// A segment made only of dots: `.`, `..`, ...
    #[error(
        "path {} has the dot segment {}; write paths without '.' and '..' segments",
        quote(path),
        quote(segment)
    )]
    DotSegment {
        /// The offending path.
        path: String,
        /// The segment.
        segment: String,
    },
    /// A `%`: paths are written decoded.
    #[error(
        "path {} has '%' at byte {index}; write paths decoded, without percent escapes",
        quote(path)
    )]
    PercentEncoded {
        /// The offending path.
        path: String,
        /// The byte offset of the `%`.
        index: usize,
    },
    /// A character outside the grammar's set.
    #[error(
        "path {} has invalid character {ch:?} at byte {index}; allowed are A-Z, a-z, 0-9, '-', '_', '.', '~' and '/' between segments",
        quote(path)
    )]
    InvalidChar {
        /// The offending path.
        path: String,
        /// The character.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
    /// A route segment with `{` or `}` that is not a whole `{name}` or `{*name}`.
    #[error(
        "route path {} has the malformed parameter {}; write a whole segment \"{{name}}\" or, last, \"{{*name}}\"",
        quote(path),
        quote(segment)
    )]
    BadParameter {
        /// The offending path.
        path: String,
        /// The segment.
        segment: String,
    },
    /// A `{*rest}` parameter before the last segment.
    #[error(
        "route path {} has the catch-all {} before its last segment",
        quote(path),
        quote(segment)
    )]
    CatchAllNotLast {
        /// The offending path.
        path: String,
        /// The segment.
        segment: String,
    },
    /// The same parameter name twice.
    #[error("route path {} names parameter {} twice", quote(path), quote(name))]
    DuplicateParameter {
        /// The offending path.
        path: String,
        /// The repeated name.
        name: String,
    },
}

/// Which form of the grammar a path is checked against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Menu and mount paths: literal segments only.
    Plain,
    /// Route paths: literal segments and parameters.
    Route,
}

/// Whether `ch` may appear in a literal path segment: `A-Z a-z 0-9 - _ . ~`.
pub fn is_path_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || PATH_PUNCTUATION.contains(&ch)
}

/// Checks a menu or mount path against the [grammar](self) (no route parameters).
pub fn check(path: &str) -> Result<(), PathError> {
    check_form(path, Form::Plain)
}

/// Checks a route path against the [grammar](self): literal segments, `{name}` and a last `{*name}`.
pub fn check_route(path: &str) -> Result<(), PathError> {
    check_form(path, Form::Route)
}

/// Checks one literal segment (e.g. an API version such as `v1`): the path `/segment` must be valid and have
/// exactly that one segment. The errors quote the path `/segment`.
pub fn check_segment(segment: &str) -> Result<(), PathError> {
    if segment.len() >= MAX_PATH_LEN {
        return Err(PathError::TooLong {
            path: Quoted::new(segment),
            len: segment.len() + 1,
            max: MAX_PATH_LEN,
        });
    }
    let path = format!("/{segment}");
    if segment.is_empty() {
        return Err(PathError::EmptySegment { path, index: 1 });
    }
    if let Some(index) = segment.find('/') {
        return Err(PathError::InvalidChar {
            path,
            ch: '/',
            index: index + 1,
        });
    }
    check(&path)
}

/// The segments of a valid path, in order (none for the root `/`).
///
/// ```
/// use zelavis_core::path::segments;
///
/// assert_eq!(segments("/shop/orders").collect::<Vec<_>>(), ["shop", "orders"]);
/// assert_eq!(segments("/").count(), 0);
/// ```
pub fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').skip(1).filter(|segment| !segment.is_empty())
}

fn check_form(path: &str, form: Form) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    // First, so that every other error holds a path of bounded size.
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong {
            path: Quoted::new(path),
            len: path.len(),
            max: MAX_PATH_LEN,
        });
    }
    let owned = || path.to_owned();
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PathError::NotAbsolute { path: owned() });
    };
    if rest.is_empty() {
        return Ok(());
    }
    let count = rest.split('/').count();
    if count > MAX_PATH_SEGMENTS {
        return Err(PathError::TooManySegments {
            path: owned(),
            count,
            max: MAX_PATH_SEGMENTS,
        });
    }
    let mut params: Vec<&str> = Vec::new();
    let mut start = 1;
    for (position, segment) in rest.split('/').enumerate() {
        let end = start + segment.len();
        if segment.is_empty() {
            return Err(PathError::EmptySegment {
                path: owned(),
                index: end,
            });
        }
        let is_last = position + 1 == count;
        if form == Form::Route && (segment.contains('{') || segment.contains('}')) {
            let name = parameter(path, segment, is_last)?;
            if params.contains(&name) {
                return Err(PathError::DuplicateParameter {
                    path: owned(),
                    name: name.to_owned(),
                });
            }
            params.push(name);
        } else {
            check_literal(path, segment, start)?;
        }
        start = end + 1;
    }
    Ok(())
}

/// A literal segment starting at byte `start` of `path`.
fn check_literal(path: &str, segment: &str, start: usize) -> Result<(), PathError> {
    for (offset, ch) in segment.char_indices() {
        let index = start + offset;
        if ch == '%' {
            return Err(PathError::PercentEncoded {
                path: path.to_owned(),
                index,
            });
        }
        if !is_path_char(ch) {
            return Err(PathError::InvalidChar {
                path: path.to_owned(),
                ch,
                index,
            });
        }
    }
    if segment.bytes().all(|byte| byte == b'.') {
        return Err(PathError::DotSegment {
            path: path.to_owned(),
            segment: segment.to_owned(),
        });
    }
    Ok(())
}

/// The name of a `{name}` or `{*name}` segment.
fn parameter<'p>(path: &str, segment: &'p str, is_last: bool) -> Result<&'p str, PathError> {
    let bad = || PathError::BadParameter {
        path: path.to_owned(),
        segment: segment.to_owned(),
    };
    let inner = segment
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(bad)?;
    let (catch_all, name) = match inner.strip_prefix('*') {
        Some(name) => (true, name),
        None => (false, inner),
    };
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_');
    if !starts_well || !chars.all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
        return Err(bad());
    }
    if catch_all && !is_last {
        return Err(PathError::CatchAllNotLast {
            path: path.to_owned(),
            segment: segment.to_owned(),
        });
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_good_forms_are_accepted() {
        for ok in [
            "/",
            "/shop",
            "/shop/orders",
            "/v1.2/~me",
            "/A-b_c",
            "/.well-known",
            "/a..b",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
            assert_eq!(check_route(ok), Ok(()), "{ok}");
        }
        for ok in ["/orders/{id}", "/files/{*rest}", "/{a}/{b_2}/x", "/{_}"] {
            assert_eq!(check_route(ok), Ok(()), "{ok}");
            assert!(check(ok).is_err(), "{ok}");
        }
        let longest = format!("/{}", "a".repeat(MAX_PATH_LEN - 1));
        assert_eq!(check(&longest), Ok(()));
        let most = "/a".repeat(MAX_PATH_SEGMENTS);
        assert_eq!(check(&most), Ok(()));
    }

    #[test]
    fn each_hostile_form_is_refused_with_its_rule() {
        let is = |path: &str, expected: fn(&PathError) -> bool| {
            let error = check(path).unwrap_err();
            assert!(expected(&error), "{path}: {error:?}");
            assert_eq!(check_route(path).unwrap_err(), error, "{path}");
        };
        is("", |e| matches!(e, PathError::Empty));
        is("shop", |e| matches!(e, PathError::NotAbsolute { .. }));
        is("javascript:alert(1)", |e| matches!(e, PathError::NotAbsolute { .. }));
        is("/javascript:alert(1)", |e| {
            matches!(e, PathError::InvalidChar { ch: ':', index: 11, .. })
        });
        is("//host/x", |e| matches!(e, PathError::EmptySegment { index: 1, .. }));
        is("/a//b", |e| matches!(e, PathError::EmptySegment { index: 3, .. }));
        is("/shop/", |e| matches!(e, PathError::EmptySegment { index: 6, .. }));
        is(
            "/a/./b",
            |e| matches!(e, PathError::DotSegment { segment, .. } if segment == "."),
        );
        is(
            "/a/..",
            |e| matches!(e, PathError::DotSegment { segment, .. } if segment == ".."),
        );
        is("/...", |e| matches!(e, PathError::DotSegment { .. }));
        is("/%2e%2e/state", |e| {
            matches!(e, PathError::PercentEncoded { index: 1, .. })
        });
        is("/a\0b", |e| {
            matches!(e, PathError::InvalidChar { ch: '\0', index: 2, .. })
        });
        is("/a\u{202e}b", |e| {
            matches!(e, PathError::InvalidChar { ch: '\u{202e}', .. })
        });
        is("/a b", |e| matches!(e, PathError::InvalidChar { ch: ' ', .. }));
        is("/a?b", |e| matches!(e, PathError::InvalidChar { ch: '?', .. }));
        is("/a\\b", |e| matches!(e, PathError::InvalidChar { ch: '\\', .. }));
        is("/é", |e| matches!(e, PathError::InvalidChar { ch: 'é', .. }));
        is(
            &format!("/{}", "a".repeat(1 << 20)),
            |e| matches!(e, PathError::TooLong { len, .. } if *len == (1 << 20) + 1),
        );
        is(&"/a".repeat(MAX_PATH_SEGMENTS + 1), |e| {
            matches!(e, PathError::TooManySegments { count: 33, .. })
        });
    }

    #[test]
    fn route_parameters_follow_their_rules() {
        let route = |path: &str| check_route(path).unwrap_err();
        assert!(matches!(route("/{}"), PathError::BadParameter { .. }));
        assert!(matches!(route("/{1x}"), PathError::BadParameter { .. }));
        assert!(matches!(route("/a{id}"), PathError::BadParameter { .. }));
        assert!(matches!(route("/{id"), PathError::BadParameter { .. }));
        assert!(matches!(route("/{i-d}"), PathError::BadParameter { .. }));
        assert!(matches!(route("/{*}"), PathError::BadParameter { .. }));
        assert!(matches!(route("/{*rest}/x"), PathError::CatchAllNotLast { .. }));
        assert!(matches!(route("/{id}/{id}"), PathError::DuplicateParameter { name, .. } if name == "id"));
        assert!(matches!(route("/{id}/{*id}"), PathError::DuplicateParameter { .. }));
        assert!(matches!(route("/:id"), PathError::InvalidChar { ch: ':', .. }));
    }

    #[test]
    fn segments_are_checked_as_one_segment_paths() {
        assert_eq!(check_segment("v1"), Ok(()));
        assert!(matches!(check_segment(""), Err(PathError::EmptySegment { .. })));
        assert!(matches!(
            check_segment("v1/x"),
            Err(PathError::InvalidChar { ch: '/', .. })
        ));
        assert!(matches!(
            check_segment("/v1"),
            Err(PathError::InvalidChar { ch: '/', index: 1, .. })
        ));
        assert!(matches!(check_segment(".."), Err(PathError::DotSegment { .. })));
        assert!(matches!(
            check_segment(&"v".repeat(5000)),
            Err(PathError::TooLong { .. })
        ));
    }

    #[test]
    fn errors_quote_a_bounded_path() {
        let huge = format!("/{}\0", "a".repeat(1000));
        let message = check(&huge).unwrap_err().to_string();
        assert!(message.len() < 300 && message.contains("…(1002 bytes)"), "{message}");
        let message = check(&format!("/{}", "a".repeat(10_000_000))).unwrap_err().to_string();
        assert!(message.len() < 300, "{message}");
    }

    /// Any text, biased towards the characters that matter to the grammar.
    fn path_like() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("/".to_owned()),
                Just(".".to_owned()),
                Just("%".to_owned()),
                Just("{".to_owned()),
                Just("}".to_owned()),
                Just("*".to_owned()),
                "[a-zA-Z0-9_~-]{1,3}",
                "\\PC",
                Just("\0".to_owned()),
                Just("\u{202e}".to_owned()),
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    /// A path built from the grammar itself.
    fn valid_path() -> impl Strategy<Value = String> {
        proptest::collection::vec("[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,8}", 0..8).prop_map(|segments| {
            if segments.is_empty() {
                "/".to_owned()
            } else {
                format!("/{}", segments.join("/"))
            }
        })
    }

    fn has_no_forbidden_form(path: &str) -> bool {
        path.starts_with('/')
            && path.len() <= MAX_PATH_LEN
            && !path.contains('%')
            && !path.contains("//")
            && (path == "/" || !path.ends_with('/'))
            && path.bytes().all(|b| b.is_ascii_graphic())
            && !path.chars().any(|c| matches!(c, ':' | '?' | '#' | '\\'))
            && !path
                .split('/')
                .skip(1)
                .any(|s| !s.is_empty() && s.bytes().all(|b| b == b'.'))
    }

    proptest! {
        #[test]
        fn whatever_is_accepted_has_no_forbidden_form(text in path_like()) {
            let prefixed = format!("/{text}");
            for candidate in [text.as_str(), prefixed.as_str()] {
                if check(candidate).is_ok() {
                    prop_assert!(has_no_forbidden_form(candidate), "{candidate:?}");
                    prop_assert!(!candidate.contains(['{', '}']), "{candidate:?}");
                    prop_assert!(check_route(candidate).is_ok(), "plain paths are route paths too");
                }
                if check_route(candidate).is_ok() {
                    prop_assert!(has_no_forbidden_form(candidate), "{candidate:?}");
                }
            }
        }

        #[test]
        fn paths_built_from_the_grammar_are_accepted(path in valid_path()) {
            prop_assume!(!segments(&path).any(|s| s.bytes().all(|b| b == b'.')));
            prop_assert_eq!(check(&path), Ok(()));
            // Splitting into segments and joining again gives the same path.
            let segments: Vec<&str> = segments(&path).collect();
            let rejoined = if segments.is_empty() { "/".to_owned() } else { format!("/{}", segments.join("/")) };
            prop_assert_eq!(rejoined, path.clone());
            for segment in segments {
                prop_assert_eq!(check_segment(segment), Ok(()));
            }
        }

        #[test]
        fn route_templates_built_from_the_grammar_are_accepted(
            literals in proptest::collection::vec("[a-z0-9]{1,6}", 0..4),
            names in proptest::collection::btree_set("[a-z_][a-z0-9_]{0,6}", 0..4),
            catch_all in proptest::option::of("[a-z_][a-z0-9_]{0,6}"),
        ) {
            let mut parts: Vec<String> = literals.clone();
            parts.extend(names.iter().map(|name| format!("{{{name}}}")));
            if let Some(rest) = catch_all.filter(|rest| !names.contains(rest)) {
                parts.push(format!("{{*{rest}}}"));
            }
            let mut path: String = parts.iter().flat_map(|part| ["/", part.as_str()]).collect();
            if path.is_empty() {
                path.push('/');
            }
            prop_assert_eq!(check_route(&path), Ok(()));
        }
    }
}
