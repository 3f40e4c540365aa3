//! The `zelavis` binary against an SQLite operator store in a temp directory: the catalog is seeded through
//! the library, everything else goes through the command line — its output (tables and JSON), its stable exit
//! codes and the audit log it leaves, down to a tampered audit table.
#![cfg(feature = "cli")]

mod support;

use std::path::{Path, PathBuf};

use futures::executor::block_on;
use serde_json::{Value, json};
use support::cli::{Run, create_tenant, license_claims, now_secs, run_binary, write_license_keyring, write_licenses};
use zelavis_operator::Operator;
use zelavis_operator::catalog::{CatalogSource, PluginSpec};
use zelavis_operator::keyring::generate_signing_key;
use zelavis_operator::role::{Actor, Role};
use zelavis_operator::store::sqlite::SqliteOperatorStore;
use zelavis_plugin::PluginDef;
use zelavis_plugin::settings::{SettingField, SettingKind};

/// One test's platform: a store file, a keyring file, license token files, a working directory.
struct Platform {
    dir: tempfile::TempDir,
    db: PathBuf,
    keyring: PathBuf,
}

fn def(name: &str, version: &str) -> PluginDef {
    PluginDef::builder(name).version(version).build().unwrap()
}

impl Platform {
    /// A store holding the catalog (registered through the library, as a host does at start), a keyring and
    /// signed license tokens: `acme.jwt` licenses everything, `globex.jwt` only stripe, `initech.jwt` has
    /// expired, `forged.jwt` is signed with a key the keyring does not hold.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(".zelavis/operator.db");
        {
            let operator = Operator::builder(SqliteOperatorStore::open(&db).unwrap()).build();
            let host = Actor::new("host@boot", Role::Owner);
            let stripe_next = PluginDef::builder("stripe")
                .version("2.5.0")
                .setting(SettingField::new("api_key", "API key", SettingKind::Password))
                .setting(
                    SettingField::new("mode", "Mode", SettingKind::Select)
                        .option("live", "Live")
                        .option("test", "Test")
                        .default_value("test"),
                )
                .setting(SettingField::new("limit", "Limit", SettingKind::Number))
                .build()
                .unwrap();
            let catalog = [
                (
                    def("stripe", "2.4.0"),
                    PluginSpec::new(CatalogSource::BuiltIn, "acme-payments").title("Stripe"),
                ),
                (
                    stripe_next,
                    PluginSpec::new(CatalogSource::BuiltIn, "acme-payments").title("Stripe"),
                ),
                (
                    def("payments", "1.0.0"),
                    PluginSpec::new(CatalogSource::BuiltIn, "acme-payments"),
                ),
                (
                    def("reports", "1.0.0"),
                    PluginSpec::new(CatalogSource::Premium, "acme").tier_minimum("growth"),
                ),
                (
                    def("bookings", "1.0.0"),
                    PluginSpec::new(CatalogSource::Premium, "acme").niche("restaurants"),
                ),
            ];
            block_on(async {
                for (def, spec) in &catalog {
                    operator.register_builtin(&host, def, spec.clone()).await.unwrap();
                }
            });
        }

