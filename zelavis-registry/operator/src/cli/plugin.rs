//! `zelavis plugin ...` and `zelavis health`: the catalog and its plugins' health (publishing and rollouts are in
//! [`rollout`](super::rollout)).

use serde_json::json;
use zelavis_operator::catalog::CatalogRow;
use zelavis_operator::error::parse_name;
use zelavis_operator::operator::DeprecateRequest;

use super::Context;
use super::args::PluginCommand;
use super::exit::Failure;
use super::output::{Output, Table, fields, list, or_dash};
use super::progress;
use super::rollout::{self, Move};
use super::tenant::SYNC_NOTE;

/// Runs a `plugin` command.
#[allow(clippy::too_many_lines, reason = "one arm per command")]
pub(crate) async fn run(cx: &Context, out: Output, command: &PluginCommand) -> Result<(), Failure> {
    let (op, actor) = (&cx.operator, &cx.actor);
    match command {
        PluginCommand::List => {
            let rows = {
                let _spinner = progress::spinner(out, "reading the catalog");
                op.catalog(actor).await?
            };
            out.data(&rows, || catalog_table(&rows));
        }
        PluginCommand::Show { id } => {
            let row = op.catalog_row(actor, id).await?;
            out.data(&row, || show(&row));
        }
        PluginCommand::Deprecate {
            id,
            message,
            replacement,
            disallow_new_enable,
        } => {
            let message = message.trim();
            if message.is_empty() {
                return Err(Failure::usage(
                    "invalid_message",
                    "--message must say what tenants are told",
                ));
            }
            let request = DeprecateRequest {
                message: message.to_owned(),
                replacement: replacement.as_deref().map(|r| parse_name("plugin", r)).transpose()?,
                disallow_new_enable: *disallow_new_enable,
            };
            let banners = op.deprecate(actor, id, request).await?;
            out.done(&banners, || {
                let tenants: Vec<String> = banners.iter().map(|b| b.tenant.to_string()).collect();
                format!(
                    "deprecated {id}{}; {} tenant(s) using it see the banner: {}",
                    if *disallow_new_enable { " (no new enables)" } else { "" },
                    tenants.len(),
                    list(&tenants)
                )
            });
        }
        PluginCommand::Remove { id } => {
            let record = op.remove(actor, id).await?;
            out.done(&record, || {
                format!("removed {id} from the catalog; its id and versions are never reused\nrecorded; {SYNC_NOTE}")
            });
        }
        PluginCommand::Kill { id, reason } => {
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(Failure::usage(
                    "invalid_reason",
                    "--reason must say why the plugin is switched off",
                ));
            }
            let tenants = {
                let _spinner = progress::spinner(out, format!("switching {id} off"));
                op.kill_switch(actor, id, Some(reason.to_owned())).await?
            };
            let shown: Vec<String> = tenants.iter().map(ToString::to_string).collect();
            out.done(&json!({"plugin": id, "killed": true, "tenants": shown}), || {
                format!(
                    "switched {id} off everywhere; {} tenant(s) had it enabled: {}\nrecorded; {SYNC_NOTE}",
                    shown.len(),
                    list(&shown)
                )
            });
        }
        PluginCommand::Revive { id } => {
            let tenants = {
                let _spinner = progress::spinner(out, format!("switching {id} back on"));
                op.kill_switch(actor, id, None).await?
            };
            let shown: Vec<String> = tenants.iter().map(ToString::to_string).collect();
            out.done(&json!({"plugin": id, "killed": false, "tenants": shown}), || {
                format!(
                    "switched {id} back on; {} tenant(s) get it back: {}\nrecorded; {SYNC_NOTE}",
                    shown.len(),
                    list(&shown)
                )
            });
        }
        PluginCommand::Publish {
            bundle,
            sig,
            tenant,
            backport,
            wait,
            window,
            cache: _,
        } => {
            let args = rollout::Publish {
                bundle,
                sig: sig.as_deref(),
                tenant,
                backport: *backport,
                wait: *wait,
                window: *window,
            };
            rollout::publish(cx, out, &args).await?;
        }
        PluginCommand::Canary { release, tenants } => rollout::canary(cx, out, release, tenants).await?,
        PluginCommand::Judge { release } => rollout::judge(cx, out, release).await?,
        PluginCommand::Promote { release, reason } => {
            rollout::change(cx, out, release, Move::Promote, reason.as_deref()).await?;
        }
        PluginCommand::Rollback { release, reason } => {
            rollout::change(cx, out, release, Move::Rollback, Some(reason)).await?;
        }
        PluginCommand::Pause { release, reason } => {
            rollout::change(cx, out, release, Move::Pause, reason.as_deref()).await?;
        }
        PluginCommand::Resume {
            release,
            reason,
            cache: _,
        } => {
            rollout::change(cx, out, release, Move::Resume, reason.as_deref()).await?;
        }
        PluginCommand::Status { plugin, version } => {
            rollout::status(cx, out, plugin.as_deref(), version.as_deref()).await?;
        }
    }
    Ok(())
}

