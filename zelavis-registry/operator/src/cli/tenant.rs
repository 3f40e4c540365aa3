//! `zelavis tenant ...`: tenants and their grants.

use std::path::Path;

use serde_json::Value;
use zelavis_operator::error::{parse_name, parse_version};
use zelavis_operator::license::LicenseSource as _;
use zelavis_operator::operator::GrantChange;
use zelavis_operator::tenant::{Tenant, TenantSpec};

use super::Context;
use super::args::TenantCommand;
use super::exit::Failure;
use super::input::read_input;
use super::output::{Output, Table, fields, list, or_dash, yes_no};
use super::progress;

/// What hosts do with a recorded change.
pub(crate) const SYNC_NOTE: &str = "running hosts apply it at their next sync";

/// Runs a `tenant` command.
#[allow(clippy::too_many_lines, reason = "one arm per command")]
pub(crate) async fn run(cx: &Context, out: Output, command: &TenantCommand) -> Result<(), Failure> {
    let (op, actor) = (&cx.operator, &cx.actor);
    match command {
        TenantCommand::List => {
            let tenants = {
                let _spinner = progress::spinner(out, "reading tenants");
                op.tenants(actor).await?
            };
            let shown: Vec<Value> = tenants.iter().map(public).collect();
            out.data(&shown, || {
                if tenants.is_empty() {
                    return "no tenants".to_owned();
                }
                let mut table = Table::new(["ID", "TIER", "NICHE", "CANARY", "LICENSE", "CREATED"]);
                for t in &tenants {
                    table.row([
                        t.id.to_string(),
                        t.tier.clone(),
                        t.niche.clone(),
                        yes_no(t.canary),
                        if t.license.is_some() { "stored" } else { "-" }.to_owned(),
                        t.created_at.to_string(),
                    ]);
                }
                table.render()
            });
        }
        TenantCommand::Show { id } => {
            let tenant = op.tenant(actor, id).await?;
            out.data(&public(&tenant), || show(&tenant));
        }
        TenantCommand::Create {
            id,
            tier,
            niche,
            canary,
            license_file,
        } => create(cx, out, id, tier, niche, *canary, license_file.as_deref()).await?,
        TenantCommand::Update {
            id,
            tier,
            niche,
            canary,
            license_file,
        } => {
            let change = Update {
                tier: tier.as_deref(),
                niche: niche.as_deref(),
                canary: *canary,
                license_file: license_file.as_deref(),
            };
            update(cx, out, id, &change).await?;
        }
        TenantCommand::Enable { target, version } => {
            let version = version.as_deref().map(parse_version).transpose()?;
            let change = op.enable(actor, &target.tenant, &target.plugin, version).await?;
            grant(out, &change, "enabled", "is already enabled");
        }
        TenantCommand::Disable { target } => {
            let change = op.disable(actor, &target.tenant, &target.plugin).await?;
            grant(out, &change, "disabled", "is not enabled");
        }
        TenantCommand::Pin { target, version } => {
            let version = parse_version(version)?;
            let change = op.pin(actor, &target.tenant, &target.plugin, version).await?;
            grant(out, &change, "pinned", "is already pinned there");
        }
        TenantCommand::Unpin { target } => {
            let change = op.clear_pin(actor, &target.tenant, &target.plugin).await?;
            grant(out, &change, "unpinned", "has no pin");
        }
        TenantCommand::Plugins { tenant } => {
            let plugins = {
                let _spinner = progress::spinner(out, format!("reading the plugins of {tenant}"));
                op.tenant_plugins(actor, tenant).await?
            };
            out.data(&plugins, || {
                if plugins.is_empty() {
                    return "the catalog is empty".to_owned();
                }
                let mut table = Table::new(["PLUGIN", "SOURCE", "ENABLED", "VERSION", "PIN", "STATUS", "TITLE"]);
                for p in &plugins {
                    let status = match (&p.deprecated, p.killed) {
                        (_, true) => "killed".to_owned(),
                        (Some(d), false) => format!("deprecated: {}", d.message),
                        (None, false) => "-".to_owned(),
                    };
                    table.row([
                        p.plugin.to_string(),
                        p.source.badge().to_owned(),
                        yes_no(p.enabled),
                        or_dash(p.version.as_ref()),
                        or_dash(p.pin.as_ref()),
                        status,
                        p.title.clone(),
                    ]);
                }
                table.render()
            });
        }
    }
    Ok(())
}

/// `tenant create`.
async fn create(
    cx: &Context,
    out: Output,
    id: &str,
    tier: &str,
    niche: &str,
    canary: bool,
    license_file: Option<&Path>,
) -> Result<(), Failure> {
    let mut spec = TenantSpec::new(parse_name("tenant", id)?, tier.trim(), niche.trim()).canary(canary);
    if let Some(path) = license_file {
        spec = spec.license(read_token(path)?);
    }
    let verified = verify_license(cx, &spec).await?;
    let tenant = cx.operator.create_tenant(&cx.actor, spec).await?;
    if tenant.license.is_some() && !verified && !out.json() && !out.quiet() {
        Output::error("note: the license token was stored unverified: no --keyring was given");
    }
    out.done(&public(&tenant), || {
        format!(
            "created tenant {} (tier {}, niche {}{}{})",
            tenant.id,
            tenant.tier,
            tenant.niche,
            if tenant.canary { ", canary" } else { "" },
            if tenant.license.is_some() {
                ", license stored"
            } else {
                ""
            }
        )
    });
    Ok(())
}

