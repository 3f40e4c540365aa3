//! Bounded quoting of outside text in error messages: a 100 MB name gives a 100 MB input, never a 100 MB error.
//!
//! - [`quote`] displays text Debug-quoted, cut to its first [`QUOTE_CHARS`] characters, with the original
//!   length after it when cut: `"aaaa…"…(104857600 bytes)`. It borrows and never allocates.
//! - [`Quoted`] is the owned form, for error fields that hold outside text of any length: it keeps the same
//!   bounded prefix and the original length, and displays the same way.
//! - [`clip`] cuts a message Zelavis computed itself (a parser's reason, a JSON path) to a byte budget.
//!
//! Debug-quoting escapes control, format and bidirectional characters (`\0`, `\u{202e}`), so a quoted value
//! can never reorder or hide the message around it.
//!
//! ```
//! use zelavis_core::quote::{Quoted, quote};
//!
//! assert_eq!(quote("shop").to_string(), "\"shop\"");
//! let huge = "a".repeat(1_000_000);
//! let shown = quote(&huge).to_string();
//! assert!(shown.len() < 100 && shown.ends_with("…(1000000 bytes)"), "{shown}");
//! assert_eq!(Quoted::new(&huge).to_string(), shown);
//! assert_eq!(quote("\u{202e}x\0").to_string(), "\"\\u{202e}x\\0\"");
//! ```

use std::fmt;

/// How many characters of a value [`quote`] and [`Quoted`] keep.
pub const QUOTE_CHARS: usize = 64;

/// The byte offset where the first `max` characters of `text` end (`text.len()` when it is shorter).
fn prefix_end(text: &str, max: usize) -> usize {
    text.char_indices().nth(max).map_or(text.len(), |(index, _)| index)
}

/// Writes `kept` Debug-quoted and, when it is only a prefix of a `len`-byte value, `…(len bytes)`.
fn write_quoted(f: &mut fmt::Formatter<'_>, kept: &str, len: usize) -> fmt::Result {
    fmt::Debug::fmt(kept, f)?;
    if kept.len() < len {
        write!(f, "…({len} bytes)")?;
    }
    Ok(())
}

/// Displays `text` Debug-quoted, cut to its first [`QUOTE_CHARS`] characters (see the [module](self)).
pub fn quote(text: &str) -> Quote<'_> {
    Quote(text)
}

/// The value [`quote`] returns: Display and Debug print the bounded quote.
#[derive(Clone, Copy)]
pub struct Quote<'a>(&'a str);

impl fmt::Display for Quote<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = prefix_end(self.0, QUOTE_CHARS);
        write_quoted(f, &self.0[..end], self.0.len())
    }
}

impl fmt::Debug for Quote<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A bounded copy of outside text, for error fields: the first [`QUOTE_CHARS`] characters and the original
/// length in bytes. Display and Debug print it as [`quote`] does.
///
/// It compares equal to a `&str` only when it holds the whole of it, so tests can still write
/// `name == "shop"`.
///
/// ```
/// use zelavis_core::quote::Quoted;
///
/// let short = Quoted::new("shop");
/// assert!(short.is_whole() && short == "shop");
/// let long = Quoted::new(&"x".repeat(500));
/// assert_eq!((long.kept().len(), long.len(), long.is_whole()), (64, 500, false));
/// assert!(long != "x".repeat(500).as_str());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Quoted {
    /// Serialised as `text`: what was kept.
    #[serde(rename = "text")]
    kept: String,
    len: usize,
}

impl Quoted {
    /// A bounded copy of `text`.
    pub fn new(text: &str) -> Self {
        let end = prefix_end(text, QUOTE_CHARS);
        Self {
            kept: text[..end].to_owned(),
            len: text.len(),
        }
    }

    /// The kept text: all of the value, or its first [`QUOTE_CHARS`] characters.
    pub fn kept(&self) -> &str {
        &self.kept
    }

    /// The length of the original value, in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the original value was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the whole value was kept (it had at most [`QUOTE_CHARS`] characters).
    pub fn is_whole(&self) -> bool {
        self.kept.len() == self.len
    }
}

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_quoted(f, &self.kept, self.len)
    }
}

impl fmt::Debug for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&str> for Quoted {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for Quoted {
    fn from(text: String) -> Self {
        Self::new(&text)
    }
}

impl From<&String> for Quoted {
    fn from(text: &String) -> Self {
        Self::new(text)
    }
}

impl PartialEq<str> for Quoted {
    fn eq(&self, other: &str) -> bool {
        self.is_whole() && self.kept == other
    }
}

impl PartialEq<&str> for Quoted {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

/// `text` cut to at most `max_bytes` bytes at a character boundary, with `…` appended when cut. For messages
/// Zelavis builds itself (a parser's reason, a JSON path) that may embed outside text; outside values
/// themselves are quoted with [`quote`] or [`Quoted`].
///
/// ```
/// use zelavis_core::quote::clip;
///
/// assert_eq!(clip("short", 10), "short");
/// assert_eq!(clip("ééé", 3), "é…");
/// ```
pub fn clip(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + '…'.len_utf8());
    out.push_str(&text[..end]);
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_quoted_whole() {
        assert_eq!(quote("").to_string(), "\"\"");
        assert_eq!(quote("a\"b").to_string(), "\"a\\\"b\"");
        let exact = "é".repeat(QUOTE_CHARS);
        assert_eq!(quote(&exact).to_string(), format!("{exact:?}"));
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary_with_its_length() {
        let text = "é".repeat(QUOTE_CHARS + 1);
        let shown = quote(&text).to_string();
        assert_eq!(shown, format!("{:?}…({} bytes)", "é".repeat(QUOTE_CHARS), text.len()));
        assert_eq!(Quoted::new(&text).to_string(), shown);
        assert_eq!(format!("{:?}", Quoted::new(&text)), shown);
    }

    #[test]
    fn controls_and_bidi_are_escaped() {
        let shown = quote("a\u{202e}b\0c\u{200f}").to_string();
        assert!(!shown.contains('\u{202e}') && !shown.contains('\0'), "{shown}");
        assert!(shown.contains("\\u{202e}") && shown.contains("\\0"), "{shown}");
    }

    #[test]
    fn clip_marks_a_cut() {
        assert_eq!(clip("abcdef", 6), "abcdef");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("€", 2), "…");
    }

    proptest! {
        #[test]
        fn quotes_are_bounded(text in "\\PC{0,300}") {
            let shown = quote(&text).to_string();
            // Each kept char escapes to at most 10 bytes; the suffix is short.
            prop_assert!(shown.len() <= QUOTE_CHARS * 10 + 2 + 32);
            let quoted = Quoted::new(&text);
            prop_assert_eq!(quoted.to_string(), shown);
            prop_assert_eq!(quoted.is_whole(), text.chars().count() <= QUOTE_CHARS);
            prop_assert_eq!(quoted == text.as_str(), quoted.is_whole());
            prop_assert!(text.starts_with(quoted.kept()));
        }

        #[test]
        fn clip_is_a_bounded_prefix(text in "\\PC{0,100}", max in 0_usize..120) {
            let clipped = clip(&text, max);
            prop_assert!(clipped.len() <= max + '…'.len_utf8());
            let kept = clipped.strip_suffix('…').filter(|_| text.len() > max).unwrap_or(&clipped);
            prop_assert!(text.starts_with(kept));
        }
    }
}
