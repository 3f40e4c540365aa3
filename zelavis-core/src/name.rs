//! [`Name`]: the one validated identifier for plugins, services and extension points.
//!
//! # Grammar
//!
//! ```text
//! name    = [ "@" scope "/" ] segment
//! scope   = segment
//! segment = ( lower | digit ) *( lower | digit | "-" | "_" | "." )
//! lower   = "a".."z"      digit = "0".."9"
//! ```
//!
//! - at most [`MAX_NAME_LEN`] (214) bytes in total, scope included (the npm limit);
//! - the bare names in [`RESERVED_NAMES`] are refused: they name parts of Zelavis itself;
//! - uppercase letters are refused with their own error, so `"Stripe"` tells the author what to change.
//!
//! Valid: `stripe`, `zelavis-ecommerce`, `@ecommus-plugin/niche-booking`.
//! Invalid: `""`, `Stripe`, `../x`, `a b`, `@/x`.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::quote::{Quoted, quote};

/// Longest accepted name, in bytes (scope included).
pub const MAX_NAME_LEN: usize = 214;

/// Names no plugin, service or extension point may take: they name Zelavis itself and its dashboard areas.
pub const RESERVED_NAMES: &[&str] = &["zelavis", "core", "marketplace", "workspace", "settings", "root"];

/// A validated plugin, service or extension-point name.
///
/// Cloning is cheap (the text is shared). A `Name` compares, hashes and orders as its text, and borrows as
/// `&str`, so maps keyed by `Name` can be queried with a plain string.
///
/// ```
/// use zelavis_core::name::{Name, NameError};
///
/// let name = Name::parse("@ecommus-plugin/niche-booking")?;
/// assert_eq!(name.scope(), Some("ecommus-plugin"));
/// assert_eq!(name.unscoped(), "niche-booking");
///
/// assert!(matches!(Name::parse("Stripe"), Err(NameError::Uppercase { .. })));
/// # Ok::<(), NameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

/// Why a text is not a valid [`Name`]; each variant names the rule that was broken.
///
/// Messages quote the text with [`quote`] (at most 64 characters). The `name` fields hold
/// the whole text, which every rule but [`TooLong`](Self::TooLong) sees only when it has at most
/// [`MAX_NAME_LEN`] bytes; `TooLong` keeps a bounded [`Quoted`] copy.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NameError {
    /// The text is empty.
    #[error("name is empty")]
    Empty,
    /// The text is longer than [`MAX_NAME_LEN`] bytes.
    #[error("name {name} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// A bounded copy of the offending text.
        name: Quoted,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An uppercase ASCII letter: names are lowercase.
    #[error(
        "name {} has uppercase letter {ch:?} at byte {index}; names are lowercase",
        quote(name)
    )]
    Uppercase {
        /// The offending text.
        name: String,
        /// The uppercase letter.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
    /// A character outside `a-z`, `0-9`, `-`, `_`, `.` (and the scope's `@` and `/`).
    #[error(
        "name {} has invalid character {ch:?} at byte {index}; allowed are a-z, 0-9, '-', '_', '.'",
        quote(name)
    )]
    InvalidChar {
        /// The offending text.
        name: String,
        /// The invalid character.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
    /// A segment starts with `-`, `_` or `.`.
    #[error(
        "name {} has a part starting with {ch:?}; each part must start with a letter or digit",
        quote(name)
    )]
    BadStart {
        /// The offending text.
        name: String,
        /// The first character of the offending part.
        ch: char,
    },
    /// `@/x`: the scope between `@` and `/` is empty.
    #[error("name {} has an empty scope; write \"@scope/name\"", quote(name))]
    EmptyScope {
        /// The offending text.
        name: String,
    },
    /// `@scope` or `@scope/`: a scope without the name after it.
    #[error("name {} has a scope but no name after it; write \"@scope/name\"", quote(name))]
    MissingScopedName {
        /// The offending text.
        name: String,
    },
    /// The (unscoped) name is one of [`RESERVED_NAMES`].
    #[error("name {} is reserved by zelavis", quote(name))]
    Reserved {
        /// The offending text.
        name: String,
    },
}

impl Name {
    /// Parses and validates `text` against the [grammar](self).
    pub fn parse(text: &str) -> Result<Self, NameError> {
        validate(text)?;
        Ok(Self(Arc::from(text)))
    }

    /// The whole name, scope included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scope without `@` and `/`, if the name has one.
    pub fn scope(&self) -> Option<&str> {
        self.0
            .strip_prefix('@')
            .and_then(|rest| rest.split_once('/'))
            .map(|(scope, _)| scope)
    }

    /// The name without its scope.
    pub fn unscoped(&self) -> &str {
        match self.0.strip_prefix('@').and_then(|rest| rest.split_once('/')) {
            Some((_, bare)) => bare,
            None => &self.0,
        }
    }
}