        let key = write_license_keyring(dir.path());
        let now = now_secs();
        let claims = |sub: &str, plugins: &[&str], exp: i64| license_claims(sub, plugins, &[], exp);
        write_licenses(
            dir.path(),
            &key,
            &[
                (
                    "acme.jwt",
                    claims("acme", &["stripe", "payments", "reports", "bookings"], now + 3600),
                ),
                ("globex.jwt", claims("globex", &["stripe"], now + 3600)),
                ("initech.jwt", claims("initech", &["stripe"], now - 60)),
            ],
        );
        let forger = generate_signing_key().unwrap();
        write_licenses(
            dir.path(),
            &forger,
            &[("forged.jwt", claims("umbrella", &["stripe"], now + 3600))],
        );
        Self {
            keyring: dir.path().join("keyring.json"),
            dir,
            db,
        }
    }

    fn path(&self, file: &str) -> String {
        self.dir.path().join(file).display().to_string()
    }

    fn store(&self) -> String {
        format!("sqlite:{}", self.db.display())
    }

    /// Runs `zelavis --store <this store> --actor tester@ci --keyring <file> <args>`.
    fn run(&self, args: &[&str]) -> Run {
        let store = self.store();
        let keyring = self.keyring.display().to_string();
        let mut all = vec!["--store", &store, "--actor", "tester@ci", "--keyring", &keyring];
        all.extend_from_slice(args);
        self.raw(&all, &[])
    }

    /// Runs `--json tenant create umbrella --tier pro --niche x --license-file <license>`.
    fn create_umbrella(&self, license: &str) -> Run {
        self.run(&[
            "--json",
            "tenant",
            "create",
            "umbrella",
            "--tier",
            "pro",
            "--niche",
            "x",
            "--license-file",
            license,
        ])
    }

    /// Runs the binary with exactly these arguments and extra environment, in the platform's directory.
    fn raw(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        run_binary(self.dir.path(), args, env)
    }

    /// acme (pro) and globex (enterprise, canary) with verified licenses; initech with its expired token stored
    /// unverified (no keyring), as an older tool might have done.
    fn tenants(&self) {
        let (acme, globex, initech) = (self.path("acme.jwt"), self.path("globex.jwt"), self.path("initech.jwt"));
        self.run(&create_tenant("acme", "pro", &acme)).ok();
        let mut canary = create_tenant("globex", "enterprise", &globex);
        canary.push("--canary");
        self.run(&canary).ok();
        let store = self.store();
        let mut without_keyring = vec!["--store", &store, "--actor", "tester@ci"];
        without_keyring.extend(create_tenant("initech", "pro", &initech));
        let unverified = self.raw(&without_keyring, &[]).ok();
        assert!(unverified.stderr.contains("unverified"), "{unverified:?}");
    }
}

fn enablement(run: &Run) -> Value {
    run.json()["enablement"].clone()
}

#[test]
fn tenants_are_created_listed_and_shown() {
    let platform = Platform::new();
    platform.tenants();

    let table = platform.run(&["tenant", "list"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three tenants: {table}");
    let tier_column = lines[0].find("TIER").unwrap();
    let globex = lines.iter().find(|l| l.starts_with("globex")).unwrap();
    assert_eq!(
        globex.find("enterprise"),
        Some(tier_column),
        "columns are aligned:\n{table}"
    );
    assert!(globex.contains("yes") && globex.contains("stored"), "{globex}");

    let listed = platform.run(&["tenant", "list", "--json"]).ok().json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "globex", "initech"]);
    let globex = &listed[1];
    assert_eq!(
        (
            globex["tier"].clone(),
            globex["canary"].clone(),
            globex["licensed"].clone()
        ),
        (json!("enterprise"), json!(true), json!(true))
    );
    assert!(
        globex.get("license").is_none(),
        "the license token is never printed: {globex}"
    );

    let shown = platform.run(&["--json", "tenant", "show", "acme"]).ok().json();
    assert_eq!(
        (shown["niche"].clone(), shown["licensed"].clone()),
        (json!("retail"), json!(true))
    );
    assert!(platform.run(&["tenant", "show", "acme"]).ok().stdout.contains("retail"));

    // --quiet keeps a change silent; the data commands still print.
    assert_eq!(
        platform
            .run(&[
                "-q", "tenant", "create", "hooli", "--tier", "starter", "--niche", "retail"
            ])
            .ok()
            .stdout,
        ""
    );
    assert!(platform.run(&["-q", "tenant", "list"]).ok().stdout.contains("hooli"));
    assert_eq!(
        platform.run(&["--json", "tenant", "show", "hooli"]).ok().json()["licensed"],
        json!(false)
    );
}

