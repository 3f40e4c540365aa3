//! `zelavis plugin publish | canary | judge | promote | rollback | pause | resume | status`: publishing signed
//! bundles and driving their rollouts.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use semver::Version;
use zelavis_operator::bundle::BundleLimits;
use zelavis_operator::error::{parse_name, parse_version};
use zelavis_operator::judge::{JudgeConfig, OperatorHealthMonitor, Verdict};
use zelavis_operator::rollout::{JudgedWindow, PublishOptions, Rollout, RolloutState, SmokeReport};

use super::Context;
use super::args::ReleaseArgs;
use super::bundle::read_signature;
use super::duration::Shown;
use super::exit::Failure;
use super::input::{Progress as Read, read_bytes};
use super::output::{Output, Table, fields, list, or_dash, yes_no};
use super::progress;
use super::tenant::SYNC_NOTE;

/// What `plugin publish` was given.
pub(crate) struct Publish<'a> {
    pub(crate) bundle: &'a Path,
    pub(crate) sig: Option<&'a Path>,
    pub(crate) tenant: &'a str,
    pub(crate) backport: bool,
    pub(crate) wait: Duration,
    pub(crate) window: Duration,
}

/// `plugin publish`.
pub(crate) async fn publish(cx: &Context, out: Output, args: &Publish<'_>) -> Result<(), Failure> {
    let signed = read_signature(args.bundle, args.sig)?;
    let bytes = {
        let bar = progress::bytes(out, format!("reading {}", args.bundle.display()));
        read_bytes(
            args.bundle,
            "the bundle",
            BundleLimits::default().max_bundle_bytes,
            |p| match p {
                Read::Size(n) => bar.length(n),
                Read::Read(n) => bar.inc(n),
            },
        )?
    };
    let options = PublishOptions {
        backport: args.backport,
        wait: args.wait,
        judge: JudgeConfig {
            window: args.window,
            ..JudgeConfig::default()
        },
    };
    let rollout = {
        let _spinner = progress::spinner(
            out,
            format!(
                "publishing {}@{}: uploading, verifying the signature, smoke-testing plugin.wasm",
                signed.record.plugin, signed.record.version
            ),
        );
        cx.operator
            .publish(&cx.actor, args.tenant, &bytes, &signed, options)
            .await?
    };
    outcome(out, rollout, "published")
}

/// Reports a rollout that ran through verification and the smoke test: `Failed` is exit 1.
fn outcome(out: Output, rollout: Rollout, did: &str) -> Result<(), Failure> {
    if rollout.state == RolloutState::Failed {
        if !out.json() {
            // The figures are the result; the failure follows on stderr.
            out.data(&rollout, || summary(&rollout, &format!("{did} {}", target(&rollout))));
        }
        return Err(Failure::RolloutFailed(Box::new(rollout)));
    }
    out.done(&rollout, || {
        let mut text = summary(&rollout, &format!("{did} {}", target(&rollout)));
        if rollout.state == RolloutState::SmokeTested {
            // Writing into a String cannot fail.
            let _ = write!(
                text,
                "next: zelavis plugin canary {} {} --tenant <canary tenant>",
                rollout.plugin, rollout.version
            );
        }
        text
    });
    Ok(())
}

