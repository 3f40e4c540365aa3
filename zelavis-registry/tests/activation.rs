//! Activation rules, one test per rule: which plugins run and in which order, why the others are skipped, how
//! children attach, how failures are isolated, permissions, transactional registration, migrations, contracts,
//! the report and the loaders.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::executor::block_on;
use zelavis_registry::loader::LoadRegistryError;
use zelavis_registry::prelude::*;

/// What the test parents hand their children.
#[derive(Debug, Default)]
struct ListApi {
    items: Vec<String>,
}

/// The open point of `shop`.
const SHOP_PAYMENTS: ExtensionPointRef<ListApi> = ExtensionPointRef::new("shop", "payments");
/// A point `shop` does not declare.
const SHOP_REFUNDS: ExtensionPointRef<ListApi> = ExtensionPointRef::new("shop", "refunds");
/// The reviewed point of `gated`.
const GATED_PAYMENTS: ExtensionPointRef<ListApi> = ExtensionPointRef::new("gated", "payments");
/// A point of a parent that is never in the registry.
const GHOST_PAYMENTS: ExtensionPointRef<ListApi> = ExtensionPointRef::new("ghost", "payments");

const PING: HookRef<u32> = HookRef::new("test.ping");

fn plain(name: &str) -> PluginDef {
    PluginDef::builder(name).version("1.0.0").build().unwrap()
}

fn depending(name: &str, dependency: &str, requirement: Option<&str>) -> PluginDef {
    PluginDef::builder(name)
        .version("1.0.0")
        .dependency(dependency, requirement)
        .build()
        .unwrap()
}

fn failing(name: &str) -> PluginDef {
    PluginDef::builder(name)
        .version("1.0.0")
        .setup(|_| Err(SetupError::msg("setup refused")))
        .build()
        .unwrap()
}

/// A parent that applies `point` and publishes the children's list as service `<parent>-items`.
fn extending_parent(point: &'static ExtensionPointRef<ListApi>, decl: ExtensionPointDecl) -> PluginDef {
    PluginDef::builder(point.plugin())
        .version("1.0.0")
        .extension_point(decl)
        .permission(Permission::ServicesRegister)
        .setup_async(move |cx| async move {
            let mut api = ListApi::default();
            cx.extend(point, &mut api).await?;
            cx.register_service(ServiceDef::new(Name::parse(&format!("{}-items", point.plugin()))?).value(api))?;
            Ok(())
        })
        .build()
        .unwrap()
}

fn shop() -> PluginDef {
    extending_parent(&SHOP_PAYMENTS, SHOP_PAYMENTS.declare().policy(Policy::Open))
}

fn child(name: &'static str, point: &ExtensionPointRef<ListApi>) -> PluginDef {
    PluginDef::builder(name)
        .version("1.0.0")
        .extends(point.with_setup(move |api, _| {
            api.items.push(name.to_owned());
            Ok(())
        }))
        .build()
        .unwrap()
}

fn start(entries: impl IntoIterator<Item = RegistryEntry>) -> (Runtime, ActivationReport) {
    block_on(Runtime::builder(PluginRegistry::new(entries).unwrap()).start()).unwrap()
}

fn names(list: &[&Name]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

fn active(runtime: &Runtime) -> Vec<String> {
    block_on(runtime.active()).iter().map(ToString::to_string).collect()
}

fn skip_reason<'r>(report: &'r ActivationReport, name: &str) -> &'r SkipReason {
    match report.outcome(name) {
        Some(Outcome::Skipped { reason }) => reason,
        other => panic!("{name} should be skipped, got {other:?}\n{report}"),
    }
}

fn fail_reason<'r>(report: &'r ActivationReport, name: &str) -> &'r FailReason {
    match report.outcome(name) {
        Some(Outcome::Failed { reason }) => reason,
        other => panic!("{name} should have failed, got {other:?}\n{report}"),
    }
}

/// The children's list a parent published as `service`.
fn items(runtime: &Runtime, service: &str) -> Vec<String> {
    runtime.services().value::<ListApi>(service).unwrap().items.clone()
}

