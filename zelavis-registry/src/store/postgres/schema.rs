//! The PostgreSQL store's own tables: created on connect, migrated under an advisory lock so that hosts
//! connecting at once migrate once, and refused when newer than this build knows.

use super::describe_error;
use crate::store::StoreError;

/// The version of the table layout this build creates and reads.
pub const SCHEMA_VERSION: u64 = 2;

/// The migrations of the table layout: entry `n` takes a schema from version `n` to `n + 1`. `{s}` is the
/// quoted schema.
const LAYOUT_MIGRATIONS: &[&str] = &[
    "CREATE TABLE {s}.state (
        scope TEXT PRIMARY KEY,
        revision BIGINT NOT NULL CHECK (revision > 0),
        format INT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE {s}.migrations (
        plugin TEXT NOT NULL,
        id TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (plugin, id)
    );",
    "ALTER TABLE {s}.migrations ADD COLUMN scope TEXT NOT NULL DEFAULT 'default';
    ALTER TABLE {s}.migrations DROP CONSTRAINT migrations_pkey;
    ALTER TABLE {s}.migrations ADD PRIMARY KEY (scope, plugin, id);",
];

const _: () = assert!(
    LAYOUT_MIGRATIONS.len() as u64 == SCHEMA_VERSION,
    "one migration per layout version"
);

/// Creates the schema `schema`, or brings an older one up to [`SCHEMA_VERSION`]; refuses a newer one. `name`
/// names the store in errors.
pub(super) async fn migrate(
    client: &mut deadpool_postgres::Client,
    schema: &str,
    name: &str,
) -> Result<(), StoreError> {
    let quoted = format!("\"{schema}\"");
    let backend = |context: &str, e: &tokio_postgres::Error| StoreError::Backend {
        store: name.to_owned(),
        message: format!("{context}: {}", describe_error(e)),
    };
    let tx = client
        .transaction()
        .await
        .map_err(|e| backend("cannot begin the schema migration", &e))?;
    // One migrator per schema at a time, across hosts; released at commit.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("zelavis-schema:{schema}")],
    )
    .await
    .map_err(|e| backend("cannot lock the schema for migration", &e))?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {quoted};
         CREATE TABLE IF NOT EXISTS {quoted}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    ))
    .await
    .map_err(|e| backend("cannot create the schema", &e))?;
    let row = tx
        .query_opt(
            &format!("SELECT value FROM {quoted}.meta WHERE key = 'schema_version'"),
            &[],
        )
        .await
        .map_err(|e| backend("cannot read the schema version", &e))?;
    let location = format!("{schema}.meta[key=schema_version]");
    let current = match row {
        None => 0,
        Some(row) => {
            let text: String = row
                .try_get(0)
                .map_err(|e| backend("cannot read the schema version", &e))?;
            text.trim().parse::<u64>().map_err(|_| StoreError::Corrupt {
                store: name.to_owned(),
                location: location.clone(),
                reason: format!("schema version {} is not a number", zelavis_core::quote::quote(&text)),
            })?
        }
    };
    if current > SCHEMA_VERSION {
        return Err(StoreError::NewerFormat {
            store: name.to_owned(),
            location,
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    if current < SCHEMA_VERSION {
        for (from, migration) in LAYOUT_MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(current).unwrap_or(0))
        {
            tx.batch_execute(&migration.replace("{s}", &quoted))
                .await
                .map_err(|e| backend(&format!("cannot migrate the schema from version {from}"), &e))?;
        }
        tx.execute(
            &format!(
                "INSERT INTO {quoted}.meta (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            &[&SCHEMA_VERSION.to_string()],
        )
        .await
        .map_err(|e| backend("cannot record the schema version", &e))?;
    }
    tx.commit()
        .await
        .map_err(|e| backend("cannot commit the schema migration", &e))
}
