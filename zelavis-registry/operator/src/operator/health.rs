//! Plugin health: failures the tenant runtimes on this host report, and traffic for the canary judge.

use zelavis_core::name::Name;
use zelavis_registry::runtime::Runtime;

use super::{MAX_ATTEMPTS, Operator, contended, is_conflict, require};
use crate::error::OperatorError;
use crate::health::{HealthRecord, PluginHealthSummary, summarize};
use crate::role::{Actor, Role};
use crate::rows::Stored;
use crate::store::{Batch, Expected, Kind, Query};

impl Operator {
    /// Stores what a tenant's runtime on this host knows about its plugins' failures (absolute counts, so a
    /// repeated call changes nothing).
    pub async fn record_health(&self, tenant: &Name, runtime: &Runtime) -> Result<(), OperatorError> {
        let Some(host) = &self.inner.tenants else {
            return Ok(());
        };
        let host_id = host.host_id();
        for (plugin, health) in runtime.health().plugins {
            let key = HealthRecord::key(plugin.as_str(), tenant.as_str(), &host_id);
            for _ in 0..MAX_ATTEMPTS {
                let current = self.read::<HealthRecord>(&key).await?;
                if let Some((h, _)) = &current
                    && h.setup_failures == health.setup_failures
                    && h.runtime_failures == health.runtime_failures
                    && h.last_error == health.last_error
                {
                    break;
                }
                let record = HealthRecord {
                    plugin: plugin.clone(),
                    tenant: tenant.clone(),
                    host: host_id.clone(),
                    setup_failures: health.setup_failures,
                    runtime_failures: health.runtime_failures,
                    requests: current.as_ref().map_or(0, |(h, _)| h.requests),
                    errors: current.as_ref().map_or(0, |(h, _)| h.errors),
                    last_error: health.last_error.clone(),
                    at: self.now(),
                };
                if !self
                    .try_commit(Batch::new().write(record.write(Expected::of(current.as_ref().map(|(_, r)| r)))))
                    .await?
                {
                    continue;
                }
                break;
            }
        }
        Ok(())
    }

    /// Adds traffic a host counted for a plugin on a tenant (requests served, of which failed) to the running
    /// totals the canary judge's [`OperatorHealthMonitor`](crate::judge::OperatorHealthMonitor) reads.
    pub async fn record_traffic(
        &self,
        tenant: &Name,
        plugin: &Name,
        host: &str,
        requests: u64,
        errors: u64,
    ) -> Result<(), OperatorError> {
        let key = HealthRecord::key(plugin.as_str(), tenant.as_str(), host);
        for _ in 0..MAX_ATTEMPTS {
            let current = self.read::<HealthRecord>(&key).await?;
            let mut record = current.as_ref().map_or_else(
                || HealthRecord {
                    plugin: plugin.clone(),
                    tenant: tenant.clone(),
                    host: host.to_owned(),
                    setup_failures: 0,
                    runtime_failures: 0,
                    requests: 0,
                    errors: 0,
                    last_error: None,
                    at: self.now(),
                },
                |(h, _)| h.clone(),
            );
            record.requests = record.requests.saturating_add(requests);
            record.errors = record.errors.saturating_add(errors);
            record.at = self.now();
            match self
                .commit(Batch::new().write(record.write(Expected::of(current.as_ref().map(|(_, r)| r)))))
                .await
            {
                Err(e) if is_conflict(&e) => {}
                other => return other,
            }
        }
        Err(contended(format!("health of {plugin:?} on {tenant:?}")))
    }

    /// Collects health from every tenant runtime running on this host.
    pub async fn collect_health(&self) -> Result<(), OperatorError> {
        if let Some(host) = &self.inner.tenants {
            for (tenant, runtime) in host.running().await {
                self.record_health(&tenant, &runtime).await?;
            }
        }
        Ok(())
    }

    /// Every plugin with failures, summed across tenants and hosts, with the affected tenants and last error.
    pub async fn health(&self, actor: &Actor) -> Result<Vec<PluginHealthSummary>, OperatorError> {
        require(actor, Role::Viewer, "read health")?;
        let records: Vec<HealthRecord> = self.read_all(&Query::All(Kind::Health)).await?;
        Ok(summarize(&records))
    }
}
