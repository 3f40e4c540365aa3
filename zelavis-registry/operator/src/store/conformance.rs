//! The conformance kit: one behavioural suite every [`OperatorStore`] must pass. The built-in stores run it in
//! their tests; host adapters run it against theirs.
//!
//! Implement [`Harness`] for your store (how to make a fresh, isolated one; how to open a second client on the
//! same data), then run [`run`], which reports every check ([`ConformanceReport`], shared with the registry's
//! kit):
//!
//! ```
//! use async_trait::async_trait;
//! use zelavis_operator::store::conformance::{self, Harness};
//! use zelavis_operator::store::memory::MemoryOperatorStore;
//!
//! struct MyHarness;
//!
//! #[async_trait]
//! impl Harness for MyHarness {
//!     type Store = MemoryOperatorStore; // your adapter's store type
//!
//!     async fn fresh(&self) -> MemoryOperatorStore {
//!         MemoryOperatorStore::new() // e.g. a unique database schema or table prefix
//!     }
//!     async fn second_client(&self, store: &MemoryOperatorStore) -> MemoryOperatorStore {
//!         store.clone() // e.g. a new connection to the same schema
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let report = conformance::run(&MyHarness).await;
//! assert!(report.passed(), "{report}");
//! # });
//! ```

use async_trait::async_trait;

use super::{Batch, Committed, Expected, Kind, OperatorStore, OperatorStoreError, Query, Row, RowRevision, Write};
use crate::audit::{self, AuditEntry, AuditEvent};
use crate::time::Timestamp;

pub use zelavis_registry::store::conformance::{CheckResult, ConformanceReport};

/// How the kit gets stores to test.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The store under test.
    type Store: OperatorStore;

    /// A store over a fresh, empty, isolated namespace (a temp file, a unique schema or table prefix).
    async fn fresh(&self) -> Self::Store;

    /// A second, separate client of the same data as `store` (a new connection, a new handle).
    async fn second_client(&self, store: &Self::Store) -> Self::Store;

    /// How many concurrent read-modify-write tasks each of two clients runs in the contention check
    /// (default 50).
    fn contention_writers(&self) -> usize {
        50
    }

    /// Removes what `fresh` created (default: nothing).
    async fn cleanup(&self, store: Self::Store) {
        drop(store);
    }
}

/// Runs every check, each against a fresh store, and reports them all.
pub async fn run<H: Harness>(harness: &H) -> ConformanceReport {
    let mut results = Vec::new();
    let probe = harness.fresh().await;
    let store_name = probe.describe();
    harness.cleanup(probe).await;
    macro_rules! check {
        ($name:ident) => {{
            let store = harness.fresh().await;
            let outcome = $name(harness, &store).await;
            harness.cleanup(store).await;
            results.push(CheckResult {
                name: stringify!($name),
                outcome,
            });
        }};
    }
    check!(missing_row_is_none);
    check!(create_starts_at_revision_one);
    check!(second_create_conflicts);
    check!(update_checks_the_revision);
    check!(failed_batch_applies_nothing);
    check!(duplicate_write_is_refused);
    check!(empty_batch_changes_nothing);
    check!(queries_select_by_column);
    check!(writes_move_indexed_columns);
    check!(audit_events_chain_and_page);
    check!(concurrent_commits_lose_nothing);
    check!(many_tenants_count_right);
    ConformanceReport {
        store: store_name,
        results,
    }
}

type Check = Result<(), String>;

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Check {
    if condition { Ok(()) } else { Err(message()) }
}

fn failed(doing: &str) -> impl FnOnce(OperatorStoreError) -> String + '_ {
    move |e| format!("{doing}: {e}")
}

/// A write of `kind`/`key` with no indexed columns.
fn write(kind: Kind, key: &str, body: &str, expected: Expected) -> Write {
    Write {
        kind,
        key: key.to_owned(),
        tenant: None,
        plugin: None,
        flag: false,
        body: body.to_owned(),
        expected,
    }
}

