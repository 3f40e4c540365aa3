//! Release records: what a publisher signs about one bundle, and the checks before it is trusted.
//!
//! A [`ReleaseRecord`] binds plugin id, version, the bundle's SHA-256 and the manifest's SHA-256
//! together under one Ed25519 signature, so a valid signature cannot be replayed onto another
//! plugin, another version or another bundle. The signed bytes are the record's
//! [canonical JSON](ReleaseRecord::canonical_json), which starts with `{` and names
//! [`RECORD_TYPE`], so they can never be mistaken for a license token's signing input.
//!
//! The key must be valid at the record's `published_at`, not at verification time: a release
//! signed while a key was live stays installable after the key's window closes (that is what a
//! rotation overlap is for). A **revoked** key refuses everything, because a leaked key can sign
//! any `published_at` it likes.
//!
//! ```
//! # use zelavis_operator::bundle::{pack, BundleContents, BundleLimits};
//! # use zelavis_operator::keyring::{generate_signing_key, KeyEntry, Keyring};
//! # use zelavis_operator::signature::{verify, ReleaseRecord, SignedRelease};
//! # use zelavis_operator::time::Timestamp;
//! # use zelavis_operator::bundle::Bundle;
//! let key = generate_signing_key()?;
//! let mut keyring = Keyring::new();
//! keyring.insert(KeyEntry::new("rel-1", key.verifying_key(), Timestamp::EPOCH));
//! let bytes = pack(&BundleContents {
//!     manifest: br#"{"name":"hello","version":"1.0.0"}"#.to_vec(),
//!     module: b"\0asm\x01\0\0\0".to_vec(),
//!     ..BundleContents::default()
//! })?;
//! let now = Timestamp::from_secs(1_700_000_000);
//! let bundle = Bundle::read(&bytes, &BundleLimits::default())?;
//! let sig = ReleaseRecord::for_bundle(&bundle, "acme", "rel-1", now)?.sign(&key).to_json();
//! let release = verify(&SignedRelease::from_json(&sig)?, &bytes, &keyring, &BundleLimits::default(), now)?;
//! assert_eq!(release.record.plugin, "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::bundle::{Bundle, BundleError, BundleLimits};
use crate::digest::Digest;
use crate::keyring::{KeyError, Keyring};
use crate::time::Timestamp;

/// The record type every release record names; a record of another type is refused.
pub const RECORD_TYPE: &str = "zelavis-release/1";
/// How far `published_at` may lie after the verifier's clock, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// Longest signature file accepted, in bytes.
pub const MAX_SIGNATURE_FILE_BYTES: usize = 64 * 1024;

/// Why a release record cannot be made or is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature file is not the expected JSON, or its signature is not base64 of 64 bytes.
    #[error("release signature file is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The record names another type than [`RECORD_TYPE`].
    #[error("release record type {found:?} is not {RECORD_TYPE:?}")]
    WrongRecordType {
        /// The type it names.
        found: String,
    },
    /// The record's key id is not in the keyring.
    #[error("release record key id {kid:?} is unknown")]
    UnknownKid {
        /// The key id.
        kid: String,
    },
    /// The record's key was revoked.
    #[error("release record key {kid:?} was revoked at {revoked_at}")]
    RevokedKey {
        /// The key id.
        kid: String,
        /// When it was revoked.
        revoked_at: Timestamp,
    },
    /// The record's key was not valid when the record says it was published.
    #[error("release record key {kid:?} was not valid at published_at {published_at}")]
    KeyNotValidAtPublication {
        /// The key id.
        kid: String,
        /// The record's `published_at`.
        published_at: Timestamp,
        /// What the keyring said.
        #[source]
        source: KeyError,
    },
    /// `published_at` is more than [`MAX_CLOCK_SKEW_SECS`] after now.
    #[error("release of {plugin:?} is published at {published_at}, in the future (now {now})")]
    PublishedInFuture {
        /// The plugin id.
        plugin: String,
        /// The record's `published_at`.
        published_at: Timestamp,
        /// The verifier's clock.
        now: Timestamp,
    },
    /// The signature does not match the record: the record or the signature was altered.
    #[error("release record for {release:?} does not match its signature by key {kid:?}")]
    TamperedRecord {
        /// `plugin@version` as the record says.
        release: String,
        /// The key id.
        kid: String,
    },
    /// The bundle's SHA-256 is not the one signed.
    #[error("bundle sha-256 {found:?} is not the signed {expected:?}")]
    TamperedBundle {
        /// The signed digest.
        expected: Digest,
        /// The bundle's digest.
        found: Digest,
    },
    /// The manifest's SHA-256 is not the one signed.
    #[error("manifest sha-256 {found:?} is not the signed {expected:?}")]
    TamperedManifest {
        /// The signed digest.
        expected: Digest,
        /// The manifest's digest.
        found: Digest,
    },
    /// The release is not the one expected (manifest vs record, or record vs caller).
    #[error("release {found:?} is not the expected {expected:?}")]
    WrongRelease {
        /// `plugin@version` expected.
        expected: String,
        /// `plugin@version` found.
        found: String,
    },
    /// The manifest lacks a field the record needs, or it is not a string.
    #[error("manifest field {field:?} is missing or not a string")]
    MissingManifestField {
        /// The field.
        field: &'static str,
    },
    /// The manifest's `version` is not semantic versioning.
    #[error("manifest version {version:?} is not a semantic version: {reason}")]
    BadManifestVersion {
        /// The text found.
        version: String,
        /// What the parser said.
        reason: String,
    },
    /// The bundle is refused.
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

