//! The one place with `unsafe`: the ABI's exports and imports, and reading and writing this instance's memory.
//!
//! Why it is sound: the host writes a call's input into a buffer `zelavis_alloc` gave it (a leaked `Vec`, so
//! nothing else owns or frees it) and passes that buffer's pointer and length back; outputs are leaked `Vec`s the
//! host only reads; the instance is dropped after each call, so leaking is the memory model, not a bug. On
//! targets other than `wasm32` (docs, host-side tests) the imports are stand-ins that do nothing.

#![allow(unsafe_code, reason = "the ABI boundary: see the module docs")]

/// Status byte of a successful call.
const STATUS_OK: u8 = 0;
/// Status byte of a failed call.
const STATUS_ERROR: u8 = 1;

#[cfg(target_arch = "wasm32")]
mod sys {
    #[link(wasm_import_module = "zelavis")]
    unsafe extern "C" {
        pub(super) fn abort(ptr: i32, len: i32);
        pub(super) fn take(ptr: i32, len: i32) -> i32;
        pub(super) fn point_api(index: i32) -> i32;
        pub(super) fn log(level: i32, ptr: i32, len: i32);
        pub(super) fn settings() -> i32;
        pub(super) fn kv_get(kptr: i32, klen: i32) -> i32;
        pub(super) fn kv_set(kptr: i32, klen: i32, vptr: i32, vlen: i32) -> i32;
        pub(super) fn kv_delete(kptr: i32, klen: i32) -> i32;
    }
}

/// A pointer as the ABI's `i32` (wasm32 addresses are 32 bits).
#[cfg(target_arch = "wasm32")]
fn addr(ptr: *const u8) -> i32 {
    #[expect(
        clippy::cast_possible_wrap,
        clippy::cast_possible_truncation,
        reason = "wasm32 pointers are 32 bits"
    )]
    let addr = ptr as usize as i32;
    addr
}

#[cfg(target_arch = "wasm32")]
fn len_of(bytes: &[u8]) -> i32 {
    i32::try_from(bytes.len()).unwrap_or(i32::MAX)
}

/// `zelavis_alloc(len) -> ptr`: a buffer of `len` bytes the host writes a call's input into.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
#[allow(unreachable_pub, reason = "exported to the host by its symbol, not by a Rust path")]
pub extern "C" fn zelavis_alloc(len: i32) -> i32 {
    let buffer: Vec<u8> = Vec::with_capacity(usize::try_from(len).unwrap_or(0).max(1));
    addr(buffer.leak().as_ptr())
}

/// The input the host wrote at `ptr`.
pub(crate) fn input(ptr: i32, len: i32) -> Vec<u8> {
    let Ok(len) = usize::try_from(len) else {
        return Vec::new();
    };
    if len == 0 || ptr == 0 {
        return Vec::new();
    }
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: `ptr..ptr + len` is the buffer `zelavis_alloc(len)` returned, which the host filled; it was
        // leaked, so it is valid for reads and owned by nobody else.
        let bytes = unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len) };
        bytes.to_vec()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        Vec::new()
    }
}

/// The packed output location of `outcome`: status byte, then the result or the message.
pub(crate) fn output(outcome: Result<Vec<u8>, String>) -> i64 {
    let mut bytes = Vec::new();
    match outcome {
        Ok(result) => {
            bytes.reserve_exact(result.len() + 1);
            bytes.push(STATUS_OK);
            bytes.extend_from_slice(&result);
        }
        Err(message) => {
            bytes.push(STATUS_ERROR);
            bytes.extend_from_slice(message.as_bytes());
        }
    }
    let len = u64::try_from(bytes.len()).unwrap_or(0);
    let ptr = bytes.leak().as_ptr() as usize as u64;
    #[expect(clippy::cast_possible_wrap, reason = "the ABI reinterprets the bits")]
    let packed = ((ptr << 32) | len) as i64;
    packed
}

/// Reports a panic's message to the host (`zelavis.abort`), which stops the call as a trap.
pub(crate) fn report_panics() {
    #[cfg(target_arch = "wasm32")]
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        // SAFETY: the message is a live slice of this instance's memory for the duration of the call.
        unsafe { sys::abort(addr(message.as_ptr()), len_of(message.as_bytes())) };
    }));
}

/// Copies what the last host function staged (`len` bytes, or none for `-1`).
#[cfg(target_arch = "wasm32")]
fn take(len: i32) -> Option<Vec<u8>> {
    let len = usize::try_from(len).ok()?;
    let mut buffer = vec![0u8; len];
    // SAFETY: `buffer` is `len` writable bytes; the host writes at most that many.
    let copied = unsafe { sys::take(addr(buffer.as_mut_ptr()), len_of(&buffer)) };
    buffer.truncate(usize::try_from(copied).unwrap_or(0));
    Some(buffer)
}

pub(crate) fn log(level: i32, message: &str) {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: the message is a live slice of this instance's memory.
    unsafe {
        sys::log(level, addr(message.as_ptr()), len_of(message.as_bytes()));
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

pub(crate) fn settings() -> Option<Vec<u8>> {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: no arguments; the result is a length.
        take(unsafe { sys::settings() })
    }
    #[cfg(not(target_arch = "wasm32"))]
    None
}

pub(crate) fn point_api(index: u32) -> Option<Vec<u8>> {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: the argument is an index; the result is a length.
        take(unsafe { sys::point_api(i32::try_from(index).ok()?) })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = index;
        None
    }
}

pub(crate) fn kv_get(key: &[u8]) -> Option<Vec<u8>> {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: the key is a live slice of this instance's memory.
        take(unsafe { sys::kv_get(addr(key.as_ptr()), len_of(key)) })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = key;
        None
    }
}

pub(crate) fn kv_set(key: &[u8], value: &[u8]) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: key and value are live slices of this instance's memory.
        unsafe { sys::kv_set(addr(key.as_ptr()), len_of(key), addr(value.as_ptr()), len_of(value)) == 0 }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (key, value);
        false
    }
}

pub(crate) fn kv_delete(key: &[u8]) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: the key is a live slice of this instance's memory.
        unsafe { sys::kv_delete(addr(key.as_ptr()), len_of(key)) == 1 }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = key;
        false
    }
}
