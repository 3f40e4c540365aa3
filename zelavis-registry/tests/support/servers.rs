//! Real servers for the store tests: connect, or say loudly why not.
//!
//! Each helper tries the server at the URL from its environment variable (or the default). When it cannot be
//! reached: under `CI` the test panics with a message naming the server, the URL and how to start it; elsewhere
//! that message goes to stderr and the helper returns `None`, so the test returns early (run
//! `cargo test --workspace` without the `postgres` and `redis` features to test only the embedded stores).

#![allow(dead_code, unreachable_pub)]

use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the PostgreSQL tests connect by default.
pub const POSTGRES_DEFAULT: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
/// Where the Redis tests connect by default.
pub const REDIS_DEFAULT: &str = "redis://127.0.0.1:6379/";

const POSTGRES_START: &str = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const REDIS_START: &str = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no";
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `ZELAVIS_POSTGRES_URL`, or the default.
pub fn postgres_url() -> String {
    std::env::var("ZELAVIS_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_DEFAULT.to_owned())
}

/// `ZELAVIS_REDIS_URL`, or the default.
pub fn redis_url() -> String {
    std::env::var("ZELAVIS_REDIS_URL").unwrap_or_else(|_| REDIS_DEFAULT.to_owned())
}

/// A name no other test, process or run uses: `<stem>_<pid>_<nanos>_<n>`, lower case, digits and `_`.
pub fn unique(stem: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{stem}_{}_{nanos}_{n}", process::id())
}

/// Panics under `CI`, otherwise prints why the test is skipped and returns `None`.
fn unavailable(server: &str, variable: &str, url: &str, error: &str, start: &str) -> Option<String> {
    let message = format!(
        "{server} is not reachable at {url:?} ({error}). Start it with `{start}`, or set {variable} to another \
         server; `cargo test --workspace` without the server features runs only the \
         embedded stores."
    );
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("SKIPPED: {message}");
    None
}

/// The PostgreSQL URL when the server answers `SELECT 1`.
#[cfg(feature = "postgres")]
pub async fn postgres_or_skip() -> Option<String> {
    let url = postgres_url();
    let probe = async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client.simple_query("SELECT 1").await.map(drop)
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => Some(url),
        Ok(Err(error)) => {
            let error =
                std::error::Error::source(&error).map_or_else(|| error.to_string(), |s| format!("{error}: {s}"));
            unavailable("PostgreSQL", "ZELAVIS_POSTGRES_URL", &url, &error, POSTGRES_START)
        }
        Err(_) => unavailable(
            "PostgreSQL",
            "ZELAVIS_POSTGRES_URL",
            &url,
            "no answer within 5 s",
            POSTGRES_START,
        ),
    }
}

/// The Redis URL when the server answers `PING`.
#[cfg(feature = "redis")]
pub async fn redis_or_skip() -> Option<String> {
    let url = redis_url();
    let probe = async {
        let client = redis::Client::open(url.as_str())?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => Some(url),
        Ok(Err(error)) => unavailable("Redis", "ZELAVIS_REDIS_URL", &url, &error.to_string(), REDIS_START),
        Err(_) => unavailable("Redis", "ZELAVIS_REDIS_URL", &url, "no answer within 5 s", REDIS_START),
    }
}

/// Drops a test schema and everything in it.
#[cfg(feature = "postgres")]
pub async fn drop_schema(url: &str, schema: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to drop the test schema");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .expect("drop the test schema");
}

/// Deletes every key under `prefix`.
#[cfg(feature = "redis")]
pub async fn delete_prefix(url: &str, prefix: &str) {
    let mut connection = redis::Client::open(url)
        .expect("redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to delete the test keys");
    let mut cursor = 0_u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .expect("scan");
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut connection)
                .await
                .expect("delete");
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}
