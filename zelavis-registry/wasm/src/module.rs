//! [`WasmModule`]: a module loaded, checked and linked — its manifest, what it handles, and its calls.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use http::Method;
use semver::Version;
use zelavis_core::bus::check_name;
use zelavis_core::name::Name;
use zelavis_core::path::check_route;
use zelavis_core::quote::{Quoted, clip};
use zelavis_plugin::manifest::{MAX_JSON_PATH_LEN, MAX_REASON_LEN, PluginManifest};
use zelavis_plugin::permission::Permission;

use crate::abi::{self, EntryKind, GuestManifest, HookEntry, RouteEntry};
use crate::engine::{Backend, Engine, Extern, Module};
use crate::error::{CallError, Entry, EntryProblem, Stop, WasmError};
use crate::health::Counters;
use crate::host::{self, CallState, HostPermission, PluginEnv, Ty};
use crate::limits::Limits;
use crate::loader::Books;

/// A loaded WebAssembly plugin module: validated, its manifest checked by the rules of a plugin definition,
/// linked to the host functions it was granted. Cheap to clone. Every [`call`](Self::call) gets a fresh
/// instance, so nothing leaks between calls (or between tenants).
///
/// Made by [`WasmLoader`](crate::WasmLoader); [`definition`](Self::definition) turns it into an ordinary
/// `PluginDef`.
#[derive(Clone)]
pub struct WasmModule {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub(crate) manifest: PluginManifest,
    pub(crate) host_permissions: Vec<HostPermission>,
    pub(crate) hooks: Vec<(&'static str, HookEntry)>,
    pub(crate) filters: Vec<(&'static str, HookEntry)>,
    pub(crate) routes: Vec<(Method, RouteEntry)>,
    pub(crate) size: usize,
    /// Tells two modules of the same (plugin, version) apart.
    pub(crate) fingerprint: u64,
    linked: <Backend as Engine>::Linked,
    pub(crate) env: Arc<PluginEnv>,
    limits: Arc<RwLock<Limits>>,
    counters: Arc<Counters>,
}

impl WasmModule {
    /// Checks and links `bytes`; nothing of the guest runs.
    pub(crate) fn load(bytes: &[u8], engine: &Backend, books: &Books, fingerprint: u64) -> Result<Self, WasmError> {
        let compiled = engine
            .compile(bytes)
            .map_err(|reason| WasmError::Malformed { reason })?;
        let inspection = engine.inspect(&compiled);
        let section = |name: &str| -> Vec<&[u8]> {
            inspection
                .sections
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, data)| data.as_slice())
                .collect()
        };
        let abis = section(abi::ABI_SECTION);
        let Some(found) = abis.first() else {
            return Err(WasmError::NotAGuest);
        };
        if abis.iter().any(|a| *a != abi::ABI.as_bytes()) {
            let text = String::from_utf8_lossy(abis.iter().find(|a| **a != abi::ABI.as_bytes()).unwrap_or(found));
            return Err(WasmError::AbiMismatch {
                found: Quoted::new(&text),
                supported: abi::ABI,
            });
        }
        let manifests = section(abi::MANIFEST_SECTION);
        let [manifest] = manifests.as_slice() else {
            return Err(WasmError::ManifestMissing { found: manifests.len() });
        };
        let guest = parse_guest(manifest)?;
        let plugin = PluginManifest::from_json(guest.plugin.get())?;
        let name = plugin.name.clone();
        let (hooks, filters, routes) = entries(&plugin, &guest)?;
        check_exports(&name, &inspection.exports)?;
        check_imports(&name, &guest.host_permissions, &inspection.imports)?;
        let linked = engine
            .link(compiled, &guest.host_permissions)
            .map_err(|reason| WasmError::Malformed { reason })?;
        let points = vec![None; plugin.extension_points.len()];
        let limits = books.limits_of(&name);
        let counters = books.health.counters(&name);
        Ok(Self {
            inner: Arc::new(ModuleInner {
                env: Arc::new(PluginEnv {
                    name,
                    kv: books.kv.clone(),
                    settings: books.settings.clone(),
                    points: Mutex::new(points),
                }),
                manifest: plugin,
                host_permissions: guest.host_permissions,
                hooks,
                filters,
                routes,
                size: bytes.len(),
                fingerprint,
                linked,
                limits,
                counters,
            }),
        })
    }

