//! Host functions: what a guest may import, which [`HostPermission`] grants each, and what they do. The
//! engine module binds them; their meaning lives here.
//!
//! Capabilities are granted by linking: a module is linked only to the functions its manifest's
//! `host_permissions` grant, and a module importing any other function is refused when it loads
//! ([`WasmError::UngrantedImport`](crate::WasmError::UngrantedImport)), before any guest code runs.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::name::Name;
use zelavis_core::quote::clip;

/// Longest key a guest may use in its key/value space, in bytes.
pub const MAX_KV_KEY_LEN: usize = 256;

/// Longest log line kept from a guest, in bytes.
pub const MAX_LOG_LEN: usize = 4096;

/// A host capability a module asks for in its manifest's `host_permissions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HostPermission {
    /// `zelavis.log`: write to the host's log (`tracing`, target `zelavis_wasm::guest`).
    #[serde(rename = "log")]
    Log,
    /// `zelavis.settings`: read the plugin's own settings (JSON set by the host).
    #[serde(rename = "settings.read")]
    SettingsRead,
    /// `zelavis.kv_get`, `zelavis.kv_set`, `zelavis.kv_delete`: a key/value space of the plugin's own.
    #[serde(rename = "kv")]
    Kv,
}

impl HostPermission {
    /// Every host permission.
    pub const ALL: [HostPermission; 3] = [HostPermission::Log, HostPermission::SettingsRead, HostPermission::Kv];

    /// The name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            HostPermission::Log => "log",
            HostPermission::SettingsRead => "settings.read",
            HostPermission::Kv => "kv",
        }
    }
}

impl fmt::Display for HostPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HostPermission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HostPermission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown host permission {s:?}; expected log, settings.read or kv"))
    }
}

/// The value types of the ABI's functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    I32,
    I64,
}

/// One host function of the ABI.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Import {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [Ty],
    pub(crate) results: &'static [Ty],
    /// `None`: ABI plumbing, always linked.
    pub(crate) permission: Option<HostPermission>,
    pub(crate) signature: &'static str,
}

/// Every host function of `zelavis-guest/1`, in module [`IMPORT_MODULE`](crate::abi::IMPORT_MODULE).
pub(crate) const IMPORTS: &[Import] = &[
    Import {
        name: "abort",
        params: &[Ty::I32, Ty::I32],
        results: &[],
        permission: None,
        signature: "(message_ptr: i32, message_len: i32)",
    },
    Import {
        name: "take",
        params: &[Ty::I32, Ty::I32],
        results: &[Ty::I32],
        permission: None,
        signature: "(ptr: i32, len: i32) -> i32",
    },
    Import {
        name: "point_api",
        params: &[Ty::I32],
        results: &[Ty::I32],
        permission: None,
        signature: "(index: i32) -> i32",
    },
    Import {
        name: "log",
        params: &[Ty::I32, Ty::I32, Ty::I32],
        results: &[],
        permission: Some(HostPermission::Log),
        signature: "(level: i32, ptr: i32, len: i32)",
    },
    Import {
        name: "settings",
        params: &[],
        results: &[Ty::I32],
        permission: Some(HostPermission::SettingsRead),
        signature: "() -> i32",
    },
    Import {
        name: "kv_get",
        params: &[Ty::I32, Ty::I32],
        results: &[Ty::I32],
        permission: Some(HostPermission::Kv),
        signature: "(key_ptr: i32, key_len: i32) -> i32",
    },
    Import {
        name: "kv_set",
        params: &[Ty::I32, Ty::I32, Ty::I32, Ty::I32],
        results: &[Ty::I32],
        permission: Some(HostPermission::Kv),
        signature: "(key_ptr: i32, key_len: i32, value_ptr: i32, value_len: i32) -> i32",
    },
    Import {
        name: "kv_delete",
        params: &[Ty::I32, Ty::I32],
        results: &[Ty::I32],
        permission: Some(HostPermission::Kv),
        signature: "(key_ptr: i32, key_len: i32) -> i32",
    },
];

/// The import of that name, if the ABI has one.
pub(crate) fn import(name: &str) -> Option<&'static Import> {
    IMPORTS.iter().find(|i| i.name == name)
}

/// Why a key/value write was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KvError {
    /// The write would take the plugin's space past its quota.
    #[error("key/value space of {plugin:?} would hold {would_hold} bytes, at most {quota} are allowed")]
    Quota {
        /// The plugin.
        plugin: Name,
        /// Its size after the write.
        would_hold: usize,
        /// The quota ([`Limits::kv_bytes`](crate::Limits::kv_bytes)).
        quota: usize,
    },
    /// The key is empty or longer than [`MAX_KV_KEY_LEN`].
    #[error("key of {len} bytes refused: keys have 1 to {MAX_KV_KEY_LEN} bytes")]
    Key {
        /// Its length.
        len: usize,
    },
    /// The backend failed.
    #[error("key/value backend failed: {0}")]
    Backend(String),
}