#[test]
fn a_grant_is_enabled_pinned_unpinned_and_disabled() {
    let platform = Platform::new();
    platform.tenants();

    let enabled = platform.run(&["--json", "tenant", "enable", "acme", "stripe"]).ok();
    assert_eq!(enabled.json()["changed"], json!(true));
    assert_eq!(enablement(&enabled)["version"], json!("2.5.0"), "default-latest");
    let again = platform.run(&["--json", "tenant", "enable", "acme", "stripe"]).ok();
    assert_eq!(
        again.json()["changed"],
        json!(false),
        "enabling what is enabled changes nothing"
    );

    let pinned = platform
        .run(&["--json", "tenant", "pin", "acme", "stripe", "2.4.0"])
        .ok();
    assert_eq!(
        (
            enablement(&pinned)["version"].clone(),
            enablement(&pinned)["pin"].clone()
        ),
        (json!("2.4.0"), json!("2.4.0"))
    );

    let plugins = platform.run(&["tenant", "plugins", "acme", "--json"]).ok().json();
    let stripe = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plugin"] == "stripe")
        .unwrap()
        .clone();
    assert_eq!(
        (
            stripe["enabled"].clone(),
            stripe["version"].clone(),
            stripe["pin"].clone()
        ),
        (json!(true), json!("2.4.0"), json!("2.4.0"))
    );
    let table = platform.run(&["tenant", "plugins", "acme"]).ok().stdout;
    let row = table.lines().find(|l| l.starts_with("stripe")).unwrap();
    assert!(row.contains("yes") && row.contains("2.4.0"), "{table}");

    let unpinned = platform.run(&["--json", "tenant", "unpin", "acme", "stripe"]).ok();
    assert_eq!(
        (
            enablement(&unpinned)["version"].clone(),
            enablement(&unpinned)["pin"].clone()
        ),
        (json!("2.5.0"), Value::Null)
    );

    let human = platform.run(&["tenant", "disable", "acme", "stripe"]).ok().stdout;
    assert!(human.contains("disabled") && human.contains("next sync"), "{human}");
    let disabled = platform.run(&["--json", "tenant", "disable", "acme", "stripe"]).ok();
    assert_eq!(
        (
            disabled.json()["changed"].clone(),
            enablement(&disabled)["enabled"].clone()
        ),
        (json!(false), json!(false))
    );
}

#[test]
fn refusals_exit_1() {
    let platform = Platform::new();
    platform.tenants();

    platform
        .run(&["--json", "tenant", "enable", "acme", "reports"])
        .fails_with(1, "tier_too_low");
    platform
        .run(&["--json", "tenant", "enable", "globex", "reports"])
        .fails_with(1, "license_denied");
    platform
        .run(&["--json", "tenant", "enable", "initech", "stripe"])
        .fails_with(1, "license_invalid");
    let refused = platform
        .run(&["tenant", "enable", "acme", "stripe", "--version", "banana"])
        .exits(1);
    assert!(
        refused.stderr.starts_with("error: ") && refused.stderr.contains("[invalid_version]"),
        "{refused:?}"
    );
    platform
        .run(&["--json", "tenant", "pin", "acme", "stripe", "2.x"])
        .fails_with(1, "invalid_version");
    platform
        .run(&[
            "--json", "tenant", "create", "Bad Name", "--tier", "pro", "--niche", "x",
        ])
        .fails_with(1, "invalid_name");
    platform
        .run(&[
            "--json", "tenant", "create", "umbrella", "--tier", "gold", "--niche", "x",
        ])
        .fails_with(1, "unknown_tier");
}

#[test]
fn licenses_are_verified_against_the_keyring() {
    let platform = Platform::new();
    platform.tenants();
    let expired = platform
        .run(&["--json", "tenant", "enable", "initech", "stripe"])
        .exits(1)
        .json();
    assert!(expired["message"].as_str().unwrap().contains("expired"), "{expired}");
    let store = platform.store();
    let unverifiable = platform
        .raw(
            &["--store", &store, "--json", "tenant", "enable", "acme", "stripe"],
            &[],
        )
        .exits(1)
        .json();
    assert_eq!(
        unverifiable["error"], "license_invalid",
        "without a keyring no license verifies"
    );
    assert!(
        unverifiable["message"].as_str().unwrap().contains("--keyring"),
        "{unverifiable}"
    );
    // With a keyring, a token that would never verify is refused when the tenant is created.
    let (forged, globex) = (platform.path("forged.jwt"), platform.path("globex.jwt"));
    platform.create_umbrella(&forged).fails_with(1, "license_invalid");
    let stolen = platform.create_umbrella(&globex).exits(1).json();
    assert!(
        stolen["message"].as_str().unwrap().contains("issued to \"globex\""),
        "{stolen}"
    );
    platform.run(&["tenant", "show", "umbrella"]).exits(3);
    let bad_keyring = platform.path("acme.jwt");
    platform
        .raw(
            &["--store", &store, "--keyring", &bad_keyring, "--json", "tenant", "list"],
            &[],
        )
        .fails_with(2, "invalid_keyring");
}