/// An enablement of `plugin` for `tenant`.
fn enablement(tenant: &str, plugin: &str, enabled: bool, expected: Expected) -> Write {
    Write {
        kind: Kind::Enablement,
        key: format!("{tenant}|{plugin}"),
        tenant: Some(tenant.to_owned()),
        plugin: Some(plugin.to_owned()),
        flag: enabled,
        body: format!(r#"{{"tenant":"{tenant}","plugin":"{plugin}","enabled":{enabled}}}"#),
        expected,
    }
}

fn entry(n: u64, action: &str) -> AuditEntry {
    AuditEntry::new(
        Timestamp::from_millis(i64::try_from(n).unwrap_or(i64::MAX)),
        "conformance@example.com",
        action,
        format!("check:{n}"),
    )
    .reason(format!("step {n}"))
}

async fn commit<S: OperatorStore>(store: &S, batch: Batch, doing: &str) -> Result<Committed, String> {
    store.commit(batch).await.map_err(failed(doing))
}

async fn get<S: OperatorStore>(store: &S, kind: Kind, key: &str) -> Result<Option<Row>, String> {
    store.get(kind, key).await.map_err(failed("get"))
}

async fn whole_log<S: OperatorStore>(store: &S) -> Result<Vec<AuditEvent>, String> {
    store.audit(0, usize::MAX).await.map_err(failed("read the audit log"))
}

/// Commits `write` alone and checks that it is refused with a conflict naming its row, its expectation and
/// `found`; `doing` says what the write was, for the message when it is not.
async fn expect_conflict<S: OperatorStore>(store: &S, write: Write, found: Expected, doing: &str) -> Check {
    let (want_kind, want_key, want_expected) = (write.kind, write.key.clone(), write.expected);
    match store.commit(Batch::new().write(write)).await {
        Err(OperatorStoreError::Conflict {
            kind,
            key,
            expected,
            found: was,
        }) => ensure(
            kind == want_kind && key == want_key && expected == want_expected && was == found,
            || format!("the conflict named {kind} {key:?}, expected {expected}, found {was}"),
        ),
        other => Err(format!("{doing} returned {other:?}, expected a conflict")),
    }
}

/// Whether the written row reads back as `write` at `revision`.
fn holds(row: Option<&Row>, write: &Write, revision: RowRevision) -> bool {
    row.is_some_and(|row| {
        row.kind == write.kind
            && row.key == write.key
            && row.tenant == write.tenant
            && row.plugin == write.plugin
            && row.flag == write.flag
            && row.body == write.body
            && row.revision == revision
    })
}

async fn missing_row_is_none<H: Harness>(_: &H, store: &H::Store) -> Check {
    let row = get(store, Kind::Tenant, "nobody").await?;
    ensure(row.is_none(), || {
        format!("a fresh store returned {row:?} for a missing row")
    })?;
    let all = store.query(&Query::All(Kind::Tenant)).await.map_err(failed("query"))?;
    let count = store.count(&Query::All(Kind::Tenant)).await.map_err(failed("count"))?;
    let log = whole_log(store).await?;
    ensure(all.is_empty() && count == 0 && log.is_empty(), || {
        format!(
            "a fresh store holds {} rows (count {count}) and {} audit events",
            all.len(),
            log.len()
        )
    })
}

async fn create_starts_at_revision_one<H: Harness>(_: &H, store: &H::Store) -> Check {
    let created = Write {
        body: r#"{"emoji":"🚀","quoted":"\"x\" \\ y","日本語":true}"#.to_owned(),
        ..enablement("@tenant/acmé", "@scope/niche-booking", true, Expected::Absent)
    };
    let committed = commit(store, Batch::new().write(created.clone()), "create").await?;
    ensure(committed.revisions == [1] && committed.events.is_empty(), || {
        format!("a create committed {committed:?}, expected revision [1] and no events")
    })?;
    let row = get(store, created.kind, &created.key).await?;
    ensure(holds(row.as_ref(), &created, 1), || {
        format!("the created row reads back as {row:?}, expected {created:?} at revision 1")
    })?;
    let other_kind = get(store, Kind::Settings, &created.key).await?;
    ensure(other_kind.is_none(), || {
        format!("the same key of another kind reads as {other_kind:?}")
    })
}

async fn second_create_conflicts<H: Harness>(_: &H, store: &H::Store) -> Check {
    let first = write(Kind::Plugin, "stripe", r#"{"v":1}"#, Expected::Absent);
    commit(store, Batch::new().write(first.clone()), "create").await?;
    let second = Write {
        body: r#"{"v":2}"#.to_owned(),
        ..first.clone()
    };
    expect_conflict(store, second, Expected::Revision(1), "a second create").await?;
    let row = get(store, Kind::Plugin, "stripe").await?;
    ensure(holds(row.as_ref(), &first, 1), || {
        format!("a refused create changed the row to {row:?}")
    })
}

async fn update_checks_the_revision<H: Harness>(_: &H, store: &H::Store) -> Check {
    let created = write(Kind::Release, "stripe@1.0.0", r#"{"state":"draft"}"#, Expected::Absent);
    commit(store, Batch::new().write(created), "create").await?;
    let updated = write(
        Kind::Release,
        "stripe@1.0.0",
        r#"{"state":"published"}"#,
        Expected::Revision(1),
    );
    let committed = commit(store, Batch::new().write(updated.clone()), "update at revision 1").await?;
    ensure(committed.revisions == [2], || {
        format!("an update at revision 1 committed {committed:?}, expected revision [2]")
    })?;
    let stale = Write {
        body: r#"{"state":"yanked"}"#.to_owned(),
        ..updated.clone()
    };
    expect_conflict(store, stale, Expected::Revision(2), "an update at a stale revision").await?;
    let missing = write(Kind::Release, "stripe@9.9.9", "{}", Expected::Revision(1));
    match store.commit(Batch::new().write(missing)).await {
        Err(OperatorStoreError::Conflict {
            found: Expected::Absent,
            ..
        }) => {}
        other => return Err(format!("an update of a missing row returned {other:?}")),
    }
    let row = get(store, Kind::Release, "stripe@1.0.0").await?;
    ensure(holds(row.as_ref(), &updated, 2), || {
        format!("refused updates changed the row to {row:?}")
    })?;
    let ghost = get(store, Kind::Release, "stripe@9.9.9").await?;
    ensure(ghost.is_none(), || format!("a refused update created {ghost:?}"))
}

async fn failed_batch_applies_nothing<H: Harness>(_: &H, store: &H::Store) -> Check {
    let kept = write(Kind::Tenant, "acme", r#"{"v":1}"#, Expected::Absent);
    commit(
        store,
        Batch::new().write(kept.clone()).audit(entry(1, "tenant.create")),
        "setup",
    )
    .await?;
    let before = whole_log(store).await?;
    let batch = Batch::new()
        .write(write(Kind::Tenant, "acme", r#"{"v":2}"#, Expected::Revision(1)))
        .write(write(Kind::Tenant, "globex", r#"{"v":1}"#, Expected::Absent))
        .write(write(Kind::Tenant, "initech", r#"{"v":1}"#, Expected::Revision(7)))
        .audit(entry(2, "tenant.update"))
        .audit(entry(3, "tenant.create"));
    match store.commit(batch).await {
        Err(OperatorStoreError::Conflict {
            key, expected, found, ..
        }) if key == "initech" && expected == Expected::Revision(7) && found == Expected::Absent => {}
        other => {
            return Err(format!(
                "a batch whose third write expects a missing row at revision 7 returned {other:?}"
            ));
        }
    }
    let acme = get(store, Kind::Tenant, "acme").await?;
    ensure(holds(acme.as_ref(), &kept, 1), || {
        format!("a refused batch still changed acme to {acme:?}")
    })?;
    let globex = get(store, Kind::Tenant, "globex").await?;
    ensure(globex.is_none(), || format!("a refused batch still created {globex:?}"))?;
    let after = whole_log(store).await?;
    ensure(after == before, || {
        format!(
            "a refused batch changed the audit log from {} to {} events",
            before.len(),
            after.len()
        )
    })
}

async fn duplicate_write_is_refused<H: Harness>(_: &H, store: &H::Store) -> Check {
    let batch = Batch::new()
        .write(write(Kind::Settings, "acme|stripe", "{}", Expected::Absent))
        .write(write(Kind::Plugin, "stripe", "{}", Expected::Absent))
        .write(write(
            Kind::Settings,
            "acme|stripe",
            r#"{"again":true}"#,
            Expected::Absent,
        ))
        .audit(entry(1, "settings.set"));
    match store.commit(batch).await {
        Err(OperatorStoreError::DuplicateWrite { kind, key }) => {
            ensure(kind == Kind::Settings && key == "acme|stripe", || {
                format!("the duplicate named {kind} {key:?}")
            })?;
        }
        other => return Err(format!("a batch writing one row twice returned {other:?}")),
    }
    let settings = get(store, Kind::Settings, "acme|stripe").await?;
    let plugin = get(store, Kind::Plugin, "stripe").await?;
    let log = whole_log(store).await?;
    ensure(settings.is_none() && plugin.is_none() && log.is_empty(), || {
        format!(
            "a refused batch left {settings:?}, {plugin:?} and {} audit events",
            log.len()
        )
    })?;
    // The same key under two kinds is two rows.
    let two_kinds = Batch::new()
        .write(write(Kind::Settings, "acme|stripe", "{}", Expected::Absent))
        .write(write(Kind::Enablement, "acme|stripe", "{}", Expected::Absent));
    let committed = commit(store, two_kinds, "write one key under two kinds").await?;
    ensure(committed.revisions == [1, 1], || {
        format!("one key under two kinds committed {committed:?}")
    })
}

async fn empty_batch_changes_nothing<H: Harness>(_: &H, store: &H::Store) -> Check {
    let committed = commit(store, Batch::new(), "commit an empty batch").await?;
    let log = whole_log(store).await?;
    ensure(committed == Committed::default() && log.is_empty(), || {
        format!(
            "an empty batch committed {committed:?} and left {} audit events",
            log.len()
        )
    })
}

/// Reads `query` and checks it against `expected` (the keys, in order), against `revisions` and against `count`.
async fn expect_query<S: OperatorStore>(store: &S, query: &Query, expected: &[String]) -> Check {
    let rows = store.query(query).await.map_err(failed("query"))?;
    let keys: Vec<&str> = rows.iter().map(|row| row.key.as_str()).collect();
    ensure(keys == expected, || {
        format!("{query:?} returned {keys:?}, expected {expected:?}")
    })?;
    ensure(rows.iter().all(|row| query.matches(row)), || {
        format!("{query:?} returned rows it does not match: {rows:?}")
    })?;
    let revisions = store.revisions(query).await.map_err(failed("revisions"))?;
    let from_rows: Vec<(String, u64)> = rows.iter().map(|row| (row.key.clone(), row.revision)).collect();
    ensure(revisions == from_rows, || {
        format!("{query:?} lists revisions {revisions:?} but its rows are at {from_rows:?}")
    })?;
    let count = store.count(query).await.map_err(failed("count"))?;
    ensure(count == u64::try_from(rows.len()).unwrap_or(u64::MAX), || {
        format!("{query:?} counts {count} but returns {} rows", rows.len())
    })
}

/// The keys of `writes` that `query` selects, in key order.
fn selected(writes: &[Write], query: &Query) -> Vec<String> {
    let mut keys: Vec<String> = writes
        .iter()
        .map(|w| Row {
            kind: w.kind,
            key: w.key.clone(),
            tenant: w.tenant.clone(),
            plugin: w.plugin.clone(),
            flag: w.flag,
            revision: 1,
            body: w.body.clone(),
        })
        .filter(|row| query.matches(row))
        .map(|row| row.key)
        .collect();
    keys.sort();
    keys
}

async fn queries_select_by_column<H: Harness>(_: &H, store: &H::Store) -> Check {
    let mut writes = Vec::new();
    // Inserted out of key order, so an answer in insertion order shows.
    for (tenant, plugin, enabled) in [
        ("globex", "stripe", true),
        ("acme", "stripe", false),
        ("acme", "blog", true),
        ("initech", "stripe", true),
        ("acme", "@scope/shop", true),
        ("globex", "blog", false),
    ] {
        writes.push(enablement(tenant, plugin, enabled, Expected::Absent));
    }
    let mut settings = enablement("acme", "stripe", true, Expected::Absent);
    settings.kind = Kind::Settings;
    writes.push(settings);
    writes.push(write(Kind::Tenant, "acme", "{}", Expected::Absent));
    writes.push(write(Kind::Tenant, "globex", "{}", Expected::Absent));
    let batch = writes.iter().cloned().fold(Batch::new(), Batch::write);
    commit(store, batch, "write the rows").await?;
    let mut queries = vec![
        Query::All(Kind::Enablement),
        Query::All(Kind::Tenant),
        Query::All(Kind::Rollout),
    ];
    for tenant in ["acme", "globex", "initech", "nobody"] {
        queries.push(Query::Tenant {
            kind: Kind::Enablement,
            tenant: tenant.to_owned(),
        });
    }
    for plugin in ["stripe", "blog", "@scope/shop", "missing"] {
        for flagged in [true, false] {
            queries.push(Query::Plugin {
                kind: Kind::Enablement,
                plugin: plugin.to_owned(),
                flagged,
            });
        }
    }
    queries.push(Query::Tenant {
        kind: Kind::Settings,
        tenant: "acme".to_owned(),
    });
    for query in &queries {
        expect_query(store, query, &selected(&writes, query)).await?;
    }
    Ok(())
}

async fn writes_move_indexed_columns<H: Harness>(_: &H, store: &H::Store) -> Check {
    let created = enablement("acme", "stripe", true, Expected::Absent);
    commit(store, Batch::new().write(created), "create").await?;
    let flagged = |plugin: &str| Query::Plugin {
        kind: Kind::Enablement,
        plugin: plugin.to_owned(),
        flagged: true,
    };
    let tenant = |tenant: &str| Query::Tenant {
        kind: Kind::Enablement,
        tenant: tenant.to_owned(),
    };
    let key = vec!["acme|stripe".to_owned()];
    expect_query(store, &flagged("stripe"), &key).await?;

    let disabled = enablement("acme", "stripe", false, Expected::Revision(1));
    commit(store, Batch::new().write(disabled), "disable").await?;
    expect_query(store, &flagged("stripe"), &[]).await?;
    let any = Query::Plugin {
        kind: Kind::Enablement,
        plugin: "stripe".to_owned(),
        flagged: false,
    };
    expect_query(store, &any, &key).await?;

    let moved = Write {
        key: "acme|stripe".to_owned(),
        ..enablement("globex", "blog", true, Expected::Revision(2))
    };
    commit(store, Batch::new().write(moved), "move the indexed columns").await?;
    expect_query(store, &tenant("acme"), &[]).await?;
    expect_query(store, &tenant("globex"), &key).await?;
    expect_query(store, &any, &[]).await?;
    expect_query(store, &flagged("blog"), &key).await?;

    let cleared = write(Kind::Enablement, "acme|stripe", "{}", Expected::Revision(3));
    commit(store, Batch::new().write(cleared), "clear the indexed columns").await?;
    expect_query(store, &tenant("globex"), &[]).await?;
    expect_query(store, &flagged("blog"), &[]).await?;
    let row = get(store, Kind::Enablement, "acme|stripe").await?;
    ensure(
        row.as_ref()
            .is_some_and(|r| r.tenant.is_none() && r.plugin.is_none() && !r.flag && r.revision == 4),
        || format!("after clearing its columns the row reads {row:?}"),
    )
}

async fn audit_events_chain_and_page<H: Harness>(_: &H, store: &H::Store) -> Check {
    let mut returned = Vec::new();
    let first = Batch::new()
        .write(write(Kind::Tenant, "acme", "{}", Expected::Absent))
        .audit(entry(1, "tenant.create"))
        .audit(entry(2, "tenant.enable"));
    returned.extend(commit(store, first, "commit with two audit entries").await?.events);
    for n in 3..=7 {
        let audit_only = Batch::new().audit(entry(n, "health.report"));
        returned.extend(commit(store, audit_only, "commit an audit entry").await?.events);
    }
    let log = whole_log(store).await?;
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    ensure(seqs == (1..=7).collect::<Vec<_>>(), || {
        format!("the audit log is numbered {seqs:?}, expected 1 to 7")
    })?;
    ensure(log == returned, || {
        "the audit log differs from the events the commits returned".to_owned()
    })?;
    let verified = audit::verify(&log).map_err(|e| format!("the audit log does not verify: {e}"))?;
    ensure(
        verified.events == 7 && log.last().is_some_and(|e| e.hash == verified.head),
        || format!("verification checked {verified:?}"),
    )?;
    for (i, event) in log.iter().enumerate() {
        let read = event.entry().map_err(|e| e.to_string())?;
        let n = u64::try_from(i).unwrap_or(u64::MAX) + 1;
        ensure(read.reason.as_deref() == Some(format!("step {n}").as_str()), || {
            format!("audit event {} holds {read:?}, expected step {n}", event.seq)
        })?;
    }
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .audit(after, 3)
            .await
            .map_err(failed("read a page of the audit log"))?;
        ensure(page.len() <= 3, || format!("a page of 3 held {} events", page.len()))?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        paged.extend(page);
    }
    ensure(paged == log, || {
        format!("paging by 3 read {:?}", paged.iter().map(|e| e.seq).collect::<Vec<_>>())
    })?;
    let middle = store.audit(2, 2).await.map_err(failed("read the audit log"))?;
    let none = store.audit(0, 0).await.map_err(failed("read the audit log"))?;
    let past = store.audit(7, 10).await.map_err(failed("read the audit log"))?;
    let far = store.audit(u64::MAX, 10).await.map_err(failed("read the audit log"))?;
    ensure(
        middle.iter().map(|e| e.seq).eq([3, 4]) && none.is_empty() && past.is_empty() && far.is_empty(),
        || {
            format!(
                "audit(2, 2) read {middle:?}; audit(0, 0), audit(7, 10), audit(MAX, 10) read {none:?}, {past:?}, {far:?}"
            )
        },
    )
}

/// The counter in a contention row's body.
fn counter(row: &Row) -> Result<u64, String> {
    let value: serde_json::Value =
        serde_json::from_str(&row.body).map_err(|e| format!("the counter row holds {:?}: {e}", row.body))?;
    value["count"]
        .as_u64()
        .ok_or_else(|| format!("the counter row holds {:?}", row.body))
}

/// One read-modify-write increment of the counter, retried on conflict.
async fn increment<S: OperatorStore>(store: &S, task: usize) -> Check {
    const ATTEMPTS: usize = 100_000;
    for _ in 0..ATTEMPTS {
        let row = get(store, Kind::Rollout, "counter")
            .await?
            .ok_or("the counter row vanished")?;
        let next = counter(&row)? + 1;
        let batch = Batch::new()
            .write(write(
                Kind::Rollout,
                "counter",
                &format!(r#"{{"count":{next}}}"#),
                Expected::of(Some(&row)),
            ))
            .audit(entry(next, "rollout.step"));
        match store.commit(batch).await {
            Ok(_) => return Ok(()),
            Err(OperatorStoreError::Conflict { .. }) => {}
            Err(e) => return Err(format!("task {task}: {e}")),
        }
    }
    Err(format!("task {task} conflicted {ATTEMPTS} times in a row"))
}

async fn concurrent_commits_lose_nothing<H: Harness>(harness: &H, store: &H::Store) -> Check {
    let writers = harness.contention_writers();
    let other = harness.second_client(store).await;
    commit(
        store,
        Batch::new().write(write(Kind::Rollout, "counter", r#"{"count":0}"#, Expected::Absent)),
        "create the counter",
    )
    .await?;
    let clients = [store, &other];
    let tasks = (0..2 * writers).map(|task| increment(clients[task % 2], task));
    let results = futures::future::join_all(tasks).await;
    if let Some(Err(first)) = results.iter().find(|r| r.is_err()) {
        let failures = results.iter().filter(|r| r.is_err()).count();
        return Err(format!("{failures} of {} tasks failed, first: {first}", 2 * writers));
    }
    let row = get(store, Kind::Rollout, "counter")
        .await?
        .ok_or("the counter row vanished")?;
    let total = u64::try_from(2 * writers).unwrap_or(u64::MAX);
    let count = counter(&row)?;
    ensure(count == total && row.revision == total + 1, || {
        format!(
            "{total} increments left the counter at {count}, revision {} (expected {total}, revision {})",
            row.revision,
            total + 1
        )
    })?;
    let log = whole_log(&other).await?;
    audit::verify(&log).map_err(|e| format!("after concurrent commits the audit log does not verify: {e}"))?;
    let steps: Vec<u64> = log
        .iter()
        .map(|e| {
            e.entry()
                .ok()
                .and_then(|entry| entry.at.as_millis().try_into().ok())
                .unwrap_or(0)
        })
        .collect();
    ensure(steps == (1..=total).collect::<Vec<_>>(), || {
        format!("the audit log records the increments as {steps:?}, expected 1 to {total} in order")
    })
}

async fn many_tenants_count_right<H: Harness>(_: &H, store: &H::Store) -> Check {
    const TENANTS: usize = 200;
    const PLUGINS: usize = 20;
    let plugin = |p: usize| format!("plugin-{p:02}");
    // Tenant t enables plugin p unless p is a multiple of t % 5 + 2; everyone enables plugin 0.
    let enabled = |t: usize, p: usize| p == 0 || !p.is_multiple_of(t % 5 + 2);
    for t in 0..TENANTS {
        let tenant = format!("tenant-{t:03}");
        let batch = (0..PLUGINS).fold(Batch::new(), |batch, p| {
            batch.write(enablement(&tenant, &plugin(p), enabled(t, p), Expected::Absent))
        });
        commit(store, batch, &format!("enable the plugins of {tenant}")).await?;
    }
    let all = store
        .count(&Query::All(Kind::Enablement))
        .await
        .map_err(failed("count"))?;
    ensure(all == u64::try_from(TENANTS * PLUGINS).unwrap_or(0), || {
        format!("{TENANTS} tenants × {PLUGINS} plugins count {all} enablements")
    })?;
    for p in 0..PLUGINS {
        let expected: Vec<String> = (0..TENANTS)
            .filter(|&t| enabled(t, p))
            .map(|t| format!("tenant-{t:03}|{}", plugin(p)))
            .collect();
        let query = Query::Plugin {
            kind: Kind::Enablement,
            plugin: plugin(p),
            flagged: true,
        };
        let count = store.count(&query).await.map_err(failed("count"))?;
        ensure(count == u64::try_from(expected.len()).unwrap_or(0), || {
            format!(
                "{} is enabled for {} tenants, counted {count}",
                plugin(p),
                expected.len()
            )
        })?;
        if p % 7 == 0 {
            expect_query(store, &query, &expected).await?;
        }
    }
    let one = Query::Tenant {
        kind: Kind::Enablement,
        tenant: "tenant-123".to_owned(),
    };
    let keys: Vec<String> = (0..PLUGINS).map(|p| format!("tenant-123|{}", plugin(p))).collect();
    expect_query(store, &one, &keys).await
}
