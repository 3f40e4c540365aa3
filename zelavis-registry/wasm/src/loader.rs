//! [`WasmLoader`]: resolves `wasm:<plugin>@<version>` specifiers to plugins from the module cache
//! (`.zelavis/plugins/<plugin>/<version>/plugin.wasm`) and accepts uploaded modules into it.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use async_trait::async_trait;
use semver::Version;
use zelavis_core::name::Name;
use zelavis_core::quote::Quoted;
use zelavis_plugin::PluginDef;
use zelavis_plugin::manifest::ManifestError;
use zelavis_registry::loader::{LoadError, PluginLoader, PluginModule};

use crate::engine::Backend;
use crate::error::WasmError;
use crate::health::{HealthBook, WasmHealth};
use crate::host::{KvSpace, MemoryKv, SettingsBook};
use crate::limits::Limits;
use crate::module::{ModuleInner, WasmModule};

/// Where the module cache lives by default, relative to the host's working directory.
pub const DEFAULT_CACHE_DIR: &str = ".zelavis/plugins";

/// The file name of a cached module inside `<cache>/<plugin>/<version>/`.
pub const MODULE_FILE: &str = "plugin.wasm";

/// The prefix of the specifiers this loader resolves.
pub const SCHEME: &str = "wasm:";

/// Largest module a loader accepts by default, in bytes.
pub const DEFAULT_MAX_MODULE_BYTES: usize = 16 << 20;

/// Loads WebAssembly plugins: from the module cache by specifier, or from uploaded bytes (which it validates,
/// then writes to the cache so every host sharing the cache directory can load them).
///
/// Compiled modules are kept in memory per (plugin, version) while a definition made from them is alive, and
/// dropped with the last one: uninstalling a wasm plugin from every runtime unloads its code — the one case
/// where Rust can drop plugin code, since a wasm module is data. (A thread that dispatched on the runtime's bus
/// keeps the bus snapshot it last used, with the plugin's handlers, until its next dispatch on that bus or its
/// exit; the module goes then.)
///
/// ```
/// use zelavis_wasm::{Limits, WasmLoader};
///
/// let cache = tempfile::tempdir()?;
/// let loader = WasmLoader::new(cache.path());
/// assert_eq!(WasmLoader::specifier(&"stripe".parse()?, &semver::Version::new(1, 0, 0)), "wasm:stripe@1.0.0");
/// assert!(loader.path_of(&"stripe".parse()?, &semver::Version::new(1, 0, 0)).ends_with("stripe/1.0.0/plugin.wasm"));
/// loader.set_default_limits(Limits::default().fuel(1_000_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct WasmLoader {
    inner: Arc<LoaderInner>,
}

struct LoaderInner {
    engine: Backend,
    cache_dir: PathBuf,
    books: Books,
    modules: Mutex<HashMap<(Name, Version), Weak<ModuleInner>>>,
    max_module_bytes: usize,
}

/// One plugin's limits, shared by its modules and read at each call.
type SharedLimits = Arc<RwLock<Limits>>;

/// What the modules of one loader share: health, limits, settings, key/value spaces.
pub(crate) struct Books {
    pub(crate) health: HealthBook,
    pub(crate) kv: Arc<dyn KvSpace>,
    pub(crate) settings: Arc<SettingsBook>,
    /// The defaults, and each plugin's live limits.
    limits: Mutex<(Limits, HashMap<Name, SharedLimits>)>,
}

impl Books {
    /// The live limits of `plugin` (its own, or the defaults when it has none).
    pub(crate) fn limits_of(&self, plugin: &Name) -> Arc<RwLock<Limits>> {
        let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        let default = limits.0;
        limits
            .1
            .entry(plugin.clone())
            .or_insert_with(|| Arc::new(RwLock::new(default)))
            .clone()
    }
}

/// What an upload produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Uploaded {
    /// The loaded module.
    pub module: WasmModule,
    /// Its specifier, `wasm:<plugin>@<version>`, to record.
    pub specifier: String,
    /// Its definition, ready to install.
    pub definition: PluginDef,
    /// Where it was cached.
    pub path: PathBuf,
}

