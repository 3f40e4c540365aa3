//! Modules refused before any guest code runs, each with its typed error; and ABI breaks during a call.

mod support;

use serde_json::json;
use support::{ECHO, constant, guest_manifest, module, module_with, plugin};
use zelavis_plugin::manifest::ManifestError;
use zelavis_wasm::abi::{ABI, EntryKind};
use zelavis_wasm::host::HostPermission;
use zelavis_wasm::{Stop, WasmError, WasmLoader};

fn loader() -> (tempfile::TempDir, WasmLoader) {
    let dir = tempfile::tempdir().unwrap();
    let loader = WasmLoader::new(dir.path());
    (dir, loader)
}

fn simple(name: &str) -> serde_json::Value {
    guest_manifest(plugin(name, "1.0.0", json!({})), &[], &[], &[], &[])
}

#[test]
fn a_good_module_loads_and_echoes() {
    let (_dir, loader) = loader();
    let manifest = guest_manifest(
        plugin("echo", "1.0.0", json!({ "permissions": ["hooks.subscribe"] })),
        &["order.created"],
        &[],
        &[],
        &[],
    );
    let wasm = module(&manifest, "", ECHO, "");
    let module = loader.load_bytes(&wasm).unwrap();
    assert_eq!(
        (module.name().as_str(), module.version().to_string()),
        ("echo", "1.0.0".to_owned())
    );
    assert_eq!(module.hooks().collect::<Vec<_>>(), ["order.created"]);
    assert_eq!(module.call(EntryKind::Hook, 0, b"{\"id\":1}").unwrap(), b"{\"id\":1}");
    assert_eq!(module.call(EntryKind::Hook, 0, b"").unwrap(), b"");
    assert!(
        loader.load_bytes(&wasm).unwrap().ptr_eq(&module),
        "one compiled module per (plugin, version)"
    );
}

#[test]
fn bytes_that_are_not_webassembly_are_malformed() {
    let (_dir, loader) = loader();
    for bytes in [&b"not wasm at all"[..], b"\0asm\x01\0\0\0\x01", b""] {
        assert!(
            matches!(loader.load_bytes(bytes), Err(WasmError::Malformed { .. })),
            "{bytes:?}"
        );
    }
}

#[test]
fn a_module_without_the_abi_section_is_not_a_guest() {
    let (_dir, loader) = loader();
    let wasm = wat::parse_str("(module (memory (export \"memory\") 1))").unwrap();
    assert_eq!(loader.load_bytes(&wasm).unwrap_err(), WasmError::NotAGuest);
}

