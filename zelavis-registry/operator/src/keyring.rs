//! Ed25519 public keys by key id (`kid`), each with a validity window and an optional revocation.
//!
//! A key is usable at an instant `at` when `not_before ≤ at ≤ not_after` (when `not_after` is
//! set) and it has never been revoked. **Revocation is final**: a revoked key refuses everything,
//! even signatures that claim to predate `revoked_at`. A key is revoked because it leaked or is
//! suspected to have, and whoever holds a leaked key can write any `published_at` or `iat` they
//! like into what they sign, so a date inside the signed data cannot prove the signature is
//! older than the leak. Releases signed before a revocation must be re-signed with a live key.
//!
//! Keys travel as PEM (PKCS#8 private keys, SPKI public keys), so `openssl genpkey -algorithm
//! ed25519` and `openssl pkey -pubout` interoperate, and a keyring is stored as a JSON
//! [`KeyringFile`].
//!
//! ```
//! # use zelavis_operator::keyring::{generate_signing_key, KeyEntry, Keyring};
//! # use zelavis_operator::time::Timestamp;
//! let signing = generate_signing_key()?;
//! let mut keyring = Keyring::new();
//! keyring.insert(KeyEntry::new("ops-2024", signing.verifying_key(), Timestamp::EPOCH));
//! assert!(keyring.key_at("ops-2024", Timestamp::from_secs(1_700_000_000)).is_ok());
//! keyring.revoke("ops-2024", Timestamp::from_secs(1_800_000_000))?;
//! assert!(keyring.key_at("ops-2024", Timestamp::from_secs(1_700_000_000)).is_err());
//! # Ok::<(), zelavis_operator::keyring::KeyError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::time::Timestamp;

/// Longest key id accepted from a keyring file.
pub const MAX_KID_LEN: usize = 128;

/// Why a key cannot be used, read or written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No key with this id is in the keyring.
    #[error("unknown key id {kid:?}")]
    Unknown {
        /// The key id asked for.
        kid: String,
    },
    /// The key was revoked; it refuses everything, whenever the signature claims to be from.
    #[error("key {kid:?} was revoked at {at}")]
    Revoked {
        /// The key id.
        kid: String,
        /// When it was revoked.
        at: Timestamp,
    },
    /// The instant asked about is outside the key's validity window.
    #[error("key {kid:?} is not valid at {at} (valid from {not_before} until {})", until(.not_after.as_ref()))]
    OutsideWindow {
        /// The key id.
        kid: String,
        /// The instant asked about.
        at: Timestamp,
        /// Start of the window.
        not_before: Timestamp,
        /// End of the window, if it has one.
        not_after: Option<Timestamp>,
    },
    /// A PEM text is not an Ed25519 key of the expected kind.
    #[error("bad ed25519 pem: {reason}")]
    BadPem {
        /// What the decoder said.
        reason: String,
    },
    /// A key could not be written as PEM.
    #[error("cannot encode ed25519 key as pem: {reason}")]
    PemEncoding {
        /// What the encoder said.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("os random number generator failed: {reason}")]
    NoRandomness {
        /// What the OS said.
        reason: String,
    },
    /// A keyring file is not JSON of the expected shape.
    #[error("keyring file is not valid json: {reason}")]
    BadJson {
        /// What the JSON parser said.
        reason: String,
    },
    /// A key id is empty, longer than [`MAX_KID_LEN`], or not printable ASCII.
    #[error("key id {kid:?} is not 1-{MAX_KID_LEN} printable ascii characters")]
    BadKid {
        /// The offending key id.
        kid: String,
    },
    /// Two entries of a keyring file share a key id.
    #[error("key id {kid:?} appears twice")]
    DuplicateKid {
        /// The repeated key id.
        kid: String,
    },
    /// A key's window ends before it starts.
    #[error("key {kid:?} has not_after {not_after} before not_before {not_before}")]
    EmptyWindow {
        /// The key id.
        kid: String,
        /// Start of the window.
        not_before: Timestamp,
        /// End of the window.
        not_after: Timestamp,
    },
    /// One entry of a keyring file is refused.
    #[error("keyring entry {index} (kid {kid:?}): {source}")]
    BadEntry {
        /// Position of the entry in `keys`, from 0.
        index: usize,
        /// Its key id, or empty when the entry has none.
        kid: String,
        /// Why it is refused.
        #[source]
        source: Box<KeyError>,
    },
}

fn until(not_after: Option<&Timestamp>) -> String {
    not_after.map_or_else(|| "forever".to_owned(), ToString::to_string)
}