impl WasmLoader {
    /// A loader over the cache directory `cache_dir` (e.g. [`DEFAULT_CACHE_DIR`]), with an in-memory key/value
    /// space ([`MemoryKv`]) and default [`Limits`].
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self::with_kv(cache_dir, Arc::new(MemoryKv::default()))
    }

    /// The same, with the plugins' key/value spaces in `kv`.
    pub fn with_kv(cache_dir: impl Into<PathBuf>, kv: Arc<dyn KvSpace>) -> Self {
        Self {
            inner: Arc::new(LoaderInner {
                engine: Backend::default(),
                cache_dir: cache_dir.into(),
                books: Books {
                    health: HealthBook::default(),
                    kv,
                    settings: Arc::default(),
                    limits: Mutex::new((Limits::default(), HashMap::new())),
                },
                modules: Mutex::default(),
                max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
            }),
        }
    }

    /// The specifier of a plugin version: `wasm:<plugin>@<version>`.
    pub fn specifier(plugin: &Name, version: &Version) -> String {
        format!("{SCHEME}{plugin}@{version}")
    }

    /// Parses `wasm:<plugin>@<version>`.
    pub fn parse_specifier(specifier: &str) -> Result<(Name, Version), WasmError> {
        let bad = || WasmError::BadSpecifier {
            specifier: Quoted::new(specifier),
        };
        let rest = specifier.strip_prefix(SCHEME).ok_or_else(bad)?;
        // A scoped name starts with '@': the version follows the last '@'.
        let (name, version) = rest.rsplit_once('@').filter(|(n, _)| !n.is_empty()).ok_or_else(bad)?;
        Ok((
            Name::parse(name).map_err(|_| bad())?,
            Version::parse(version).map_err(|_| bad())?,
        ))
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.inner.cache_dir
    }

    /// Where the module of a plugin version is cached: `<cache>/<plugin>/<version>/plugin.wasm`. Names and
    /// versions cannot hold `..` segments (the name grammar and semver refuse them).
    pub fn path_of(&self, plugin: &Name, version: &Version) -> PathBuf {
        let mut path = self.inner.cache_dir.clone();
        path.extend(plugin.as_str().split('/'));
        path.push(version.to_string());
        path.push(MODULE_FILE);
        path
    }

    /// Sets the limits every plugin without its own gets from now on (plugins already loaded keep theirs).
    pub fn set_default_limits(&self, limits: Limits) {
        self.inner.books.limits.lock().unwrap_or_else(PoisonError::into_inner).0 = limits;
    }

    /// Sets the limits of `plugin`'s calls, from its next call on.
    pub fn set_limits(&self, plugin: &Name, limits: Limits) {
        *self
            .inner
            .books
            .limits_of(plugin)
            .write()
            .unwrap_or_else(PoisonError::into_inner) = limits;
    }

    /// The limits `plugin`'s calls run with.
    pub fn limits(&self, plugin: &Name) -> Limits {
        *self
            .inner
            .books
            .limits_of(plugin)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the settings `plugin` reads with `zelavis.settings` (granted by `settings.read`).
    pub fn set_settings(&self, plugin: &Name, settings: &serde_json::Value) {
        let json = serde_json::to_vec(settings).unwrap_or_else(|_| b"null".to_vec());
        self.inner.books.settings.set(plugin.clone(), Arc::from(json));
    }

    /// The health of every wasm plugin this loader loaded: calls and typed stops.
    pub fn health(&self) -> WasmHealth {
        self.inner.books.health.snapshot()
    }

    /// The (plugin, version) pairs whose compiled module is alive, sorted.
    pub fn loaded(&self) -> Vec<(Name, Version)> {
        let mut modules = self.modules();
        modules.retain(|_, weak| weak.strong_count() > 0);
        let mut loaded: Vec<(Name, Version)> = modules.keys().cloned().collect();
        loaded.sort();
        loaded
    }

    /// Validates and loads `bytes` without touching the cache. A module whose (plugin, version) is loaded
    /// already is the loaded one when the bytes are the same, and refused when they differ.
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<WasmModule, WasmError> {
        if bytes.len() > self.inner.max_module_bytes {
            return Err(WasmError::TooLarge {
                len: bytes.len(),
                max: self.inner.max_module_bytes,
            });
        }
        let span = tracing::info_span!("load", bytes = bytes.len());
        let _entered = span.enter();
        let fingerprint = fingerprint(bytes);
        let module = WasmModule::load(bytes, &self.inner.engine, &self.inner.books, fingerprint)?;
        let key = (module.name().clone(), module.version().clone());
        let mut modules = self.modules();
        if let Some(live) = modules.get(&key).and_then(Weak::upgrade) {
            if live.fingerprint == fingerprint {
                return Ok(WasmModule { inner: live });
            }
            return Err(WasmError::VersionExists {
                plugin: key.0,
                version: key.1,
            });
        }
        modules.retain(|_, weak| weak.strong_count() > 0);
        modules.insert(key, Arc::downgrade(&module.inner));
        tracing::debug!(plugin = %module.name(), version = %module.version(), "wasm module loaded");
        Ok(module)
    }

    /// Accepts an uploaded module: validates it (nothing of it runs), writes it to the cache at
    /// [`path_of`](Self::path_of) atomically, and returns it with its specifier and definition. Uploading the
    /// same bytes again is harmless; other bytes for a cached version are refused ([`WasmError::VersionExists`]).
    pub fn upload(&self, bytes: &[u8]) -> Result<Uploaded, WasmError> {
        let module = self.load_bytes(bytes)?;
        let path = self.path_of(module.name(), module.version());
        match std::fs::read(&path) {
            Ok(cached) if cached == bytes => {}
            Ok(_) => {
                return Err(WasmError::VersionExists {
                    plugin: module.name().clone(),
                    version: module.version().clone(),
                });
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => write_atomically(&path, bytes)?,
            Err(error) => return Err(cache_error(&path, &error)),
        }
        let definition = module
            .definition()
            .map_err(|e| WasmError::Manifest(ManifestError::Definition(e)))?;
        Ok(Uploaded {
            specifier: Self::specifier(module.name(), module.version()),
            module,
            definition,
            path,
        })
    }

    /// Loads the module a `wasm:<plugin>@<version>` specifier names: the live one, else from the cache.
    pub fn load_module(&self, specifier: &str) -> Result<WasmModule, WasmError> {
        let (name, version) = Self::parse_specifier(specifier)?;
        let key = (name, version);
        if let Some(live) = self.modules().get(&key).and_then(Weak::upgrade) {
            return Ok(WasmModule { inner: live });
        }
        let path = self.path_of(&key.0, &key.1);
        let bytes = std::fs::read(&path).map_err(|e| cache_error(&path, &e))?;
        let module = self.load_bytes(&bytes)?;
        if module.name() != &key.0 || module.version() != &key.1 {
            return Err(WasmError::SpecifierMismatch {
                specifier: specifier.into(),
                expected: format!("{}@{}", key.0, key.1),
                found: format!("{}@{}", module.name(), module.version()),
            });
        }
        Ok(module)
    }

    /// The definition a specifier names, with typed errors.
    pub fn definition(&self, specifier: &str) -> Result<PluginDef, WasmError> {
        self.load_module(specifier)?
            .definition()
            .map_err(|e| WasmError::Manifest(ManifestError::Definition(e)))
    }

    fn modules(&self) -> std::sync::MutexGuard<'_, HashMap<(Name, Version), Weak<ModuleInner>>> {
        self.inner.modules.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for WasmLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmLoader")
            .field("cache_dir", &self.inner.cache_dir)
            .field("loaded", &self.loaded())
            .finish_non_exhaustive()
    }
}

