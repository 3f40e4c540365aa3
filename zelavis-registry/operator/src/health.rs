//! Plugin health across tenants and hosts: setup failures from activation reports, runtime failures from the
//! runtimes' health books — the data behind the panel's warning banners and its "Plugin health" widget.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

use crate::time::Timestamp;

/// One plugin's health on one tenant and host, as stored (the latest absolute counts that host reported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRecord {
    /// The plugin.
    pub plugin: Name,
    /// The tenant.
    pub tenant: Name,
    /// The host that reported.
    pub host: String,
    /// Setup failures (errors, panics, timeouts, migrations).
    pub setup_failures: u64,
    /// Hook, filter, route and render failures.
    pub runtime_failures: u64,
    /// Requests the host counted (running total; 0 when it does not count), for the canary judge.
    #[serde(default)]
    pub requests: u64,
    /// Of which failed (running total), for the canary judge.
    #[serde(default)]
    pub errors: u64,
    /// The most recent error.
    pub last_error: Option<String>,
    /// When it was reported.
    pub at: Timestamp,
}

impl HealthRecord {
    /// The store key.
    pub fn key(plugin: &str, tenant: &str, host: &str) -> String {
        format!("{plugin}|{tenant}|{host}")
    }
}

/// One plugin's health across every tenant and host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginHealthSummary {
    /// The plugin.
    pub plugin: Name,
    /// Setup failures in all.
    pub setup_failures: u64,
    /// Runtime failures in all.
    pub runtime_failures: u64,
    /// The tenants where it failed, by id.
    pub affected_tenants: Vec<Name>,
    /// The hosts that reported failures.
    pub hosts: Vec<String>,
    /// The newest error and when.
    pub last_error: Option<String>,
    /// When the newest failure was reported.
    pub last_at: Option<Timestamp>,
}

/// Sums per-(tenant, host) records into one summary per plugin with any failure, by plugin id.
pub fn summarize(records: &[HealthRecord]) -> Vec<PluginHealthSummary> {
    let mut by_plugin: BTreeMap<&str, PluginHealthSummary> = BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| r.setup_failures > 0 || r.runtime_failures > 0)
    {
        let summary = by_plugin
            .entry(record.plugin.as_str())
            .or_insert_with(|| PluginHealthSummary {
                plugin: record.plugin.clone(),
                setup_failures: 0,
                runtime_failures: 0,
                affected_tenants: Vec::new(),
                hosts: Vec::new(),
                last_error: None,
                last_at: None,
            });
        summary.setup_failures = summary.setup_failures.saturating_add(record.setup_failures);
        summary.runtime_failures = summary.runtime_failures.saturating_add(record.runtime_failures);
        if !summary.affected_tenants.contains(&record.tenant) {
            summary.affected_tenants.push(record.tenant.clone());
        }
        if !summary.hosts.contains(&record.host) {
            summary.hosts.push(record.host.clone());
        }
        if summary.last_at.is_none_or(|at| record.at >= at) && record.last_error.is_some() {
            summary.last_error.clone_from(&record.last_error);
            summary.last_at = Some(record.at);
        }
    }
    let mut out: Vec<PluginHealthSummary> = by_plugin.into_values().collect();
    for summary in &mut out {
        summary.affected_tenants.sort();
        summary.hosts.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(plugin: &str, tenant: &str, host: &str, setup: u64, runtime: u64, at: i64) -> HealthRecord {
        HealthRecord {
            plugin: Name::parse(plugin).unwrap(),
            tenant: Name::parse(tenant).unwrap(),
            host: host.into(),
            setup_failures: setup,
            runtime_failures: runtime,
            requests: 0,
            errors: 0,
            last_error: Some(format!("boom at {at}")),
            at: Timestamp::from_millis(at),
        }
    }

    #[test]
    fn counts_read_back_from_a_store_saturate_instead_of_overflowing() {
        let summary = summarize(&[
            record("stripe", "acme", "h1", u64::MAX, u64::MAX, 10),
            record("stripe", "globex", "h1", u64::MAX, 1, 20),
        ]);
        assert_eq!(
            (summary[0].setup_failures, summary[0].runtime_failures),
            (u64::MAX, u64::MAX)
        );
    }

    #[test]
    fn failures_add_up_across_tenants_and_hosts() {
        let summary = summarize(&[
            record("stripe", "acme", "h1", 1, 0, 10),
            record("stripe", "globex", "h2", 0, 3, 30),
            record("stripe", "acme", "h2", 0, 1, 20),
            record("reports", "acme", "h1", 0, 0, 40),
        ]);
        assert_eq!(summary.len(), 1, "a plugin without failures has no summary");
        let stripe = &summary[0];
        assert_eq!((stripe.setup_failures, stripe.runtime_failures), (1, 4));
        assert_eq!(stripe.affected_tenants.len(), 2);
        assert_eq!(stripe.hosts, ["h1", "h2"]);
        assert_eq!(stripe.last_error.as_deref(), Some("boom at 30"));
    }
}
