//! Errors: why a module was refused ([`WasmError`], before any guest code runs) and why a call stopped
//! ([`Stop`], inside a [`CallError`] naming the plugin and the entry).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::name::Name;
use zelavis_core::quote::Quoted;
use zelavis_plugin::manifest::ManifestError;

use crate::abi::EntryKind;
use crate::host::HostPermission;

/// Why a module was refused. Every check runs before any guest code does.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WasmError {
    /// The bytes are not a valid WebAssembly module (or use a feature the sandbox does not enable).
    #[error("module is not valid WebAssembly: {reason}")]
    Malformed {
        /// The engine's reason.
        reason: String,
    },
    /// The module carries no `zelavis.abi` section: it was not built with the guest SDK.
    #[error(
        "module has no {} custom section: build it with zelavis-guest (ABI {})",
        crate::abi::ABI_SECTION,
        crate::abi::ABI
    )]
    NotAGuest,
    /// The module was built for another ABI than this host speaks.
    #[error("module is built for ABI {found}, but this host speaks {supported}")]
    AbiMismatch {
        /// A bounded copy of the module's ABI.
        found: Quoted,
        /// The ABI of this host, [`ABI`](crate::abi::ABI).
        supported: &'static str,
    },
    /// The module carries no manifest section, or two.
    #[error(
        "module must carry exactly one {} custom section, found {found}",
        crate::abi::MANIFEST_SECTION
    )]
    ManifestMissing {
        /// How many it carries.
        found: usize,
    },
    /// The manifest section is not a guest manifest (malformed JSON, unknown field, wrong type).
    #[error("module manifest is invalid at {path} (line {line}, column {column}): {reason}")]
    ManifestJson {
        /// The JSON path of the offending value.
        path: String,
        /// What was wrong, bounded.
        reason: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The plugin manifest inside breaks the rules of a plugin definition: the same typed error as a bad
    /// `zelavis.plugin.json` (every problem listed).
    #[error("module manifest: {0}")]
    Manifest(#[from] ManifestError),
    /// Hooks, filters or routes the manifest declares break a rule (every problem listed).
    #[error("module of plugin {plugin:?} declares invalid entries:{}", problems.iter().fold(String::new(), |out, p| out + "\n  - " + &p.to_string()))]
    Entries {
        /// The plugin.
        plugin: Name,
        /// Every problem.
        problems: Vec<EntryProblem>,
    },
    /// A required export is missing or has the wrong type.
    #[error("module of plugin {plugin:?} must export {export} as {expected}, found {found}")]
    Export {
        /// The plugin.
        plugin: Name,
        /// The export.
        export: &'static str,
        /// What the ABI requires.
        expected: &'static str,
        /// What the module has.
        found: String,
    },
    /// The module imports a host function its manifest's `host_permissions` do not grant.
    #[error("module of plugin {plugin:?} imports {import} without permission {permission}; add it to host_permissions")]
    UngrantedImport {
        /// The plugin.
        plugin: Name,
        /// `module.name` of the import.
        import: String,
        /// The permission that would grant it.
        permission: HostPermission,
    },
    /// The module imports something the ABI does not offer (or with another type).
    #[error("module of plugin {plugin:?} imports {import}, which ABI {} does not offer{}", crate::abi::ABI, expected.map(|e| format!(" with that type (expected {e})")).unwrap_or_default())]
    UnknownImport {
        /// The plugin.
        plugin: Name,
        /// A bounded copy of `module.name` of the import.
        import: Quoted,
        /// The type the ABI gives a function of that name, when there is one.
        expected: Option<&'static str>,
    },
    /// An upload for a plugin version already in the cache, with other bytes: versions are immutable.
    #[error("plugin {plugin:?} {version} is already cached with other bytes; publish a new version")]
    VersionExists {
        /// The plugin.
        plugin: Name,
        /// The version.
        version: semver::Version,
    },
    /// The module defines another plugin or version than its specifier names.
    #[error("specifier {specifier:?} names {expected}, but the module defines {found}")]
    SpecifierMismatch {
        /// The specifier.
        specifier: String,
        /// `name@version` the specifier names.
        expected: String,
        /// `name@version` the module defines.
        found: String,
    },
    /// A specifier this loader does not understand.
    #[error("{specifier:?} is not a wasm specifier: expected wasm:<plugin>@<version>")]
    BadSpecifier {
        /// A bounded copy of the specifier.
        specifier: Quoted,
    },
    /// Reading or writing the module cache failed.
    #[error("module cache {path}: {reason}")]
    Cache {
        /// The file or directory.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A module larger than the loader accepts.
    #[error("module is {len} bytes; this loader accepts at most {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// One invalid hook, filter or route of a module's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{at}: {reason}")]
pub struct EntryProblem {
    /// Where, e.g. `hooks[2].name`.
    pub at: String,
    /// What is wrong.
    pub reason: String,
}

/// Why a call stopped. Limits are per call ([`Limits`](crate::Limits)); the host and other plugins go on.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "stop", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Stop {
    /// The call used all its fuel.
    #[error("out of fuel: used all {limit} units")]
    OutOfFuel {
        /// The fuel the call had.
        limit: u64,
    },
    /// The instance asked for more linear memory than allowed.
    #[error("memory limit: asked for {desired} bytes of linear memory, at most {limit} are allowed")]
    MemoryLimit {
        /// What it asked for, in bytes.
        desired: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The call ran past its wall-clock deadline.
    #[error("deadline exceeded: still running after {} ms", after.as_millis())]
    DeadlineExceeded {
        /// The deadline.
        #[serde(with = "crate::error::millis")]
        after: Duration,
    },
    /// The guest trapped (a guest panic is a trap, with its message when the SDK could report it).
    #[error("trap: {message}")]
    Trap {
        /// The trap, or the guest's panic message.
        message: String,
    },
    /// The input was larger than the call accepts; the guest was not called.
    #[error("input too large: {len} bytes, at most {limit} are accepted")]
    InputTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The guest returned more output than allowed.
    #[error("output too large: {len} bytes, at most {limit} are allowed")]
    OutputTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The guest broke the ABI during the call (an output outside its memory, an unknown status byte, output
    /// that is not the JSON the entry returns, ...).
    #[error("ABI mismatch: {reason}")]
    AbiMismatch {
        /// What was wrong.
        reason: String,
    },
    /// The guest's handler returned an error (not a limit: the guest said no).
    #[error("failed: {message}")]
    Failed {
        /// The guest's message, bounded.
        message: String,
    },
}

impl Stop {
    /// The reason's kind, for counting.
    pub fn kind(&self) -> StopKind {
        match self {
            Stop::OutOfFuel { .. } => StopKind::OutOfFuel,
            Stop::MemoryLimit { .. } => StopKind::MemoryLimit,
            Stop::DeadlineExceeded { .. } => StopKind::DeadlineExceeded,
            Stop::Trap { .. } => StopKind::Trap,
            Stop::InputTooLarge { .. } => StopKind::InputTooLarge,
            Stop::OutputTooLarge { .. } => StopKind::OutputTooLarge,
            Stop::AbiMismatch { .. } => StopKind::AbiMismatch,
            Stop::Failed { .. } => StopKind::Failed,
        }
    }
}

/// The kind of a [`Stop`], as counted in [`WasmPluginHealth`](crate::WasmPluginHealth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StopKind {
    /// [`Stop::OutOfFuel`].
    OutOfFuel,
    /// [`Stop::MemoryLimit`].
    MemoryLimit,
    /// [`Stop::DeadlineExceeded`].
    DeadlineExceeded,
    /// [`Stop::Trap`].
    Trap,
    /// [`Stop::InputTooLarge`].
    InputTooLarge,
    /// [`Stop::OutputTooLarge`].
    OutputTooLarge,
    /// [`Stop::AbiMismatch`].
    AbiMismatch,
    /// [`Stop::Failed`].
    Failed,
}

/// A stopped call: which plugin, which entry, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("wasm plugin {plugin:?} {version}, {entry}: {stop}")]
pub struct CallError {
    /// The plugin.
    pub plugin: Name,
    /// Its version.
    pub version: semver::Version,
    /// The entry, e.g. `hook order.created`, `route GET /status`, `page dashboard`.
    pub entry: Entry,
    /// Why it stopped.
    pub stop: Stop,
}

/// A guest entry, as named in errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What kind of entry.
    pub kind: EntryKind,
    /// Its name: a hook or filter name, `METHOD /path`, a page id or an extension point (empty for a child
    /// setup).
    pub name: String,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str(self.kind.as_str())
        } else {
            write!(f, "{} {}", self.kind.as_str(), self.name)
        }
    }
}

pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}
