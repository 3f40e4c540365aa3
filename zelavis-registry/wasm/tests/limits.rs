//! Each limit hit and reported with its typed reason — in the call's error, in the loader's wasm health and,
//! through a hook on a live runtime, in the runtime's plugin health — while the host and other plugins go on.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{ECHO, constant, guest_manifest, module, plugin};
use zelavis_core::name::Name;
use zelavis_plugin::data::Data;
use zelavis_registry::prelude::*;
use zelavis_wasm::abi::EntryKind;
use zelavis_wasm::{Limits, Stop, StopKind, WasmLoader, WasmModule};

const LOOP: &str = "(loop $forever (br $forever)) (i64.const 0)";

fn hook_module(loader: &WasmLoader, name: &str, imports: &str, body: &str, extra: &str, grants: &[&str]) -> WasmModule {
    let manifest = guest_manifest(
        plugin(name, "1.0.0", json!({ "permissions": ["hooks.subscribe"] })),
        &["order.created"],
        &[],
        &[],
        grants,
    );
    loader.load_bytes(&module(&manifest, imports, body, extra)).unwrap()
}

fn stop_of(module: &WasmModule, input: &[u8]) -> Stop {
    module.call(EntryKind::Hook, 0, input).unwrap_err().stop
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let dir = tempfile::tempdir().unwrap();
    let loader = WasmLoader::new(dir.path());
    let module = hook_module(&loader, "spin", "", LOOP, "", &[]);
    loader.set_limits(
        module.name(),
        Limits::default().fuel(1_000_000).deadline(Duration::from_secs(30)),
    );
    assert_eq!(stop_of(&module, b"{}"), Stop::OutOfFuel { limit: 1_000_000 });
    assert_eq!(loader.health().of("spin").stops(StopKind::OutOfFuel), 1);
}

#[test]
fn an_endless_loop_with_fuel_to_spare_meets_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let loader = WasmLoader::new(dir.path());
    let module = hook_module(&loader, "spin", "", LOOP, "", &[]);
    let deadline = Duration::from_millis(20);
    loader.set_limits(module.name(), Limits::default().fuel(u64::MAX).deadline(deadline));
    let started = Instant::now();
    assert_eq!(stop_of(&module, b"{}"), Stop::DeadlineExceeded { after: deadline });
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped promptly: {:?}",
        started.elapsed()
    );
}

#[test]
fn growing_memory_past_the_limit_is_a_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let loader = WasmLoader::new(dir.path());
    // Asks for 100 pages (6.4 MiB); the guest traps when refused, as Rust's allocator does.
    let body = "(if (i32.lt_s (memory.grow (i32.const 100)) (i32.const 0)) (then unreachable)) (i64.const 0)";
    let module = hook_module(&loader, "hungry", "", body, "", &[]);
    loader.set_limits(module.name(), Limits::default().memory_bytes(1 << 20));
    assert_eq!(
        stop_of(&module, b"{}"),
        Stop::MemoryLimit {
            desired: (1 + 100) << 16,
            limit: 1 << 20
        }
    );
    // Within the limit, the same call succeeds on its fresh instance.
    loader.set_limits(module.name(), Limits::default());
    assert!(
        matches!(stop_of(&module, b"{}"), Stop::AbiMismatch { .. }),
        "grew, then returned no output"
    );
}

#[test]
fn an_initial_memory_past_the_limit_fails_at_instantiation() {
    let dir = tempfile::tempdir().unwrap();
    let loader = WasmLoader::new(dir.path());
    let module = hook_module(&loader, "big", "", ECHO, "", &[]);
    loader.set_limits(module.name(), Limits::default().memory_bytes(1000));
    assert!(matches!(stop_of(&module, b"{}"), Stop::MemoryLimit { limit: 1000, .. }));
}

