//! No panic escapes the runtime, not even one whose payload panics again when dropped: setup, teardown, hook
//! and filter dispatch, route calls and page renders contain it, record it in the plugin's health, and the
//! runtime stays consistent — a plugin that panicked can be disabled (its route and hook leave) and enabled
//! again.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::executor::block_on;
use http::Method;
use zelavis_registry::prelude::*;
use zelavis_registry::runtime::RouteCallError;

/// A panic payload whose `Drop` panics again.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload exploded while being dropped");
    }
}

fn detonate() -> ! {
    std::panic::panic_any(Bomb)
}

const TICK: HookRef<u32> = HookRef::new("test.tick");
const COUNT: FilterRef<u64> = FilterRef::new("test.count");

/// A plugin whose every part can be told to detonate.
fn volatile(armed: &Arc<AtomicBool>) -> PluginDef {
    let (setup, teardown, hook, filter, route, page) = (
        armed.clone(),
        armed.clone(),
        armed.clone(),
        armed.clone(),
        armed.clone(),
        armed.clone(),
    );
    PluginDef::builder("volatile")
        .version("1.0.0")
        .permissions(Permission::ALL)
        .menu(
            Menu::new("Volatile")
                .path("/volatile")
                .page(Page::new("home", "Home", move |_| {
                    if page.load(Ordering::SeqCst) {
                        detonate();
                    }
                    "<h1>calm</h1>"
                })),
        )
        .setup(move |cx| {
            if setup.load(Ordering::SeqCst) {
                detonate();
            }
            let (hook, filter, route) = (hook.clone(), filter.clone(), route.clone());
            cx.subscribe(Subscription::hook_sync(&TICK, 0, move |_| {
                if hook.load(Ordering::SeqCst) {
                    detonate();
                }
                Ok(())
            }))?;
            cx.subscribe(Subscription::filter(&COUNT, 0, move |n: &u64| {
                if filter.load(Ordering::SeqCst) {
                    detonate();
                }
                Ok(n + 1)
            }))?;
            cx.register_route(Route::new(Method::GET, "/status", move |_| {
                let route = route.clone();
                async move {
                    if route.load(Ordering::SeqCst) {
                        detonate();
                    }
                    Ok(RouteResponse::new(b"ok".to_vec()))
                }
            })?)?;
            Ok(())
        })
        .teardown(move || {
            if teardown.load(Ordering::SeqCst) {
                detonate();
            }
            Ok(())
        })
        .build()
        .unwrap()
}

const STATUS: &str = "/zelavis/api/v1/plugins/volatile/status";

#[test]
fn panicking_payloads_never_escape_and_the_runtime_stays_consistent() {
    std::panic::set_hook(Box::new(|_| {}));
    let armed = Arc::new(AtomicBool::new(false));
    let registry = PluginRegistry::new([RegistryEntry::installed(volatile(&armed))]).unwrap();
    let (runtime, report) = block_on(Runtime::builder(registry).start()).unwrap();
    assert!(report.all_activated(), "{report}");

    armed.store(true, Ordering::SeqCst);
    // Hook, filter, route and page: each contained, each counted.
    let summary = block_on(runtime.bus().emit(&TICK, 1));
    assert_eq!(summary.failures.len(), 1);
    assert_eq!(runtime.bus().apply(&COUNT, 1).value, 1, "the failing filter is skipped");
    let routed = block_on(runtime.call_route(&Method::GET, STATUS, RouteRequest::default()));
    assert!(matches!(routed, Err(RouteCallError::Handler(_))), "{routed:?}");
    assert!(runtime.render_page("volatile", "home").is_err());
    assert!(
        runtime.health().of("volatile").runtime_failures >= 4,
        "{:?}",
        runtime.health()
    );

    // Teardown panics too: the plugin still leaves, all of it.
    let change = block_on(runtime.disable("volatile", Cascade::No)).unwrap();
    assert_eq!(change.outcome("volatile"), Some(&Outcome::Deactivated { reason: None }));
    assert!(runtime.routes().is_empty());
    assert!(
        runtime
            .bus()
            .subscriptions_of(&Name::parse("volatile").unwrap())
            .is_empty()
    );
    assert_eq!(block_on(runtime.bus().emit(&TICK, 1)).ran, 0);

    // Setup panics: a failed activation, nothing mounted.
    let change = block_on(runtime.enable("volatile")).unwrap();
    assert!(
        matches!(
            change.outcome("volatile"),
            Some(Outcome::Failed {
                reason: FailReason::Panicked { .. }
            })
        ),
        "{change}"
    );
    assert!(runtime.routes().is_empty());

    // Disarmed, it comes back whole.
    armed.store(false, Ordering::SeqCst);
    block_on(runtime.disable("volatile", Cascade::No)).unwrap();
    let change = block_on(runtime.enable("volatile")).unwrap();
    assert_eq!(change.outcome("volatile"), Some(&Outcome::Activated), "{change}");
    assert_eq!(runtime.routes().len(), 1);
    let routed = block_on(runtime.call_route(&Method::GET, STATUS, RouteRequest::default())).unwrap();
    assert_eq!(routed.body(), b"ok");
    let _ = std::panic::take_hook();
}
