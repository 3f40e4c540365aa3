//! The `zelavis` command-line tool: the operator layer's calls on the operator store, for operators at a
//! terminal and for scripts.
//!
//! The tool opens the operator store directly (`--store`, default `sqlite:.zelavis/operator.db`, or a
//! `postgres://` URL) and builds an [`Operator`](zelavis_operator::Operator) over it with the platform's tier
//! order. It runs no tenant runtimes: a grant, pin, kill switch or removal is recorded in the store with its
//! audit event, and every running host applies it to the tenant's runtime at its next sync. Whoever can open
//! the store is an owner; `--actor` is the id the audit log records.
//!
//! Licenses are the signed tokens stored on tenants (`tenant create --license-file`), verified with the crate's
//! [`SignedLicenses`] against `--keyring` (the hosts' JSON keyring of public keys); without a keyring every
//! enable is refused with `license_invalid`.
//!
//! Output is a human table by default and the typed values as JSON with `--json`. Errors go to stderr as
//! `error: <message> [<code>]`, or with `--json` to stdout as the super-admin API's error document
//! `{"error": <code>, "message": ...}`.
//!
//! # Publishing
//!
//! `keygen --kid K` writes an Ed25519 release key as `K.key.pem` (PKCS#8, mode 0600) and `K.pub.pem` (SPKI), both
//! readable by OpenSSL, and prints its keyring entry — or adds it to the keyring file a `--keyring` on the
//! command line names (never to one only `ZELAVIS_KEYRING` names). `bundle pack` packs a plugin directory
//! reproducibly, `bundle sign` writes the signed release record beside the bundle (`<bundle>.sig`), `bundle
//! verify` checks it against `--keyring` now. These need no store.
//!
//! `plugin publish` runs [`Operator::publish`](zelavis_operator::Operator::publish) with a
//! [`WasmSandbox`] over the plugin cache (`--cache`, default `.zelavis/plugins`: the hosts' cache, so they
//! load what was accepted), verifying the signature against the same `--keyring` as licenses. It prints the
//! rollout's state and smoke-test figures; `plugin canary | judge | promote | rollback | pause | resume |
//! status` drive and show the rollout. `plugin judge` uses the built-in
//! [`OperatorHealthMonitor`](zelavis_operator::judge::OperatorHealthMonitor), which remembers totals only for
//! one run: the first window one run judges counts every request recorded so far.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the operator refused: a license, tier, role, name, version text, tier name or settings check failed; a tenant without a license feature (`feature_denied`); a signature refused (`tampered_bundle`, `tampered_manifest`, `unknown_kid`, `revoked_key`, `key_not_valid`, `malformed_signature`, ...); a rollout that ended failed (`rollout_failed`) — the error's code is printed |
//! | 2 | usage error: unknown command or option, missing argument, bad duration, unreadable or malformed input file, key, keyring or bundle directory, unsupported store URL |
//! | 3 | not found: no such tenant, plugin, version or rollout (`unknown_tenant`, `unknown_plugin`, `version_not_found`) |
//! | 4 | conflict with the current state: exists already (`version_exists` too), in use, deprecated, killed, niche mismatch, concurrent change; a rollout in another state or still in its canary wait (`conflict`); `keygen` would overwrite a file (`file_exists`) or a key id the keyring holds (`kid_exists`) |
//! | 5 | the operator store is unreachable or failed |
//! | 6 | `audit verify` found the audit log edited, reordered or cut |
//!
//! Refusals map from [`OperatorError::status`](zelavis_operator::error::OperatorError::status): 404 is 3, 409
//! is 4, a store failure is 5, every other refusal (403, 422) is 1. So a version that is not semver text
//! (`--version banana`, `pin acme stripe 2.x`) is 1 (`invalid_version`), while a well-formed version without a
//! release is 3 (`version_not_found`).

mod args;
mod audit;
mod bundle;
mod duration;
mod exit;
mod input;
mod keys;
mod licenses;
mod output;
mod plugin;
mod progress;
mod rollout;
mod settings;
mod store;
mod tenant;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{CommandFactory as _, FromArgMatches as _};
use zelavis_operator::Operator;
use zelavis_operator::license::SignedLicenses;
use zelavis_operator::role::{Actor, Role};
use zelavis_operator::tier::TierOrder;
use zelavis_operator::wasm::WasmSandbox;
use zelavis_wasm::WasmLoader;

use self::args::{Cli, Command, PluginCommand};
use self::exit::Failure;
use self::output::Output;