fn n(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn service_plugin(name: &str, service: &'static str) -> PluginDef {
    PluginDef::builder(name)
        .version("1.0.0")
        .permission(Permission::ServicesRegister)
        .setup(move |cx| {
            cx.register_service(ServiceDef::new(Name::parse(service)?))?;
            Ok(())
        })
        .build()
        .unwrap()
}

#[test]
fn only_installed_plugins_run() {
    let (runtime, report) = start([
        RegistryEntry::installed(service_plugin("on", "on-service")),
        RegistryEntry::available(service_plugin("off", "off-service")),
    ]);
    assert!(runtime.services().get("on-service").is_some());
    assert!(runtime.services().get("off-service").is_none());
    assert!(report.get("off").is_none(), "{report}");
    assert_eq!(active(&runtime), ["on"]);
}

#[test]
fn explicit_order_then_missing_order_last_ties_keep_registry_order() {
    let (runtime, report) = start([
        RegistryEntry::installed(plain("x")),
        RegistryEntry::installed(plain("a")).order(2),
        RegistryEntry::installed(plain("b")).order(1),
        RegistryEntry::installed(plain("c")).order(1),
        RegistryEntry::installed(plain("d")),
        RegistryEntry::installed(plain("e")).order(0),
    ]);
    assert_eq!(names(&report.activated()), ["e", "b", "c", "a", "x", "d"]);
    assert_eq!(active(&runtime), ["e", "b", "c", "a", "x", "d"]);
}

#[test]
fn dependencies_run_first_regardless_of_order() {
    let (_, report) = start([
        RegistryEntry::installed(depending("app", "db", None)).order(0),
        RegistryEntry::installed(plain("other")).order(1),
        RegistryEntry::installed(depending("cache", "db", None)).order(2),
        RegistryEntry::installed(plain("db")).order(9),
    ]);
    let order = names(&report.activated());
    let at = |name: &str| order.iter().position(|n| n == name).unwrap();
    assert_eq!(order.len(), 4, "{report}");
    assert!(at("db") < at("app"), "{order:?}");
    assert!(at("db") < at("cache"), "{order:?}");
    assert!(
        at("app") < at("cache"),
        "order still decides among ready plugins: {order:?}"
    );
}

#[test]
fn dependency_cycle_skips_the_plugins_on_it_and_names_the_cycle() {
    let (runtime, report) = start([
        RegistryEntry::installed(depending("a", "b", None)),
        RegistryEntry::installed(depending("b", "a", None)),
        RegistryEntry::installed(depending("behind", "a", None)),
        RegistryEntry::installed(plain("free")),
    ]);
    assert_eq!(
        skip_reason(&report, "a"),
        &SkipReason::DependencyCycle {
            cycle: vec![n("a"), n("b"), n("a")]
        }
    );
    assert_eq!(
        skip_reason(&report, "b"),
        &SkipReason::DependencyCycle {
            cycle: vec![n("b"), n("a"), n("b")]
        }
    );
    assert!(skip_reason(&report, "a").to_string().contains("a -> b -> a"));
    assert_eq!(
        skip_reason(&report, "behind"),
        &SkipReason::DependencyInactive { dependency: n("a") }
    );
    assert_eq!(active(&runtime), ["free"]);
}

#[test]
fn missing_dependency_is_reported() {
    let (_, report) = start([
        RegistryEntry::installed(depending("app", "ghost", None)),
        RegistryEntry::installed(plain("other")),
    ]);
    assert_eq!(
        skip_reason(&report, "app"),
        &SkipReason::DependencyMissing { dependency: n("ghost") }
    );
    assert_eq!(report.outcome("other"), Some(&Outcome::Activated));
}

#[test]
fn dependency_not_installed_is_reported() {
    let (_, report) = start([
        RegistryEntry::installed(depending("app", "db", None)),
        RegistryEntry::available(plain("db")),
    ]);
    assert_eq!(
        skip_reason(&report, "app"),
        &SkipReason::DependencyNotInstalled { dependency: n("db") }
    );
}

#[test]
fn unmet_version_requirement_is_reported() {
    let (_, report) = start([
        RegistryEntry::installed(depending("app", "db", Some("^2"))),
        RegistryEntry::installed(plain("db")),
    ]);
    assert_eq!(
        skip_reason(&report, "app"),
        &SkipReason::DependencyVersion {
            dependency: n("db"),
            required: "^2".to_owned(),
            found: "1.0.0".to_owned(),
        }
    );
    assert_eq!(report.outcome("db"), Some(&Outcome::Activated));
}

#[test]
fn dependents_of_a_failed_plugin_are_skipped() {
    let (runtime, report) = start([
        RegistryEntry::installed(failing("db")),
        RegistryEntry::installed(depending("app", "db", None)),
        RegistryEntry::installed(depending("ui", "app", None)),
        RegistryEntry::installed(plain("other")),
    ]);
    assert!(matches!(fail_reason(&report, "db"), FailReason::Setup { .. }));
    assert_eq!(
        skip_reason(&report, "app"),
        &SkipReason::DependencyInactive { dependency: n("db") }
    );
    assert_eq!(
        skip_reason(&report, "ui"),
        &SkipReason::DependencyInactive { dependency: n("app") }
    );
    assert_eq!(active(&runtime), ["other"]);
}

#[test]
fn accepted_children_are_applied_by_the_parent_in_registry_order() {
    let (runtime, report) = start([
        RegistryEntry::installed(child("stripe", &SHOP_PAYMENTS)),
        RegistryEntry::installed(shop()),
        RegistryEntry::installed(child("paypal", &SHOP_PAYMENTS)),
        RegistryEntry::installed(child("adyen", &SHOP_PAYMENTS)),
    ]);
    assert!(report.all_activated(), "{report}");
    assert_eq!(items(&runtime, "shop-items"), ["stripe", "paypal", "adyen"]);
    assert_eq!(report.get("paypal").unwrap().parent, Some((n("shop"), n("payments"))));
}

#[test]
fn child_refused_by_policy_is_rejected() {
    let gated = extending_parent(
        &GATED_PAYMENTS,
        GATED_PAYMENTS.declare().policy(Policy::Reviewed).allow("good"),
    );
    let (runtime, report) = start([
        RegistryEntry::installed(gated),
        RegistryEntry::installed(child("good", &GATED_PAYMENTS)),
        RegistryEntry::installed(child("bad", &GATED_PAYMENTS)),
    ]);
    assert!(
        matches!(
            skip_reason(&report, "bad"),
            SkipReason::ChildRejected {
                error: AttachError::Refused {
                    policy: Policy::Reviewed,
                    ..
                }
            }
        ),
        "{report}"
    );
    assert_eq!(items(&runtime, "gated-items"), ["good"]);
    assert_eq!(block_on(runtime.applied_children()), [n("good")]);
    assert!(block_on(runtime.is_active("good")) && !block_on(runtime.is_active("bad")));

    // The dashboard shows what the runtime applied: the refused child is installed but not running.
    let sources = block_on(DashboardSources::capture(&runtime));
    let marketplace = Marketplace::build(&sources, &Catalog::default(), NoController.capabilities(), &|_| false);
    let config = DashboardConfig::build("Shop", &sources, marketplace);
    let running: Vec<(&str, bool)> = config.plugins.iter().map(|p| (p.name.as_str(), p.active)).collect();
    assert_eq!(running, [("gated", true), ("good", true), ("bad", false)]);
}

#[test]
fn private_point_by_default_refuses_unlisted_children() {
    let gated = extending_parent(&GATED_PAYMENTS, GATED_PAYMENTS.declare());
    let (_, report) = start([
        RegistryEntry::installed(gated),
        RegistryEntry::installed(child("bad", &GATED_PAYMENTS)),
    ]);
    assert!(matches!(
        skip_reason(&report, "bad"),
        SkipReason::ChildRejected {
            error: AttachError::Refused {
                policy: Policy::Private,
                ..
            }
        }
    ));
}

fn rejection<'r>(report: &'r ActivationReport, name: &str) -> &'r AttachError {
    match skip_reason(report, name) {
        SkipReason::ChildRejected { error } => error,
        other => panic!("{name}: expected a child rejection, got {other:?}"),
    }
}

