//! Licenses: `--keyring <file>` verifies each tenant's stored license token (and, by key id, release
//! signatures: one keyring file holds the platform's public keys).
//!
//! A tenant's license is the Ed25519-signed token stored on it (`tenant create --license-file`). `tenant
//! enable` verifies it with the crate's [`SignedLicenses`] against the keyring file the hosts use (a JSON
//! [`KeyringFile`](zelavis_operator::keyring::KeyringFile) of public keys): a bad signature, an unknown,
//! revoked or out-of-window key, an expired token or a token issued to another tenant is `license_invalid`.
//! Without a keyring no license can be verified, and every enable is refused saying so.

use std::path::Path;

use async_trait::async_trait;
use zelavis_operator::error::OperatorError;
use zelavis_operator::keyring::Keyring;
use zelavis_operator::license::{License, LicenseSource, SignedLicenses};
use zelavis_operator::tenant::Tenant;
use zelavis_operator::time::SystemClock;

use super::exit::Failure;
use super::input::read_input;

/// Loads a keyring file (exit 2, `invalid_keyring`, when it is refused).
pub(crate) fn load_keyring(path: &Path) -> Result<Keyring, Failure> {
    let text = read_input(path, "the keyring")?;
    Keyring::from_json(&text).map_err(|e| {
        Failure::usage(
            "invalid_keyring",
            format!("the keyring {} is refused: {e}", path.display()),
        )
    })
}

/// Verifies licenses against `keyring` at the system's time.
pub(crate) fn signed(keyring: Keyring) -> SignedLicenses {
    SignedLicenses::new(keyring, SystemClock)
}

/// The license source when no keyring was given: every license is refused, saying how to give one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoKeyring;

#[async_trait]
impl LicenseSource for NoKeyring {
    async fn license(&self, tenant: &Tenant) -> Result<License, OperatorError> {
        Err(OperatorError::LicenseInvalid {
            tenant: tenant.id.to_string(),
            reason: "zelavis has no keyring to verify license tokens with: pass --keyring <file> or set \
                     ZELAVIS_KEYRING"
                .to_owned(),
        })
    }
}
