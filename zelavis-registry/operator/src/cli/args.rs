//! The command line, as clap parses it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use super::duration;

/// The store used when neither `--store` nor `ZELAVIS_OPERATOR_STORE` names one.
pub(crate) const DEFAULT_STORE: &str = "sqlite:.zelavis/operator.db";

/// The plugin cache used when neither `--cache` nor `ZELAVIS_PLUGIN_CACHE` names one.
pub(crate) const DEFAULT_CACHE: &str = ".zelavis/plugins";

const ABOUT: &str = "Operate Zelavis: tenants, plugin grants, pins, the catalog, publishing and rollouts, settings, \
                     health and the audit log.";

const LONG_ABOUT: &str = "Operate Zelavis: tenants, plugin grants, pins, the catalog, publishing and rollouts, \
settings, health and the audit log.

zelavis works on the operator store directly (--store). It runs no tenant runtimes: every change is recorded \
in the store together with its audit event, and running hosts apply it to their tenants' runtimes at their \
next sync. Whoever can open the store acts as an owner; --actor is the id the audit log records.

Enabling checks each tenant's license: the signed token stored with `tenant create --license-file`, verified \
against the keyring the hosts use (--keyring, a JSON file of public keys). Without a keyring no license can be \
verified and every enable is refused with license_invalid.

Publishing: `keygen` makes a release signing key, `bundle pack | sign | verify` build and check a signed bundle, \
and `plugin publish` runs it through the rollout (verified, smoke-tested in the wasm sandbox, then `plugin canary`, \
`judge`, `promote` or `rollback`). Release signatures are verified against the same --keyring, by key id.

keygen, bundle pack and bundle sign need no store; bundle verify needs only --keyring.";

/// The exit codes, shown after every `--help`.
pub(crate) const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the operator refused (license, tier, role, invalid name, version text, tier or settings; feature_denied; a
     signature refused: tampered_bundle, unknown_kid, revoked_key, ...; a rollout that failed: rollout_failed); the
     error code is printed
  2  usage error (unknown command or option, missing argument, bad duration, unreadable or malformed input file,
     key or bundle directory, unsupported store URL)
  3  not found: no such tenant, plugin, version or rollout (unknown_tenant, unknown_plugin, version_not_found)
  4  conflict with the current state (already_exists, version_exists, in_use, deprecated, killed, niche_mismatch,
     contended; a rollout in another state or still in its canary wait: conflict; keygen: file_exists, kid_exists)
  5  the operator store is unreachable or failed
  6  audit verify: the audit log was edited, reordered or cut

A version that is not semver (--version banana) is 1 (invalid_version); a well-formed version with no release is 3.

Errors go to stderr as `error: <message> [<code>]`; with --json, to stdout as {\"error\": <code>, \"message\": ...}.";

/// `zelavis`: the operator's command-line tool.
#[derive(Debug, Parser)]
#[command(name = "zelavis", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXIT_CODES)]
#[command(subcommand_required = true, arg_required_else_help = true)]
pub(crate) struct Cli {
    /// The operator store: `sqlite:<path>` or `postgres://user@host/db`.
    #[arg(long, global = true, value_name = "URL", env = "ZELAVIS_OPERATOR_STORE", default_value = DEFAULT_STORE)]
    pub(crate) store: String,

    /// Who acts, as the audit log records it [default: $USER@local].
    #[arg(long, global = true, value_name = "ID", env = "ZELAVIS_ACTOR")]
    pub(crate) actor: Option<String>,

    /// The keyring (JSON, public keys) that tenants' license tokens and release signatures are verified with
    /// (`keygen` adds its key to it when given on the command line).
    #[arg(long, global = true, value_name = "FILE", env = "ZELAVIS_KEYRING")]
    pub(crate) keyring: Option<PathBuf>,

    /// The platform's tiers, lowest first [default: starter,pro,growth,enterprise].
    #[arg(
        long,
        global = true,
        value_name = "TIERS",
        env = "ZELAVIS_TIERS",
        value_delimiter = ','
    )]
    pub(crate) tiers: Option<Vec<String>>,

    /// Print the results (and errors) as JSON on stdout, for scripts.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Print nothing on success but the data asked for; no progress.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Tenants and their plugin grants.
    #[command(subcommand, after_help = EXIT_CODES)]
    Tenant(TenantCommand),
    /// The plugin catalog: deprecation, removal, kill switches.
    #[command(subcommand, after_help = EXIT_CODES)]
    Plugin(PluginCommand),
    /// The hash-chained audit log.
    #[command(subcommand, after_help = EXIT_CODES)]
    Audit(AuditCommand),
    /// A tenant's settings for a plugin, validated against the plugin's schema.
    #[command(subcommand, after_help = EXIT_CODES)]
    Settings(SettingsCommand),
    /// Plugins with failures, summed across tenants and hosts.
    #[command(after_help = EXIT_CODES)]
    Health,
    /// Generates an Ed25519 release signing key: `<kid>.key.pem` (PKCS#8, secret, mode 0600) and `<kid>.pub.pem`,
    /// and prints its keyring entry — or, with --keyring on the command line, adds it to that keyring file.
    #[command(after_help = EXIT_CODES)]
    Keygen(KeygenArgs),
    /// Plugin bundles: pack a directory, sign a bundle, verify a signed bundle.
    #[command(subcommand, after_help = EXIT_CODES)]
    Bundle(BundleCommand),
}