#[test]
fn child_whose_parent_is_missing_is_rejected() {
    let (_, report) = start([RegistryEntry::installed(child("orphan", &GHOST_PAYMENTS))]);
    assert!(matches!(
        rejection(&report, "orphan"),
        AttachError::ParentMissing { .. }
    ));
}

#[test]
fn child_whose_parent_is_not_installed_is_rejected() {
    let (_, report) = start([
        RegistryEntry::available(shop()),
        RegistryEntry::installed(child("stripe", &SHOP_PAYMENTS)),
    ]);
    assert!(matches!(
        rejection(&report, "stripe"),
        AttachError::ParentNotInstalled { .. }
    ));
}

#[test]
fn child_of_an_undeclared_point_is_rejected() {
    let (_, report) = start([
        RegistryEntry::installed(shop()),
        RegistryEntry::installed(child("refunder", &SHOP_REFUNDS)),
    ]);
    assert!(matches!(
        rejection(&report, "refunder"),
        AttachError::NoSuchExtensionPoint { .. }
    ));
    assert_eq!(report.outcome("shop"), Some(&Outcome::Activated));
}

#[test]
fn children_of_a_failed_parent_are_skipped() {
    let broken = PluginDef::builder("shop")
        .version("1.0.0")
        .extension_point(SHOP_PAYMENTS.declare().policy(Policy::Open))
        .setup(|_| Err(SetupError::msg("no database")))
        .build()
        .unwrap();
    let (_, report) = start([
        RegistryEntry::installed(broken),
        RegistryEntry::installed(child("stripe", &SHOP_PAYMENTS)),
    ]);
    assert!(matches!(fail_reason(&report, "shop"), FailReason::Setup { .. }));
    assert_eq!(
        skip_reason(&report, "stripe"),
        &SkipReason::ParentInactive { parent: n("shop") }
    );
}

