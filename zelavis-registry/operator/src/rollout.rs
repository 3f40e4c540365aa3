//! Publishing: a signed bundle goes through a persisted state machine —
//! `Uploaded → Verified → SmokeTested → Canary → Promoted`, or `RolledBack`, `Paused`, `Failed`.
//!
//! Every state is a row in the operator store (with the bundle's bytes beside it), so a host killed mid-rollout
//! resumes where it was ([`Operator::resume_rollout`]); every transition is one atomic batch with its audit event
//! (actor, reason, evidence), checked against the rollout's revision, so of two operators acting on one rollout
//! at once one wins and the other gets [`OperatorError::Conflict`].
//!
//! - **Publish** ([`Operator::publish`]) needs the publishing tenant's license feature `marketplace_publisher`
//!   (else 403, nothing stored), a signature by a key of the operator's keyring valid at `published_at`, a
//!   bundle whose manifest and module match the signed record, and a version that was never published and is
//!   not below the published latest (unless `backport`). The release is stored *staged*: only a pin reaches it.
//! - **Smoke test**: the [`Sandbox`] boots a throw-away runtime with the plugin and reports time, memory and
//!   fuel figures; a failure ends the rollout `Failed` with the evidence.
//! - **Canary** ([`Operator::start_canary`]): canary tenants are pinned to the new version, atomically.
//! - **Judge** ([`Operator::judge_rollout`]): each due window is judged ([`judge`](crate::judge)); an
//!   inconclusive window pauses, `breaches_to_rollback` breaches in a row roll back by themselves.
//! - **Promote** ([`Operator::promote`]) after the wait: the release is no longer staged and so becomes
//!   default-latest; canary pins return to what they were; every tenant without a pin picks it up.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use semver::Version;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;
use zelavis_plugin::manifest::PluginManifest;

use crate::Operator;
use crate::audit::AuditEntry;
use crate::bundle::{Bundle, BundleLimits};
use crate::catalog::{CatalogSource, PluginRecord, Release};
use crate::digest::Digest;
use crate::enablement::Enablement;
use crate::error::OperatorError;
use crate::host::HostError;
use crate::judge::{HealthMonitor, JudgeConfig, Verdict, WindowCounts, WindowQuery, verdict};
use crate::license::MARKETPLACE_PUBLISHER;
use crate::operator::{is_conflict, require};
use crate::role::{Actor, Role};
use crate::rows::Stored;
use crate::signature::{SignedRelease, expect_release, verify};
use crate::store::{Batch, Expected, Kind, Query, Row};
use crate::time::Timestamp;

/// The default canary wait before a promotion: 24 hours.
pub const DEFAULT_CANARY_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    /// The bundle is stored; its signature is not yet checked against the stored bytes.
    Uploaded,
    /// Signature, digests and manifest checked; the release is stored, staged.
    Verified,
    /// The sandbox booted it cleanly; figures recorded.
    SmokeTested,
    /// Pinned on the canary tenants; windows are being judged.
    Canary,
    /// Default-latest for every tenant without a pin. Final.
    Promoted,
    /// The canary pins went back to the previous version. Final.
    RolledBack,
    /// Held by an operator or by an inconclusive window; resumes to where it was.
    Paused,
    /// Verification or the smoke test failed. Final.
    Failed,
}

impl RolloutState {
    /// Whether nothing follows this state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RolloutState::Promoted | RolloutState::RolledBack | RolloutState::Failed
        )
    }
}

/// What the smoke test measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeReport {
    /// Whether everything passed.
    pub passed: bool,
    /// What was checked, one line each (`activated`, `page home rendered`, `route GET /ping answered 200`).
    pub checks: Vec<String>,
    /// What failed, if anything.
    pub failures: Vec<String>,
    /// Wall-clock time of the whole smoke test, in microseconds.
    pub elapsed_micros: u64,
    /// Fuel (about one unit per instruction) of all calls made.
    pub fuel_total: u64,
    /// The most fuel one call used.
    pub fuel_max: u64,
    /// The largest linear memory a call ended with, in bytes.
    pub memory_peak_bytes: u64,
    /// Migrations applied.
    pub migrations: u64,
}

/// Runs plugin code before it reaches tenants: accepts a verified bundle's module (so the release source can
/// load it) and smoke-tests it in a throw-away runtime. `zelavis_operator::wasm::WasmSandbox` (feature `wasm`)
/// is the reference.
#[async_trait]
pub trait Sandbox: Send + Sync + 'static {
    /// Makes the bundle's module loadable (e.g. writes it to the plugin cache).
    async fn accept(&self, bundle: &Bundle) -> Result<(), HostError>;

    /// Boots a throw-away runtime with the plugin: it must activate cleanly, register without errors, apply
    /// its migrations, render each declared page and answer each route, within the default limits.
    async fn smoke_test(&self, bundle: &Bundle) -> Result<SmokeReport, HostError>;
}

