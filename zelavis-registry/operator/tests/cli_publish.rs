//! Publishing through the `zelavis` binary: `keygen` (and OpenSSL reading and signing with its keys), a
//! reproducible `bundle pack`, `bundle sign` and `bundle verify` down to a tampered byte and a revoked key,
//! then `plugin publish` of a real WebAssembly bundle (refused without the `marketplace_publisher` feature,
//! smoke-tested with it, a version never published twice) and the rollout commands: canary, promote before
//! the wait, judge, pause, resume, rollback, status as a table and as JSON, and `tenant update`.
#![cfg(feature = "cli")]

mod support;

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use futures::executor::block_on;
use serde_json::{Value, json};
use support::bundle::{PLUGIN, manifest, module};
use support::cli::{Run, create_tenant, license_claims, now_secs, run_binary, write_license_keyring, write_licenses};
use zelavis_core::name::Name;
use zelavis_operator::Operator;
use zelavis_operator::bundle::{Bundle, BundleLimits};
use zelavis_operator::digest::Digest;
use zelavis_operator::keyring::{
    KeyEntry, KeyFileEntry, Keyring, KeyringFile, generate_signing_key, verifying_key_from_pem,
};
use zelavis_operator::signature::{ReleaseRecord, SignedRelease};
use zelavis_operator::store::sqlite::SqliteOperatorStore;
use zelavis_operator::time::Timestamp;

/// One test's platform: a working directory with a store, a keyring (the license key) and license tokens.
struct Platform {
    dir: tempfile::TempDir,
}

impl Platform {
    /// `acme.jwt` licenses acme-pay and the `marketplace_publisher` feature; `globex.jwt` only acme-pay;
    /// `forged.jwt` is signed by a key the keyring does not hold.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = write_license_keyring(dir.path());
        let claims = |sub: &str, features: &[&str]| license_claims(sub, &[PLUGIN], features, now_secs() + 3600);
        write_licenses(
            dir.path(),
            &key,
            &[
                ("acme.jwt", claims("acme", &["marketplace_publisher"])),
                ("globex.jwt", claims("globex", &[])),
            ],
        );
        let forger = generate_signing_key().unwrap();
        write_licenses(
            dir.path(),
            &forger,
            &[("forged.jwt", claims("globex", &["marketplace_publisher"]))],
        );
        Self { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Runs `zelavis --store <store> --actor tester@ci --keyring keyring.json <args>` in the platform's directory.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec![
            "--store",
            "sqlite:.zelavis/operator.db",
            "--actor",
            "tester@ci",
            "--keyring",
            "keyring.json",
        ];
        all.extend_from_slice(args);
        self.raw(&all)
    }

    /// Runs the binary with exactly these arguments, in the platform's directory.
    fn raw(&self, args: &[&str]) -> Run {
        run_binary(self.dir.path(), args, &[])
    }

    /// A plugin directory `dir` for `version`: manifest, module, two assets and a file that is not packed.
    fn plugin_dir(&self, dir: &str, version: &str, failing: bool) {
        let root = self.path(dir);
        std::fs::create_dir_all(root.join("assets/css")).unwrap();
        std::fs::write(
            root.join("zelavis.plugin.json"),
            serde_json::to_vec_pretty(&manifest(version)).unwrap(),
        )
        .unwrap();
        std::fs::write(root.join("plugin.wasm"), module(version, failing)).unwrap();
        std::fs::write(root.join("assets/logo.svg"), "<svg/>").unwrap();
        std::fs::write(root.join("assets/css/site.css"), "body{}").unwrap();
        std::fs::write(root.join("README.md"), "not packed").unwrap();
    }

    /// A release key `rel-1` in `keys/`, and the plugin directory `plugin` at 1.0.0 packed to `a.tar.gz`: what
    /// `bundle pack --json` said.
    fn packed(&self) -> Value {
        self.run(&["keygen", "--kid", "rel-1", "--out", "keys"]).ok();
        self.plugin_dir("plugin", "1.0.0", false);
        self.run(&["--json", "bundle", "pack", "plugin", "-o", "a.tar.gz"])
            .ok()
            .json()
    }

    /// acme (the publisher) and globex (made canary with `tenant update`).
    fn tenants(&self) {
        self.run(&create_tenant("acme", "pro", "acme.jwt")).ok();
        self.run(&create_tenant("globex", "pro", "globex.jwt")).ok();
        let updated = self
            .run(&["--json", "tenant", "update", "globex", "--canary", "true"])
            .ok()
            .json();
        assert_eq!(updated["canary"], true);
    }

    /// A release key `kid` in the keyring, a bundle of `version` packed and signed with it: `<name>.tar.gz`.
    fn signed_bundle(&self, name: &str, version: &str, failing: bool, kid: &str) -> String {
        if !self.path(&format!("keys/{kid}.key.pem")).exists() {
            // `run` passes --keyring keyring.json on the command line: keygen adds the key to it.
            self.run(&["keygen", "--kid", kid, "--out", "keys"]).ok();
            let ring: KeyringFile =
                serde_json::from_str(&std::fs::read_to_string(self.path("keyring.json")).unwrap()).unwrap();
            assert!(ring.keys.iter().any(|k| k.kid == kid), "{ring:?}");
        }
        self.plugin_dir(name, version, failing);
        let bundle = format!("{name}.tar.gz");
        self.run(&["bundle", "pack", name, "-o", &bundle]).ok();
        let key = format!("keys/{kid}.key.pem");
        self.run(&[
            "bundle",
            "sign",
            &bundle,
            "--key",
            &key,
            "--kid",
            kid,
            "--publisher",
            "Acme Payments",
        ])
        .ok();
        bundle
    }
}