#[test]
fn input_and_output_sizes_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let loader = WasmLoader::new(dir.path());
    let module = hook_module(&loader, "echo", "", ECHO, "", &[]);
    loader.set_limits(module.name(), Limits::default().input_bytes(100).output_bytes(10));
    assert_eq!(
        stop_of(&module, &[b' '; 101]),
        Stop::InputTooLarge { len: 101, limit: 100 }
    );
    assert_eq!(
        stop_of(&module, &[b' '; 11]),
        Stop::OutputTooLarge { len: 11, limit: 10 }
    );
    assert_eq!(module.call(EntryKind::Hook, 0, &[b' '; 10]).unwrap().len(), 10);
    let health = loader.health().of("echo");
    assert_eq!(
        (
            health.calls,
            health.stops(StopKind::InputTooLarge),
            health.stops(StopKind::OutputTooLarge)
        ),
        (3, 1, 1)
    );
}

#[test]
fn traps_and_guest_aborts_are_traps_with_their_message() {
    let dir = tempfile::tempdir().unwrap();
    let loader = WasmLoader::new(dir.path());
    let trap = hook_module(&loader, "trap", "", "unreachable", "", &[]);
    assert!(matches!(stop_of(&trap, b"{}"), Stop::Trap { message } if message.contains("unreachable")));
    let (_, data) = constant("card declined: no api key");
    let abort = hook_module(
        &loader,
        "abort",
        r#"(import "zelavis" "abort" (func $abort (param i32 i32)))"#,
        "(call $abort (i32.const 8193) (i32.const 25)) (i64.const 0)",
        &data,
        &[],
    );
    assert_eq!(
        stop_of(&abort, b"{}"),
        Stop::Trap {
            message: "card declined: no api key".to_owned()
        }
    );
}

#[test]
fn a_guest_error_is_failed_not_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let loader = WasmLoader::new(dir.path());
    let (body, data) = constant("x");
    let data = data.replace("\\00x", "\\01no stock");
    let body = body.replace("(i64.const 2)", "(i64.const 9)");
    let failing = hook_module(&loader, "failing", "", &body, &data, &[]);
    assert_eq!(
        stop_of(&failing, b"{}"),
        Stop::Failed {
            message: "no stock".to_owned()
        }
    );
}

#[test]
fn a_stopped_wasm_hook_feeds_runtime_health_and_the_others_go_on() {
    futures::executor::block_on(async {
        const ORDER_CREATED: HookRef<Data> = HookRef::new("order.created");
        let dir = tempfile::tempdir().unwrap();
        let loader = WasmLoader::new(dir.path());
        let spin = hook_module(&loader, "spin", "", LOOP, "", &[]);
        // A generous deadline: fuel, not time, must stop it, even in a debug build on a busy machine.
        loader.set_limits(
            spin.name(),
            Limits::default().fuel(500_000).deadline(Duration::from_secs(30)),
        );
        let echo = hook_module(&loader, "echo", "", ECHO, "", &[]);
        let native = PluginDef::builder("native")
            .permission(Permission::HooksSubscribe)
            .setup(|cx| cx.subscribe(Subscription::hook_sync(&ORDER_CREATED, 0, |_| Ok(()))))
            .build()
            .unwrap();
        let registry = PluginRegistry::new([
            RegistryEntry::installed(spin.definition().unwrap()),
            RegistryEntry::installed(echo.definition().unwrap()),
            RegistryEntry::installed(native),
        ])
        .unwrap();
        let (runtime, report) = Runtime::builder(registry).start().await.unwrap();
        assert!(report.all_activated(), "{report}");
        let summary = runtime
            .bus()
            .emit(&ORDER_CREATED, Data::encode(&json!({ "id": 1 })).unwrap())
            .await;
        assert_eq!((summary.ran, summary.failures.len()), (3, 1), "{summary:?}");
        let health = runtime.health().of("spin");
        assert_eq!(health.runtime_failures, 1);
        let message = health.last_error.unwrap();
        assert!(message.contains("out of fuel"), "{message}");
        assert_eq!(runtime.health().of("echo").runtime_failures, 0);
        assert_eq!(loader.health().of("spin").stops(StopKind::OutOfFuel), 1);
        let last = loader.health().of("spin").last_error.unwrap();
        assert_eq!(last.plugin, Name::parse("spin").unwrap());
        assert_eq!(last.entry.to_string(), "hook order.created");
    });
}