/// Checks `text` against the [grammar](self) without allocating.
pub fn validate(text: &str) -> Result<(), NameError> {
    let owned = || text.to_owned();
    if text.is_empty() {
        return Err(NameError::Empty);
    }
    if text.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            name: Quoted::new(text),
            len: text.len(),
            max: MAX_NAME_LEN,
        });
    }
    let (scope, bare, bare_offset) = match text.strip_prefix('@') {
        Some(rest) => {
            let Some((scope, bare)) = rest.split_once('/') else {
                return Err(if rest.is_empty() {
                    NameError::EmptyScope { name: owned() }
                } else {
                    NameError::MissingScopedName { name: owned() }
                });
            };
            if scope.is_empty() {
                return Err(NameError::EmptyScope { name: owned() });
            }
            if bare.is_empty() {
                return Err(NameError::MissingScopedName { name: owned() });
            }
            (Some(scope), bare, 2 + scope.len())
        }
        None => (None, text, 0),
    };
    if let Some(scope) = scope {
        validate_segment(text, scope, 1)?;
    }
    validate_segment(text, bare, bare_offset)?;
    if RESERVED_NAMES.contains(&bare) {
        return Err(NameError::Reserved { name: owned() });
    }
    Ok(())
}

fn validate_segment(whole: &str, segment: &str, offset: usize) -> Result<(), NameError> {
    for (i, ch) in segment.char_indices() {
        let index = offset + i;
        if ch.is_ascii_uppercase() {
            return Err(NameError::Uppercase {
                name: whole.to_owned(),
                ch,
                index,
            });
        }
        let allowed = ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '-' | '_' | '.');
        if !allowed {
            return Err(NameError::InvalidChar {
                name: whole.to_owned(),
                ch,
                index,
            });
        }
        if i == 0 && !(ch.is_ascii_lowercase() || ch.is_ascii_digit()) {
            return Err(NameError::BadStart {
                name: whole.to_owned(),
                ch,
            });
        }
    }
    Ok(())
}

/// Whether `text` satisfies the [grammar](self): the same rule as [`validate`], usable in `const` context, so a
/// name written as a constant is checked when the crate compiles (see [`Name::from_static`] and the
/// [`name!`](crate::name!) macro).
///
/// ```
/// use zelavis_core::name::is_valid_name;
///
/// const _: () = assert!(is_valid_name("@acme/shop"));
/// assert!(!is_valid_name("Shop"));
/// ```
pub const fn is_valid_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME_LEN {
        return false;
    }
    // The bare name's start: after `@scope/`, or 0.
    let mut bare = 0;
    if bytes[0] == b'@' {
        let mut slash = 1;
        while slash < bytes.len() && bytes[slash] != b'/' {
            slash += 1;
        }
        if slash == bytes.len() || !valid_segment(bytes, 1, slash) {
            return false;
        }
        bare = slash + 1;
    }
    if !valid_segment(bytes, bare, bytes.len()) {
        return false;
    }
    let mut reserved = 0;
    while reserved < RESERVED_NAMES.len() {
        if same_bytes(RESERVED_NAMES[reserved].as_bytes(), bytes, bare) {
            return false;
        }
        reserved += 1;
    }
    true
}

