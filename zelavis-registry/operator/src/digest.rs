//! SHA-256 digests, written as 64 lowercase hex digits.
//!
//! ```
//! # use zelavis_operator::digest::Digest;
//! let d = Digest::of(b"abc");
//! assert_eq!(d.to_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
//! assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::hex;

/// Why a text is not a SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The text is not 64 characters long.
    #[error("sha-256 digest {text:?} has {len} characters, expected 64")]
    WrongLength {
        /// The offending text (cut to 80 characters).
        text: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The text has a character other than `0-9a-f`.
    #[error("sha-256 digest {text:?} is not lowercase hex")]
    NotHex {
        /// The offending text.
        text: String,
        /// What the hex decoder refused.
        #[source]
        source: hex::HexError,
    },
}

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The SHA-256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The 32 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let quoted = || text.chars().take(80).collect::<String>();
        if text.len() != 64 {
            return Err(DigestError::WrongLength {
                text: quoted(),
                len: text.len(),
            });
        }
        let bytes = hex::decode(text).map_err(|source| DigestError::NotHex { text: quoted(), source })?;
        let mut out = [0_u8; 32];
        out.copy_from_slice(&bytes);
        Ok(Self(out))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_digest_of_empty_input() {
        assert_eq!(
            Digest::of(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn refuses_wrong_length_and_uppercase() {
        assert!(matches!(
            "abc".parse::<Digest>(),
            Err(DigestError::WrongLength { len: 3, .. })
        ));
        let upper = Digest::of(b"x").to_string().to_uppercase();
        let err = upper.parse::<Digest>().expect_err("uppercase refused");
        assert!(matches!(err, DigestError::NotHex { .. }));
        assert!(err.to_string().contains(&format!("{upper:?}")), "{err}");
    }

    #[test]
    fn serde_is_a_string() {
        let d = Digest::of(b"abc");
        let json = serde_json::to_string(&d).expect("serialises");
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).ok(), Some(d));
        assert!(serde_json::from_str::<Digest>("\"00\"").is_err());
    }

    proptest! {
        #[test]
        fn text_round_trips(bytes in any::<[u8; 32]>()) {
            let d = Digest(bytes);
            prop_assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,70}") {
            let _ = text.parse::<Digest>();
        }
    }
}
