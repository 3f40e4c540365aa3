//! Finds the example guests `.ci/guests` builds (Debian's toolchain, wasm32-unknown-unknown).

use std::path::PathBuf;

/// Where `.ci/guests` puts the modules.
pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/guests/wasm32-unknown-unknown/release")
}

/// The module of example guest `crate_name` (e.g. `acme_pay`). Missing: under `CI` the test fails loudly;
/// elsewhere it says how to build the guests and the test returns early (`None`).
pub(crate) fn guest(crate_name: &str) -> Option<Vec<u8>> {
    let path = dir().join(format!("{crate_name}.wasm"));
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            let how = "build the example guests first: `.ci/guests` (installs Debian's rustc-web, cargo-web, \
                       rust-web-src and lld-22 when missing), or with a rustup target: \
                       `ZELAVIS_GUEST_CARGO=cargo .ci/guests`";
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            assert!(!ci, "guest module {} is missing ({error}); {how}", path.display());
            eprintln!("skipping: guest module {} is missing ({error}); {how}", path.display());
            None
        }
    }
}
