//! Tenant licenses: Ed25519-signed JWTs (compact JWS, `alg` `EdDSA`, base64url without padding).
//!
//! The header is `{"alg":"EdDSA","typ":"JWT","kid":"…"}`; the key id picks the verifying key
//! from a [`Keyring`], and that key must be usable at the moment of verification.
//!
//! ```
//! # use zelavis_operator::keyring::{generate_signing_key, KeyEntry, Keyring};
//! # use zelavis_operator::license::token::{issue_license, verify_license, LicenseClaims};
//! # use zelavis_operator::time::Timestamp;
//! let key = generate_signing_key()?;
//! let mut keyring = Keyring::new();
//! keyring.insert(KeyEntry::new("lic-1", key.verifying_key(), Timestamp::EPOCH));
//! let now = Timestamp::from_secs(1_700_000_000);
//! let claims = LicenseClaims {
//!     sub: "tenant-42".into(),
//!     licensed_plugins: vec!["billing".into()],
//!     tier: "pro".into(),
//!     niche_packages: vec![],
//!     features: vec!["sso".into()],
//!     exp: now.as_secs() + 3600,
//!     iat: now.as_secs(),
//! };
//! let token = issue_license(&claims, "lic-1", &key);
//! assert_eq!(verify_license(&token, &keyring, now)?, claims);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::keyring::{KeyError, Keyring};
use crate::time::Timestamp;

/// Longest token accepted, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// How far in the future `iat` may be, in seconds, to allow for clock skew.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// The only signature algorithm accepted.
pub const ALGORITHM: &str = "EdDSA";

/// What a license grants a tenant. Unknown claims in a token are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseClaims {
    /// The tenant id.
    pub sub: String,
    /// Plugin ids the tenant may activate.
    #[serde(default)]
    pub licensed_plugins: Vec<String>,
    /// The commercial tier.
    pub tier: String,
    /// Niche packages the tenant may install.
    #[serde(default)]
    pub niche_packages: Vec<String>,
    /// Feature flags granted.
    #[serde(default)]
    pub features: Vec<String>,
    /// Expiry, in seconds since the epoch; the license is dead from this second on.
    pub exp: i64,
    /// Issue time, in seconds since the epoch.
    pub iat: i64,
}