#[test]

fn children_of_a_skipped_parent_are_reported() {
    let shop = PluginDef::builder("shop")
        .version("1.0.0")
        .dependency("ghost", None)
        .extension_point(SHOP_PAYMENTS.declare().policy(Policy::Open))
        .build()
        .unwrap();
    let (_, report) = start([
        RegistryEntry::installed(shop),
        RegistryEntry::installed(child("stripe", &SHOP_PAYMENTS)),
    ]);
    assert!(matches!(
        skip_reason(&report, "shop"),
        SkipReason::DependencyMissing { .. }
    ));
    assert_eq!(
        skip_reason(&report, "stripe"),
        &SkipReason::ParentInactive { parent: n("shop") }
    );
}

#[test]
fn children_of_a_parent_that_never_extends_are_not_applied() {
    let idle = PluginDef::builder("shop")
        .version("1.0.0")
        .extension_point(SHOP_PAYMENTS.declare().policy(Policy::Open))
        .setup(|_| Ok(()))
        .build()
        .unwrap();
    let (_, report) = start([
        RegistryEntry::installed(idle),
        RegistryEntry::installed(child("stripe", &SHOP_PAYMENTS)),
    ]);
    assert_eq!(report.outcome("shop"), Some(&Outcome::Activated));
    assert_eq!(
        skip_reason(&report, "stripe"),
        &SkipReason::NotApplied {
            parent: n("shop"),
            extension_point: n("payments"),
        }
    );
}

#[test]
fn failing_child_is_recorded_and_the_parent_stays_activated() {
    let broken = PluginDef::builder("broken")
        .version("1.0.0")
        .extends(SHOP_PAYMENTS.with_setup(|_, _| Err(SetupError::msg("bad credentials"))))
        .build()
        .unwrap();
    let (runtime, report) = start([
        RegistryEntry::installed(shop()),
        RegistryEntry::installed(broken),
        RegistryEntry::installed(child("stripe", &SHOP_PAYMENTS)),
    ]);
    assert_eq!(report.outcome("shop"), Some(&Outcome::Activated));
    assert!(fail_reason(&report, "broken").to_string().contains("bad credentials"));
    assert_eq!(report.outcome("stripe"), Some(&Outcome::Activated));
    assert_eq!(items(&runtime, "shop-items"), ["stripe"]);
    assert_eq!(runtime.health().of("broken").setup_failures, 1);
}