#[test]
fn not_found_exits_3_and_conflicts_exit_4() {
    let platform = Platform::new();
    platform.tenants();

    platform
        .run(&["--json", "tenant", "enable", "acme", "stripe", "--version", "9.9.9"])
        .fails_with(3, "version_not_found");
    platform
        .run(&["--json", "tenant", "pin", "acme", "stripe", "3.0.0"])
        .fails_with(3, "version_not_found");
    let unknown = platform.run(&["tenant", "show", "nobody"]).exits(3);
    assert_eq!(unknown.stdout, "");
    assert!(
        unknown.stderr.contains("error: no tenant \"nobody\"") && unknown.stderr.contains("[unknown_tenant]"),
        "{unknown:?}"
    );
    let unknown = platform.run(&["--json", "tenant", "show", "nobody"]).exits(3).json();
    assert_eq!(unknown["error"], "unknown_tenant");
    assert!(unknown["message"].as_str().unwrap().contains("nobody"));
    platform
        .run(&["--json", "tenant", "enable", "nobody", "stripe"])
        .fails_with(3, "unknown_tenant");
    platform
        .run(&["--json", "plugin", "show", "nothing"])
        .fails_with(3, "unknown_plugin");

    // 4: conflicts with the current state.
    platform
        .run(&["--json", "tenant", "enable", "acme", "bookings"])
        .fails_with(4, "niche_mismatch");
    platform
        .run(&[
            "--json", "tenant", "create", "acme", "--tier", "pro", "--niche", "retail",
        ])
        .fails_with(4, "already_exists");
}

#[test]
fn usage_errors_exit_2_and_store_failures_exit_5() {
    let platform = Platform::new();
    platform.tenants();

    assert!(
        platform
            .run(&["tenant", "frobnicate"])
            .exits(2)
            .stderr
            .contains("frobnicate")
    );
    assert!(
        platform
            .run(&["tenant", "create", "umbrella"])
            .exits(2)
            .stderr
            .contains("--tier")
    );
    let usage = platform
        .run(&["--json", "tenant", "create", "umbrella"])
        .exits(2)
        .json();
    assert_eq!(usage["error"], "usage");
    assert!(usage["message"].as_str().unwrap().contains("--tier"), "{usage}");
    platform.raw(&[], &[]).exits(2);
    platform
        .create_umbrella("/nonexistent/token")
        .fails_with(2, "file_unreadable");
    platform
        .raw(&["--store", "redis://localhost", "--json", "tenant", "list"], &[])
        .fails_with(2, "unsupported_store");
    assert!(platform.raw(&["--help"], &[]).ok().stdout.contains("Exit codes:"));

    // 5: the store cannot be opened (its directory would be inside a file).
    let blocker = platform.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let bad = format!("sqlite:{}", blocker.join("operator.db").display());
    platform
        .raw(&["--store", &bad, "--json", "tenant", "list"], &[])
        .fails_with(5, "store_failed");
    // The default store (`.zelavis/operator.db` here, the platform's) and the store from the environment.
    assert!(platform.raw(&["tenant", "list"], &[]).ok().stdout.contains("globex"));
    let other = platform.dir.path().join("other.db");
    let other = format!("sqlite:{}", other.display());
    platform
        .raw(
            &["tenant", "create", "solo", "--tier", "pro", "--niche", "x"],
            &[("ZELAVIS_OPERATOR_STORE", &other)],
        )
        .ok();
    assert!(
        platform
            .raw(&["--store", &other, "tenant", "list"], &[])
            .ok()
            .stdout
            .contains("solo")
    );
}

