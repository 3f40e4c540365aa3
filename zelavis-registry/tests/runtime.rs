//! The live runtime: incremental enable, disable, install, uninstall and update; activation controllers; plugin
//! health from runtime failures; and bus dispatch running concurrently with recomposition.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use http::{Method, Request};
use zelavis_registry::prelude::*;
use zelavis_registry::runtime::RouteCallError;

/// What `shop` hands its payment providers.
#[derive(Debug, Default)]
struct PaymentsApi {
    providers: Vec<String>,
}

const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("shop", "payments");
const TICK: HookRef<u32> = HookRef::new("test.tick");
const COUNT: FilterRef<u64> = FilterRef::new("test.count");

/// Counts setup calls per plugin.
#[derive(Clone, Default)]
struct Setups(Arc<Mutex<HashMap<String, usize>>>);

impl Setups {
    fn hit(&self, name: &str) {
        *self.0.lock().unwrap().entry(name.to_owned()).or_default() += 1;
    }

    fn of(&self, name: &str) -> usize {
        self.0.lock().unwrap().get(name).copied().unwrap_or_default()
    }
}

fn counted(setups: &Setups, name: &'static str) -> PluginBuilder {
    let setups = setups.clone();
    PluginDef::builder(name).version("1.0.0").setup(move |_| {
        setups.hit(name);
        Ok(())
    })
}

fn counted_shop(setups: &Setups) -> PluginDef {
    let setups = setups.clone();
    PluginDef::builder("shop")
        .version("1.0.0")
        .extension_point(PAYMENTS.declare().policy(Policy::Open))
        .permission(Permission::ServicesRegister)
        .setup_async(move |cx| {
            let setups = setups.clone();
            async move {
                setups.hit("shop");
                let mut api = PaymentsApi::default();
                cx.extend(&PAYMENTS, &mut api).await?;
                cx.register_service(ServiceDef::new(Name::parse("payment-providers")?).value(api))?;
                Ok(())
            }
        })
        .build()
        .unwrap()
}

fn provider(setups: &Setups, name: &'static str) -> PluginDef {
    let setups = setups.clone();
    PluginDef::builder(name)
        .version("1.0.0")
        .extends(PAYMENTS.with_setup(move |api, _| {
            setups.hit(name);
            api.providers.push(name.to_owned());
            Ok(())
        }))
        .build()
        .unwrap()
}

fn providers(runtime: &Runtime) -> Vec<String> {
    runtime
        .services()
        .value::<PaymentsApi>("payment-providers")
        .map(|api| api.providers.clone())
        .unwrap_or_default()
}

fn start(entries: impl IntoIterator<Item = RegistryEntry>) -> (Runtime, ActivationReport) {
    block_on(Runtime::builder(PluginRegistry::new(entries).unwrap()).start()).unwrap()
}

fn active(runtime: &Runtime) -> Vec<String> {
    block_on(runtime.active()).iter().map(ToString::to_string).collect()
}

fn n(text: &str) -> Name {
    Name::parse(text).unwrap()
}

#[test]
fn disabling_a_child_recomposes_only_its_parent() {
    let setups = Setups::default();
    let (runtime, report) = start([
        RegistryEntry::installed(counted_shop(&setups)),
        RegistryEntry::installed(provider(&setups, "stripe")),
        RegistryEntry::installed(provider(&setups, "paypal")),
        RegistryEntry::installed(counted(&setups, "inventory").dependency("shop", None).build().unwrap()),
        RegistryEntry::installed(counted(&setups, "other").build().unwrap()),
    ]);
    assert!(report.all_activated(), "{report}");
    assert_eq!(providers(&runtime), ["stripe", "paypal"]);

    let change = block_on(runtime.disable("paypal", Cascade::No)).unwrap();
    assert_eq!(
        change.outcome("paypal"),
        Some(&Outcome::Deactivated { reason: None }),
        "{change}"
    );
    assert_eq!(providers(&runtime), ["stripe"]);
    assert!(!block_on(runtime.is_active("paypal")));
    assert_eq!(setups.of("shop"), 2, "the parent recomposes");
    assert_eq!(setups.of("stripe"), 2, "its remaining children are applied again");
    assert_eq!(setups.of("paypal"), 1);
    assert_eq!(setups.of("inventory"), 1, "dependents are not set up again");
    assert_eq!(setups.of("other"), 1);
    let mut live = active(&runtime);
    live.sort();
    assert_eq!(live, ["inventory", "other", "shop"]);

    block_on(runtime.enable("paypal")).unwrap();
    assert_eq!(providers(&runtime), ["stripe", "paypal"]);
    assert_eq!(setups.of("shop"), 3);
    assert_eq!(setups.of("inventory"), 1);
    assert_eq!(setups.of("other"), 1);
}

