//! The committed JSON Schema of `zelavis.plugin.json` must match the one generated from `PluginManifest`.

use std::path::PathBuf;

use zelavis_plugin::manifest::{PluginManifest, SCHEMA_PATH};

#[test]
fn committed_schema_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(SCHEMA_PATH);
    let generated = serde_json::to_string_pretty(&PluginManifest::json_schema()).unwrap() + "\n";
    if std::env::var_os("ZELAVIS_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{SCHEMA_PATH} is stale or missing; regenerate it with:\n    ZELAVIS_BLESS=1 cargo test -p zelavis-plugin --test schema\nand commit the result"
    );
}

#[test]
fn the_schema_describes_the_manifest_fields() {
    let schema = serde_json::to_value(PluginManifest::json_schema()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for field in [
        "name",
        "version",
        "contract",
        "extends",
        "extension_points",
        "menu",
        "dependencies",
        "permissions",
    ] {
        assert!(properties.contains_key(field), "schema lacks {field}");
    }
    assert_eq!(schema["additionalProperties"], serde_json::Value::Bool(false));
}
