//! [`Source`]: where a plugin comes from. Shared by catalog entries, registry entries and state records.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a plugin comes from; written in JSON as `official`, `community`, `built-in`, `premium` or `private`.
///
/// The source decides a [catalog entry](crate::catalog::CatalogEntry)'s defaults (see
/// [`ReviewStatus::default_for`](crate::catalog::ReviewStatus::default_for)).
///
/// ```
/// use zelavis_registry::source::Source;
///
/// let source: Source = serde_json::from_str("\"built-in\"")?;
/// assert_eq!(source, Source::BuiltIn);
/// assert_eq!(source.to_string(), "built-in");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Source {
    /// Published by the platform vendor.
    Official,
    /// Published by a third party, not vouched for by the platform.
    Community,
    /// Compiled into the host and shipped with it.
    BuiltIn,
    /// Sold by the platform vendor; tenants need a licence grant.
    Premium,
    /// The host's or a tenant's own plugin, not listed publicly.
    Private,
}

impl Source {
    /// Every source, in declaration order.
    pub const ALL: [Source; 5] = [
        Source::Official,
        Source::Community,
        Source::BuiltIn,
        Source::Premium,
        Source::Private,
    ];

    /// The JSON spelling: `official`, `community`, `built-in`, `premium` or `private`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Official => "official",
            Source::Community => "community",
            Source::BuiltIn => "built-in",
            Source::Premium => "premium",
            Source::Private => "private",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn serde_spelling_matches_display() {
        for source in Source::ALL {
            let json = serde_json::to_string(&source).unwrap();
            assert_eq!(json, format!("\"{source}\""));
            assert_eq!(serde_json::from_str::<Source>(&json).unwrap(), source);
        }
    }

    #[test]
    fn other_spellings_are_refused() {
        for bad in ["\"builtin\"", "\"built_in\"", "\"Official\"", "\"\""] {
            assert!(serde_json::from_str::<Source>(bad).is_err(), "{bad}");
        }
    }
}
