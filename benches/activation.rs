//! Cost of activation and of incremental recomposition, against hand-written baselines and bevy's plugins.
//!
//! The plugin set, for N plugins: in each block of ten, the first is a parent with one open extension point
//! (applied by an async setup through `cx.extend`), the second is its child, and the other eight are plain
//! top-level plugins. Every setup (the parent's, the child's and the plain ones) increments a shared counter
//! once, so N setups run. Benchmarks of one N run in the same group, so results read as ratios:
//!
//! - `start/zelavis/N`: `Runtime::builder(registry).start()` (the registry is cloned outside the timed part,
//!   and the runtime dropped outside it too);
//! - `start/fair_loop/N`: the hand-written loop a host would write instead — sort the plugins by order, run each
//!   setup under `catch_unwind` with a context that collects its registrations (a parent's setup runs its
//!   child's, which registers into the same kind of context), and write a report line per plugin;
//! - `start/closures/N`: N `Box<dyn Fn()>` calls from a `Vec`, the floor;
//! - `start/bevy_app/N`: the peer a Rust user would pick: `App::empty()`, `add_plugins` for N non-unique plugins
//!   whose `build` increments the counter (a parent's `build` adds its child, as bevy plugin groups do), then
//!   `finish` and `cleanup`. Set `ZELAVIS_BENCH_BEVY_MAX=10000` to leave out the 100k case, which takes about
//!   ten seconds an iteration because `add_plugins` grows with the number of plugins already added.
//!
//! Time per plugin (criterion's throughput, in elements) that stays flat from 1k to 100k means activation is
//! linear in N.
//!
//! `start_with_services/*` is 10k plugins whose setup registers one service, against closures doing that same
//! work by hand: the framework's cost relative to representative setup work.
//!
//! `toggle_10k/zelavis` disables then enables one plain plugin on a started runtime of 10k plugins;
//! `toggle_1k/zelavis` is the same among 1k plugins: equal times mean a change costs what it touches, not N.
//! `toggle_*/start_alone` starts a runtime holding just that plugin, for scale.
//!
//! Run with `cargo bench --bench activation -- --warm-up-time 1 --measurement-time 3`.

use std::collections::HashMap;
use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use zelavis::prelude::*;

