//! Settings a plugin declares: a schema of typed fields whose per-tenant values the operator layer validates on
//! save (every error at once, each with its path), merges with the defaults on read and redacts when a field is
//! a password.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest setting key, in bytes.
pub const MAX_SETTING_KEY_LEN: usize = 64;

/// The type of a setting field, as the settings form shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    /// One line of text.
    String,
    /// A secret: stored, never shown again (redacted on read).
    Password,
    /// A number (JSON number).
    Number,
    /// On or off.
    Boolean,
    /// One of `options`.
    Select,
    /// Several lines of text.
    Textarea,
}

/// One choice of a `select` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingOption {
    /// The stored value.
    pub value: String,
    /// What the form shows.
    pub label: String,
}

/// One field of a plugin's settings schema.
///
/// ```
/// use zelavis_plugin::settings::{SettingField, SettingKind};
///
/// let key = SettingField::new("api_key", "API key", SettingKind::Password).required();
/// assert!(key.check(&serde_json::json!("sk_live_1")).is_ok());
/// assert!(key.check(&serde_json::json!(42)).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingField {
    /// The key values are stored under (`[a-z0-9_]`, starting with a letter).
    pub key: String,
    /// The form's label.
    pub label: String,
    /// The field's type.
    #[serde(rename = "type")]
    pub kind: SettingKind,
    /// A help text under the field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The value used when a tenant has not set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Whether a tenant must set a value (a default satisfies it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The choices of a `select` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SettingOption>,
}

impl SettingField {
    /// A field with no default, not required.
    pub fn new(key: impl Into<String>, label: impl Into<String>, kind: SettingKind) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            kind,
            description: String::new(),
            default: None,
            required: false,
            options: Vec::new(),
        }
    }

    /// Makes the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the default.
    pub fn default_value(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// Sets the help text.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Adds a choice (for `select`).
    pub fn option(mut self, value: impl Into<String>, label: impl Into<String>) -> Self {
        self.options.push(SettingOption {
            value: value.into(),
            label: label.into(),
        });
        self
    }

    /// Whether `value` fits this field; the error says what was expected.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let fits = match self.kind {
            SettingKind::String | SettingKind::Password | SettingKind::Textarea => value.is_string(),
            SettingKind::Number => value.is_number(),
            SettingKind::Boolean => value.is_boolean(),
            SettingKind::Select => {
                return match value.as_str() {
                    Some(text) if self.options.iter().any(|o| o.value == text) => Ok(()),
                    _ => Err(format!(
                        "expected one of {}",
                        self.options
                            .iter()
                            .map(|o| format!("{:?}", o.value))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
            }
        };
        if fits {
            Ok(())
        } else {
            Err(format!("expected {}", kind_noun(self.kind)))
        }
    }

    /// What is wrong with the field's own declaration, if anything.
    pub(crate) fn declaration_problem(&self) -> Option<String> {
        let key_ok = !self.key.is_empty()
            && self.key.len() <= MAX_SETTING_KEY_LEN
            && self.key.as_bytes()[0].is_ascii_lowercase()
            && self
                .key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            return Some(format!(
                "key must be 1 to {MAX_SETTING_KEY_LEN} bytes of a-z, 0-9 and _, starting with a letter"
            ));
        }
        match (self.kind, self.options.is_empty()) {
            (SettingKind::Select, true) => return Some("a select field needs options".to_owned()),
            (kind, false) if kind != SettingKind::Select => {
                return Some("only a select field has options".to_owned());
            }
            _ => {}
        }
        if let Some(default) = &self.default {
            if self.kind == SettingKind::Password {
                return Some("a password field cannot have a default".to_owned());
            }
            if let Err(why) = self.check(default) {
                return Some(format!("default does not fit the field: {why}"));
            }
        }
        None
    }
}

fn kind_noun(kind: SettingKind) -> &'static str {
    match kind {
        SettingKind::String | SettingKind::Password | SettingKind::Textarea => "a string",
        SettingKind::Number => "a number",
        SettingKind::Boolean => "true or false",
        SettingKind::Select => "one of the options",
    }
}

