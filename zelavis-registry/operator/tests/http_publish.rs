//! Publishing over the super-admin API, with real WebAssembly bundles signed by a key of the operator's keyring:
//! the multipart upload to `SmokeTested` with the smoke test's figures, every refusal in the API's JSON shape
//! (license feature, signature, tampering, version reuse, bad parts, limits), and the rollout's routes — canary,
//! the wait (on a manual clock), promote, two promotes at once, judge, pause, resume, roll back.

mod support;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use ed25519_dalek::SigningKey;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use support::api::{API, Reply, call, raw};
use support::bundle::{PLUGIN, bundle, sign};
use zelavis_operator::http::{SuperAdminOptions, router_with};
use zelavis_operator::keyring::generate_signing_key;
use zelavis_operator::prelude::*;
use zelavis_operator::wasm::WasmSandbox;
use zelavis_registry::store::memory::MemoryStore;
use zelavis_wasm::WasmLoader;

const OPERATOR: &str = "operator-token";
const VIEWER: &str = "viewer-token";
const KID: &str = "acme-2026";
const T0: i64 = 1_780_000_000_000;
const BOUNDARY: &str = "zelavis-test-7f3a9c";

// ------------------------------------------------------------------ fixtures

struct App {
    router: Router,
    operator: Operator,
    clock: ManualClock,
    key: SigningKey,
    _cache: tempfile::TempDir,
}

fn ops() -> Actor {
    Actor::new("setup", Role::Owner)
}

async fn app() -> App {
    app_with(SuperAdminOptions::new()).await
}

async fn app_with(options: SuperAdminOptions) -> App {
    let key = generate_signing_key().unwrap();
    let mut keyring = Keyring::new();
    keyring.insert(KeyEntry::new(
        KID,
        key.verifying_key(),
        Timestamp::from_millis(T0 - 86_400_000),
    ));
    let clock = ManualClock::at(Timestamp::from_millis(T0));
    let cache = tempfile::tempdir().unwrap();
    let sandbox = WasmSandbox::new(WasmLoader::new(cache.path()));
    let licensed = |features: &[&str]| License {
        licensed_plugins: vec![PLUGIN.into()],
        features: features.iter().map(|f| (*f).to_owned()).collect(),
        ..License::default()
    };
    let licenses = FixedLicenses::new()
        .grant("acme", licensed(&[MARKETPLACE_PUBLISHER]))
        .grant("initech", licensed(&[]))
        .grant("globex", licensed(&[]));
    let operator = Operator::builder(MemoryOperatorStore::new())
        .clock(clock.clone())
        .keyring(keyring)
        .licenses(licenses)
        .sandbox(sandbox.clone())
        .releases(sandbox)
        .tenants(LocalTenants::new(MemoryStore::new(), "test-host"))
        .build();
    for (id, canary) in [("acme", true), ("initech", true), ("globex", false)] {
        let spec = TenantSpec::new(Name::parse(id).unwrap(), "pro", "retail").canary(canary);
        operator.create_tenant(&ops(), spec).await.unwrap();
    }
    let tokens = StaticTokens::new()
        .token(OPERATOR, Actor::new("ops@example.com", Role::Operator))
        .token(VIEWER, Actor::new("viewer@example.com", Role::Viewer));
    App {
        router: router_with(operator.clone(), tokens, options),
        operator,
        clock,
        key,
        _cache: cache,
    }
}

impl App {
    /// A signed bundle of `version`: its bytes and signature file.
    fn signed(&self, version: &str) -> (Vec<u8>, String) {
        let bytes = bundle(version, false);
        let signature = sign(&bytes, &self.key, KID, self.clock.now()).to_json();
        (bytes, signature)
    }

    /// Publishes `version` from acme with `more` parts.
    async fn publish(&self, version: &str, more: &[(&str, &str)]) -> Reply {
        let (bytes, signature) = self.signed(version);
        let mut parts: Vec<(&str, &[u8])> = vec![
            ("bundle", &bytes),
            ("signature", signature.as_bytes()),
            ("tenant", b"acme"),
        ];
        parts.extend(more.iter().map(|(n, v)| (*n, v.as_bytes())));
        upload(&self.router, PLUGIN, &parts).await
    }
}