/// One public key and when it may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The key id that signed artefacts name.
    pub kid: String,
    /// The public key.
    pub key: VerifyingKey,
    /// The first instant the key is valid.
    pub not_before: Timestamp,
    /// The last instant the key is valid; `None` for no end.
    pub not_after: Option<Timestamp>,
    /// When the key was revoked; a revoked key refuses everything.
    pub revoked_at: Option<Timestamp>,
}

impl KeyEntry {
    /// A key valid from `not_before` on, with no end and no revocation.
    pub fn new(kid: impl Into<String>, key: VerifyingKey, not_before: Timestamp) -> Self {
        Self {
            kid: kid.into(),
            key,
            not_before,
            not_after: None,
            revoked_at: None,
        }
    }

    /// The same key, valid until `not_after` inclusive.
    #[must_use]
    pub fn valid_until(mut self, not_after: Timestamp) -> Self {
        self.not_after = Some(not_after);
        self
    }

    /// The same key, revoked at `at`.
    #[must_use]
    pub fn revoked(mut self, at: Timestamp) -> Self {
        self.revoked_at = Some(at);
        self
    }

    /// Whether the key may be used at `at`: inside its window and never revoked.
    pub fn covers(&self, at: Timestamp) -> bool {
        self.check(at).is_ok()
    }

    fn check(&self, at: Timestamp) -> Result<&VerifyingKey, KeyError> {
        if let Some(revoked) = self.revoked_at {
            return Err(KeyError::Revoked {
                kid: self.kid.clone(),
                at: revoked,
            });
        }
        if at < self.not_before || self.not_after.is_some_and(|end| at > end) {
            return Err(KeyError::OutsideWindow {
                kid: self.kid.clone(),
                at,
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        Ok(&self.key)
    }
}

/// Public keys by key id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring {
    keys: BTreeMap<String, KeyEntry>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key, returning the entry it replaces under the same key id.
    pub fn insert(&mut self, entry: KeyEntry) -> Option<KeyEntry> {
        self.keys.insert(entry.kid.clone(), entry)
    }

    /// The entry for a key id.
    pub fn get(&self, kid: &str) -> Option<&KeyEntry> {
        self.keys.get(kid)
    }

    /// The key with id `kid`, if it is usable at `at`.
    pub fn key_at(&self, kid: &str, at: Timestamp) -> Result<&VerifyingKey, KeyError> {
        self.keys
            .get(kid)
            .ok_or_else(|| KeyError::Unknown { kid: kid.to_owned() })?
            .check(at)
    }

    /// Revokes a key at `at`. Revoking again keeps the earliest instant; either way the key
    /// refuses everything from now on.
    pub fn revoke(&mut self, kid: &str, at: Timestamp) -> Result<(), KeyError> {
        let entry = self
            .keys
            .get_mut(kid)
            .ok_or_else(|| KeyError::Unknown { kid: kid.to_owned() })?;
        entry.revoked_at = Some(entry.revoked_at.map_or(at, |earlier| earlier.min(at)));
        Ok(())
    }

    /// The entries, ordered by key id.
    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.values()
    }

    /// How many keys the keyring holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the keyring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A keyring from its file form. Refuses, naming the entry, a bad key id, a bad PEM, a window
    /// that ends before it starts, and a key id used twice.
    pub fn from_file(file: &KeyringFile) -> Result<Self, KeyError> {
        let mut keyring = Self::new();
        for (index, entry) in file.keys.iter().enumerate() {
            let bad = |source: KeyError| KeyError::BadEntry {
                index,
                kid: entry.kid.clone(),
                source: Box::new(source),
            };
            let parsed = entry.to_entry().map_err(bad)?;
            if keyring.keys.contains_key(&parsed.kid) {
                return Err(bad(KeyError::DuplicateKid { kid: parsed.kid }));
            }
            keyring.insert(parsed);
        }
        Ok(keyring)
    }

    /// The file form of this keyring, ordered by key id.
    pub fn to_file(&self) -> Result<KeyringFile, KeyError> {
        let keys = self
            .iter()
            .map(|e| {
                Ok(KeyFileEntry {
                    kid: e.kid.clone(),
                    public_key_pem: verifying_key_to_pem(&e.key)?,
                    not_before: e.not_before,
                    not_after: e.not_after,
                    revoked_at: e.revoked_at,
                })
            })
            .collect::<Result<_, KeyError>>()?;
        Ok(KeyringFile { keys })
    }

    /// A keyring from the JSON text of a [`KeyringFile`]. An entry that does not parse is named
    /// by its index (and key id, when it has one) in a [`KeyError::BadEntry`].
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Loose {
            keys: Vec<serde_json::Value>,
        }
        let loose: Loose = serde_json::from_str(json).map_err(|e| KeyError::BadJson { reason: e.to_string() })?;
        let keys = loose
            .keys
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                let kid = value
                    .get("kid")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                serde_json::from_value::<KeyFileEntry>(value).map_err(|e| KeyError::BadEntry {
                    index,
                    kid,
                    source: Box::new(KeyError::BadJson { reason: e.to_string() }),
                })
            })
            .collect::<Result<_, _>>()?;
        Self::from_file(&KeyringFile { keys })
    }

    /// The JSON text of this keyring's [`KeyringFile`], pretty-printed.
    pub fn to_json(&self) -> Result<String, KeyError> {
        serde_json::to_string_pretty(&self.to_file()?).map_err(|e| KeyError::BadJson { reason: e.to_string() })
    }
}

