//! The operator layer at platform scale: 10 000 tenants × 100 plugins (one million grants) in the embedded
//! SQLite operator store, against bare rusqlite transactions doing the same work on the same file.
//!
//! - `operator_enable_disable/operator`: one [`Operator::enable`] or [`Operator::disable`] per iteration (they
//!   alternate): read the tenant, the catalog row, the releases and the grant; check license, tier, niche and
//!   version; commit the grant and its audit event in one `BEGIN IMMEDIATE` transaction (compare-and-swap on
//!   the grant's revision, the audit event sealed onto the hash chain). No tenant runtime is attached, so this is
//!   the operator layer's own cost.
//!   `operator_enable_disable/baseline_txn`: the same writes by hand — `BEGIN IMMEDIATE`, read the grant's
//!   revision, update the grant (a prepared body), read the audit head, hash and insert the audit row, `COMMIT`.
//! - `operator_list/operator`: [`Operator::tenant_plugins`] for one tenant: the tenant, its 100 grants through
//!   the tenant index, the catalog rows and releases, joined. Rows are read revision-first (`SELECT key,
//!   revision`) and only rows whose revision the operator has not decoded yet are fetched and parsed, so a
//!   repeated list costs the index reads. `operator_list/baseline_select`: the same four selects by hand,
//!   bodies read as strings (no parsing at all).
//! - `operator_tenants_using/operator`: [`Operator::tenants_using`]; `baseline_count`: the same `count(*)`.
//!
//! Both sides use one file opened the same way (WAL, `synchronous=FULL`), so each commit fsyncs on both; target
//! ≤ 1.5×. Seeding a million grants takes a while on first run (batches of 2 000 rows).
//!
//! Run with `cargo bench --bench operator --features operator -- --warm-up-time 1 --measurement-time 3`
//! (`ZELAVIS_BENCH_TENANTS` lowers the tenant count for a quick look).

#[path = "support/store.rs"]
#[allow(dead_code, reason = "this bench needs only the scratch directory")]
mod support;

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use support::BenchDir;
use zelavis::operator::prelude::*;
use zelavis::operator::store::{Batch, Expected, Kind, Write};

const PLUGINS: usize = 100;

