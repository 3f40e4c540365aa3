//! [`OperatorError`]: every way an operator call is refused or fails, each with a stable code and the HTTP status
//! the super-admin API answers with.

use semver::Version;
use serde::Serialize;
use thiserror::Error;
use zelavis_plugin::settings::SettingProblem;

use crate::role::Role;
use crate::store::OperatorStoreError;

/// Why an operator call was refused or failed. [`code`](Self::code) is the stable `error` field of the API's
/// JSON, [`status`](Self::status) its HTTP status. A refused call changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OperatorError {
    /// The plugin is not in the tenant's license.
    #[error("tenant {tenant:?} is not licensed for plugin {plugin:?}")]
    LicenseDenied {
        /// The tenant.
        tenant: String,
        /// The plugin.
        plugin: String,
    },
    /// The plugin needs a higher tier than the tenant's.
    #[error("plugin {plugin:?} needs tier {required:?}; tenant {tenant:?} is on {tier:?}")]
    TierTooLow {
        /// The tenant.
        tenant: String,
        /// The plugin.
        plugin: String,
        /// The plugin's minimum tier.
        required: String,
        /// The tenant's tier.
        tier: String,
    },
    /// The plugin is not offered in the tenant's niche.
    #[error("plugin {plugin:?} is for niches {niches:?}; tenant {tenant:?} is in {niche:?}")]
    NicheMismatch {
        /// The tenant.
        tenant: String,
        /// The plugin.
        plugin: String,
        /// The plugin's niches.
        niches: Vec<String>,
        /// The tenant's niche.
        niche: String,
    },
    /// The version asked for (or pinned) has no release.
    #[error("plugin {plugin:?} has no release {version}")]
    VersionNotFound {
        /// The plugin.
        plugin: String,
        /// The version, as asked (empty when the plugin has no enableable release at all).
        version: String,
    },
    /// A text that is not a semver version.
    #[error("version {text:?} is not a semver version: {reason}")]
    InvalidVersion {
        /// The text, cut to 64 bytes.
        text: String,
        /// Why.
        reason: String,
    },
    /// A name (tenant, plugin) that breaks the name grammar.
    #[error("{what} {text:?} is not a valid name: {reason}")]
    InvalidName {
        /// `tenant` or `plugin`.
        what: &'static str,
        /// The text, cut to 64 bytes.
        text: String,
        /// Why.
        reason: String,
    },
    /// No such tenant.
    #[error("no tenant {tenant:?}")]
    UnknownTenant {
        /// The tenant.
        tenant: String,
    },
    /// No such plugin in the catalog (or it was removed).
    #[error("no plugin {plugin:?} in the catalog")]
    UnknownPlugin {
        /// The plugin.
        plugin: String,
    },
    /// Something with this id exists already.
    #[error("{what} {id:?} exists already")]
    AlreadyExists {
        /// What (`tenant`, `plugin`, `release`).
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A release id@version exists (or existed: tombstones count) — versions are never reused.
    #[error("release {plugin}@{version} exists already; a version is never reused")]
    VersionExists {
        /// The plugin.
        plugin: String,
        /// The version.
        version: Version,
    },
    /// The plugin is deprecated and no longer takes new tenants.
    #[error("plugin {plugin:?} is deprecated and takes no new tenants: {message}")]
    Deprecated {
        /// The plugin.
        plugin: String,
        /// The deprecation message.
        message: String,
    },
    /// The plugin's kill switch is on.
    #[error("plugin {plugin:?} is switched off everywhere: {reason}")]
    Killed {
        /// The plugin.
        plugin: String,
        /// Why it was switched off.
        reason: String,
    },
    /// Removal refused: tenants still use the plugin.
    #[error("plugin {plugin:?} is enabled for {count} tenant(s) ({}); disable it there first", tenants.join(", "))]
    InUse {
        /// The plugin.
        plugin: String,
        /// How many tenants have it enabled.
        count: u64,
        /// Which (the first 20).
        tenants: Vec<String>,
    },
    /// The tenant's license is not valid (bad signature, unknown key, expired, ...).
    #[error("tenant {tenant:?} has no valid license: {reason}")]
    LicenseInvalid {
        /// The tenant.
        tenant: String,
        /// Why.
        reason: String,
    },
    /// The tenant's license lacks a feature the call needs (e.g. `marketplace_publisher`).
    #[error("tenant {tenant:?} is not licensed for the feature {feature:?}")]
    FeatureDenied {
        /// The tenant.
        tenant: String,
        /// The feature.
        feature: String,
    },
    /// A tier the tier order does not know.
    #[error("tier {tier:?} is not one of {known:?}")]
    UnknownTier {
        /// The tier.
        tier: String,
        /// The configured order.
        known: Vec<String>,
    },
    /// Settings refused; every problem is listed with its path.
    #[error("settings of {plugin:?} for tenant {tenant:?} are invalid: {}", problems.iter().map(|p| format!("{} {}", p.path, p.message)).collect::<Vec<_>>().join("; "))]
    InvalidSettings {
        /// The tenant.
        tenant: String,
        /// The plugin.
        plugin: String,
        /// Every problem.
        problems: Vec<SettingProblem>,
    },
    /// The tenant's runtime refused the change (e.g. other active plugins depend on the one being disabled).
    #[error("tenant {tenant:?} refused the change to {plugin:?}: {reason}")]
    RuntimeRefused {
        /// The tenant.
        tenant: String,
        /// The plugin.
        plugin: String,
        /// Why.
        reason: String,
    },
    /// The plugin's code for a release could not be loaded.
    #[error("release {plugin}@{version} cannot be loaded: {reason}")]
    ReleaseUnavailable {
        /// The plugin.
        plugin: String,
        /// The version.
        version: Version,
        /// Why.
        reason: String,
    },
    /// A published bundle or its signature was refused; `code` says which check (`unknown_kid`,
    /// `revoked_key`, `key_not_valid`, `tampered_record`, `tampered_bundle`, `tampered_manifest`,
    /// `wrong_release`, `bad_bundle`, `bad_manifest`, ...).
    #[error("publication refused ({code}): {reason}")]
    SignatureRefused {
        /// The check that failed.
        code: &'static str,
        /// Why.
        reason: String,
    },
    /// Options of a call that cannot work (e.g. a judge window of zero).
    #[error("{reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// The actor's role does not allow the call.
    #[error("{actor:?} is a {role} and {action} needs {needs}")]
    Forbidden {
        /// The actor.
        actor: String,
        /// Their role.
        role: Role,
        /// The call.
        action: &'static str,
        /// The role it needs.
        needs: Role,
    },
    /// Someone else changed the same thing at the same moment, again and again; try again.
    #[error("{what} kept changing under this call; try again")]
    Contended {
        /// What changed.
        what: String,
    },
    /// The call conflicts with the current state (e.g. a rollout that already moved on).
    #[error("{what}")]
    Conflict {
        /// What conflicts.
        what: String,
    },
    /// The operator store failed.
    #[error(transparent)]
    Store(#[from] OperatorStoreError),
}

impl OperatorError {
    /// The stable code, the `error` field of the API's JSON (`license_denied`, `tier_too_low`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            OperatorError::LicenseDenied { .. } => "license_denied",
            OperatorError::TierTooLow { .. } => "tier_too_low",
            OperatorError::NicheMismatch { .. } => "niche_mismatch",
            OperatorError::VersionNotFound { .. } => "version_not_found",
            OperatorError::InvalidVersion { .. } => "invalid_version",
            OperatorError::InvalidName { .. } => "invalid_name",
            OperatorError::UnknownTenant { .. } => "unknown_tenant",
            OperatorError::UnknownPlugin { .. } => "unknown_plugin",
            OperatorError::AlreadyExists { .. } => "already_exists",
            OperatorError::VersionExists { .. } => "version_exists",
            OperatorError::Deprecated { .. } => "deprecated",
            OperatorError::Killed { .. } => "killed",
            OperatorError::InUse { .. } => "in_use",
            OperatorError::LicenseInvalid { .. } => "license_invalid",
            OperatorError::FeatureDenied { .. } => "feature_denied",
            OperatorError::UnknownTier { .. } => "unknown_tier",
            OperatorError::InvalidSettings { .. } => "invalid_settings",
            OperatorError::RuntimeRefused { .. } => "runtime_refused",
            OperatorError::ReleaseUnavailable { .. } => "release_unavailable",
            OperatorError::SignatureRefused { code, .. } => code,
            OperatorError::InvalidOptions { .. } => "invalid_options",
            OperatorError::Forbidden { .. } => "forbidden",
            OperatorError::Contended { .. } => "contended",
            OperatorError::Conflict { .. } | OperatorError::Store(OperatorStoreError::Conflict { .. }) => "conflict",
            OperatorError::Store(_) => "store_failed",
        }
    }

    /// The HTTP status the super-admin API answers with.
    pub fn status(&self) -> u16 {
        match self {
            OperatorError::LicenseDenied { .. }
            | OperatorError::TierTooLow { .. }
            | OperatorError::LicenseInvalid { .. }
            | OperatorError::FeatureDenied { .. }
            | OperatorError::Forbidden { .. } => 403,
            OperatorError::VersionNotFound { .. }
            | OperatorError::UnknownTenant { .. }
            | OperatorError::UnknownPlugin { .. } => 404,
            OperatorError::NicheMismatch { .. }
            | OperatorError::AlreadyExists { .. }
            | OperatorError::VersionExists { .. }
            | OperatorError::Deprecated { .. }
            | OperatorError::Killed { .. }
            | OperatorError::InUse { .. }
            | OperatorError::RuntimeRefused { .. }
            | OperatorError::Contended { .. }
            | OperatorError::Conflict { .. }
            | OperatorError::Store(OperatorStoreError::Conflict { .. }) => 409,
            OperatorError::InvalidVersion { .. }
            | OperatorError::InvalidName { .. }
            | OperatorError::UnknownTier { .. }
            | OperatorError::InvalidSettings { .. }
            | OperatorError::SignatureRefused { .. }
            | OperatorError::InvalidOptions { .. } => 422,
            OperatorError::ReleaseUnavailable { .. } | OperatorError::Store(_) => 500,
        }
    }

    /// The API's error document: `{error, message}` plus, where there are any, structured details.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code(),
            message: self.to_string(),
            problems: match self {
                OperatorError::InvalidSettings { problems, .. } => problems.clone(),
                _ => Vec::new(),
            },
            tenants: match self {
                OperatorError::InUse { tenants, .. } => tenants.clone(),
                _ => Vec::new(),
            },
        }
    }
}

/// The JSON error document of the super-admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The stable code.
    pub error: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// For `invalid_settings`: every problem with its path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<SettingProblem>,
    /// For `in_use`: the tenants that still use the plugin.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
}

/// A bounded copy of outside text for an error message.
pub(crate) fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Parses a version from outside text.
pub fn parse_version(text: &str) -> Result<Version, OperatorError> {
    Version::parse(text.trim()).map_err(|e| OperatorError::InvalidVersion {
        text: clip(text),
        reason: e.to_string(),
    })
}

/// Parses a tenant or plugin name from outside text.
pub fn parse_name(what: &'static str, text: &str) -> Result<zelavis_core::name::Name, OperatorError> {
    zelavis_core::name::Name::parse(text).map_err(|e| OperatorError::InvalidName {
        what,
        text: clip(text),
        reason: e.to_string(),
    })
}
