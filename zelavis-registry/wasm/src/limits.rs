//! [`Limits`]: what one call of a WebAssembly plugin may use. Every call gets a fresh instance and these limits;
//! exceeding one stops the call with a typed [`Stop`](crate::error::Stop).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Per-call limits, configurable per plugin ([`WasmLoader::set_limits`](crate::WasmLoader::set_limits)).
///
/// The defaults follow Shopify Functions' sizes:
///
/// | limit | default | stops the call with |
/// |---|---|---|
/// | [`fuel`](Self::fuel) | 10,000,000 (about as many instructions) | `OutOfFuel` |
/// | [`memory_bytes`](Self::memory_bytes) | 64 MiB of linear memory | `MemoryLimit` |
/// | [`input_bytes`](Self::input_bytes) | 128 KiB | `InputTooLarge` (the guest is not called) |
/// | [`output_bytes`](Self::output_bytes) | 64 KiB | `OutputTooLarge` |
/// | [`deadline`](Self::deadline) | 100 ms of wall-clock time | `DeadlineExceeded` |
/// | [`kv_bytes`](Self::kv_bytes) | 1 MiB in the plugin's key/value space | the write fails (the guest sees `-1`) |
///
/// ```
/// use std::time::Duration;
/// use zelavis_wasm::Limits;
///
/// let strict = Limits::default().fuel(1_000_000).deadline(Duration::from_millis(10));
/// assert_eq!(strict.memory_bytes, 64 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// Fuel per call: wasmi charges about one unit per instruction.
    pub fuel: u64,
    /// Most linear memory an instance may have, in bytes (its initial size included).
    pub memory_bytes: usize,
    /// Largest input a call accepts, in bytes.
    pub input_bytes: usize,
    /// Largest output a call may return, in bytes (status byte excluded).
    pub output_bytes: usize,
    /// Wall-clock time per call, instantiation included. Checked between fuel slices and in host functions.
    #[serde(with = "crate::error::millis")]
    pub deadline: Duration,
    /// Most bytes (keys and values) the plugin may keep in its key/value space.
    pub kv_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 10_000_000,
            memory_bytes: 64 << 20,
            input_bytes: 128 << 10,
            output_bytes: 64 << 10,
            deadline: Duration::from_millis(100),
            kv_bytes: 1 << 20,
        }
    }
}

impl Limits {
    /// Sets [`fuel`](Self::fuel).
    #[must_use]
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }

    /// Sets [`memory_bytes`](Self::memory_bytes).
    #[must_use]
    pub fn memory_bytes(mut self, bytes: usize) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// Sets [`input_bytes`](Self::input_bytes).
    #[must_use]
    pub fn input_bytes(mut self, bytes: usize) -> Self {
        self.input_bytes = bytes;
        self
    }

    /// Sets [`output_bytes`](Self::output_bytes).
    #[must_use]
    pub fn output_bytes(mut self, bytes: usize) -> Self {
        self.output_bytes = bytes;
        self
    }

    /// Sets [`deadline`](Self::deadline).
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets [`kv_bytes`](Self::kv_bytes).
    #[must_use]
    pub fn kv_bytes(mut self, bytes: usize) -> Self {
        self.kv_bytes = bytes;
        self
    }
}
