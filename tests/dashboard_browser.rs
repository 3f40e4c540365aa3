//! The reference dashboard host (`examples/dashboard`) in a real browser: headless Debian chromium driven by
//! chromedriver from Rust (fantoccini).
//!
//! Needs `chromium` and `chromium-driver` (`apt-get install -y chromium chromium-driver`; `.ci/run` installs
//! them). Under `CI` a missing browser fails the run; elsewhere the test says how to install it and returns.
//! Screenshots are saved under `target/screenshots/`.

#[path = "support/browser.rs"]
mod browser;
#[path = "../examples/dashboard/host.rs"]
mod host;

use std::time::{Duration, Instant};

use browser::{Browser, browser, click, installed, js, js_async, serve, shot, until};
use fantoccini::Client;
use serde_json::json;
use zelavis::registry::store::Scope;
use zelavis::registry::store::memory::MemoryStore;

/// Enters the plugin frame once its bridge is open.
async fn enter_plugin_frame(client: &Client) {
    until(
        client,
        "the plugin frame's bridge",
        "document.querySelector('zelavis-plugin-frame[data-bridge=open]')",
    )
    .await;
    client.enter_frame(0).await.expect("enter the plugin frame");
}

// One browser session tells the whole story: starting chromium once keeps the suite to a few seconds.
#[allow(clippy::too_many_lines, reason = "one browser session, one story, in order")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_real_browser() {
    if !installed() {
        return;
    }
    let started = Instant::now();
    let host = host::start(host::StoreChoice::Memory(MemoryStore::new()), Scope::Default)
        .await
        .expect("the host starts");
    let address = serve(host.router).await;
    let base = format!("http://{address}");
    let Browser { client, mut driver, .. } = browser(1440, 900).await;
    eprintln!("browser up in {:?}", started.elapsed());

    // ---- the shell loads; Workspace: one entry per installed top-level plugin, none for children.
    client.goto(&format!("{base}/zelavis/")).await.expect("open the shell");
    until(
        &client,
        "the navigation",
        "document.querySelector('[data-section=workspace] .nav-item')",
    )
    .await;
    let workspace = js(
        &client,
        "return Array.from(document.querySelectorAll('[data-section=workspace] .nav-item')).map((b) => b.dataset.key);",
    )
    .await;
    assert_eq!(
        workspace,
        json!([
            "service:files",
            "plugin:zelavis-ecommerce",
            "plugin:inventory",
            "plugin:shipping",
            "plugin:discounts",
            "plugin:analytics"
        ]),
    );
    let first = js(&client, "return Array.from(document.querySelectorAll('[data-slide=root] > .nav-item, [data-slide=root] > .group > .group-title')).map((e) => e.dataset.key || e.textContent);").await;
    assert_eq!(
        first,
        json!(["service:search", "marketplace", "Core", "Workspace", "Settings"])
    );
    shot(&client, "overview.png").await;

    // ---- Ecommerce → Orders shows the Orders page inside the frame.
    click(&client, "[data-key='plugin:zelavis-ecommerce']").await;
    click(
        &client,
        "[data-slide='plugin:zelavis-ecommerce'] [data-key='plugin:zelavis-ecommerce/0']",
    )
    .await;
    let sandbox = js(
        &client,
        "return document.querySelector('zelavis-plugin-frame iframe').getAttribute('sandbox');",
    )
    .await;
    assert_eq!(sandbox, json!("allow-scripts allow-forms"));
    enter_plugin_frame(&client).await;
    until(
        &client,
        "the orders table",
        "document.querySelectorAll('#orders tr').length === 6",
    )
    .await;
    assert_eq!(
        js(&client, "return document.querySelector('h1').textContent;").await,
        json!("Orders")
    );

    // ---- the bridge round-trips: theme, toast, title, api.fetch to its own routes, with the user's session.
    let theme = js_async(&client, "return await zelavis.theme.get();").await;
    assert_eq!(theme["mode"], json!("light"), "{theme}");
    let orders = js_async(&client, "const r = await zelavis.api.fetch('/orders'); return { status: r.status, n: JSON.parse(r.body).length, type: r.headers['content-type'] };").await;
    assert_eq!(orders, json!({ "status": 200, "n": 6, "type": "application/json" }));
    let session = js_async(&client, "return await zelavis.api.json('/session');").await;
    assert_eq!(
        session["session"],
        json!(true),
        "api.fetch carries the user's session: {session}"
    );
    js_async(
        &client,
        "await zelavis.toast.show('Bridge says hello', 'success'); return null;",
    )
    .await;
    // api.fetch to another plugin's routes (or anywhere else) is refused.
    for path in [
        "/../inventory/stock",
        "/%2e%2e/inventory/stock",
        "/..%2Finventory/stock",
        "//evil.example/x",
        "http://evil.example/x",
        "/./x",
    ] {
        let refused = js_async(&client, &format!("return await zelavis.api.fetch({});", json!(path))).await;
        assert_eq!(refused["code"], json!("forbidden"), "{path}: {refused}");
    }
    let unknown = js_async(&client, "return await zelavis.call('shell.eval', { code: '1' });").await;
    assert_eq!(unknown["code"], json!("unknown_method"), "{unknown}");
    js(
        &client,
        "window.__themes = []; zelavis.theme.onChange((t) => window.__themes.push(t.mode)); return null;",
    )
    .await;

    // ---- isolation, from the page's own script.
    let isolation = js(
        &client,
        r"
        const attempt = (f) => { try { return 'read:' + String(f()); } catch (e) { return 'threw:' + e.name; } };
        return {
          parentDocument: attempt(() => window.parent.document.title),
          parentHref: attempt(() => parent.location.href),
          cookie: attempt(() => document.cookie),
          origin: self.origin,
        };",
    )
    .await;
    assert!(
        isolation["parentDocument"]
            .as_str()
            .is_some_and(|s| s.starts_with("threw:")),
        "{isolation}"
    );
    assert!(
        isolation["parentHref"]
            .as_str()
            .is_some_and(|s| s.starts_with("threw:")),
        "{isolation}"
    );
    assert!(
        matches!(isolation["cookie"].as_str(), Some("read:" | "threw:SecurityError")),
        "{isolation}"
    );
    assert_eq!(isolation["origin"], json!("null"), "{isolation}");
    let direct = js_async(&client, "try { const r = await fetch('/zelavis/api/v1/plugins/zelavis-ecommerce/session', { credentials: 'include' }); return 'status ' + r.status + ' ' + (await r.text()); } catch (e) { return 'blocked: ' + e.name; }").await;
    assert!(
        direct
            .as_str()
            .is_some_and(|s| s.starts_with("blocked") || !s.contains("\"session\":true")),
        "a direct fetch from the frame must not carry the session: {direct}"
    );
    // A forged hello from the frame (a made-up nonce, or the real one again) opens nothing.
    js(
        &client,
        "window.parent.postMessage({ v: 'zelavis-bridge/1', type: 'hello', nonce: '0'.repeat(32) }, '*'); return null;",
    )
    .await;
    client.enter_parent_frame().await.expect("back to the shell");

    // Shell side: the toast, the title, the dashboard's cookie (readable here, not in the frame), forged messages.
    until(
        &client,
        "the toast",
        "Array.from(document.querySelectorAll('.toast')).some((t) => t.textContent.includes('Bridge says hello'))",
    )
    .await;
    assert_eq!(
        js(&client, "return document.querySelector('.page-title').textContent;").await,
        json!("Orders (6)")
    );
    js(&client, "window.postMessage({ v: 'zelavis-bridge/1', type: 'hello', nonce: 'x' }, '*'); document.cookie = 'zelavis_probe=visible; path=/'; return null;").await;
    until(
        &client,
        "two forged messages logged",
        "window.zelavisShell.log.filter((e) => e.kind === 'forged').length >= 2",
    )
    .await;
    let log = js(
        &client,
        "return window.zelavisShell.log.map((e) => e.kind + ':' + (e.detail.reason || e.detail.method || ''));",
    )
    .await;
    eprintln!("  bridge log: {log}");
    assert!(
        log.as_array().is_some_and(|l| l
            .iter()
            .any(|e| e.as_str().is_some_and(|s| s.starts_with("unknown_method")))),
        "{log}"
    );
    assert!(
        log.as_array().is_some_and(|l| l
            .iter()
            .any(|e| e == "forged:wrong nonce" || e == "forged:nonce used twice")),
        "{log}"
    );
    assert!(
        js(&client, "return document.cookie;")
            .await
            .as_str()
            .is_some_and(|c| c.contains("zelavis_probe=visible"))
    );
    shot(&client, "orders.png").await;
    // theme.changed reaches the page.
    click(&client, "[data-action=theme]").await;
    client.enter_frame(0).await.expect("frame");
    until(
        &client,
        "theme.changed in the page",
        "window.__themes && window.__themes.includes('dark')",
    )
    .await;
    let cookie = js(
        &client,
        "try { return document.cookie; } catch (e) { return 'threw:' + e.name; }",
    )
    .await;
    assert!(
        !cookie.as_str().unwrap_or("").contains("zelavis_probe"),
        "the dashboard's cookie leaked into the frame: {cookie}"
    );
    // nav.go moves the shell.
    // Not awaited: the shell replaces this frame as it navigates.
    let _ = client
        .execute("zelavis.nav.go('/ecommerce/customers'); return null;", vec![])
        .await;
    client.enter_parent_frame().await.expect("shell");
    until(
        &client,
        "nav.go",
        "location.pathname === '/zelavis/ecommerce/customers'",
    )
    .await;
    shot(&client, "customers-dark.png").await;
    click(&client, "[data-action=theme]").await;

    // ---- a page opened top-level is still isolated.
    client
        .goto(&format!(
            "{base}/zelavis/api/v1/dashboard/plugin-pages/zelavis-ecommerce/orders"
        ))
        .await
        .expect("open the page directly");
    let alone = js(&client, "let cookie; try { cookie = 'read:' + document.cookie; } catch (e) { cookie = 'threw:' + e.name; } return { origin: self.origin, cookie };").await;
    assert_eq!(alone["origin"], json!("null"), "{alone}");
    assert!(!alone["cookie"].as_str().unwrap_or("").contains("zelavis"), "{alone}");

    // ---- a foreign origin framing a page is blocked (frame-ancestors); a same-origin control frame loads.
    let page_url = format!(
        "{base}/zelavis/api/v1/dashboard/plugin-pages/zelavis-ecommerce/orders#zelavis-bridge={}",
        "0".repeat(32)
    );
    let foreign = axum::Router::new()
        .route("/", axum::routing::get(move || {
            let page_url = page_url.clone();
            async move {
                axum::response::Html(format!(
                    "<!doctype html><title>foreign</title><script>window.__got = []; addEventListener('message', (e) => window.__got.push(e.data && (e.data.type || e.data)));</script>\
                     <iframe id=victim src=\"{page_url}\"></iframe><iframe id=control src=\"/control\"></iframe>"
                ))
            }
        }))
        .route("/control", axum::routing::get(|| async { axum::response::Html("<script>parent.postMessage('control', '*')</script>") }));
    let foreign = serve(foreign).await;
    client
        .goto(&format!("http://localhost:{}/", foreign.port()))
        .await
        .expect("open the foreign page");
    until(
        &client,
        "the control frame",
        "window.__got && window.__got.includes('control')",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = js(&client, "return window.__got;").await;
    assert_eq!(got, json!(["control"]), "a foreign origin framed a plugin page: {got}");

    // ---- Marketplace: install another plugin, it appears under Workspace without a restart; disable removes it.
    client
        .goto(&format!("{base}/zelavis/marketplace"))
        .await
        .expect("open the marketplace");
    until(
        &client,
        "the catalog",
        "document.querySelector('[data-plugin=crm][data-install=installable]')",
    )
    .await;
    let badges = js(
        &client,
        "return Array.from(document.querySelectorAll('[data-badge=source]')).map((b) => b.textContent);",
    )
    .await;
    for source in ["Official", "Built-in", "Community", "Premium", "Private"] {
        assert!(
            badges.as_array().is_some_and(|b| b.iter().any(|x| x == source)),
            "no {source} badge: {badges}"
        );
    }
    shot(&client, "marketplace.png").await;
    click(&client, "[data-plugin=crm] [data-action=install]").await;
    until(
        &client,
        "CRM under Workspace",
        "document.querySelector(\"[data-section=workspace] [data-key='plugin:crm']\")",
    )
    .await;
    click(&client, "[data-key='plugin:crm']").await;
    click(&client, "[data-slide='plugin:crm'] [data-key='plugin:crm']").await;
    enter_plugin_frame(&client).await;
    until(&client, "the CRM page", "document.querySelector('#contacts tr')").await;
    client.enter_parent_frame().await.expect("shell");
    click(&client, ".slide-back").await;
    click(&client, "[data-key=marketplace]").await;
    click(&client, "[data-plugin=crm] [data-action=toggle]").await;
    until(&client, "CRM gone from Workspace", "!document.querySelector(\"[data-key='plugin:crm']\") && document.querySelector('[data-plugin=crm][data-install=available]')").await;
    assert!(!host.runtime.is_active("crm").await);

    client.close().await.expect("close the browser");
    let _ = driver.kill().await;
    eprintln!("browser suite: {:?}", started.elapsed());
}