/// A keyring as stored on disk. Unknown fields are refused, so a misspelt `revoked_at` cannot
/// silently leave a key alive.
///
/// ```json
/// { "keys": [ { "kid": "ops-2024", "public_key_pem": "-----BEGIN PUBLIC KEY-----\n…",
///               "not_before": "2024-01-01T00:00:00.000Z", "not_after": "2025-01-01T00:00:00.000Z" } ] }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringFile {
    /// The keys.
    pub keys: Vec<KeyFileEntry>,
}

/// One key of a [`KeyringFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFileEntry {
    /// The key id.
    pub kid: String,
    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub public_key_pem: String,
    /// The first instant the key is valid.
    pub not_before: Timestamp,
    /// The last instant the key is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
    /// When the key was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

impl KeyFileEntry {
    fn to_entry(&self) -> Result<KeyEntry, KeyError> {
        let kid_ok =
            !self.kid.is_empty() && self.kid.len() <= MAX_KID_LEN && self.kid.bytes().all(|b| b.is_ascii_graphic());
        if !kid_ok {
            return Err(KeyError::BadKid { kid: self.kid.clone() });
        }
        if let Some(not_after) = self.not_after.filter(|end| *end < self.not_before) {
            return Err(KeyError::EmptyWindow {
                kid: self.kid.clone(),
                not_before: self.not_before,
                not_after,
            });
        }
        Ok(KeyEntry {
            kid: self.kid.clone(),
            key: verifying_key_from_pem(&self.public_key_pem)?,
            not_before: self.not_before,
            not_after: self.not_after,
            revoked_at: self.revoked_at,
        })
    }
}

/// Reads an Ed25519 private key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as written by
/// `openssl genpkey -algorithm ed25519`.
pub fn signing_key_from_pem(pem: &str) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError::BadPem { reason: e.to_string() })
}

/// Reads an Ed25519 public key from SPKI PEM (`-----BEGIN PUBLIC KEY-----`), as written by
/// `openssl pkey -pubout`. Weak (small-order) keys are refused.
pub fn verifying_key_from_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
    let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| KeyError::BadPem { reason: e.to_string() })?;
    if key.is_weak() {
        return Err(KeyError::BadPem {
            reason: "public key is a weak (small-order) point".to_owned(),
        });
    }
    Ok(key)
}

/// Writes an Ed25519 private key as PKCS#8 v1 PEM with `\n` line endings, byte for byte what
/// `openssl genpkey` writes. (`SigningKey`'s own encoder writes PKCS#8 v2, with the public key
/// inside, which OpenSSL 3.0 refuses as "unsupported".) The text is a secret: store it like one.
pub fn signing_key_to_pem(key: &SigningKey) -> Result<String, KeyError> {
    let v1 = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    v1.to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.as_str().to_owned())
        .map_err(|e| KeyError::PemEncoding { reason: e.to_string() })
}

/// Writes an Ed25519 public key as SPKI PEM with `\n` line endings.
pub fn verifying_key_to_pem(key: &VerifyingKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::PemEncoding { reason: e.to_string() })
}

/// A fresh signing key, its 32 secret bytes taken from the operating system's RNG.
pub fn generate_signing_key() -> Result<SigningKey, KeyError> {
    let mut secret = [0_u8; ed25519_dalek::SECRET_KEY_LENGTH];
    getrandom::fill(&mut secret).map_err(|e| KeyError::NoRandomness { reason: e.to_string() })?;
    let key = SigningKey::from_bytes(&secret);
    secret.fill(0);
    Ok(key)
}

