//! The dashboard's cost against a static axum handler returning the same bytes, in the same run.
//!
//! `dashboard/page/router` serves a plugin page through [`zelavis_dashboard::router`] (address parsing, the
//! runtime's render with panic isolation, normalisation to a full document, the isolation headers, the guard,
//! compression negotiation and tracing layers); `dashboard/page/static` is an axum router whose one handler
//! returns the same document with the same content type. `dashboard/navigation/*` does the same for the
//! navigation JSON (cached per runtime generation, so the router's work is the cache check and the layers).
//! `dashboard/*` drives both sides in process with `tower::ServiceExt::oneshot` on one tokio runtime, so what
//! differs is only the dashboard's own work, layers included — the strictest comparison. `dashboard-http/*`
//! serves both routers on loopback with `axum::serve` and sends one request at a time over a kept-alive HTTP/1.1
//! connection (hyper's client): what a browser or a load balancer sees. The run ends with the throughput ratios
//! (static time / router time; 1.0 is parity).
//!
//! `dashboard/*/static_layered` puts the static handler behind the same tower-http layers, which bounds the
//! in-process ratio: the rest is the dashboard's own work.
//!
//! Run with `cargo bench --bench dashboard -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::path::Path;

use axum::Router;
use axum::body::{Body, Bytes};
use criterion::Criterion;
use http::Request;
use tower::ServiceExt;
use zelavis::prelude::*;
use zelavis_dashboard::DashboardOptions;

const PAGE: &str = "/zelavis/api/v1/dashboard/plugin-pages/shop/orders";
const NAVIGATION: &str = "/zelavis/api/v1/dashboard/navigation";

fn shop(i: usize) -> PluginDef {
    let name = if i == 0 {
        "shop".to_owned()
    } else {
        format!("plugin-{i}")
    };
    PluginDef::builder(name)
        .menu(
            Menu::new(format!("Plugin {i}"))
                .path(format!("/p{i}"))
                .page(Page::new("home", "Home", |_| "<h1>Home</h1>"))
                .item(Menu::new("Orders").path(format!("/p{i}/orders")).page(Page::new(
                    "orders",
                    "Orders",
                    |_| "<h1>Orders</h1><table><tr><td>NW-1042</td><td>Ada Lovelace</td><td>€184.00</td></tr></table>",
                ))),
        )
        .build()
        .expect("a valid plugin")
}

async fn call(router: &Router, path: &'static str) -> Bytes {
    let response = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("answer");
    assert!(response.status().is_success());
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
}

fn statically(path: &'static str, content_type: &'static str, bytes: Bytes) -> Router {
    Router::new().route(
        path,
        axum::routing::get(move || {
            let bytes = bytes.clone();
            async move { ([(http::header::CONTENT_TYPE, content_type)], bytes) }
        }),
    )
}

