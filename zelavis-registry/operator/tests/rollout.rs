//! Publishing end to end with real WebAssembly bundles: every refusal (license feature, signature, tampering,
//! version reuse and downgrade), a rollout driven by a scripted monitor down the promote, rollback and
//! inconclusive paths, a restart in every state, and two operators acting on one rollout at once.

mod support;

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use ed25519_dalek::SigningKey;
use futures::FutureExt as _;
use support::bundle::{PLUGIN, bundle, sign};
use zelavis_operator::keyring::generate_signing_key;
use zelavis_operator::prelude::*;
use zelavis_operator::wasm::WasmSandbox;
use zelavis_registry::runtime::Runtime;
use zelavis_registry::store::memory::MemoryStore;
use zelavis_wasm::WasmLoader;

fn ops() -> Actor {
    Actor::new("ops@example.com", Role::Operator)
}

/// A monitor answering scripted windows, in order.
struct Scripted(Mutex<Vec<WindowCounts>>);

/// One scripted window: the canary's requests and errors, then the baseline's.
type Window = ((u64, u64), (u64, u64));

impl Scripted {
    fn new(windows: &[Window]) -> Self {
        Self(Mutex::new(
            windows
                .iter()
                .rev()
                .map(|&((cr, ce), (br, be))| WindowCounts {
                    canary: Counts::new(cr, ce),
                    baseline: Counts::new(br, be),
                })
                .collect(),
        ))
    }
}

#[async_trait]
impl HealthMonitor for Scripted {
    async fn window(&self, _: &WindowQuery) -> Result<WindowReading, OperatorError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .pop()
            .expect("the script has a window left")
            .into())
    }
}

/// A sandbox that never finishes `accept` or `smoke_test` when told: dropping the call is a host killed there.
#[derive(Clone)]
struct Stalling {
    inner: WasmSandbox,
    stall_accept: bool,
    stall_smoke: bool,
}

#[async_trait]
impl Sandbox for Stalling {
    async fn accept(&self, bundle: &Bundle) -> Result<(), HostError> {
        if self.stall_accept {
            futures::future::pending::<()>().await;
        }
        self.inner.accept(bundle).await
    }

    async fn smoke_test(&self, bundle: &Bundle) -> Result<SmokeReport, HostError> {
        if self.stall_smoke {
            futures::future::pending::<()>().await;
        }
        self.inner.smoke_test(bundle).await
    }
}

struct Platform {
    operator: Operator,
    store: MemoryOperatorStore,
    registry_store: MemoryStore,
    cache: tempfile::TempDir,
    clock: ManualClock,
    key: SigningKey,
    keyring: Keyring,
    tenants: LocalTenants,
}

const T0: i64 = 1_780_000_000_000;

fn platform() -> Platform {
    let key = generate_signing_key().unwrap();
    let mut keyring = Keyring::new();
    keyring.insert(KeyEntry::new(
        "acme-2026",
        key.verifying_key(),
        Timestamp::from_millis(T0 - 86_400_000),
    ));
    let clock = ManualClock::at(Timestamp::from_millis(T0));
    let cache = tempfile::tempdir().unwrap();
    let store = MemoryOperatorStore::new();
    let registry_store = MemoryStore::new();
    let mut p = Platform {
        operator: Operator::builder(store.clone()).build(),
        store,
        registry_store,
        cache,
        clock,
        key,
        keyring,
        tenants: LocalTenants::new(MemoryStore::new(), "host-1"),
    };
    p.operator = operator(&p, false, false);
    futures::executor::block_on(async {
        for (id, canary) in [("acme", true), ("initech", true), ("globex", false)] {
            let spec = TenantSpec::new(Name::parse(id).unwrap(), "pro", "retail").canary(canary);
            p.operator.create_tenant(&ops(), spec).await.unwrap();
        }
    });
    p
}