/// What each parent hands its child.
#[derive(Default)]
struct Api {
    applied: usize,
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn plain(name: String, counter: &Arc<AtomicUsize>) -> PluginDef {
    let counter = counter.clone();
    PluginDef::builder(name)
        .version("1.0.0")
        .setup(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .build()
        .expect("valid plugin")
}

/// `n` plugins: per block of ten, a parent, its child and eight plain plugins.
fn registry(n: usize, counter: &Arc<AtomicUsize>) -> PluginRegistry {
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let def = match i % 10 {
            0 => {
                // Extension point handles carry `'static` names; leaked once per parent, outside timing.
                let point: &'static ExtensionPointRef<Api> =
                    Box::leak(Box::new(ExtensionPointRef::new(leak(format!("p{i}")), "slot")));
                let counter = counter.clone();
                PluginDef::builder(point.plugin())
                    .version("1.0.0")
                    .extension_point(point.declare().policy(Policy::Open))
                    .setup_async(move |cx| {
                        let counter = counter.clone();
                        async move {
                            counter.fetch_add(1, Ordering::Relaxed);
                            let mut api = Api::default();
                            cx.extend(point, &mut api).await?;
                            black_box(api.applied);
                            Ok(())
                        }
                    })
                    .build()
                    .expect("valid parent")
            }
            1 => {
                let parent = ExtensionPointRef::<Api>::new(leak(format!("p{}", i - 1)), "slot");
                let counter = counter.clone();
                PluginDef::builder(format!("c{i}"))
                    .version("1.0.0")
                    .extends(parent.with_setup(move |api, _| {
                        counter.fetch_add(1, Ordering::Relaxed);
                        api.applied += 1;
                        Ok(())
                    }))
                    .build()
                    .expect("valid child")
            }
            _ => plain(format!("x{i}"), counter),
        };
        entries.push(RegistryEntry::installed(def));
    }
    PluginRegistry::new(entries).expect("valid registry")
}

// ---- the fair loop ---------------------------------------------------------------------------------------------

/// What a hand-written host collects from a setup.
#[derive(Default)]
struct LoopContext {
    registered: Vec<String>,
}

type LoopSetup = Box<dyn Fn(&mut LoopContext) -> Result<(), String>>;

/// A hand-written host's plugin: a name, an order, a setup, and the children its setup runs.
struct LoopPlugin {
    name: String,
    order: Option<u32>,
    setup: LoopSetup,
    children: Vec<(String, LoopSetup)>,
}

/// A hand-written host's report line.
#[allow(dead_code, reason = "written to be read; the bench only keeps it alive")]
struct LoopLine {
    name: String,
    ok: bool,
    registered: usize,
}

fn loop_plugins(n: usize, counter: &Arc<AtomicUsize>) -> Vec<LoopPlugin> {
    let count = |counter: &Arc<AtomicUsize>| -> LoopSetup {
        let counter = counter.clone();
        Box::new(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
    };
    let mut plugins = Vec::with_capacity(n);
    for i in 0..n {
        match i % 10 {
            0 => plugins.push(LoopPlugin {
                name: format!("p{i}"),
                order: None,
                setup: count(counter),
                children: if i + 1 < n {
                    vec![(format!("c{}", i + 1), count(counter))]
                } else {
                    Vec::new()
                },
            }),
            1 => {}
            _ => plugins.push(LoopPlugin {
                name: format!("x{i}"),
                order: None,
                setup: count(counter),
                children: Vec::new(),
            }),
        }
    }
    plugins
}

/// The loop: sort by (order, position), run each setup and its children's under `catch_unwind` with a fresh
/// context, write a line per plugin.
fn fair_loop(plugins: &[LoopPlugin]) -> Vec<LoopLine> {
    let mut sequence: Vec<usize> = (0..plugins.len()).collect();
    sequence.sort_by_key(|&i| (plugins[i].order.unwrap_or(u32::MAX), i));
    let mut lines = Vec::with_capacity(plugins.len() * 2);
    for i in sequence {
        let plugin = &plugins[i];
        let mut cx = LoopContext::default();
        let ok = matches!(catch_unwind(AssertUnwindSafe(|| (plugin.setup)(&mut cx))), Ok(Ok(())));
        for (child, setup) in &plugin.children {
            let mut child_cx = LoopContext::default();
            let child_ok = matches!(catch_unwind(AssertUnwindSafe(|| setup(&mut child_cx))), Ok(Ok(())));
            lines.push(LoopLine {
                name: child.clone(),
                ok: child_ok,
                registered: child_cx.registered.len(),
            });
        }
        lines.push(LoopLine {
            name: plugin.name.clone(),
            ok,
            registered: cx.registered.len(),
        });
    }
    lines
}

// ---- bevy ------------------------------------------------------------------------------------------------------

/// A bevy plugin that counts its build; a parent adds its child from its own build.
struct BevyPlugin {
    counter: Arc<AtomicUsize>,
    child: bool,
}

impl bevy_app::Plugin for BevyPlugin {
    fn build(&self, app: &mut bevy_app::App) {
        self.counter.fetch_add(1, Ordering::Relaxed);
        if self.child {
            app.add_plugins(BevyPlugin {
                counter: self.counter.clone(),
                child: false,
            });
        }
    }

    fn is_unique(&self) -> bool {
        false
    }
}

fn bevy_plugins(n: usize, counter: &Arc<AtomicUsize>) -> Vec<BevyPlugin> {
    (0..n)
        .filter(|i| i % 10 != 1)
        .map(|i| BevyPlugin {
            counter: counter.clone(),
            child: i % 10 == 0 && i + 1 < n,
        })
        .collect()
}

fn bevy_start(plugins: Vec<BevyPlugin>) -> bevy_app::App {
    let mut app = bevy_app::App::empty();
    for plugin in plugins {
        app.add_plugins(plugin);
    }
    app.finish();
    app.cleanup();
    app
}

fn bevy_max() -> usize {
    std::env::var("ZELAVIS_BENCH_BEVY_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX)
}

fn start(c: &mut Criterion) {
    let mut group = c.benchmark_group("start");
    for n in [1_000_usize, 10_000, 100_000] {
        if n >= 100_000 {
            group.sample_size(10);
        }
        group.throughput(Throughput::Elements(n as u64));
        let counter = Arc::new(AtomicUsize::new(0));
        let registry = registry(n, &counter);
        {
            // Check once, outside timing, that every setup runs, in every contender.
            counter.store(0, Ordering::Relaxed);
            let (_, report) = block_on(Runtime::builder(registry.clone()).start()).expect("start");
            assert!(report.all_activated());
            assert_eq!(counter.load(Ordering::Relaxed), n);
            counter.store(0, Ordering::Relaxed);
            assert_eq!(fair_loop(&loop_plugins(n, &counter)).len(), n);
            assert_eq!(counter.load(Ordering::Relaxed), n);
            if n <= 10_000 {
                counter.store(0, Ordering::Relaxed);
                drop(bevy_start(bevy_plugins(n, &counter)));
                assert_eq!(counter.load(Ordering::Relaxed), n);
            }
        }
        group.bench_with_input(BenchmarkId::new("zelavis", n), &n, |b, _| {
            b.iter_batched(
                || registry.clone(),
                |registry| block_on(Runtime::builder(registry).start()).expect("start"),
                BatchSize::LargeInput,
            );
        });
        let plugins = loop_plugins(n, &counter);
        group.bench_with_input(BenchmarkId::new("fair_loop", n), &n, |b, _| {
            b.iter(|| fair_loop(black_box(&plugins)));
        });
        let closures: Vec<Box<dyn Fn()>> = (0..n)
            .map(|_| {
                let counter = counter.clone();
                Box::new(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                }) as Box<dyn Fn()>
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("closures", n), &n, |b, _| {
            b.iter(|| {
                for f in black_box(&closures) {
                    f();
                }
            });
        });
        if n <= bevy_max() {
            group.bench_with_input(BenchmarkId::new("bevy_app", n), &n, |b, _| {
                b.iter_batched(|| bevy_plugins(n, &counter), bevy_start, BatchSize::LargeInput);
            });
        }
    }
    group.finish();
}

/// What the baseline's closures register into.
type Registered = std::cell::RefCell<HashMap<Name, ServiceDef>>;
/// A baseline setup closure.
type RegisterFn = Box<dyn Fn(&Registered)>;

/// 10k plugins whose setup does representative work: register one service. The baseline closures do the same
/// work by hand (build the same service and store it in a map by name), so the ratio is the framework's cost
/// relative to real setup work rather than to an empty call.
fn start_with_services(c: &mut Criterion) {
    const N: usize = 10_000;
    let mut group = c.benchmark_group("start_with_services");
    group.throughput(Throughput::Elements(N as u64));
    let entries = (0..N).map(|i| {
        let def = PluginDef::builder(format!("s{i}"))
            .permission(Permission::ServicesRegister)
            .setup(|cx| cx.register_service(ServiceDef::new(cx.plugin().clone())))
            .build()
            .expect("valid plugin");
        RegistryEntry::installed(def)
    });
    let registry = PluginRegistry::new(entries).expect("valid registry");
    let (runtime, report) = block_on(Runtime::builder(registry.clone()).start()).expect("start");
    assert!(report.all_activated());
    assert_eq!(runtime.services().len(), N);
    group.bench_function(BenchmarkId::new("zelavis", N), |b| {
        b.iter_batched(
            || registry.clone(),
            |registry| block_on(Runtime::builder(registry).start()).expect("start"),
            BatchSize::LargeInput,
        );
    });
    let names: Vec<Name> = (0..N).map(|i| Name::parse(&format!("s{i}")).expect("valid")).collect();
    let closures: Vec<RegisterFn> = names
        .into_iter()
        .map(|name| {
            Box::new(move |services: &Registered| {
                services
                    .borrow_mut()
                    .insert(name.clone(), ServiceDef::new(name.clone()));
            }) as RegisterFn
        })
        .collect();
    group.bench_function(BenchmarkId::new("closures", N), |b| {
        b.iter(|| {
            let services = Registered::default();
            for f in black_box(&closures) {
                f(&services);
            }
            black_box(services)
        });
    });
    group.finish();
}

fn toggle(c: &mut Criterion, n: usize, group_name: &str) {
    let mut group = c.benchmark_group(group_name);
    let counter = Arc::new(AtomicUsize::new(0));
    let (runtime, report) = block_on(Runtime::builder(registry(n, &counter)).start()).expect("start");
    assert!(report.all_activated());
    // A plain plugin in the middle of the registry.
    let target = format!("x{}", n / 2 + 5);
    assert!(block_on(runtime.is_active(&target)));
    group.bench_function("zelavis", |b| {
        b.iter(|| {
            block_on(async {
                runtime.disable(&target, Cascade::No).await.expect("disable");
                runtime.enable(&target).await.expect("enable")
            })
        });
    });
    assert!(block_on(runtime.is_active(&target)));
    let alone = PluginRegistry::new([RegistryEntry::installed(plain(target.clone(), &counter))]).expect("registry");
    group.bench_function("start_alone", |b| {
        b.iter_batched(
            || alone.clone(),
            |registry| block_on(Runtime::builder(registry).start()).expect("start"),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn toggle_10k(c: &mut Criterion) {
    toggle(c, 10_000, "toggle_10k");
}

fn toggle_1k(c: &mut Criterion) {
    toggle(c, 1_000, "toggle_1k");
}

criterion_group!(benches, start, start_with_services, toggle_10k, toggle_1k);
criterion_main!(benches);