/// `plugin canary`.
pub(crate) async fn canary(
    cx: &Context,
    out: Output,
    release: &ReleaseArgs,
    tenants: &[String],
) -> Result<(), Failure> {
    let version = parse_version(&release.version)?;
    let tenants = tenants
        .iter()
        .map(|t| parse_name("tenant", t.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let rollout = cx
        .operator
        .start_canary(&cx.actor, &release.plugin, &version, &tenants)
        .await?;
    out.done(&rollout, || {
        let names: Vec<String> = rollout.canary.iter().map(|c| c.tenant.to_string()).collect();
        format!(
            "canary of {} on {}; promotion allowed from {}\nrecorded; {SYNC_NOTE}",
            target(&rollout),
            list(&names),
            or_dash(rollout.wait_ends())
        )
    });
    Ok(())
}

/// `plugin judge`.
pub(crate) async fn judge(cx: &Context, out: Output, release: &ReleaseArgs) -> Result<(), Failure> {
    let version = parse_version(&release.version)?;
    let before = cx.operator.rollout(&cx.actor, &release.plugin, &version).await?;
    let monitor = OperatorHealthMonitor::new(cx.operator.clone());
    let rollout = {
        let _spinner = progress::spinner(out, format!("judging {}", target(&before)));
        cx.operator.judge_rollout(&release.plugin, &version, &monitor).await?
    };
    let judged = rollout.windows.len().saturating_sub(before.windows.len());
    out.done(&rollout, || {
        let head = if before.state != RolloutState::Canary {
            format!(
                "{} is {}: only a canary is judged",
                target(&rollout),
                state_name(rollout.state)
            )
        } else if judged == 0 {
            format!("{}: no window has ended since the last one", target(&rollout))
        } else {
            format!(
                "{}: judged {judged} window(s), now {}",
                target(&rollout),
                state_name(rollout.state)
            )
        };
        let mut text = head + "\n";
        if judged > 0 {
            text.push_str(&windows_table(&rollout.windows[rollout.windows.len() - judged..]));
        }
        if rollout.state == RolloutState::Canary {
            let next = rollout
                .windows
                .last()
                .map(|w| w.to)
                .or(rollout.canary_started_at)
                .map(|from| from.add_duration(rollout.judge.window));
            // Writing into a String cannot fail.
            let _ = writeln!(text, "next window ends {}", or_dash(next));
        }
        text
    });
    Ok(())
}

/// What a rollout command changes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Move {
    Promote,
    Rollback,
    Pause,
    Resume,
}

/// `plugin promote | rollback | pause | resume`. `resume` runs a rollout interrupted while `Uploaded` or
/// `Verified` on (with the sandbox), and resumes a `Paused` one.
pub(crate) async fn change(
    cx: &Context,
    out: Output,
    release: &ReleaseArgs,
    what: Move,
    reason: Option<&str>,
) -> Result<(), Failure> {
    let version = parse_version(&release.version)?;
    let reason = match reason.map(str::trim) {
        Some("") => return Err(Failure::usage("invalid_reason", "--reason must say why")),
        Some(reason) => reason.to_owned(),
        None => match what {
            Move::Promote => "promoted after the canary wait".to_owned(),
            Move::Pause => "paused by an operator".to_owned(),
            Move::Resume => "resumed by an operator".to_owned(),
            Move::Rollback => return Err(Failure::usage("invalid_reason", "--reason must say why")),
        },
    };
    let (op, actor, plugin) = (&cx.operator, &cx.actor, release.plugin.as_str());
    let rollout = match what {
        Move::Promote => op.promote(actor, plugin, &version, &reason).await?,
        Move::Rollback => op.rollback(actor, plugin, &version, &reason).await?,
        Move::Pause => op.pause(actor, plugin, &version, &reason).await?,
        Move::Resume => {
            let current = op.rollout(actor, plugin, &version).await?;
            if matches!(current.state, RolloutState::Uploaded | RolloutState::Verified) {
                let rollout = {
                    let _spinner = progress::spinner(out, format!("running {} on", target(&current)));
                    op.resume_rollout(actor, plugin, &version).await?
                };
                return outcome(out, rollout, "ran on");
            }
            op.resume(actor, plugin, &version, &reason).await?
        }
    };
    out.done(&rollout, || {
        let text = match what {
            Move::Promote => format!(
                "promoted {}: default-latest for every tenant without a pin; canary pins restored",
                target(&rollout)
            ),
            Move::Rollback => format!(
                "rolled back {}: canary tenants return to their previous version",
                target(&rollout)
            ),
            Move::Pause => format!("paused {}: the judge stops, pins stay", target(&rollout)),
            Move::Resume => format!("resumed {}: {}", target(&rollout), state_name(rollout.state)),
        };
        if matches!(what, Move::Promote | Move::Rollback) {
            format!("{text}\nrecorded; {SYNC_NOTE}")
        } else {
            text
        }
    });
    Ok(())
}

/// `plugin status [<plugin> [<version>]]`.
pub(crate) async fn status(
    cx: &Context,
    out: Output,
    plugin: Option<&str>,
    version: Option<&str>,
) -> Result<(), Failure> {
    if let (Some(plugin), Some(version)) = (plugin, version) {
        let version = parse_version(version)?;
        let rollout = cx.operator.rollout(&cx.actor, plugin, &version).await?;
        out.data(&rollout, || detail(&rollout));
        return Ok(());
    }
    let plugin = plugin.map(|p| parse_name("plugin", p)).transpose()?;
    let mut rollouts = {
        let _spinner = progress::spinner(out, "reading rollouts");
        cx.operator.rollouts(&cx.actor, false).await?
    };
    rollouts.retain(|r| plugin.as_ref().is_none_or(|p| &r.plugin == p));
    rollouts.sort_by(|a, b| (&a.plugin, &a.version).cmp(&(&b.plugin, &b.version)));
    out.data(&rollouts, || {
        if rollouts.is_empty() {
            return match &plugin {
                Some(p) => format!("no rollouts of {p}"),
                None => "no rollouts".to_owned(),
            };
        }
        let mut table = Table::new([
            "PLUGIN",
            "VERSION",
            "STATE",
            "TENANT",
            "KID",
            "CANARY",
            "WAIT ENDS",
            "UPDATED",
        ]);
        for r in &rollouts {
            let canary: Vec<String> = r.canary.iter().map(|c| c.tenant.to_string()).collect();
            table.row([
                r.plugin.to_string(),
                r.version.to_string(),
                state_label(r),
                r.publisher_tenant.to_string(),
                r.kid.clone(),
                list(&canary),
                or_dash(r.wait_ends()),
                r.updated_at.to_string(),
            ]);
        }
        table.render()
    });
    Ok(())
}

fn target(rollout: &Rollout) -> String {
    format!("{}@{}", rollout.plugin, rollout.version)
}

/// A state as the JSON names it.
pub(crate) fn state_name(state: RolloutState) -> &'static str {
    match state {
        RolloutState::Uploaded => "uploaded",
        RolloutState::Verified => "verified",
        RolloutState::SmokeTested => "smoke_tested",
        RolloutState::Canary => "canary",
        RolloutState::Promoted => "promoted",
        RolloutState::RolledBack => "rolled_back",
        RolloutState::Paused => "paused",
        RolloutState::Failed => "failed",
    }
}

