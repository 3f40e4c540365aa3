//! The plugin the publishing tests release, `acme-pay`, as a WebAssembly bundle built from the hand-written
//! WAT guests, and its signature.

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use zelavis_operator::bundle::{Bundle, BundleContents, BundleLimits, pack};
use zelavis_operator::signature::{ReleaseRecord, SignedRelease};
use zelavis_operator::time::Timestamp;

use super::guest;

/// The plugin's id.
pub(crate) const PLUGIN: &str = "acme-pay";

/// The plugin's manifest at `version`: it asks only to register routes.
pub(crate) fn manifest(version: &str) -> Value {
    guest::plugin(PLUGIN, version, json!({ "permissions": ["routes.register"] }))
}

/// A wasm plugin whose route `GET /status` answers its version (or 500 when `failing`).
pub(crate) fn module(version: &str, failing: bool) -> Vec<u8> {
    let guest_manifest = guest::guest_manifest(manifest(version), &[], &[], &[("GET", "/status")], &[]);
    let status = if failing { 500 } else { 200 };
    let route = json!({ "status": status, "body": version }).to_string();
    let (body, extra) = guest::by_kind(&[(2, &route)]);
    guest::module(&guest_manifest, "", &body, &extra)
}

/// The bundle of [`manifest`] and [`module`], without assets.
pub(crate) fn bundle(version: &str, failing: bool) -> Vec<u8> {
    pack(&BundleContents {
        manifest: serde_json::to_vec(&manifest(version)).unwrap(),
        module: module(version, failing),
        assets: std::collections::BTreeMap::new(),
    })
    .unwrap()
}

/// The release record of `bytes`, published by Acme Payments at `at`, signed with `key` as `kid`.
pub(crate) fn sign(bytes: &[u8], key: &SigningKey, kid: &str, at: Timestamp) -> SignedRelease {
    let bundle = Bundle::read(bytes, &BundleLimits::default()).unwrap();
    ReleaseRecord::for_bundle(&bundle, "Acme Payments", kid, at)
        .unwrap()
        .sign(key)
}
