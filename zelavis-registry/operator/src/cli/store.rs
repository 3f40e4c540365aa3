//! `--store`: opens the operator store a URL names.

use std::sync::Arc;

use zelavis_operator::store::OperatorStore;
use zelavis_operator::store::sqlite::SqliteOperatorStore;

use super::exit::Failure;

/// What a `--store` URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreUrl<'a> {
    /// `sqlite:<path>` or `sqlite://<path>`.
    Sqlite(&'a str),
    /// `postgres://...` or `postgresql://...`, as given.
    Postgres(&'a str),
}

/// Reads a `--store` URL.
pub(crate) fn parse(url: &str) -> Result<StoreUrl<'_>, Failure> {
    let url = url.trim();
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() || path == ":memory:" {
            return Err(Failure::usage(
                "unsupported_store",
                "--store sqlite: needs a file path, e.g. sqlite:.zelavis/operator.db",
            ));
        }
        return Ok(StoreUrl::Sqlite(path));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(StoreUrl::Postgres(url));
    }
    Err(Failure::usage(
        "unsupported_store",
        format!(
            "--store {:?} is neither sqlite:<path> nor postgres://...",
            url.chars().take(64).collect::<String>()
        ),
    ))
}

/// Opens (creating when needed) the store `url` names.
pub(crate) async fn open(url: &str) -> Result<Arc<dyn OperatorStore>, Failure> {
    match parse(url)? {
        StoreUrl::Sqlite(path) => Ok(Arc::new(SqliteOperatorStore::open(path)?)),
        StoreUrl::Postgres(url) => postgres(url).await,
    }
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<Arc<dyn OperatorStore>, Failure> {
    let store = zelavis_operator::store::postgres::PostgresOperatorStore::connect(url).await?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "postgres"))]
#[allow(clippy::unused_async)]
async fn postgres(_url: &str) -> Result<Arc<dyn OperatorStore>, Failure> {
    Err(Failure::usage(
        "unsupported_store",
        "this zelavis was built without PostgreSQL support: rebuild it with `--features postgres`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert_eq!(
            parse("sqlite:.zelavis/operator.db").ok(),
            Some(StoreUrl::Sqlite(".zelavis/operator.db"))
        );
        assert_eq!(
            parse("sqlite:///var/lib/z.db").ok(),
            Some(StoreUrl::Sqlite("/var/lib/z.db"))
        );
        assert_eq!(
            parse("postgres://ops@db/zelavis").ok(),
            Some(StoreUrl::Postgres("postgres://ops@db/zelavis"))
        );
        assert!(parse("sqlite:").is_err());
        assert!(parse("redis://localhost").is_err());
    }
}
