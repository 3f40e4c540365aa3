//! Hand-written guests in WAT: each implements `zelavis-guest/1` by hand, so the limit and ABI tests do not
//! depend on a Rust guest toolchain.

#![allow(dead_code, reason = "each test file uses a part of the fixtures")]
#![allow(
    clippy::format_push_string,
    clippy::needless_pass_by_value,
    reason = "fixture text, built once"
)]

use serde_json::{Value, json};

/// A WAT string literal holding `bytes`.
pub(crate) fn wat_string(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        if b.is_ascii_graphic() && b != b'"' && b != b'\\' || b == b' ' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\{b:02x}"));
        }
    }
    out.push('"');
    out
}

/// The guest manifest of a plugin `manifest` with hooks, filters, routes and host permissions.
pub(crate) fn guest_manifest(
    plugin: Value,
    hooks: &[&str],
    filters: &[&str],
    routes: &[(&str, &str)],
    grants: &[&str],
) -> Value {
    json!({
        "plugin": plugin,
        "host_permissions": grants,
        "hooks": hooks.iter().map(|h| json!({ "name": h })).collect::<Vec<_>>(),
        "filters": filters.iter().map(|h| json!({ "name": h })).collect::<Vec<_>>(),
        "routes": routes.iter().map(|(m, p)| json!({ "method": m, "path": p })).collect::<Vec<_>>(),
    })
}

/// A module: the ABI and manifest sections, `imports` (WAT), a bump allocator, `zelavis_call` with `body`
/// (WAT instructions leaving an i64; locals `$kind $index $ptr $len` are the parameters), and `extra` (WAT
/// module fields, e.g. data segments).
pub(crate) fn module_with(abi: &str, manifest: &Value, imports: &str, body: &str, extra: &str) -> Vec<u8> {
    let manifest = serde_json::to_vec(manifest).unwrap();
    let wat = format!(
        r#"(module
  {imports}
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "zelavis_alloc") (param $n i32) (result i32)
    (local $p i32)
    ;; one byte before each buffer is left free for a status byte
    (local.set $p (i32.add (global.get $heap) (i32.const 1)))
    (global.set $heap (i32.add (local.get $p) (local.get $n)))
    (local.get $p))
  (func $ok_echo (param $ptr i32) (param $len i32) (result i64)
    (if (i32.eqz (local.get $len)) (then (local.set $ptr (i32.const 2001))))
    (i32.store8 (i32.sub (local.get $ptr) (i32.const 1)) (i32.const 0))
    (i64.or
      (i64.shl (i64.extend_i32_u (i32.sub (local.get $ptr) (i32.const 1))) (i64.const 32))
      (i64.extend_i32_u (i32.add (local.get $len) (i32.const 1)))))
  (func (export "zelavis_call") (param $kind i32) (param $index i32) (param $ptr i32) (param $len i32) (result i64)
    {body})
  {extra}
  (@custom "zelavis.abi" {abi})
  (@custom "zelavis.manifest" {manifest})
)"#,
        abi = wat_string(abi.as_bytes()),
        manifest = wat_string(&manifest),
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("fixture does not parse: {e}\n{wat}"))
}

/// A module of the current ABI.
pub(crate) fn module(manifest: &Value, imports: &str, body: &str, extra: &str) -> Vec<u8> {
    module_with("zelavis-guest/1", manifest, imports, body, extra)
}

/// `zelavis_call` returning the input as the result (an echo).
pub(crate) const ECHO: &str = "(call $ok_echo (local.get $ptr) (local.get $len))";

/// A data segment at 8192 holding status 0 and `json`, and the body returning it.
pub(crate) fn constant(json: &str) -> (String, String) {
    constant_at(8192, json)
}

/// A data segment at `offset` holding status 0 and `json`, and an expression returning it.
pub(crate) fn constant_at(offset: u32, json: &str) -> (String, String) {
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(json.as_bytes());
    let extra = format!("(data (i32.const {offset}) {})", wat_string(&bytes));
    let body = format!(
        "(i64.or (i64.shl (i64.const {offset}) (i64.const 32)) (i64.const {}))",
        bytes.len()
    );
    (body, extra)
}

/// A body answering each `kind` with its constant (any other kind traps), and its data segments.
pub(crate) fn by_kind(answers: &[(i32, &str)]) -> (String, String) {
    let mut body = String::new();
    let mut extra = String::new();
    for (i, (kind, json)) in answers.iter().enumerate() {
        let offset = 8192 + 2048 * u32::try_from(i).unwrap();
        let (value, data) = constant_at(offset, json);
        body.push_str(&format!(
            "(if (i32.eq (local.get $kind) (i32.const {kind})) (then (return {value})))\n"
        ));
        extra.push_str(&data);
        extra.push('\n');
    }
    body.push_str("unreachable");
    (body, extra)
}

/// A plugin manifest: name, version, and more fields.
pub(crate) fn plugin(name: &str, version: &str, more: Value) -> Value {
    let mut value = json!({ "name": name, "version": version });
    if let (Some(target), Value::Object(more)) = (value.as_object_mut(), more) {
        target.extend(more);
    }
    value
}