/// One canary tenant and the pin it had before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryPin {
    /// The tenant.
    pub tenant: Name,
    /// Its pin before the canary (restored on promotion or rollback).
    pub previous_pin: Option<Version>,
}

/// One judged window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgedWindow {
    /// Start.
    pub from: Timestamp,
    /// End.
    pub to: Timestamp,
    /// The figures.
    pub counts: WindowCounts,
    /// The verdict.
    pub verdict: Verdict,
    /// The monitor's cursor after this window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<serde_json::Value>,
}

/// One transition, as the rollout keeps it (the audit log holds the same, chained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// From.
    pub from: Option<RolloutState>,
    /// To.
    pub to: RolloutState,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// A rollout, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// The plugin.
    pub plugin: Name,
    /// The version being rolled out.
    pub version: Version,
    /// Where it is.
    pub state: RolloutState,
    /// For `Paused`: the state it resumes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_from: Option<RolloutState>,
    /// The tenant that published it.
    pub publisher_tenant: Name,
    /// The signed record's publisher.
    pub publisher: String,
    /// The signing key.
    pub kid: String,
    /// The bundle's SHA-256.
    pub bundle_sha256: Digest,
    /// The signed release record, as uploaded (JSON of [`SignedRelease`]).
    pub signature: String,
    /// Publish as a backport (a version below the published latest).
    #[serde(default)]
    pub backport: bool,
    /// The smoke test's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokeReport>,
    /// The canary tenants.
    #[serde(default)]
    pub canary: Vec<CanaryPin>,
    /// When the canary started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_started_at: Option<Timestamp>,
    /// The wait before promotion.
    #[serde(with = "crate::judge::millis")]
    pub wait: Duration,
    /// The judge's settings.
    pub judge: JudgeConfig,
    /// The windows judged so far.
    #[serde(default)]
    pub windows: Vec<JudgedWindow>,
    /// Breaching windows in a row.
    #[serde(default)]
    pub breaches_in_a_row: u32,
    /// Every transition.
    pub history: Vec<Transition>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

impl Rollout {
    /// The store key, `plugin@version`.
    pub fn key_of(plugin: &str, version: &Version) -> String {
        format!("{plugin}@{version}")
    }

    /// When the wait ends (promotion is allowed from then on).
    pub fn wait_ends(&self) -> Option<Timestamp> {
        self.canary_started_at.map(|at| at.add_duration(self.wait))
    }

    fn next_window(&self) -> Option<(Timestamp, Timestamp)> {
        let from = self.windows.last().map(|w| w.to).or(self.canary_started_at)?;
        Some((from, from.add_duration(self.judge.window)))
    }
}

impl Stored for Rollout {
    const KIND: Kind = Kind::Rollout;
    fn key(&self) -> String {
        Rollout::key_of(self.plugin.as_str(), &self.version)
    }
    fn plugin(&self) -> Option<String> {
        Some(self.plugin.to_string())
    }
    fn flag(&self) -> bool {
        !self.state.is_final()
    }
}

/// A stored bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredBundle {
    pub(crate) plugin: Name,
    pub(crate) version: Version,
    pub(crate) sha256: Digest,
    /// The bundle, base64.
    pub(crate) bytes: String,
}

impl Stored for StoredBundle {
    const KIND: Kind = Kind::Bundle;
    fn key(&self) -> String {
        Rollout::key_of(self.plugin.as_str(), &self.version)
    }
    fn plugin(&self) -> Option<String> {
        Some(self.plugin.to_string())
    }
}

/// How to publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishOptions {
    /// Allow a version below the published latest.
    #[serde(default)]
    pub backport: bool,
    /// The canary wait (default 24 h).
    #[serde(default = "default_wait", with = "crate::judge::millis")]
    pub wait: Duration,
    /// The judge's settings.
    #[serde(default)]
    pub judge: JudgeConfig,
}

fn default_wait() -> Duration {
    DEFAULT_CANARY_WAIT
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            backport: false,
            wait: DEFAULT_CANARY_WAIT,
            judge: JudgeConfig::default(),
        }
    }
}

fn signature_error(error: &crate::signature::SignatureError) -> OperatorError {
    OperatorError::SignatureRefused {
        code: error.code(),
        reason: error.to_string(),
    }
}