#[test]
fn children_never_appear_as_top_level_active_plugins() {
    let (runtime, report) = start([
        RegistryEntry::installed(shop()),
        RegistryEntry::installed(child("stripe", &SHOP_PAYMENTS)),
        RegistryEntry::installed(plain("other")),
    ]);
    assert!(report.all_activated(), "{report}");
    assert_eq!(active(&runtime), ["shop", "other"]);
    assert!(block_on(runtime.is_active("stripe")));
}

#[test]
fn setup_error_is_isolated() {
    let (runtime, report) = start([
        RegistryEntry::installed(failing("bad")),
        RegistryEntry::installed(plain("good")),
    ]);
    assert_eq!(
        fail_reason(&report, "bad"),
        &FailReason::Setup {
            error: SetupError::msg("setup refused")
        }
    );
    assert_eq!(active(&runtime), ["good"]);
    assert_eq!(runtime.health().of("bad").setup_failures, 1);
}

#[test]
fn sync_panic_is_isolated() {
    let panicking = PluginDef::builder("bad")
        .version("1.0.0")
        .setup(|_| panic!("tracking id missing"))
        .build()
        .unwrap();
    let (runtime, report) = start([
        RegistryEntry::installed(panicking),
        RegistryEntry::installed(plain("good")),
    ]);
    assert_eq!(
        fail_reason(&report, "bad"),
        &FailReason::Panicked {
            message: "tracking id missing".to_owned()
        }
    );
    assert_eq!(active(&runtime), ["good"]);
}

#[tokio::test]
async fn async_panic_after_an_await_is_isolated() {
    let panicking = PluginDef::builder("bad")
        .version("1.0.0")
        .setup_async(|_| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            panic!("lost connection");
        })
        .build()
        .unwrap();
    let registry = PluginRegistry::new([
        RegistryEntry::installed(panicking),
        RegistryEntry::installed(plain("good")),
    ])
    .unwrap();
    let (runtime, report) = Runtime::builder(registry).start().await.unwrap();
    assert_eq!(
        fail_reason(&report, "bad"),
        &FailReason::Panicked {
            message: "lost connection".to_owned()
        }
    );
    assert_eq!(runtime.active().await, [n("good")]);
}

#[tokio::test]
async fn timeout_is_isolated() {
    let slow = PluginDef::builder("slow")
        .version("1.0.0")
        .permission(Permission::ServicesRegister)
        .setup_async(|cx| async move {
            cx.register_service(ServiceDef::new(Name::parse("slow-service")?))?;
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        })
        .build()
        .unwrap();
    let registry =
        PluginRegistry::new([RegistryEntry::installed(slow), RegistryEntry::installed(plain("good"))]).unwrap();
    let options = ActivationOptions::default().timeout(Duration::from_millis(50));
    let refused = Runtime::builder(registry.clone())
        .options(options.clone())
        .start()
        .await;
    assert_eq!(
        refused.err(),
        Some(RuntimeError::NoTimer { after_ms: 50 }),
        "a timeout needs a timer"
    );
    let started = std::time::Instant::now();
    let (runtime, report) = Runtime::builder(registry)
        .options(options)
        .timer(TokioTimer)
        .start()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fail_reason(&report, "slow"), &FailReason::TimedOut { after_ms: 50 });
    assert!(runtime.services().get("slow-service").is_none());
    assert_eq!(runtime.active().await, [n("good")]);
}

#[test]
fn strict_mode_refuses_an_undeclared_permission() {
    let sneaky = PluginDef::builder("sneaky")
        .version("1.0.0")
        .setup(|cx| {
            cx.register_service(ServiceDef::new(Name::parse("sneaky-service")?))?;
            Ok(())
        })
        .build()
        .unwrap();
    let (runtime, report) = start([RegistryEntry::installed(sneaky)]);
    let reason = fail_reason(&report, "sneaky").to_string();
    assert!(reason.contains("services.register"), "{reason}");
    assert!(runtime.services().get("sneaky-service").is_none());
}