impl SignatureError {
    /// A stable code for the API's `error` field: `unknown_kid`, `revoked_key`, `tampered_bundle`, ...
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Malformed { .. } => "malformed_signature",
            SignatureError::WrongRecordType { .. } => "wrong_record_type",
            SignatureError::UnknownKid { .. } => "unknown_kid",
            SignatureError::RevokedKey { .. } => "revoked_key",
            SignatureError::KeyNotValidAtPublication { .. } => "key_not_valid",
            SignatureError::PublishedInFuture { .. } => "published_in_future",
            SignatureError::TamperedRecord { .. } => "tampered_record",
            SignatureError::TamperedBundle { .. } => "tampered_bundle",
            SignatureError::TamperedManifest { .. } => "tampered_manifest",
            SignatureError::WrongRelease { .. } => "wrong_release",
            SignatureError::MissingManifestField { .. } | SignatureError::BadManifestVersion { .. } => "bad_manifest",
            SignatureError::Bundle(_) => "bad_bundle",
        }
    }
}

/// What a publisher signs about one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RecordWire", into = "RecordWire")]
pub struct ReleaseRecord {
    /// The plugin id (the manifest's `name`).
    pub plugin: String,
    /// The version (the manifest's `version`).
    pub version: semver::Version,
    /// SHA-256 of the exact `.tar.gz` bytes.
    pub bundle_sha256: Digest,
    /// SHA-256 of the manifest file's bytes.
    pub manifest_sha256: Digest,
    /// Who publishes it.
    pub publisher: String,
    /// The id of the signing key.
    pub kid: String,
    /// When it was published; the key must be valid then.
    pub published_at: Timestamp,
}

/// The record as it travels: with its `type`, unknown fields refused.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordWire {
    #[serde(rename = "type")]
    record_type: String,
    plugin: String,
    version: semver::Version,
    bundle_sha256: Digest,
    manifest_sha256: Digest,
    publisher: String,
    kid: String,
    published_at: Timestamp,
}

impl TryFrom<RecordWire> for ReleaseRecord {
    type Error = SignatureError;

    fn try_from(wire: RecordWire) -> Result<Self, Self::Error> {
        if wire.record_type != RECORD_TYPE {
            return Err(SignatureError::WrongRecordType {
                found: wire.record_type,
            });
        }
        Ok(Self {
            plugin: wire.plugin,
            version: wire.version,
            bundle_sha256: wire.bundle_sha256,
            manifest_sha256: wire.manifest_sha256,
            publisher: wire.publisher,
            kid: wire.kid,
            published_at: wire.published_at,
        })
    }
}

impl From<ReleaseRecord> for RecordWire {
    fn from(r: ReleaseRecord) -> Self {
        Self {
            record_type: RECORD_TYPE.to_owned(),
            plugin: r.plugin,
            version: r.version,
            bundle_sha256: r.bundle_sha256,
            manifest_sha256: r.manifest_sha256,
            publisher: r.publisher,
            kid: r.kid,
            published_at: r.published_at,
        }
    }
}

