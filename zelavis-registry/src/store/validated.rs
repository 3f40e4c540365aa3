//! [`Validated`]: the stored documents a store already knows to be valid, so a save need not parse them again.

use std::collections::HashMap;

use super::Revision;

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
#[derive(Debug, Default)]
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