/// One reason a settings document was refused, with the path of the value (`$.api_key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingProblem {
    /// The JSON path.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

/// The redacted form of a password that is set.
pub const REDACTED: &str = "********";

/// Checks `values` against `fields`: unknown keys, values of the wrong type, required fields without a value
/// or default. Every problem is returned, in field order, then unknown keys in key order.
pub fn validate_settings(fields: &[SettingField], values: &Map<String, Value>) -> Vec<SettingProblem> {
    let mut problems = Vec::new();
    for field in fields {
        match values.get(&field.key) {
            Some(Value::Null) | None if field.required && field.default.is_none() => problems.push(SettingProblem {
                path: format!("$.{}", field.key),
                message: "is required".to_owned(),
            }),
            Some(Value::Null) | None => {}
            Some(value) => {
                if let Err(message) = field.check(value) {
                    problems.push(SettingProblem {
                        path: format!("$.{}", field.key),
                        message,
                    });
                }
            }
        }
    }
    let mut unknown: Vec<&String> = values.keys().filter(|k| !fields.iter().any(|f| &f.key == *k)).collect();
    unknown.sort();
    for key in unknown {
        problems.push(SettingProblem {
            path: format!("$.{}", zelavis_core::quote::Quoted::new(key)),
            message: "is not a setting of this plugin".to_owned(),
        });
    }
    problems
}

/// The values a plugin sees: the stored ones, with each field's default where none is stored. With `redact`,
/// password fields that are set read as [`REDACTED`] (what an API returns to a person).
pub fn effective_settings(fields: &[SettingField], values: &Map<String, Value>, redact: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for field in fields {
        let value = match values.get(&field.key) {
            Some(Value::Null) | None => field.default.clone(),
            Some(value) => Some(value.clone()),
        };
        if let Some(value) = value {
            let shown = if redact && field.kind == SettingKind::Password {
                Value::String(REDACTED.to_owned())
            } else {
                value
            };
            out.insert(field.key.clone(), shown);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Vec<SettingField> {
        vec![
            SettingField::new("api_key", "API key", SettingKind::Password).required(),
            SettingField::new("mode", "Mode", SettingKind::Select)
                .option("live", "Live")
                .option("test", "Test")
                .default_value("test"),
            SettingField::new("retries", "Retries", SettingKind::Number).default_value(3),
            SettingField::new("verbose", "Verbose", SettingKind::Boolean),
        ]
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let values = json!({"mode": "staging", "retries": "3", "colour": "red", "verbose": 1});
        let problems = validate_settings(&schema(), values.as_object().unwrap());
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["$.api_key", "$.mode", "$.retries", "$.verbose", "$.\"colour\""]);
        assert!(problems[1].message.contains("\"live\""));
    }

    #[test]
    fn valid_values_pass_and_defaults_merge_and_passwords_redact() {
        let values = json!({"api_key": "sk_1", "verbose": true});
        let values = values.as_object().unwrap();
        assert!(validate_settings(&schema(), values).is_empty());
        let shown = effective_settings(&schema(), values, true);
        assert_eq!(shown["api_key"], json!(REDACTED));
        assert_eq!(shown["mode"], json!("test"));
        assert_eq!(shown["retries"], json!(3));
        assert_eq!(effective_settings(&schema(), values, false)["api_key"], json!("sk_1"));
    }

    #[test]
    fn bad_declarations_are_named() {
        assert!(
            SettingField::new("Bad Key", "x", SettingKind::String)
                .declaration_problem()
                .is_some()
        );
        assert!(
            SettingField::new("pick", "x", SettingKind::Select)
                .declaration_problem()
                .is_some()
        );
        assert!(
            SettingField::new("n", "x", SettingKind::Number)
                .default_value("one")
                .declaration_problem()
                .is_some()
        );
        assert!(
            SettingField::new("p", "x", SettingKind::Password)
                .default_value("x")
                .declaration_problem()
                .is_some()
        );
        assert!(schema().iter().all(|f| f.declaration_problem().is_none()));
    }
}
