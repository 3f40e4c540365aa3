//! The stored document: `{ "format": 1, "revision": n, "state": { "records": [...] } }`, shared by the stores
//! that keep state as one blob (file, key/value, Redis); the database stores keep the same fields in columns.

use serde::{Deserialize, Serialize};

use super::{Revision, StoreError};
use crate::state::RegistryState;

/// The document format this build writes and the newest it reads.
pub const FORMAT_VERSION: u64 = 1;

#[derive(Serialize)]
struct DocumentOut<'a> {
    format: u64,
    revision: Revision,
    state: &'a RegistryState,
}

/// The document as read in one pass. Everything but `format` is optional and the state stays raw, so a newer
/// format with another shape is still recognised as newer, not as corrupt.
#[derive(Deserialize)]
struct DocumentIn<'a> {
    format: u64,
    #[serde(default)]
    revision: Option<Revision>,
    #[serde(default, borrow)]
    state: Option<&'a serde_json::value::RawValue>,
}

/// Encodes a state at `revision` as a document.
pub fn encode_document(state: &RegistryState, revision: Revision) -> Vec<u8> {
    let document = DocumentOut {
        format: FORMAT_VERSION,
        revision,
        state,
    };
    // Sized for a typical pretty-printed record (about 150 bytes), so the buffer rarely grows and copies.
    let mut bytes = Vec::with_capacity(64 + 192 * state.records.len());
    // Serialising our own plain types into a Vec cannot fail.
    let _infallible = serde_json::to_writer_pretty(&mut bytes, &document);
    bytes
}

/// Decodes a document read from `location` of `store`: a newer format is refused, anything unreadable is
/// [`StoreError::Corrupt`] with the reason.
pub fn decode_document(bytes: &[u8], store: &str, location: &str) -> Result<(RegistryState, Revision), StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        store: store.to_owned(),
        location: location.to_owned(),
        reason,
    };
    let document: DocumentIn<'_> =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not a zelavis state document: {e}")))?;
    check_format(document.format, store, location)?;
    let (Some(revision), Some(state)) = (document.revision, document.state) else {
        return Err(corrupt("the document lacks its revision or its state".to_owned()));
    };
    Ok((decode_state(state.get(), store, location)?, revision))
}

/// The one rule every store applies to a stored format, on load and before overwriting: formats start at 1;
/// a newer one than this build reads is [`StoreError::NewerFormat`] (left untouched), 0 is corrupt.
pub(crate) fn check_format(found: u64, store: &str, location: &str) -> Result<(), StoreError> {
    if found > FORMAT_VERSION {
        return Err(StoreError::NewerFormat {
            store: store.to_owned(),
            location: location.to_owned(),
            found,
            supported: FORMAT_VERSION,
        });
    }
    if found == 0 {
        return Err(StoreError::Corrupt {
            store: store.to_owned(),
            location: location.to_owned(),
            reason: "format 0 is not a zelavis document format".to_owned(),
        });
    }
    Ok(())
}

/// Decodes a state JSON text stored in a document, column or value.
///
/// The fast path is serde's derived `Deserialize`, which accepts exactly what [`RegistryState::from_json`]
/// accepts (same raw records, same name checks, unknown fields and trailing data refused); only when it fails
/// does `from_json` run, for an error with the JSON path of the culprit.
pub(crate) fn decode_state(text: &str, store: &str, location: &str) -> Result<RegistryState, StoreError> {
    serde_json::from_str(text).or_else(|_| {
        RegistryState::from_json(text).map_err(|e| StoreError::Corrupt {
            store: store.to_owned(),
            location: location.to_owned(),
            reason: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_round_trip_and_refuse_newer_formats() {
        let state = RegistryState::from_json(r#"{"records":[{"name":"a","status":"installed","order":0}]}"#).unwrap();
        let bytes = encode_document(&state, Revision(7));
        assert_eq!(decode_document(&bytes, "test", "x").unwrap(), (state, Revision(7)));
        let newer = br#"{"format": 2, "revision": 1, "state": {"records": []}}"#;
        assert!(matches!(
            decode_document(newer, "test", "x"),
            Err(StoreError::NewerFormat { found: 2, .. })
        ));
        let err = decode_document(b"{nope", "file store", "zelavis/plugins.json").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("file store: zelavis/plugins.json is corrupt"),
            "{err}"
        );
        let bad_record =
            br#"{"format": 1, "revision": 1, "state": {"records": [{"name": "A", "status": "installed"}]}}"#;
        assert!(matches!(
            decode_document(bad_record, "t", "x"),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
