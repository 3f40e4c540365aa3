//! The super-admin Plugins panel of the reference host (`examples/dashboard`) in a real browser: headless Debian
//! chromium driven by chromedriver from Rust (fantoccini), against the operator layer's HTTP routes.
//!
//! Needs `chromium` and `chromium-driver` (`apt-get install -y chromium chromium-driver`). Under `CI` a missing
//! browser fails the run; elsewhere the test says how to install it and returns. Screenshots are saved as
//! `target/screenshots/operator-*.png`.

#[path = "support/browser.rs"]
mod browser;
#[path = "../zelavis-registry/wasm/tests/support/mod.rs"]
mod guest;
#[path = "../examples/dashboard/host.rs"]
mod host;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use browser::{
    Browser, browser, click, found, installed, js, js_async, select, serve, shot, text, type_into, until, until_found,
};
use fantoccini::Client;
use serde_json::{Value, json};
use zelavis::registry::store::Scope;
use zelavis::registry::store::memory::MemoryStore;
use zelavis_operator::keyring::signing_key_from_pem;
use zelavis_operator::prelude::{
    Actor, Bundle, BundleContents, BundleLimits, Clock, Name, PublishOptions, ReleaseRecord, Role, RolloutState,
    SystemClock, pack,
};

/// A row of the tenant's plugin table.
fn tenant_row(plugin: &str, inner: &str) -> String {
    format!("#tenant-plugins tr[data-plugin=\"{plugin}\"] {inner}")
}

/// A row of the catalog table.
fn catalog_row(plugin: &str, inner: &str) -> String {
    format!("#catalog tr[data-plugin=\"{plugin}\"] {inner}")
}

async fn scroll_to(client: &Client, css: &str) {
    js(
        client,
        &format!(
            "document.querySelector({}).scrollIntoView({{ block: 'start' }}); window.scrollBy(0, -76); return null;",
            json!(css)
        ),
    )
    .await;
}

/// A signed WebAssembly bundle of plugin `reviews` (its route `GET /status` answers the version), written to
/// `dir` as `reviews-<version>.tar.gz` and `.sig`, signed with the host's demo key. Returns the two paths and the
/// bytes.
fn signed_bundle(host: &host::Host, dir: &Path, version: &str) -> (PathBuf, PathBuf, Vec<u8>, String) {
    let manifest = guest::plugin(
        "reviews",
        version,
        json!({ "description": "Product reviews.", "permissions": ["routes.register"] }),
    );
    let guest_manifest = guest::guest_manifest(manifest.clone(), &[], &[], &[("GET", "/status")], &[]);
    let route = json!({ "status": 200, "body": version }).to_string();
    let (body, extra) = guest::by_kind(&[(2, &route)]);
    let module = guest::module(&guest_manifest, "", &body, &extra);
    let bytes = pack(&BundleContents {
        manifest: serde_json::to_vec(&manifest).expect("a manifest"),
        module,
        assets: std::collections::BTreeMap::new(),
    })
    .expect("a bundle");
    let key = signing_key_from_pem(&host.publisher.key_pem).expect("the demo key");
    let bundle = Bundle::read(&bytes, &BundleLimits::default()).expect("a readable bundle");
    let signature = ReleaseRecord::for_bundle(&bundle, "Northwind Labs", &host.publisher.kid, SystemClock.now())
        .expect("a release record")
        .sign(&key)
        .to_json();
    let bundle_path = dir.join(format!("reviews-{version}.tar.gz"));
    let sig_path = dir.join(format!("reviews-{version}.tar.gz.sig"));
    std::fs::write(&bundle_path, &bytes).expect("write the bundle");
    std::fs::write(&sig_path, &signature).expect("write the signature");
    (bundle_path, sig_path, bytes, signature)
}

/// A rollout card of the Publishing area.
fn rollout_card(key: &str, inner: &str) -> String {
    format!("#rollouts article[data-rollout=\"{key}\"] {inner}")
}

/// Waits until the rollout card `key` is in `state`.
async fn until_rollout_state(client: &Client, what: &str, key: &str, state: &str) {
    let css = format!("#rollouts article[data-rollout=\"{key}\"][data-state={state}]");
    until_found(client, what, &css).await;
}

/// The steps of the rollout card `key`, each as `step:state`.
async fn rollout_steps(client: &Client, key: &str) -> Value {
    js(
        client,
        &format!(
            "return Array.from(document.querySelectorAll({})).map((li) => li.dataset.step + ':' + li.dataset.stepState);",
            json!(rollout_card(key, ".steps li"))
        ),
    )
    .await
}