/// An operator on the platform's stores (a host process: a new one after a restart).
fn operator(p: &Platform, stall_accept: bool, stall_smoke: bool) -> Operator {
    let publisher = License {
        licensed_plugins: vec![PLUGIN.into()],
        features: vec![MARKETPLACE_PUBLISHER.into()],
        ..License::default()
    };
    let tenant = License {
        licensed_plugins: vec![PLUGIN.into()],
        ..License::default()
    };
    let licenses = FixedLicenses::new()
        .grant("acme", publisher)
        .grant("initech", tenant.clone())
        .grant("globex", tenant);
    let sandbox = WasmSandbox::new(WasmLoader::new(p.cache.path()));
    let tenants = LocalTenants::new(p.registry_store.clone(), "host-1");
    Operator::builder(p.store.clone())
        .clock(p.clock.clone())
        .keyring(p.keyring.clone())
        .licenses(licenses)
        .releases(sandbox.clone())
        .sandbox(Stalling {
            inner: sandbox,
            stall_accept,
            stall_smoke,
        })
        .tenants(tenants)
        .build()
}

impl Platform {
    fn with_host(mut self) -> Self {
        // The tenant host the current operator drives, for assertions on live runtimes.
        self.tenants = LocalTenants::new(self.registry_store.clone(), "host-1");
        self
    }

    /// The bundle of `version`, and its release signed with the platform's key now.
    fn signed(&self, version: &str, failing: bool) -> (Vec<u8>, SignedRelease) {
        let bytes = bundle(version, failing);
        let signed = sign(&bytes, &self.key, "acme-2026", self.clock.now());
        (bytes, signed)
    }

    async fn publish(&self, version: &str) -> Result<Rollout, OperatorError> {
        let (bytes, signed) = self.signed(version, false);
        self.operator
            .publish(&ops(), "acme", &bytes, &signed, PublishOptions::default())
            .await
    }

    async fn status(&self, runtime: &Runtime) -> String {
        let response = runtime
            .call_route(
                &http::Method::GET,
                "/zelavis/api/v1/plugins/acme-pay/status",
                http::Request::new(Vec::new()),
            )
            .await
            .unwrap();
        String::from_utf8(response.into_body()).unwrap()
    }

    async fn runtime(&self, tenant: &str) -> Runtime {
        let host = self.operator.tenant_host().unwrap();
        host.runtime(&Name::parse(tenant).unwrap()).await.unwrap().0
    }

    fn wait(&self) {
        self.clock.advance(Duration::from_secs(24 * 3600));
    }

    async fn promoted(&self, version: &str) {
        let v = version.parse().unwrap();
        self.operator
            .start_canary(&ops(), PLUGIN, &v, &[Name::parse("acme").unwrap()])
            .await
            .unwrap();
        self.wait();
        self.operator.promote(&ops(), PLUGIN, &v, "looks good").await.unwrap();
    }
}

fn v(text: &str) -> semver::Version {
    text.parse().unwrap()
}

