//! `zelavis settings ...`: a tenant's settings for a plugin.
//!
//! `set key=value ...` reads the current settings (defaults filled in, passwords redacted — a redacted
//! password sent back keeps the stored one), changes the keys given and saves the whole document; `--file`
//! saves the file's object as the whole document. The operator validates every value against the plugin's
//! schema and refuses all problems at once (exit 1, `invalid_settings`).

use std::path::Path;

use serde_json::{Map, Number, Value};
use zelavis_operator::catalog::default_latest;
use zelavis_plugin::settings::{SettingField, SettingKind};

use super::Context;
use super::args::SettingsCommand;
use super::exit::Failure;
use super::input::read_input;
use super::output::{Output, Table, json_cell};

/// Runs a `settings` command.
pub(crate) async fn run(cx: &Context, out: Output, command: &SettingsCommand) -> Result<(), Failure> {
    let (op, actor) = (&cx.operator, &cx.actor);
    match command {
        SettingsCommand::Get { target } => {
            let values = op.settings(actor, &target.tenant, &target.plugin).await?;
            out.data(&values, || table(&values));
        }
        SettingsCommand::Set {
            target,
            values,
            unset,
            file,
        } => {
            let document = if let Some(path) = file {
                read_document(path)?
            } else {
                let mut document = op.settings(actor, &target.tenant, &target.plugin).await?;
                let schema = schema(cx, &target.tenant, &target.plugin).await?;
                for assignment in values {
                    let (key, value) = assignment.split_once('=').ok_or_else(|| {
                        Failure::usage("invalid_assignment", format!("{assignment:?} is not KEY=VALUE"))
                    })?;
                    let key = key.trim();
                    if key.is_empty() {
                        return Err(Failure::usage(
                            "invalid_assignment",
                            format!("{assignment:?} has no key"),
                        ));
                    }
                    let field = schema.iter().find(|f| f.key == key);
                    document.insert(key.to_owned(), typed(field, value));
                }
                for key in unset {
                    document.remove(key.trim());
                }
                document
            };
            let saved = op.set_settings(actor, &target.tenant, &target.plugin, document).await?;
            out.done(&saved, || {
                format!(
                    "saved the settings of {} for {}\n{}",
                    target.plugin,
                    target.tenant,
                    table(&saved)
                )
            });
        }
    }
    Ok(())
}

/// The settings fields of the release the tenant runs (or would run), as the operator validates them.
async fn schema(cx: &Context, tenant: &str, plugin: &str) -> Result<Vec<SettingField>, Failure> {
    let plugins = cx.operator.tenant_plugins(&cx.actor, tenant).await?;
    let version = plugins.into_iter().find(|p| p.plugin == plugin).and_then(|p| p.version);
    let releases = cx.operator.releases(plugin).await?;
    let release = version
        .and_then(|v| releases.iter().find(|r| r.version == v))
        .or_else(|| default_latest(&releases))
        .or_else(|| releases.iter().rev().find(|r| r.is_available()));
    Ok(release.map(|r| r.manifest.settings.clone()).unwrap_or_default())
}

/// A command-line value typed by its field: a number or boolean field reads a number or `true`/`false`; any
/// other text (or a value that does not parse) stays a string, for the operator's validation to judge.
fn typed(field: Option<&SettingField>, text: &str) -> Value {
    let parsed = match field.map(|f| f.kind) {
        Some(SettingKind::Number) => serde_json::from_str::<Number>(text.trim()).ok().map(Value::Number),
        Some(SettingKind::Boolean) => match text.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

fn read_document(path: &Path) -> Result<Map<String, Value>, Failure> {
    let text = read_input(path, "the settings file")?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(document)) => Ok(document),
        Ok(_) => Err(Failure::usage(
            "invalid_settings_file",
            format!("the settings file {} does not hold a JSON object", path.display()),
        )),
        Err(e) => Err(Failure::usage(
            "invalid_settings_file",
            format!("the settings file {} is not JSON: {e}", path.display()),
        )),
    }
}

fn table(values: &Map<String, Value>) -> String {
    if values.is_empty() {
        return "no settings".to_owned();
    }
    let mut table = Table::new(["KEY", "VALUE"]);
    for (key, value) in values {
        table.row([key.clone(), json_cell(value)]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_by_their_field() {
        let number = SettingField::new("limit", "Limit", SettingKind::Number);
        let flag = SettingField::new("live", "Live", SettingKind::Boolean);
        let text = SettingField::new("note", "Note", SettingKind::String);
        assert_eq!(typed(Some(&number), "12.5"), serde_json::json!(12.5));
        assert_eq!(typed(Some(&number), "lots"), serde_json::json!("lots"));
        assert_eq!(typed(Some(&flag), "true"), serde_json::json!(true));
        assert_eq!(typed(Some(&text), "42"), serde_json::json!("42"));
        assert_eq!(typed(None, "42"), serde_json::json!("42"));
    }
}