#[test]
fn deprecation_removal_and_kill_switches() {
    let platform = Platform::new();
    platform.tenants();
    platform.run(&["tenant", "enable", "acme", "stripe"]).ok();
    platform.run(&["tenant", "enable", "globex", "stripe"]).ok();

    let banners = platform
        .run(&[
            "--json",
            "plugin",
            "deprecate",
            "stripe",
            "--message",
            "moving to payments",
            "--replacement",
            "payments",
        ])
        .ok()
        .json();
    let tenants: Vec<&str> = banners
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["acme", "globex"]);
    assert_eq!(banners[0]["replacement"], "payments");
    let row = platform.run(&["--json", "plugin", "show", "stripe"]).ok().json();
    assert_eq!(
        (row["deprecated"]["message"].clone(), row["tenants_using"].clone()),
        (json!("moving to payments"), json!(2))
    );
    let catalog = platform.run(&["plugin", "list"]).ok().stdout;
    let stripe = catalog.lines().find(|l| l.starts_with("stripe")).unwrap();
    assert!(stripe.contains("deprecated") && stripe.contains("2.5.0"), "{catalog}");

    // Removal is refused while tenants use it, naming them.
    let refused = platform.run(&["plugin", "remove", "stripe"]).exits(4);
    assert!(
        refused.stderr.contains("acme") && refused.stderr.contains("globex") && refused.stderr.contains("[in_use]"),
        "{refused:?}"
    );
    let refused = platform.run(&["--json", "plugin", "remove", "stripe"]).exits(4).json();
    assert_eq!(
        (refused["error"].clone(), refused["tenants"].clone()),
        (json!("in_use"), json!(["acme", "globex"]))
    );
    platform.run(&["tenant", "disable", "acme", "stripe"]).ok();
    let refused = platform.run(&["--json", "plugin", "remove", "stripe"]).exits(4).json();
    assert_eq!(refused["tenants"], json!(["globex"]));
    platform.run(&["tenant", "disable", "globex", "stripe"]).ok();
    platform.run(&["plugin", "remove", "stripe"]).ok();
    let catalog = platform.run(&["--json", "plugin", "list"]).ok().json();
    assert!(
        catalog.as_array().unwrap().iter().all(|r| r["id"] != "stripe"),
        "a removed plugin leaves the catalog"
    );
    platform.run(&["plugin", "show", "stripe"]).exits(3);

    // A deprecation that closes the door refuses new tenants only.
    platform.run(&["tenant", "enable", "acme", "payments"]).ok();
    platform
        .run(&[
            "plugin",
            "deprecate",
            "payments",
            "--message",
            "closing",
            "--disallow-new-enable",
        ])
        .ok();
    platform.run(&["tenant", "enable", "acme", "payments"]).ok();

    // The kill switch.
    let killed = platform
        .run(&["--json", "plugin", "kill", "payments", "--reason", "leaks card numbers"])
        .ok()
        .json();
    assert_eq!(
        killed,
        json!({"plugin": "payments", "killed": true, "tenants": ["acme"]})
    );
    let plugins = platform.run(&["--json", "tenant", "plugins", "acme"]).ok().json();
    assert!(
        plugins
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["plugin"] == "payments" && p["killed"] == true)
    );
    platform.run(&["tenant", "disable", "acme", "payments"]).ok();
    let refused = platform
        .run(&["--json", "tenant", "enable", "acme", "payments"])
        .exits(4)
        .json();
    assert_eq!(refused["error"], "killed");
    assert_eq!(
        platform.run(&["--json", "plugin", "revive", "payments"]).ok().json()["killed"],
        json!(false)
    );
    // Revived, but still deprecated and closed: acme no longer has it, so it cannot take it again.
    let refused = platform
        .run(&["--json", "tenant", "enable", "acme", "payments"])
        .exits(4)
        .json();
    assert_eq!(refused["error"], "deprecated");
    platform.run(&["plugin", "kill", "payments"]).exits(2);
}

