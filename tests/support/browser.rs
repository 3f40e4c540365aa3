//! The browser harness of the root browser tests: headless Debian chromium driven by chromedriver from Rust
//! (fantoccini), a host served on a free port, screenshots under `target/screenshots/`, scripts and waits.

#![allow(dead_code, reason = "each browser test uses a part of the harness")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A browser session and the chromedriver behind it (killed on drop); its profile directory lives as long.
pub(crate) struct Browser {
    pub(crate) client: Client,
    pub(crate) driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

/// The chromium and chromedriver binaries: `ZELAVIS_CHROMIUM` and `ZELAVIS_CHROMEDRIVER`, or Debian's.
fn binaries() -> (String, String) {
    let chromium = std::env::var("ZELAVIS_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
    let driver = std::env::var("ZELAVIS_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.to_owned());
    (chromium, driver)
}

/// Whether chromium and chromedriver are installed. Under `CI` a missing browser fails the test; elsewhere it
/// says how to install it and the test returns.
pub(crate) fn installed() -> bool {
    let (chromium, driver) = binaries();
    if Path::new(&chromium).exists() && Path::new(&driver).exists() {
        return true;
    }
    let help =
        "the browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver";
    assert!(std::env::var_os("CI").is_none(), "CI: {help}");
    eprintln!("skipping: {help}");
    false
}

/// Starts chromedriver on a free port and a headless chromium session of a `width` × `height` window.
pub(crate) async fn browser(width: u32, height: u32) -> Browser {
    let (chromium, driver_path) = binaries();
    let port = free_port();
    let driver = tokio::process::Command::new(driver_path)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--window-size={width},{height}"), "--hide-scrollbars",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => break client,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("chromedriver did not answer at {url}: {error}"),
        }
    };
    Browser {
        client,
        driver,
        _profile: profile,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Serves `router` on a free local port.
pub(crate) async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

fn screenshots() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"), PathBuf::from)
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// Saves a screenshot as `target/screenshots/<name>`.
pub(crate) async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    let path = screenshots().join(name);
    std::fs::write(&path, png).expect("write screenshot");
    eprintln!("  screenshot {}", path.display());
}

/// Runs `script` (a function body) and returns its value.
pub(crate) async fn js(client: &Client, script: &str) -> Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Runs an async script: `script` is the body of an async function whose return value is returned (what it
/// throws, as `{ thrown, code, message }`).
pub(crate) async fn js_async(client: &Client, script: &str) -> Value {
    let wrapped = format!(
        "const done = arguments[arguments.length - 1]; (async () => {{ {script} }})().then(done, (e) => done({{ thrown: String(e && e.name), code: e && e.code, message: String(e && e.message) }}));"
    );
    client
        .execute_async(&wrapped, vec![])
        .await
        .unwrap_or_else(|e| panic!("async script failed: {e}\n{script}"))
}

/// Waits until `condition` (a JS expression) is truthy.
pub(crate) async fn until(client: &Client, what: &str, condition: &str) {
    let started = Instant::now();
    loop {
        if js(client, &format!("return !!({condition});")).await == Value::Bool(true) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}: {condition}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until an element matches `css`.
pub(crate) async fn until_found(client: &Client, what: &str, css: &str) {
    until(client, what, &format!("document.querySelector({})", json!(css))).await;
}

/// Whether an element matches `css` now.
pub(crate) async fn found(client: &Client, css: &str) -> bool {
    js(client, &format!("return !!document.querySelector({});", json!(css))).await == json!(true)
}

/// Clicks the element `css` once it is there.
pub(crate) async fn click(client: &Client, css: &str) {
    until_found(client, css, css).await;
    client
        .find(Locator::Css(css))
        .await
        .expect("element")
        .click()
        .await
        .expect("click");
}

/// Types `keys` into the element `css` (a file input takes a path).
pub(crate) async fn type_into(client: &Client, css: &str, keys: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        .send_keys(keys)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// Picks `value` in the select `css` once it is there and enabled.
pub(crate) async fn select(client: &Client, css: &str, value: &str) {
    until(
        client,
        css,
        &format!(
            "document.querySelector({}) && !document.querySelector({}).disabled",
            json!(css),
            json!(css)
        ),
    )
    .await;
    client
        .find(Locator::Css(css))
        .await
        .expect("select")
        .select_by_value(value)
        .await
        .expect("select a value");
}

/// The trimmed text of the element `css` (empty when there is none).
pub(crate) async fn text(client: &Client, css: &str) -> String {
    let value = js(
        client,
        &format!(
            "const e = document.querySelector({}); return e ? e.textContent.trim() : null;",
            json!(css)
        ),
    )
    .await;
    value.as_str().unwrap_or_default().to_owned()
}