fn status(row: &CatalogRow) -> String {
    match (&row.killed, &row.deprecated) {
        (Some(_), _) => "killed".to_owned(),
        (None, Some(d)) if d.disallow_new_enable => "deprecated, closed".to_owned(),
        (None, Some(_)) => "deprecated".to_owned(),
        (None, None) => "-".to_owned(),
    }
}

fn catalog_table(rows: &[CatalogRow]) -> String {
    if rows.is_empty() {
        return "the catalog is empty".to_owned();
    }
    let mut table = Table::new([
        "ID", "VERSION", "SOURCE", "TENANTS", "TIER", "NICHES", "STATUS", "TITLE",
    ]);
    for row in rows {
        table.row([
            row.id.to_string(),
            or_dash(row.version.as_ref()),
            row.badge.clone(),
            row.tenants_using.to_string(),
            or_dash(row.tier_minimum.as_ref()),
            if row.niches.is_empty() {
                "all".to_owned()
            } else {
                list(&row.niches)
            },
            status(row),
            row.title.clone(),
        ]);
    }
    table.render()
}

fn show(row: &CatalogRow) -> String {
    let mut pairs = vec![
        ("id", row.id.to_string()),
        ("title", row.title.clone()),
        ("source", row.badge.clone()),
        ("publisher", row.publisher.clone()),
        ("version", or_dash(row.version.as_ref())),
        ("versions", list(&row.supports_versions)),
        ("tier minimum", or_dash(row.tier_minimum.as_ref())),
        (
            "niches",
            if row.niches.is_empty() {
                "all".to_owned()
            } else {
                list(&row.niches)
            },
        ),
        ("packages", list(&row.default_in_packages)),
        ("tenants using", row.tenants_using.to_string()),
        ("signed with", or_dash(row.signed_with_kid.as_ref())),
        ("status", status(row)),
    ];
    if let Some(d) = &row.deprecated {
        pairs.push(("deprecated", format!("{} ({})", d.message, d.at)));
        if let Some(replacement) = &d.replacement {
            pairs.push(("replacement", replacement.to_string()));
        }
    }
    if let Some(k) = &row.killed {
        pairs.push(("killed", format!("{} (by {} at {})", k.reason, k.by, k.at)));
    }
    pairs.push(("registered", row.registered_at.to_string()));
    pairs.push(("updated", row.updated_at.to_string()));
    fields(&pairs)
}

/// `zelavis health`.
pub(crate) async fn health(cx: &Context, out: Output) -> Result<(), Failure> {
    let summaries = {
        let _spinner = progress::spinner(out, "reading health");
        cx.operator.health(&cx.actor).await?
    };
    out.data(&summaries, || {
        if summaries.is_empty() {
            return "no plugin has reported failures".to_owned();
        }
        let mut table = Table::new(["PLUGIN", "SETUP", "RUNTIME", "TENANTS", "HOSTS", "LAST ERROR"]);
        for s in &summaries {
            let last = match (&s.last_error, s.last_at) {
                (Some(error), Some(at)) => format!("{at} {error}"),
                (Some(error), None) => error.clone(),
                (None, _) => "-".to_owned(),
            };
            table.row([
                s.plugin.to_string(),
                s.setup_failures.to_string(),
                s.runtime_failures.to_string(),
                list(&s.affected_tenants),
                list(&s.hosts),
                last,
            ]);
        }
        table.render()
    });
    Ok(())
}
