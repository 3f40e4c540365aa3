//! Tenants: a store scope with a tier, a niche, a canary flag and a license.

use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

use crate::time::Timestamp;

/// A tenant of the platform. Its id is also its registry store scope (`tenant:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// The id.
    pub id: Name,
    /// Its tier (one of the [`TierOrder`](crate::tier::TierOrder)'s).
    pub tier: String,
    /// Its niche (e.g. `retail`, `restaurants`).
    pub niche: String,
    /// Whether it takes canary releases.
    #[serde(default)]
    pub canary: bool,
    /// Its license: a signed token the [`LicenseSource`](crate::license::LicenseSource) checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// What an operator gives to create or change a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSpec {
    /// The id.
    pub id: Name,
    /// The tier.
    pub tier: String,
    /// The niche.
    pub niche: String,
    /// Canary flag.
    #[serde(default)]
    pub canary: bool,
    /// The license token.
    #[serde(default)]
    pub license: Option<String>,
}

impl TenantSpec {
    /// A tenant on `tier` in `niche`, not canary, no license yet.
    pub fn new(id: Name, tier: impl Into<String>, niche: impl Into<String>) -> Self {
        Self {
            id,
            tier: tier.into(),
            niche: niche.into(),
            canary: false,
            license: None,
        }
    }

    /// Marks the tenant canary.
    pub fn canary(mut self, canary: bool) -> Self {
        self.canary = canary;
        self
    }

    /// Sets the license token.
    pub fn license(mut self, token: impl Into<String>) -> Self {
        self.license = Some(token.into());
        self
    }
}