#[test]
fn lenient_mode_lets_an_undeclared_permission_through() {
    let sneaky = PluginDef::builder("sneaky")
        .version("1.0.0")
        .setup(|cx| {
            cx.register_service(ServiceDef::new(Name::parse("sneaky-service")?))?;
            Ok(())
        })
        .build()
        .unwrap();
    let registry = PluginRegistry::new([RegistryEntry::installed(sneaky)]).unwrap();
    let options = ActivationOptions::default().permission_mode(PermissionMode::Lenient);
    let (runtime, report) = block_on(Runtime::builder(registry).options(options).start()).unwrap();
    assert!(report.all_activated(), "{report}");
    assert!(runtime.services().get("sneaky-service").is_some());
}

#[test]
fn failed_setup_leaves_no_registration_behind() {
    let flaky = PluginDef::builder("flaky")
        .version("1.0.0")
        .permissions([
            Permission::ServicesRegister,
            Permission::RoutesRegister,
            Permission::HooksSubscribe,
        ])
        .setup(|cx| {
            cx.register_service(ServiceDef::new(Name::parse("flaky-service")?))?;
            cx.register_route(Route::new(http::Method::GET, "/items", |_| async {
                Ok(RouteResponse::new(Vec::new()))
            })?)?;
            cx.subscribe(Subscription::hook_sync(&PING, 0, |_| Ok(())))?;
            Err(SetupError::msg("late failure"))
        })
        .build()
        .unwrap();
    let (runtime, report) = start([RegistryEntry::installed(flaky)]);
    assert!(matches!(fail_reason(&report, "flaky"), FailReason::Setup { .. }));
    assert!(runtime.services().is_empty());
    assert!(runtime.routes().is_empty());
    assert!(runtime.bus().subscriptions_of(&n("flaky")).is_empty());
    assert_eq!(block_on(runtime.bus().emit(&PING, 1)).ran, 0);
}

#[test]
fn reserved_core_service_names_are_refused() {
    let (runtime, report) = start([RegistryEntry::installed(service_plugin("impostor", "auth"))]);
    let reason = fail_reason(&report, "impostor").to_string();
    assert!(reason.contains("reserved"), "{reason}");
    assert!(runtime.services().get("auth").is_none());
}

#[test]
fn migrations_run_once_across_disable_and_enable() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let migrating = PluginDef::builder("orders")
        .version("1.0.0")
        .permission(Permission::MigrationsRegister)
        .setup(move |cx| {
            let counter = counter.clone();
            cx.register_migration(Migration::new("001", move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })?)?;
            Ok(())
        })
        .build()
        .unwrap();
    let (runtime, report) = start([RegistryEntry::installed(migrating)]);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(report.get("orders").unwrap().migrations, ["001"]);

    block_on(runtime.disable("orders", Cascade::No)).unwrap();
    let again = block_on(runtime.enable("orders")).unwrap();
    assert_eq!(again.outcome("orders"), Some(&Outcome::Activated), "{again}");
    assert!(again.get("orders").unwrap().migrations.is_empty());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn unsupported_contract_is_skipped() {
    let future = PluginDef::builder("future")
        .version("1.0.0")
        .contract(ContractVersion::new(1, 9, 0))
        .build()
        .unwrap();
    let (runtime, report) = start([RegistryEntry::installed(future), RegistryEntry::installed(plain("now"))]);
    let SkipReason::ContractUnsupported { error } = skip_reason(&report, "future") else {
        panic!("expected ContractUnsupported\n{report}");
    };
    assert!(matches!(error, ContractError::NewerMinor { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("1.9.0") && message.contains("1.0.0"), "{message}");
    assert_eq!(active(&runtime), ["now"]);
}

/// A report with every outcome kind: activated (with registrations and migrations), failed, skipped, children.
fn mixed_report() -> ActivationReport {
    let busy = PluginDef::builder("busy")
        .version("1.0.0")
        .permissions([
            Permission::ServicesRegister,
            Permission::HooksSubscribe,
            Permission::MigrationsRegister,
        ])
        .setup(|cx| {
            cx.register_service(ServiceDef::new(Name::parse("busy-service")?))?;
            cx.subscribe(Subscription::hook_sync(&PING, 0, |_| Ok(())))?;
            cx.register_migration(Migration::new("001", || async { Ok(()) })?)?;
            Ok(())
        })
        .build()
        .unwrap();
    let panicking = PluginDef::builder("panicky")
        .version("1.0.0")
        .setup(|_| panic!("oops"))
        .build()
        .unwrap();
    start([
        RegistryEntry::installed(busy),
        RegistryEntry::installed(failing("refused")),
        RegistryEntry::installed(panicking),
        RegistryEntry::installed(depending("a", "b", None)),
        RegistryEntry::installed(depending("b", "a", None)),
        RegistryEntry::installed(depending("needy", "ghost", Some("^1"))),
        RegistryEntry::installed(shop()),
        RegistryEntry::installed(child("stripe", &SHOP_PAYMENTS)),
        RegistryEntry::installed(child("orphan", &GHOST_PAYMENTS)),
    ])
    .1
}

#[test]
fn report_round_trips_through_serde() {
    let report = mixed_report();
    let json = serde_json::to_string(&report).unwrap();
    let back: ActivationReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report, "{json}");
}

#[test]
fn report_display_names_every_plugin_and_outcome() {
    let report = mixed_report();
    let text = report.to_string();
    for line in report.plugins() {
        assert!(text.contains(line.name.as_str()), "{} missing from\n{text}", line.name);
    }
    for word in ["activated", "failed", "skipped", "a -> b -> a", "setup panicked: oops"] {
        assert!(text.contains(word), "{word:?} missing from\n{text}");
    }
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), report.len() + 1, "a header and one line per plugin");
}

