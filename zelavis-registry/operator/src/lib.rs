//! # zelavis-operator
//!
//! The operator layer of Zelavis: the platform-wide catalog and grant layer a multi-tenant host runs over its
//! registries — the super-admin "Plugins" panel's data and rules.
//!
//! - **Catalog** ([`catalog`]): one row per plugin with its [`Release`](catalog::Release)s by semver;
//!   `id@version` is never reused, removal leaves a tombstone, default-latest is the highest release that is not
//!   deprecated, staged or a pre-release (pre-releases only by pin).
//! - **Tenants** ([`tenant`]) with a tier ([`tier::TierOrder`], `starter < pro < growth < enterprise` by
//!   default), a niche, a canary flag and a [`license`] verified by a [`LicenseSource`](license::LicenseSource).
//! - **Grants** ([`Operator::enable`] and friends) with the seed's ordered checks — `license_denied` (403),
//!   `tier_too_low` (403), `niche_mismatch` (409), `version_not_found` (404) — pins, deprecation banners,
//!   removal refused while in use, a kill switch; per-tenant **settings** validated against the plugin's schema;
//!   **health** across tenants and hosts; a hash-chained **audit** log; **roles** through an
//!   [`Authenticator`](role::Authenticator).
//! - **Persistence** in an [`OperatorStore`](store::OperatorStore): memory, SQLite (default) and PostgreSQL,
//!   every call one atomic batch with its audit event, compare-and-swap so concurrent operators lose nothing.
//! - A tenant is a registry store scope: enabling drives that tenant's [`Runtime`](zelavis_registry::runtime::Runtime)
//!   through a [`TenantHost`](host::TenantHost), which persists.
//!
//! Operators reach it over HTTP ([`http`], the seed's `/api/super-admin/...` routes and a panel) and through the
//! `zelavis` CLI.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod audit;
pub mod bundle;
pub mod catalog;
pub mod digest;
pub mod enablement;
pub mod error;
pub mod health;
pub mod hex;
pub mod host;
#[cfg(feature = "http")]
pub mod http;
pub mod judge;
pub mod keyring;
pub mod license;
pub mod operator;
pub mod role;
pub mod rollout;
pub(crate) mod rows;
pub mod signature;
pub mod store;
pub mod tenant;
pub mod tier;
pub mod time;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use operator::Operator;

/// The operator layer's public API in one import.
pub mod prelude {
    pub use crate::audit::{AuditEntry, AuditError, AuditEvent, AuditVerified};
    pub use crate::bundle::{Bundle, BundleContents, BundleError, BundleLimits, pack};
    pub use crate::catalog::{CatalogRow, CatalogSource, Deprecation, PluginRecord, PluginSpec, Release};
    pub use crate::digest::Digest;
    pub use crate::enablement::{Banner, Enablement, TenantPlugin};
    pub use crate::error::{ErrorBody, OperatorError};
    pub use crate::health::{HealthRecord, PluginHealthSummary};
    pub use crate::host::{BuiltinReleases, HostError, LocalTenants, ReleaseSource, TenantHost};
    pub use crate::judge::{
        Counts, HealthMonitor, JudgeConfig, OperatorHealthMonitor, Verdict, WindowCounts, WindowQuery, WindowReading,
    };
    pub use crate::keyring::{KeyEntry, KeyError, Keyring, KeyringFile};
    pub use crate::license::token::{LicenseClaims, LicenseError, issue_license, verify_license};
    pub use crate::license::{FixedLicenses, License, LicenseSource, MARKETPLACE_PUBLISHER, SignedLicenses};
    pub use crate::operator::{DeprecateRequest, GrantChange, Operator, OperatorBuilder, SyncReport};
    pub use crate::role::{Actor, AuthError, Authenticator, Role, StaticTokens};
    pub use crate::rollout::{PublishOptions, Rollout, RolloutState, Sandbox, SmokeReport};
    pub use crate::signature::{ReleaseRecord, SignatureError, SignedRelease, VerifiedRelease};
    pub use crate::store::memory::MemoryOperatorStore;
    #[cfg(feature = "postgres")]
    pub use crate::store::postgres::PostgresOperatorStore;
    #[cfg(feature = "sqlite")]
    pub use crate::store::sqlite::SqliteOperatorStore;
    pub use crate::store::{OperatorStore, OperatorStoreError};
    pub use crate::tenant::{Tenant, TenantSpec};
    pub use crate::tier::TierOrder;
    pub use crate::time::{Clock, ManualClock, SystemClock, Timestamp};
    pub use zelavis_plugin::prelude::*;
}
