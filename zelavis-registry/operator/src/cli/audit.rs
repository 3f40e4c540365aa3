//! `zelavis audit ...`: reading and verifying the hash-chained audit log.

use serde::Serialize;
use zelavis_operator::audit::{self, AuditEntry, AuditEvent};

use super::Context;
use super::args::AuditCommand;
use super::exit::Failure;
use super::output::{Output, Table, fields, or_dash};
use super::progress;

/// How many events one read fetches while verifying.
const PAGE: usize = 1000;

/// One event as `audit show --json` prints it: the stored event and its entry, read back.
#[derive(Debug, Serialize)]
struct Shown<'a> {
    seq: u64,
    hash: &'a str,
    prev_hash: &'a str,
    /// The entry, or `null` when the body is unreadable (`audit verify` says where).
    entry: Option<AuditEntry>,
}

/// Runs an `audit` command.
pub(crate) async fn run(cx: &Context, out: Output, command: &AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Show { after, limit } => {
            let events = cx.operator.audit(&cx.actor, *after, *limit).await?;
            let shown: Vec<Shown<'_>> = events
                .iter()
                .map(|e| Shown {
                    seq: e.seq,
                    hash: &e.hash,
                    prev_hash: &e.prev_hash,
                    entry: e.entry().ok(),
                })
                .collect();
            out.data(&shown, || table(&events));
        }
        AuditCommand::Verify => {
            let events = read_all(cx, out).await?;
            let verified = {
                let _spinner = progress::spinner(out, format!("verifying {} audit events", events.len()));
                audit::verify(&events)
            }
            .map_err(Failure::Audit)?;
            out.data(&verified, || {
                format!(
                    "the audit log is intact\n{}",
                    fields(&[("events", verified.events.to_string()), ("head", verified.head.clone())])
                )
            });
        }
    }
    Ok(())
}

/// Every event, page by page, counting on stderr.
async fn read_all(cx: &Context, out: Output) -> Result<Vec<AuditEvent>, Failure> {
    let counter = progress::counter(out, "reading the audit log");
    let mut events: Vec<AuditEvent> = Vec::new();
    loop {
        let after = events.last().map_or(0, |e| e.seq);
        let page = cx.operator.audit(&cx.actor, after, PAGE).await?;
        if page.is_empty() {
            break;
        }
        counter.inc(page.len() as u64);
        events.extend(page);
        if events.last().map_or(0, |e| e.seq) <= after {
            // A store that does not number upwards would page forever; verification reports what it read.
            break;
        }
    }
    counter.message("read the audit log");
    Ok(events)
}

fn table(events: &[AuditEvent]) -> String {
    if events.is_empty() {
        return "no audit events".to_owned();
    }
    let mut table = Table::new(["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "REASON"]);
    for event in events {
        match event.entry() {
            Ok(entry) => table.row([
                event.seq.to_string(),
                entry.at.to_string(),
                entry.actor,
                entry.action,
                entry.target,
                or_dash(entry.reason),
            ]),
            Err(e) => table.row([
                event.seq.to_string(),
                "-".into(),
                "-".into(),
                "(unreadable)".into(),
                e.to_string(),
            ]),
        }
    }
    table.render()
}
