//! [`Dependency`]: a plugin another plugin needs, with an optional version requirement.

use schemars::JsonSchema;
use semver::VersionReq;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

/// A dependency on another plugin; the registry activates it first and checks the requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The plugin depended upon.
    pub plugin: Name,
    /// The versions accepted; absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub version: Option<VersionReq>,
}

impl Dependency {
    /// Whether `version` of the dependency satisfies the requirement.
    pub fn accepts(&self, version: &semver::Version) -> bool {
        self.version.as_ref().is_none_or(|req| req.matches(version))
    }
}
