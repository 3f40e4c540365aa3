//! The canary judge: per window, the canary tenants' error rate against a concurrent baseline (the previous
//! version on the other tenants). A window *breaches* when the canary's rate is above `ratio ×` the baseline's
//! **and** above an absolute floor; a window with fewer than `min_requests` on either side is *inconclusive*
//! (the rollout pauses instead of passing it — a bare ratio on a small sample fires by chance); after
//! `breaches_to_rollback` breaching windows in a row the rollout rolls back by itself.
//!
//! Counts come from a [`HealthMonitor`]; [`OperatorHealthMonitor`] reads the operator layer's own health
//! records (the traffic hosts report with [`Operator::record_traffic`]).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use semver::Version;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

use crate::Operator;
use crate::error::OperatorError;
use crate::health::HealthRecord;
use crate::store::{Kind, Query};
use crate::time::Timestamp;

/// How the judge decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeConfig {
    /// The length of one window (default 1 h).
    #[serde(with = "millis")]
    pub window: Duration,
    /// A window breaches above this multiple of the baseline's error rate (default 2.0).
    pub ratio: f64,
    /// ... and above this absolute error rate (default 0.01, 1 %).
    pub floor: f64,
    /// A window with fewer requests than this on either side is inconclusive (default 100).
    pub min_requests: u64,
    /// Breaching windows in a row that roll back (default 3).
    pub breaches_to_rollback: u32,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(3600),
            ratio: 2.0,
            floor: 0.01,
            min_requests: 100,
            breaches_to_rollback: 3,
        }
    }
}

pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Requests and errors on one side of a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests served.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
}

impl Counts {
    /// Counts.
    pub fn new(requests: u64, errors: u64) -> Self {
        Self { requests, errors }
    }

    /// Errors per request (0 with no requests).
    #[allow(clippy::cast_precision_loss, reason = "a rate; counts far below 2^52 in practice")]
    pub fn rate(self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors.min(self.requests) as f64 / self.requests as f64
        }
    }
}

/// One window's figures: the canary and the baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCounts {
    /// The canary tenants on the new version.
    pub canary: Counts,
    /// The other tenants on the previous version, over the same window.
    pub baseline: Counts,
}

/// What one window says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The canary is within bounds.
    Pass,
    /// The canary's error rate is above `ratio ×` the baseline's and above the floor.
    Breach,
    /// Too few requests on one side to tell.
    Inconclusive,
}

/// The verdict on one window.
///
/// ```
/// use zelavis_operator::judge::{Counts, JudgeConfig, Verdict, WindowCounts, verdict};
///
/// let config = JudgeConfig::default();
/// let window = |canary, baseline| WindowCounts { canary, baseline };
/// // 5 % against 1 %: more than twice the baseline and above the 1 % floor.
/// assert_eq!(verdict(&config, window(Counts::new(1000, 50), Counts::new(5000, 50))), Verdict::Breach);
/// // 0.4 % against 0.1 %: four times the baseline, but under the floor.
/// assert_eq!(verdict(&config, window(Counts::new(1000, 4), Counts::new(5000, 5))), Verdict::Pass);
/// // 3 of 20: too few requests to tell.
/// assert_eq!(verdict(&config, window(Counts::new(20, 3), Counts::new(5000, 5))), Verdict::Inconclusive);
/// ```
pub fn verdict(config: &JudgeConfig, counts: WindowCounts) -> Verdict {
    if counts.canary.requests < config.min_requests || counts.baseline.requests < config.min_requests {
        return Verdict::Inconclusive;
    }
    let (canary, baseline) = (counts.canary.rate(), counts.baseline.rate());
    if canary > config.ratio * baseline && canary > config.floor {
        Verdict::Breach
    } else {
        Verdict::Pass
    }
}

/// What a monitor answers for one window: the figures, and a cursor the judge stores with the rollout and
/// hands back with the next query (a monitor over running totals keeps the totals it saw there, so a
/// restarted host goes on where the last one stopped).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowReading {
    /// The figures.
    pub counts: WindowCounts,
    /// The monitor's cursor after this window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<serde_json::Value>,
}

impl From<WindowCounts> for WindowReading {
    fn from(counts: WindowCounts) -> Self {
        Self { counts, cursor: None }
    }
}

impl JudgeConfig {
    /// What is wrong with these settings, if anything: a window under one second, a ratio that is not a
    /// positive number, a floor outside 0..=1, or no breach count.
    pub fn problem(&self) -> Option<String> {
        if self.window < Duration::from_secs(1) {
            return Some(format!(
                "the judge's window must be at least 1 s, not {} ms",
                self.window.as_millis()
            ));
        }
        if !(self.ratio.is_finite() && self.ratio > 0.0) {
            return Some(format!(
                "the judge's ratio must be a positive number, not {}",
                self.ratio
            ));
        }
        if !(0.0..=1.0).contains(&self.floor) {
            return Some(format!(
                "the judge's floor is an error rate from 0 to 1, not {}",
                self.floor
            ));
        }
        if self.breaches_to_rollback == 0 {
            return Some("the judge needs at least 1 breaching window to roll back".to_owned());
        }
        None
    }
}

