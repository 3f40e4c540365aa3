//! [`PluginManifest`]: the serialisable part of a plugin definition (everything but code), and its JSON Schema.

use schemars::JsonSchema;
use semver::Version;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::contract::ContractVersion;
use zelavis_core::menu::Menu;
use zelavis_core::name::Name;
use zelavis_core::page::PageEntry;
use zelavis_core::quote::clip;

use crate::dependency::Dependency;
use crate::error::DefinitionError;
use crate::extension::{Extends, ExtensionPoint};
use crate::permission::Permission;
use crate::settings::SettingField;
use crate::validate::{Draft, compile};

/// Where the committed JSON Schema of `zelavis.plugin.json` lives in the repository.
pub const SCHEMA_PATH: &str = "schema/zelavis.plugin.schema.json";

/// Everything about a plugin except its code: what a `zelavis.plugin.json` holds, what the registry and the
/// Marketplace read without loading the plugin.
///
/// Unknown fields are refused. Page URLs are computed from the plugin name and page id; on input they are
/// optional and, when present, must match.
///
/// ```
/// use zelavis_plugin::manifest::PluginManifest;
///
/// let manifest = PluginManifest::from_json(r#"{
///     "name": "stripe",
///     "version": "1.0.0",
///     "extends": { "plugin": "zelavis-ecommerce", "extension_point": "payments" }
/// }"#)?;
/// assert!(manifest.is_child());
///
/// let err = PluginManifest::from_json(r#"{ "name": "stripe", "version": "1.0.0", "colour": "red" }"#).unwrap_err();
/// assert!(err.to_string().contains("colour"));
/// # Ok::<(), zelavis_plugin::manifest::ManifestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Zelavis plugin manifest",
    description = "zelavis.plugin.json: the serialisable part of a Zelavis plugin definition."
)]
pub struct PluginManifest {
    /// The JSON Schema this document follows (for editors); ignored by Zelavis.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The plugin's name.
    pub name: Name,
    /// The plugin's version.
    pub version: Version,
    /// The plugin contract it was written against (default `1.0.0`, `ZELAVIS_PLUGIN_V1`).
    #[serde(default)]
    pub contract: ContractVersion,
    /// What the plugin does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// For a child plugin: the parent and extension point it extends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<Extends>,
    /// The extension points this plugin offers its children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension_points: Vec<ExtensionPoint>,
    /// The plugin's Workspace menu (top-level plugins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<Menu<PageEntry>>,
    /// Plugins that must activate first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// What the plugin's setup may register.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<Permission>,
    /// The plugin's settings schema: the fields a tenant fills in (validated by the operator layer on save).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<SettingField>,
}

/// Longest JSON path kept in a [`ManifestError::Json`], in bytes (a path can hold an unknown key as written).
pub const MAX_JSON_PATH_LEN: usize = 256;

/// Longest reason kept in a [`ManifestError::Json`], in bytes (serde's reasons can quote a whole value).
pub const MAX_REASON_LEN: usize = 512;

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The JSON is malformed or does not have the manifest's shape. `path` and `reason` are cut to
    /// [`MAX_JSON_PATH_LEN`] and [`MAX_REASON_LEN`] bytes (with `…`), since both can embed outside text.
    #[error("manifest JSON is invalid at {path} (line {line}, column {column}): {reason}")]
    Json {
        /// The JSON path of the offending value, e.g. `extension_points[0].policy`.
        path: String,
        /// What was wrong.
        reason: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The manifest has the right shape but breaks definition rules (all of them are listed).
    #[error(transparent)]
    Definition(#[from] DefinitionError),
}

impl PluginManifest {
    /// Parses a `zelavis.plugin.json` document and applies the same rules as `PluginDef::build`.
    ///
    /// A shape error (malformed JSON, a wrong type, an unknown field, an invalid name) is reported with its
    /// JSON path; when the shape is right, every rule violation is reported, each with its path.
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        let json_error = |path: String, inner: &serde_json::Error| ManifestError::Json {
            path: clip(&path, MAX_JSON_PATH_LEN),
            reason: clip(&strip_position(&inner.to_string()), MAX_REASON_LEN),
            line: inner.line(),
            column: inner.column(),
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let manifest: PluginManifest = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            json_error(
                if path == "." {
                    "$".to_owned()
                } else {
                    format!("$.{path}")
                },
                e.inner(),
            )
        })?;
        deserializer.end().map_err(|e| json_error("$".to_owned(), &e))?;
        let schema = manifest.schema.clone();
        let mut checked = compile(Draft::of_manifest(&manifest))
            .map_err(|problems| DefinitionError::new(manifest.name.as_str(), problems))?;
        checked.schema = schema;
        Ok(checked)
    }

    /// Checks the manifest against the definition rules again (useful after editing one by hand).
    pub fn validate(&self) -> Result<(), DefinitionError> {
        compile(Draft::of_manifest(self))
            .map(drop)
            .map_err(|problems| DefinitionError::new(self.name.as_str(), problems))
    }

    /// Whether this is a child plugin.
    pub fn is_child(&self) -> bool {
        self.extends.is_some()
    }

    /// The JSON Schema of `zelavis.plugin.json`, as committed at [`SCHEMA_PATH`].
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(PluginManifest)
    }
}

/// `serde_json` appends " at line L column C"; the error already carries both as fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