/// One of the three dot-separated parts of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPart {
    /// The JOSE header.
    Header,
    /// The claims.
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// Why a license token is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LicenseError {
    /// The token is longer than [`MAX_TOKEN_BYTES`].
    #[error("license token is {len} bytes, over the limit of {limit}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The token is not three dot-separated parts.
    #[error("license token has {parts} dot-separated parts, expected 3")]
    NotThreeParts {
        /// How many parts it has.
        parts: usize,
    },
    /// A part is not base64url without padding.
    #[error("license token {part} is not base64url without padding")]
    BadBase64 {
        /// Which part.
        part: TokenPart,
    },
    /// The header or payload is not the expected JSON.
    #[error("license token {part} is not valid json: {reason}")]
    BadJson {
        /// Which part.
        part: TokenPart,
        /// What the parser said.
        reason: String,
    },
    /// The header names an algorithm other than `EdDSA`.
    #[error("license token algorithm {alg:?} is not \"EdDSA\"")]
    WrongAlgorithm {
        /// The algorithm named.
        alg: String,
    },
    /// The header `typ` is present and not `JWT`.
    #[error("license token type {typ:?} is not \"JWT\"")]
    WrongType {
        /// The type named.
        typ: String,
    },
    /// The header has a `crit` member: extensions that must be understood, and none are.
    #[error("license token header has critical extensions {crit}, none of which are supported")]
    CriticalExtension {
        /// The `crit` value, as JSON.
        crit: String,
    },
    /// The header has no `kid`.
    #[error("license token header has no kid")]
    MissingKid,
    /// The `kid` is not in the keyring.
    #[error("license token key id {kid:?} is unknown")]
    UnknownKid {
        /// The key id.
        kid: String,
    },
    /// The key was revoked.
    #[error("license token key {kid:?} was revoked at {revoked_at}")]
    RevokedKey {
        /// The key id.
        kid: String,
        /// When it was revoked.
        revoked_at: Timestamp,
    },
    /// The key is not valid now.
    #[error("license token key {kid:?} is not valid at {now}")]
    KeyNotValid {
        /// The key id.
        kid: String,
        /// The instant of verification.
        now: Timestamp,
        /// Why, as the keyring said it.
        #[source]
        source: KeyError,
    },
    /// The signature does not match the header and payload.
    #[error("license token signature does not verify with key {kid:?}")]
    BadSignature {
        /// The key id.
        kid: String,
    },
    /// The license has expired.
    #[error("license for tenant {sub:?} expired at {} (now {now})", Timestamp::from_secs(*.exp))]
    Expired {
        /// The tenant id.
        sub: String,
        /// The `exp` claim, in seconds.
        exp: i64,
        /// The instant of verification.
        now: Timestamp,
    },
    /// The license claims to be issued more than [`MAX_CLOCK_SKEW_SECS`] in the future.
    #[error("license for tenant {sub:?} is issued at {}, in the future (now {now})", Timestamp::from_secs(*.iat))]
    IssuedInFuture {
        /// The tenant id.
        sub: String,
        /// The `iat` claim, in seconds.
        iat: i64,
        /// The instant of verification.
        now: Timestamp,
    },
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// Signs `claims` as a compact JWS with header `{"alg":"EdDSA","typ":"JWT","kid":kid}`.
pub fn issue_license(claims: &LicenseClaims, kid: &str, key: &SigningKey) -> String {
    let header = format!(r#"{{"alg":"{ALGORITHM}","typ":"JWT","kid":{}}}"#, Value::from(kid));
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims_json(claims))
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// The claims as JSON, built from `Value`s so that writing cannot fail.
fn claims_json(claims: &LicenseClaims) -> String {
    let strings = |list: &[String]| Value::Array(list.iter().map(|s| Value::from(s.as_str())).collect());
    let mut map = Map::new();
    map.insert("sub".into(), Value::from(claims.sub.as_str()));
    map.insert("licensed_plugins".into(), strings(&claims.licensed_plugins));
    map.insert("tier".into(), Value::from(claims.tier.as_str()));
    map.insert("niche_packages".into(), strings(&claims.niche_packages));
    map.insert("features".into(), strings(&claims.features));
    map.insert("exp".into(), Value::from(claims.exp));
    map.insert("iat".into(), Value::from(claims.iat));
    Value::Object(map).to_string()
}

/// Verifies a license token against `keyring` at `now` and returns its claims.
///
/// Refuses, in this order: a token over [`MAX_TOKEN_BYTES`]; not three parts; a header that is
/// not base64url JSON; an algorithm other than `EdDSA`; a `typ` other than `JWT`; critical
/// extensions; a missing, unknown, revoked or not-yet/no-longer valid key; a bad signature; a
/// payload that is not base64url JSON claims; `exp ≤ now`; `iat` more than
/// [`MAX_CLOCK_SKEW_SECS`] after `now`.
pub fn verify_license(token: &str, keyring: &Keyring, now: Timestamp) -> Result<LicenseClaims, LicenseError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(LicenseError::TooLong {
            len: token.len(),
            limit: MAX_TOKEN_BYTES,
        });
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
        return Err(LicenseError::NotThreeParts { parts: parts.len() });
    };
    let header: Header = decode_json(header_b64, TokenPart::Header)?;
    if header.alg != ALGORITHM {
        return Err(LicenseError::WrongAlgorithm { alg: header.alg });
    }
    if let Some(typ) = header.typ.filter(|t| t != "JWT") {
        return Err(LicenseError::WrongType { typ });
    }
    if let Some(crit) = header.crit {
        return Err(LicenseError::CriticalExtension { crit: crit.to_string() });
    }
    let kid = header.kid.ok_or(LicenseError::MissingKid)?;
    let key = keyring.key_at(&kid, now).map_err(|err| match err {
        KeyError::Unknown { kid } => LicenseError::UnknownKid { kid },
        KeyError::Revoked { kid, at } => LicenseError::RevokedKey { kid, revoked_at: at },
        other => LicenseError::KeyNotValid {
            kid: kid.clone(),
            now,
            source: other,
        },
    })?;
    let signature = decode(signature_b64, TokenPart::Signature)?;
    let signature = Signature::from_slice(&signature).map_err(|_| LicenseError::BadSignature { kid: kid.clone() })?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    key.verify_strict(signing_input.as_bytes(), &signature)
        .map_err(|_| LicenseError::BadSignature { kid: kid.clone() })?;

    let claims: LicenseClaims = decode_json(payload_b64, TokenPart::Payload)?;
    let now_ms = i128::from(now.as_millis());
    if i128::from(claims.exp) * 1000 <= now_ms {
        return Err(LicenseError::Expired {
            sub: claims.sub,
            exp: claims.exp,
            now,
        });
    }
    if i128::from(claims.iat) * 1000 > now_ms + i128::from(MAX_CLOCK_SKEW_SECS) * 1000 {
        return Err(LicenseError::IssuedInFuture {
            sub: claims.sub,
            iat: claims.iat,
            now,
        });
    }
    Ok(claims)
}

