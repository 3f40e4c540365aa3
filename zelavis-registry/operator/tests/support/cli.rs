//! The `zelavis` binary, run in a test's directory, and the files it reads there: a keyring holding the
//! license key and signed license tokens.

use std::path::Path;
use std::process::Command;

use ed25519_dalek::SigningKey;
use serde_json::Value;
use zelavis_operator::keyring::{KeyEntry, Keyring, generate_signing_key};
use zelavis_operator::license::token::{LicenseClaims, issue_license};
use zelavis_operator::time::Timestamp;

/// The key id of the license key [`write_license_keyring`] makes.
pub(crate) const LICENSE_KID: &str = "licensing-test";

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Standard output, as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Exited 0.
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }

    /// Exited `code`.
    #[track_caller]
    pub(crate) fn exits(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit {code}: {self:?}");
        self
    }

    /// Exits `code` with the `--json` error document naming `error` on stdout.
    #[track_caller]
    pub(crate) fn fails_with(self, code: i32, error: &str) -> Self {
        let run = self.exits(code);
        assert_eq!(run.json()["error"].as_str(), Some(error), "{run:?}");
        run
    }

    /// Exits `code` with the error code `error` (in the `--json` error document, or the `[code]` on stderr).
    #[track_caller]
    pub(crate) fn refused(self, code: i32, error: &str) -> Self {
        assert_eq!(self.code, code, "expected exit {code}: {self:?}");
        let found = serde_json::from_str::<Value>(&self.stdout)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| {
                self.stderr
                    .rsplit_once('[')
                    .map(|(_, rest)| rest.trim().trim_end_matches(']').to_owned())
                    .unwrap_or_default()
            });
        assert_eq!(found, error, "{self:?}");
        self
    }
}

/// Runs the binary in `dir` with exactly these arguments and this extra environment: none of the `ZELAVIS_`
/// variables it reads is inherited.
pub(crate) fn run_binary(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zelavis"));
    command.args(args).current_dir(dir);
    for var in [
        "ZELAVIS_OPERATOR_STORE",
        "ZELAVIS_ACTOR",
        "ZELAVIS_KEYRING",
        "ZELAVIS_TIERS",
        "ZELAVIS_PLUGIN_CACHE",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The arguments of `tenant create <id> --tier <tier> --niche retail --license-file <license>`.
pub(crate) fn create_tenant<'a>(id: &'a str, tier: &'a str, license: &'a str) -> Vec<&'a str> {
    vec![
        "tenant",
        "create",
        id,
        "--tier",
        tier,
        "--niche",
        "retail",
        "--license-file",
        license,
    ]
}

/// The time now, in seconds since the epoch.
pub(crate) fn now_secs() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Writes `keyring.json` in `dir`, holding a new license key [`LICENSE_KID`] valid since the epoch, and returns
/// the key.
pub(crate) fn write_license_keyring(dir: &Path) -> SigningKey {
    let key = generate_signing_key().unwrap();
    let mut keyring = Keyring::new();
    keyring.insert(KeyEntry::new(LICENSE_KID, key.verifying_key(), Timestamp::EPOCH));
    std::fs::write(dir.join("keyring.json"), keyring.to_json().unwrap()).unwrap();
    key
}

/// A pro license for `sub`, issued an hour ago, licensing `plugins` and `features` until `exp` (seconds).
pub(crate) fn license_claims(sub: &str, plugins: &[&str], features: &[&str], exp: i64) -> LicenseClaims {
    LicenseClaims {
        sub: sub.into(),
        licensed_plugins: plugins.iter().map(|p| (*p).to_owned()).collect(),
        tier: "pro".into(),
        niche_packages: vec![],
        features: features.iter().map(|f| (*f).to_owned()).collect(),
        exp,
        iat: now_secs() - 3600,
    }
}

/// Writes each token file of `tokens` in `dir`: its claims, signed with `key` as [`LICENSE_KID`], on one line.
pub(crate) fn write_licenses(dir: &Path, key: &SigningKey, tokens: &[(&str, LicenseClaims)]) {
    for (file, claims) in tokens {
        std::fs::write(dir.join(file), issue_license(claims, LICENSE_KID, key) + "\n").unwrap();
    }
}