/// Parses the command line, runs the command and returns its exit code.
pub(crate) fn main() -> ExitCode {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = Cli::command()
        .try_get_matches_from(&raw)
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return exit::usage(&error, args::wants_json(&raw)),
    };
    // `keygen` writes only a keyring named on the command line, never one an environment variable names.
    let keyring_given = matches.value_source("keyring") == Some(ValueSource::CommandLine);
    let out = Output::new(cli.json, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            return exit::report(out, &Failure::Internal(format!("cannot start the async runtime: {e}")));
        }
    };
    match runtime.block_on(run(&cli, out, keyring_given)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => exit::report(out, &failure),
    }
}

/// What every command works with.
pub(crate) struct Context {
    /// The operator over the store.
    pub(crate) operator: Operator,
    /// Who acts (an owner: local store access).
    pub(crate) actor: Actor,
    /// The license verifier, when `--keyring` was given.
    pub(crate) licenses: Option<Arc<SignedLicenses>>,
}

async fn run(cli: &Cli, out: Output, keyring_given: bool) -> Result<(), Failure> {
    // Commands on local files need no store.
    match &cli.command {
        Command::Keygen(args) => {
            if cli.keyring.is_some() && !keyring_given && out.progress() {
                Output::error(
                    "note: keygen does not write the keyring ZELAVIS_KEYRING names; pass --keyring to add the key",
                );
            }
            return keys::keygen(out, args, cli.keyring.as_deref().filter(|_| keyring_given));
        }
        Command::Bundle(command) => return bundle::run(out, command, cli.keyring.as_deref()),
        _ => {}
    }
    // Everything the command line names is checked before the store is opened (or created).
    let actor = Actor::new(actor_id(cli.actor.as_deref())?, Role::Owner);
    let tiers = cli.tiers.as_deref().map(tiers_of).transpose()?;
    let keyring = cli.keyring.as_deref().map(licenses::load_keyring).transpose()?;
    let licenses = keyring.clone().map(licenses::signed).map(Arc::new);
    let store = {
        let _spinner = progress::spinner(out, format!("opening {}", cli.store));
        store::open(&cli.store).await?
    };
    let mut builder = Operator::builder(store);
    if let Some(tiers) = tiers {
        builder = builder.tiers(tiers);
    }
    builder = match &licenses {
        Some(licenses) => builder.licenses(Arc::clone(licenses)),
        None => builder.licenses(licenses::NoKeyring),
    };
    if let Some(keyring) = keyring {
        // Release signatures are checked against the same keyring, by key id.
        builder = builder.keyring(keyring);
    }
    if let Some(cache) = sandbox_cache(&cli.command) {
        builder = builder.sandbox(WasmSandbox::new(WasmLoader::new(cache)));
    }
    let cx = Context {
        operator: builder.build(),
        actor,
        licenses,
    };
    match &cli.command {
        Command::Tenant(command) => tenant::run(&cx, out, command).await,
        Command::Plugin(command) => plugin::run(&cx, out, command).await,
        Command::Audit(command) => audit::run(&cx, out, command).await,
        Command::Settings(command) => settings::run(&cx, out, command).await,
        Command::Health => plugin::health(&cx, out).await,
        Command::Keygen(_) | Command::Bundle(_) => Ok(()),
    }
}

/// The plugin cache of the commands that run plugin code in the sandbox (publish, and resume of an
/// interrupted publication).
fn sandbox_cache(command: &Command) -> Option<&Path> {
    match command {
        Command::Plugin(PluginCommand::Publish { cache, .. } | PluginCommand::Resume { cache, .. }) => {
            Some(cache.cache.as_path())
        }
        _ => None,
    }
}

/// `--actor`, else `$USER@local`.
fn actor_id(given: Option<&str>) -> Result<String, Failure> {
    let id = given.map_or_else(
        || {
            let user = std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .ok()
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "operator".to_owned());
            format!("{user}@local")
        },
        |id| id.trim().to_owned(),
    );
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(Failure::usage(
            "invalid_actor",
            "--actor must be 1 to 256 bytes without control characters",
        ));
    }
    Ok(id)
}

/// `--tiers starter,pro,...`, lowest first.
fn tiers_of(tiers: &[String]) -> Result<TierOrder, Failure> {
    let tiers: Vec<&str> = tiers.iter().map(|t| t.trim()).collect();
    if tiers.is_empty() || tiers.iter().any(|t| t.is_empty()) {
        return Err(Failure::usage(
            "invalid_tiers",
            "--tiers needs a comma-separated list of tier names, lowest first",
        ));
    }
    for (i, tier) in tiers.iter().enumerate() {
        if tiers[..i].contains(tier) {
            return Err(Failure::usage("invalid_tiers", format!("--tiers names {tier:?} twice")));
        }
    }
    Ok(TierOrder::new(tiers))
}
