//! [`FileStore`]: registry state as JSON documents in a directory, safe against crashes and concurrent
//! processes.
//!
//! # Layout
//!
//! ```text
//! <dir>/plugins.json                     the default scope's document
//! <dir>/plugins.json.lock                its lock file
//! <dir>/tenants/<tenant>.json            one document per tenant scope (the name percent-encoded, so
//! <dir>/tenants/<tenant>.json.lock       `@acme/shop` is `%40acme%2Fshop.json`), and its lock file
//! <dir>/migrations.json                  the migration ledger, every scope's
//! <dir>/migrations.json.lock             its lock file
//! ```
//!
//! [`FileStore::default_location`] uses `<dir>` = `zelavis`, relative to the working directory.
//!
//! # Guarantees
//!
//! - **Atomic writes.** A document is serialised into a temporary file in the same directory, fsynced, renamed
//!   over the target, and the directory is fsynced. A crash at any point leaves either the old or the new
//!   document; at worst a stray `.<file>.<random>.tmp` is left behind, which loads ignore and the next writer of
//!   that document removes (under the document's lock, so never a live writer's).
//! - **Compare-and-swap across processes.** `save`, `update` and the ledger's `record` hold an exclusive OS
//!   lock ([`File::lock`]) on the lock file next to the document around read-check-write, so two processes (or
//!   two tasks of one process: each operation opens its own handle) never interleave. Lock files are left in
//!   place on purpose: deleting them would race with other lockers.
//! - **Lock-free loads.** Since the document is only ever replaced by a rename, `load` and
//!   `is_applied` read without locking and always see a whole document.
//! - **Unreadable data is never overwritten.** A corrupt or newer-format document makes `load` fail with the
//!   error of [`decode_document`](super::decode_document) naming the file, and `save` refuse.
//! - **No needless decoding.** A store remembers, per document, the bytes it last wrote or decoded and their
//!   revision. `save` still reads the document under the lock, and decodes it only when those bytes changed:
//!   bytes equal to ones already decoded cannot be corrupt or of a newer format.
//!
//! The file I/O is blocking and done inside the `async fn`s: each call blocks its thread briefly (a few
//! file-system calls and two fsyncs for a save). Hosts that mind can run the store on a blocking pool.
//! There is no change feed ([`RegistryStore::watch`] returns `None`): hosts poll with `load`.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

use crate::hash::HashSet;
use zelavis_core::paths::encode_segment;

use super::validated::KnownDocuments;
use super::{FORMAT_VERSION, RegistryStore, Retry, Revision, Scope, StateChange, StoreError, Stored, encode_document};
use crate::ledger::MigrationLedger;
use crate::state::RegistryState;

/// The directory [`FileStore::default_location`] uses, relative to the working directory.
pub const DEFAULT_DIR: &str = "zelavis";

/// The default scope's document, in the store's directory.
const DEFAULT_DOCUMENT: &str = "plugins.json";
/// The directory of tenant documents, in the store's directory.
const TENANTS_DIR: &str = "tenants";
/// The migration ledger, in the store's directory.
const LEDGER: &str = "migrations.json";

/// Registry state in JSON files under a directory; see the [module documentation](self) for the layout and
/// the guarantees.
///
/// Cloning is cheap; clones, and other `FileStore`s (in this or another process) on the same directory, are
/// separate clients of the same data. Two stores are equal when they use the same directory.
///
/// ```
/// use zelavis_registry::prelude::*;
/// use zelavis_registry::store::file::FileStore;
///
/// # futures::executor::block_on(async {
/// let dir = tempfile::tempdir()?;
/// let store = FileStore::new(dir.path());
///
/// let mut state = RegistryState::default();
/// state.upsert(InstallRecord::new(Name::parse("shop")?, Status::Installed));
/// let r1 = store.save(&Scope::Default, &state, Revision::NONE).await?;
/// assert!(dir.path().join("plugins.json").is_file());
///
/// // Another client of the same directory sees it, and a save based on a stale revision is refused.
/// let other = FileStore::new(dir.path());
/// assert_eq!(other.load(&Scope::Default).await?.revision, r1);
/// let stale = other.save(&Scope::Default, &RegistryState::default(), Revision::NONE).await;
/// assert!(stale.is_err_and(|e| e.is_conflict()));
///
/// // Tenants get one file each.
/// let tenant = Scope::tenant("@acme/shop")?;
/// assert_eq!(store.document_path(&tenant), dir.path().join("tenants").join("%40acme%2Fshop.json"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct FileStore {
    dir: PathBuf,
    /// Per document path, the bytes last written or decoded and their revision; shared by clones.
    known: KnownDocuments,
    /// Documents whose stray temporary files this store already removed; shared by clones.
    swept: Arc<Mutex<HashSet<PathBuf>>>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl PartialEq for FileStore {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir
    }
}

impl Eq for FileStore {}