fn loader() -> StaticLoader {
    StaticLoader::new()
        .with("@acme/a", || PluginDef::builder("a").version("1.0.0").build())
        .with("@acme/b", || PluginDef::builder("b").version("1.0.0").build())
        .with("@acme/c", || PluginDef::builder("c").version("1.0.0").build())
}

fn request(name: &str, specifier: &str) -> InstallRecord {
    InstallRecord::new(n(name), Status::Installed).specifier(specifier)
}

#[test]
fn load_registry_keeps_record_order_and_each_record() {
    let registry = block_on(load_registry(
        &loader(),
        vec![
            request("c", "@acme/c"),
            request("a", "@acme/a").status(Status::Available),
            request("b", "@acme/b").order(3),
        ],
    ))
    .unwrap();
    let rows: Vec<(String, Status, Option<String>)> = registry
        .iter()
        .map(|e| (e.name().to_string(), e.status(), e.record().specifier.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("c".to_owned(), Status::Installed, Some("@acme/c".to_owned())),
            ("a".to_owned(), Status::Available, Some("@acme/a".to_owned())),
            ("b".to_owned(), Status::Installed, Some("@acme/b".to_owned())),
        ]
    );
    assert_eq!(registry.get("b").unwrap().record().order, Some(3));
    // The state the registry writes back is the records it was loaded from.
    assert_eq!(registry.serialize_state().records[2], request("b", "@acme/b").order(3));
}

#[test]
fn loader_errors_are_typed() {
    let loader = loader();
    assert!(matches!(block_on(loader.load("")), Err(LoadError::EmptySpecifier)));
    assert!(matches!(block_on(loader.load("   ")), Err(LoadError::EmptySpecifier)));
    assert_eq!(
        block_on(loader.load("@acme/zzz")).unwrap_err(),
        LoadError::NotFound {
            specifier: "@acme/zzz".into()
        }
    );
    let Err(LoadRegistryError::Load { failures }) = block_on(load_registry(
        &loader,
        vec![
            request("a", "@acme/a"),
            request("b", ""),
            request("c", "@acme/zzz"),
            request("d", "@acme/a"),
        ],
    )) else {
        panic!("load_registry should fail");
    };
    assert_eq!(failures.len(), 3);
    assert_eq!(failures[0], (1, LoadError::EmptySpecifier));
    assert!(matches!(failures[1], (2, LoadError::NotFound { .. })));
    assert_eq!(
        failures[2],
        (
            3,
            LoadError::NameMismatch {
                specifier: "@acme/a".into(),
                expected: n("d"),
                found: n("a")
            }
        )
    );
    // Without a specifier, the name is what the loader resolves.
    let by_name = StaticLoader::new().with("a", || PluginDef::builder("a").build());
    assert!(block_on(load_registry(&by_name, [InstallRecord::new(n("a"), Status::Installed)])).is_ok());
}