#[test]
fn enabling_a_plugin_activates_the_dependents_waiting_for_it() {
    let setups = Setups::default();
    let (runtime, report) = start([
        RegistryEntry::available(counted(&setups, "base").build().unwrap()),
        RegistryEntry::installed(counted(&setups, "mid").dependency("base", None).build().unwrap()),
        RegistryEntry::installed(counted(&setups, "top").dependency("mid", None).build().unwrap()),
        RegistryEntry::installed(counted(&setups, "other").build().unwrap()),
    ]);
    assert_eq!(active(&runtime), ["other"], "{report}");

    let change = block_on(runtime.enable("base")).unwrap();
    let activated: Vec<String> = change.activated().iter().map(ToString::to_string).collect();
    assert_eq!(activated, ["base", "mid", "top"], "{change}");
    assert_eq!(active(&runtime), ["other", "base", "mid", "top"]);
    assert_eq!(setups.of("other"), 1);
}

#[test]
fn disabling_a_plugin_with_active_dependents_needs_cascade() {
    let (runtime, _) = start([
        RegistryEntry::installed(PluginDef::builder("base").build().unwrap()),
        RegistryEntry::installed(PluginDef::builder("app").dependency("base", None).build().unwrap()),
        RegistryEntry::installed(PluginDef::builder("ui").dependency("app", None).build().unwrap()),
        RegistryEntry::installed(PluginDef::builder("other").build().unwrap()),
    ]);
    let refused = block_on(runtime.disable("base", Cascade::No)).unwrap_err();
    assert_eq!(
        refused,
        RuntimeError::HasDependents {
            plugin: n("base"),
            dependents: vec![n("app"), n("ui")],
        }
    );
    assert_eq!(active(&runtime), ["base", "app", "ui", "other"]);

    let change = block_on(runtime.disable("base", Cascade::Yes)).unwrap();
    for name in ["base", "app", "ui"] {
        assert_eq!(
            change.outcome(name),
            Some(&Outcome::Deactivated { reason: None }),
            "{change}"
        );
        assert_eq!(
            block_on(runtime.registry()).get(name).unwrap().status(),
            Status::Available
        );
    }
    assert_eq!(active(&runtime), ["other"]);
}