    /// The plugin's name.
    pub fn name(&self) -> &Name {
        &self.inner.manifest.name
    }

    /// The plugin's version.
    pub fn version(&self) -> &Version {
        &self.inner.manifest.version
    }

    /// The plugin manifest the module carries (checked like a `zelavis.plugin.json`).
    pub fn manifest(&self) -> &PluginManifest {
        &self.inner.manifest
    }

    /// The host permissions it was granted.
    pub fn host_permissions(&self) -> &[HostPermission] {
        &self.inner.host_permissions
    }

    /// The hook names it handles, in index order.
    pub fn hooks(&self) -> impl Iterator<Item = &str> {
        self.inner.hooks.iter().map(|(name, _)| *name)
    }

    /// The filter names it handles, in index order.
    pub fn filters(&self) -> impl Iterator<Item = &str> {
        self.inner.filters.iter().map(|(name, _)| *name)
    }

    /// Its routes as `METHOD /path`, in index order.
    pub fn routes(&self) -> impl Iterator<Item = String> + '_ {
        self.inner.routes.iter().map(|(m, r)| format!("{m} {}", r.path))
    }

    /// The module's size in bytes.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// The limits its calls run with now.
    pub fn limits(&self) -> Limits {
        *self.inner.limits.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `self` and `other` are the same loaded module.
    pub fn ptr_eq(&self, other: &WasmModule) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Calls entry `index` of `kind` with `input` on a fresh instance, within the plugin's limits, and
    /// returns its result (the output after the status byte). A stop is recorded in the plugin's
    /// [health](crate::WasmLoader::health). The `PluginDef` glue calls this; hosts and benchmarks may too.
    pub fn call(&self, kind: EntryKind, index: u32, input: &[u8]) -> Result<Vec<u8>, CallError> {
        self.invoke(kind, index, input)
            .map_err(|stop| self.stopped(kind, index, stop))
    }

    /// Instantiates the module once and drops the instance: what every call pays for isolation.
    pub fn instantiate(&self) -> Result<(), CallError> {
        let limits = self.limits();
        let state = CallState::new(
            self.inner.env.clone(),
            Instant::now() + limits.deadline,
            limits.kv_bytes,
        );
        self.inner
            .linked
            .instantiate_only(state, &limits)
            .map_err(|stop| self.stopped(EntryKind::Point, 0, stop))
    }

    fn invoke(&self, kind: EntryKind, index: u32, input: &[u8]) -> Result<Vec<u8>, Stop> {
        self.inner.counters.calls.fetch_add(1, Ordering::Relaxed);
        let limits = self.limits();
        if input.len() > limits.input_bytes {
            return Err(Stop::InputTooLarge {
                len: input.len(),
                limit: limits.input_bytes,
            });
        }
        let state = CallState::new(
            self.inner.env.clone(),
            Instant::now() + limits.deadline,
            limits.kv_bytes,
        );
        let (mut output, cost) = self.inner.linked.call(state, &limits, kind, index, input)?;
        self.inner.counters.cost(cost);
        match output.first() {
            Some(&abi::STATUS_OK) => {
                output.remove(0);
                Ok(output)
            }
            Some(&abi::STATUS_ERROR) => Err(Stop::Failed {
                message: clip(&String::from_utf8_lossy(&output[1..]), 1024),
            }),
            Some(other) => Err(Stop::AbiMismatch {
                reason: format!("unknown status byte {other} (0 is ok, 1 is an error)"),
            }),
            None => Err(Stop::AbiMismatch {
                reason: "no status byte".to_owned(),
            }),
        }
    }

    /// The call error for `stop`, recorded in health.
    pub(crate) fn stopped(&self, kind: EntryKind, index: u32, stop: Stop) -> CallError {
        let error = CallError {
            plugin: self.name().clone(),
            version: self.version().clone(),
            entry: self.entry(kind, index),
            stop,
        };
        tracing::debug!(plugin = %error.plugin, %error, "wasm call stopped");
        self.inner.counters.record(&error);
        error
    }

    /// How entry `index` of `kind` is named in errors.
    pub(crate) fn entry(&self, kind: EntryKind, index: u32) -> Entry {
        let i = index as usize;
        let name = match kind {
            EntryKind::Hook => self.inner.hooks.get(i).map(|(n, _)| (*n).to_owned()),
            EntryKind::Filter => self.inner.filters.get(i).map(|(n, _)| (*n).to_owned()),
            EntryKind::Route => self.inner.routes.get(i).map(|(m, r)| format!("{m} {}", r.path)),
            EntryKind::Page => self
                .inner
                .manifest
                .menu
                .as_ref()
                .and_then(|menu| menu.pages().nth(i))
                .map(|p| p.id.clone()),
            EntryKind::Point => self.inner.manifest.extension_points.get(i).map(|p| p.name.to_string()),
            EntryKind::Child => Some(String::new()),
        };
        Entry {
            kind,
            name: name.unwrap_or_else(|| format!("#{index}")),
        }
    }

    /// Keeps the API extension point `index` composed, for the guest's `zelavis.point_api`.
    pub(crate) fn set_point_api(&self, index: usize, api: Arc<[u8]>) {
        if let Some(slot) = self
            .inner
            .env
            .points
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(index)
        {
            *slot = Some(api);
        }
    }
}

