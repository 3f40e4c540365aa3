//! Tiers and their order: `starter < pro < growth < enterprise` by default, configurable per platform.

use serde::{Deserialize, Serialize};

use crate::error::OperatorError;

/// The ordered list of tiers a platform sells, lowest first.
///
/// ```
/// use zelavis_operator::tier::TierOrder;
///
/// let tiers = TierOrder::default();
/// assert!(tiers.rank("pro").unwrap() < tiers.rank("enterprise").unwrap());
/// assert!(tiers.rank("platinum").is_err());
/// let custom = TierOrder::new(["free", "team", "business"]);
/// assert!(custom.allows("business", "team").unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierOrder {
    tiers: Vec<String>,
}

impl Default for TierOrder {
    fn default() -> Self {
        Self::new(["starter", "pro", "growth", "enterprise"])
    }
}

impl TierOrder {
    /// An order, lowest first.
    pub fn new<S: Into<String>>(tiers: impl IntoIterator<Item = S>) -> Self {
        Self {
            tiers: tiers.into_iter().map(Into::into).collect(),
        }
    }

    /// The tiers, lowest first.
    pub fn tiers(&self) -> &[String] {
        &self.tiers
    }

    /// A tier's position (0 = lowest), or [`OperatorError::UnknownTier`].
    pub fn rank(&self, tier: &str) -> Result<usize, OperatorError> {
        self.tiers
            .iter()
            .position(|t| t == tier)
            .ok_or_else(|| OperatorError::UnknownTier {
                tier: crate::error::clip(tier),
                known: self.tiers.clone(),
            })
    }

    /// Whether a tenant on `tier` meets a minimum of `minimum`.
    pub fn allows(&self, tier: &str, minimum: &str) -> Result<bool, OperatorError> {
        Ok(self.rank(tier)? >= self.rank(minimum)?)
    }
}
