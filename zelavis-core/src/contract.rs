//! Contract versions: which edition of the plugin contract a plugin was written against, and the host's check.
//!
//! The rule is semver's: a plugin is accepted when it has the host's major version and a minor version the host
//! already knows. Patch versions never change the contract and are ignored.

use std::fmt;

use schemars::JsonSchema;
use semver::Version;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::quote::Quoted;

/// The version of the plugin contract: `major.minor.patch`, compared by semver rules.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContractVersion(Version);

/// Version 1 of the Zelavis plugin contract; the default of every plugin definition.
pub const ZELAVIS_PLUGIN_V1: ContractVersion = ContractVersion::new(1, 0, 0);

/// The newest contract this build of Zelavis supports as a host.
pub const HOST_CONTRACT: ContractVersion = ZELAVIS_PLUGIN_V1;

/// Why a contract version is refused, naming both the plugin's and the host's versions.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ContractError {
    /// The plugin targets another major version than the host.
    #[error("plugin contract {plugin} has a different major version than host contract {host}")]
    DifferentMajor {
        /// The plugin's contract.
        plugin: ContractVersion,
        /// The host's contract.
        host: ContractVersion,
    },
    /// The plugin targets a newer minor version than the host knows.
    #[error("plugin contract {plugin} is newer than host contract {host}; upgrade the host")]
    NewerMinor {
        /// The plugin's contract.
        plugin: ContractVersion,
        /// The host's contract.
        host: ContractVersion,
    },
    /// The text is not a semver version.
    #[error("contract version {value} is not a semver version: {reason}")]
    Invalid {
        /// A bounded copy of the offending text.
        value: Quoted,
        /// What the semver parser said.
        reason: String,
    },
}

impl ContractVersion {
    /// A contract version from its three numbers.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self(Version::new(major, minor, patch))
    }

    /// Parses `"1.2.0"`.
    pub fn parse(text: &str) -> Result<Self, ContractError> {
        Version::parse(text).map(Self).map_err(|e| ContractError::Invalid {
            value: Quoted::new(text),
            reason: e.to_string(),
        })
    }

    /// The underlying semver version.
    pub fn version(&self) -> &Version {
        &self.0
    }

    /// Checks that a host speaking `host` can run a plugin written against `self`.
    ///
    /// ```
    /// use zelavis_core::contract::{ContractVersion, ContractError, ZELAVIS_PLUGIN_V1};
    ///
    /// assert!(ZELAVIS_PLUGIN_V1.check_supported_by(&ContractVersion::new(1, 3, 0)).is_ok());
    /// let err = ContractVersion::new(1, 4, 0).check_supported_by(&ContractVersion::new(1, 3, 0)).unwrap_err();
    /// assert!(matches!(err, ContractError::NewerMinor { .. }));
    /// assert_eq!(err.to_string(), "plugin contract 1.4.0 is newer than host contract 1.3.0; upgrade the host");
    /// ```
    pub fn check_supported_by(&self, host: &ContractVersion) -> Result<(), ContractError> {
        if self.0.major != host.0.major {
            return Err(ContractError::DifferentMajor {
                plugin: self.clone(),
                host: host.clone(),
            });
        }
        if self.0.minor > host.0.minor {
            return Err(ContractError::NewerMinor {
                plugin: self.clone(),
                host: host.clone(),
            });
        }
        Ok(())
    }
}

impl Default for ContractVersion {
    fn default() -> Self {
        ZELAVIS_PLUGIN_V1
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContractVersion({})", self.0)
    }
}

impl Serialize for ContractVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ContractVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for ContractVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ContractVersion".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "The plugin contract version, semver (\"1.0.0\" is ZELAVIS_PLUGIN_V1).",
            "pattern": "^\\d+\\.\\d+\\.\\d+"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_major_older_or_equal_minor_is_compatible() {
        let host = ContractVersion::new(1, 2, 0);
        assert!(ContractVersion::new(1, 0, 9).check_supported_by(&host).is_ok());
        assert!(ContractVersion::new(1, 2, 7).check_supported_by(&host).is_ok());
    }

    #[test]
    fn different_major_names_both_versions() {
        let err = ContractVersion::new(2, 0, 0)
            .check_supported_by(&ZELAVIS_PLUGIN_V1)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugin contract 2.0.0 has a different major version than host contract 1.0.0"
        );
        assert!(
            ContractVersion::new(0, 9, 0)
                .check_supported_by(&ZELAVIS_PLUGIN_V1)
                .is_err()
        );
    }

    #[test]
    fn parse_and_serde() {
        assert_eq!(ContractVersion::parse("1.0.0"), Ok(ZELAVIS_PLUGIN_V1));
        assert!(matches!(
            ContractVersion::parse("v1"),
            Err(ContractError::Invalid { .. })
        ));
        assert_eq!(serde_json::to_string(&ZELAVIS_PLUGIN_V1).unwrap(), "\"1.0.0\"");
        assert!(serde_json::from_str::<ContractVersion>("\"x\"").is_err());
    }

    proptest! {
        #[test]
        fn compatibility_is_major_equal_and_minor_not_newer(pm in 0u64..4, pn in 0u64..4, hm in 0u64..4, hn in 0u64..4, pp in 0u64..9) {
            let ok = ContractVersion::new(pm, pn, pp).check_supported_by(&ContractVersion::new(hm, hn, 0)).is_ok();
            prop_assert_eq!(ok, pm == hm && pn <= hn);
        }
    }
}