/// `router` behind the same tower-http layers the dashboard stacks on a plugin page (tracing, compression, the
/// body limit, `nosniff`, the page CSP and referrer policy): what is left between this and the dashboard is the
/// dashboard's own work (the guard, address parsing, rendering, header filtering).
fn layered(router: Router) -> Router {
    use http::HeaderValue;
    use http::header;
    use tower_http::set_header::SetResponseHeaderLayer;
    router.layer(
        tower::ServiceBuilder::new()
            .layer(tower_http::trace::TraceLayer::new_for_http())
            .layer(tower_http::compression::CompressionLayer::new())
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(
                zelavis_dashboard::DEFAULT_BODY_LIMIT,
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox allow-scripts allow-forms; frame-ancestors 'self'"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            )),
    )
}

type Client = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>;

async fn serve(router: Router) -> String {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

async fn fetch(client: &Client, url: &str) -> Bytes {
    let response = client
        .request(Request::get(url).body(Body::empty()).expect("request"))
        .await
        .expect("answer");
    assert!(response.status().is_success());
    axum::body::to_bytes(Body::new(response.into_body()), usize::MAX)
        .await
        .expect("body")
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio");
    let (dashboard, page, navigation) = rt.block_on(async {
        let registry = PluginRegistry::new((0..20).map(|i| RegistryEntry::installed(shop(i)))).expect("registry");
        let (runtime, _) = Runtime::builder(registry).start().await.expect("runtime");
        let dashboard = zelavis_dashboard::router(runtime, DashboardOptions::new());
        let page = call(&dashboard, PAGE).await;
        let navigation = call(&dashboard, NAVIGATION).await;
        (dashboard, page, navigation)
    });
    let static_page = statically(PAGE, "text/html; charset=utf-8", page.clone());
    let static_navigation = statically(NAVIGATION, "application/json", navigation.clone());
    let layered_page = layered(static_page.clone());
    let layered_navigation = layered(static_navigation.clone());
    rt.block_on(async {
        assert_eq!(call(&static_page, PAGE).await, page);
        assert_eq!(call(&static_navigation, NAVIGATION).await, navigation);
    });

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("dashboard");
    for (name, path, router, baseline, layered) in [
        ("page", PAGE, &dashboard, &static_page, &layered_page),
        (
            "navigation",
            NAVIGATION,
            &dashboard,
            &static_navigation,
            &layered_navigation,
        ),
    ] {
        group.bench_function(format!("{name}/router"), |b| {
            b.iter(|| rt.block_on(call(black_box(router), path)));
        });
        group.bench_function(format!("{name}/static"), |b| {
            b.iter(|| rt.block_on(call(black_box(baseline), path)));
        });
        group.bench_function(format!("{name}/static_layered"), |b| {
            b.iter(|| rt.block_on(call(black_box(layered), path)));
        });
    }
    group.finish();

    let client: Client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let urls = rt.block_on(async {
        let router = serve(dashboard.clone()).await;
        let page_base = serve(static_page.clone()).await;
        let navigation_base = serve(static_navigation.clone()).await;
        [
            ("page", format!("{router}{PAGE}"), format!("{page_base}{PAGE}")),
            (
                "navigation",
                format!("{router}{NAVIGATION}"),
                format!("{navigation_base}{NAVIGATION}"),
            ),
        ]
    });
    let mut group = c.benchmark_group("dashboard-http");
    for (name, router, baseline) in &urls {
        rt.block_on(async {
            assert_eq!(fetch(&client, router).await, fetch(&client, baseline).await);
        });
        group.bench_function(format!("{name}/router"), |b| {
            b.iter(|| rt.block_on(fetch(&client, router)));
        });
        group.bench_function(format!("{name}/static"), |b| {
            b.iter(|| rt.block_on(fetch(&client, baseline)));
        });
    }
    group.finish();
    c.final_summary();

    report();
}

/// Prints the throughput ratios from criterion's estimates of this run.
fn report() {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        std::path::PathBuf::from,
    );
    let mean = |group: &str, id: &str| -> Option<f64> {
        let text =
            std::fs::read_to_string(target.join("criterion").join(group).join(id).join("new/estimates.json")).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json["mean"]["point_estimate"].as_f64()
    };
    for (group, name) in [
        ("dashboard", "page"),
        ("dashboard", "navigation"),
        ("dashboard-http", "page"),
        ("dashboard-http", "navigation"),
    ] {
        if let (Some(router), Some(baseline)) = (
            mean(group, &format!("{name}_router")),
            mean(group, &format!("{name}_static")),
        ) {
            println!(
                "{group}/{name}: router {:.2} µs, static {:.2} µs, throughput ratio {:.2}× (target ≥ 0.80×)",
                router / 1000.0,
                baseline / 1000.0,
                baseline / router
            );
            if let Some(layered) = mean(group, &format!("{name}_static_layered")) {
                println!(
                    "{group}/{name}: static behind the same tower-http layers {:.2} µs: the layers' bound {:.2}×, \
                     the dashboard's own work {:.2}×",
                    layered / 1000.0,
                    baseline / layered,
                    layered / router
                );
            }
        }
    }
}