impl FileStore {
    /// A store in `dir`: the default scope at `dir/plugins.json`. Nothing is created until the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            known: KnownDocuments::default(),
            swept: Arc::default(),
        }
    }

    /// The store at [`DEFAULT_DIR`] (`zelavis`), relative to the working directory: the default scope's
    /// document is `zelavis/plugins.json`.
    pub fn default_location() -> Self {
        Self::new(DEFAULT_DIR)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The document of `scope`: `plugins.json` for the default scope, `tenants/<name>.json` for a tenant, with
    /// the name percent-encoded ([`encode_segment`]) so that a scoped name is one safe file name.
    pub fn document_path(&self, scope: &Scope) -> PathBuf {
        match scope {
            Scope::Default => self.dir.join(DEFAULT_DOCUMENT),
            Scope::Tenant(name) => self
                .dir
                .join(TENANTS_DIR)
                .join(format!("{}.json", encode_segment(name.as_str()))),
        }
    }

    /// The migration ledger: `migrations.json`.
    pub fn ledger_path(&self) -> PathBuf {
        self.dir.join(LEDGER)
    }

    fn backend(&self, message: String) -> StoreError {
        StoreError::Backend {
            store: self.describe(),
            message,
        }
    }

    /// Reads `path`; `None` when it does not exist.
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.backend(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Reads and decodes the document at `path`: an empty state at [`Revision::NONE`] when there is none.
    fn read_document(&self, path: &Path) -> Result<Stored, StoreError> {
        match self.read(path)? {
            None => Ok(Stored::default()),
            Some(bytes) => self.known.decode(location(path), bytes, &self.describe()),
        }
    }

    /// The revision of the document at `path` ([`Revision::NONE`] when there is none), checking that it is
    /// readable: decoded only when its bytes differ from the ones this store last wrote or decoded.
    fn read_revision(&self, path: &Path) -> Result<Revision, StoreError> {
        match self.read(path)? {
            None => Ok(Revision::NONE),
            Some(bytes) => self.known.revision(&location(path), bytes, &self.describe()),
        }
    }

    /// Takes the exclusive lock of `path`, held until the guard drops. The directory is created only when it is
    /// missing (the first write), not on every save.
    fn lock(&self, path: &Path) -> Result<File, StoreError> {
        let lock_path = lock_path(path);
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
        };
        let opened = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(parent).map_err(|e| {
                        self.backend(format!(
                            "cannot write {}: cannot create {}: {e}",
                            path.display(),
                            parent.display()
                        ))
                    })?;
                }
                open()
            }
            other => other,
        };
        let file = opened.map_err(|e| {
            self.backend(format!(
                "cannot lock {}: cannot open {}: {e}",
                path.display(),
                lock_path.display()
            ))
        })?;
        file.lock()
            .map_err(|e| self.backend(format!("cannot lock {}: {}: {e}", path.display(), lock_path.display())))?;
        Ok(file)
    }

    /// Removes the temporary files a writer of `path` that crashed left behind, once per document and store.
    /// The caller holds the document's lock, so no live writer of it is between creating and renaming one.
    fn sweep(&self, path: &Path) {
        {
            let mut swept = self.swept.lock().unwrap_or_else(PoisonError::into_inner);
            if !swept.insert(path.to_owned()) {
                return;
            }
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let prefix = format!(".{}.", name.to_string_lossy());
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") {
                match fs::remove_file(entry.path()) {
                    Ok(()) => {
                        tracing::info!(file = %entry.path().display(), "removed a temporary file a crashed writer left");
                    }
                    Err(error) => {
                        tracing::warn!(file = %entry.path().display(), %error, "cannot remove a stray temporary file");
                    }
                }
            }
        }
    }

    /// Replaces `path` with `bytes` atomically (temporary file in the same directory, fsync, rename, fsync of
    /// the directory). The caller holds the lock.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        self.sweep(path);
        let fail = |step: String, e: &dyn std::fmt::Display| {
            self.backend(format!("cannot write {}: {step}: {e}", path.display()))
        };
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| fail(format!("cannot create a temporary file in {}", dir.display()), &e))?;
        temp.write_all(bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| fail(format!("cannot write {}", temp.path().display()), &e))?;
        // On failure the temporary file is removed when `PersistError` drops; the target is untouched.
        temp.persist(path)
            .map_err(|e| fail("cannot rename the temporary file over it".to_owned(), &e.error))?;
        sync_dir(dir).map_err(|e| fail(format!("cannot sync directory {}", dir.display()), &e))
    }

    /// Reads the ledger at `path`.
    fn read_ledger(&self, path: &Path) -> Result<Ledger, StoreError> {
        let Some(bytes) = self.read(path)? else {
            return Ok(Ledger::default());
        };
        let location = location(path);
        let corrupt = |reason: String| StoreError::Corrupt {
            store: self.describe(),
            location: location.clone(),
            reason,
        };
        let ledger: LedgerIn<'_> =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not a zelavis migration ledger: {e}")))?;
        if ledger.format > FORMAT_VERSION {
            return Err(StoreError::NewerFormat {
                store: self.describe(),
                location,
                found: ledger.format,
                supported: FORMAT_VERSION,
            });
        }
        let applied = ledger
            .applied
            .ok_or_else(|| corrupt("the ledger lacks its applied list".to_owned()))?;
        let applied = serde_json::from_str(applied.get()).map_err(|e| corrupt(format!("applied: {e}")))?;
        Ok(Ledger {
            format: ledger.format,
            applied,
        })
    }
}