/// Whether `bytes[start..end]` is a non-empty segment: a lowercase letter or digit, then lowercase letters,
/// digits, `-`, `_` or `.`.
const fn valid_segment(bytes: &[u8], start: usize, end: usize) -> bool {
    if start >= end || !(bytes[start].is_ascii_lowercase() || bytes[start].is_ascii_digit()) {
        return false;
    }
    let mut i = start;
    while i < end {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.') {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `bytes[from..]` equals `word`.
const fn same_bytes(word: &[u8], bytes: &[u8], from: usize) -> bool {
    if bytes.len() - from != word.len() {
        return false;
    }
    let mut i = 0;
    while i < word.len() {
        if word[i] != bytes[from + i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Name {
    /// A name written in the source, such as a constant's.
    ///
    /// # Panics
    ///
    /// When `text` breaks the [grammar](self). Prefer the [`name!`](crate::name!) macro, which checks the text
    /// when the crate compiles; use [`Name::parse`] for text from outside.
    pub fn from_static(text: &'static str) -> Self {
        assert!(is_valid_name(text), "{text:?} is not a valid zelavis name");
        Self(Arc::from(text))
    }
}

/// A [`Name`] from a string literal, checked when the crate compiles: an invalid literal is a compile error.
///
/// ```
/// let stripe = zelavis_core::name!("stripe");
/// assert_eq!(stripe.as_str(), "stripe");
/// ```
///
/// ```compile_fail
/// let bad = zelavis_core::name!("Stripe");
/// ```
#[macro_export]
macro_rules! name {
    ($text:literal) => {{
        const _: () = ::core::assert!(
            $crate::name::is_valid_name($text),
            ::core::concat!("invalid zelavis name: ", $text)
        );
        $crate::name::Name::from_static($text)
    }};
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Name {
    type Error = NameError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        validate(&value)?;
        Ok(Self(Arc::from(value)))
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::try_from(text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Name {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Name".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A plugin, service or extension-point name: an optional \"@scope/\" then lowercase letters, digits, '-', '_' or '.', each part starting with a letter or digit; at most 214 bytes.",
            "minLength": 1,
            "maxLength": MAX_NAME_LEN,
            "pattern": "^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_examples() {
        for ok in [
            "stripe",
            "zelavis-ecommerce",
            "@ecommus-plugin/niche-booking",
            "a",
            "0x.v2_b",
        ] {
            assert_eq!(Name::parse(ok).map(|n| n.to_string()), Ok(ok.to_owned()), "{ok}");
        }
    }

    #[test]
    fn each_refusal_names_its_rule() {
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert!(matches!(
            Name::parse("Stripe"),
            Err(NameError::Uppercase { ch: 'S', index: 0, .. })
        ));
        assert!(matches!(Name::parse("../x"), Err(NameError::BadStart { ch: '.', .. })));
        assert!(matches!(
            Name::parse("a b"),
            Err(NameError::InvalidChar { ch: ' ', index: 1, .. })
        ));
        assert!(matches!(Name::parse("@/x"), Err(NameError::EmptyScope { .. })));
        assert!(matches!(Name::parse("@"), Err(NameError::EmptyScope { .. })));
        assert!(matches!(
            Name::parse("@scope"),
            Err(NameError::MissingScopedName { .. })
        ));
        assert!(matches!(
            Name::parse("@scope/"),
            Err(NameError::MissingScopedName { .. })
        ));
        assert!(matches!(
            Name::parse("@a/b/c"),
            Err(NameError::InvalidChar { ch: '/', .. })
        ));
        assert!(matches!(Name::parse("zelavis"), Err(NameError::Reserved { .. })));
        assert!(matches!(Name::parse("@acme/core"), Err(NameError::Reserved { .. })));
        assert!(matches!(
            Name::parse(&"a".repeat(215)),
            Err(NameError::TooLong { len: 215, .. })
        ));
        assert!(Name::parse(&"a".repeat(214)).is_ok());
        assert!(matches!(Name::parse("é"), Err(NameError::InvalidChar { ch: 'é', .. })));
    }

    #[test]
    fn errors_quote_the_offending_value() {
        let message = Name::parse("Stripe").unwrap_err().to_string();
        assert!(
            message.contains("\"Stripe\"") && message.contains("lowercase"),
            "{message}"
        );
    }

    #[test]
    fn a_100_mb_name_gives_a_bounded_error() {
        let huge = "a".repeat(100 << 20);
        let error = Name::parse(&huge).unwrap_err();
        let message = error.to_string();
        assert!(message.len() < 200, "{} bytes", message.len());
        assert!(message.contains(&format!("…({} bytes)", 100 << 20)), "{message}");
        assert!(matches!(error, NameError::TooLong { name, len, .. } if name.kept().len() == 64 && len == 100 << 20));
        let bidi = Name::parse("a\u{202e}b").unwrap_err().to_string();
        assert!(bidi.contains("\\u{202e}") && !bidi.contains('\u{202e}'), "{bidi}");
    }

    #[test]
    fn serde_validates_on_the_way_in() {
        let name: Name = serde_json::from_str("\"@a/b\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"@a/b\"");
        assert!(serde_json::from_str::<Name>("\"A\"").is_err());
    }

    proptest! {
        /// The `const` check and the parser are one rule.
        #[test]
        fn the_const_check_agrees_with_validate(text in "(@[a-zA-Z0-9._/-]{0,6}/)?[a-zA-Z0-9._/@ -]{0,12}|core|root|@a/settings") {
            prop_assert_eq!(is_valid_name(&text), validate(&text).is_ok(), "{}", text);
        }

        #[test]
        fn generated_valid_names_parse(scope in proptest::option::of("[a-z0-9][a-z0-9._-]{0,20}"),
                                       bare in "[a-z0-9][a-z0-9._-]{0,40}") {
            let text = match &scope { Some(s) => format!("@{s}/{bare}"), None => bare.clone() };
            prop_assume!(!RESERVED_NAMES.contains(&bare.as_str()));
            let name = Name::parse(&text).unwrap();
            prop_assert_eq!(name.scope(), scope.as_deref());
            prop_assert_eq!(name.unscoped(), bare.as_str());
        }

        #[test]
        fn parse_never_panics_and_accepts_only_the_grammar(text in "\\PC{0,64}") {
            let pattern_ok = {
                let body = text.strip_prefix('@').and_then(|r| r.split_once('/'));
                let seg = |s: &str| !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
                    && s.as_bytes()[0].is_ascii_alphanumeric();
                match body {
                    Some((scope, bare)) => seg(scope) && seg(bare) && !RESERVED_NAMES.contains(&bare),
                    None => !text.starts_with('@') && seg(&text) && !RESERVED_NAMES.contains(&text.as_str()),
                }
            };
            prop_assert_eq!(Name::parse(&text).is_ok(), pattern_ok);
        }
    }
}