/// `zelavis keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// The key id (letters, digits, `.`, `_`, `-`; it names the files), e.g. `acme-2026`.
    #[arg(long)]
    pub(crate) kid: String,
    /// Where the two PEM files are written (created when missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) out: PathBuf,
}

/// `zelavis bundle ...`
#[derive(Debug, Subcommand)]
pub(crate) enum BundleCommand {
    /// Packs a directory holding `zelavis.plugin.json`, `plugin.wasm` and optional `assets/**` into a
    /// reproducible `.tar.gz` (the same files give the same bytes), and prints its SHA-256.
    #[command(after_help = EXIT_CODES)]
    Pack {
        /// The directory.
        dir: PathBuf,
        /// The bundle to write.
        #[arg(long, short, value_name = "FILE.tar.gz")]
        out: PathBuf,
    },
    /// Signs a bundle: writes the signed release record (plugin, version, the bundle's and manifest's SHA-256,
    /// publisher, key id, now) beside it.
    #[command(after_help = EXIT_CODES)]
    Sign {
        /// The bundle.
        bundle: PathBuf,
        /// The private key (PKCS#8 PEM, from `zelavis keygen` or `openssl genpkey -algorithm ed25519`).
        #[arg(long, value_name = "PEM")]
        key: PathBuf,
        /// The key's id, as the keyring knows it.
        #[arg(long)]
        kid: String,
        /// Who publishes it, e.g. `Acme Payments`.
        #[arg(long)]
        publisher: String,
        /// The signature file [default: <bundle>.sig].
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Verifies a signed bundle against --keyring now: the key, the signature, both digests and the manifest
    /// (exit 1 with the refusal's code: `tampered_bundle`, `unknown_kid`, `revoked_key`, ...).
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// The bundle.
        bundle: PathBuf,
        /// The signature file [default: <bundle>.sig].
        #[arg(long, value_name = "FILE")]
        sig: Option<PathBuf>,
    },
}

/// One release of a plugin.
#[derive(Debug, Args)]
pub(crate) struct ReleaseArgs {
    /// The plugin id.
    pub(crate) plugin: String,
    /// The version.
    pub(crate) version: String,
}

/// The plugin cache the sandbox accepts published modules into.
#[derive(Debug, Args)]
pub(crate) struct CacheArgs {
    /// The plugin cache (`<cache>/<plugin>/<version>/plugin.wasm`): the one the hosts load plugins from.
    #[arg(long, value_name = "DIR", env = "ZELAVIS_PLUGIN_CACHE", default_value = DEFAULT_CACHE)]
    pub(crate) cache: PathBuf,
}

/// A tenant and a plugin.
#[derive(Debug, Args)]
pub(crate) struct TenantPluginArgs {
    /// The tenant id.
    pub(crate) tenant: String,
    /// The plugin id.
    pub(crate) plugin: String,
}