fn state_label(rollout: &Rollout) -> String {
    match rollout.paused_from {
        Some(from) if rollout.state == RolloutState::Paused => format!("paused (from {})", state_name(from)),
        _ => state_name(rollout.state).to_owned(),
    }
}

fn smoke_line(smoke: &SmokeReport) -> String {
    format!(
        "{}: {} checks in {} µs, fuel {} (max {} a call), memory peak {} bytes, {} migrations",
        if smoke.passed { "passed" } else { "FAILED" },
        smoke.checks.len(),
        smoke.elapsed_micros,
        smoke.fuel_total,
        smoke.fuel_max,
        smoke.memory_peak_bytes,
        smoke.migrations
    )
}

/// The rollout's headline fields, after `head`.
fn summary(rollout: &Rollout, head: &str) -> String {
    let mut pairs = vec![
        ("state", state_label(rollout)),
        (
            "publisher",
            format!(
                "{} (tenant {}, key {})",
                rollout.publisher, rollout.publisher_tenant, rollout.kid
            ),
        ),
        ("bundle sha256", rollout.bundle_sha256.to_string()),
        ("canary wait", Shown(rollout.wait).to_string()),
    ];
    if let Some(smoke) = &rollout.smoke {
        pairs.push(("smoke test", smoke_line(smoke)));
        pairs.push(("checks", list(&smoke.checks)));
        if !smoke.failures.is_empty() {
            pairs.push(("failures", smoke.failures.join("; ")));
        }
    }
    if rollout.state == RolloutState::Failed
        && let Some(last) = rollout.history.last()
    {
        pairs.push(("reason", last.reason.clone()));
    }
    format!("{head}\n{}", fields(&pairs))
}