// ------------------------------------------------------------------ requests

fn multipart(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"").as_bytes());
        match *name {
            "bundle" => body.extend_from_slice(b"; filename=\"acme-pay.tar.gz\"\r\ncontent-type: application/gzip"),
            "signature" => {
                body.extend_from_slice(b"; filename=\"acme-pay.tar.gz.sig\"\r\ncontent-type: application/json");
            }
            _ => {}
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload_as(router: &Router, token: &str, plugin: &str, parts: &[(&str, &[u8])]) -> Reply {
    let request = Request::post(format!("{API}/plugins/{plugin}/publish"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(parts)))
        .unwrap();
    raw(router, request).await
}

async fn upload(router: &Router, plugin: &str, parts: &[(&str, &[u8])]) -> Reply {
    upload_as(router, OPERATOR, plugin, parts).await
}

async fn get(router: &Router, path: &str) -> Reply {
    call(router, Method::GET, path, Some(VIEWER), None).await
}

async fn act(router: &Router, version: &str, action: &str, body: Value) -> Reply {
    let path = format!("/plugins/{PLUGIN}/rollouts/{version}/{action}");
    call(router, Method::POST, &path, Some(OPERATOR), Some(body)).await
}

async fn rollouts(router: &Router) -> Vec<Value> {
    get(router, "/rollouts").await.ok()["rollouts"]
        .as_array()
        .unwrap()
        .clone()
}

fn states(rollout: &Value) -> Vec<&str> {
    rollout["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect()
}

// ------------------------------------------------------------------ publish

#[tokio::test]
async fn a_signed_bundle_is_published_and_smoke_tested_with_its_figures() {
    let app = app().await;
    let reply = app
        .publish(
            "1.0.0",
            &[
                ("wait", "3600"),
                ("window", "1800"),
                ("ratio", "3"),
                ("floor", "0.02"),
                ("min_requests", "50"),
                ("breaches_to_rollback", "2"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let rollout = reply.ok();
    assert_eq!(rollout["plugin"], PLUGIN);
    assert_eq!(rollout["version"], "1.0.0");
    assert_eq!(rollout["state"], "smoke_tested", "{rollout}");
    assert_eq!(rollout["publisher_tenant"], "acme");
    assert_eq!(rollout["kid"], KID);
    assert_eq!(states(&rollout), ["uploaded", "verified", "smoke_tested"]);
    let smoke = &rollout["smoke"];
    assert_eq!(smoke["passed"], true, "{smoke}");
    assert!(
        smoke["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.contains("route GET") && c.contains("200"))),
        "{smoke}"
    );
    assert!(smoke["fuel_total"].as_u64().unwrap() > 0, "{smoke}");
    assert!(smoke["memory_peak_bytes"].as_u64().unwrap() >= 65_536, "{smoke}");
    assert!(smoke["elapsed_micros"].as_u64().unwrap() > 0, "{smoke}");
    assert_eq!(rollout["wait"], 3_600_000, "the wait, in milliseconds");
    assert_eq!(
        rollout["judge"],
        json!({ "window": 1_800_000, "ratio": 3.0, "floor": 0.02, "min_requests": 50, "breaches_to_rollback": 2 })
    );

    // The routes read it back; it is open; the release is staged in the catalog, not default.
    assert_eq!(rollouts(&app.router).await, std::slice::from_ref(&rollout));
    let open = get(&app.router, "/rollouts?open=true").await.ok();
    assert_eq!(open["rollouts"].as_array().unwrap().len(), 1);
    assert_eq!(get(&app.router, "/plugins/acme-pay/rollouts/1.0.0").await.ok(), rollout);
    let of_plugin = get(&app.router, "/plugins/acme-pay/rollouts").await.ok();
    assert_eq!(of_plugin["rollouts"].as_array().unwrap().len(), 1);
    let row = get(&app.router, "/plugins/acme-pay").await.ok();
    assert_eq!(
        row["version"],
        Value::Null,
        "a staged release is not default-latest: {row}"
    );

    // A failing route fails the smoke test: still 201, the rollout says so.
    let bytes = bundle("1.1.0", true);
    let signature = sign(&bytes, &app.key, KID, app.clock.now()).to_json();
    let failed = upload(
        &app.router,
        PLUGIN,
        &[
            ("bundle", &bytes),
            ("signature", signature.as_bytes()),
            ("tenant", b"acme"),
        ],
    )
    .await;
    assert_eq!(failed.status, StatusCode::CREATED);
    let failed = failed.json();
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["smoke"]["passed"], false);
    let open = get(&app.router, "/rollouts?open=true").await.ok();
    assert_eq!(
        open["rollouts"].as_array().unwrap().len(),
        1,
        "a failed rollout is not open"
    );
}

#[tokio::test]
async fn publishing_without_the_license_feature_is_refused_and_stores_nothing() {
    let app = app().await;
    let (bytes, signature) = app.signed("1.0.0");
    upload(
        &app.router,
        PLUGIN,
        &[
            ("bundle", &bytes),
            ("signature", signature.as_bytes()),
            ("tenant", b"initech"),
        ],
    )
    .await
    .refused(403, "feature_denied");
    assert!(rollouts(&app.router).await.is_empty());
    get(&app.router, "/plugins/acme-pay")
        .await
        .refused(404, "unknown_plugin");
    upload(
        &app.router,
        PLUGIN,
        &[
            ("bundle", &bytes),
            ("signature", signature.as_bytes()),
            ("tenant", b"nobody"),
        ],
    )
    .await
    .refused(404, "unknown_tenant");
    // The same upload from the publisher goes through: nothing of the refusals was left behind.
    app.publish("1.0.0", &[]).await.ok();
}

#[tokio::test]
async fn refused_signatures_and_bundles_answer_with_the_checks_code() {
    let app = app().await;
    let (bytes, signature) = app.signed("1.0.0");
    let with = |bytes: &[u8], signature: &str| {
        let parts: Vec<(&str, Vec<u8>)> = vec![
            ("bundle", bytes.to_vec()),
            ("signature", signature.as_bytes().to_vec()),
            ("tenant", b"acme".to_vec()),
        ];
        parts
    };
    let send = |parts: Vec<(&'static str, Vec<u8>)>, plugin: &'static str| {
        let router = app.router.clone();
        async move {
            let borrowed: Vec<(&str, &[u8])> = parts.iter().map(|(n, b)| (*n, b.as_slice())).collect();
            upload(&router, plugin, &borrowed).await
        }
    };
    // A tampered byte in the bundle.
    let mut tampered = bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x40;
    send(with(&tampered, &signature), PLUGIN)
        .await
        .refused(422, "tampered_bundle");
    // A key the keyring does not know.
    let stranger = generate_signing_key().unwrap();
    let unknown = sign(&bytes, &stranger, "stranger-1", app.clock.now()).to_json();
    send(with(&bytes, &unknown), PLUGIN).await.refused(422, "unknown_kid");
    // A record edited after signing.
    let mut record: Value = serde_json::from_str(&signature).unwrap();
    record["record"]["publisher"] = json!("Mallory");
    send(with(&bytes, &record.to_string()), PLUGIN)
        .await
        .refused(422, "tampered_record");
    // Not a signature file at all.
    send(with(&bytes, "{\"not\": \"a record\"}"), PLUGIN)
        .await
        .refused(422, "malformed_signature");
    // Signed for acme-pay, uploaded to another plugin's route.
    send(with(&bytes, &signature), "other-plugin")
        .await
        .refused(422, "wrong_release");
    assert!(rollouts(&app.router).await.is_empty(), "no refusal stored anything");

    // The real one goes through once; the same version again is never reused.
    send(with(&bytes, &signature), PLUGIN).await.ok();
    send(with(&bytes, &signature), PLUGIN)
        .await
        .refused(409, "version_exists");
    app.publish("1.0.0", &[]).await.refused(409, "version_exists");
    // A lower version needs `backport`.
    app.publish("2.0.0", &[]).await.ok();
    let lower = app.publish("1.5.0", &[]).await;
    assert!(
        lower.refused(409, "conflict")["message"]
            .as_str()
            .unwrap()
            .contains("backport")
    );
    let backport = app.publish("1.5.0", &[("backport", "true")]).await.ok();
    assert_eq!(backport["backport"], true);
}

#[allow(clippy::too_many_lines, reason = "one refusal after another, each in the same shape")]
#[tokio::test]
async fn bad_uploads_get_the_json_error_shape() {
    let app = app().await;
    let (bytes, signature) = app.signed("1.0.0");
    let sig = signature.as_bytes();
    // Missing, repeated and unknown parts.
    let missing = upload(&app.router, PLUGIN, &[("signature", sig), ("tenant", b"acme")]).await;
    assert!(
        missing.refused(422, "invalid_body")["message"]
            .as_str()
            .unwrap()
            .contains("bundle")
    );
    let missing = upload(&app.router, PLUGIN, &[("bundle", &bytes), ("signature", sig)]).await;
    assert!(
        missing.refused(422, "invalid_body")["message"]
            .as_str()
            .unwrap()
            .contains("tenant")
    );
    let twice = upload(
        &app.router,
        PLUGIN,
        &[
            ("bundle", &bytes),
            ("signature", sig),
            ("tenant", b"acme"),
            ("tenant", b"globex"),
        ],
    )
    .await;
    assert!(
        twice.refused(422, "invalid_body")["message"]
            .as_str()
            .unwrap()
            .contains("twice")
    );
    let unknown = upload(
        &app.router,
        PLUGIN,
        &[
            ("bundle", &bytes),
            ("signature", sig),
            ("tenant", b"acme"),
            ("colour", b"blue"),
        ],
    )
    .await;
    assert!(
        unknown.refused(422, "invalid_body")["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    // Settings that are not numbers, or out of range.
    for (part, value) in [
        ("wait", "soon"),
        ("wait", "-5"),
        ("window", "0"),
        ("ratio", "NaN"),
        ("floor", "2"),
        ("min_requests", "-1"),
        ("breaches_to_rollback", "0"),
        ("backport", "maybe"),
    ] {
        let reply = app.publish("1.0.0", &[(part, value)]).await;
        let body = reply.refused(422, "invalid_body");
        assert!(
            body["message"].as_str().unwrap().contains(part),
            "{part}={value}: {body}"
        );
    }
    // A bad tenant name or version in the path.
    upload(
        &app.router,
        PLUGIN,
        &[("bundle", &bytes), ("signature", sig), ("tenant", b"Not A Name")],
    )
    .await
    .refused(422, "invalid_name");
    // Not multipart; a broken multipart body.
    let json_body = Request::post(format!("{API}/plugins/{PLUGIN}/publish"))
        .header(header::AUTHORIZATION, format!("Bearer {OPERATOR}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    raw(&app.router, json_body).await.refused(415, "not_multipart");
    let broken = Request::post(format!("{API}/plugins/{PLUGIN}/publish"))
        .header(header::AUTHORIZATION, format!("Bearer {OPERATOR}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(format!(
            "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"bundle\"\r\n\r\nabc"
        )))
        .unwrap();
    raw(&app.router, broken).await.refused(400, "bad_request");
    // No token; a viewer.
    let anonymous = Request::post(format!("{API}/plugins/{PLUGIN}/publish"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(&[("tenant", b"acme")])))
        .unwrap();
    raw(&app.router, anonymous).await.refused(401, "unauthorized");
    upload_as(
        &app.router,
        VIEWER,
        PLUGIN,
        &[("bundle", &bytes), ("signature", sig), ("tenant", b"acme")],
    )
    .await
    .refused(403, "forbidden");
    // The method is POST only.
    call(
        &app.router,
        Method::GET,
        "/plugins/acme-pay/publish",
        Some(OPERATOR),
        None,
    )
    .await
    .refused(405, "method_not_allowed");
    assert!(rollouts(&app.router).await.is_empty());
}

#[tokio::test]
async fn only_the_publish_route_takes_more_than_the_body_limit() {
    // A body limit far below a bundle's size: the upload still goes through, a JSON body does not.
    let app = app_with(SuperAdminOptions::new().body_limit(256).upload_limit(64 * 1024)).await;
    let (bytes, _) = app.signed("1.0.0");
    assert!(bytes.len() > 256);
    app.publish("1.0.0", &[]).await.ok();
    let long = json!({ "tenants": ["acme"], "padding": "x".repeat(300) });
    act(&app.router, "1.0.0", "canary", long)
        .await
        .refused(413, "too_large");

    // Over the upload limit: 413, naming that limit, and nothing stored.
    let small = app_with(SuperAdminOptions::new().upload_limit(1024)).await;
    let reply = small.publish("1.0.0", &[]).await;
    let body = reply.refused(413, "too_large");
    assert!(body["message"].as_str().unwrap().contains("1024"), "{body}");
    assert!(rollouts(&small.router).await.is_empty());
    // Also when the size is not declared up front (a streamed body).
    let (bytes, signature) = small.signed("1.0.0");
    let body = multipart(&[
        ("bundle", &bytes),
        ("signature", signature.as_bytes()),
        ("tenant", b"acme"),
    ]);
    let stream = futures::stream::iter(
        body.chunks(512)
            .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let request = Request::post(format!("{API}/plugins/{PLUGIN}/publish"))
        .header(header::AUTHORIZATION, format!("Bearer {OPERATOR}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from_stream(stream))
        .unwrap();
    raw(&small.router, request).await.refused(413, "too_large");
}

// ------------------------------------------------------------------ rollouts

#[tokio::test]
async fn a_canary_is_promoted_after_its_wait() {
    let app = app().await;
    app.publish("1.0.0", &[("wait", "3600")]).await.ok();
    // Only canary tenants; at least one; known ones.
    act(&app.router, "1.0.0", "canary", json!({ "tenants": ["globex"] }))
        .await
        .refused(409, "conflict");
    act(&app.router, "1.0.0", "canary", json!({ "tenants": [] }))
        .await
        .refused(422, "invalid_body");
    act(&app.router, "1.0.0", "canary", json!({ "tenants": ["nobody"] }))
        .await
        .refused(404, "unknown_tenant");
    act(&app.router, "1.0.0", "canary", json!({}))
        .await
        .refused(422, "invalid_body");
    // A promotion before the canary is refused.
    act(&app.router, "1.0.0", "promote", json!({}))
        .await
        .refused(409, "conflict");

    let canary = act(&app.router, "1.0.0", "canary", json!({ "tenants": ["acme"] }))
        .await
        .ok();
    assert_eq!(canary["state"], "canary");
    assert_eq!(canary["canary"], json!([{ "tenant": "acme", "previous_pin": null }]));
    assert_eq!(canary["canary_started_at"], app.clock.now().to_string());
    // A canary tenant is pinned to the new version.
    let plugins = get(&app.router, "/tenants/acme/plugins").await.ok();
    let pay = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plugin"] == PLUGIN)
        .unwrap();
    assert_eq!(pay["pin"], "1.0.0", "{pay}");

    // Before the wait is over: 409. After it: promoted, with the reason in the history.
    app.clock.advance(Duration::from_secs(1800));
    let early = act(&app.router, "1.0.0", "promote", json!({ "reason": "ship it" })).await;
    assert!(
        early.refused(409, "conflict")["message"]
            .as_str()
            .unwrap()
            .contains("wait")
    );
    app.clock.advance(Duration::from_secs(1800));
    let promoted = act(&app.router, "1.0.0", "promote", json!({ "reason": "ship it" }))
        .await
        .ok();
    assert_eq!(promoted["state"], "promoted");
    let last = promoted["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["actor"].as_str(), last["reason"].as_str()),
        (Some("ops@example.com"), Some("ship it"))
    );
    assert_eq!(get(&app.router, "/plugins/acme-pay").await.ok()["version"], "1.0.0");
    // Final: nothing more happens to it.
    act(&app.router, "1.0.0", "rollback", json!({ "reason": "too late" }))
        .await
        .refused(409, "conflict");
    assert!(
        get(&app.router, "/rollouts?open=true").await.ok()["rollouts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Promoting, and the rest, need an operator.
    call(
        &app.router,
        Method::POST,
        "/plugins/acme-pay/rollouts/1.0.0/promote",
        Some(VIEWER),
        Some(json!({})),
    )
    .await
    .refused(403, "forbidden");
}

#[tokio::test]
async fn of_two_promotes_at_once_one_wins() {
    let app = app().await;
    app.publish("1.0.0", &[("wait", "0")]).await.ok();
    act(
        &app.router,
        "1.0.0",
        "canary",
        json!({ "tenants": ["acme", "initech"] }),
    )
    .await
    .ok();
    let (first, second) = tokio::join!(
        act(&app.router, "1.0.0", "promote", json!({ "reason": "a" })),
        act(&app.router, "1.0.0", "promote", json!({ "reason": "b" })),
    );
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", first.json(), second.json());
    let loser = if first.status == StatusCode::OK { second } else { first };
    loser.refused(409, "conflict");
    let rollout = get(&app.router, "/plugins/acme-pay/rollouts/1.0.0").await.ok();
    assert_eq!(states(&rollout).iter().filter(|s| **s == "promoted").count(), 1);
    let verified = get(&app.router, "/audit/verify").await.ok();
    assert_eq!(verified["valid"], true);
}

#[tokio::test]
async fn a_canary_is_rolled_back_with_a_reason() {
    let app = app().await;
    app.publish("1.0.0", &[]).await.ok();
    act(&app.router, "1.0.0", "canary", json!({ "tenants": ["acme"] }))
        .await
        .ok();
    act(&app.router, "1.0.0", "rollback", json!({}))
        .await
        .refused(422, "invalid_body");
    act(&app.router, "1.0.0", "rollback", json!({ "reason": "  " }))
        .await
        .refused(422, "invalid_body");
    let rolled = act(&app.router, "1.0.0", "rollback", json!({ "reason": "checkout errors" }))
        .await
        .ok();
    assert_eq!(rolled["state"], "rolled_back");
    let last = rolled["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "checkout errors");
    // The canary pin is gone; the version never became default.
    let plugins = get(&app.router, "/tenants/acme/plugins").await.ok();
    let pay = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plugin"] == PLUGIN)
        .unwrap();
    assert_eq!(pay["pin"], Value::Null, "{pay}");
    assert_eq!(get(&app.router, "/plugins/acme-pay").await.ok()["version"], Value::Null);
    act(&app.router, "1.0.0", "promote", json!({}))
        .await
        .refused(409, "conflict");
}

#[tokio::test]
async fn a_rollout_is_paused_and_resumed() {
    let app = app().await;
    app.publish("1.0.0", &[]).await.ok();
    // Nothing to resume yet.
    act(&app.router, "1.0.0", "resume", json!({}))
        .await
        .refused(409, "conflict");
    act(&app.router, "1.0.0", "canary", json!({ "tenants": ["acme"] }))
        .await
        .ok();
    let paused = act(&app.router, "1.0.0", "pause", json!({ "reason": "holiday freeze" }))
        .await
        .ok();
    assert_eq!(
        (paused["state"].as_str(), paused["paused_from"].as_str()),
        (Some("paused"), Some("canary"))
    );
    act(&app.router, "1.0.0", "promote", json!({}))
        .await
        .refused(409, "conflict");
    act(&app.router, "1.0.0", "pause", json!({}))
        .await
        .refused(409, "conflict");
    let resumed = act(&app.router, "1.0.0", "resume", json!({})).await.ok();
    assert_eq!(resumed["state"], "canary");
    assert_eq!(resumed.get("paused_from"), None);
    let last = resumed["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "resumed", "a default reason");
    // Unknown fields are refused; unknown versions are 404; bad ones 422.
    act(&app.router, "1.0.0", "pause", json!({ "why": "x" }))
        .await
        .refused(422, "invalid_body");
    act(&app.router, "9.9.9", "pause", json!({}))
        .await
        .refused(404, "version_not_found");
    act(&app.router, "nine", "pause", json!({}))
        .await
        .refused(422, "invalid_version");
    get(&app.router, "/plugins/acme-pay/rollouts/9.9.9")
        .await
        .refused(404, "version_not_found");
}

#[tokio::test]
async fn due_windows_are_judged_from_the_traffic_hosts_report() {
    let app = app().await;
    app.publish("1.0.0", &[("window", "600"), ("min_requests", "50")])
        .await
        .ok();
    // Judging a rollout that is not in its canary changes nothing.
    let judged = act(&app.router, "1.0.0", "judge", json!({})).await.ok();
    assert_eq!(judged["state"], "smoke_tested");
    act(&app.router, "1.0.0", "canary", json!({ "tenants": ["acme"] }))
        .await
        .ok();
    let plugin = Name::parse(PLUGIN).unwrap();
    let traffic = |tenant: &str, requests: u64, errors: u64| {
        let operator = app.operator.clone();
        let plugin = plugin.clone();
        let tenant = Name::parse(tenant).unwrap();
        async move {
            operator
                .record_traffic(&tenant, &plugin, "host-1", requests, errors)
                .await
                .unwrap();
        }
    };
    traffic("acme", 400, 2).await;
    traffic("globex", 1000, 5).await;
    // No window is due yet.
    let judged = act(&app.router, "1.0.0", "judge", json!({})).await.ok();
    assert!(judged["windows"].as_array().unwrap().is_empty());
    app.clock.advance(Duration::from_secs(600));
    let judged = act(&app.router, "1.0.0", "judge", json!({})).await.ok();
    let windows = judged["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{judged}");
    assert_eq!(windows[0]["verdict"], "pass");
    assert_eq!(
        windows[0]["counts"],
        json!({ "canary": { "requests": 400, "errors": 2 }, "baseline": { "requests": 1000, "errors": 5 } })
    );
    // A quiet window is inconclusive: the rollout pauses.
    traffic("acme", 10, 0).await;
    app.clock.advance(Duration::from_secs(600));
    let paused = act(&app.router, "1.0.0", "judge", json!({})).await.ok();
    assert_eq!(paused["state"], "paused");
    assert_eq!(paused["windows"][1]["verdict"], "inconclusive");
    // The judge needs an operator.
    call(
        &app.router,
        Method::POST,
        "/plugins/acme-pay/rollouts/1.0.0/judge",
        Some(VIEWER),
        None,
    )
    .await
    .refused(403, "forbidden");
}

#[tokio::test]
async fn resume_rollout_returns_a_finished_publication_as_it_is() {
    let app = app().await;
    let published = app.publish("1.0.0", &[]).await.ok();
    let again = act(&app.router, "1.0.0", "resume-rollout", json!({})).await.ok();
    assert_eq!(again, published);
    call(
        &app.router,
        Method::POST,
        "/plugins/acme-pay/rollouts/1.0.0/resume-rollout",
        Some(VIEWER),
        None,
    )
    .await
    .refused(403, "forbidden");
    // The other routes need a token too.
    let anonymous = Request::get(format!("{API}/rollouts")).body(Body::empty()).unwrap();
    raw(&app.router, anonymous).await.refused(401, "unauthorized");
    get(&app.router, "/rollouts?open=maybe")
        .await
        .refused(400, "bad_request");
}
