//! Licenses: what a tenant paid for. A [`LicenseSource`] turns a tenant into its [`License`]; the reference
//! source, [`SignedLicenses`], verifies the tenant's Ed25519-signed token (a JWT with `kid`, `alg: EdDSA`)
//! against a [`Keyring`] and refuses expired or unknown-key tokens.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::OperatorError;
use crate::keyring::Keyring;
use crate::time::Clock;

pub mod token;
use crate::tenant::Tenant;
use crate::time::Timestamp;

/// The grant a license carries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct License {
    /// The plugins the tenant may enable.
    pub licensed_plugins: Vec<String>,
    /// The tier the license was sold for.
    pub tier: String,
    /// Niche packages: a plugin whose `default_in_packages` names one of them is licensed too.
    pub niche_packages: Vec<String>,
    /// Features, e.g. `marketplace_publisher` (may publish plugins).
    pub features: Vec<String>,
    /// When it expires.
    pub expires_at: Option<Timestamp>,
}

impl License {
    /// Whether the license covers `plugin`, offered in `packages`.
    pub fn covers(&self, plugin: &str, packages: &[String]) -> bool {
        self.licensed_plugins.iter().any(|p| p == plugin) || packages.iter().any(|p| self.niche_packages.contains(p))
    }

    /// Whether the license has a feature.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// The feature that lets a tenant publish plugins.
pub const MARKETPLACE_PUBLISHER: &str = "marketplace_publisher";

/// Where a tenant's license comes from.
#[async_trait]
pub trait LicenseSource: Send + Sync + 'static {
    /// The tenant's valid license, or [`OperatorError::LicenseInvalid`] saying why there is none.
    async fn license(&self, tenant: &Tenant) -> Result<License, OperatorError>;
}

/// Licenses held in memory by tenant id (tests, and hosts that manage grants elsewhere).
#[derive(Debug, Clone, Default)]
pub struct FixedLicenses {
    licenses: HashMap<String, License>,
}

impl FixedLicenses {
    /// No licenses.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants `license` to `tenant`.
    pub fn grant(mut self, tenant: impl Into<String>, license: License) -> Self {
        self.licenses.insert(tenant.into(), license);
        self
    }
}

#[async_trait]
impl LicenseSource for FixedLicenses {
    async fn license(&self, tenant: &Tenant) -> Result<License, OperatorError> {
        self.licenses
            .get(tenant.id.as_str())
            .cloned()
            .ok_or_else(|| OperatorError::LicenseInvalid {
                tenant: tenant.id.to_string(),
                reason: "no license is on file".to_owned(),
            })
    }
}

#[async_trait]
impl<S: LicenseSource + ?Sized> LicenseSource for Arc<S> {
    async fn license(&self, tenant: &Tenant) -> Result<License, OperatorError> {
        (**self).license(tenant).await
    }
}

/// The reference [`LicenseSource`]: each tenant's license is the Ed25519-signed token stored on it
/// ([`Tenant::license`]), verified with [`token::verify_license`] against a keyring at the clock's time —
/// a bad signature, an unknown, revoked or out-of-window key, an expired token or a token issued to another
/// tenant is refused as [`OperatorError::LicenseInvalid`] with the reason.
///
/// ```
/// use zelavis_operator::keyring::{KeyEntry, Keyring, generate_signing_key};
/// use zelavis_operator::license::token::{LicenseClaims, issue_license};
/// use zelavis_operator::prelude::*;
///
/// # futures::executor::block_on(async {
/// let key = generate_signing_key()?;
/// let mut keyring = Keyring::new();
/// keyring.insert(KeyEntry::new("licensing-2026", key.verifying_key(), Timestamp::EPOCH));
/// let clock = ManualClock::at(Timestamp::from_secs(1_000));
/// let claims = LicenseClaims {
///     sub: "acme".into(), licensed_plugins: vec!["stripe".into()], tier: "pro".into(),
///     niche_packages: vec![], features: vec![], exp: 2_000, iat: 900,
/// };
/// let tenant = Tenant {
///     id: Name::parse("acme")?, tier: "pro".into(), niche: "retail".into(), canary: false,
///     license: Some(issue_license(&claims, "licensing-2026", &key)),
///     created_at: Timestamp::EPOCH, updated_at: Timestamp::EPOCH,
/// };
/// let licenses = SignedLicenses::new(keyring, clock.clone());
/// assert_eq!(licenses.license(&tenant).await?.licensed_plugins, ["stripe"]);
/// clock.set(Timestamp::from_secs(3_000));
/// assert_eq!(licenses.license(&tenant).await.unwrap_err().code(), "license_invalid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct SignedLicenses {
    keyring: Keyring,
    clock: Arc<dyn Clock>,
}

impl SignedLicenses {
    /// Licenses verified against `keyring` at `clock`'s time.
    pub fn new(keyring: Keyring, clock: impl Clock) -> Self {
        Self {
            keyring,
            clock: Arc::new(clock),
        }
    }
}

#[async_trait]
impl LicenseSource for SignedLicenses {
    async fn license(&self, tenant: &Tenant) -> Result<License, OperatorError> {
        let invalid = |reason: String| OperatorError::LicenseInvalid {
            tenant: tenant.id.to_string(),
            reason,
        };
        let token = tenant
            .license
            .as_deref()
            .ok_or_else(|| invalid("no license token is on file".to_owned()))?;
        let claims =
            token::verify_license(token, &self.keyring, self.clock.now()).map_err(|e| invalid(e.to_string()))?;
        if claims.sub != tenant.id.as_str() {
            return Err(invalid(format!(
                "the token was issued to {:?}",
                crate::error::clip(&claims.sub)
            )));
        }
        Ok(License {
            licensed_plugins: claims.licensed_plugins,
            tier: claims.tier,
            niche_packages: claims.niche_packages,
            features: claims.features,
            expires_at: Some(Timestamp::from_secs(claims.exp)),
        })
    }
}
