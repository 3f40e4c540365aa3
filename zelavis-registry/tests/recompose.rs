//! Exact recomposition: one change sets every plugin up at most once, tears down only what it must, reports one
//! final line per plugin it touched, and leaves the runtime exactly as a fresh start on the new state would.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use proptest::prelude::{Just, ProptestConfig, any, prop_assert, prop_assert_eq, proptest};
use proptest::strategy::Strategy as _;
use zelavis_registry::prelude::*;
use zelavis_registry::store::memory::MemoryStore;
use zelavis_registry::store::update_state;

#[derive(Debug, Default)]
struct Api {
    providers: Vec<String>,
}

const PAYMENTS: ExtensionPointRef<Api> = ExtensionPointRef::new("shop", "payments");
const PROVIDERS: ServiceRef<Api> = ServiceRef::new("providers");

/// Counts setups and teardowns per plugin.
#[derive(Clone, Default)]
struct Probe(Arc<Mutex<HashMap<String, (usize, usize)>>>);

impl Probe {
    fn setup(&self, name: &str) {
        self.0.lock().unwrap().entry(name.to_owned()).or_default().0 += 1;
    }

    fn teardown(&self, name: &str) {
        self.0.lock().unwrap().entry(name.to_owned()).or_default().1 += 1;
    }

    /// `(setups, teardowns)` of `name` since the last reset.
    fn of(&self, name: &str) -> (usize, usize) {
        self.0.lock().unwrap().get(name).copied().unwrap_or_default()
    }

    fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// The family: `shop` (an open point `payments`) with children `stripe` and `paypal`; a chain `base` <- `app` <-
/// `ui`; and `solo`, alone.
const NAMES: [&str; 7] = ["shop", "stripe", "paypal", "base", "app", "ui", "solo"];

fn def(probe: &Probe, name: &'static str) -> PluginDef {
    let (p, q) = (probe.clone(), probe.clone());
    let builder = PluginDef::builder(name).version("1.0.0").teardown(move || {
        q.teardown(name);
        Ok(())
    });
    match name {
        "shop" => builder
            .extension_point(PAYMENTS.declare().policy(Policy::Open))
            .permission(Permission::ServicesRegister)
            .setup_async(move |cx| {
                let p = p.clone();
                async move {
                    p.setup("shop");
                    let mut api = Api::default();
                    cx.extend(&PAYMENTS, &mut api).await?;
                    cx.provide(&PROVIDERS, api)
                }
            }),
        "stripe" | "paypal" => builder.extends(PAYMENTS.with_setup(move |api, _| {
            p.setup(name);
            api.providers.push(name.to_owned());
            Ok(())
        })),
        _ => {
            let builder = match name {
                "app" => builder.dependency("base", None),
                "ui" => builder.dependency("app", None),
                _ => builder,
            };
            builder.setup(move |_| {
                p.setup(name);
                Ok(())
            })
        }
    }
    .build()
    .unwrap()
}

/// A registry of the family in `order` (indices into [`NAMES`]), each installed as `installed` says.
fn registry(probe: &Probe, order: &[usize], installed: &[bool]) -> PluginRegistry {
    PluginRegistry::new(order.iter().map(|&i| {
        let status = if installed[i] {
            Status::Installed
        } else {
            Status::Available
        };
        RegistryEntry::new(def(probe, NAMES[i]), status)
    }))
    .unwrap()
}

fn state(installed: &[bool]) -> RegistryState {
    RegistryState::new(
        NAMES
            .iter()
            .zip(installed)
            .map(|(name, on)| {
                InstallRecord::new(
                    Name::parse(name).unwrap(),
                    if *on { Status::Installed } else { Status::Available },
                )
            })
            .collect(),
    )
}

/// What is live: every plugin's activity and the providers the shop received.
fn live(runtime: &Runtime) -> (BTreeMap<&'static str, bool>, Vec<String>) {
    let active = NAMES.iter().map(|n| (*n, block_on(runtime.is_active(n)))).collect();
    let mut providers = runtime
        .services()
        .value_of(&PROVIDERS)
        .map(|api| api.providers.clone())
        .unwrap_or_default();
    providers.sort();
    (active, providers)
}

fn start(registry: PluginRegistry) -> Runtime {
    block_on(Runtime::builder(registry).start()).unwrap().0
}

fn assert_one_line_per_plugin(report: &ActivationReport) {
    let mut seen = BTreeSet::new();
    for line in report.plugins() {
        assert!(seen.insert(line.name.clone()), "{} has two lines:\n{report}", line.name);
    }
}

#[test]
fn a_parent_and_its_child_applied_together_are_each_set_up_once_in_either_order() {
    for order in [[0, 1], [1, 0]] {
        let probe = Probe::default();
        let family = [0_usize, 1];
        let entries: Vec<usize> = order.iter().map(|&i| family[i]).collect();
        let runtime = start(registry(&probe, &entries, &[false; 7]));
        probe.reset();
        let mut target = [false; 7];
        target[0] = true;
        target[1] = true;
        let change = block_on(runtime.apply_state(&state(&target))).unwrap().report;
        assert_eq!(
            (probe.of("shop"), probe.of("stripe")),
            ((1, 0), (1, 0)),
            "order {order:?}:\n{change}"
        );
        assert_eq!(change.outcome("shop"), Some(&Outcome::Activated), "{change}");
        assert_eq!(
            change.outcome("stripe"),
            Some(&Outcome::Activated),
            "no stale line:\n{change}"
        );
        assert_one_line_per_plugin(&change);
        assert_eq!(live(&runtime).1, ["stripe"]);
    }
}

#[test]
fn a_dependency_and_its_dependent_applied_together_are_each_set_up_once_in_either_order() {
    for entries in [[3, 4], [4, 3]] {
        let probe = Probe::default();
        let runtime = start(registry(&probe, &entries, &[false; 7]));
        probe.reset();
        let mut target = [false; 7];
        target[3] = true;
        target[4] = true;
        let change = block_on(runtime.apply_state(&state(&target))).unwrap().report;
        assert_eq!(
            (probe.of("base"), probe.of("app")),
            ((1, 0), (1, 0)),
            "{entries:?}:\n{change}"
        );
        assert_eq!(change.activated().len(), 2, "{change}");
        assert_one_line_per_plugin(&change);
    }
}

#[test]
fn installing_a_parent_and_its_child_in_one_call_sets_each_up_once() {
    for child_first in [false, true] {
        let probe = Probe::default();
        let runtime = start(PluginRegistry::default());
        let (shop, stripe) = (
            RegistryEntry::installed(def(&probe, "shop")),
            RegistryEntry::installed(def(&probe, "stripe")),
        );
        let entries = if child_first {
            vec![stripe, shop]
        } else {
            vec![shop, stripe]
        };
        let change = block_on(runtime.install_all(entries)).unwrap();
        assert_eq!((probe.of("shop"), probe.of("stripe")), ((1, 0), (1, 0)), "{change}");
        assert_eq!(change.outcome("stripe"), Some(&Outcome::Activated), "{change}");
        assert_one_line_per_plugin(&change);
    }
}

#[test]
fn a_follower_sync_that_brings_a_parent_and_its_child_sets_each_up_once() {
    let probe = Probe::default();
    let store = MemoryStore::new();
    let (runtime, _) = block_on(
        Runtime::builder(registry(&probe, &[1, 0], &[false; 7]))
            .store(store.clone(), Scope::Default)
            .start(),
    )
    .unwrap();
    probe.reset();
    block_on(update_state(&store, &Scope::Default, |state| {
        for name in ["stripe", "shop"] {
            state.upsert(InstallRecord::new(Name::parse(name).unwrap(), Status::Installed));
        }
    }))
    .unwrap();
    let change = block_on(runtime.follower().unwrap().sync()).unwrap().unwrap();
    assert_eq!((probe.of("shop"), probe.of("stripe")), ((1, 0), (1, 0)), "{change}");
    assert_eq!(change.outcome("stripe"), Some(&Outcome::Activated), "{change}");
    assert!(
        block_on(runtime.follower().unwrap().sync()).unwrap().is_none(),
        "nothing newer"
    );
}

#[test]
fn enabling_what_is_active_changes_nothing_and_says_so() {
    let probe = Probe::default();
    let runtime = start(registry(&probe, &[0, 1, 2, 3, 4, 5, 6], &[true; 7]));
    probe.reset();
    for name in ["shop", "stripe", "base", "app"] {
        let change = block_on(runtime.enable(name)).unwrap();
        assert_eq!(change.len(), 1, "{change}");
        assert_eq!(
            change.outcome(name),
            Some(&Outcome::Unchanged { active: true }),
            "{change}"
        );
    }
    for name in NAMES {
        assert_eq!(probe.of(name), (0, 0), "{name} was set up or torn down");
    }
}

#[test]
fn disabling_what_is_not_active_says_so() {
    let probe = Probe::default();
    let mut installed = [true; 7];
    installed[2] = false; // paypal
    installed[3] = false; // base: app and ui wait for it
    let runtime = start(registry(&probe, &[0, 1, 2, 3, 4, 5, 6], &installed));
    probe.reset();
    for name in ["paypal", "base"] {
        let change = block_on(runtime.disable(name, Cascade::No)).unwrap();
        assert_eq!(
            change.outcome(name),
            Some(&Outcome::Unchanged { active: false }),
            "{change}"
        );
        assert_eq!(change.len(), 1, "{change}");
    }
    // `app` is installed but waits for `base`: not active, so disabling it tears nothing down either.
    let change = block_on(runtime.disable("app", Cascade::No)).unwrap();
    assert_eq!(
        change.outcome("app"),
        Some(&Outcome::Unchanged { active: false }),
        "{change}"
    );
    for name in NAMES {
        assert_eq!(probe.of(name), (0, 0), "{name}");
    }
    assert_eq!(
        block_on(runtime.state()).get("app").map(|r| r.status),
        Some(Status::Available),
        "the status is still recorded"
    );
}

#[test]
fn a_child_removed_from_its_parent_is_torn_down_with_its_own_hook() {
    let probe = Probe::default();
    let runtime = start(registry(&probe, &[0, 1, 2], &[true; 7]));
    probe.reset();
    let change = block_on(runtime.disable("paypal", Cascade::No)).unwrap();
    assert_eq!(probe.of("paypal"), (0, 1), "{change}");
    assert_eq!(probe.of("shop"), (1, 1), "the parent recomposes");
    assert_eq!(probe.of("stripe"), (1, 1), "its sibling is applied again");
    assert_eq!(change.outcome("paypal"), Some(&Outcome::Deactivated { reason: None }));
    assert_one_line_per_plugin(&change);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// One `apply_state` from any installed set to any other, in any registry order, leaves the runtime exactly
    /// as a fresh start on the target would, sets up and tears down each plugin at most once, leaves untouched
    /// families alone, and reports one line per plugin.
    #[test]
    fn one_change_is_one_exact_recomposition(
        order in Just((0..7).collect::<Vec<usize>>()).prop_shuffle(),
        before in proptest::array::uniform7(any::<bool>()),
        after in proptest::array::uniform7(any::<bool>()),
    ) {
        let probe = Probe::default();
        let runtime = start(registry(&probe, &order, &before));
        probe.reset();
        let change = block_on(runtime.apply_state(&state(&after))).unwrap().report;

        let fresh = start(registry(&Probe::default(), &order, &after));
        prop_assert_eq!(live(&runtime), live(&fresh), "{}", change);
        for name in NAMES {
            let (setups, teardowns) = probe.of(name);
            prop_assert!(setups <= 1 && teardowns <= 1, "{name}: {setups} setups, {teardowns} teardowns\n{change}");
        }
        // Families whose records did not change are left alone.
        let families: [&[usize]; 3] = [&[0, 1, 2], &[3, 4, 5], &[6]];
        for family in families {
            if family.iter().all(|&i| before[i] == after[i]) {
                for &i in family {
                    prop_assert_eq!(probe.of(NAMES[i]), (0, 0), "{} was touched\n{}", NAMES[i], change);
                }
            }
        }
        let mut seen = BTreeSet::new();
        for line in change.plugins() {
            prop_assert!(seen.insert(line.name.clone()), "{} has two lines\n{}", line.name, change);
            // A child reported inactive because of its parent never has a parent that ended up active.
            if let Outcome::Skipped { reason: SkipReason::ParentInactive { parent } } = &line.outcome {
                prop_assert!(!block_on(runtime.is_active(parent.as_str())), "stale line\n{}", change);
            }
        }
        // Whatever became active says so.
        for (i, name) in NAMES.iter().enumerate() {
            let now = live(&runtime).0[name];
            let was = live(&start(registry(&Probe::default(), &order, &before))).0[name];
            if now && !was {
                prop_assert_eq!(change.outcome(name), Some(&Outcome::Activated), "{}\n{}", name, change);
            }
            if !now && was {
                prop_assert!(
                    matches!(change.outcome(name), Some(Outcome::Deactivated { .. })),
                    "{name} ({i}) went down without saying so\n{change}"
                );
            }
        }
    }
}