#[test]
fn settings_are_read_merged_and_validated() {
    let platform = Platform::new();
    platform.tenants();
    platform.run(&["tenant", "enable", "acme", "stripe"]).ok();

    assert_eq!(
        platform
            .run(&["--json", "settings", "get", "acme", "stripe"])
            .ok()
            .json(),
        json!({"mode": "test"})
    );
    let saved = platform
        .run(&[
            "--json",
            "settings",
            "set",
            "acme",
            "stripe",
            "api_key=sk_live_1",
            "limit=5",
        ])
        .ok()
        .json();
    assert_eq!(saved, json!({"api_key": "********", "mode": "test", "limit": 5}));
    // key=value keeps the other keys; a redacted password keeps the stored one.
    let saved = platform
        .run(&["--json", "settings", "set", "acme", "stripe", "mode=live"])
        .ok()
        .json();
    assert_eq!(saved, json!({"api_key": "********", "mode": "live", "limit": 5}));
    let table = platform.run(&["settings", "get", "acme", "stripe"]).ok().stdout;
    assert!(
        table.lines().any(|l| l.starts_with("mode") && l.ends_with("live")),
        "{table}"
    );
    assert!(!table.contains("sk_live_1"), "passwords are never printed: {table}");

    let refused = platform
        .run(&[
            "--json",
            "settings",
            "set",
            "acme",
            "stripe",
            "mode=bogus",
            "limit=lots",
            "colour=red",
        ])
        .exits(1)
        .json();
    assert_eq!(refused["error"], "invalid_settings");
    let paths: Vec<&str> = refused["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 3, "every problem at once: {refused}");
    assert_eq!(paths[..2], ["$.mode", "$.limit"]);
    assert!(paths[2].contains("colour"), "{refused}");
    assert_eq!(
        platform
            .run(&["--json", "settings", "get", "acme", "stripe"])
            .ok()
            .json()["mode"],
        "live",
        "nothing was saved"
    );

    let saved = platform
        .run(&["--json", "settings", "set", "acme", "stripe", "--unset", "limit"])
        .ok()
        .json();
    assert!(saved.get("limit").is_none(), "{saved}");
    let file = platform.dir.path().join("settings.json");
    std::fs::write(&file, r#"{"api_key": "sk_live_2", "limit": 7}"#).unwrap();
    let file = file.display().to_string();
    let saved = platform
        .run(&["--json", "settings", "set", "acme", "stripe", "--file", &file])
        .ok()
        .json();
    assert_eq!(
        saved,
        json!({"api_key": "********", "mode": "test", "limit": 7}),
        "--file replaces the document"
    );

    platform
        .run(&["settings", "set", "acme", "stripe", "no-equals-sign"])
        .exits(2);
    platform.run(&["settings", "set", "acme", "stripe"]).exits(2);
    platform.run(&["settings", "get", "nobody", "stripe"]).exits(3);
}

#[test]
fn the_audit_log_is_shown_verified_and_tampering_is_found() {
    let platform = Platform::new();
    platform.tenants();
    platform.run(&["tenant", "enable", "acme", "stripe"]).ok();
    let store = platform.store();
    platform
        .raw(
            &[
                "--store", &store, "tenant", "create", "hooli", "--tier", "pro", "--niche", "retail",
            ],
            &[("USER", "ci")],
        )
        .ok();

    let events = platform
        .run(&["--json", "audit", "show", "--limit", "1000"])
        .ok()
        .json();
    let events = events.as_array().unwrap();
    let mine: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["entry"]["actor"].as_str().unwrap(),
                e["entry"]["action"].as_str().unwrap(),
            )
        })
        .filter(|(actor, _)| *actor != "host@boot")
        .collect();
    assert_eq!(
        mine,
        [
            ("tester@ci", "tenant.create"),
            ("tester@ci", "tenant.create"),
            ("tester@ci", "tenant.create"),
            ("tester@ci", "tenant.enable"),
            ("ci@local", "tenant.create"),
        ],
        "the actor is recorded, $USER@local by default"
    );
    let second = platform
        .run(&["--json", "audit", "show", "--after", "1", "--limit", "1"])
        .ok()
        .json();
    assert_eq!(second.as_array().unwrap().len(), 1);
    assert_eq!(second[0]["seq"], 2);
    let table = platform.run(&["audit", "show"]).ok().stdout;
    assert!(
        table.lines().next().unwrap().starts_with("SEQ") && table.contains("tenant.enable"),
        "{table}"
    );

    let verified = platform.run(&["--json", "audit", "verify"]).ok().json();
    assert_eq!(verified["events"], json!(events.len()));
    assert!(platform.run(&["audit", "verify"]).ok().stdout.contains("intact"));

    // Someone with write access to the file drops the guard and edits an event.
    let target = events.iter().find(|e| e["entry"]["action"] == "tenant.enable").unwrap()["seq"]
        .as_u64()
        .unwrap();
    tamper(&platform.db, target);
    let broken = platform.run(&["audit", "verify"]).exits(6);
    assert!(
        broken.stderr.contains(&format!("audit event {target} was edited")),
        "{broken:?}"
    );
    let broken = platform.run(&["--json", "audit", "verify"]).exits(6).json();
    assert_eq!(
        (broken["error"].clone(), broken["seq"].clone()),
        (json!("audit_invalid"), json!(target))
    );
}

fn tamper(db: &Path, seq: u64) {
    let connection = rusqlite::Connection::open(db).unwrap();
    connection
        .execute_batch("DROP TRIGGER operator_audit_no_update")
        .unwrap();
    let changed = connection
        .execute(
            "UPDATE operator_audit SET body = replace(body, 'tester@ci', 'mallory@ci') WHERE seq = ?1",
            [i64::try_from(seq).unwrap()],
        )
        .unwrap();
    assert_eq!(changed, 1);
}