/// One rollout in full: its fields, the smoke test, the history and the windows.
fn detail(rollout: &Rollout) -> String {
    let canary: Vec<String> = rollout
        .canary
        .iter()
        .map(|c| {
            format!(
                "{} (was {})",
                c.tenant,
                c.previous_pin
                    .as_ref()
                    .map_or_else(|| "unpinned".to_owned(), Version::to_string)
            )
        })
        .collect();
    let judge = &rollout.judge;
    let mut pairs = vec![
        ("rollout", target(rollout)),
        ("state", state_label(rollout)),
        ("publisher", rollout.publisher.clone()),
        ("publisher tenant", rollout.publisher_tenant.to_string()),
        ("kid", rollout.kid.clone()),
        ("bundle sha256", rollout.bundle_sha256.to_string()),
        ("backport", yes_no(rollout.backport)),
        ("canary", list(&canary)),
        ("canary started", or_dash(rollout.canary_started_at)),
        ("canary wait", Shown(rollout.wait).to_string()),
        ("wait ends", or_dash(rollout.wait_ends())),
        (
            "judge",
            format!(
                "windows of {}, breach above {}x the baseline and {}, at least {} requests, {} breaches roll back",
                Shown(judge.window),
                judge.ratio,
                judge.floor,
                judge.min_requests,
                judge.breaches_to_rollback
            ),
        ),
        ("breaches in a row", rollout.breaches_in_a_row.to_string()),
    ];
    match &rollout.smoke {
        Some(smoke) => {
            pairs.push(("smoke test", smoke_line(smoke)));
            pairs.push(("checks", list(&smoke.checks)));
            if !smoke.failures.is_empty() {
                pairs.push(("failures", smoke.failures.join("; ")));
            }
        }
        None => pairs.push(("smoke test", "-".to_owned())),
    }
    pairs.push(("created", rollout.created_at.to_string()));
    pairs.push(("updated", rollout.updated_at.to_string()));
    let mut text = fields(&pairs);
    text.push_str("\nhistory:\n");
    let mut history = Table::new(["AT", "FROM", "TO", "ACTOR", "REASON"]);
    for t in &rollout.history {
        history.row([
            t.at.to_string(),
            t.from.map_or_else(|| "-".to_owned(), |s| state_name(s).to_owned()),
            state_name(t.to).to_owned(),
            t.actor.clone(),
            t.reason.clone(),
        ]);
    }
    text.push_str(&history.render());
    text.push_str("\nwindows:\n");
    if rollout.windows.is_empty() {
        text.push_str("none judged yet\n");
    } else {
        text.push_str(&windows_table(&rollout.windows));
    }
    text
}

fn windows_table(windows: &[JudgedWindow]) -> String {
    let mut table = Table::new(["FROM", "TO", "CANARY ERRORS", "BASELINE ERRORS", "VERDICT"]);
    for w in windows {
        table.row([
            w.from.to_string(),
            w.to.to_string(),
            format!("{}/{}", w.counts.canary.errors, w.counts.canary.requests),
            format!("{}/{}", w.counts.baseline.errors, w.counts.baseline.requests),
            match w.verdict {
                Verdict::Pass => "pass",
                Verdict::Breach => "breach",
                Verdict::Inconclusive => "inconclusive",
            }
            .to_owned(),
        ]);
    }
    table.render()
}
