//! Cost of the event bus against hand-written dispatch.
//!
//! `hook_emit/bus/N` emits an event to N sync handlers with [`Bus::emit`]; `hook_emit/baseline/N` runs the
//! same N handler functions from a plain `Vec<Box<dyn Fn(&E) -> Result<(), HandlerError>>>` loop that
//! counts calls and collects errors (what `emit` reports). Both build the event in the iteration and are
//! driven by `futures::executor::block_on` — the baseline loop runs inside an `async` block — so the
//! executor's cost is in both and the difference is the bus's own: snapshot load, name lookup, type check,
//! panic isolation and the summary. N = 0 shows that fixed cost alone.
//!
//! `filter_apply/bus/10` passes a value through 10 filters with [`Bus::apply`];
//! `filter_apply/baseline/10` folds it through a `Vec<Box<dyn Fn(&T) -> T>>` doing the same arithmetic
//! (checked to give the same result). Both are synchronous.
//!
//! Run with `cargo bench --bench bus -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use zelavis::core::bus::{Bus, FilterRef, HandlerError, HookRef, Subscription};
use zelavis::core::name::Name;

/// The event: two words, built fresh in every iteration.
struct OrderCreated {
    id: u64,
    cents: u64,
}

const ORDER_CREATED: HookRef<OrderCreated> = HookRef::new("order.created");
const PRICE: FilterRef<u64> = FilterRef::new("price.total");
const FILTERS: u64 = 10;

/// The body every hook handler runs, on both sides: read the event, succeed.
fn handle(order: &OrderCreated) -> Result<(), HandlerError> {
    if black_box(order.cents) == u64::MAX {
        return Err(HandlerError::from("impossible total"));
    }
    black_box(order.id);
    Ok(())
}

type BaselineFilter = Box<dyn Fn(&u64) -> u64 + Send + Sync>;

type BaselineHandler = Box<dyn Fn(&OrderCreated) -> Result<(), HandlerError> + Send + Sync>;

/// What the baseline reports, like [`zelavis::core::bus::EmitSummary`]: calls and errors.
#[allow(
    clippy::needless_pass_by_value,
    reason = "takes the event by value, as `Bus::emit` does"
)]
fn baseline_emit(handlers: &[BaselineHandler], order: OrderCreated) -> (usize, Vec<HandlerError>) {
    let mut ran = 0;
    let mut failures = Vec::new();
    for handler in handlers {
        ran += 1;
        if let Err(error) = handler(&order) {
            failures.push(error);
        }
    }
    (ran, failures)
}

fn hook_emit(c: &mut Criterion) {
    let mut group = c.benchmark_group("hook_emit");
    let owner = Name::parse("bench").expect("valid name");
    for handlers in [0_i32, 1, 10, 100] {
        let bus = Bus::new();
        let subscriptions = (0..handlers)
            .map(|priority| Subscription::hook_sync(&ORDER_CREATED, priority, handle))
            .collect();
        bus.install(&owner, subscriptions).expect("install");
        group.bench_with_input(BenchmarkId::new("bus", handlers), &bus, |b, bus| {
            b.iter(|| {
                let order = OrderCreated {
                    id: black_box(7),
                    cents: black_box(1_999),
                };
                let summary = block_on(bus.emit(&ORDER_CREATED, order));
                black_box(summary)
            });
        });

        let baseline: Vec<BaselineHandler> = (0..handlers).map(|_| Box::new(handle) as BaselineHandler).collect();
        group.bench_with_input(BenchmarkId::new("baseline", handlers), &baseline, |b, baseline| {
            b.iter(|| {
                let order = OrderCreated {
                    id: black_box(7),
                    cents: black_box(1_999),
                };
                let summary = block_on(async { baseline_emit(baseline, order) });
                black_box(summary)
            });
        });
    }
    group.finish();
}

fn filter_apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("filter_apply");
    let bus = Bus::new();
    let owner = Name::parse("bench").expect("valid name");
    let subscriptions = (0..FILTERS)
        .map(|step| {
            let priority = i32::try_from(step).expect("small");
            Subscription::filter(&PRICE, priority, move |cents: &u64| {
                Ok(cents.wrapping_mul(3).wrapping_add(step))
            })
        })
        .collect();
    bus.install(&owner, subscriptions).expect("install");
    group.bench_function(BenchmarkId::new("bus", FILTERS), |b| {
        b.iter(|| black_box(bus.apply(&PRICE, black_box(1_999))));
    });

    let baseline: Vec<BaselineFilter> = (0..FILTERS)
        .map(|step| Box::new(move |cents: &u64| cents.wrapping_mul(3).wrapping_add(step)) as BaselineFilter)
        .collect();
    group.bench_function(BenchmarkId::new("baseline", FILTERS), |b| {
        b.iter(|| {
            let value = baseline
                .iter()
                .fold(black_box(1_999_u64), |cents, filter| filter(&cents));
            black_box(value)
        });
    });

    // Both sides must compute the same value, or the comparison means nothing.
    let expected = baseline.iter().fold(1_999_u64, |cents, filter| filter(&cents));
    assert_eq!(bus.apply(&PRICE, 1_999).value, expected);
    group.finish();
}

criterion_group!(benches, hook_emit, filter_apply);
criterion_main!(benches);