/// `zelavis tenant ...`
#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Every tenant.
    #[command(after_help = EXIT_CODES)]
    List,
    /// One tenant.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The tenant id.
        id: String,
    },
    /// Creates a tenant.
    #[command(after_help = EXIT_CODES)]
    Create {
        /// The tenant id (also its registry store scope).
        id: String,
        /// Its tier (one of --tiers).
        #[arg(long)]
        tier: String,
        /// Its niche, e.g. `retail`.
        #[arg(long)]
        niche: String,
        /// It takes canary releases.
        #[arg(long)]
        canary: bool,
        /// A file holding its signed license token, stored with the tenant (verified first with --keyring).
        #[arg(long, value_name = "FILE")]
        license_file: Option<PathBuf>,
    },
    /// Changes a tenant's tier, niche, canary flag or license token (what is not given stays).
    #[command(after_help = EXIT_CODES)]
    Update {
        /// The tenant id.
        id: String,
        /// Its new tier (one of --tiers).
        #[arg(long)]
        tier: Option<String>,
        /// Its new niche.
        #[arg(long)]
        niche: Option<String>,
        /// Whether it takes canary releases.
        #[arg(long, value_name = "true|false", action = ArgAction::Set)]
        canary: Option<bool>,
        /// A file holding its new signed license token (verified first with --keyring).
        #[arg(long, value_name = "FILE")]
        license_file: Option<PathBuf>,
    },
    /// Enables a plugin for a tenant (at --version, else its pin, else the default-latest release).
    #[command(after_help = EXIT_CODES)]
    Enable {
        #[command(flatten)]
        target: TenantPluginArgs,
        /// The version to run.
        #[arg(long)]
        version: Option<String>,
    },
    /// Disables a plugin for a tenant (its pin and migrations are kept).
    #[command(after_help = EXIT_CODES)]
    Disable {
        #[command(flatten)]
        target: TenantPluginArgs,
    },
    /// Pins a tenant to a version of a plugin, instead of default-latest.
    #[command(after_help = EXIT_CODES)]
    Pin {
        #[command(flatten)]
        target: TenantPluginArgs,
        /// The version (it must have a release).
        version: String,
    },
    /// Clears a tenant's pin: an enabled plugin moves to default-latest.
    #[command(after_help = EXIT_CODES)]
    Unpin {
        #[command(flatten)]
        target: TenantPluginArgs,
    },
    /// Every catalog plugin with the tenant's grant, version and pin.
    #[command(after_help = EXIT_CODES)]
    Plugins {
        /// The tenant id.
        tenant: String,
    },
}

