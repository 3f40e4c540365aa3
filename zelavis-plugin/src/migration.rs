//! [`Migration`]: a one-time step a plugin registers; the host runs it once per `(plugin, id)` and records it in
//! a ledger. Disabling a plugin never rolls a migration back.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use thiserror::Error;
use zelavis_core::quote::{Quoted, quote};

/// Longest accepted migration id, in bytes.
pub const MAX_MIGRATION_ID_LEN: usize = 128;

/// Why a text is not a valid migration id; each variant names the rule it broke.
///
/// # Grammar
///
/// ```text
/// id = ( "A".."Z" | "a".."z" | "0".."9" ) *( "A".."Z" | "a".."z" | "0".."9" | "." | "_" | "-" )
/// ```
///
/// at most [`MAX_MIGRATION_ID_LEN`] bytes, and never two dots in a row. Ids become ledger keys and may
/// become file or key names in a store, so a `/`, a `..` or a leading `.` can never appear in one:
/// `../../state/default` is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MigrationIdError {
    /// The id is empty.
    #[error("migration id is empty")]
    Empty,
    /// The id is longer than [`MAX_MIGRATION_ID_LEN`] bytes.
    #[error("migration id {id} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// A bounded copy of the id.
        id: Quoted,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The first character is not an ASCII letter or digit.
    #[error("migration id {} starts with {ch:?}; start with a letter or digit", quote(id))]
    BadStart {
        /// The offending id.
        id: String,
        /// Its first character.
        ch: char,
    },
    /// A character outside `A-Z a-z 0-9 . _ -`.
    #[error(
        "migration id {} has invalid character {ch:?} at byte {index}; allowed are A-Z, a-z, 0-9, '.', '_' and '-'",
        quote(id)
    )]
    InvalidChar {
        /// The offending id.
        id: String,
        /// The character.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
    /// Two dots in a row.
    #[error("migration id {} has '..' at byte {index}", quote(id))]
    DotDot {
        /// The offending id.
        id: String,
        /// The byte offset of the first dot.
        index: usize,
    },
}

/// Checks `text` against the migration-id [grammar](MigrationIdError#grammar); the one rule for ids, used by
/// [`Migration::new`] and by anything that reads ids back (a host's ledger).
///
/// ```
/// use zelavis_plugin::migration::{MigrationIdError, validate_id};
///
/// assert!(validate_id("2026-11-01_create-orders.v2").is_ok());
/// assert!(matches!(validate_id("../../state/default"), Err(MigrationIdError::BadStart { .. })));
/// ```
pub fn validate_id(text: &str) -> Result<(), MigrationIdError> {
    let Some(first) = text.chars().next() else {
        return Err(MigrationIdError::Empty);
    };
    if text.len() > MAX_MIGRATION_ID_LEN {
        return Err(MigrationIdError::TooLong {
            id: Quoted::new(text),
            len: text.len(),
            max: MAX_MIGRATION_ID_LEN,
        });
    }
    if !first.is_ascii_alphanumeric() {
        return Err(MigrationIdError::BadStart {
            id: text.to_owned(),
            ch: first,
        });
    }
    if let Some((index, ch)) = text
        .char_indices()
        .find(|&(_, ch)| !(ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-')))
    {
        return Err(MigrationIdError::InvalidChar {
            id: text.to_owned(),
            ch,
            index,
        });
    }
    if let Some(index) = text.find("..") {
        return Err(MigrationIdError::DotDot {
            id: text.to_owned(),
            index,
        });
    }
    Ok(())
}

type RunFn = dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync;

/// A migration: an id unique within its plugin (e.g. `2026-11-01-create-orders`) and the code to run.
///
/// ```
/// use zelavis_plugin::migration::Migration;
///
/// let m = Migration::new("001-create-orders", || async { Ok(()) })?;
/// assert_eq!(m.id(), "001-create-orders");
/// # Ok::<(), zelavis_plugin::migration::MigrationIdError>(())
/// ```
#[derive(Clone)]
pub struct Migration {
    id: String,
    run: Arc<RunFn>,
}

impl Migration {
    /// A migration running an async closure; the id must follow the [grammar](MigrationIdError#grammar).
    pub fn new<F, Fut>(id: impl Into<String>, run: F) -> Result<Self, MigrationIdError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let id = id.into();
        validate_id(&id)?;
        Ok(Self {
            id,
            run: Arc::new(move || Box::pin(run())),
        })
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs the migration (hosts call this; it runs once per ledger).
    pub async fn run(&self) -> Result<(), String> {
        (self.run)().await
    }
}

impl fmt::Debug for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migration")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_good_forms_are_accepted() {
        for ok in [
            "ok",
            "001-create-orders",
            "2026-11-01_create.orders",
            "A",
            "v1.2.3",
            "x-",
            "a.b_c-d",
        ] {
            assert_eq!(validate_id(ok), Ok(()), "{ok}");
        }
        assert!(validate_id(&"x".repeat(MAX_MIGRATION_ID_LEN)).is_ok());
        assert!(futures::executor::block_on(Migration::new("ok", || async { Ok(()) }).unwrap().run()).is_ok());
    }

    #[test]
    fn each_refusal_names_its_rule() {
        let error = |id: &str| Migration::new(id, || async { Ok(()) }).unwrap_err();
        assert_eq!(error(""), MigrationIdError::Empty);
        assert!(matches!(
            error("../../state/default"),
            MigrationIdError::BadStart { ch: '.', .. }
        ));
        assert!(matches!(
            error("a/../../state"),
            MigrationIdError::InvalidChar { ch: '/', index: 1, .. }
        ));
        assert!(matches!(error("a..b"), MigrationIdError::DotDot { index: 1, .. }));
        assert!(matches!(error(".hidden"), MigrationIdError::BadStart { .. }));
        assert!(matches!(error("-x"), MigrationIdError::BadStart { .. }));
        assert!(matches!(error("a b"), MigrationIdError::InvalidChar { ch: ' ', .. }));
        assert!(matches!(error("a\0"), MigrationIdError::InvalidChar { ch: '\0', .. }));
        assert!(matches!(error("é"), MigrationIdError::BadStart { ch: 'é', .. }));
        assert!(matches!(error("a%2f"), MigrationIdError::InvalidChar { ch: '%', .. }));
        let long = error(&"x".repeat(MAX_MIGRATION_ID_LEN + 1));
        assert!(matches!(long, MigrationIdError::TooLong { len: 129, .. }));
        let huge = error(&"x".repeat(1 << 20)).to_string();
        assert!(huge.len() < 300, "{huge}");
    }

    proptest! {
        #[test]
        fn accepted_ids_contain_no_forbidden_form(id in "[A-Za-z0-9./%_ -]{0,40}|\\PC{0,20}") {
            if validate_id(&id).is_ok() {
                prop_assert!(!id.is_empty() && id.len() <= MAX_MIGRATION_ID_LEN);
                prop_assert!(!id.contains('/') && !id.contains('\\') && !id.contains("..") && !id.contains('%'));
                prop_assert!(id.as_bytes()[0].is_ascii_alphanumeric());
                prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
            }
        }

        #[test]
        fn ids_built_from_the_grammar_are_accepted(id in "[A-Za-z0-9]([A-Za-z0-9_-]|\\.[A-Za-z0-9_-]){0,60}") {
            prop_assert_eq!(validate_id(&id), Ok(()));
            let migration = Migration::new(id.clone(), || async { Ok(()) }).unwrap();
            prop_assert_eq!(migration.id(), id.as_str());
        }
    }
}