fn tenant_count() -> usize {
    std::env::var("ZELAVIS_BENCH_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn write<T: Serialize>(
    kind: Kind,
    key: String,
    tenant: Option<String>,
    plugin: Option<String>,
    flag: bool,
    value: &T,
) -> Write {
    Write {
        kind,
        key,
        tenant,
        plugin,
        flag,
        body: serde_json::to_string(value).expect("serialisable"),
        expected: Expected::Absent,
    }
}

fn plugin_name(i: usize) -> String {
    format!("plugin-{i:03}")
}

fn tenant_name(i: usize) -> String {
    format!("tenant-{i:05}")
}

fn owner() -> Actor {
    Actor::new("bench@example.com", Role::Owner)
}

/// Seeds the catalog through the operator, then tenants and grants straight through the store in batches.
fn seed(operator: &Operator, store: &SqliteOperatorStore, tenants: usize) {
    block_on(async {
        for i in 0..PLUGINS {
            let def = PluginDef::builder(plugin_name(i))
                .version("1.0.0")
                .build()
                .expect("valid plugin");
            operator
                .register_builtin(&owner(), &def, PluginSpec::new(CatalogSource::BuiltIn, "bench"))
                .await
                .expect("register");
        }
        let now = Timestamp::EPOCH;
        let mut batch = Batch::new();
        for t in 0..tenants {
            let id = Name::parse(&tenant_name(t)).expect("valid tenant");
            let tenant = Tenant {
                id: id.clone(),
                tier: "pro".into(),
                niche: "retail".into(),
                canary: false,
                license: None,
                created_at: now,
                updated_at: now,
            };
            batch = batch.write(write(Kind::Tenant, id.to_string(), None, None, false, &tenant));
            for p in 0..PLUGINS {
                let plugin = Name::parse(&plugin_name(p)).expect("valid plugin");
                let grant = Enablement {
                    tenant: id.clone(),
                    plugin: plugin.clone(),
                    enabled: p % 2 == 0,
                    version: Some("1.0.0".parse().expect("version")),
                    pin: None,
                    updated_at: now,
                };
                batch = batch.write(write(
                    Kind::Enablement,
                    Enablement::key(id.as_str(), plugin.as_str()),
                    Some(id.to_string()),
                    Some(plugin.to_string()),
                    grant.enabled,
                    &grant,
                ));
            }
            if batch.writes.len() >= 2_000 {
                store.commit(std::mem::take(&mut batch)).await.expect("seed");
            }
        }
        if !batch.is_empty() {
            store.commit(batch).await.expect("seed");
        }
    });
}

fn bench(c: &mut Criterion) {
    let tenants = tenant_count();
    let dir = BenchDir::new("operator-bench");
    let path = dir.0.join("operator.db");
    let store = SqliteOperatorStore::open(&path).expect("open the store");
    let license = License {
        licensed_plugins: (0..PLUGINS).map(plugin_name).collect(),
        tier: "pro".into(),
        ..License::default()
    };
    let mut licenses = FixedLicenses::new();
    for t in 0..tenants {
        licenses = licenses.grant(tenant_name(t), license.clone());
    }
    let operator = Operator::builder(store.clone()).licenses(licenses).build();
    seed(&operator, &store, tenants);

    let raw = Connection::open(&path).expect("open the file by hand");
    raw.pragma_update(None, "journal_mode", "WAL").expect("wal");
    raw.pragma_update(None, "synchronous", "FULL").expect("synchronous");
    raw.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");

    let tenant = tenant_name(tenants / 2);
    writes(c, &operator, &raw, &tenant);
    reads(c, &operator, &raw, &tenant);
}

/// One grant enabled or disabled through the operator, against the same writes by hand.
fn writes(c: &mut Criterion, operator: &Operator, raw: &Connection, tenant: &str) {
    let mut group = c.benchmark_group("operator_enable_disable");
    let plugin = plugin_name(1);
    let mut on = false;
    group.bench_function("operator", |b| {
        b.iter(|| {
            on = !on;
            block_on(async {
                if on {
                    black_box(operator.enable(&owner(), tenant, &plugin, None).await.expect("enable"));
                } else {
                    black_box(operator.disable(&owner(), tenant, &plugin).await.expect("disable"));
                }
            });
        });
    });
    let base_plugin = plugin_name(3);
    let key = format!("{tenant}|{base_plugin}");
    let bodies = [true, false].map(|enabled| {
        serde_json::to_string(&Enablement {
            tenant: Name::parse(tenant).expect("tenant"),
            plugin: Name::parse(&base_plugin).expect("plugin"),
            enabled,
            version: Some("1.0.0".parse().expect("version")),
            pin: None,
            updated_at: Timestamp::EPOCH,
        })
        .expect("body")
    });
    let audit_body = r#"{"at":"1970-01-01T00:00:00.000Z","actor":"bench@example.com","action":"tenant.enable","target":"tenant plugin"}"#;
    let mut flip = false;
    group.bench_function("baseline_txn", |b| {
        b.iter(|| {
            flip = !flip;
            let tx = Transaction::new_unchecked(raw, TransactionBehavior::Immediate).expect("begin immediate");
            let revision: i64 = tx
                .prepare_cached("SELECT revision FROM operator_rows WHERE kind = 'enablement' AND key = ?1")
                .and_then(|mut s| s.query_row(params![key], |r| r.get(0)))
                .expect("read the grant");
            tx.prepare_cached(
                "UPDATE operator_rows SET body = ?1, flag = ?2, revision = ?3 WHERE kind = 'enablement' AND key = ?4",
            )
            .and_then(|mut s| s.execute(params![bodies[usize::from(!flip)], flip, revision + 1, key]))
            .expect("write the grant");
            let (seq, hash): (i64, String) = tx
                .prepare_cached("SELECT seq, hash FROM operator_audit ORDER BY seq DESC LIMIT 1")
                .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
                .expect("read the head");
            let mut hasher = Sha256::new();
            hasher.update(hash.as_bytes());
            hasher.update(audit_body.as_bytes());
            let next = hasher.finalize().iter().fold(String::with_capacity(64), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
            tx.prepare_cached("INSERT INTO operator_audit (seq, prev_hash, hash, body) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut s| s.execute(params![seq + 1, hash, next, audit_body]))
                .expect("append");
            tx.commit().expect("commit");
        });
    });
    group.finish();
}

/// A tenant's plugin list and a plugin's usage count, against the same selects by hand.
fn reads(c: &mut Criterion, operator: &Operator, raw: &Connection, tenant: &str) {
    let mut group = c.benchmark_group("operator_list");
    group.bench_function("operator", |b| {
        b.iter(|| black_box(block_on(operator.tenant_plugins(&owner(), tenant)).expect("list")));
    });
    group.bench_function("baseline_select", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(3 * PLUGINS);
            for (sql, arg) in [
                ("SELECT body FROM operator_rows WHERE kind = 'tenant' AND key = ?1", Some(tenant)),
                ("SELECT body FROM operator_rows INDEXED BY operator_rows_tenant WHERE kind = 'enablement' AND tenant = ?1 ORDER BY key", Some(tenant)),
                ("SELECT body FROM operator_rows WHERE kind = 'plugin' ORDER BY key", None),
                ("SELECT body FROM operator_rows WHERE kind = 'release' ORDER BY key", None),
            ] {
                let mut statement = raw.prepare_cached(sql).expect("prepare");
                let rows = match arg {
                    Some(arg) => statement.query_map(params![arg], |r| r.get::<_, String>(0)).expect("select").collect::<Vec<_>>(),
                    None => statement.query_map([], |r| r.get::<_, String>(0)).expect("select").collect::<Vec<_>>(),
                };
                out.extend(rows.into_iter().map(|r| r.expect("row")));
            }
            black_box(out)
        });
    });
    group.finish();

    let mut group = c.benchmark_group("operator_tenants_using");
    let counted = plugin_name(2);
    group.bench_function("operator", |b| {
        b.iter(|| black_box(block_on(operator.tenants_using(&counted)).expect("count")));
    });
    group.bench_function("baseline_count", |b| {
        b.iter(|| {
            let n: i64 = raw
                .prepare_cached("SELECT count(*) FROM operator_rows INDEXED BY operator_rows_plugin WHERE kind = 'enablement' AND plugin = ?1 AND flag = 1")
                .and_then(|mut s| s.query_row(params![counted], |r| r.get(0)))
                .expect("count");
            black_box(n)
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