#[test]
fn a_module_for_another_abi_is_refused_naming_both_versions() {
    let (_dir, loader) = loader();
    let wasm = module_with("zelavis-guest/2", &simple("future"), "", ECHO, "");
    let error = loader.load_bytes(&wasm).unwrap_err();
    match &error {
        WasmError::AbiMismatch { found, supported } => {
            assert_eq!((found.kept(), *supported), ("zelavis-guest/2", ABI));
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("zelavis-guest/2") && message.contains("zelavis-guest/1"),
        "{message}"
    );
}

#[test]
fn a_bad_plugin_manifest_gets_the_definition_errors_of_a_bad_definition() {
    let (_dir, loader) = loader();
    let manifest = guest_manifest(
        json!({ "name": "Shop", "version": "one", "menu": { "title": "Shop", "path": "shop" } }),
        &[],
        &[],
        &[],
        &[],
    );
    match loader.load_bytes(&module(&manifest, "", ECHO, "")) {
        // A name that breaks the grammar is a shape error (the manifest's `Name` does not parse).
        Err(WasmError::Manifest(ManifestError::Json { path, .. })) => assert_eq!(path, "$.name"),
        other => panic!("unexpected {other:?}"),
    }
    let manifest = guest_manifest(
        json!({ "name": "shop", "version": "1.0.0", "menu": { "title": "Shop", "path": "shop",
                "items": [{ "title": "A", "path": "/a/../b" }] },
                "dependencies": [{ "plugin": "shop" }] }),
        &[],
        &[],
        &[],
        &[],
    );
    match loader.load_bytes(&module(&manifest, "", ECHO, "")) {
        Err(WasmError::Manifest(ManifestError::Definition(error))) => {
            let at: Vec<&str> = error.problems().iter().map(|p| p.at.as_str()).collect();
            assert_eq!(
                at,
                ["menu.path", "menu.items[0].path", "dependencies[0].plugin"],
                "{error}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_guest_manifest_of_the_wrong_shape_says_where() {
    let (_dir, loader) = loader();
    let mut manifest = simple("shop");
    manifest["colour"] = json!("red");
    match loader.load_bytes(&module(&manifest, "", ECHO, "")) {
        Err(WasmError::ManifestJson { reason, .. }) => assert!(reason.contains("colour"), "{reason}"),
        other => panic!("unexpected {other:?}"),
    }
    let wasm = wat::parse_str(format!(
        "(module (@custom \"zelavis.abi\" \"{ABI}\") (memory (export \"memory\") 1))"
    ))
    .unwrap();
    assert_eq!(
        loader.load_bytes(&wasm).unwrap_err(),
        WasmError::ManifestMissing { found: 0 }
    );
}

#[test]
fn invalid_entries_are_all_listed() {
    let (_dir, loader) = loader();
    let manifest = guest_manifest(
        plugin("shop", "1.0.0", json!({ "permissions": ["hooks.subscribe"] })),
        &["order.created", "Order..Bad", "order.created"],
        &["price.total"],
        &[("GET", "/ok"), ("G ET", "/x"), ("GET", "no-slash"), ("GET", "/ok")],
        &[],
    );
    match loader.load_bytes(&module(&manifest, "", ECHO, "")) {
        Err(WasmError::Entries { plugin, problems }) => {
            assert_eq!(plugin.as_str(), "shop");
            let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
            assert_eq!(
                at,
                [
                    "hooks[1].name",
                    "hooks[2].name",
                    "filters",
                    "routes",
                    "routes[1].method",
                    "routes[2].path",
                    "routes[3]"
                ],
                "{problems:?}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_missing_or_mistyped_export_is_named() {
    let (_dir, loader) = loader();
    let manifest = serde_json::to_vec(&simple("shop")).unwrap();
    let wat = format!(
        "(module (memory (export \"memory\") 1)
           (func (export \"zelavis_alloc\") (param i32) (result i32) (i32.const 8))
           (func (export \"zelavis_call\") (param i32 i32 i32 i32) (result i32) (i32.const 0))
           (@custom \"zelavis.abi\" \"{ABI}\") (@custom \"zelavis.manifest\" {}))",
        support::wat_string(&manifest)
    );
    match loader.load_bytes(&wat::parse_str(wat).unwrap()) {
        Err(WasmError::Export { export, found, .. }) => {
            assert_eq!(export, "zelavis_call");
            assert!(found.contains("I32"), "{found}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn an_ungranted_import_is_refused_before_any_guest_code_runs() {
    let (_dir, loader) = loader();
    // The start function would trap if it ran: the refusal comes first.
    let imports = r#"(import "zelavis" "kv_get" (func $kv_get (param i32 i32) (result i32)))"#;
    let extra = "(func $start unreachable) (start $start)";
    match loader.load_bytes(&module(&simple("shop"), imports, ECHO, extra)) {
        Err(WasmError::UngrantedImport {
            plugin,
            import,
            permission,
        }) => {
            assert_eq!(
                (plugin.as_str(), import.as_str(), permission),
                ("shop", "zelavis.kv_get", HostPermission::Kv)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let granted = guest_manifest(plugin("shop", "1.0.0", json!({})), &[], &[], &[], &["kv"]);
    let imports_ok = r#"(import "zelavis" "kv_get" (func $kv_get (param i32 i32) (result i32)))"#;
    assert!(loader.load_bytes(&module(&granted, imports_ok, ECHO, "")).is_ok());
}

#[test]
fn unknown_and_mistyped_imports_are_refused() {
    let (_dir, loader) = loader();
    let cases = [
        (r#"(import "env" "fd_write" (func (param i32)))"#, None),
        (r#"(import "zelavis" "exec" (func))"#, None),
        (
            r#"(import "zelavis" "take" (func (param i64 i32) (result i32)))"#,
            Some("(ptr: i32, len: i32) -> i32"),
        ),
        (r#"(import "zelavis" "mem" (memory 1))"#, None),
    ];
    for (imports, expected_type) in cases {
        match loader.load_bytes(&module(&simple("shop"), imports, ECHO, "")) {
            Err(WasmError::UnknownImport { expected, .. }) => assert_eq!(expected, expected_type, "{imports}"),
            other => panic!("{imports}: unexpected {other:?}"),
        }
    }
}

#[test]
fn abi_breaks_during_a_call_are_typed() {
    let (_dir, loader) = loader();
    let manifest = |name: &str| {
        guest_manifest(
            plugin(name, "1.0.0", json!({ "permissions": ["hooks.subscribe"] })),
            &["a.b"],
            &[],
            &[],
            &[],
        )
    };
    let outside = "(i64.or (i64.shl (i64.const 65530) (i64.const 32)) (i64.const 100))";
    let empty = "(i64.const 0)";
    let (bad_status, extra) = {
        let (_, extra) = constant("x");
        (
            "(i64.or (i64.shl (i64.const 8192) (i64.const 32)) (i64.const 2))".to_owned(),
            extra.replace("\\00x", "\\07x"),
        )
    };
    for (name, body, extra, expected) in [
        ("outside", outside.to_owned(), String::new(), "outside guest memory"),
        ("empty", empty.to_owned(), String::new(), "no output"),
        ("status", bad_status, extra, "unknown status byte 7"),
    ] {
        let module = loader.load_bytes(&module(&manifest(name), "", &body, &extra)).unwrap();
        match module.call(EntryKind::Hook, 0, b"{}") {
            Err(error) => match &error.stop {
                Stop::AbiMismatch { reason } => assert!(reason.contains(expected), "{name}: {reason}"),
                other => panic!("{name}: unexpected {other:?}"),
            },
            Ok(out) => panic!("{name}: unexpected output {out:?}"),
        }
    }
    let health = loader.health();
    assert_eq!(health.of("status").stops(zelavis_wasm::StopKind::AbiMismatch), 1);
}