impl fmt::Debug for WasmModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmModule")
            .field("name", self.name())
            .field("version", &self.version().to_string())
            .field("size", &self.inner.size)
            .field("host_permissions", &self.inner.host_permissions)
            .finish_non_exhaustive()
    }
}

fn parse_guest(section: &[u8]) -> Result<GuestManifest, WasmError> {
    let mut deserializer = serde_json::Deserializer::from_slice(section);
    let parsed: Result<GuestManifest, _> = serde_path_to_error::deserialize(&mut deserializer);
    let json_error = |path: String, e: &serde_json::Error| {
        let message = e.to_string();
        let reason = message.rfind(" at line ").map_or(message.as_str(), |i| &message[..i]);
        WasmError::ManifestJson {
            path: clip(&path, MAX_JSON_PATH_LEN),
            reason: clip(reason, MAX_REASON_LEN),
            line: e.line(),
            column: e.column(),
        }
    };
    let guest = parsed.map_err(|e| {
        let path = e.path().to_string();
        json_error(
            if path == "." {
                "$".to_owned()
            } else {
                format!("$.{path}")
            },
            e.inner(),
        )
    })?;
    deserializer.end().map_err(|e| json_error("$".to_owned(), &e))?;
    Ok(guest)
}

type Entries = (
    Vec<(&'static str, HookEntry)>,
    Vec<(&'static str, HookEntry)>,
    Vec<(Method, RouteEntry)>,
);

/// Checks hooks, filters and routes, listing every problem; interns the names of valid ones.
fn entries(plugin: &PluginManifest, guest: &GuestManifest) -> Result<Entries, WasmError> {
    let mut problems = Vec::new();
    let mut problem = |at: String, reason: String| problems.push(EntryProblem { at, reason });
    let mut names = |list: &[HookEntry], field: &str, permission: Permission| {
        if !list.is_empty() && !plugin.permissions.contains(&permission) {
            problem(
                field.to_owned(),
                format!("declares {field} but not the permission {permission}"),
            );
        }
        if list.len() > abi::MAX_ENTRIES {
            problem(
                field.to_owned(),
                format!("{} entries, at most {} are allowed", list.len(), abi::MAX_ENTRIES),
            );
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            let at = format!("{field}[{i}].name");
            if entry.name.len() > abi::MAX_ENTRY_NAME_LEN {
                problem(
                    at,
                    format!(
                        "name {} is {} bytes, at most {} are allowed",
                        Quoted::new(&entry.name),
                        entry.name.len(),
                        abi::MAX_ENTRY_NAME_LEN
                    ),
                );
            } else if let Err(reason) = check_name(&entry.name) {
                problem(at, format!("invalid name {}: {reason}", Quoted::new(&entry.name)));
            } else if seen.contains(&entry.name.as_str()) {
                problem(at, format!("{} is handled twice", Quoted::new(&entry.name)));
            } else {
                seen.push(&entry.name);
            }
        }
    };
    names(&guest.hooks, "hooks", Permission::HooksSubscribe);
    names(&guest.filters, "filters", Permission::FiltersRegister);
    if !guest.routes.is_empty() && !plugin.permissions.contains(&Permission::RoutesRegister) {
        problem(
            "routes".to_owned(),
            format!("declares routes but not the permission {}", Permission::RoutesRegister),
        );
    }
    if guest.routes.len() > abi::MAX_ENTRIES {
        problem(
            "routes".to_owned(),
            format!(
                "{} entries, at most {} are allowed",
                guest.routes.len(),
                abi::MAX_ENTRIES
            ),
        );
    }
    let mut routes = Vec::new();
    for (i, route) in guest.routes.iter().enumerate() {
        let method = Method::from_bytes(route.method.as_bytes());
        if method.is_err() {
            problem(
                format!("routes[{i}].method"),
                format!("{} is not an HTTP method", Quoted::new(&route.method)),
            );
        }
        if let Err(error) = check_route(&route.path) {
            problem(format!("routes[{i}].path"), error.to_string());
        }
        if let Ok(method) = method {
            if routes
                .iter()
                .any(|(m, r): &(Method, RouteEntry)| *m == method && r.path == route.path)
            {
                problem(
                    format!("routes[{i}]"),
                    format!("{method} {} is served twice", Quoted::new(&route.path)),
                );
            }
            routes.push((method, route.clone()));
        }
    }
    let problems_found = !problems.is_empty();
    if problems_found {
        return Err(WasmError::Entries {
            plugin: plugin.name.clone(),
            problems,
        });
    }
    let intern = |list: &[HookEntry]| {
        list.iter()
            .map(|e| (crate::intern::intern(&e.name), e.clone()))
            .collect()
    };
    Ok((intern(&guest.hooks), intern(&guest.filters), routes))
}

fn check_exports(plugin: &Name, exports: &[(String, Extern)]) -> Result<(), WasmError> {
    let required: [(&'static str, &'static str, Extern); 3] = [
        (
            abi::EXPORT_MEMORY,
            "a 32-bit memory",
            Extern::Memory { memory64: false },
        ),
        (
            abi::EXPORT_ALLOC,
            "a function (i32) -> i32",
            Extern::Func(Some((vec![Ty::I32], vec![Ty::I32]))),
        ),
        (
            abi::EXPORT_CALL,
            "a function (i32, i32, i32, i32) -> i64",
            Extern::Func(Some((vec![Ty::I32; 4], vec![Ty::I64]))),
        ),
    ];
    for (export, expected, ty) in required {
        let found = exports.iter().find(|(n, _)| n == export).map(|(_, t)| t);
        if found != Some(&ty) {
            return Err(WasmError::Export {
                plugin: plugin.clone(),
                export,
                expected,
                found: found.map_or_else(|| "nothing".to_owned(), Extern::describe),
            });
        }
    }
    Ok(())
}

fn check_imports(
    plugin: &Name,
    grants: &[HostPermission],
    imports: &[(String, String, Extern)],
) -> Result<(), WasmError> {
    for (module, name, ty) in imports {
        let qualified = format!("{module}.{name}");
        let unknown = |expected| WasmError::UnknownImport {
            plugin: plugin.clone(),
            import: Quoted::new(&qualified),
            expected,
        };
        let Some(import) = host::import(name).filter(|_| module == abi::IMPORT_MODULE) else {
            return Err(unknown(None));
        };
        if *ty != Extern::Func(Some((import.params.to_vec(), import.results.to_vec()))) {
            return Err(unknown(Some(import.signature)));
        }
        if let Some(permission) = import.permission
            && !grants.contains(&permission)
        {
            return Err(WasmError::UngrantedImport {
                plugin: plugin.clone(),
                import: qualified,
                permission,
            });
        }
    }
    Ok(())
}