/// What the judge asks a monitor for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowQuery {
    /// The plugin.
    pub plugin: Name,
    /// The version on the canary.
    pub canary_version: Version,
    /// The canary tenants.
    pub canary_tenants: Vec<Name>,
    /// The window's start.
    pub from: Timestamp,
    /// The window's end.
    pub to: Timestamp,
    /// The cursor the monitor returned for the previous window of this rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<serde_json::Value>,
}

/// Supplies per-window request and error counts for the canary tenants and the baseline.
#[async_trait]
pub trait HealthMonitor: Send + Sync {
    /// The counts over `query.from .. query.to`.
    async fn window(&self, query: &WindowQuery) -> Result<WindowReading, OperatorError>;

    /// Whether this monitor can count traffic by time range (default `true`). One that cannot, such as a
    /// monitor over running totals, only knows what was added since its cursor: when several windows have
    /// ended since the last judgement, the judge then asks for them as one window, instead of crediting all
    /// their traffic to the first and finding the others empty (inconclusive, which would pause the rollout).
    fn splits_by_time(&self) -> bool {
        true
    }
}

/// The built-in monitor: reads the operator layer's health records (requests and errors hosts report with
/// [`Operator::record_traffic`]), canary tenants on one side and every other tenant on the other. Records hold
/// running totals, so each window is what was added since the totals in the cursor (stored with the rollout);
/// a rollout's first window counts everything so far. Running totals cannot be split by time afterwards, so
/// it does not [split by time](HealthMonitor::splits_by_time): windows judged late are judged as one.
pub struct OperatorHealthMonitor {
    operator: Operator,
}

impl OperatorHealthMonitor {
    /// A monitor over `operator`'s health records.
    pub fn new(operator: Operator) -> Self {
        Self { operator }
    }
}

#[async_trait]
impl HealthMonitor for OperatorHealthMonitor {
    fn splits_by_time(&self) -> bool {
        false
    }

    async fn window(&self, query: &WindowQuery) -> Result<WindowReading, OperatorError> {
        let records: Vec<HealthRecord> = self
            .operator
            .read_all(&Query::Plugin {
                kind: Kind::Health,
                plugin: query.plugin.to_string(),
                flagged: false,
            })
            .await?;
        let mut seen: HashMap<String, (u64, u64)> = query
            .cursor
            .clone()
            .and_then(|c| serde_json::from_value(c).ok())
            .unwrap_or_default();
        let mut counts = WindowCounts::default();
        for record in records {
            let key = HealthRecord::key(record.plugin.as_str(), record.tenant.as_str(), &record.host);
            let (requests, errors) = seen.get(&key).copied().unwrap_or((0, 0));
            let delta = Counts::new(
                record.requests.saturating_sub(requests),
                record.errors.saturating_sub(errors),
            );
            seen.insert(key, (record.requests, record.errors));
            let side = if query.canary_tenants.contains(&record.tenant) {
                &mut counts.canary
            } else {
                &mut counts.baseline
            };
            side.requests = side.requests.saturating_add(delta.requests);
            side.errors = side.errors.saturating_add(delta.errors);
        }
        Ok(WindowReading {
            counts,
            cursor: serde_json::to_value(seen).ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn small_samples_never_breach(cr in 0u64..100, ce in 0u64..100, br in 0u64..10_000, be in 0u64..10_000) {
            let config = JudgeConfig::default();
            let v = verdict(&config, WindowCounts { canary: Counts::new(cr, ce), baseline: Counts::new(br, be) });
            prop_assert_eq!(v, Verdict::Inconclusive);
        }

        #[test]
        fn a_breach_needs_both_the_ratio_and_the_floor(cr in 100u64..100_000, ce in 0u64..100_000, br in 100u64..100_000, be in 0u64..100_000) {
            let config = JudgeConfig::default();
            let counts = WindowCounts { canary: Counts::new(cr, ce), baseline: Counts::new(br, be) };
            let v = verdict(&config, counts);
            let (c, b) = (counts.canary.rate(), counts.baseline.rate());
            prop_assert_eq!(v == Verdict::Breach, c > 2.0 * b && c > 0.01);
            prop_assert!(v != Verdict::Inconclusive);
        }

        #[test]
        fn fewer_canary_errors_never_turn_a_pass_into_a_breach(cr in 100u64..10_000, ce in 0u64..10_000, br in 100u64..10_000, be in 0u64..10_000, less in 0u64..10_000) {
            let config = JudgeConfig::default();
            let more = verdict(&config, WindowCounts { canary: Counts::new(cr, ce), baseline: Counts::new(br, be) });
            let fewer = verdict(&config, WindowCounts { canary: Counts::new(cr, ce.saturating_sub(less)), baseline: Counts::new(br, be) });
            prop_assert!(!(more == Verdict::Pass && fewer == Verdict::Breach));
        }
    }
}