impl fmt::Display for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} valid from {} until {}",
            self.kid,
            self.not_before,
            until(self.not_after.as_ref())
        )?;
        if let Some(at) = self.revoked_at {
            write!(f, ", revoked at {at}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Signer, Verifier};

    const OPENSSL_PRIVATE: &str = include_str!("../tests/fixtures/openssl-ed25519.key.pem");
    const OPENSSL_PUBLIC: &str = include_str!("../tests/fixtures/openssl-ed25519.pub.pem");
    /// `printf 'hello zelavis' | openssl pkeyutl -sign -inkey openssl-ed25519.key.pem -rawin`, base64.
    const OPENSSL_SIGNATURE: &str = include_str!("../tests/fixtures/openssl-ed25519.sig.b64");

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    fn key() -> VerifyingKey {
        generate_signing_key().expect("os rng").verifying_key()
    }

    #[test]
    fn window_is_inclusive_and_revocation_is_final() {
        let entry = KeyEntry::new("k", key(), t(100)).valid_until(t(200));
        assert!(!entry.covers(t(99)));
        assert!(entry.covers(t(100)));
        assert!(entry.covers(t(200)));
        assert!(!entry.covers(t(201)));
        let revoked = entry.revoked(t(150));
        assert!(
            !revoked.covers(t(120)),
            "revocation also refuses instants before revoked_at"
        );
        assert!(!revoked.covers(t(180)));
    }

    #[test]
    fn key_at_names_what_went_wrong() {
        let mut ring = Keyring::new();
        ring.insert(KeyEntry::new("k", key(), t(100)).valid_until(t(200)));
        assert_eq!(
            ring.key_at("nope", t(150)),
            Err(KeyError::Unknown { kid: "nope".into() })
        );
        let err = ring.key_at("k", t(300)).expect_err("outside");
        assert_eq!(
            err,
            KeyError::OutsideWindow {
                kid: "k".into(),
                at: t(300),
                not_before: t(100),
                not_after: Some(t(200))
            }
        );
        assert_eq!(
            err.to_string(),
            "key \"k\" is not valid at 1970-01-01T00:05:00.000Z (valid from 1970-01-01T00:01:40.000Z until 1970-01-01T00:03:20.000Z)"
        );
        assert!(ring.key_at("k", t(150)).is_ok());
        ring.revoke("k", t(190)).expect("known");
        ring.revoke("k", t(195)).expect("known");
        assert_eq!(
            ring.key_at("k", t(150)),
            Err(KeyError::Revoked {
                kid: "k".into(),
                at: t(190)
            })
        );
        assert_eq!(ring.revoke("nope", t(1)), Err(KeyError::Unknown { kid: "nope".into() }));
    }

    #[test]
    fn reads_keys_made_by_openssl() {
        let signing = signing_key_from_pem(OPENSSL_PRIVATE).expect("openssl private key");
        let verifying = verifying_key_from_pem(OPENSSL_PUBLIC).expect("openssl public key");
        assert_eq!(signing.verifying_key(), verifying);
        // A signature made by openssl verifies here, and ours is the same (Ed25519 is deterministic).
        let theirs = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, OPENSSL_SIGNATURE.trim())
            .expect("base64");
        let theirs = Signature::from_slice(&theirs).expect("64 bytes");
        verifying
            .verify(b"hello zelavis", &theirs)
            .expect("openssl signature verifies");
        assert_eq!(signing.sign(b"hello zelavis"), theirs);
        // Keys are written exactly as openssl writes them.
        assert_eq!(
            signing_key_to_pem(&signing).expect("pem").trim(),
            OPENSSL_PRIVATE.trim()
        );
        assert_eq!(
            verifying_key_to_pem(&verifying).expect("pem").trim(),
            OPENSSL_PUBLIC.trim()
        );
    }

    /// Openssl reads the private keys we write (dalek's own PKCS#8 v2 output it refuses).
    #[test]
    fn openssl_reads_the_private_keys_we_write() {
        let signing = generate_signing_key().expect("os rng");
        let path = std::env::temp_dir().join(format!("zelavis-key-{}.pem", std::process::id()));
        std::fs::write(&path, signing_key_to_pem(&signing).expect("pem")).expect("write temp key");
        let out = std::process::Command::new("openssl")
            .arg("pkey")
            .arg("-pubout")
            .arg("-in")
            .arg(&path)
            .output();
        let _ = std::fs::remove_file(&path);
        let Ok(out) = out else {
            eprintln!("openssl not found: skipping the openssl half of this test");
            return;
        };
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let public = String::from_utf8(out.stdout).expect("utf-8 pem");
        assert_eq!(
            verifying_key_from_pem(&public).expect("openssl public key"),
            signing.verifying_key()
        );
    }

    #[test]
    fn pem_round_trips_and_refuses_garbage() {
        let signing = generate_signing_key().expect("os rng");
        let pem = signing_key_to_pem(&signing).expect("pem");
        assert_eq!(signing_key_from_pem(&pem).expect("reads back"), signing);
        assert!(matches!(signing_key_from_pem("not pem"), Err(KeyError::BadPem { .. })));
        assert!(matches!(
            verifying_key_from_pem(OPENSSL_PRIVATE),
            Err(KeyError::BadPem { .. })
        ));
        assert!(matches!(
            signing_key_from_pem(OPENSSL_PUBLIC),
            Err(KeyError::BadPem { .. })
        ));
        // The identity point (all zero but the first byte) is a small-order key.
        let weak = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n-----END PUBLIC KEY-----\n";
        assert!(matches!(verifying_key_from_pem(weak), Err(KeyError::BadPem { reason }) if reason.contains("weak")));
    }

    #[test]
    fn generated_keys_differ() {
        let a = generate_signing_key().expect("os rng");
        let b = generate_signing_key().expect("os rng");
        assert_ne!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn keyring_file_round_trips() {
        let mut ring = Keyring::new();
        ring.insert(KeyEntry::new("a", key(), t(1)).valid_until(t(2)));
        ring.insert(KeyEntry::new("b", key(), t(3)).revoked(t(4)));
        let json = ring.to_json().expect("json");
        assert_eq!(Keyring::from_json(&json).expect("reads back"), ring);
        assert_eq!(
            Keyring::from_file(&ring.to_file().expect("file")).expect("reads back"),
            ring
        );
        assert!(
            !json.contains("\"not_after\": null"),
            "absent fields are left out: {json}"
        );
    }

    #[test]
    fn keyring_file_refusals_name_the_entry() {
        let pem = serde_json::to_string(OPENSSL_PUBLIC).expect("json string");
        let entry = |kid: &str, extra: &str| {
            format!(r#"{{"kid":"{kid}","public_key_pem":{pem},"not_before":"2024-01-01T00:00:00.000Z"{extra}}}"#)
        };
        let file = |entries: &[String]| format!(r#"{{"keys":[{}]}}"#, entries.join(","));

        let bad_time = file(&[entry("a", ""), entry("b", r#","not_after":"soon""#)]);
        let err = Keyring::from_json(&bad_time).expect_err("bad time");
        assert!(
            matches!(&err, KeyError::BadEntry { index: 1, kid, .. } if kid == "b"),
            "{err}"
        );
        assert!(err.to_string().contains("\"soon\""), "{err}");

        let typo = file(&[entry("a", r#","revoked":"2024-02-01T00:00:00.000Z""#)]);
        assert!(matches!(
            Keyring::from_json(&typo),
            Err(KeyError::BadEntry { index: 0, .. })
        ));

        let dup = file(&[entry("a", ""), entry("a", "")]);
        let err = Keyring::from_json(&dup).expect_err("duplicate");
        assert!(
            matches!(&err, KeyError::BadEntry { index: 1, source, .. } if matches!(**source, KeyError::DuplicateKid { .. }))
        );

        let backwards = file(&[entry("a", r#","not_after":"2023-01-01T00:00:00.000Z""#)]);
        let err = Keyring::from_json(&backwards).expect_err("empty window");
        assert!(matches!(&err, KeyError::BadEntry { source, .. } if matches!(**source, KeyError::EmptyWindow { .. })));

        let bad_kid = file(&[entry("has space", "")]);
        let err = Keyring::from_json(&bad_kid).expect_err("bad kid");
        assert!(matches!(&err, KeyError::BadEntry { source, .. } if matches!(**source, KeyError::BadKid { .. })));

        let bad_pem = r#"{"keys":[{"kid":"x","public_key_pem":"nope","not_before":"2024-01-01T00:00:00.000Z"}]}"#;
        let err = Keyring::from_json(bad_pem).expect_err("bad pem");
        assert!(matches!(&err, KeyError::BadEntry { source, .. } if matches!(**source, KeyError::BadPem { .. })));

        assert!(matches!(Keyring::from_json("[]"), Err(KeyError::BadJson { .. })));
        assert!(matches!(
            Keyring::from_json(r#"{"keys":[],"x":1}"#),
            Err(KeyError::BadJson { .. })
        ));
    }
}