fn decode(text: &str, part: TokenPart) -> Result<Vec<u8>, LicenseError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| LicenseError::BadBase64 { part })
}

fn decode_json<T: serde::de::DeserializeOwned>(text: &str, part: TokenPart) -> Result<T, LicenseError> {
    serde_json::from_slice(&decode(text, part)?).map_err(|e| LicenseError::BadJson {
        part,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::{KeyEntry, generate_signing_key};
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000;

    fn now() -> Timestamp {
        Timestamp::from_secs(NOW)
    }

    fn claims() -> LicenseClaims {
        LicenseClaims {
            sub: "tenant-1".into(),
            licensed_plugins: vec!["billing".into(), "crm".into()],
            tier: "enterprise".into(),
            niche_packages: vec!["dental".into()],
            features: vec!["sso".into()],
            exp: NOW + 3600,
            iat: NOW - 60,
        }
    }

    fn setup() -> (SigningKey, Keyring) {
        let key = generate_signing_key().expect("os rng");
        let mut ring = Keyring::new();
        ring.insert(KeyEntry::new(
            "k1",
            key.verifying_key(),
            Timestamp::from_secs(NOW - 86_400),
        ));
        (key, ring)
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    /// A token with the given raw header and payload JSON, signed properly.
    fn raw_token(key: &SigningKey, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let sig = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    #[test]
    fn issues_and_verifies() {
        let (key, ring) = setup();
        let token = issue_license(&claims(), "k1", &key);
        assert_eq!(verify_license(&token, &ring, now()), Ok(claims()));
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().expect("header"))
            .expect("b64");
        assert_eq!(header, br#"{"alg":"EdDSA","typ":"JWT","kid":"k1"}"#);
    }

    #[test]
    fn ignores_unknown_claims_and_defaults_lists() {
        let (key, ring) = setup();
        let payload = format!(
            r#"{{"sub":"t","tier":"free","exp":{},"iat":{NOW},"extra":{{"x":1}}}}"#,
            NOW + 10
        );
        let token = raw_token(&key, r#"{"alg":"EdDSA","kid":"k1"}"#, &payload);
        let got = verify_license(&token, &ring, now()).expect("verifies");
        assert_eq!(got.sub, "t");
        assert!(got.licensed_plugins.is_empty());
    }

    #[test]
    fn refuses_oversized_tokens_before_decoding() {
        let (_, ring) = setup();
        let token = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            verify_license(&token, &ring, now()),
            Err(LicenseError::TooLong {
                len: MAX_TOKEN_BYTES + 1,
                limit: MAX_TOKEN_BYTES
            })
        );
    }

    #[test]
    fn refuses_malformed_tokens_naming_the_part() {
        let (key, ring) = setup();
        let good = issue_license(&claims(), "k1", &key);
        let [h, p, s] = <[&str; 3]>::try_from(good.split('.').collect::<Vec<_>>()).expect("three parts");
        let check = |token: String, want: LicenseError| assert_eq!(verify_license(&token, &ring, now()), Err(want));
        check(format!("{h}.{p}"), LicenseError::NotThreeParts { parts: 2 });
        check(format!("{h}.{p}.{s}.x"), LicenseError::NotThreeParts { parts: 4 });
        check(
            format!("{h}=.{p}.{s}"),
            LicenseError::BadBase64 {
                part: TokenPart::Header,
            },
        );
        check(
            format!("{h}.{p}.{s}*"),
            LicenseError::BadBase64 {
                part: TokenPart::Signature,
            },
        );
        let err = verify_license(&format!("{}.{p}.{s}", b64("{not json")), &ring, now());
        assert!(
            matches!(
                err,
                Err(LicenseError::BadJson {
                    part: TokenPart::Header,
                    ..
                })
            ),
            "{err:?}"
        );
        let bad_payload = raw_token(&key, r#"{"alg":"EdDSA","kid":"k1"}"#, r#"{"sub":"t"}"#);
        let err = verify_license(&bad_payload, &ring, now());
        assert!(
            matches!(
                err,
                Err(LicenseError::BadJson {
                    part: TokenPart::Payload,
                    ..
                })
            ),
            "{err:?}"
        );
        let padded = format!("{h}.{p}.{s}==");
        assert!(verify_license(&padded, &ring, now()).is_err());
    }

    #[test]
    fn refuses_other_algorithms_types_and_critical_headers() {
        let (key, ring) = setup();
        let payload = serde_json::to_string(&claims()).expect("json");
        let check = |header: &str, want: LicenseError| {
            assert_eq!(
                verify_license(&raw_token(&key, header, &payload), &ring, now()),
                Err(want)
            );
        };
        check(
            r#"{"alg":"none","kid":"k1"}"#,
            LicenseError::WrongAlgorithm { alg: "none".into() },
        );
        check(
            r#"{"alg":"HS256","kid":"k1"}"#,
            LicenseError::WrongAlgorithm { alg: "HS256".into() },
        );
        check(
            r#"{"alg":"EdDSA","typ":"JOSE+x","kid":"k1"}"#,
            LicenseError::WrongType { typ: "JOSE+x".into() },
        );
        check(
            r#"{"alg":"EdDSA","kid":"k1","crit":["exp"]}"#,
            LicenseError::CriticalExtension {
                crit: r#"["exp"]"#.into(),
            },
        );
        check(r#"{"alg":"EdDSA"}"#, LicenseError::MissingKid);
        check(
            r#"{"alg":"EdDSA","kid":"k9"}"#,
            LicenseError::UnknownKid { kid: "k9".into() },
        );
        // An unsigned "none" token is refused on its algorithm, whatever its signature part.
        let none = format!("{}.{}.", b64(r#"{"alg":"none","kid":"k1"}"#), b64(&payload));
        assert_eq!(
            verify_license(&none, &ring, now()),
            Err(LicenseError::WrongAlgorithm { alg: "none".into() })
        );
    }

    #[test]
    fn refuses_revoked_and_out_of_window_keys() {
        let (key, mut ring) = setup();
        let token = issue_license(&claims(), "k1", &key);
        let early = Timestamp::from_secs(NOW - 2 * 86_400);
        assert!(matches!(
            verify_license(&token, &ring, early),
            Err(LicenseError::KeyNotValid { .. })
        ));
        ring.insert(KeyEntry::new("k1", key.verifying_key(), Timestamp::EPOCH).valid_until(now().add_secs(-1)));
        assert!(matches!(
            verify_license(&token, &ring, now()),
            Err(LicenseError::KeyNotValid { .. })
        ));
        ring.insert(KeyEntry::new("k1", key.verifying_key(), Timestamp::EPOCH));
        ring.revoke("k1", now().add_secs(1000)).expect("known key");
        assert_eq!(
            verify_license(&token, &ring, now()),
            Err(LicenseError::RevokedKey {
                kid: "k1".into(),
                revoked_at: now().add_secs(1000)
            })
        );
    }

    #[test]
    fn refuses_bad_signatures() {
        let (key, ring) = setup();
        let other = generate_signing_key().expect("os rng");
        let forged = issue_license(&claims(), "k1", &other);
        assert_eq!(
            verify_license(&forged, &ring, now()),
            Err(LicenseError::BadSignature { kid: "k1".into() })
        );
        // Swap in a payload that grants more, keep the signature.
        let good = issue_license(&claims(), "k1", &key);
        let mut more = claims();
        more.tier = "unlimited".into();
        let richer = issue_license(&more, "k1", &other);
        let spliced: Vec<&str> = good
            .split('.')
            .zip(richer.split('.'))
            .enumerate()
            .map(|(i, (g, r))| if i == 1 { r } else { g })
            .collect();
        assert_eq!(
            verify_license(&spliced.join("."), &ring, now()),
            Err(LicenseError::BadSignature { kid: "k1".into() })
        );
        let short = format!("{}.{}", good.rsplit_once('.').expect("dot").0, b64("short"));
        assert_eq!(
            verify_license(&short, &ring, now()),
            Err(LicenseError::BadSignature { kid: "k1".into() })
        );
    }

    #[test]
    fn refuses_expired_and_future_licenses() {
        let (key, ring) = setup();
        let mut c = claims();
        c.exp = NOW;
        let token = issue_license(&c, "k1", &key);
        let err = verify_license(&token, &ring, now()).expect_err("expired at exp");
        assert_eq!(
            err,
            LicenseError::Expired {
                sub: "tenant-1".into(),
                exp: NOW,
                now: now()
            }
        );
        assert!(err.to_string().contains("\"tenant-1\""), "{err}");
        assert!(
            verify_license(&token, &ring, now().add_millis(-1)).is_ok(),
            "valid until the last millisecond"
        );

        let mut c = claims();
        c.iat = NOW + MAX_CLOCK_SKEW_SECS;
        assert!(
            verify_license(&issue_license(&c, "k1", &key), &ring, now()).is_ok(),
            "skew allowed"
        );
        c.iat = NOW + MAX_CLOCK_SKEW_SECS + 1;
        assert!(matches!(
            verify_license(&issue_license(&c, "k1", &key), &ring, now()),
            Err(LicenseError::IssuedInFuture { .. })
        ));
        c.iat = i64::MAX;
        c.exp = i64::MAX;
        assert!(matches!(
            verify_license(&issue_license(&c, "k1", &key), &ring, now()),
            Err(LicenseError::IssuedInFuture { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(token in "[A-Za-z0-9_.=-]{0,200}") {
            let (_, ring) = setup();
            prop_assert!(verify_license(&token, &ring, now()).is_err());
        }

        #[test]
        fn any_flipped_character_is_refused(index in 0_usize..400, replacement in "[A-Za-z0-9_-]") {
            let (key, ring) = setup();
            let token = issue_license(&claims(), "k1", &key);
            let index = index % token.len();
            let mut bytes = token.clone().into_bytes();
            let new = replacement.as_bytes()[0];
            prop_assume!(bytes[index] != b'.' && bytes[index] != new);
            bytes[index] = new;
            let tampered = String::from_utf8(bytes).expect("ascii");
            prop_assert!(verify_license(&tampered, &ring, now()).is_err());
        }
    }
}