/// The token the panel keeps in this tab's session storage.
async fn stored_token(client: &Client) -> Value {
    js(client, "return sessionStorage.getItem('zelavis-super-admin-token');").await
}

// One browser session tells the whole story: starting chromium once keeps the suite to a few seconds.
#[allow(clippy::too_many_lines, reason = "one browser session, one story, in order")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_super_admin_panel_in_a_real_browser() {
    if !installed() {
        return;
    }
    let started = Instant::now();
    let host = host::start(host::StoreChoice::Memory(MemoryStore::new()), Scope::Default)
        .await
        .expect("the host starts");
    let operator = host.operator.clone();
    let token = host.owner_token.clone();
    let viewer = Actor::new("test", Role::Viewer);
    let router = host.router.clone();
    let host_view = host;
    let address = serve(router).await;
    let base = format!("http://{address}");
    let Browser { client, mut driver, .. } = browser(1440, 1000).await;
    eprintln!("browser up in {:?}", started.elapsed());

    // ---- signed out: the panel loads under its policy (its own script ran, its own stylesheet applied).
    client
        .goto(&format!("{base}/zelavis/super-admin/"))
        .await
        .expect("open the panel");
    until(&client, "the panel's script", "document.body.dataset.ready === 'true'").await;
    assert_eq!(
        js(
            &client,
            "return getComputedStyle(document.querySelector('.topbar')).position;"
        )
        .await,
        json!("sticky"),
        "the stylesheet is applied"
    );
    assert_eq!(
        js(&client, "return document.querySelector('#signed-out').hidden;").await,
        json!(false)
    );
    shot(&client, "operator-1-signed-out.png").await;

    // ---- a wrong token is refused with the API's code, and not kept.
    type_into(&client, "#token", "not-the-token").await;
    click(&client, "#connect").await;
    until(&client, "the refusal", "!document.querySelector('#token-error').hidden").await;
    assert!(
        text(&client, "#token-error").await.starts_with("unauthorized"),
        "{}",
        text(&client, "#token-error").await
    );
    assert_eq!(stored_token(&client).await, Value::Null);

    // ---- the owner's token: the catalog, with badges, default versions, tiers, niches and usage.
    type_into(&client, "#token", &token).await;
    click(&client, "#connect").await;
    until(
        &client,
        "the catalog",
        "document.querySelectorAll('#catalog tbody tr[data-plugin]').length === 4",
    )
    .await;
    assert!(js(&client, "return document.querySelector('#token-error').hidden;").await == json!(true));
    assert_eq!(
        stored_token(&client).await,
        json!(token),
        "the token is kept in this tab's session storage"
    );
    let catalog = js(
        &client,
        "return Array.from(document.querySelectorAll('#catalog tbody tr')).map((tr) => ({
            id: tr.dataset.plugin,
            badge: tr.querySelector('[data-badge]').textContent,
            version: tr.querySelector('[data-field=version]').textContent,
            tier: tr.querySelector('[data-field=tier]').textContent,
            niches: tr.querySelector('[data-field=niches]').textContent,
            using: tr.querySelector('[data-field=tenants-using]').textContent,
            state: tr.querySelector('[data-state]').dataset.state,
        }));",
    )
    .await;
    assert_eq!(
        catalog,
        json!([
            { "id": "analytics", "badge": "Premium", "version": "0.9.0", "tier": "pro", "niches": "All", "using": "0", "state": "active" },
            { "id": "crm", "badge": "Premium", "version": "3.0.1", "tier": "pro", "niches": "retail", "using": "0", "state": "active" },
            { "id": "discounts", "badge": "Built-in", "version": "1.1.0", "tier": "Any", "niches": "All", "using": "0", "state": "active" },
            { "id": "helpdesk", "badge": "Premium", "version": "0.4.0", "tier": "growth", "niches": "All", "using": "0", "state": "active" },
        ])
    );
    assert_eq!(text(&client, "#health-pill").await, "All plugins healthy");
    assert!(text(&client, "#audit-pill").await.starts_with("Audit chain verified"));
    shot(&client, "operator-2-catalog.png").await;

    // ---- pick acme: its plugins, tier and niche.
    select(&client, "#tenant-picker", "acme").await;
    until_found(
        &client,
        "acme's plugins",
        &tenant_row("discounts", "[data-action=enable]"),
    )
    .await;
    let meta = text(&client, "#tenant-meta").await;
    assert!(
        meta.contains("Tier: pro") && meta.contains("Niche: retail") && meta.contains("Canary"),
        "{meta}"
    );

    // ---- enable discounts: it becomes enabled at default-latest, and the tenant's runtime runs it.
    click(&client, &tenant_row("discounts", "[data-action=enable]")).await;
    until_found(
        &client,
        "discounts enabled",
        &tenant_row("discounts", "[data-state=enabled]"),
    )
    .await;
    assert_eq!(
        text(&client, &tenant_row("discounts", "[data-field=version]")).await,
        "1.1.0"
    );
    assert_eq!(
        text(&client, &catalog_row("discounts", "[data-field=tenants-using]")).await,
        "1"
    );
    let acme = Name::parse("acme").expect("a name");
    let runtime = operator
        .tenant_host()
        .expect("a tenant host")
        .runtime(&acme)
        .await
        .expect("acme's runtime")
        .0;
    assert!(runtime.is_active("discounts").await, "enable drove acme's runtime");

    // ---- pin 1.0.0 from the catalog's versions: the tenant moves to it.
    let versions = js(
        &client,
        &format!(
            "return Array.from(document.querySelector({}).options).map((o) => o.value);",
            json!(tenant_row("discounts", "select[data-action=pin]"))
        ),
    )
    .await;
    assert_eq!(versions, json!(["", "1.1.0", "1.0.0"]));
    select(&client, &tenant_row("discounts", "select[data-action=pin]"), "1.0.0").await;
    until(
        &client,
        "discounts on 1.0.0",
        &format!(
            "document.querySelector({}).textContent === '1.0.0'",
            json!(tenant_row("discounts", "[data-field=version]"))
        ),
    )
    .await;
    assert_eq!(
        js(
            &client,
            &format!(
                "return document.querySelector({}).value;",
                json!(tenant_row("discounts", "select[data-action=pin]"))
            )
        )
        .await,
        json!("1.0.0")
    );
    let registry = runtime.registry().await;
    assert_eq!(
        registry
            .get("discounts")
            .expect("discounts")
            .plugin
            .version()
            .to_string(),
        "1.0.0"
    );
    drop(registry);

    // ---- crm fits acme (pro, retail): enabled too.
    click(&client, &tenant_row("crm", "[data-action=enable]")).await;
    until_found(&client, "crm enabled", &tenant_row("crm", "[data-state=enabled]")).await;
    scroll_to(&client, "#tenant-panel").await;
    shot(&client, "operator-3-enabled-and-pinned.png").await;

    // ---- helpdesk needs growth: refused, with the seed's code on its row, and nothing changes.
    click(&client, &tenant_row("helpdesk", "[data-action=enable]")).await;
    until_found(
        &client,
        "the tier refusal",
        "#tenant-plugins tr[data-error-for=\"helpdesk\"] .row-error[data-code=\"tier_too_low\"]",
    )
    .await;
    let refusal = text(&client, "#tenant-plugins tr[data-error-for=\"helpdesk\"] .row-error").await;
    assert!(
        refusal.starts_with("tier_too_low") && refusal.contains("growth"),
        "{refusal}"
    );
    assert!(found(&client, &tenant_row("helpdesk", "[data-state=disabled]")).await);
    assert!(!runtime.is_active("helpdesk").await);
    scroll_to(&client, "#tenant-panel").await;
    shot(&client, "operator-4-tier-too-low.png").await;

    // ---- analytics fails its setup in acme's runtime: enabled, but failing, with a health banner.
    click(&client, &tenant_row("analytics", "[data-action=enable]")).await;
    until_found(&client, "the health banner", "#banners [data-health=analytics]").await;
    let banner = text(&client, "#banners [data-health=analytics]").await;
    assert!(
        banner.contains("in acme") && banner.contains("ANALYTICS_TRACKING_ID"),
        "{banner}"
    );
    assert_eq!(text(&client, "#health-pill").await, "1 plugin failing");
    assert!(found(&client, &tenant_row("analytics", "[data-health=failing]")).await);
    let line = text(&client, "#tenant-status").await;
    assert!(line.contains("failed to start"), "{line}");
    scroll_to(&client, "#tenant-panel").await;
    shot(&client, "operator-5-failing.png").await;

    // ---- a deprecation (made through the API, as another operator would) shows as banners after a reload.
    let deprecated = js_async(
        &client,
        &format!(
            "const r = await fetch('/api/super-admin/plugins/crm/deprecate', {{ method: 'POST', headers: {{ authorization: 'Bearer ' + {}, 'content-type': 'application/json' }}, body: JSON.stringify({{ message: 'CRM moves to the new Sales suite in March.', replacement: 'helpdesk' }}) }}); return {{ status: r.status, body: await r.json() }};",
            json!(token)
        ),
    )
    .await;
    assert_eq!(deprecated["status"], json!(200), "{deprecated}");
    assert_eq!(deprecated["body"]["banners"][0]["tenant"], json!("acme"));
    click(&client, "#refresh").await;
    until_found(
        &client,
        "the catalog's deprecation banner",
        "#banners [data-deprecated=crm]",
    )
    .await;
    until_found(
        &client,
        "acme's deprecation banner",
        "#tenant-banners [data-banner=crm]",
    )
    .await;
    assert_eq!(
        js(
            &client,
            &format!(
                "return document.querySelector({}).dataset.state;",
                json!(catalog_row("crm", "[data-state]"))
            )
        )
        .await,
        json!("deprecated")
    );
    js(&client, "window.scrollTo(0, 0); return null;").await;
    shot(&client, "operator-6-banners.png").await;

    // ---- publishing: a signed WebAssembly bundle uploaded in the panel's form (files, tenant, wait, judge
    // settings) is verified and smoke-tested; the wizard shows the steps and the smoke test's figures.
    let files = tempfile::tempdir().expect("a directory for the bundle");
    let (bundle_path, sig_path, _, _) = signed_bundle(&host_view, files.path(), "1.0.0");
    let publishing = "#publish-panel";
    scroll_to(&client, publishing).await;
    for (css, path) in [("#upload-bundle", &bundle_path), ("#upload-signature", &sig_path)] {
        type_into(&client, css, &path.display().to_string()).await;
    }
    assert_eq!(
        js(&client, "return document.querySelector('#upload-tenant').value;").await,
        json!("acme"),
        "the publisher tenant is picked"
    );
    select(&client, "#upload-wait", "0").await;
    click(&client, "#judge-settings summary").await;
    for (css, value) in [("#judge-window", "5"), ("#judge-min", "50")] {
        type_into(&client, css, value).await;
    }
    click(&client, "#upload-submit").await;
    let first = "reviews@1.0.0";
    until_rollout_state(&client, "the upload smoke-tested", first, "smoke_tested").await;
    let steps = rollout_steps(&client, first).await;
    assert_eq!(
        steps,
        json!([
            "uploaded:done",
            "verified:done",
            "smoke_tested:done",
            "canary:next",
            "promoted:todo"
        ])
    );
    for figure in ["time", "fuel", "memory"] {
        let value = text(&client, &rollout_card(first, &format!("[data-figure={figure}] .value"))).await;
        assert!(!value.is_empty() && value != "0", "{figure}: {value:?}");
    }
    let checks = text(&client, &rollout_card(first, "[data-block=smoke] .checks")).await;
    assert!(checks.contains("activated") && checks.contains("route GET"), "{checks}");
    let line = text(&client, "#publish-status").await;
    assert!(line.contains("reviews 1.0.0 published from acme"), "{line}");
    scroll_to(&client, publishing).await;
    shot(&client, "operator-7-publish.png").await;

    // ---- a canary on acme (picked in the card), traffic, one judged window, then promote (no wait).
    click(&client, &rollout_card(first, "input[data-pick=acme]")).await;
    click(&client, &rollout_card(first, "[data-action=canary]")).await;
    until_found(&client, "the canary", &rollout_card(first, "[data-canary=acme]")).await;
    let reviews = Name::parse("reviews").expect("a name");
    let version = semver::Version::new(1, 0, 0);
    let rollout = operator
        .rollout(&viewer, "reviews", &version)
        .await
        .expect("the rollout");
    assert_eq!(rollout.state, RolloutState::Canary);
    let acme_pins = operator.tenant_plugins(&viewer, "acme").await.expect("acme's plugins");
    assert_eq!(
        acme_pins
            .iter()
            .find(|p| p.plugin == reviews)
            .and_then(|p| p.pin.clone()),
        Some(version.clone()),
        "the canary tenant is pinned to the new version"
    );
    for (tenant, requests, errors) in [("acme", 400, 2), ("globex", 1000, 5)] {
        operator
            .record_traffic(
                &Name::parse(tenant).expect("a name"),
                &reviews,
                "reference-host",
                requests,
                errors,
            )
            .await
            .expect("traffic");
    }
    // The first 5-second window ends 5 s after the canary started: judge it once it is due.
    let started_at = rollout.canary_started_at.expect("a start");
    let due = started_at.as_millis() + 5_200 - SystemClock.now().as_millis();
    if due > 0 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(due).unwrap_or(0))).await;
    }
    click(&client, &rollout_card(first, "[data-action=judge]")).await;
    until_found(
        &client,
        "the judged window",
        &rollout_card(first, "[data-window=\"0\"] [data-verdict=pass]"),
    )
    .await;
    assert_eq!(
        text(
            &client,
            &rollout_card(first, "[data-window=\"0\"] [data-field=canary-rate]")
        )
        .await,
        "0.50 %"
    );
    assert_eq!(
        text(
            &client,
            &rollout_card(first, "[data-window=\"0\"] [data-field=baseline-rate]")
        )
        .await,
        "0.50 %"
    );
    scroll_to(&client, &rollout_card(first, "")).await;
    shot(&client, "operator-8-canary.png").await;
    click(&client, &rollout_card(first, "[data-field=reason]")).await;
    type_into(&client, &rollout_card(first, "[data-field=reason]"), "one clean window").await;
    click(&client, &rollout_card(first, "[data-action=promote]")).await;
    until_rollout_state(&client, "the promotion", first, "promoted").await;
    until(
        &client,
        "reviews in the catalog at 1.0.0",
        &format!(
            "(document.querySelector({}) || {{}}).textContent === '1.0.0'",
            json!(catalog_row("reviews", "[data-field=version]"))
        ),
    )
    .await;
    assert_eq!(
        operator
            .rollout(&viewer, "reviews", &version)
            .await
            .expect("the rollout")
            .history
            .last()
            .map(|t| t.reason.clone()),
        Some("one clean window".to_owned())
    );

    // ---- another version, published through the API by another operator, is rolled back from the panel: a
    // rollback needs a reason.
    let (_, _, bytes, signature) = signed_bundle(&host_view, files.path(), "1.1.0");
    let signed = zelavis_operator::prelude::SignedRelease::from_json(&signature).expect("a signature");
    let ci = Actor::new("ci@northwind.example", Role::Operator);
    let published = operator
        .publish(&ci, "acme", &bytes, &signed, PublishOptions::default())
        .await
        .expect("published");
    assert_eq!(published.state, RolloutState::SmokeTested);
    click(&client, "#refresh").await;
    let second = "reviews@1.1.0";
    until_found(
        &client,
        "the second rollout",
        &rollout_card(second, "[data-action=rollback]"),
    )
    .await;
    click(&client, &rollout_card(second, "[data-action=rollback]")).await;
    until_found(
        &client,
        "the missing reason",
        &rollout_card(second, ".row-error[data-code=reason_required]"),
    )
    .await;
    type_into(
        &client,
        &rollout_card(second, "[data-field=reason]"),
        "reviews double-count on the product page",
    )
    .await;
    click(&client, &rollout_card(second, "[data-action=rollback]")).await;
    until_rollout_state(&client, "the rollback", second, "rolled_back").await;
    let steps = rollout_steps(&client, second).await;
    assert_eq!(
        steps,
        json!([
            "uploaded:done",
            "verified:done",
            "smoke_tested:done",
            "canary:stopped",
            "promoted:skipped"
        ])
    );
    scroll_to(&client, publishing).await;
    shot(&client, "operator-9-rolled-back.png").await;

    // ---- a reload keeps the token and the tenant (session storage); signing out forgets the token.
    client
        .goto(&format!("{base}/zelavis/super-admin/"))
        .await
        .expect("reload");
    until_found(
        &client,
        "the restored session",
        &tenant_row("discounts", "[data-state=enabled]"),
    )
    .await;
    assert_eq!(
        js(&client, "return document.querySelector('#tenant-picker').value;").await,
        json!("acme")
    );
    click(&client, "#sign-out").await;
    until(&client, "signed out", "!document.querySelector('#signed-out').hidden").await;
    assert_eq!(stored_token(&client).await, Value::Null);

    // Everything the panel did is in the audit log, as the token's actor.
    let events = operator
        .audit(&Actor::new("test", Role::Viewer), 0, 1000)
        .await
        .expect("the audit log");
    let actions: Vec<String> = events
        .iter()
        .filter_map(|e| e.entry().ok())
        .filter(|e| e.actor == "owner@northwind.example")
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "tenant.enable",
            "tenant.pin",
            "tenant.enable",
            "tenant.enable",
            "plugin.deprecate",
            "rollout.upload",
            "rollout.verify",
            "rollout.smoke_test",
            "rollout.canary",
            "rollout.promote",
            "rollout.rollback",
        ]
    );

    client.close().await.expect("close the browser");
    let _ = driver.kill().await;
    eprintln!("operator browser suite: {:?}", started.elapsed());
}