impl ReleaseRecord {
    /// The record for a bundle that passed [`Bundle::read`]: plugin and version come from the
    /// manifest's `name` and `version`.
    pub fn for_bundle(
        bundle: &Bundle,
        publisher: impl Into<String>,
        kid: impl Into<String>,
        published_at: Timestamp,
    ) -> Result<Self, SignatureError> {
        let (plugin, version) = manifest_release(bundle)?;
        Ok(Self {
            plugin,
            version,
            bundle_sha256: bundle.digest(),
            manifest_sha256: bundle.manifest_digest(),
            publisher: publisher.into(),
            kid: kid.into(),
            published_at,
        })
    }

    /// The bytes that are signed: a JSON object with keys in byte order, no whitespace, and
    /// `"type": RECORD_TYPE`. Written field by field, so no map type or serde feature can change
    /// the order.
    pub fn canonical_json(&self) -> String {
        let s = |text: &str| Value::from(text).to_string();
        format!(
            concat!(
                r#"{{"bundle_sha256":"{}","kid":{},"manifest_sha256":"{}","plugin":{},"#,
                r#""published_at":"{}","publisher":{},"type":{},"version":{}}}"#
            ),
            self.bundle_sha256,
            s(&self.kid),
            self.manifest_sha256,
            s(&self.plugin),
            self.published_at,
            s(&self.publisher),
            s(RECORD_TYPE),
            s(&self.version.to_string()),
        )
    }

    /// Signs the record's canonical JSON.
    pub fn sign(&self, key: &SigningKey) -> SignedRelease {
        let signature = STANDARD.encode(key.sign(self.canonical_json().as_bytes()).to_bytes());
        SignedRelease {
            record: self.clone(),
            signature,
        }
    }

    fn release(&self) -> String {
        format!("{}@{}", self.plugin, self.version)
    }
}

/// A record and its signature: the `.sig` file that travels beside the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRelease {
    /// The signed record.
    pub record: ReleaseRecord,
    /// The Ed25519 signature of the record's canonical JSON, standard base64 with padding.
    pub signature: String,
}

impl SignedRelease {
    /// The signature file: `{"record":<canonical json>,"signature":"…"}`.
    pub fn to_json(&self) -> String {
        format!(
            r#"{{"record":{},"signature":{}}}"#,
            self.record.canonical_json(),
            Value::from(self.signature.as_str())
        )
    }

    /// Reads a signature file. Unknown fields are refused; a record of another type is
    /// [`SignatureError::WrongRecordType`].
    pub fn from_json(json: &str) -> Result<Self, SignatureError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            record: RecordWire,
            signature: String,
        }
        if json.len() > MAX_SIGNATURE_FILE_BYTES {
            return Err(SignatureError::Malformed {
                reason: format!("{} bytes, over the limit of {MAX_SIGNATURE_FILE_BYTES}", json.len()),
            });
        }
        let wire: Wire = serde_json::from_str(json).map_err(|e| SignatureError::Malformed { reason: e.to_string() })?;
        Ok(Self {
            record: wire.record.try_into()?,
            signature: wire.signature,
        })
    }
}

/// A release whose signature, key, bundle and manifest all checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRelease {
    /// The signed record.
    pub record: ReleaseRecord,
    /// The bundle, read under the given limits.
    pub bundle: Bundle,
}