/// A key/value space per plugin: where `zelavis.kv_*` read and write. Calls are synchronous (they run inside a
/// guest call, under its deadline). [`MemoryKv`] is the default; hosts plug in their own storage.
pub trait KvSpace: Send + Sync + 'static {
    /// The value of `key` in `plugin`'s space.
    fn get(&self, plugin: &Name, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;
    /// Sets `key` to `value` in `plugin`'s space, refusing to hold more than `quota` bytes in all.
    fn set(&self, plugin: &Name, key: &[u8], value: &[u8], quota: usize) -> Result<(), KvError>;
    /// Removes `key` from `plugin`'s space; says whether it was there.
    fn delete(&self, plugin: &Name, key: &[u8]) -> Result<bool, KvError>;
}

/// One plugin's keys and values.
type Space = HashMap<Vec<u8>, Vec<u8>>;

/// The in-memory [`KvSpace`]: one map per plugin, gone with the process.
///
/// ```
/// use zelavis_core::name::Name;
/// use zelavis_wasm::host::{KvSpace, MemoryKv};
///
/// let kv = MemoryKv::default();
/// let shop = Name::parse("shop")?;
/// kv.set(&shop, b"visits", b"1", 1024)?;
/// assert_eq!(kv.get(&shop, b"visits")?, Some(b"1".to_vec()));
/// assert_eq!(kv.get(&Name::parse("other")?, b"visits")?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryKv {
    spaces: Mutex<HashMap<Name, Space>>,
}

impl KvSpace for MemoryKv {
    fn get(&self, plugin: &Name, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        let spaces = self.spaces.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(spaces.get(plugin).and_then(|space| space.get(key)).cloned())
    }

    fn set(&self, plugin: &Name, key: &[u8], value: &[u8], quota: usize) -> Result<(), KvError> {
        let mut spaces = self.spaces.lock().unwrap_or_else(PoisonError::into_inner);
        let space = spaces.entry(plugin.clone()).or_default();
        let held: usize = space.iter().map(|(k, v)| k.len() + v.len()).sum();
        let replaced = space.get(key).map_or(0, |v| key.len() + v.len());
        let would_hold = held - replaced + key.len() + value.len();
        if would_hold > quota {
            return Err(KvError::Quota {
                plugin: plugin.clone(),
                would_hold,
                quota,
            });
        }
        space.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&self, plugin: &Name, key: &[u8]) -> Result<bool, KvError> {
        let mut spaces = self.spaces.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(spaces.get_mut(plugin).is_some_and(|space| space.remove(key).is_some()))
    }
}

/// Per-plugin settings, set by the host, read by guests granted `settings.read`.
#[derive(Debug, Default)]
pub(crate) struct SettingsBook {
    by_plugin: RwLock<HashMap<Name, Arc<[u8]>>>,
}

impl SettingsBook {
    pub(crate) fn set(&self, plugin: Name, json: Arc<[u8]>) {
        self.by_plugin
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(plugin, json);
    }

    pub(crate) fn get(&self, plugin: &Name) -> Option<Arc<[u8]>> {
        self.by_plugin
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(plugin)
            .cloned()
    }
}

/// What every call of one plugin shares: who it is, where its data lives, the composed APIs of its
/// extension points.
pub(crate) struct PluginEnv {
    pub(crate) name: Name,
    pub(crate) kv: Arc<dyn KvSpace>,
    pub(crate) settings: Arc<SettingsBook>,
    /// The API each extension point composed at the last setup, by point index.
    pub(crate) points: Mutex<Vec<Option<Arc<[u8]>>>>,
}

/// Why a host function stopped the call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum HostStop {
    /// The guest called `zelavis.abort` (the SDK does on a panic).
    #[error("guest aborted: {0}")]
    Abort(String),
    /// The deadline passed while the guest was calling the host.
    #[error("deadline passed in a host call")]
    Deadline,
    /// The guest broke the ABI in a host call.
    #[error("{0}")]
    Abi(String),
}

/// The state of one call: a fresh one for every instance.
pub(crate) struct CallState {
    pub(crate) env: Arc<PluginEnv>,
    pub(crate) deadline: Instant,
    /// The bytes the last host function staged for `zelavis.take`.
    pub(crate) staged: Vec<u8>,
    /// [`Limits::kv_bytes`](crate::Limits::kv_bytes) of this call.
    pub(crate) kv_quota: usize,
}

/// Turns a length into the `i32` the ABI returns (lengths are bounded by the 32-bit memory).
fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

impl CallState {
    pub(crate) fn new(env: Arc<PluginEnv>, deadline: Instant, kv_quota: usize) -> Self {
        Self {
            env,
            deadline,
            staged: Vec::new(),
            kv_quota,
        }
    }

    fn check_deadline(&self) -> Result<(), HostStop> {
        if Instant::now() > self.deadline {
            return Err(HostStop::Deadline);
        }
        Ok(())
    }