impl Default for FileStore {
    /// [`FileStore::default_location`].
    fn default() -> Self {
        Self::default_location()
    }
}

/// How errors name the file at `path`, and the key it is known under.
fn location(path: &Path) -> String {
    path.display().to_string()
}

/// `plugins.json` → `plugins.json.lock`.
fn lock_path(path: &Path) -> PathBuf {
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    PathBuf::from(lock)
}

/// Makes a rename in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for syncing here; the rename is as durable as the platform makes it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// The ledger file: `{ "format": 1, "applied": [ { "plugin": "...", "id": "..." } ] }`, in recording order.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    format: u64,
    applied: Vec<LedgerEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LedgerEntry {
    /// The scope key (`default` or `tenant:<name>`); ledgers written before scopes were recorded hold only the
    /// default scope's migrations.
    #[serde(default = "default_scope_key")]
    scope: String,
    plugin: String,
    id: String,
}

fn default_scope_key() -> String {
    Scope::Default.key()
}

/// The ledger as read in one pass: the list stays raw until the format is known to be one this build reads, so a
/// newer format with another shape is recognised as newer, not as corrupt.
#[derive(Deserialize)]
struct LedgerIn<'a> {
    format: u64,
    #[serde(default, borrow)]
    applied: Option<&'a serde_json::value::RawValue>,
}

impl Ledger {
    fn contains(&self, scope: &str, plugin: &Name, id: &str) -> bool {
        self.applied
            .iter()
            .any(|e| e.scope == scope && e.plugin == plugin.as_str() && e.id == id)
    }
}

#[async_trait]
impl RegistryStore for FileStore {
    /// `file store <dir>`.
    fn describe(&self) -> String {
        format!("file store {}", self.dir.display())
    }

    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        self.read_document(&self.document_path(scope))
    }

    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        let path = self.document_path(scope);
        let _lock = self.lock(&path)?;
        // Under the lock: a corrupt or newer-format document fails here and is never overwritten.
        let actual = self.read_revision(&path)?;
        if actual != expected {
            return Err(StoreError::Conflict {
                store: self.describe(),
                scope: scope.key(),
                expected,
                actual,
            });
        }
        let revision = actual.after(u64::MAX, &self.describe(), scope)?;
        let bytes = encode_document(state, revision);
        self.write_atomic(&path, &bytes)?;
        self.known.remember(location(&path), revision, bytes);
        tracing::debug!(path = %path.display(), %revision, "file store saved");
        Ok(revision)
    }

    /// Holds the document's lock across load, change and write: concurrent updates from any number of tasks or
    /// processes queue on the lock instead of conflicting.
    async fn update(&self, scope: &Scope, change: &StateChange<'_>, _retry: &Retry) -> Result<Stored, StoreError> {
        let path = self.document_path(scope);
        let _lock = self.lock(&path)?;
        let Stored { mut state, revision } = self.read_document(&path)?;
        change(&mut state);
        let revision = revision.after(u64::MAX, &self.describe(), scope)?;
        let bytes = encode_document(&state, revision);
        self.write_atomic(&path, &bytes)?;
        self.known.remember(location(&path), revision, bytes);
        tracing::debug!(path = %path.display(), %revision, "file store updated");
        Ok(Stored { state, revision })
    }
}

#[async_trait]
impl MigrationLedger for FileStore {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .read_ledger(&self.ledger_path())?
            .contains(&scope.key(), plugin, id))
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let path = self.ledger_path();
        let _lock = self.lock(&path)?;
        let mut ledger = self.read_ledger(&path)?;
        let key = scope.key();
        if ledger.contains(&key, plugin, id) {
            return Ok(false);
        }
        ledger.format = FORMAT_VERSION;
        ledger.applied.push(LedgerEntry {
            scope: key,
            plugin: plugin.to_string(),
            id: id.to_owned(),
        });
        let bytes =
            serde_json::to_vec_pretty(&ledger).map_err(|e| self.backend(format!("cannot encode the ledger: {e}")))?;
        self.write_atomic(&path, &bytes)?;
        tracing::debug!(path = %path.display(), %scope, %plugin, id, "file store recorded a migration");
        Ok(true)
    }
}
