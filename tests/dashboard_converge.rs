//! Two dashboards on one PostgreSQL converge: what one installs, enables or disables shows up in the other's
//! navigation without a restart.
//!
//! Needs the PostgreSQL server at `ZELAVIS_POSTGRES_URL` (default `host=127.0.0.1 port=5432 user=postgres
//! dbname=test`). Under `CI` an unreachable server fails the test; elsewhere it says how to start one and
//! returns.

#[path = "../examples/dashboard/host.rs"]
mod host;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use zelavis::registry::store::Scope;

const DEFAULT_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

async fn postgres() -> Option<String> {
    let url = std::env::var("ZELAVIS_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let probe = async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client.simple_query("SELECT 1").await.map(drop)
    };
    match tokio::time::timeout(Duration::from_secs(5), probe).await {
        Ok(Ok(())) => Some(url),
        outcome => {
            let error = match outcome {
                Ok(Err(error)) => error.to_string(),
                _ => "no answer within 5 s".to_owned(),
            };
            let message = format!(
                "PostgreSQL is not reachable at {url:?} ({error}). Start it with \
                 `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set ZELAVIS_POSTGRES_URL"
            );
            assert!(std::env::var_os("CI").is_none(), "{message}");
            eprintln!("SKIPPED: {message}");
            None
        }
    }
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn write(method: &str, path: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(format!("/zelavis/api/v1/dashboard/{path}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request")
}

async fn workspace(router: &Router) -> Vec<String> {
    let (_, nav) = send(
        router,
        Request::get("/zelavis/api/v1/dashboard/navigation")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    nav["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["key"] == "workspace"))
        .and_then(|w| w["items"].as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["key"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn eventually(router: &Router, what: &str, wanted: impl Fn(&[String]) -> bool) {
    let started = Instant::now();
    loop {
        let keys = workspace(router).await;
        if wanted(&keys) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the second dashboard never saw {what}: {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dashboards_on_one_postgres_converge() {
    let Some(url) = postgres().await else { return };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let schema = format!("zelavis_dashboard_{}_{nanos}", std::process::id());
    let store = || host::StoreChoice::PostgresIn {
        url: url.clone(),
        schema: schema.clone(),
    };
    let a = host::start(store(), Scope::Default).await.expect("dashboard A starts");
    let b = host::start(store(), Scope::Default).await.expect("dashboard B starts");
    assert_eq!(workspace(&a.router).await, workspace(&b.router).await);

    // A installs a plugin from its loader: B loads it from its own and shows it.
    let (status, answer) = send(
        &a.router,
        write("POST", "plugins", &json!({ "specifier": "@zelavis/crm" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    eventually(&b.router, "the CRM installed", |keys| {
        keys.iter().any(|k| k == "plugin:crm")
    })
    .await;
    assert!(b.runtime.is_active("crm").await);

    // A disables it, and a plugin both started with: B follows.
    for name in ["crm", "discounts"] {
        let (status, answer) = send(
            &a.router,
            write("PATCH", &format!("plugins/{name}"), &json!({ "status": "available" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    eventually(&b.router, "CRM and discounts disabled", |keys| {
        !keys.iter().any(|k| k == "plugin:crm" || k == "plugin:discounts")
    })
    .await;
    // And B's change reaches A.
    let (status, _) = send(
        &b.router,
        write("PATCH", "plugins/discounts", &json!({ "status": "installed" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    eventually(&a.router, "discounts enabled again", |keys| {
        keys.iter().any(|k| k == "plugin:discounts")
    })
    .await;

    drop((a, b));
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .expect("drop the test schema");
}