#[test]
fn teardown_runs_on_disable() {
    let teardowns = Arc::new(AtomicUsize::new(0));
    let counter = teardowns.clone();
    let def = PluginDef::builder("cache")
        .teardown(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .build()
        .unwrap();
    let (runtime, _) = start([RegistryEntry::installed(def)]);
    assert_eq!(teardowns.load(Ordering::SeqCst), 0);
    block_on(runtime.disable("cache", Cascade::No)).unwrap();
    assert_eq!(teardowns.load(Ordering::SeqCst), 1);
}

/// A plugin registering one of everything: service, route, hook, filter and page.
fn everything(name: &'static str) -> PluginDef {
    PluginDef::builder(name)
        .version("1.0.0")
        .permissions(Permission::ALL)
        .menu(
            Menu::new("Everything")
                .path("/everything")
                .page(Page::new("home", "Home", |_| "<p>home</p>")),
        )
        .setup(move |cx| {
            cx.register_service(ServiceDef::new(Name::parse(&format!("{name}-service"))?))?;
            cx.register_route(Route::new(Method::GET, "/ping", |_| async {
                Ok(RouteResponse::new(b"pong".to_vec()))
            })?)?;
            cx.subscribe(Subscription::hook_sync(&TICK, 0, |_| Ok(())))?;
            cx.subscribe(Subscription::filter(&COUNT, 0, |v: &u64| Ok(v + 1)))?;
            Ok(())
        })
        .build()
        .unwrap()
}

#[test]
fn a_disabled_plugin_leaves_nothing_live() {
    let (runtime, report) = start([RegistryEntry::installed(everything("all"))]);
    assert!(report.all_activated(), "{report}");
    let path = "/zelavis/api/v1/plugins/all/ping";
    assert!(runtime.services().get("all-service").is_some());
    assert_eq!(runtime.routes().len(), 1);
    assert_eq!(runtime.routes()[0].path, path);
    assert!(block_on(runtime.call_route(&Method::GET, path, Request::new(vec![]))).is_ok());
    assert_eq!(block_on(runtime.bus().emit(&TICK, 1)).ran, 1);
    assert_eq!(runtime.bus().apply(&COUNT, 0).value, 1);
    assert!(runtime.render_page("all", "home").is_ok());

    block_on(runtime.disable("all", Cascade::No)).unwrap();
    assert!(runtime.services().get("all-service").is_none());
    assert!(runtime.routes().is_empty());
    assert!(matches!(
        block_on(runtime.call_route(&Method::GET, path, Request::new(vec![]))),
        Err(RouteCallError::NotFound { .. })
    ));
    assert_eq!(block_on(runtime.bus().emit(&TICK, 1)).ran, 0);
    assert_eq!(runtime.bus().apply(&COUNT, 0).value, 0);
    assert!(runtime.bus().subscriptions_of(&n("all")).is_empty());
    assert!(matches!(
        runtime.render_page("all", "home"),
        Err(PageError::NotFound { .. })
    ));
}

/// A route answering with its own name and its parameters, e.g. `by-id id=7`.
fn echo(method: Method, path: &str, tag: &'static str) -> Route {
    Route::new(method, path, move |request| async move {
        let params: Vec<String> = RouteParams::of(&request)
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        Ok(RouteResponse::new(
            format!("{tag} {}", params.join(" ")).trim_end().as_bytes().to_vec(),
        ))
    })
    .unwrap()
}

#[test]
fn routes_with_parameters_answer_with_their_values_and_the_most_specific_wins() {
    let shop = PluginDef::builder("shop")
        .permission(Permission::RoutesRegister)
        .setup(|cx| {
            cx.register_route(echo(Method::GET, "/orders/{id}", "by-id"))?;
            cx.register_route(echo(Method::GET, "/orders/new", "new"))?;
            cx.register_route(echo(Method::DELETE, "/orders/{id}", "delete"))?;
            cx.register_route(echo(Method::GET, "/orders/{id}/lines/{line}", "line"))?;
            cx.register_route(echo(Method::GET, "/files/{*rest}", "files"))?;
            cx.register_route(echo(Method::GET, "/files/{name}", "file"))?;
            Ok(())
        })
        .build()
        .unwrap();
    let (runtime, report) = start([RegistryEntry::installed(shop)]);
    assert!(report.all_activated(), "{report}");
    let call = |method: Method, path: &str| {
        let path = format!("/zelavis/api/v1/plugins/shop{path}");
        match block_on(runtime.call_route(&method, &path, Request::new(vec![]))) {
            Ok(response) => String::from_utf8(response.into_body()).unwrap(),
            Err(RouteCallError::NotFound { .. }) => "404".to_owned(),
            Err(error) => panic!("{error}"),
        }
    };
    assert_eq!(call(Method::GET, "/orders/7"), "by-id id=7");
    assert_eq!(call(Method::GET, "/orders/NW%2D1042"), "by-id id=NW-1042");
    assert_eq!(call(Method::GET, "/orders/new"), "new", "a literal beats a parameter");
    assert_eq!(call(Method::DELETE, "/orders/7"), "delete id=7");
    assert_eq!(call(Method::GET, "/orders/7/lines/2"), "line id=7 line=2");
    assert_eq!(call(Method::GET, "/files/a"), "file name=a", "a parameter beats a rest");
    assert_eq!(call(Method::GET, "/files/a/b"), "files rest=a/b");
    assert_eq!(
        call(Method::GET, "/orders/{id}"),
        "by-id id={id}",
        "braces are a value, not a pattern"
    );
    for missing in ["/orders", "/orders/", "/orders/7/lines", "/files", "/orders/%FF"] {
        assert_eq!(call(Method::GET, missing), "404", "{missing}");
    }
    assert_eq!(call(Method::POST, "/orders/7"), "404");

    block_on(runtime.disable("shop", Cascade::No)).unwrap();
    assert_eq!(
        call(Method::GET, "/orders/7"),
        "404",
        "patterns leave with their plugin"
    );
}

#[test]
fn two_routes_of_one_shape_conflict() {
    let shop = PluginDef::builder("shop")
        .permission(Permission::RoutesRegister)
        .setup(|cx| {
            cx.register_route(echo(Method::GET, "/orders/{id}", "a"))?;
            cx.register_route(echo(Method::GET, "/orders/{key}", "b"))?;
            Ok(())
        })
        .build()
        .unwrap();
    let (runtime, report) = start([RegistryEntry::installed(shop)]);
    assert!(
        matches!(
            report.outcome("shop"),
            Some(Outcome::Failed {
                reason: FailReason::Registration {
                    conflict: RegistrationConflict::RouteTaken { .. }
                }
            })
        ),
        "{report}"
    );
    assert!(runtime.routes().is_empty());
}

#[test]
fn uninstall_removes_the_plugin_from_the_registry() {
    let (runtime, _) = start([
        RegistryEntry::installed(everything("gone")),
        RegistryEntry::installed(everything("kept")),
    ]);
    block_on(runtime.uninstall("gone", Cascade::No)).unwrap();
    let registry = block_on(runtime.registry());
    assert!(registry.get("gone").is_none());
    assert!(registry.get("kept").is_some());
    assert!(runtime.services().get("gone-service").is_none());
    assert!(runtime.services().get("kept-service").is_some());
    assert_eq!(active(&runtime), ["kept"]);
    assert!(matches!(
        block_on(runtime.enable("gone")),
        Err(RuntimeError::Unknown { .. })
    ));
}

#[test]
fn install_activates_only_the_new_plugin() {
    let setups = Setups::default();
    let (runtime, _) = start([RegistryEntry::installed(counted(&setups, "old").build().unwrap())]);
    let change = block_on(runtime.install(RegistryEntry::installed(counted(&setups, "new").build().unwrap()))).unwrap();
    assert_eq!(change.outcome("new"), Some(&Outcome::Activated), "{change}");
    assert_eq!(change.len(), 1);
    assert_eq!((setups.of("old"), setups.of("new")), (1, 1));
    assert_eq!(active(&runtime), ["old", "new"]);

    let available =
        block_on(runtime.install(RegistryEntry::available(counted(&setups, "later").build().unwrap()))).unwrap();
    assert_eq!(
        available.outcome("later"),
        Some(&Outcome::Unchanged { active: false }),
        "{available}"
    );
    assert_eq!(available.len(), 1);
    assert_eq!(setups.of("later"), 0);
}

#[test]
fn update_recomposes_the_plugin_and_its_dependents_only() {
    let setups = Setups::default();
    let (runtime, _) = start([
        RegistryEntry::installed(counted(&setups, "base").build().unwrap()),
        RegistryEntry::installed(counted(&setups, "app").dependency("base", None).build().unwrap()),
        RegistryEntry::installed(counted(&setups, "other").build().unwrap()),
    ]);
    let change = block_on(runtime.update(counted(&setups, "base").version("1.1.0").build().unwrap())).unwrap();
    let last = |name: &str| {
        change
            .plugins()
            .iter()
            .rev()
            .find(|p| p.name == name)
            .map(|p| &p.outcome)
    };
    assert_eq!(last("base"), Some(&Outcome::Activated), "{change}");
    assert_eq!(last("app"), Some(&Outcome::Activated), "{change}");
    assert_eq!((setups.of("base"), setups.of("app"), setups.of("other")), (2, 2, 1));
    let registry = block_on(runtime.registry());
    assert_eq!(registry.get("base").unwrap().plugin.version().to_string(), "1.1.0");
    assert_eq!(registry.position("base"), Some(0));
    assert_eq!(active(&runtime).len(), 3);
}

#[test]
fn no_controller_answers_pending() {
    let controller = NoController;
    assert!(!controller.capabilities().supports_runtime_install);
    let answer = block_on(controller.enable(&n("anything")));
    assert_eq!(answer.state, ControllerState::Pending);
    assert!(
        answer.message.contains("no activation controller"),
        "{}",
        answer.message
    );
    let answer = block_on(controller.uninstall(&n("anything")));
    assert_eq!(answer.state, ControllerState::Pending);
}

fn controller_over(entries: impl IntoIterator<Item = RegistryEntry>) -> (Runtime, RuntimeGraphController) {
    let (runtime, _) = start(entries);
    let controller = RuntimeGraphController::new(runtime.clone());
    (runtime, controller)
}

#[test]
fn runtime_graph_controller_installs_into_the_live_runtime() {
    let (runtime, controller) = controller_over([
        RegistryEntry::available(everything("later")),
        RegistryEntry::installed(everything("now")),
    ]);
    let capabilities = controller.capabilities();
    assert_eq!(capabilities.strategy, Strategy::RuntimeGraph);
    assert!(capabilities.supports_runtime_install);

    let answer = block_on(controller.enable(&n("later")));
    assert!(
        answer
            .report
            .as_ref()
            .is_some_and(|r| r.outcome("later") == Some(&Outcome::Activated))
    );
    assert_eq!(answer.state, ControllerState::Active, "{}", answer.message);
    assert!(block_on(runtime.is_active("later")));
    assert!(runtime.services().get("later-service").is_some());
    assert_eq!(active(&runtime), ["now", "later"]);
}

#[test]
fn runtime_graph_controller_refusals_say_why_and_change_nothing() {
    let base = PluginDef::builder("base").version("1.0.0").build().unwrap();
    let app = PluginDef::builder("app")
        .version("1.0.0")
        .dependency("base", Some("^1"))
        .build()
        .unwrap();
    let (runtime, controller) = controller_over([RegistryEntry::installed(base), RegistryEntry::installed(app)]);
    let state = block_on(runtime.state());

    let answer = block_on(controller.disable(&n("base")));
    assert_eq!(answer.state, ControllerState::Refused, "{}", answer.message);
    assert_eq!(
        answer.refusal,
        Some(Refusal::HasDependents {
            dependents: vec![n("app")]
        })
    );
    assert!(answer.report.is_none());
    assert!(answer.message.contains("\"app\""), "{}", answer.message);
    let answer = block_on(controller.uninstall(&n("base")));
    assert_eq!(answer.refusal.as_ref().map(Refusal::code), Some("has_dependents"));
    assert_eq!(block_on(runtime.state()), state);
    assert_eq!(active(&runtime), ["base", "app"]);
    let base = block_on(runtime.entry("base")).unwrap();
    assert_eq!((base.is_installed(), base.record().name.as_str()), (true, "base"));
    assert!(block_on(runtime.entry("ghost")).is_none());

    let answer = block_on(controller.enable(&n("ghost")));
    assert_eq!(
        (answer.state, answer.refusal),
        (ControllerState::Refused, Some(Refusal::UnknownPlugin))
    );
    assert_eq!(
        serde_json::to_value(block_on(controller.disable(&n("base"))).refusal).unwrap(),
        serde_json::json!({ "code": "has_dependents", "dependents": ["app"] })
    );
}

#[test]
fn runtime_graph_controller_uninstalls_from_the_live_runtime() {
    let (runtime, controller) = controller_over([
        RegistryEntry::installed(everything("gone")),
        RegistryEntry::installed(everything("kept")),
    ]);
    let answer = block_on(controller.uninstall(&n("gone")));
    assert!(block_on(runtime.registry()).get("gone").is_none());
    assert!(runtime.services().get("gone-service").is_none());
    assert_eq!(active(&runtime), ["kept"]);
    assert_eq!(answer.state, ControllerState::Active, "{}", answer.message);
}

#[test]

fn runtime_graph_controller_updates_the_live_runtime() {
    let (runtime, controller) = controller_over([RegistryEntry::installed(everything("shop"))]);
    let next = PluginDef::builder("shop").version("2.0.0").build().unwrap();
    let answer = block_on(controller.update(next));
    let registry = block_on(runtime.registry());
    assert_eq!(registry.get("shop").unwrap().plugin.version().to_string(), "2.0.0");
    assert!(block_on(runtime.is_active("shop")));
    assert_eq!(answer.state, ControllerState::Active, "{}", answer.message);
}

#[test]
fn runtime_failures_are_counted_in_health() {
    let hooks = PluginDef::builder("flaky-hooks")
        .permission(Permission::HooksSubscribe)
        .setup(|cx| {
            cx.subscribe(Subscription::hook_sync(&TICK, 0, |_| {
                Err(HandlerError::new("hook broke"))
            }))?;
            cx.subscribe(Subscription::hook_sync(&TICK, 1, |_| panic!("hook exploded")))?;
            Ok(())
        })
        .build()
        .unwrap();
    let route = PluginDef::builder("flaky-route")
        .permission(Permission::RoutesRegister)
        .setup(|cx| {
            cx.register_route(Route::new(Method::GET, "/orders", |_| async {
                Err("database down".to_owned())
            })?)?;
            Ok(())
        })
        .build()
        .unwrap();
    let page = PluginDef::builder("flaky-page")
        .menu(
            Menu::new("Flaky")
                .path("/flaky")
                .page(Page::new("home", "Home", |_| Err::<&str, _>("render broke"))),
        )
        .build()
        .unwrap();
    let (runtime, report) = start([
        RegistryEntry::installed(hooks),
        RegistryEntry::installed(route),
        RegistryEntry::installed(page),
    ]);
    assert!(report.all_activated(), "{report}");

    let summary = block_on(runtime.bus().emit(&TICK, 7));
    assert_eq!((summary.ran, summary.failures.len()), (2, 2));
    let called = block_on(runtime.call_route(
        &Method::GET,
        "/zelavis/api/v1/plugins/flaky-route/orders",
        Request::new(vec![]),
    ));
    assert!(matches!(called, Err(RouteCallError::Handler(_))));
    assert!(runtime.render_page("flaky-page", "home").is_err());

    let health = runtime.health();
    let hooks = health.of("flaky-hooks");
    assert_eq!(hooks.runtime_failures, 2);
    assert!(hooks.last_error.unwrap().contains("hook exploded"));
    let route = health.of("flaky-route");
    assert_eq!(route.runtime_failures, 1);
    assert!(route.last_error.unwrap().contains("database down"));
    let page = health.of("flaky-page");
    assert_eq!(page.runtime_failures, 1);
    assert!(page.last_error.unwrap().contains("render broke"));
    assert_eq!(health.of("flaky-page").setup_failures, 0);
}

/// A plugin owning `handlers` hook handlers on [`TICK`] and as many `+1` filters on [`COUNT`].
fn handlers(name: &'static str, handlers: usize) -> PluginDef {
    PluginDef::builder(name)
        .permissions([Permission::HooksSubscribe, Permission::FiltersRegister])
        .setup(move |cx| {
            for _ in 0..handlers {
                cx.subscribe(Subscription::hook_sync(&TICK, 0, |_| Ok(())))?;
                cx.subscribe(Subscription::filter(&COUNT, 0, |v: &u64| Ok(v + 1)))?;
            }
            Ok(())
        })
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dispatch_sees_all_or_none_of_a_plugin_during_recomposition() {
    const ITERATIONS: usize = 2_000;
    let registry = PluginRegistry::new([
        RegistryEntry::installed(handlers("steady", 1)),
        RegistryEntry::installed(handlers("toggled", 5)),
    ])
    .unwrap();
    let (runtime, report) = Runtime::builder(registry).start().await.unwrap();
    assert!(report.all_activated(), "{report}");

    let dispatchers: Vec<_> = (0..4)
        .map(|_| {
            let runtime = runtime.clone();
            tokio::spawn(async move {
                let mut seen = [0_usize; 2];
                for i in 0..ITERATIONS {
                    let ran = runtime.bus().emit(&TICK, 0).await.ran;
                    assert!(ran == 1 || ran == 6, "emit ran {ran} handlers");
                    let value = runtime.bus().apply(&COUNT, 0).value;
                    assert!(value == 1 || value == 6, "filters gave {value}");
                    seen[usize::from(ran == 6)] += 1;
                    if i % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                seen
            })
        })
        .collect();
    for _ in 0..50 {
        runtime.disable("toggled", Cascade::No).await.unwrap();
        tokio::task::yield_now().await;
        runtime.enable("toggled").await.unwrap();
        tokio::task::yield_now().await;
    }
    for dispatcher in dispatchers {
        let seen = dispatcher.await.unwrap();
        assert_eq!(seen.iter().sum::<usize>(), ITERATIONS);
    }
    assert_eq!(runtime.bus().emit(&TICK, 0).await.ran, 6);
}

#[test]

fn a_parent_failing_to_recompose_takes_its_dependents_down() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let shop = PluginDef::builder("shop")
        .version("1.0.0")
        .extension_point(PAYMENTS.declare().policy(Policy::Open))
        .setup_async(move |cx| {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) > 0 {
                    return Err(SetupError::msg("second setup fails"));
                }
                let mut api = PaymentsApi::default();
                cx.extend(&PAYMENTS, &mut api).await?;
                Ok(())
            }
        })
        .build()
        .unwrap();
    let setups = Setups::default();
    let (runtime, report) = start([
        RegistryEntry::installed(shop),
        RegistryEntry::installed(provider(&setups, "stripe")),
        RegistryEntry::installed(
            PluginDef::builder("inventory")
                .dependency("shop", None)
                .build()
                .unwrap(),
        ),
    ]);
    assert!(report.all_activated(), "{report}");

    let change = block_on(runtime.disable("stripe", Cascade::No)).unwrap();
    assert!(!block_on(runtime.is_active("shop")), "{change}");
    assert!(
        !block_on(runtime.is_active("inventory")),
        "a dependent stays active while its dependency is not:\n{change}"
    );
}