/// Checks a signed release against the bundle bytes it claims.
///
/// In order: the key (known, never revoked, valid at `published_at`); `published_at` not more
/// than [`MAX_CLOCK_SKEW_SECS`] ahead of `now`; the signature over the record; the bundle's
/// SHA-256 (before anything is decompressed); the bundle itself under `limits`; the manifest's
/// SHA-256; the manifest's `name` and `version` against the record.
pub fn verify(
    signed: &SignedRelease,
    bundle_bytes: &[u8],
    keyring: &Keyring,
    limits: &BundleLimits,
    now: Timestamp,
) -> Result<VerifiedRelease, SignatureError> {
    let record = &signed.record;
    let key = keyring
        .key_at(&record.kid, record.published_at)
        .map_err(|err| match err {
            KeyError::Unknown { kid } => SignatureError::UnknownKid { kid },
            KeyError::Revoked { kid, at } => SignatureError::RevokedKey { kid, revoked_at: at },
            other => SignatureError::KeyNotValidAtPublication {
                kid: record.kid.clone(),
                published_at: record.published_at,
                source: other,
            },
        })?;
    if record.published_at > now.add_secs(MAX_CLOCK_SKEW_SECS) {
        return Err(SignatureError::PublishedInFuture {
            plugin: record.plugin.clone(),
            published_at: record.published_at,
            now,
        });
    }
    let signature = STANDARD
        .decode(&signed.signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| SignatureError::Malformed {
            reason: "signature is not base64 of 64 bytes".to_owned(),
        })?;
    key.verify_strict(record.canonical_json().as_bytes(), &signature)
        .map_err(|_| SignatureError::TamperedRecord {
            release: record.release(),
            kid: record.kid.clone(),
        })?;

    let found = Digest::of(bundle_bytes);
    if found != record.bundle_sha256 {
        return Err(SignatureError::TamperedBundle {
            expected: record.bundle_sha256,
            found,
        });
    }
    let bundle = Bundle::read(bundle_bytes, limits)?;
    if bundle.manifest_digest() != record.manifest_sha256 {
        return Err(SignatureError::TamperedManifest {
            expected: record.manifest_sha256,
            found: bundle.manifest_digest(),
        });
    }
    let (plugin, version) = manifest_release(&bundle)?;
    if plugin != record.plugin || version != record.version {
        return Err(SignatureError::WrongRelease {
            expected: record.release(),
            found: format!("{plugin}@{version}"),
        });
    }
    Ok(VerifiedRelease {
        record: record.clone(),
        bundle,
    })
}

/// Refuses a verified release published under another plugin id or version than the caller's.
pub fn expect_release(
    release: &VerifiedRelease,
    plugin: &str,
    version: &semver::Version,
) -> Result<(), SignatureError> {
    if release.record.plugin == plugin && release.record.version == *version {
        Ok(())
    } else {
        Err(SignatureError::WrongRelease {
            expected: format!("{plugin}@{version}"),
            found: release.record.release(),
        })
    }
}