impl Operator {
    /// Publishes a signed bundle from `publisher_tenant`: checks the license feature, the signature, the
    /// bundle and the version, stores the bundle and the rollout (`Uploaded`), then runs it on to `Verified`
    /// and through the smoke test (`SmokeTested`, or `Failed` with the evidence). A refusal stores nothing.
    pub async fn publish(
        &self,
        actor: &Actor,
        publisher_tenant: &str,
        bundle_bytes: &[u8],
        signed: &SignedRelease,
        options: PublishOptions,
    ) -> Result<Rollout, OperatorError> {
        require(actor, Role::Operator, "publish a plugin")?;
        let (tenant, _) = self.tenant_row(publisher_tenant).await?;
        let license = self.license(&tenant).await?;
        if !license.has_feature(MARKETPLACE_PUBLISHER) {
            return Err(OperatorError::FeatureDenied {
                tenant: tenant.id.to_string(),
                feature: MARKETPLACE_PUBLISHER.to_owned(),
            });
        }
        if let Some(problem) = options.judge.problem() {
            return Err(OperatorError::InvalidOptions { reason: problem });
        }
        let checked = self.check_bundle(bundle_bytes, signed, options.backport, false).await?;
        let now = self.now();
        let record = &signed.record;
        let rollout = Rollout {
            plugin: checked.plugin.clone(),
            version: record.version.clone(),
            state: RolloutState::Uploaded,
            paused_from: None,
            publisher_tenant: tenant.id.clone(),
            publisher: record.publisher.clone(),
            kid: record.kid.clone(),
            bundle_sha256: record.bundle_sha256,
            signature: signed.to_json(),
            backport: options.backport,
            smoke: None,
            canary: Vec::new(),
            canary_started_at: None,
            wait: options.wait,
            judge: options.judge,
            windows: Vec::new(),
            breaches_in_a_row: 0,
            history: vec![Transition {
                from: None,
                to: RolloutState::Uploaded,
                actor: actor.id.clone(),
                reason: format!("uploaded by tenant {}", tenant.id),
                at: now,
            }],
            created_at: now,
            updated_at: now,
        };
        let stored = StoredBundle {
            plugin: checked.plugin.clone(),
            version: record.version.clone(),
            sha256: record.bundle_sha256,
            bytes: base64::engine::general_purpose::STANDARD.encode(bundle_bytes),
        };
        let entry = AuditEntry::new(now, &actor.id, "rollout.upload", rollout_target(&rollout))
            .after(serde_json::json!({"state": RolloutState::Uploaded, "bundle_sha256": record.bundle_sha256, "kid": record.kid, "publisher_tenant": tenant.id}));
        match self
            .commit(
                Batch::new()
                    .write(stored.write(Expected::Absent))
                    .write(rollout.write(Expected::Absent))
                    .audit(entry),
            )
            .await
        {
            Err(e) if is_conflict(&e) => {
                return Err(OperatorError::VersionExists {
                    plugin: rollout.plugin.to_string(),
                    version: rollout.version,
                });
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        self.resume_rollout(actor, rollout.plugin.as_str(), &rollout.version)
            .await
    }

    /// Verifies a bundle and its signature for publication, storing nothing.
    /// `stored`: the rollout is already stored (re-verifying its bundle), so its own row is no reuse.
    async fn check_bundle(
        &self,
        bundle_bytes: &[u8],
        signed: &SignedRelease,
        backport: bool,
        stored: bool,
    ) -> Result<CheckedBundle, OperatorError> {
        let limits = BundleLimits::default();
        let verified =
            verify(signed, bundle_bytes, self.inner_keyring(), &limits, self.now()).map_err(|e| signature_error(&e))?;
        let manifest_text = std::str::from_utf8(verified.bundle.manifest_bytes()).unwrap_or_default();
        let manifest = PluginManifest::from_json(manifest_text).map_err(|e| OperatorError::SignatureRefused {
            code: "bad_manifest",
            reason: format!("the bundle's zelavis.plugin.json is not a valid manifest: {e}"),
        })?;
        expect_release(&verified, manifest.name.as_str(), &manifest.version).map_err(|e| signature_error(&e))?;
        let releases = self.releases(manifest.name.as_str()).await?;
        let rollouts = self
            .inner_store()
            .get(
                Kind::Rollout,
                &Rollout::key_of(manifest.name.as_str(), &manifest.version),
            )
            .await?;
        if rollouts.is_some() && !stored {
            return Err(OperatorError::VersionExists {
                plugin: manifest.name.to_string(),
                version: manifest.version,
            });
        }
        Self::check_new_version(&manifest.name, &manifest.version, &releases, backport)?;
        Ok(CheckedBundle {
            plugin: manifest.name.clone(),
            bundle: verified.bundle,
            manifest,
        })
    }

    /// Runs a rollout on from where it is, as far as it goes by itself: `Uploaded` is verified again from the
    /// stored bytes (and the staged release stored), `Verified` is smoke-tested. Other states are returned
    /// as they are. Call it after a restart for every rollout [`rollouts`](Self::rollouts) lists as open.
    pub async fn resume_rollout(
        &self,
        actor: &Actor,
        plugin: &str,
        version: &Version,
    ) -> Result<Rollout, OperatorError> {
        require(actor, Role::Operator, "run a rollout")?;
        loop {
            let (rollout, row) = self.rollout_row(plugin, version).await?;
            match rollout.state {
                RolloutState::Uploaded => self.verify_stored(actor, rollout, &row).await?,
                RolloutState::Verified => self.smoke(actor, rollout, &row).await?,
                _ => return Ok(rollout),
            }
        }
    }

    async fn stored_bundle(&self, plugin: &str, version: &Version) -> Result<Vec<u8>, OperatorError> {
        let (stored, _) = self
            .read::<StoredBundle>(&Rollout::key_of(plugin, version))
            .await?
            .ok_or_else(|| OperatorError::Conflict {
                what: format!("the bundle of {plugin}@{version} is missing from the store"),
            })?;
        base64::engine::general_purpose::STANDARD
            .decode(stored.bytes.as_bytes())
            .map_err(|e| OperatorError::Conflict {
                what: format!("the stored bundle of {plugin}@{version} is unreadable: {e}"),
            })
    }

    async fn verify_stored(&self, actor: &Actor, rollout: Rollout, row: &Row) -> Result<(), OperatorError> {
        let bytes = self.stored_bundle(rollout.plugin.as_str(), &rollout.version).await?;
        let signed = SignedRelease::from_json(&rollout.signature).map_err(|e| signature_error(&e))?;
        let checked = match self.check_bundle(&bytes, &signed, rollout.backport, true).await {
            Ok(checked) => checked,
            Err(OperatorError::Store(e)) => return Err(OperatorError::Store(e)),
            Err(e) => {
                let reason = e.to_string();
                return self
                    .transition(actor, rollout, row, RolloutState::Failed, &reason, Batch::new(), |_| {})
                    .await;
            }
        };
        if let Some(sandbox) = self.inner_sandbox() {
            sandbox
                .accept(&checked.bundle)
                .await
                .map_err(|e| OperatorError::ReleaseUnavailable {
                    plugin: rollout.plugin.to_string(),
                    version: rollout.version.clone(),
                    reason: e.0,
                })?;
        }
        let mut batch = Batch::new();
        let record_row = self.inner_store().get(Kind::Plugin, rollout.plugin.as_str()).await?;
        let now = self.now();
        if let Some(row) = &record_row {
            let (mut record, _) = crate::rows::decode::<PluginRecord>(&self.inner_store().describe(), row)?;
            if record.removed_at.is_some() {
                return Err(OperatorError::UnknownPlugin {
                    plugin: rollout.plugin.to_string(),
                });
            }
            record.signed_with_kid = Some(rollout.kid.clone());
            record.updated_at = now;
            batch = batch.write(record.write(Expected::Revision(row.revision)));
        } else {
            // A plugin published for the first time: a customer's scoped plugin is Private, others Premium.
            let source = if rollout.plugin.scope() == Some(rollout.publisher_tenant.as_str()) {
                CatalogSource::Private
            } else {
                CatalogSource::Premium
            };
            let record = PluginRecord {
                id: rollout.plugin.clone(),
                source,
                title: rollout.plugin.to_string(),
                tier_minimum: None,
                niches: Vec::new(),
                default_in_packages: Vec::new(),
                publisher: rollout.publisher.clone(),
                signed_with_kid: Some(rollout.kid.clone()),
                deprecated: None,
                killed: None,
                removed_at: None,
                registered_at: now,
                updated_at: now,
            };
            batch = batch.write(record.write(Expected::Absent));
        }
        let release = Release {
            plugin: rollout.plugin.clone(),
            version: rollout.version.clone(),
            manifest: checked.manifest,
            publisher: rollout.publisher.clone(),
            kid: Some(rollout.kid.clone()),
            bundle_sha256: Some(rollout.bundle_sha256.to_string()),
            staged: true,
            deprecated: false,
            removed: false,
            published_at: signed.record.published_at,
        };
        batch = batch.write(release.write(Expected::Absent));
        let reason = format!("signed by {:?}, bundle {} verified", rollout.kid, rollout.bundle_sha256);
        self.transition(actor, rollout, row, RolloutState::Verified, &reason, batch, |_| {})
            .await
    }

    async fn smoke(&self, actor: &Actor, rollout: Rollout, row: &Row) -> Result<(), OperatorError> {
        let Some(sandbox) = self.inner_sandbox() else {
            let report = SmokeReport {
                passed: false,
                failures: vec!["this host has no sandbox to smoke-test in".to_owned()],
                ..SmokeReport::default()
            };
            return self
                .transition(
                    actor,
                    rollout,
                    row,
                    RolloutState::Failed,
                    "no sandbox",
                    Batch::new(),
                    |r| r.smoke = Some(report),
                )
                .await;
        };
        let bytes = self.stored_bundle(rollout.plugin.as_str(), &rollout.version).await?;
        let bundle = Bundle::read(&bytes, &BundleLimits::default()).map_err(|e| OperatorError::Conflict {
            what: format!("the stored bundle is unreadable: {e}"),
        })?;
        let report = match sandbox.smoke_test(&bundle).await {
            Ok(report) => report,
            Err(e) => SmokeReport {
                passed: false,
                failures: vec![e.0],
                ..SmokeReport::default()
            },
        };
        let (to, reason) = if report.passed {
            (
                RolloutState::SmokeTested,
                format!(
                    "smoke test passed: {} checks in {} µs, fuel {} (max {} a call), memory {} bytes",
                    report.checks.len(),
                    report.elapsed_micros,
                    report.fuel_total,
                    report.fuel_max,
                    report.memory_peak_bytes
                ),
            )
        } else {
            (
                RolloutState::Failed,
                format!("smoke test failed: {}", report.failures.join("; ")),
            )
        };
        self.transition(actor, rollout, row, to, &reason, Batch::new(), |r| {
            r.smoke = Some(report);
        })
        .await
    }

    /// Writes a transition: the rollout at its read revision, `batch`'s other writes, and the audit event.
    #[allow(clippy::too_many_arguments, reason = "one place for every transition's bookkeeping")]
    async fn transition(
        &self,
        actor: &Actor,
        mut rollout: Rollout,
        row: &Row,
        to: RolloutState,
        reason: &str,
        batch: Batch,
        change: impl FnOnce(&mut Rollout),
    ) -> Result<(), OperatorError> {
        let from = rollout.state;
        let now = self.now();
        change(&mut rollout);
        rollout.state = to;
        rollout.updated_at = now;
        rollout.history.push(Transition {
            from: Some(from),
            to,
            actor: actor.id.clone(),
            reason: reason.to_owned(),
            at: now,
        });
        let evidence = serde_json::json!({
            "state": to,
            "smoke": rollout.smoke,
            "windows": rollout.windows.iter().rev().take(rollout.judge.breaches_to_rollback as usize).collect::<Vec<_>>(),
            "canary": rollout.canary,
        });
        let entry = AuditEntry::new(
            now,
            &actor.id,
            format!("rollout.{}", state_verb(to)),
            rollout_target(&rollout),
        )
        .before(serde_json::json!({"state": from}))
        .after(evidence)
        .reason(reason);
        let batch = Batch {
            writes: batch.writes,
            audit: batch.audit,
        }
        .write(rollout.write(Expected::Revision(row.revision)))
        .audit(entry);
        match self.commit(batch).await {
            Err(e) if is_conflict(&e) => Err(changed_meanwhile(&rollout)),
            other => other,
        }
    }

    pub(crate) async fn rollout_row(&self, plugin: &str, version: &Version) -> Result<(Rollout, Row), OperatorError> {
        self.read::<Rollout>(&Rollout::key_of(plugin, version))
            .await?
            .ok_or_else(|| OperatorError::VersionNotFound {
                plugin: plugin.to_owned(),
                version: version.to_string(),
            })
    }

    /// One rollout.
    pub async fn rollout(&self, actor: &Actor, plugin: &str, version: &Version) -> Result<Rollout, OperatorError> {
        require(actor, Role::Viewer, "read a rollout")?;
        Ok(self.rollout_row(plugin, version).await?.0)
    }

    /// Every rollout (`open_only`: those not in a final state), by plugin and version.
    pub async fn rollouts(&self, actor: &Actor, open_only: bool) -> Result<Vec<Rollout>, OperatorError> {
        require(actor, Role::Viewer, "list rollouts")?;
        let all: Vec<Rollout> = self.read_all(&Query::All(Kind::Rollout)).await?;
        Ok(all.into_iter().filter(|r| !open_only || !r.state.is_final()).collect())
    }

    /// The rollout `actor` (an operator) acts on, when it is in one of the `allowed` states.
    async fn acting_on(
        &self,
        actor: &Actor,
        action: &'static str,
        plugin: &str,
        version: &Version,
        allowed: &[RolloutState],
    ) -> Result<(Rollout, Row), OperatorError> {
        require(actor, Role::Operator, action)?;
        let (rollout, row) = self.rollout_row(plugin, version).await?;
        Self::expect_state(&rollout, allowed, action)?;
        Ok((rollout, row))
    }

    fn expect_state(rollout: &Rollout, allowed: &[RolloutState], action: &str) -> Result<(), OperatorError> {
        if allowed.contains(&rollout.state) {
            Ok(())
        } else {
            Err(OperatorError::Conflict {
                what: format!(
                    "rollout {} is {:?}: cannot {action} (allowed from {:?})",
                    rollout_target(rollout),
                    rollout.state,
                    allowed
                ),
            })
        }
    }

    /// Starts the canary: each of `tenants` (all marked canary) is pinned to the new version, atomically, and
    /// the wait begins.
    pub async fn start_canary(
        &self,
        actor: &Actor,
        plugin: &str,
        version: &Version,
        tenants: &[Name],
    ) -> Result<Rollout, OperatorError> {
        require(actor, Role::Operator, "start a canary")?;
        if tenants.is_empty() {
            return Err(OperatorError::Conflict {
                what: "a canary needs at least one tenant".to_owned(),
            });
        }
        let (rollout, row) = self.rollout_row(plugin, version).await?;
        Self::expect_state(&rollout, &[RolloutState::SmokeTested], "start a canary")?;
        let mut batch = Batch::new();
        let mut pins = Vec::new();
        for tenant in tenants {
            let (t, _) = self.tenant_row(tenant.as_str()).await?;
            if !t.canary {
                return Err(OperatorError::Conflict {
                    what: format!("tenant {:?} is not marked canary", t.id.as_str()),
                });
            }
            let key = Enablement::key(tenant.as_str(), plugin);
            let current = self.read::<Enablement>(&key).await?;
            let before = current.as_ref().map(|(g, _)| g.clone());
            let previous_pin = before.as_ref().and_then(|g| g.pin.clone());
            let enabled = before.as_ref().is_some_and(|g| g.enabled);
            let after = Enablement {
                tenant: t.id.clone(),
                plugin: rollout.plugin.clone(),
                enabled,
                version: if enabled {
                    Some(version.clone())
                } else {
                    before.as_ref().and_then(|g| g.version.clone())
                },
                pin: Some(version.clone()),
                updated_at: self.now(),
            };
            batch = batch.write(after.write(Expected::of(current.as_ref().map(|(_, r)| r))));
            pins.push(CanaryPin {
                tenant: t.id.clone(),
                previous_pin,
            });
        }
        let now = self.now();
        let names: Vec<&str> = tenants.iter().map(Name::as_str).collect();
        let reason = format!("canary on {}", names.join(", "));
        self.transition(actor, rollout, &row, RolloutState::Canary, &reason, batch, |r| {
            r.canary = pins;
            r.canary_started_at = Some(now);
        })
        .await?;
        for tenant in tenants {
            self.sync_grant(tenant, &rollout_plugin(plugin)?).await;
        }
        Ok(self.rollout_row(plugin, version).await?.0)
    }

    /// Judges every window that has ended since the last one, in order (as one window when the monitor cannot
    /// [split by time](HealthMonitor::splits_by_time)): an inconclusive window pauses the rollout; `breaches_to_rollback` breaching windows in a row roll it back by themselves (actor
    /// `system:rollout-judge`), with the windows' figures as evidence. Returns the rollout as it then is.
    pub async fn judge_rollout(
        &self,
        plugin: &str,
        version: &Version,
        monitor: &dyn HealthMonitor,
    ) -> Result<Rollout, OperatorError> {
        let judge = Actor::system("rollout-judge");
        loop {
            let (mut rollout, row) = self.rollout_row(plugin, version).await?;
            if rollout.state != RolloutState::Canary {
                return Ok(rollout);
            }
            let Some((from, mut to)) = rollout.next_window() else {
                return Ok(rollout);
            };
            let now = self.now();
            if now < to {
                return Ok(rollout);
            }
            if !monitor.splits_by_time() {
                // Every window that has ended, as one.
                let window = rollout.judge.window.as_millis().max(1);
                let ended = now.since(from).as_millis() / window * window;
                to = from.add_duration(Duration::from_millis(u64::try_from(ended).unwrap_or(u64::MAX)));
            }
            let query = WindowQuery {
                plugin: rollout.plugin.clone(),
                canary_version: rollout.version.clone(),
                canary_tenants: rollout.canary.iter().map(|c| c.tenant.clone()).collect(),
                from,
                to,
                cursor: rollout.windows.last().and_then(|w| w.cursor.clone()),
            };
            let reading = monitor.window(&query).await?;
            let counts = reading.counts;
            let verdict = verdict(&rollout.judge, counts);
            rollout.windows.push(JudgedWindow {
                from,
                to,
                counts,
                verdict,
                cursor: reading.cursor,
            });
            let figures = format!(
                "window {from}..{to}: canary {}/{} errors, baseline {}/{}",
                counts.canary.errors, counts.canary.requests, counts.baseline.errors, counts.baseline.requests
            );
            match verdict {
                Verdict::Pass => {
                    rollout.breaches_in_a_row = 0;
                    self.save_rollout(rollout, &row).await?;
                }
                Verdict::Inconclusive => {
                    let reason = format!(
                        "inconclusive, fewer than {} requests: {figures}",
                        rollout.judge.min_requests
                    );
                    self.transition(
                        &judge,
                        rollout,
                        &row,
                        RolloutState::Paused,
                        &reason,
                        Batch::new(),
                        |r| {
                            r.paused_from = Some(RolloutState::Canary);
                        },
                    )
                    .await?;
                }
                Verdict::Breach => {
                    rollout.breaches_in_a_row += 1;
                    if rollout.breaches_in_a_row >= rollout.judge.breaches_to_rollback {
                        let reason = format!(
                            "{} breaching windows in a row (error rate above {}× the baseline and {}): {figures}",
                            rollout.breaches_in_a_row, rollout.judge.ratio, rollout.judge.floor
                        );
                        self.roll_back_from(&judge, rollout, &row, &reason).await?;
                    } else {
                        self.save_rollout(rollout, &row).await?;
                    }
                }
            }
        }
    }

    async fn save_rollout(&self, mut rollout: Rollout, row: &Row) -> Result<(), OperatorError> {
        rollout.updated_at = self.now();
        match self
            .commit(Batch::new().write(rollout.write(Expected::Revision(row.revision))))
            .await
        {
            Err(e) if is_conflict(&e) => Err(changed_meanwhile(&rollout)),
            other => other,
        }
    }

    /// Promotes after the wait: the release stops being staged and becomes default-latest, canary pins return
    /// to what they were, and every tenant without a pin picks the version up (this host's running tenants at
    /// once; others at their next sync).
    pub async fn promote(
        &self,
        actor: &Actor,
        plugin: &str,
        version: &Version,
        reason: &str,
    ) -> Result<Rollout, OperatorError> {
        let (rollout, row) = self
            .acting_on(actor, "promote a rollout", plugin, version, &[RolloutState::Canary])
            .await?;
        if let Some(ends) = rollout.wait_ends()
            && self.now() < ends
        {
            return Err(OperatorError::Conflict {
                what: format!("the canary wait of {} ends at {ends}", rollout_target(&rollout)),
            });
        }
        let (mut release, release_row) = self
            .read::<Release>(&Rollout::key_of(plugin, version))
            .await?
            .ok_or_else(|| OperatorError::VersionNotFound {
                plugin: plugin.to_owned(),
                version: version.to_string(),
            })?;
        release.staged = false;
        let batch = self
            .unpin_canary(&rollout)
            .await?
            .write(release.write(Expected::Revision(release_row.revision)));
        self.transition(
            actor,
            rollout.clone(),
            &row,
            RolloutState::Promoted,
            reason,
            batch,
            |_| {},
        )
        .await?;
        let plugin_name = rollout_plugin(plugin)?;
        let grants: Vec<Enablement> = self.read_all(&crate::operator::using(plugin)).await?;
        for grant in grants {
            self.sync_grant(&grant.tenant, &plugin_name).await;
        }
        Ok(self.rollout_row(plugin, version).await?.0)
    }

    /// Rolls back by an operator's decision: the canary pins return to the previous version, atomically.
    pub async fn rollback(
        &self,
        actor: &Actor,
        plugin: &str,
        version: &Version,
        reason: &str,
    ) -> Result<Rollout, OperatorError> {
        let allowed = [
            RolloutState::Canary,
            RolloutState::Paused,
            RolloutState::SmokeTested,
            RolloutState::Verified,
        ];
        let (rollout, row) = self
            .acting_on(actor, "roll back a rollout", plugin, version, &allowed)
            .await?;
        self.roll_back_from(actor, rollout, &row, reason).await?;
        Ok(self.rollout_row(plugin, version).await?.0)
    }

    async fn roll_back_from(
        &self,
        actor: &Actor,
        rollout: Rollout,
        row: &Row,
        reason: &str,
    ) -> Result<(), OperatorError> {
        let batch = self.unpin_canary(&rollout).await?;
        let canary: Vec<Name> = rollout.canary.iter().map(|c| c.tenant.clone()).collect();
        let plugin = rollout.plugin.clone();
        self.transition(actor, rollout, row, RolloutState::RolledBack, reason, batch, |_| {})
            .await?;
        for tenant in &canary {
            self.sync_grant(tenant, &plugin).await;
        }
        Ok(())
    }

    /// The writes that give each canary tenant its previous pin back.
    async fn unpin_canary(&self, rollout: &Rollout) -> Result<Batch, OperatorError> {
        let mut batch = Batch::new();
        let releases = self.releases(rollout.plugin.as_str()).await?;
        for pin in &rollout.canary {
            let key = Enablement::key(pin.tenant.as_str(), rollout.plugin.as_str());
            let Some((grant, row)) = self.read::<Enablement>(&key).await? else {
                continue;
            };
            if grant.pin.as_ref() != Some(&rollout.version) {
                continue;
            }
            let back = pin.previous_pin.clone();
            let version = if grant.enabled {
                back.clone().or_else(|| {
                    crate::catalog::default_latest(&releases)
                        .filter(|r| r.version != rollout.version)
                        .map(|r| r.version.clone())
                })
            } else {
                grant.version.clone()
            };
            let after = Enablement {
                pin: back,
                version,
                updated_at: self.now(),
                ..grant
            };
            batch = batch.write(after.write(Expected::Revision(row.revision)));
        }
        Ok(batch)
    }

    /// Pauses a canary (the judge stops; pins stay).
    pub async fn pause(
        &self,
        actor: &Actor,
        plugin: &str,
        version: &Version,
        reason: &str,
    ) -> Result<Rollout, OperatorError> {
        let (rollout, row) = self
            .acting_on(
                actor,
                "pause a rollout",
                plugin,
                version,
                &[RolloutState::Canary, RolloutState::SmokeTested],
            )
            .await?;
        let from = rollout.state;
        self.transition(actor, rollout, &row, RolloutState::Paused, reason, Batch::new(), |r| {
            r.paused_from = Some(from);
        })
        .await?;
        Ok(self.rollout_row(plugin, version).await?.0)
    }

    /// Resumes a paused rollout where it was; the breach count starts again.
    pub async fn resume(
        &self,
        actor: &Actor,
        plugin: &str,
        version: &Version,
        reason: &str,
    ) -> Result<Rollout, OperatorError> {
        let (rollout, row) = self
            .acting_on(actor, "resume a rollout", plugin, version, &[RolloutState::Paused])
            .await?;
        let to = rollout.paused_from.unwrap_or(RolloutState::Canary);
        self.transition(actor, rollout, &row, to, reason, Batch::new(), |r| {
            r.paused_from = None;
            r.breaches_in_a_row = 0;
        })
        .await?;
        Ok(self.rollout_row(plugin, version).await?.0)
    }
}

struct CheckedBundle {
    plugin: Name,
    bundle: Bundle,
    manifest: PluginManifest,
}

fn rollout_plugin(plugin: &str) -> Result<Name, OperatorError> {
    crate::error::parse_name("plugin", plugin)
}

fn changed_meanwhile(rollout: &Rollout) -> OperatorError {
    OperatorError::Conflict {
        what: format!("rollout {} changed meanwhile; read it again", rollout_target(rollout)),
    }
}

fn rollout_target(rollout: &Rollout) -> String {
    format!("rollout:{}@{}", rollout.plugin, rollout.version)
}

fn state_verb(state: RolloutState) -> &'static str {
    match state {
        RolloutState::Uploaded => "upload",
        RolloutState::Verified => "verify",
        RolloutState::SmokeTested => "smoke_test",
        RolloutState::Canary => "canary",
        RolloutState::Promoted => "promote",
        RolloutState::RolledBack => "rollback",
        RolloutState::Paused => "pause",
        RolloutState::Failed => "fail",
    }
}
