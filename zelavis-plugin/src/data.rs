//! [`Data`]: a hook event or filter value held as JSON bytes, so that plugins whose code is not linked into the
//! host (WebAssembly plugins) and native plugins can handle the same hooks and filters.
//!
//! The bus types every hook and filter by its payload. A hook whose events are [`Data`] (`HookRef<Data>`) can
//! be handled by any plugin: a native handler decodes the JSON into its own type, a WebAssembly handler receives
//! the bytes as they are. Data crosses no boundary it does not need to: emitting costs one encode, and a native
//! handler that only needs a field can decode into a small struct.
//!
//! ```
//! use zelavis_core::bus::{Bus, HookRef, Subscription};
//! use zelavis_core::name::Name;
//! use zelavis_plugin::data::Data;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct OrderCreated { id: u64, cents: u64 }
//! const ORDER_CREATED: HookRef<Data> = HookRef::new("order.created");
//!
//! let bus = Bus::new();
//! bus.install(&Name::parse("mailer")?, vec![Subscription::hook_sync(&ORDER_CREATED, 0, |event| {
//!     let order: OrderCreated = event.decode()?;
//!     assert_eq!(order.cents, 1_250);
//!     Ok(())
//! })])?;
//! let summary = futures::executor::block_on(bus.emit(&ORDER_CREATED, Data::encode(&OrderCreated { id: 7, cents: 1_250 })?));
//! assert!(summary.is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;
use zelavis_core::bus::HandlerError;
use zelavis_core::quote::clip;

/// Longest reason kept in a [`DataError`], in bytes (serde's reasons can quote input).
const MAX_REASON_LEN: usize = 256;

/// A JSON document as bytes: the payload of hooks and filters shared with foreign code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Data {
    json: Vec<u8>,
}

/// Why bytes are not a JSON document, or a document is not the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("data is not {expected}: {reason} (line {line}, column {column})")]
pub struct DataError {
    /// What was expected: `JSON`, or the type decoded into.
    pub expected: &'static str,
    /// What was wrong, bounded.
    pub reason: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl DataError {
    fn new(expected: &'static str, error: &serde_json::Error) -> Self {
        let message = error.to_string();
        let reason = message.rfind(" at line ").map_or(message.as_str(), |i| &message[..i]);
        Self {
            expected,
            reason: clip(reason, MAX_REASON_LEN),
            line: error.line(),
            column: error.column(),
        }
    }
}

impl From<DataError> for HandlerError {
    fn from(error: DataError) -> Self {
        HandlerError::new(error.to_string())
    }
}

impl Data {
    /// `value` encoded as JSON.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, DataError> {
        serde_json::to_vec(value)
            .map(|json| Self { json })
            .map_err(|e| DataError::new(std::any::type_name::<T>(), &e))
    }

    /// Bytes that must be one JSON document (checked, not kept parsed).
    pub fn from_json(json: Vec<u8>) -> Result<Self, DataError> {
        serde_json::from_slice::<serde::de::IgnoredAny>(&json).map_err(|e| DataError::new("JSON", &e))?;
        Ok(Self { json })
    }

    /// The document decoded into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DataError> {
        serde_json::from_slice(&self.json).map_err(|e| DataError::new(std::any::type_name::<T>(), &e))
    }

    /// The JSON bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.json
    }

    /// The JSON bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.json
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(&self.json);
        f.debug_tuple("Data").field(&clip(&text, 128)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_checks_and_decodes() {
        let data = Data::encode(&serde_json::json!({ "id": 1 })).unwrap();
        assert_eq!(data.as_bytes(), br#"{"id":1}"#);
        let value: serde_json::Value = data.decode().unwrap();
        assert_eq!(value["id"], 1);
        let error = Data::from_json(b"{\"id\":".to_vec()).unwrap_err();
        assert_eq!((error.expected, error.line), ("JSON", 1));
        let error = data.decode::<Vec<u8>>().unwrap_err();
        assert!(error.to_string().contains("alloc::vec::Vec<u8>"), "{error}");
        assert!(format!("{data:?}").contains("id"));
    }
}