#[test]
fn plugin_module_precedence_is_direct_then_plugin_then_default() {
    let def = |name: &str| PluginDef::builder(name).version("1.0.0").build().unwrap();
    let resolved = |module: PluginModule| module.resolve("m").unwrap().name().to_string();
    let all = PluginModule::new()
        .default_export(def("from-default"))
        .plugin(def("from-plugin"))
        .direct(def("from-direct"));
    assert_eq!(resolved(all), "from-direct");
    let two = PluginModule::new()
        .default_export(def("from-default"))
        .plugin(def("from-plugin"));
    assert_eq!(resolved(two), "from-plugin");
    assert_eq!(
        resolved(PluginModule::new().default_export(def("from-default"))),
        "from-default"
    );

    let error = PluginModule::new().resolve("@acme/empty").unwrap_err();
    assert_eq!(
        error,
        LoadError::NoExport {
            specifier: "@acme/empty".into()
        }
    );
    let message = error.to_string();
    for shape in ["directly", "`plugin`", "`default`", "@acme/empty"] {
        assert!(message.contains(shape), "{shape:?} missing from {message:?}");
    }
}

#[test]
fn refusals_stay_typed_through_json() {
    let report = mixed_report();
    let json = serde_json::to_value(&report).unwrap();
    let line = |name: &str| {
        json["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    // A policy refusal names child, parent, point and policy as fields, not in a sentence.
    let orphan = line("orphan");
    assert_eq!(orphan["outcome"], "skipped");
    assert_eq!(orphan["reason"]["kind"], "child-rejected");
    assert_eq!(orphan["reason"]["error"]["error"], "parent-missing");
    assert_eq!(orphan["reason"]["error"]["child"], "orphan");
    // A setup error keeps its kind.
    let refused = line("refused");
    assert_eq!(refused["reason"]["kind"], "setup");
    assert_eq!(refused["reason"]["error"]["error"], "message");
    assert_eq!(refused["reason"]["error"]["detail"], "setup refused");
    let needy = line("needy");
    assert_eq!(needy["reason"]["kind"], "dependency-missing");
    assert_eq!(needy["reason"]["dependency"], "ghost");
}

const HOST: ExtensionPointRef<ListApi> = ExtensionPointRef::new("host", "slot");

#[test]
fn a_registration_conflict_is_typed() {
    let (_, report) = start([
        RegistryEntry::installed(service_plugin("first", "shared")),
        RegistryEntry::installed(service_plugin("second", "shared")),
    ]);
    // Seen while `second` sets up: the context refuses it, typed.
    assert!(
        matches!(
            fail_reason(&report, "second"),
            FailReason::Setup {
                error: SetupError::Service(ServiceError::Duplicate { .. })
            }
        ),
        "{report}"
    );

    // Found only at commit: a child registering what its parent registered in the same setup.
    let host = PluginDef::builder("host")
        .extension_point(HOST.declare().policy(Policy::Open))
        .permission(Permission::ServicesRegister)
        .setup_async(|cx| async move {
            cx.register_service(ServiceDef::new(Name::parse("shared")?))?;
            let mut api = ListApi::default();
            cx.extend(&HOST, &mut api).await?;
            Ok(())
        })
        .build()
        .unwrap();
    let greedy = PluginDef::builder("greedy")
        .permission(Permission::ServicesRegister)
        .extends(HOST.with_setup(|_, cx| cx.register_service(ServiceDef::new(Name::parse("shared")?))))
        .build()
        .unwrap();
    let (_, report) = start([RegistryEntry::installed(host), RegistryEntry::installed(greedy)]);
    assert_eq!(
        fail_reason(&report, "greedy"),
        &FailReason::Registration {
            conflict: RegistrationConflict::ServiceTaken {
                service: n("shared"),
                owner: Some(n("host")),
            }
        },
        "{report}"
    );
    assert_eq!(report.outcome("host"), Some(&Outcome::Activated));
}