/// What `tenant update` changes.
struct Update<'a> {
    tier: Option<&'a str>,
    niche: Option<&'a str>,
    canary: Option<bool>,
    license_file: Option<&'a Path>,
}

/// `tenant update`: what is not given stays as it is.
async fn update(cx: &Context, out: Output, id: &str, change: &Update<'_>) -> Result<(), Failure> {
    if change.tier.is_none() && change.niche.is_none() && change.canary.is_none() && change.license_file.is_none() {
        return Err(Failure::usage(
            "nothing_to_change",
            "tenant update needs at least one of --tier, --niche, --canary true|false, --license-file",
        ));
    }
    for (flag, value) in [("--tier", change.tier), ("--niche", change.niche)] {
        if value.is_some_and(|v| v.trim().is_empty()) {
            return Err(Failure::usage("invalid_tenant", format!("{flag} must not be empty")));
        }
    }
    let token = change.license_file.map(read_token).transpose()?;
    let before = cx.operator.tenant(&cx.actor, id).await?;
    let spec = TenantSpec {
        id: before.id.clone(),
        tier: change.tier.map_or_else(|| before.tier.clone(), |t| t.trim().to_owned()),
        niche: change
            .niche
            .map_or_else(|| before.niche.clone(), |n| n.trim().to_owned()),
        canary: change.canary.unwrap_or(before.canary),
        license: token.clone().or_else(|| before.license.clone()),
    };
    if spec.tier == before.tier
        && spec.niche == before.niche
        && spec.canary == before.canary
        && spec.license == before.license
    {
        out.done(&public(&before), || {
            format!("tenant {} unchanged\nnothing changed", before.id)
        });
        return Ok(());
    }
    // Only a new token is verified: the stored one was (or was stored unverified on purpose).
    let verified = if token.is_some() {
        verify_license(cx, &spec).await?
    } else {
        false
    };
    let tenant = cx.operator.update_tenant(&cx.actor, spec).await?;
    if token.is_some() && !verified && !out.json() && !out.quiet() {
        Output::error("note: the license token was stored unverified: no --keyring was given");
    }
    out.done(&public(&tenant), || {
        let mut changed = Vec::new();
        if tenant.tier != before.tier {
            changed.push(format!("tier {} -> {}", before.tier, tenant.tier));
        }
        if tenant.niche != before.niche {
            changed.push(format!("niche {} -> {}", before.niche, tenant.niche));
        }
        if tenant.canary != before.canary {
            changed.push(format!("canary {} -> {}", yes_no(before.canary), yes_no(tenant.canary)));
        }
        if token.is_some() {
            changed.push("license replaced".to_owned());
        }
        format!(
            "updated tenant {}: {}\nrecorded; {SYNC_NOTE}",
            tenant.id,
            list(&changed)
        )
    });
    Ok(())
}

/// A license token file's token (exit 2 when it is empty).
fn read_token(path: &Path) -> Result<String, Failure> {
    let token = read_input(path, "the license file")?.trim().to_owned();
    if token.is_empty() {
        return Err(Failure::usage(
            "invalid_license_file",
            format!("the license file {} is empty", path.display()),
        ));
    }
    Ok(token)
}

/// Verifies the license token of a tenant about to be created or changed, when a keyring was given (a token that would
/// refuse every enable is refused now). Whether it was verified.
async fn verify_license(cx: &Context, spec: &TenantSpec) -> Result<bool, Failure> {
    let (Some(licenses), Some(_)) = (&cx.licenses, &spec.license) else {
        return Ok(false);
    };
    let now = cx.operator.clock().now();
    let tenant = Tenant {
        id: spec.id.clone(),
        tier: spec.tier.clone(),
        niche: spec.niche.clone(),
        canary: spec.canary,
        license: spec.license.clone(),
        created_at: now,
        updated_at: now,
    };
    licenses.license(&tenant).await?;
    Ok(true)
}

/// A tenant as the CLI shows it: the license token itself is never printed, only whether one is stored.
fn public(tenant: &Tenant) -> Value {
    let mut value = serde_json::to_value(tenant).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("license");
        map.insert("licensed".to_owned(), Value::Bool(tenant.license.is_some()));
    }
    value
}

fn show(tenant: &Tenant) -> String {
    fields(&[
        ("id", tenant.id.to_string()),
        ("tier", tenant.tier.clone()),
        ("niche", tenant.niche.clone()),
        ("canary", yes_no(tenant.canary)),
        (
            "license",
            if tenant.license.is_some() { "stored" } else { "none" }.to_owned(),
        ),
        ("created", tenant.created_at.to_string()),
        ("updated", tenant.updated_at.to_string()),
    ])
}

/// Reports a grant change.
fn grant(out: Output, change: &GrantChange, did: &str, unchanged: &str) {
    out.done(change, || {
        let g = &change.enablement;
        let state = format!(
            "{} {} for {}: {}, version {}, pin {}",
            g.plugin,
            if change.changed { did } else { unchanged },
            g.tenant,
            if g.enabled { "enabled" } else { "disabled" },
            or_dash(g.version.as_ref()),
            or_dash(g.pin.as_ref()),
        );
        if change.changed {
            format!("{state}\nrecorded; {SYNC_NOTE}")
        } else {
            format!("{state}\nnothing changed")
        }
    });
}
