//! Cost of activation and of incremental recomposition against hand-written baselines.
//!
//! `start/runtime/N` activates a registry of N plugins with [`Runtime::builder`]`(..).start()`. In each block of
//! ten plugins, the first is a parent with one open extension point (applied by an async setup through
//! `cx.extend`), the second is its child, and the other eight are plain top-level plugins; every setup (the
//! parent's, the child's and the plain ones) increments a shared counter once, so N setups run. The registry is
//! cloned outside the timed part (`iter_batched`, `LargeInput`), and the runtime is dropped outside it too.
//! `start/baseline/N` calls N `Box<dyn Fn()>` closures, each incrementing the same counter, from a `Vec`: the
//! ratio is what the runtime adds per plugin (planning, ordering, isolation, the context, commit, the report).
//! Time per plugin that stays flat from 1k to 100k means activation is linear in N.
//!
//! `start_with_services/*` is 10k plugins whose setup registers one service, against closures doing that same
//! work by hand: the framework's cost relative to representative setup work.
//!
//! `toggle_10k/runtime` disables then enables one plain plugin on a started runtime of 10k plugins;
//! `toggle_10k/start_alone` starts a runtime whose registry holds just that plugin. `toggle_1k/*` is the same
//! among 1k plugins: equal toggle times at 1k and 10k mean a change costs what it touches, not N.
//!
//! Run with `cargo bench --bench activation -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use zelavis::registry::prelude::*;

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
            // Check once, outside timing, that every setup runs.
            counter.store(0, Ordering::Relaxed);
            let (_, report) = block_on(Runtime::builder(registry.clone()).start()).expect("start");
            assert!(report.all_activated());
            assert_eq!(counter.load(Ordering::Relaxed), n);
        }
        group.bench_with_input(BenchmarkId::new("runtime", n), &n, |b, _| {
            b.iter_batched(
                || registry.clone(),
                |registry| block_on(Runtime::builder(registry).start()).expect("start"),
                BatchSize::LargeInput,
            );
        });
        let closures: Vec<Box<dyn Fn()>> = (0..n)
            .map(|_| {
                let counter = counter.clone();
                Box::new(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                }) as Box<dyn Fn()>
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("baseline", n), &n, |b, _| {
            b.iter(|| {
                for f in black_box(&closures) {
                    f();
                }
            });
        });
    }
    group.finish();
}

/// What the baseline's closures register into.
type Registered = std::cell::RefCell<std::collections::HashMap<Name, ServiceDef>>;
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
    group.bench_function(BenchmarkId::new("runtime", N), |b| {
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
    group.bench_function(BenchmarkId::new("baseline", N), |b| {
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
    group.bench_function("runtime", |b| {
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
