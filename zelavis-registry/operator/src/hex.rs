//! Lowercase hexadecimal encoding, the one text form used for digests.
//!
//! `sha2` 0.11 digests no longer format with `{:x}`, so this tiny helper does it.
//!
//! ```
//! # use zelavis_operator::hex;
//! assert_eq!(hex::encode(&[0x00, 0xab, 0xff]), "00abff");
//! assert_eq!(hex::decode("00abff").ok(), Some(vec![0x00, 0xab, 0xff]));
//! ```

use thiserror::Error;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Why a text is not lowercase hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HexError {
    /// The text has an odd number of digits, so it cannot be whole bytes.
    #[error("hex text has odd length {len}")]
    OddLength {
        /// Length of the text in bytes.
        len: usize,
    },
    /// A character is not one of `0-9a-f` (uppercase is refused: one value, one spelling).
    #[error("hex text has {found:?} at byte {index}, expected one of 0-9a-f")]
    NotLowercaseHex {
        /// Byte offset of the offending character.
        index: usize,
        /// The offending character.
        found: char,
    },
}

/// Encodes bytes as lowercase hexadecimal, two digits a byte.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes lowercase hexadecimal; uppercase digits, odd lengths and other characters are refused.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(HexError::OddLength { len: bytes.len() });
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for index in (0..bytes.len()).step_by(2) {
        let hi = nibble(text, index)?;
        let lo = nibble(text, index + 1)?;
        out.push((hi << 4) | lo);
    }
    Ok(out)
}

fn nibble(text: &str, index: usize) -> Result<u8, HexError> {
    let b = text.as_bytes()[index];
    match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        _ => Err(HexError::NotLowercaseHex {
            index,
            // Every byte before `index` was an ASCII digit, so `index` starts a character.
            found: text
                .get(index..)
                .and_then(|rest| rest.chars().next())
                .unwrap_or(char::REPLACEMENT_CHARACTER),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_lowercase() {
        assert_eq!(encode(&[]), "");
        assert_eq!(encode(&[0xde, 0xad, 0xbe, 0xef]), "deadbeef");
    }

    #[test]
    fn refuses_odd_length_and_uppercase() {
        assert_eq!(decode("abc"), Err(HexError::OddLength { len: 3 }));
        assert_eq!(decode("aB"), Err(HexError::NotLowercaseHex { index: 1, found: 'B' }));
        assert!(matches!(
            decode("é"),
            Err(HexError::NotLowercaseHex { index: 0, found: 'é' })
        ));
        assert_eq!(decode("00é"), Err(HexError::NotLowercaseHex { index: 2, found: 'é' }));
    }

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode(&encode(&bytes)), Ok(bytes));
        }

        #[test]
        fn decoding_never_panics(text in ".{0,40}") {
            let _ = decode(&text);
        }
    }
}