#[tokio::test]
async fn publishing_needs_the_license_feature_and_stores_nothing_without_it() {
    let p = platform();
    let (bytes, signed) = p.signed("1.0.0", false);
    let refused = p
        .operator
        .publish(&ops(), "globex", &bytes, &signed, PublishOptions::default())
        .await
        .unwrap_err();
    assert_eq!((refused.code(), refused.status()), ("feature_denied", 403));
    assert!(p.operator.rollouts(&ops(), false).await.unwrap().is_empty());
    assert!(p.operator.releases(PLUGIN).await.unwrap().is_empty());
    assert!(
        p.store
            .query(&zelavis_operator::store::Query::All(
                zelavis_operator::store::Kind::Bundle
            ))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn every_signature_and_bundle_refusal_has_its_own_code() {
    let p = platform();
    let bytes = bundle("1.0.0", false);
    let now = p.clock.now();
    let publish = |bytes: Vec<u8>, signed: SignedRelease| {
        let operator = p.operator.clone();
        async move {
            operator
                .publish(&ops(), "acme", &bytes, &signed, PublishOptions::default())
                .await
                .unwrap_err()
                .code()
        }
    };
    // Unknown kid.
    let stranger = generate_signing_key().unwrap();
    assert_eq!(
        publish(bytes.clone(), sign(&bytes, &stranger, "stranger", now)).await,
        "unknown_kid"
    );
    // Signed by another key under our kid.
    assert_eq!(
        publish(bytes.clone(), sign(&bytes, &stranger, "acme-2026", now)).await,
        "tampered_record"
    );
    // A tampered record.
    let mut signed = sign(&bytes, &p.key, "acme-2026", now);
    signed.record.publisher = "Mallory".into();
    assert_eq!(publish(bytes.clone(), signed).await, "tampered_record");
    // A tampered byte anywhere in the bundle.
    let signed = sign(&bytes, &p.key, "acme-2026", now);
    for at in [0, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let mut tampered = bytes.clone();
        tampered[at] ^= 0x40;
        assert_eq!(publish(tampered, signed.clone()).await, "tampered_bundle", "byte {at}");
    }
    // Published in the future, or before the key's window.
    assert_eq!(
        publish(bytes.clone(), sign(&bytes, &p.key, "acme-2026", now.add_secs(3600))).await,
        "published_in_future"
    );
    assert_eq!(
        publish(
            bytes.clone(),
            sign(&bytes, &p.key, "acme-2026", Timestamp::from_millis(T0 - 2 * 86_400_000))
        )
        .await,
        "key_not_valid"
    );
    // A revoked key is refused even for releases signed before it was revoked.
    let mut revoked = p.keyring.clone();
    revoked.revoke("acme-2026", now).unwrap();
    let operator = Operator::builder(p.store.clone())
        .clock(p.clock.clone())
        .keyring(revoked)
        .licenses(FixedLicenses::new().grant(
            "acme",
            License {
                features: vec![MARKETPLACE_PUBLISHER.into()],
                ..License::default()
            },
        ));
    let refused = operator
        .build()
        .publish(
            &ops(),
            "acme",
            &bytes,
            &sign(&bytes, &p.key, "acme-2026", now.add_secs(-60)),
            PublishOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "revoked_key");
    // Nothing of it was stored.
    assert!(p.operator.rollouts(&ops(), false).await.unwrap().is_empty());

    // The first good one goes through; the same version again, or a lower one, does not.
    assert_eq!(p.publish("1.0.0").await.unwrap().state, RolloutState::SmokeTested);
    assert_eq!(p.publish("1.0.0").await.unwrap_err().code(), "version_exists");
    p.publish("2.0.0").await.unwrap();
    let lower = p.publish("1.5.0").await.unwrap_err();
    assert!(lower.to_string().contains("backport"), "{lower}");
    let (bytes, signed) = p.signed("1.5.0", false);
    let backport = PublishOptions {
        backport: true,
        ..PublishOptions::default()
    };
    assert!(
        p.operator
            .publish(&ops(), "acme", &bytes, &signed, backport)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_smoke_test_records_figures_and_a_failing_route_fails_the_rollout() {
    let p = platform();
    let rollout = p.publish("1.0.0").await.unwrap();
    assert_eq!(rollout.state, RolloutState::SmokeTested, "{:?}", rollout.history);
    let smoke = rollout.smoke.unwrap();
    assert!(smoke.passed, "{smoke:?}");
    assert!(
        smoke
            .checks
            .iter()
            .any(|c| c.contains("route GET") && c.contains("200")),
        "{:?}",
        smoke.checks
    );
    assert!(smoke.fuel_total > 0 && smoke.memory_peak_bytes >= 65_536, "{smoke:?}");
    let states: Vec<RolloutState> = rollout.history.iter().map(|t| t.to).collect();
    assert_eq!(
        states,
        [
            RolloutState::Uploaded,
            RolloutState::Verified,
            RolloutState::SmokeTested
        ]
    );

    let (bytes, signed) = p.signed("1.1.0", true);
    let failed = p
        .operator
        .publish(&ops(), "acme", &bytes, &signed, PublishOptions::default())
        .await
        .unwrap();
    assert_eq!(failed.state, RolloutState::Failed);
    assert!(
        failed.history.last().unwrap().reason.contains("answered 500"),
        "{:?}",
        failed.history
    );
}

#[tokio::test]
async fn the_promote_path_makes_the_version_default_latest_for_unpinned_tenants() {
    let p = platform().with_host();
    p.publish("1.0.0").await.unwrap();
    p.promoted("1.0.0").await;
    p.operator.enable(&ops(), "globex", PLUGIN, None).await.unwrap();
    p.operator.enable(&ops(), "acme", PLUGIN, None).await.unwrap();
    assert_eq!(p.status(&p.runtime("globex").await).await, "1.0.0");

    p.publish("1.1.0").await.unwrap();
    let version = v("1.1.0");
    assert_eq!(
        p.operator.catalog_row(&ops(), PLUGIN).await.unwrap().version,
        Some(v("1.0.0")),
        "a staged release is not default"
    );
    let canary = p
        .operator
        .start_canary(&ops(), PLUGIN, &version, &[Name::parse("acme").unwrap()])
        .await
        .unwrap();
    assert_eq!(canary.state, RolloutState::Canary);
    assert_eq!(
        p.status(&p.runtime("acme").await).await,
        "1.1.0",
        "the canary runs the new version live"
    );
    assert_eq!(p.status(&p.runtime("globex").await).await, "1.0.0");
    let refused = p
        .operator
        .start_canary(&ops(), PLUGIN, &version, &[Name::parse("globex").unwrap()])
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 409);

    // Two healthy windows, then the wait is over.
    let monitor = Scripted::new(&[((1000, 2), (5000, 10)), ((1000, 1), (5000, 12))]);
    p.clock.advance(Duration::from_secs(2 * 3600));
    let judged = p.operator.judge_rollout(PLUGIN, &version, &monitor).await.unwrap();
    assert_eq!(
        judged.windows.iter().map(|w| w.verdict).collect::<Vec<_>>(),
        [Verdict::Pass, Verdict::Pass]
    );
    let early = p
        .operator
        .promote(&ops(), PLUGIN, &version, "ship it")
        .await
        .unwrap_err();
    assert!(early.to_string().contains("wait"), "{early}");
    p.wait();
    let promoted = p.operator.promote(&ops(), PLUGIN, &version, "ship it").await.unwrap();
    assert_eq!(promoted.state, RolloutState::Promoted);
    assert_eq!(
        p.operator.catalog_row(&ops(), PLUGIN).await.unwrap().version,
        Some(version.clone())
    );
    // Every tenant without a pin moved; the canary's pin is gone.
    assert_eq!(p.status(&p.runtime("globex").await).await, "1.1.0");
    let acme = p.operator.tenant_plugins(&ops(), "acme").await.unwrap();
    assert_eq!(acme.iter().find(|t| t.plugin.as_str() == PLUGIN).unwrap().pin, None);
    assert!(p.operator.verify_audit(&ops()).await.unwrap().is_ok());
}

#[tokio::test]
async fn consecutive_breaches_roll_back_by_themselves_with_the_evidence() {
    let p = platform().with_host();
    p.publish("1.0.0").await.unwrap();
    p.promoted("1.0.0").await;
    p.operator.enable(&ops(), "acme", PLUGIN, None).await.unwrap();
    p.publish("1.1.0").await.unwrap();
    let version = v("1.1.0");
    p.operator
        .start_canary(&ops(), PLUGIN, &version, &[Name::parse("acme").unwrap()])
        .await
        .unwrap();
    assert_eq!(p.status(&p.runtime("acme").await).await, "1.1.0");
    // A breach, a pass (the count starts again), then three breaches in a row.
    let monitor = Scripted::new(&[
        ((1000, 80), (5000, 50)),
        ((1000, 5), (5000, 50)),
        ((1000, 80), (5000, 50)),
        ((1000, 90), (5000, 50)),
        ((1000, 70), (5000, 50)),
    ]);
    p.clock.advance(Duration::from_secs(5 * 3600));
    let rolled = p.operator.judge_rollout(PLUGIN, &version, &monitor).await.unwrap();
    assert_eq!(rolled.state, RolloutState::RolledBack);
    assert_eq!(rolled.windows.len(), 5);
    let last = rolled.history.last().unwrap();
    assert_eq!(last.actor, "system:rollout-judge");
    assert!(last.reason.contains("3 breaching windows"), "{}", last.reason);
    assert_eq!(
        p.status(&p.runtime("acme").await).await,
        "1.0.0",
        "the canary is back on the previous version"
    );
    let events = p.operator.audit(&ops(), 0, usize::MAX).await.unwrap();
    let rollback = events
        .iter()
        .rev()
        .find(|e| e.entry().unwrap().action == "rollout.rollback")
        .unwrap()
        .entry()
        .unwrap();
    assert_eq!(
        rollback.after.unwrap()["windows"].as_array().unwrap().len(),
        3,
        "the breaching windows are the evidence"
    );
    // The version stays staged, never default.
    assert_eq!(
        p.operator.catalog_row(&ops(), PLUGIN).await.unwrap().version,
        Some(v("1.0.0"))
    );
}

#[tokio::test]
async fn an_inconclusive_window_pauses_instead_of_passing() {
    let p = platform();
    p.publish("1.0.0").await.unwrap();
    let version = v("1.0.0");
    p.operator
        .start_canary(&ops(), PLUGIN, &version, &[Name::parse("acme").unwrap()])
        .await
        .unwrap();
    let monitor = Scripted::new(&[((12, 6), (5000, 10)), ((1000, 1), (5000, 10))]);
    p.clock.advance(Duration::from_secs(3600));
    let paused = p.operator.judge_rollout(PLUGIN, &version, &monitor).await.unwrap();
    assert_eq!(paused.state, RolloutState::Paused);
    assert!(paused.history.last().unwrap().reason.contains("inconclusive"));
    assert_eq!(
        p.operator
            .promote(&ops(), PLUGIN, &version, "x")
            .await
            .unwrap_err()
            .status(),
        409
    );
    let resumed = p
        .operator
        .resume(&ops(), PLUGIN, &version, "traffic is back")
        .await
        .unwrap();
    assert_eq!(resumed.state, RolloutState::Canary);
    p.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        p.operator
            .judge_rollout(PLUGIN, &version, &monitor)
            .await
            .unwrap()
            .windows
            .last()
            .unwrap()
            .verdict,
        Verdict::Pass
    );
}

/// The state a new host (a restarted process on the same stores) finds a rollout in.
async fn state_after_restart(p: &Platform, version: &semver::Version) -> RolloutState {
    operator(p, false, false)
        .rollout(&ops(), PLUGIN, version)
        .await
        .unwrap()
        .state
}

#[tokio::test]
async fn a_restarted_host_finds_every_rollout_where_it_was() {
    let p = platform();
    // Killed while accepting the bundle, the rollout is Uploaded; killed during the smoke test, Verified. In both
    // cases a new host goes on from there to SmokeTested.
    for (version, stall_accept, stall_smoke, killed_in) in [
        ("1.0.0", true, false, RolloutState::Uploaded),
        ("1.1.0", false, true, RolloutState::Verified),
    ] {
        let stalled = operator(&p, stall_accept, stall_smoke);
        let (bytes, signed) = p.signed(version, false);
        assert!(
            stalled
                .publish(&ops(), "acme", &bytes, &signed, PublishOptions::default())
                .now_or_never()
                .is_none()
        );
        assert_eq!(state_after_restart(&p, &v(version)).await, killed_in);
        let resumed = operator(&p, false, false)
            .resume_rollout(&ops(), PLUGIN, &v(version))
            .await;
        assert_eq!(resumed.unwrap().state, RolloutState::SmokeTested);
    }
    let restarted = operator(&p, false, false);

    // Canary, Paused, then Promoted, RolledBack and Failed: each survives a restart and goes on from there.
    let version = v("1.0.0");
    restarted
        .start_canary(&ops(), PLUGIN, &version, &[Name::parse("acme").unwrap()])
        .await
        .unwrap();
    let again = operator(&p, false, false);
    assert_eq!(state_after_restart(&p, &version).await, RolloutState::Canary);
    again.pause(&ops(), PLUGIN, &version, "holiday freeze").await.unwrap();
    let again = operator(&p, false, false);
    assert_eq!(state_after_restart(&p, &version).await, RolloutState::Paused);
    again.resume(&ops(), PLUGIN, &version, "freeze over").await.unwrap();
    p.wait();
    let again = operator(&p, false, false);
    again.promote(&ops(), PLUGIN, &version, "ship it").await.unwrap();
    assert_eq!(state_after_restart(&p, &version).await, RolloutState::Promoted);

    let next = v("1.1.0");
    again
        .start_canary(&ops(), PLUGIN, &next, &[Name::parse("initech").unwrap()])
        .await
        .unwrap();
    again
        .rollback(&ops(), PLUGIN, &next, "customer complaint")
        .await
        .unwrap();
    assert_eq!(state_after_restart(&p, &next).await, RolloutState::RolledBack);

    let (bytes, signed) = p.signed("1.2.0", true);
    again
        .publish(&ops(), "acme", &bytes, &signed, PublishOptions::default())
        .await
        .unwrap();
    let failed = operator(&p, false, false)
        .rollout(&ops(), PLUGIN, &v("1.2.0"))
        .await
        .unwrap();
    assert_eq!(failed.state, RolloutState::Failed);
    // A final state stays final.
    assert_eq!(
        operator(&p, false, false)
            .resume_rollout(&ops(), PLUGIN, &v("1.2.0"))
            .await
            .unwrap()
            .state,
        RolloutState::Failed
    );
}

#[tokio::test]
async fn two_operators_acting_on_one_rollout_at_once_one_wins() {
    let p = platform();
    p.publish("1.0.0").await.unwrap();
    let version = v("1.0.0");
    let (a, b) = (operator(&p, false, false), operator(&p, false, false));
    let acme = [Name::parse("acme").unwrap()];
    let initech = [Name::parse("initech").unwrap()];
    let actor = ops();
    let (first, second) = futures::join!(
        a.start_canary(&actor, PLUGIN, &version, &acme),
        b.start_canary(&actor, PLUGIN, &version, &initech)
    );
    assert!(
        first.is_ok() != second.is_ok(),
        "exactly one wins: {first:?} / {second:?}"
    );
    let loser = first.err().or(second.err()).unwrap();
    assert_eq!((loser.code(), loser.status()), ("conflict", 409));
    p.wait();
    let (first, second) = futures::join!(
        a.promote(&actor, PLUGIN, &version, "a"),
        b.rollback(&actor, PLUGIN, &version, "b")
    );
    assert!(
        first.is_ok() != second.is_ok(),
        "exactly one wins: {first:?} / {second:?}"
    );
    assert!(p.operator.verify_audit(&ops()).await.unwrap().is_ok());
}

#[tokio::test]
async fn the_built_in_monitor_judges_recorded_traffic_and_goes_on_after_a_restart() {
    let p = platform();
    p.publish("1.0.0").await.unwrap();
    let version = v("1.0.0");
    p.operator
        .start_canary(&ops(), PLUGIN, &version, &[Name::parse("acme").unwrap()])
        .await
        .unwrap();
    let plugin = Name::parse(PLUGIN).unwrap();
    let (acme, globex) = (Name::parse("acme").unwrap(), Name::parse("globex").unwrap());
    p.operator
        .record_traffic(&acme, &plugin, "host-1", 1000, 100)
        .await
        .unwrap();
    p.operator
        .record_traffic(&globex, &plugin, "host-1", 5000, 10)
        .await
        .unwrap();
    p.clock.advance(Duration::from_secs(3600));
    let first = p
        .operator
        .judge_rollout(PLUGIN, &version, &OperatorHealthMonitor::new(p.operator.clone()))
        .await
        .unwrap();
    assert_eq!(first.windows[0].counts.canary, Counts::new(1000, 100));
    assert_eq!(first.windows[0].verdict, Verdict::Breach);

    // Another process judges the next window: only what was added since counts.
    let restarted = operator(&p, false, false);
    restarted
        .record_traffic(&acme, &plugin, "host-1", 1000, 1)
        .await
        .unwrap();
    restarted
        .record_traffic(&globex, &plugin, "host-1", 5000, 10)
        .await
        .unwrap();
    p.clock.advance(Duration::from_secs(3600));
    let second = restarted
        .judge_rollout(PLUGIN, &version, &OperatorHealthMonitor::new(restarted.clone()))
        .await
        .unwrap();
    assert_eq!(second.windows[1].counts.canary, Counts::new(1000, 1));
    assert_eq!(second.windows[1].counts.baseline, Counts::new(5000, 10));
    assert_eq!(
        (second.windows[1].verdict, second.breaches_in_a_row),
        (Verdict::Pass, 0)
    );
}

#[tokio::test]
async fn the_built_in_monitor_judges_overdue_windows_as_one() {
    let p = platform();
    p.publish("1.0.0").await.unwrap();
    let version = v("1.0.0");
    let acme = Name::parse("acme").unwrap();
    p.operator
        .start_canary(&ops(), PLUGIN, &version, std::slice::from_ref(&acme))
        .await
        .unwrap();
    let started = p.operator.rollout(&ops(), PLUGIN, &version).await.unwrap();
    let window = started.judge.window;
    let plugin = Name::parse(PLUGIN).unwrap();
    let globex = Name::parse("globex").unwrap();
    p.operator
        .record_traffic(&acme, &plugin, "host-1", 1000, 1)
        .await
        .unwrap();
    p.operator
        .record_traffic(&globex, &plugin, "host-1", 5000, 10)
        .await
        .unwrap();
    // The judge comes back three and a half windows later: the three that ended are one window, with all the
    // traffic; the half window is left for later.
    p.clock.advance(window * 7 / 2);
    let judged = p
        .operator
        .judge_rollout(PLUGIN, &version, &OperatorHealthMonitor::new(p.operator.clone()))
        .await
        .unwrap();
    assert_eq!(judged.state, RolloutState::Canary, "not paused by empty windows");
    assert_eq!(judged.windows.len(), 1);
    let only = &judged.windows[0];
    assert_eq!(only.to, only.from + window * 3);
    assert_eq!(
        (only.counts.canary, only.verdict),
        (Counts::new(1000, 1), Verdict::Pass)
    );
}

#[tokio::test]
async fn the_built_in_monitor_saturates_instead_of_overflowing() {
    let p = platform();
    let plugin = Name::parse(PLUGIN).unwrap();
    for tenant in ["globex", "initech"] {
        p.operator
            .record_traffic(&Name::parse(tenant).unwrap(), &plugin, "host-1", u64::MAX, u64::MAX)
            .await
            .unwrap();
    }
    let query = WindowQuery {
        plugin,
        canary_version: v("1.0.0"),
        canary_tenants: vec![Name::parse("acme").unwrap()],
        from: p.operator.clock().now(),
        to: p.operator.clock().now(),
        cursor: None,
    };
    let reading = OperatorHealthMonitor::new(p.operator.clone())
        .window(&query)
        .await
        .unwrap();
    assert_eq!(reading.counts.baseline, Counts::new(u64::MAX, u64::MAX));
    assert_eq!(reading.counts.canary, Counts::new(0, 0));
}

#[tokio::test]
async fn judge_settings_that_cannot_work_are_refused() {
    let p = platform();
    let (bytes, signed) = p.signed("1.0.0", false);
    let options = PublishOptions {
        judge: JudgeConfig {
            window: Duration::ZERO,
            ..JudgeConfig::default()
        },
        ..PublishOptions::default()
    };
    let refused = p
        .operator
        .publish(&ops(), "acme", &bytes, &signed, options)
        .await
        .unwrap_err();
    assert_eq!((refused.code(), refused.status()), ("invalid_options", 422));
    assert!(p.operator.rollouts(&ops(), false).await.unwrap().is_empty());
}
