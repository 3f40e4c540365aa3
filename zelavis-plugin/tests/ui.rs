//! Compile errors of `define_plugin!`: each case in `tests/ui/` must fail with the committed `.stderr`.
//!
//! Regenerate after an intended change with `TRYBUILD=overwrite cargo test -p zelavis-plugin --test ui`, then
//! read every changed `.stderr`: the caret must point at the offending token.

#[test]
fn define_plugin_compile_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