fn openssl() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("openssl is not installed: its interoperability checks are skipped");
    }
    found
}

#[test]
fn keys_are_generated_once_and_openssl_reads_them() {
    let p = Platform::new();
    // Without --keyring the entry is printed, and is a keyring file entry.
    let shown = p.raw(&["keygen", "--kid", "solo-1", "--out", "keys"]).ok();
    let entry: KeyFileEntry = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(entry.kid, "solo-1");
    // Valid from the accepted clock skew before now, so a signer whose clock is a little behind is not refused.
    let skew = zelavis_operator::signature::MAX_CLOCK_SKEW_SECS;
    assert!(entry.not_before.as_secs() >= now_secs() - skew - 60, "{entry:?}");
    assert!(entry.not_before.as_secs() <= now_secs() - skew + 1, "{entry:?}");
    assert!(shown.stderr.contains("solo-1.key.pem"), "{shown:?}");
    let public = std::fs::read_to_string(p.path("keys/solo-1.pub.pem")).unwrap();
    assert_eq!(entry.public_key_pem, public);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(p.path("keys/solo-1.key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Nothing is overwritten; a key id must be able to name files.
    p.raw(&["keygen", "--kid", "solo-1", "--out", "keys"])
        .refused(4, "file_exists");
    p.raw(&["--json", "keygen", "--kid", "../up", "--out", "keys"])
        .refused(2, "invalid_kid");

    // With --keyring the key is added to that file (created when missing), once.
    let added = p
        .raw(&[
            "--json",
            "--keyring",
            "ring.json",
            "keygen",
            "--kid",
            "rel-1",
            "--out",
            "keys",
        ])
        .ok()
        .json();
    assert_eq!(added["keyring"], "ring.json");
    let ring = Keyring::from_json(&std::fs::read_to_string(p.path("ring.json")).unwrap()).unwrap();
    assert!(ring.get("rel-1").is_some());
    p.raw(&["--keyring", "ring.json", "keygen", "--kid", "rel-1", "--out", "other"])
        .refused(4, "kid_exists");
    assert!(!p.path("other/rel-1.key.pem").exists());
    p.run(&["keygen", "--kid", "rel-2", "--out", "keys"]).ok();
    let ring = Keyring::from_json(&std::fs::read_to_string(p.path("keyring.json")).unwrap()).unwrap();
    assert_eq!(ring.len(), 2, "the license key and rel-2");

    if !openssl() {
        return;
    }
    let dir = p.dir.path();
    for args in [
        vec!["pkey", "-in", "keys/rel-1.key.pem", "-noout"],
        vec!["pkey", "-pubin", "-in", "keys/rel-1.pub.pem", "-noout"],
    ] {
        let status = Command::new("openssl").args(&args).current_dir(dir).status().unwrap();
        assert!(status.success(), "openssl {args:?}");
    }
    // OpenSSL derives the same public key from the private one.
    let derived = Command::new("openssl")
        .args(["pkey", "-in", "keys/rel-1.key.pem", "-pubout"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(derived.stdout).unwrap(),
        std::fs::read_to_string(p.path("keys/rel-1.pub.pem")).unwrap()
    );
}

#[test]
fn bundles_pack_reproducibly_sign_and_verify() {
    let p = Platform::new();
    let first = p.packed();
    assert_eq!(first["plugin"], PLUGIN);
    assert_eq!(first["version"], "1.0.0");
    assert_eq!(
        first["files"],
        json!([
            "assets/css/site.css",
            "assets/logo.svg",
            "plugin.wasm",
            "zelavis.plugin.json"
        ])
    );
    assert_eq!(first["skipped"], json!(["README.md"]));
    let bytes = std::fs::read(p.path("a.tar.gz")).unwrap();
    assert_eq!(first["sha256"], Digest::of(&bytes).to_string());
    // The same files, written again (new modification times), pack to the same bytes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    p.plugin_dir("plugin", "1.0.0", false);
    let quiet = p.run(&["--quiet", "bundle", "pack", "plugin", "-o", "b.tar.gz"]).ok();
    assert_eq!(quiet.stdout.trim(), first["sha256"].as_str().unwrap());
    assert_eq!(std::fs::read(p.path("b.tar.gz")).unwrap(), bytes);
    // A directory without plugin.wasm is not a plugin.
    std::fs::create_dir_all(p.path("empty")).unwrap();
    std::fs::write(
        p.path("empty/zelavis.plugin.json"),
        serde_json::to_vec(&manifest("1.0.0")).unwrap(),
    )
    .unwrap();
    p.run(&["--json", "bundle", "pack", "empty", "-o", "e.tar.gz"])
        .refused(2, "invalid_bundle");
}

#[test]
fn signed_bundles_verify_and_every_refusal_has_its_code() {
    let p = Platform::new();
    let first = p.packed();
    p.run(&["bundle", "pack", "plugin", "-o", "b.tar.gz"]).ok();
    let bytes = std::fs::read(p.path("a.tar.gz")).unwrap();

    // Signed beside the bundle, verified against the keyring.
    let signed = p
        .run(&[
            "--json",
            "bundle",
            "sign",
            "a.tar.gz",
            "--key",
            "keys/rel-1.key.pem",
            "--kid",
            "rel-1",
            "--publisher",
            "Acme Payments",
        ])
        .ok()
        .json();
    assert_eq!(signed["signature_file"], "a.tar.gz.sig");
    assert_eq!(signed["record"]["bundle_sha256"], first["sha256"]);
    let verified = p.run(&["--json", "bundle", "verify", "a.tar.gz"]).ok().json();
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["plugin"], PLUGIN);
    assert_eq!(verified["version"], "1.0.0");
    assert_eq!(verified["kid"], "rel-1");
    assert_eq!(verified["bundle_sha256"], first["sha256"]);
    let human = p.run(&["bundle", "verify", "a.tar.gz"]).ok();
    assert!(human.stdout.contains("verified acme-pay@1.0.0"), "{human:?}");

    // One byte changed: tampered_bundle.
    let mut tampered = bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    std::fs::write(p.path("t.tar.gz"), &tampered).unwrap();
    p.run(&["--json", "bundle", "verify", "t.tar.gz", "--sig", "a.tar.gz.sig"])
        .refused(1, "tampered_bundle");
    p.run(&["bundle", "verify", "t.tar.gz", "--sig", "a.tar.gz.sig"])
        .refused(1, "tampered_bundle");
    // An edited record: tampered_record.
    let sig = std::fs::read_to_string(p.path("a.tar.gz.sig")).unwrap();
    std::fs::write(p.path("edited.sig"), sig.replace("Acme Payments", "Evil Payments")).unwrap();
    p.run(&["--json", "bundle", "verify", "a.tar.gz", "--sig", "edited.sig"])
        .refused(1, "tampered_record");
    // A key the keyring does not know.
    p.raw(&["keygen", "--kid", "stranger", "--out", "keys"]).ok();
    p.run(&[
        "bundle",
        "sign",
        "b.tar.gz",
        "--key",
        "keys/stranger.key.pem",
        "--kid",
        "stranger",
        "--publisher",
        "X",
    ])
    .ok();
    p.run(&["--json", "bundle", "verify", "b.tar.gz"])
        .refused(1, "unknown_kid");
    // A revoked key refuses everything.
    let mut ring = Keyring::from_json(&std::fs::read_to_string(p.path("keyring.json")).unwrap()).unwrap();
    ring.revoke("rel-1", Timestamp::from_secs(now_secs())).unwrap();
    std::fs::write(p.path("revoked.json"), ring.to_json().unwrap()).unwrap();
    p.raw(&["--json", "--keyring", "revoked.json", "bundle", "verify", "a.tar.gz"])
        .refused(1, "revoked_key");
    // No keyring, no verification; a bad key file is a usage error.
    p.raw(&["--json", "bundle", "verify", "a.tar.gz"])
        .refused(2, "no_keyring");
    p.run(&[
        "--json",
        "bundle",
        "sign",
        "a.tar.gz",
        "--key",
        "keys/rel-1.pub.pem",
        "--kid",
        "rel-1",
        "--publisher",
        "X",
    ])
    .refused(2, "invalid_key");
}

#[test]
fn openssl_signs_and_its_keys_sign_what_zelavis_verifies() {
    if !openssl() {
        return;
    }
    let p = Platform::new();
    let dir = p.dir.path();
    p.run(&["keygen", "--kid", "rel-1", "--out", "keys"]).ok();
    p.plugin_dir("plugin", "1.0.0", false);
    p.run(&["bundle", "pack", "plugin", "-o", "a.tar.gz"]).ok();

    // OpenSSL signs the record's canonical JSON with zelavis's key.
    let bytes = std::fs::read(p.path("a.tar.gz")).unwrap();
    let bundle = Bundle::read(&bytes, &BundleLimits::default()).unwrap();
    let now = Timestamp::from_millis(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
    );
    let record = ReleaseRecord::for_bundle(&bundle, "Acme Payments", "rel-1", now).unwrap();
    std::fs::write(p.path("record.json"), record.canonical_json()).unwrap();
    let status = Command::new("openssl")
        .args([
            "pkeyutl",
            "-sign",
            "-rawin",
            "-inkey",
            "keys/rel-1.key.pem",
            "-in",
            "record.json",
            "-out",
            "record.bin",
        ])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let signature = base64::engine::general_purpose::STANDARD.encode(std::fs::read(p.path("record.bin")).unwrap());
    std::fs::write(p.path("openssl.sig"), SignedRelease { record, signature }.to_json()).unwrap();
    p.run(&["bundle", "verify", "a.tar.gz", "--sig", "openssl.sig"]).ok();

    // A key OpenSSL generated signs with `zelavis bundle sign`, once its public key is in the keyring.
    for args in [
        vec!["genpkey", "-algorithm", "ed25519", "-out", "ossl.key.pem"],
        vec!["pkey", "-in", "ossl.key.pem", "-pubout", "-out", "ossl.pub.pem"],
    ] {
        assert!(
            Command::new("openssl")
                .args(&args)
                .current_dir(dir)
                .status()
                .unwrap()
                .success()
        );
    }
    let public = verifying_key_from_pem(&std::fs::read_to_string(p.path("ossl.pub.pem")).unwrap()).unwrap();
    let mut ring = Keyring::from_json(&std::fs::read_to_string(p.path("keyring.json")).unwrap()).unwrap();
    ring.insert(KeyEntry::new("ossl", public, Timestamp::EPOCH));
    std::fs::write(p.path("keyring.json"), ring.to_json().unwrap()).unwrap();
    p.run(&[
        "bundle",
        "sign",
        "a.tar.gz",
        "--key",
        "ossl.key.pem",
        "--kid",
        "ossl",
        "--publisher",
        "Acme",
        "-o",
        "ossl.sig",
    ])
    .ok();
    let verified = p
        .run(&["--json", "bundle", "verify", "a.tar.gz", "--sig", "ossl.sig"])
        .ok()
        .json();
    assert_eq!(verified["kid"], "ossl");
}

#[test]
fn a_signed_bundle_is_published_once_by_a_licensed_publisher() {
    let p = Platform::new();
    p.tenants();
    let bundle = p.signed_bundle("v1", "1.0.0", false, "rel-1");

    // globex's license lacks marketplace_publisher: refused, nothing stored.
    p.run(&["--json", "plugin", "publish", &bundle, "--tenant", "globex"])
        .refused(1, "feature_denied");
    assert_eq!(p.run(&["--json", "plugin", "status", PLUGIN]).ok().json(), json!([]));
    assert!(
        p.run(&["plugin", "status", PLUGIN])
            .ok()
            .stdout
            .contains("no rollouts of acme-pay")
    );
    p.run(&["--json", "plugin", "status", PLUGIN, "1.0.0"])
        .refused(3, "version_not_found");
    p.run(&[
        "--json", "plugin", "publish", &bundle, "--tenant", "acme", "--wait", "24",
    ])
    .refused(2, "usage");

    // From acme: verified and smoke-tested, with figures.
    let published = p
        .run(&["--json", "plugin", "publish", &bundle, "--tenant", "acme"])
        .ok()
        .json();
    assert_eq!(published["state"], "smoke_tested", "{published}");
    let smoke = &published["smoke"];
    assert_eq!(smoke["passed"], true);
    assert!(
        smoke["checks"].as_array().unwrap().iter().any(|c| c == "activated"),
        "{smoke}"
    );
    assert!(
        smoke["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("/status answered 200")),
        "{smoke}"
    );
    assert!(smoke["fuel_total"].as_u64().unwrap() > 0, "{smoke}");
    assert!(smoke["memory_peak_bytes"].as_u64().unwrap() > 0, "{smoke}");
    assert!(smoke["elapsed_micros"].as_u64().unwrap() > 0, "{smoke}");
    assert!(
        p.path(".zelavis/plugins/acme-pay/1.0.0/plugin.wasm").exists(),
        "the module is in the hosts' cache"
    );
    // The same version again: never reused.
    p.run(&["--json", "plugin", "publish", &bundle, "--tenant", "acme"])
        .refused(4, "version_exists");
    p.run(&["plugin", "publish", &bundle, "--tenant", "acme"])
        .refused(4, "version_exists");
}

/// A platform with acme-pay 1.0.0 published and smoke-tested.
fn published() -> Platform {
    let p = Platform::new();
    p.tenants();
    let bundle = p.signed_bundle("v1", "1.0.0", false, "rel-1");
    assert_eq!(
        p.run(&["--json", "plugin", "publish", &bundle, "--tenant", "acme"])
            .ok()
            .json()["state"],
        "smoke_tested"
    );
    p
}

#[test]
fn a_rollout_is_canaried_paused_rolled_back_or_promoted() {
    let p = published();
    // The canary on globex; promotion before the 24 h wait is a conflict.
    p.run(&["--json", "plugin", "canary", PLUGIN, "1.0.0", "--tenant", "acme"])
        .refused(4, "conflict");
    let canary = p
        .run(&["--json", "plugin", "canary", PLUGIN, "1.0.0", "--tenant", "globex"])
        .ok()
        .json();
    assert_eq!(canary["state"], "canary");
    assert_eq!(canary["canary"][0]["tenant"], "globex");
    p.run(&["--json", "plugin", "promote", PLUGIN, "1.0.0"])
        .refused(4, "conflict");
    // No window has ended yet.
    let judged = p.run(&["--json", "plugin", "judge", PLUGIN, "1.0.0"]).ok().json();
    assert_eq!(judged["state"], "canary");
    assert_eq!(judged["windows"], json!([]));
    assert!(
        p.run(&["plugin", "judge", PLUGIN, "1.0.0"])
            .ok()
            .stdout
            .contains("no window has ended")
    );

    // Pause, resume, roll back.
    assert_eq!(
        p.run(&["--json", "plugin", "pause", PLUGIN, "1.0.0"]).ok().json()["state"],
        "paused"
    );
    assert!(
        p.run(&["plugin", "status", PLUGIN])
            .ok()
            .stdout
            .contains("paused (from canary)")
    );
    assert_eq!(
        p.run(&["--json", "plugin", "resume", PLUGIN, "1.0.0", "--reason", "looked fine"])
            .ok()
            .json()["state"],
        "canary"
    );
    p.run(&["plugin", "rollback", PLUGIN, "1.0.0", "--reason", ""])
        .refused(2, "invalid_reason");
    let rolled = p
        .run(&[
            "--json",
            "plugin",
            "rollback",
            PLUGIN,
            "1.0.0",
            "--reason",
            "errors on checkout",
        ])
        .ok()
        .json();
    assert_eq!(rolled["state"], "rolled_back");
    p.run(&["--json", "plugin", "promote", PLUGIN, "1.0.0"])
        .refused(4, "conflict");

    // A version with no wait goes all the way.
    let v2 = p.signed_bundle("v2", "1.1.0", false, "rel-1");
    let published = p
        .run(&[
            "--json", "plugin", "publish", &v2, "--tenant", "acme", "--wait", "0s", "--window", "90m",
        ])
        .ok()
        .json();
    assert_eq!(published["wait"], 0);
    assert_eq!(published["judge"]["window"], 90 * 60 * 1000);
    p.run(&["plugin", "canary", PLUGIN, "1.1.0", "--tenant", "globex"]).ok();
    let promoted = p
        .run(&["plugin", "promote", PLUGIN, "1.1.0", "--reason", "clean canary"])
        .ok();
    assert!(promoted.stdout.contains("promoted acme-pay@1.1.0"), "{promoted:?}");
    let row = p.run(&["--json", "plugin", "show", PLUGIN]).ok().json();
    assert_eq!(row["version"], "1.1.0", "{row}");
}

#[test]
fn a_failed_smoke_test_fails_the_rollout_and_status_shows_every_rollout() {
    let p = published();
    p.run(&["plugin", "canary", PLUGIN, "1.0.0", "--tenant", "globex"]).ok();
    p.run(&["plugin", "pause", PLUGIN, "1.0.0"]).ok();
    p.run(&["plugin", "resume", PLUGIN, "1.0.0"]).ok();
    p.run(&["plugin", "rollback", PLUGIN, "1.0.0", "--reason", "errors on checkout"])
        .ok();
    let v2 = p.signed_bundle("v2", "1.1.0", false, "rel-1");
    p.run(&["plugin", "publish", &v2, "--tenant", "acme", "--wait", "0s"])
        .ok();
    p.run(&["plugin", "canary", PLUGIN, "1.1.0", "--tenant", "globex"]).ok();
    p.run(&["plugin", "promote", PLUGIN, "1.1.0"]).ok();

    // A smoke test that fails: exit 1, the rollout is kept as failed with its evidence.
    let broken = p.signed_bundle("v3", "1.2.0", true, "rel-1");
    let failed = p
        .run(&["--json", "plugin", "publish", &broken, "--tenant", "acme"])
        .refused(1, "rollout_failed")
        .json();
    assert_eq!(failed["rollout"]["state"], "failed");
    assert_eq!(failed["rollout"]["smoke"]["passed"], false);
    let human = p
        .run(&[
            "plugin",
            "publish",
            &p.signed_bundle("v4", "1.3.0", true, "rel-1"),
            "--tenant",
            "acme",
        ])
        .refused(1, "rollout_failed");
    assert!(
        human.stdout.contains("smoke test") && human.stdout.contains("FAILED"),
        "{human:?}"
    );

    // Status: every rollout as a table and as JSON, one rollout in full.
    let all = p.run(&["--json", "plugin", "status", PLUGIN]).ok().json();
    let states: Vec<(&str, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["version"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("1.0.0", "rolled_back"),
            ("1.1.0", "promoted"),
            ("1.2.0", "failed"),
            ("1.3.0", "failed")
        ]
    );
    let table = p.run(&["plugin", "status"]).ok().stdout;
    assert!(
        table.starts_with("PLUGIN") && table.contains("rolled_back") && table.contains("promoted"),
        "{table}"
    );
    let one = p.run(&["--json", "plugin", "status", PLUGIN, "1.0.0"]).ok().json();
    let history: Vec<&str> = one["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "uploaded",
            "verified",
            "smoke_tested",
            "canary",
            "paused",
            "canary",
            "rolled_back"
        ]
    );
    let detail = p.run(&["plugin", "status", PLUGIN, "1.0.0"]).ok().stdout;
    assert!(
        detail.contains("history:") && detail.contains("errors on checkout") && detail.contains("fuel"),
        "{detail}"
    );

    // Every step is in the audit log, intact.
    p.run(&["audit", "verify"]).ok();
    let events = p.run(&["--json", "audit", "show", "--limit", "1000"]).ok().json();
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["entry"]["action"].as_str())
        .collect();
    for action in [
        "rollout.upload",
        "rollout.smoke_test",
        "rollout.canary",
        "rollout.rollback",
        "rollout.promote",
        "rollout.fail",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[test]
fn canary_windows_are_judged_on_the_traffic_hosts_recorded() {
    let p = Platform::new();
    p.tenants();
    let bundle = p.signed_bundle("v1", "1.0.0", false, "rel-1");
    p.run(&["plugin", "publish", &bundle, "--tenant", "acme", "--window", "1s"])
        .ok();
    p.run(&["plugin", "canary", PLUGIN, "1.0.0", "--tenant", "globex"]).ok();
    // Hosts report traffic: 1 error in 200 on the canary, 2 in 1000 on the baseline.
    block_on(async {
        let operator = Operator::builder(SqliteOperatorStore::open(p.path(".zelavis/operator.db")).unwrap()).build();
        let plugin = Name::parse(PLUGIN).unwrap();
        for (tenant, requests, errors) in [("globex", 200, 1), ("acme", 1000, 2)] {
            let tenant = Name::parse(tenant).unwrap();
            operator
                .record_traffic(&tenant, &plugin, "host-1", requests, errors)
                .await
                .unwrap();
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let judged = p.run(&["--json", "plugin", "judge", PLUGIN, "1.0.0"]).ok().json();
    let windows = judged["windows"].as_array().unwrap();
    assert!(!windows.is_empty(), "{judged}");
    assert_eq!(windows[0]["verdict"], "pass", "{judged}");
    assert_eq!(windows[0]["counts"]["canary"], json!({"requests": 200, "errors": 1}));
    assert_eq!(windows[0]["counts"]["baseline"], json!({"requests": 1000, "errors": 2}));
    // Windows after the first that saw no new traffic are inconclusive: the rollout pauses.
    let expected = if windows.len() == 1 { "canary" } else { "paused" };
    assert_eq!(judged["state"], expected, "{judged}");
    let detail = p.run(&["plugin", "status", PLUGIN, "1.0.0"]).ok().stdout;
    assert!(
        detail.contains("1/200") && detail.contains("2/1000") && detail.contains("pass"),
        "{detail}"
    );
}

#[test]
fn tenants_are_updated() {
    let p = Platform::new();
    p.run(&["tenant", "create", "globex", "--tier", "pro", "--niche", "retail"])
        .ok();
    let updated = p
        .run(&[
            "--json",
            "tenant",
            "update",
            "globex",
            "--tier",
            "enterprise",
            "--canary",
            "true",
            "--license-file",
            "globex.jwt",
        ])
        .ok()
        .json();
    assert_eq!(
        (
            updated["tier"].as_str(),
            updated["canary"].as_bool(),
            updated["licensed"].as_bool()
        ),
        (Some("enterprise"), Some(true), Some(true))
    );
    assert_eq!(updated["niche"], "retail", "what is not given stays");
    let human = p
        .run(&["tenant", "update", "globex", "--canary", "false", "--niche", "food"])
        .ok();
    assert!(
        human.stdout.contains("canary yes -> no") && human.stdout.contains("niche retail -> food"),
        "{human:?}"
    );
    let shown = p.run(&["--json", "tenant", "show", "globex"]).ok().json();
    assert_eq!(
        (shown["canary"].as_bool(), shown["licensed"].as_bool()),
        (Some(false), Some(true)),
        "the license stays"
    );

    let same = p.run(&["tenant", "update", "globex", "--canary", "false"]).ok();
    assert!(same.stdout.contains("nothing changed"), "{same:?}");
    p.run(&["--json", "tenant", "update", "globex"])
        .refused(2, "nothing_to_change");
    p.run(&["--json", "tenant", "update", "globex", "--canary", "maybe"])
        .refused(2, "usage");
    p.run(&["--json", "tenant", "update", "globex", "--tier", "platinum"])
        .refused(1, "unknown_tier");
    p.run(&["--json", "tenant", "update", "globex", "--license-file", "forged.jwt"])
        .refused(1, "license_invalid");
    p.run(&["--json", "tenant", "update", "nobody", "--canary", "true"])
        .refused(3, "unknown_tenant");
    let events = p.run(&["--json", "audit", "show"]).ok().json();
    assert_eq!(
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["entry"]["action"] == "tenant.update")
            .count(),
        2
    );
}

#[test]
fn help_lists_the_publishing_commands_and_their_exit_codes() {
    let p = Platform::new();
    let help = p.raw(&["--help"]).ok().stdout;
    for word in [
        "keygen",
        "bundle",
        "Exit codes:",
        "version_exists",
        "tampered_bundle",
        "file_exists",
    ] {
        assert!(help.contains(word), "{word} in {help}");
    }
    let plugin = p.raw(&["plugin", "--help"]).ok().stdout;
    for word in [
        "publish", "canary", "judge", "promote", "rollback", "pause", "resume", "status",
    ] {
        assert!(plugin.contains(word), "{word} in {plugin}");
    }
}