/// `zelavis plugin ...`
#[derive(Debug, Subcommand)]
pub(crate) enum PluginCommand {
    /// The catalog: every plugin that is not removed.
    #[command(after_help = EXIT_CODES)]
    List,
    /// One catalog plugin, its versions and its state.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The plugin id.
        id: String,
    },
    /// Deprecates a plugin: tenants using it see a banner and stay on it.
    #[command(after_help = EXIT_CODES)]
    Deprecate {
        /// The plugin id.
        id: String,
        /// What tenants are told.
        #[arg(long)]
        message: String,
        /// The plugin to move to.
        #[arg(long, value_name = "PLUGIN")]
        replacement: Option<String>,
        /// Refuse new enables from now on.
        #[arg(long)]
        disallow_new_enable: bool,
    },
    /// Removes a plugin from the catalog (refused while any tenant has it enabled; its id and versions are never
    /// reused).
    #[command(after_help = EXIT_CODES)]
    Remove {
        /// The plugin id.
        id: String,
    },
    /// Switches a plugin off for every tenant (hosts tear it down at their next sync).
    #[command(after_help = EXIT_CODES)]
    Kill {
        /// The plugin id.
        id: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Switches a killed plugin back on: tenants that had it enabled get it back.
    #[command(after_help = EXIT_CODES)]
    Revive {
        /// The plugin id.
        id: String,
    },
    /// Publishes a signed bundle from a tenant licensed for `marketplace_publisher`: verifies it against
    /// --keyring, stores it staged, and smoke-tests it in the wasm sandbox (exit 1 when the rollout fails).
    #[command(after_help = EXIT_CODES)]
    Publish {
        /// The bundle.
        bundle: PathBuf,
        /// The signature file [default: <bundle>.sig].
        #[arg(long, value_name = "FILE")]
        sig: Option<PathBuf>,
        /// The publishing tenant.
        #[arg(long)]
        tenant: String,
        /// Allow a version below the published latest.
        #[arg(long)]
        backport: bool,
        /// The canary wait before a promotion: 24h, 90m, 30s, 2d.
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration::parse)]
        wait: Duration,
        /// The length of one judged canary window.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration::parse_positive)]
        window: Duration,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Starts a smoke-tested release's canary: pins it on the given canary tenants and starts the wait.
    #[command(after_help = EXIT_CODES)]
    Canary {
        #[command(flatten)]
        release: ReleaseArgs,
        /// A canary tenant (repeat for more).
        #[arg(long = "tenant", value_name = "TENANT", required = true)]
        tenants: Vec<String>,
    },
    /// Judges the canary windows that have ended, on the traffic hosts recorded: an inconclusive window pauses,
    /// repeated breaches roll back.
    ///
    /// The built-in monitor keeps the totals it saw for one run only: the first window a run judges counts all
    /// the traffic recorded so far, and further windows judged in the same run count what was added since.
    #[command(after_help = EXIT_CODES)]
    Judge {
        #[command(flatten)]
        release: ReleaseArgs,
    },
    /// Promotes a canary after its wait: the release becomes default-latest, canary pins are restored.
    #[command(after_help = EXIT_CODES)]
    Promote {
        #[command(flatten)]
        release: ReleaseArgs,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Rolls a rollout back: canary tenants return to their previous version.
    #[command(after_help = EXIT_CODES)]
    Rollback {
        #[command(flatten)]
        release: ReleaseArgs,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Pauses a rollout (the judge stops; pins stay).
    #[command(after_help = EXIT_CODES)]
    Pause {
        #[command(flatten)]
        release: ReleaseArgs,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resumes a paused rollout where it was; a rollout interrupted while uploaded or verified is run on
    /// (verified, smoke-tested).
    #[command(after_help = EXIT_CODES)]
    Resume {
        #[command(flatten)]
        release: ReleaseArgs,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Rollouts: every one (of a plugin), or one rollout's history, windows and smoke-test figures.
    #[command(after_help = EXIT_CODES)]
    Status {
        /// The plugin id [default: every plugin].
        plugin: Option<String>,
        /// The version: show this rollout in full.
        version: Option<String>,
    },
}

/// `zelavis audit ...`
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Audit events after event number --after, oldest first.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// Show events numbered above this.
        #[arg(long, value_name = "N", default_value_t = 0)]
        after: u64,
        /// Show at most this many events.
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: usize,
    },
    /// Verifies the whole log's hash chain (exit 6 when it was edited, reordered or cut).
    #[command(after_help = EXIT_CODES)]
    Verify,
}

/// `zelavis settings ...`
#[derive(Debug, Subcommand)]
pub(crate) enum SettingsCommand {
    /// A tenant's settings for a plugin (defaults filled in, passwords redacted).
    #[command(after_help = EXIT_CODES)]
    Get {
        #[command(flatten)]
        target: TenantPluginArgs,
    },
    /// Changes settings: `key=value` pairs change those keys and keep the rest; --file replaces the whole
    /// document with a JSON object. Nothing is saved when any value is refused.
    #[command(after_help = EXIT_CODES)]
    Set {
        #[command(flatten)]
        target: TenantPluginArgs,
        /// `key=value` pairs; a value is typed by the plugin's schema (numbers, true/false, text).
        #[arg(value_name = "KEY=VALUE", required_unless_present_any = ["file", "unset"], conflicts_with = "file")]
        values: Vec<String>,
        /// Removes a key (it falls back to its default).
        #[arg(long, value_name = "KEY", conflicts_with = "file")]
        unset: Vec<String>,
        /// A JSON object holding the whole settings document.
        #[arg(long, value_name = "settings.json")]
        file: Option<PathBuf>,
    },
}

/// Whether a command line that failed to parse asked for JSON (so its usage error is JSON too).
pub(crate) fn wants_json(raw: &[OsString]) -> bool {
    raw.iter().skip(1).take_while(|a| *a != "--").any(|a| a == "--json")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
