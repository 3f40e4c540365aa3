//! `zelavis`: the command-line tool for operators of Zelavis's operator layer.
//!
//! ```text
//! zelavis [--store URL] [--actor ID] [--keyring FILE] [--tiers LIST] [--json] [--quiet] <command>
//!
//! tenant   list | show <id> | create <id> --tier T --niche N [--canary] [--license-file F]
//!          | update <id> [--tier T] [--niche N] [--canary true|false] [--license-file F]
//!          | enable <tenant> <plugin> [--version V] | disable <tenant> <plugin>
//!          | pin <tenant> <plugin> <version> | unpin <tenant> <plugin> | plugins <tenant>
//! plugin   list | show <id> | deprecate <id> --message M [--replacement P] [--disallow-new-enable]
//!          | remove <id> | kill <id> --reason R | revive <id>
//!          | publish <bundle> [--sig F] --tenant T [--backport] [--wait 24h] [--window 1h] [--cache DIR]
//!          | canary <plugin> <version> --tenant T... | judge <plugin> <version>
//!          | promote <plugin> <version> [--reason R] | rollback <plugin> <version> --reason R
//!          | pause <plugin> <version> [--reason R] | resume <plugin> <version> [--reason R] [--cache DIR]
//!          | status [<plugin> [<version>]]
//! audit    show [--after N] [--limit N] | verify
//! settings get <tenant> <plugin> | set <tenant> <plugin> (<key=value>... [--unset KEY] | --file settings.json)
//! health
//! keygen   --kid K [--out DIR]                        (with --keyring F: adds the key to F)
//! bundle   pack <dir> -o <file.tar.gz> | sign <bundle> --key PEM --kid K --publisher P [-o F]
//!          | verify <bundle> [--sig F]                (against --keyring)
//! ```
//!
//! The tool works on the operator store directly and records decisions; running hosts apply them at their
//! next sync. Exit codes: 0 success, 1 refused, 2 usage, 3 not found, 4 conflict, 5 store failed, 6 audit
//! verification failed — the table and the rules are in the `cli` module's documentation
//! (`src/cli/mod.rs`) and in `zelavis --help`.

#[path = "../cli/mod.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