/// Resolves `wasm:` specifiers; others are `NotFound`, so hosts can try another loader. A manifest that breaks
/// definition rules is [`LoadError::Definition`], as for any plugin; other refusals are [`LoadError::Failed`]
/// with the typed error's message ([`WasmLoader::definition`] keeps them typed).
#[async_trait]
impl PluginLoader for WasmLoader {
    async fn load(&self, specifier: &str) -> Result<PluginModule, LoadError> {
        if specifier.trim().is_empty() {
            return Err(LoadError::EmptySpecifier);
        }
        if !specifier.starts_with(SCHEME) {
            return Err(LoadError::NotFound {
                specifier: specifier.into(),
            });
        }
        match self.definition(specifier) {
            Ok(def) => Ok(PluginModule::from(def)),
            Err(WasmError::Manifest(ManifestError::Definition(source))) => Err(LoadError::Definition {
                specifier: specifier.into(),
                source,
            }),
            Err(error) => Err(LoadError::Failed {
                specifier: specifier.into(),
                message: error.to_string(),
            }),
        }
    }
}

fn fingerprint(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

fn cache_error(path: &Path, error: &std::io::Error) -> WasmError {
    WasmError::Cache {
        path: path.display().to_string(),
        reason: error.to_string(),
    }
}

/// Writes a temporary file beside `path`, syncs it, renames it into place and syncs the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WasmError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| cache_error(dir, &e))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| cache_error(dir, &e))?;
    file.write_all(bytes).map_err(|e| cache_error(path, &e))?;
    file.as_file().sync_all().map_err(|e| cache_error(path, &e))?;
    file.persist(path).map_err(|e| cache_error(path, &e.error))?;
    if let Ok(dir) = std::fs::File::open(dir) {
        // Not every platform syncs a directory; the rename is already done.
        let _ = dir.sync_all();
    }
    Ok(())
}
