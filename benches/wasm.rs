//! Cost of WebAssembly plugins against the same native plugins, in the same run.
//!
//! - `hook_call/native` emits a ~100-byte JSON [`Data`] event to a native `hook_sync` handler that reads it;
//!   `hook_call/wasm` emits the same event to a wasm handler (a hand-written WAT guest that reads its input and
//!   answers ok): bus dispatch, a **fresh instance**, the input copied in, the call, the output read back.
//! - `instantiate/wat` and `instantiate/rust` are what each call pays for its fresh instance alone (a minimal
//!   module; the example Rust guest `acme_pay`, built by `.ci/guests`). `hook_call/wasm` minus
//!   `instantiate/wat` is the ABI crossing itself.
//! - `filter/native` and `filter/rust` run the same discount filter (`price.total`: decode JSON, read
//!   settings, take 10 %, encode) natively and in the example Rust guest `acme_reports`.
//! - `load/wat` and `load/rust` load, validate and compile a module (manifest checks and linking included;
//!   every load does all of it, even when the compiled module is then shared with a live one).
//!
//! The Rust-guest benches are skipped (with a message) when `.ci/guests` has not built them.
//!
//! Run with `cargo bench --bench wasm --features wasm -- --warm-up-time 1 --measurement-time 3`.

#[path = "../tests/support/guests.rs"]
#[allow(dead_code, reason = "shared with the tests")]
mod guests;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use serde::{Deserialize, Serialize};
use zelavis::core::bus::{Bus, FilterRef, HookRef, Subscription};
use zelavis::core::name::Name;
use zelavis::plugin::data::Data;
use zelavis::plugin::prelude::*;
use zelavis::wasm::WasmLoader;

const ORDER_CREATED: HookRef<Data> = HookRef::new("order.created");
const PRICE: FilterRef<Data> = FilterRef::new("price.total");

/// A guest that reads its input (sums its bytes, as a handler looking at the event would) and answers ok.
fn wat_guest() -> Vec<u8> {
    let manifest = serde_json::json!({
        "plugin": { "name": "bench", "version": "1.0.0", "permissions": ["hooks.subscribe"] },
        "hooks": [{ "name": "order.created" }],
    })
    .to_string();
    let manifest: String = manifest
        .bytes()
        .map(|b| {
            if b == b'"' {
                "\\22".to_owned()
            } else {
                char::from(b).to_string()
            }
        })
        .collect();
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "\00")
  (func (export "zelavis_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  (func (export "zelavis_call") (param $kind i32) (param $index i32) (param $ptr i32) (param $len i32) (result i64)
    (local $i i32) (local $sum i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (local.get $ptr) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store (i32.const 32) (local.get $sum))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 1)))
  (@custom "zelavis.abi" "zelavis-guest/1")
  (@custom "zelavis.manifest" "{manifest}"))"#
    );
    wat::parse_str(wat).expect("the bench guest parses")
}

/// A ~100-byte event.
fn event() -> Data {
    let event = serde_json::json!({ "id": 1_234_567, "cents": 125_000, "currency": "EUR", "customer": "c-0042",
                                    "lines": [{ "sku": "tea-01", "qty": 2 }, { "sku": "mug-07", "qty": 1 }] });
    let data = Data::encode(&event).expect("encodes");
    assert!(
        (90..=130).contains(&data.as_bytes().len()),
        "{} bytes",
        data.as_bytes().len()
    );
    data
}

#[derive(Serialize, Deserialize)]
struct Price {
    cents: u64,
}

#[derive(Deserialize, Default)]
struct Settings {
    #[serde(default)]
    discount_percent: u64,
}

fn bench(c: &mut Criterion) {
    let wat = wat_guest();
    let cache = tempfile::tempdir().expect("a temp dir");
    let loader = WasmLoader::new(cache.path());

    // Hook call: native and wasm on two buses, the same event.
    let native_bus = Bus::new();
    native_bus
        .install(
            &Name::parse("native").expect("a name"),
            vec![Subscription::hook_sync(&ORDER_CREATED, 0, |event: &Data| {
                let sum: u32 = event.as_bytes().iter().map(|&b| u32::from(b)).sum();
                black_box(sum);
                Ok(())
            })],
        )
        .expect("installs");
    let module = loader.load_bytes(&wat).expect("the bench guest loads");
    let def = module.definition().expect("a definition");
    let cx = SetupContext::builder(&def).build();
    block_on(def.run_setup(&cx)).expect("setup");
    let wasm_bus = Bus::new();
    wasm_bus
        .install(def.name(), cx.finish().registrations.subscriptions)
        .expect("installs");
    let payload = event();
    assert!(block_on(wasm_bus.emit(&ORDER_CREATED, payload.clone())).is_ok());

    let mut group = c.benchmark_group("hook_call");
    group.bench_function("native", |b| {
        b.iter(|| block_on(native_bus.emit(&ORDER_CREATED, payload.clone())));
    });
    group.bench_function("wasm", |b| {
        b.iter(|| block_on(wasm_bus.emit(&ORDER_CREATED, payload.clone())));
    });
    group.finish();

    let mut group = c.benchmark_group("instantiate");
    group.bench_function("wat", |b| b.iter(|| module.instantiate().expect("instantiates")));
    let pay = guests::guest("acme_pay");
    match &pay {
        Some(bytes) => {
            let rust = loader.load_bytes(bytes).expect("acme_pay loads");
            group.bench_function("rust", |b| b.iter(|| rust.instantiate().expect("instantiates")));
        }
        None => eprintln!("instantiate/rust skipped: run .ci/guests"),
    }
    group.finish();

    let mut group = c.benchmark_group("filter");
    let settings = Settings { discount_percent: 10 };
    group.bench_function("native", |b| {
        b.iter(|| {
            let price: Price = black_box(Data::encode(&Price { cents: 10_000 }).expect("encodes"))
                .decode()
                .expect("decodes");
            let percent = black_box(&settings).discount_percent.min(100);
            Data::encode(&Price {
                cents: price.cents - price.cents * percent / 100,
            })
            .expect("encodes")
        });
    });
    if let Some(bytes) = guests::guest("acme_reports") {
        let reports = loader.load_bytes(&bytes).expect("acme_reports loads");
        loader.set_settings(reports.name(), &serde_json::json!({ "discount_percent": 10 }));
        let def = reports.definition().expect("a definition");
        let cx = SetupContext::builder(&def).build();
        block_on(def.run_setup(&cx)).expect("setup");
        let bus = Bus::new();
        bus.install(def.name(), cx.finish().registrations.subscriptions)
            .expect("installs");
        let out = bus.apply(&PRICE, Data::encode(&Price { cents: 10_000 }).expect("encodes"));
        assert_eq!(out.value.decode::<Price>().expect("a price").cents, 9_000);
        group.bench_function("rust", |b| {
            b.iter(|| bus.apply(&PRICE, Data::encode(&Price { cents: 10_000 }).expect("encodes")));
        });
    } else {
        eprintln!("filter/rust skipped: run .ci/guests");
    }
    group.finish();

    let mut group = c.benchmark_group("load");
    drop((module, def));
    group.bench_function("wat", |b| b.iter(|| loader.load_bytes(&wat).expect("loads")));
    if let Some(bytes) = &pay {
        group.bench_function("rust", |b| b.iter(|| loader.load_bytes(bytes).expect("loads")));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
