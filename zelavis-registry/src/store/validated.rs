//! [`Validated`]: the stored documents a store already knows to be valid, so a save need not parse them again.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Revision, StoreError, Stored, decode_document};

/// How many bytes of bodies a [`Validated`] keeps, all keys together.
const VALIDATED_BYTES: usize = 4 << 20;

/// Per key (a scope, a file), the revision and exact bytes of the last document a store parsed successfully or
/// wrote itself.
///
/// A save must never overwrite a corrupt or newer-format document, so it checks what it is about to replace.
/// When that is byte for byte a document this store already vouched for, the check is a comparison instead of
/// a parse; any other document — another writer's, or one edited behind the store's back even at the same
/// revision — is parsed. Comparing bytes costs far less than parsing (or hashing) them. The memory is capped
/// at 4 MiB, beyond which it starts over: a miss only costs a parse.
#[derive(Default)]
pub(crate) struct Validated {
    documents: HashMap<String, (Revision, Vec<u8>)>,
    bytes: usize,
}

impl Validated {
    /// The revision of `body` if it is exactly the document last vouched for under `key`.
    pub(crate) fn revision_of(&self, key: &str, body: &[u8]) -> Option<Revision> {
        self.documents
            .get(key)
            .filter(|(_, known)| known.as_slice() == body)
            .map(|(revision, _)| *revision)
    }

    /// Whether `body` at `revision` is exactly the document last vouched for under `key`.
    #[cfg_attr(
        not(feature = "sqlite"),
        allow(dead_code, reason = "only the SQLite store asks by revision")
    )]
    pub(crate) fn vouches_for(&self, key: &str, revision: Revision, body: &[u8]) -> bool {
        self.revision_of(key, body) == Some(revision)
    }

    /// Records that `body`, at `revision`, is the valid document under `key` now.
    pub(crate) fn remember(&mut self, key: String, revision: Revision, body: Vec<u8>) {
        if let Some((_, old)) = self.documents.remove(&key) {
            self.bytes -= old.len();
        }
        if body.len() > VALIDATED_BYTES {
            return;
        }
        if self.bytes + body.len() > VALIDATED_BYTES {
            self.documents.clear();
            self.bytes = 0;
        }
        self.bytes += body.len();
        self.documents.insert(key, (revision, body));
    }
}

impl fmt::Debug for Validated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validated")
            .field("documents", &self.documents.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// [`Validated`] for the stores that keep whole documents (file, key/value), shared by a store's clones.
#[derive(Debug, Clone, Default)]
pub(crate) struct KnownDocuments(Arc<Mutex<Validated>>);

impl KnownDocuments {
    /// Decodes `bytes`, the document stored under `key` (which also names it in errors) by `store`, and
    /// remembers it as valid.
    pub(crate) fn decode(&self, key: String, bytes: Vec<u8>, store: &str) -> Result<Stored, StoreError> {
        let (state, revision) = decode_document(&bytes, store, &key)?;
        self.remember(key, revision, bytes);
        Ok(Stored { state, revision })
    }

    /// The revision of `bytes`, the document stored under `key` (which also names it in errors) by `store`:
    /// decoded, and then remembered, unless it is the document last vouched for under `key`. A corrupt or
    /// newer-format document is the error of [`decode_document`].
    pub(crate) fn revision(&self, key: &str, bytes: Vec<u8>, store: &str) -> Result<Revision, StoreError> {
        if let Some(revision) = self.lock().revision_of(key, &bytes) {
            return Ok(revision);
        }
        Ok(self.decode(key.to_owned(), bytes, store)?.revision)
    }

    /// Records that `bytes`, at `revision`, is the valid document under `key` now.
    pub(crate) fn remember(&self, key: String, revision: Revision, bytes: Vec<u8>) {
        self.lock().remember(key, revision, bytes);
    }

    /// A poisoned lock is taken over: each update is one whole insert.
    fn lock(&self) -> MutexGuard<'_, Validated> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bytes_last_remembered_are_vouched_for() {
        let mut validated = Validated::default();
        validated.remember("a".to_owned(), Revision(1), b"one".to_vec());
        assert_eq!(validated.revision_of("a", b"one"), Some(Revision(1)));
        assert!(validated.vouches_for("a", Revision(1), b"one"));
        assert!(
            !validated.vouches_for("a", Revision(2), b"one"),
            "same bytes, another revision"
        );
        assert!(
            !validated.vouches_for("a", Revision(1), b"onE"),
            "same revision, other bytes"
        );
        assert_eq!(validated.revision_of("b", b"one"), None);
        validated.remember("a".to_owned(), Revision(2), b"two".to_vec());
        assert_eq!(validated.revision_of("a", b"one"), None, "replaced");
        assert_eq!(validated.bytes, 3);
    }

    #[test]
    fn known_documents_decode_only_what_they_do_not_know() {
        let known = KnownDocuments::default();
        let state = crate::state::RegistryState::default();
        let document = super::super::encode_document(&state, Revision(3));
        assert_eq!(known.revision("k", document.clone(), "test").unwrap(), Revision(3));
        assert_eq!(
            known.lock().revision_of("k", &document),
            Some(Revision(3)),
            "remembered once decoded"
        );
        let corrupt = known.revision("k", b"{ nope".to_vec(), "test").unwrap_err();
        assert!(matches!(corrupt, StoreError::Corrupt { .. }), "{corrupt:?}");
        assert_eq!(
            known.lock().revision_of("k", &document),
            Some(Revision(3)),
            "a failed decode forgets nothing"
        );
        assert!(format!("{known:?}").contains("documents: 1"), "{known:?}");
    }

    #[test]
    fn memory_is_capped() {
        let mut validated = Validated::default();
        let half = vec![b'x'; VALIDATED_BYTES / 2];
        validated.remember("a".to_owned(), Revision(1), half.clone());
        validated.remember("b".to_owned(), Revision(1), half.clone());
        assert_eq!(validated.bytes, VALIDATED_BYTES);
        validated.remember("c".to_owned(), Revision(1), b"c".to_vec());
        assert_eq!(validated.bytes, 1, "over the cap: starts over");
        assert_eq!(validated.revision_of("a", &half), None);
        validated.remember("huge".to_owned(), Revision(1), vec![0; VALIDATED_BYTES + 1]);
        assert_eq!(validated.revision_of("huge", &[0]), None, "too big to keep");
        assert_eq!(validated.bytes, 1);
    }
}