/// The manifest's `name` and `version`.
fn manifest_release(bundle: &Bundle) -> Result<(String, semver::Version), SignatureError> {
    let field = |field: &'static str| {
        bundle
            .manifest()
            .get(field)
            .and_then(Value::as_str)
            .ok_or(SignatureError::MissingManifestField { field })
    };
    let name = field("name")?;
    let version = field("version")?;
    let version = semver::Version::parse(version).map_err(|e| SignatureError::BadManifestVersion {
        version: version.to_owned(),
        reason: e.to_string(),
    })?;
    Ok((name.to_owned(), version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{BundleContents, pack};
    use crate::keyring::{KeyEntry, generate_signing_key};
    use semver::Version;

    const HOUR: i64 = 3600;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(1_700_000_000 + secs)
    }

    fn bundle_bytes(name: &str, version: &str) -> Vec<u8> {
        pack(&BundleContents {
            manifest: format!(r#"{{"name":"{name}","version":"{version}","entry":"main"}}"#).into_bytes(),
            module: b"\0asm\x01\0\0\0".to_vec(),
            assets: [("a.txt".to_owned(), b"asset".to_vec())].into(),
        })
        .expect("pack")
    }

    fn limits() -> BundleLimits {
        BundleLimits::default()
    }

    struct Fixture {
        key: SigningKey,
        ring: Keyring,
        bytes: Vec<u8>,
        signed: SignedRelease,
    }

    fn fixture() -> Fixture {
        let key = generate_signing_key().expect("os rng");
        let mut ring = Keyring::new();
        ring.insert(KeyEntry::new("k1", key.verifying_key(), t(-24 * HOUR)));
        let bytes = bundle_bytes("hello", "1.2.3");
        let bundle = Bundle::read(&bytes, &limits()).expect("bundle");
        let signed = ReleaseRecord::for_bundle(&bundle, "acme", "k1", t(0))
            .expect("record")
            .sign(&key);
        Fixture {
            key,
            ring,
            bytes,
            signed,
        }
    }

    fn check(f: &Fixture, signed: &SignedRelease, bytes: &[u8]) -> Result<VerifiedRelease, SignatureError> {
        verify(signed, bytes, &f.ring, &limits(), t(60))
    }

    #[test]
    fn signs_and_verifies() {
        let f = fixture();
        let release = check(&f, &f.signed, &f.bytes).expect("verifies");
        assert_eq!(release.record.plugin, "hello");
        assert_eq!(release.record.version, Version::new(1, 2, 3));
        assert_eq!(release.bundle.digest(), Digest::of(&f.bytes));
        expect_release(&release, "hello", &Version::new(1, 2, 3)).expect("same release");
    }

    #[test]
    fn canonical_json_is_sorted_compact_and_typed() {
        let f = fixture();
        let json = f.signed.record.canonical_json();
        let value: Value = serde_json::from_str(&json).expect("valid json");
        let keys: Vec<&String> = value.as_object().expect("object").keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(value["type"], RECORD_TYPE);
        assert!(!json.contains(' ') && !json.contains('\n'), "{json}");
        assert!(json.starts_with(r#"{"bundle_sha256":""#), "{json}");
        // The canonical form is the serde form with keys sorted.
        let via_serde = serde_json::to_value(&f.signed.record).expect("serde");
        assert_eq!(value, via_serde);
        // Strings are escaped.
        let mut odd = f.signed.record.clone();
        odd.publisher = "a\"b\\c\n".into();
        let parsed: Value = serde_json::from_str(&odd.canonical_json()).expect("escaped");
        assert_eq!(parsed["publisher"], "a\"b\\c\n");
    }

    #[test]
    fn signature_file_round_trips() {
        let f = fixture();
        let json = f.signed.to_json();
        assert_eq!(SignedRelease::from_json(&json), Ok(f.signed.clone()));
        let pretty = serde_json::to_string_pretty(&f.signed).expect("serde");
        assert_eq!(SignedRelease::from_json(&pretty), Ok(f.signed.clone()));
    }

    #[test]
    fn refuses_malformed_signature_files() {
        let f = fixture();
        for bad in ["", "{}", "[]", r#"{"record":{},"signature":"x"}"#] {
            assert!(
                matches!(SignedRelease::from_json(bad), Err(SignatureError::Malformed { .. })),
                "{bad}"
            );
        }
        let extra = f.signed.to_json().replacen("{\"record\"", "{\"extra\":1,\"record\"", 1);
        assert!(matches!(
            SignedRelease::from_json(&extra),
            Err(SignatureError::Malformed { .. })
        ));
        let huge = " ".repeat(MAX_SIGNATURE_FILE_BYTES + 1);
        assert!(matches!(
            SignedRelease::from_json(&huge),
            Err(SignatureError::Malformed { .. })
        ));
        let bad_digest = f
            .signed
            .to_json()
            .replacen("\"bundle_sha256\":\"", "\"bundle_sha256\":\"X", 1);
        assert!(matches!(
            SignedRelease::from_json(&bad_digest),
            Err(SignatureError::Malformed { .. })
        ));
        let mut not_b64 = f.signed.clone();
        not_b64.signature = "%%%".into();
        assert!(matches!(
            check(&f, &not_b64, &f.bytes),
            Err(SignatureError::Malformed { .. })
        ));
        let mut short = f.signed.clone();
        short.signature = STANDARD.encode([0_u8; 63]);
        assert!(matches!(
            check(&f, &short, &f.bytes),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn refuses_another_record_type() {
        let f = fixture();
        let json = f.signed.to_json().replace(RECORD_TYPE, "zelavis-release/2");
        assert_eq!(
            SignedRelease::from_json(&json),
            Err(SignatureError::WrongRecordType {
                found: "zelavis-release/2".into()
            })
        );
    }

    #[test]
    fn refuses_unknown_revoked_and_out_of_window_keys() {
        let mut f = fixture();
        let mut unknown = f.signed.clone();
        unknown.record.kid = "k9".into();
        assert_eq!(
            check(&f, &unknown, &f.bytes),
            Err(SignatureError::UnknownKid { kid: "k9".into() })
        );

        let early = ReleaseRecord {
            published_at: t(-25 * HOUR),
            ..f.signed.record.clone()
        }
        .sign(&f.key);
        assert!(matches!(
            check(&f, &early, &f.bytes),
            Err(SignatureError::KeyNotValidAtPublication { .. })
        ));

        f.ring.revoke("k1", t(HOUR)).expect("known");
        assert_eq!(
            check(&f, &f.signed, &f.bytes),
            Err(SignatureError::RevokedKey {
                kid: "k1".into(),
                revoked_at: t(HOUR)
            })
        );
    }

    #[test]
    fn refuses_releases_from_the_future() {
        let f = fixture();
        let ahead = |secs| {
            ReleaseRecord {
                published_at: t(60 + secs),
                ..f.signed.record.clone()
            }
            .sign(&f.key)
        };
        assert!(check(&f, &ahead(MAX_CLOCK_SKEW_SECS), &f.bytes).is_ok());
        assert!(matches!(
            check(&f, &ahead(MAX_CLOCK_SKEW_SECS + 1), &f.bytes),
            Err(SignatureError::PublishedInFuture { .. })
        ));
    }

    #[test]
    fn refuses_tampered_records_and_signatures() {
        let f = fixture();
        let mut other_version = f.signed.clone();
        other_version.record.version = Version::new(1, 2, 4);
        assert!(matches!(
            check(&f, &other_version, &f.bytes),
            Err(SignatureError::TamperedRecord { .. })
        ));
        let mut other_publisher = f.signed.clone();
        other_publisher.record.publisher = "mallory".into();
        assert!(matches!(
            check(&f, &other_publisher, &f.bytes),
            Err(SignatureError::TamperedRecord { .. })
        ));

        // Every byte of the signature file: refused one way or another, never accepted changed.
        let json = f.signed.to_json();
        for i in 0..json.len() {
            let mut bytes = json.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let Ok(text) = String::from_utf8(bytes) else { continue };
            if let Ok(parsed) = SignedRelease::from_json(&text) {
                let result = check(&f, &parsed, &f.bytes);
                assert!(result.is_err() || parsed == f.signed, "byte {i}: {text}");
            }
        }
    }

    #[test]
    fn refuses_tampered_bundles() {
        let f = fixture();
        for i in (0..f.bytes.len()).step_by(7) {
            let mut bytes = f.bytes.clone();
            bytes[i] ^= 0x20;
            let err = check(&f, &f.signed, &bytes).expect_err("tampered");
            assert!(matches!(err, SignatureError::TamperedBundle { .. }), "byte {i}: {err}");
        }
        assert_eq!(bundle_bytes("hello", "1.2.3"), f.bytes, "pack is reproducible");
        let other = bundle_bytes("hello", "1.2.4");
        assert!(matches!(
            check(&f, &f.signed, &other),
            Err(SignatureError::TamperedBundle { .. })
        ));
    }

    #[test]
    fn refuses_a_record_whose_manifest_digest_or_release_lies() {
        let f = fixture();
        // A signer that signed the right bundle digest with a wrong manifest digest.
        let lying = ReleaseRecord {
            manifest_sha256: Digest::of(b"other"),
            ..f.signed.record.clone()
        }
        .sign(&f.key);
        assert!(matches!(
            check(&f, &lying, &f.bytes),
            Err(SignatureError::TamperedManifest { .. })
        ));
        // A signer that signed the bundle under another name.
        let renamed = ReleaseRecord {
            plugin: "billing".into(),
            ..f.signed.record.clone()
        }
        .sign(&f.key);
        assert_eq!(
            check(&f, &renamed, &f.bytes),
            Err(SignatureError::WrongRelease {
                expected: "billing@1.2.3".into(),
                found: "hello@1.2.3".into()
            })
        );
    }

    #[test]
    fn refuses_unreadable_bundles() {
        let f = fixture();
        let junk = b"not a bundle".to_vec();
        let signed = ReleaseRecord {
            bundle_sha256: Digest::of(&junk),
            ..f.signed.record.clone()
        }
        .sign(&f.key);
        assert!(matches!(
            check(&f, &signed, &junk),
            Err(SignatureError::Bundle(BundleError::CorruptGzip { .. }))
        ));
    }

    #[test]
    fn expect_release_refuses_another_id_or_version() {
        let f = fixture();
        let release = check(&f, &f.signed, &f.bytes).expect("verifies");
        assert_eq!(
            expect_release(&release, "billing", &Version::new(1, 2, 3)),
            Err(SignatureError::WrongRelease {
                expected: "billing@1.2.3".into(),
                found: "hello@1.2.3".into()
            })
        );
        assert!(expect_release(&release, "hello", &Version::new(2, 0, 0)).is_err());
    }

    #[test]
    fn for_bundle_needs_name_and_semver_version() {
        let read = |manifest: &str| {
            let bytes = pack(&BundleContents {
                manifest: manifest.into(),
                module: vec![],
                ..BundleContents::default()
            })
            .expect("pack");
            let bundle = Bundle::read(&bytes, &limits()).expect("bundle");
            ReleaseRecord::for_bundle(&bundle, "acme", "k1", t(0))
        };
        assert_eq!(
            read(r#"{"version":"1.0.0"}"#),
            Err(SignatureError::MissingManifestField { field: "name" })
        );
        assert_eq!(
            read(r#"{"name":"x","version":1}"#),
            Err(SignatureError::MissingManifestField { field: "version" })
        );
        assert!(matches!(
            read(r#"{"name":"x","version":"1.0"}"#),
            Err(SignatureError::BadManifestVersion { .. })
        ));
    }

    /// Old key valid until T; new key from T-1h. A release published in the overlap verifies with
    /// either key, long after T; a release published after T verifies only with the new key.
    #[test]
    fn key_rotation_with_an_overlap_window() {
        let big_t = t(0);
        let old = generate_signing_key().expect("os rng");
        let new = generate_signing_key().expect("os rng");
        let mut ring = Keyring::new();
        ring.insert(KeyEntry::new("old", old.verifying_key(), t(-30 * 24 * HOUR)).valid_until(big_t));
        ring.insert(KeyEntry::new("new", new.verifying_key(), big_t.add_secs(-HOUR)));
        let bytes = bundle_bytes("hello", "1.2.3");
        let bundle = Bundle::read(&bytes, &limits()).expect("bundle");
        let sign = |key: &SigningKey, kid: &str, at: Timestamp| {
            ReleaseRecord::for_bundle(&bundle, "acme", kid, at)
                .expect("record")
                .sign(key)
        };
        let later = big_t.add_secs(7 * 24 * HOUR);
        let verify_at = |signed: &SignedRelease, now| verify(signed, &bytes, &ring, &limits(), now);

        let in_overlap = big_t.add_secs(-HOUR / 2);
        assert!(verify_at(&sign(&old, "old", in_overlap), later).is_ok());
        assert!(verify_at(&sign(&new, "new", in_overlap), later).is_ok());
        assert!(
            verify_at(&sign(&old, "old", big_t), later).is_ok(),
            "window end is inclusive"
        );

        let after = big_t.add_secs(1);
        assert!(matches!(
            verify_at(&sign(&old, "old", after), later),
            Err(SignatureError::KeyNotValidAtPublication { .. })
        ));
        assert!(verify_at(&sign(&new, "new", after), later).is_ok());
        let before_new = big_t.add_secs(-2 * HOUR);
        assert!(matches!(
            verify_at(&sign(&new, "new", before_new), later),
            Err(SignatureError::KeyNotValidAtPublication { .. })
        ));
    }

    /// A revoked key refuses even releases it signed long before the revocation: a thief can
    /// backdate `published_at`, so the date proves nothing.
    #[test]
    fn revocation_is_final() {
        let mut f = fixture();
        let backdated = ReleaseRecord {
            published_at: t(-HOUR),
            ..f.signed.record.clone()
        }
        .sign(&f.key);
        assert!(check(&f, &backdated, &f.bytes).is_ok());
        f.ring.revoke("k1", t(30)).expect("known");
        assert!(matches!(
            check(&f, &backdated, &f.bytes),
            Err(SignatureError::RevokedKey { .. })
        ));
        assert!(matches!(
            check(&f, &f.signed, &f.bytes),
            Err(SignatureError::RevokedKey { .. })
        ));
    }
}
