//! [`Migration`]: a one-time step a plugin registers; the host runs it once per `(plugin, id)` and records it in
//! a ledger. Disabling a plugin never rolls a migration back.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use thiserror::Error;

/// Longest accepted migration id, in bytes.
pub const MAX_MIGRATION_ID_LEN: usize = 128;

/// A migration id that breaks the rules: non-empty, at most 128 bytes, printable ASCII without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("migration id {id:?} is invalid: use 1 to 128 printable ASCII characters without spaces")]
pub struct InvalidMigrationId {
    /// The offending id.
    pub id: String,
}

type RunFn = dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync;

/// A migration: an id unique within its plugin (e.g. `2026-11-01-create-orders`) and the code to run.
///
/// ```
/// use zelavis_plugin::migration::Migration;
///
/// let m = Migration::new("001-create-orders", || async { Ok(()) })?;
/// assert_eq!(m.id(), "001-create-orders");
/// # Ok::<(), zelavis_plugin::migration::InvalidMigrationId>(())
/// ```
#[derive(Clone)]
pub struct Migration {
    id: String,
    run: Arc<RunFn>,
}

impl Migration {
    /// A migration running an async closure.
    pub fn new<F, Fut>(id: impl Into<String>, run: F) -> Result<Self, InvalidMigrationId>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let id = id.into();
        let valid = !id.is_empty() && id.len() <= MAX_MIGRATION_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(InvalidMigrationId { id });
        }
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

    #[test]
    fn ids_are_checked() {
        for bad in ["", "a b", &"x".repeat(129), "é"] {
            assert!(Migration::new(bad, || async { Ok(()) }).is_err(), "{bad}");
        }
        assert!(futures::executor::block_on(Migration::new("ok", || async { Ok(()) }).unwrap().run()).is_ok());
    }
}