    /// `abort(ptr, len)`.
    pub(crate) fn abort(message: &[u8]) -> HostStop {
        HostStop::Abort(clip(&String::from_utf8_lossy(message), 1024))
    }

    /// `take(ptr, len) -> copied`: copies the staged bytes into `into` (as many as fit) and clears them.
    pub(crate) fn take(&mut self, into: &mut [u8]) -> i32 {
        let n = into.len().min(self.staged.len());
        into[..n].copy_from_slice(&self.staged[..n]);
        self.staged.clear();
        len_i32(n)
    }

    fn stage(&mut self, bytes: Option<&[u8]>) -> i32 {
        self.staged.clear();
        match bytes {
            Some(bytes) => {
                self.staged.extend_from_slice(bytes);
                len_i32(bytes.len())
            }
            None => -1,
        }
    }

    /// `point_api(index) -> len | -1`.
    pub(crate) fn point_api(&mut self, index: i32) -> i32 {
        let api = usize::try_from(index).ok().and_then(|index| {
            self.env
                .points
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(index)
                .cloned()
                .flatten()
        });
        self.stage(api.as_deref())
    }

    /// `log(level, ptr, len)`: 0 error, 1 warn, 2 info, 3 debug, other trace.
    pub(crate) fn log(&self, level: i32, message: &[u8]) -> Result<(), HostStop> {
        self.check_deadline()?;
        let text = String::from_utf8_lossy(&message[..message.len().min(MAX_LOG_LEN)]);
        let plugin = self.env.name.as_str();
        match level {
            0 => tracing::error!(target: "zelavis_wasm::guest", plugin, "{text}"),
            1 => tracing::warn!(target: "zelavis_wasm::guest", plugin, "{text}"),
            2 => tracing::info!(target: "zelavis_wasm::guest", plugin, "{text}"),
            3 => tracing::debug!(target: "zelavis_wasm::guest", plugin, "{text}"),
            _ => tracing::trace!(target: "zelavis_wasm::guest", plugin, "{text}"),
        }
        Ok(())
    }

    /// `settings() -> len | -1`.
    pub(crate) fn settings(&mut self) -> Result<i32, HostStop> {
        self.check_deadline()?;
        let settings = self.env.settings.get(&self.env.name);
        Ok(self.stage(settings.as_deref()))
    }

    fn key_ok(key: &[u8]) -> bool {
        !key.is_empty() && key.len() <= MAX_KV_KEY_LEN
    }

    /// `kv_get(key) -> len | -1` (absent, or an invalid key); a failing backend stops the call.
    pub(crate) fn kv_get(&mut self, key: &[u8]) -> Result<i32, HostStop> {
        self.check_deadline()?;
        if !Self::key_ok(key) {
            return Ok(self.stage(None));
        }
        let value = self
            .env
            .kv
            .get(&self.env.name, key)
            .map_err(|e| HostStop::Abi(e.to_string()))?;
        Ok(self.stage(value.as_deref()))
    }

    /// `kv_set(key, value) -> 0 | -1` (refused: quota or key).
    pub(crate) fn kv_set(&mut self, key: &[u8], value: &[u8]) -> Result<i32, HostStop> {
        self.check_deadline()?;
        if !Self::key_ok(key) {
            return Ok(-1);
        }
        match self.env.kv.set(&self.env.name, key, value, self.kv_quota) {
            Ok(()) => Ok(0),
            Err(error @ (KvError::Quota { .. } | KvError::Key { .. })) => {
                tracing::debug!(plugin = %self.env.name, %error, "guest key/value write refused");
                Ok(-1)
            }
            Err(error) => Err(HostStop::Abi(error.to_string())),
        }
    }

    /// `kv_delete(key) -> 1 | 0`.
    pub(crate) fn kv_delete(&mut self, key: &[u8]) -> Result<i32, HostStop> {
        self.check_deadline()?;
        if !Self::key_ok(key) {
            return Ok(0);
        }
        let removed = self
            .env
            .kv
            .delete(&self.env.name, key)
            .map_err(|e| HostStop::Abi(e.to_string()))?;
        Ok(i32::from(removed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_kv_keeps_spaces_apart_and_enforces_the_quota() {
        let kv = MemoryKv::default();
        let (a, b) = (Name::parse("a").unwrap(), Name::parse("b").unwrap());
        kv.set(&a, b"k", b"12345", 10).unwrap();
        kv.set(&a, b"k", b"123456789", 10).unwrap();
        assert!(matches!(
            kv.set(&a, b"k2", b"1", 10),
            Err(KvError::Quota { would_hold: 13, .. })
        ));
        assert_eq!(kv.get(&b, b"k").unwrap(), None);
        assert!(kv.delete(&a, b"k").unwrap());
        assert!(!kv.delete(&a, b"k").unwrap());
    }

    #[test]
    fn permissions_round_trip() {
        for p in HostPermission::ALL {
            assert_eq!(p.as_str().parse::<HostPermission>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert!(IMPORTS.iter().all(|i| import(i.name).is_some()));
    }
}
