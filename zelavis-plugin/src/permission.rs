//! [`Permission`]s a plugin declares, and how strictly a host enforces them.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Something a plugin may do during setup; each registration needs its permission declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub enum Permission {
    /// Register services.
    #[serde(rename = "services.register")]
    ServicesRegister,
    /// Subscribe to hooks.
    #[serde(rename = "hooks.subscribe")]
    HooksSubscribe,
    /// Register filters.
    #[serde(rename = "filters.register")]
    FiltersRegister,
    /// Register HTTP routes.
    #[serde(rename = "routes.register")]
    RoutesRegister,
    /// Register migrations.
    #[serde(rename = "migrations.register")]
    MigrationsRegister,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 5] = [
        Permission::ServicesRegister,
        Permission::HooksSubscribe,
        Permission::FiltersRegister,
        Permission::RoutesRegister,
        Permission::MigrationsRegister,
    ];

    /// The dotted name used in manifests, e.g. `services.register`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ServicesRegister => "services.register",
            Permission::HooksSubscribe => "hooks.subscribe",
            Permission::FiltersRegister => "filters.register",
            Permission::RoutesRegister => "routes.register",
            Permission::MigrationsRegister => "migrations.register",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that names no permission.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown permission {value:?}; expected one of services.register, hooks.subscribe, filters.register, routes.register, migrations.register"
)]
pub struct UnknownPermission {
    /// The offending text.
    pub value: String,
}

impl FromStr for Permission {
    type Err = UnknownPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPermission { value: s.to_owned() })
    }
}

/// How a host treats a registration whose permission the plugin did not declare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionMode {
    /// Refuse it with `SetupError::PermissionDenied` (the default).
    #[default]
    Strict,
    /// Allow it and log a warning.
    Lenient,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert!(
            "hooks.subscrib"
                .parse::<Permission>()
                .unwrap_err()
                .to_string()
                .contains("\"hooks.subscrib\"")
        );
    }
}
