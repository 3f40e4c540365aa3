//! [`RegistryState`]: the serialisable install state of a registry, one [`StateRecord`] per plugin.
//!
//! A host persists the state (see the stores), applies it to the registry built from its compiled-in plugins
//! with [`PluginRegistry::apply_state`], and writes it back with [`PluginRegistry::serialize_state`]:
//!
//! ```json
//! { "records": [
//!     { "name": "zelavis-ecommerce", "status": "installed", "source": "official", "order": 0 },
//!     { "name": "stripe", "specifier": "zelavis-stripe", "status": "available", "version": "1.2.0" }
//! ] }
//! ```
//!
//! Absent `specifier`, `source`, `order` and `version` are omitted when writing; `order: 0` is a real order and
//! is kept.

use indexmap::IndexMap;
use schemars::JsonSchema;
use semver::Version;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::name::{Name, NameError};

use crate::json;
use crate::registry::{PluginRegistry, RegistryEntry, Status};
use crate::source::Source;

/// The persisted state of one plugin: its status, and the specifier, source, order and pinned version when
/// recorded.
///
/// ```
/// use semver::Version;
/// use zelavis_registry::prelude::*;
///
/// let record = StateRecord::new(Name::parse("stripe")?, Status::Installed)
///     .order(0)
///     .version(Version::new(1, 2, 0));
/// assert_eq!(
///     serde_json::to_string(&record)?,
///     r#"{"name":"stripe","status":"installed","order":0,"version":"1.2.0"}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "RawRecord")]
#[non_exhaustive]
pub struct StateRecord {
    /// The plugin's name (trimmed, then validated, when read).
    pub name: Name,
    /// What a loader resolves to get the plugin, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specifier: Option<String>,
    /// Available or installed.
    pub status: Status,
    /// Where the plugin comes from, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The activation order, if recorded (`0` is an order like any other).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
    /// The pinned version, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
}

impl StateRecord {
    /// A record of `name` with `status` and nothing else.
    pub fn new(name: Name, status: Status) -> Self {
        Self {
            name,
            specifier: None,
            status,
            source: None,
            order: None,
            version: None,
        }
    }

    /// The record of a registry entry.
    pub fn of(entry: &RegistryEntry) -> Self {
        Self {
            name: entry.name().clone(),
            specifier: entry.specifier.clone(),
            status: entry.status,
            source: entry.source,
            order: entry.order,
            version: entry.pin.clone(),
        }
    }

    /// Sets the specifier.
    pub fn specifier(mut self, specifier: impl Into<String>) -> Self {
        self.specifier = Some(specifier.into());
        self
    }

    /// Sets the source.
    pub fn source(mut self, source: Source) -> Self {
        self.source = Some(source);
        self
    }

    /// Sets the activation order.
    pub fn order(mut self, order: u32) -> Self {
        self.order = Some(order);
        self
    }

    /// Sets the pinned version.
    pub fn version(mut self, version: Version) -> Self {
        self.version = Some(version);
        self
    }

    /// Overlays the record onto `entry`: the status always; specifier, source, order and pin when recorded
    /// (an absent value keeps the entry's own).
    fn overlay(&self, entry: &mut RegistryEntry) {
        entry.status = self.status;
        if let Some(specifier) = &self.specifier {
            entry.specifier = Some(specifier.clone());
        }
        if let Some(source) = self.source {
            entry.source = Some(source);
        }
        if let Some(order) = self.order {
            entry.order = Some(order);
        }
        if let Some(version) = &self.version {
            entry.pin = Some(version.clone());
        }
    }
}

/// The install state of a registry: one record per plugin, in registry order when written by
/// [`PluginRegistry::serialize_state`].
///
/// ```
/// use zelavis_registry::prelude::*;
///
/// let state = RegistryState::from_json(r#"{ "records": [
///     { "name": " stripe ", "status": "installed", "order": 0 }
/// ] }"#)?;
/// assert_eq!(state.records[0].name.as_str(), "stripe");
///
/// let err = RegistryState::from_json(r#"{ "records": [{ "name": "a", "status": "on" }] }"#).unwrap_err();
/// assert!(matches!(&err, StateError::Json { path, .. } if path == "$.records[0].status"));
/// # Ok::<(), StateError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Zelavis registry state",
    description = "The install state of a Zelavis registry: one record per plugin."
)]
#[non_exhaustive]
pub struct RegistryState {
    /// The records. When a name appears more than once, the last record wins.
    #[serde(default)]
    pub records: Vec<StateRecord>,
}

/// Why a registry state document was refused; every variant carries the JSON path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StateError {
    /// The JSON is malformed or does not have the state's shape: a wrong type, an unknown field, a status other
    /// than `available` or `installed`, an order that is not a non-negative integer, a bad version.
    #[error("registry state JSON is invalid at {path} (line {line}, column {column}): {reason}")]
    Json {
        /// The JSON path of the offending value, e.g. `$.records[3].status`.
        path: String,
        /// What was wrong.
        reason: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A record's name is empty or only whitespace.
    #[error("registry state is invalid at {path}: plugin name {name:?} is blank")]
    BlankName {
        /// The JSON path of the name, e.g. `$.records[3].name`.
        path: String,
        /// The name as written.
        name: String,
    },
    /// A record's name, once trimmed, breaks the name grammar.
    #[error("registry state is invalid at {path}: {source}")]
    InvalidName {
        /// The JSON path of the name, e.g. `$.records[3].name`.
        path: String,
        /// The name as written.
        name: String,
        /// The broken rule.
        source: NameError,
    },
}

/// A state record as written: the name is trimmed and validated afterwards, so errors can name its path.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StateRecord", description = "The persisted state of one plugin.")]
struct RawRecord {
    /// The plugin's name (surrounding whitespace is trimmed).
    #[schemars(with = "Name")]
    name: String,
    /// What a loader resolves to get the plugin.
    #[serde(default)]
    specifier: Option<String>,
    /// Available or installed.
    status: Status,
    /// Where the plugin comes from.
    #[serde(default)]
    source: Option<Source>,
    /// The activation order: a non-negative integer.
    #[serde(default)]
    order: Option<u32>,
    /// The pinned version.
    #[serde(default)]
    version: Option<Version>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    #[serde(default)]
    records: Vec<RawRecord>,
}

impl RawRecord {
    /// Trims and validates the name; `path` is the JSON path of the name, for errors.
    fn into_record(self, path: impl FnOnce() -> String) -> Result<StateRecord, StateError> {
        let trimmed = self.name.trim();
        if trimmed.is_empty() {
            return Err(StateError::BlankName {
                path: path(),
                name: self.name,
            });
        }
        let name = match Name::parse(trimmed) {
            Ok(name) => name,
            Err(source) => {
                return Err(StateError::InvalidName {
                    path: path(),
                    name: self.name,
                    source,
                });
            }
        };
        Ok(StateRecord {
            name,
            specifier: self.specifier,
            status: self.status,
            source: self.source,
            order: self.order,
            version: self.version,
        })
    }
}

impl TryFrom<RawRecord> for StateRecord {
    type Error = StateError;

    fn try_from(raw: RawRecord) -> Result<Self, Self::Error> {
        raw.into_record(|| "name".to_owned())
    }
}

impl RegistryState {
    /// A state of `records`.
    pub fn new(records: Vec<StateRecord>) -> Self {
        Self { records }
    }

    /// Reads a state document, `{ "records": [ ... ] }`.
    ///
    /// Names are trimmed, then validated (blank and invalid names are errors); statuses must be `available` or
    /// `installed`; orders must be non-negative integers; unknown fields are refused. Every error carries the
    /// JSON path of the offending value, e.g. `$.records[3].status`.
    pub fn from_json(text: &str) -> Result<Self, StateError> {
        let raw: RawState = json::parse(text).map_err(|e| StateError::Json {
            path: e.path,
            reason: e.reason,
            line: e.line,
            column: e.column,
        })?;
        let records = raw
            .records
            .into_iter()
            .enumerate()
            .map(|(i, record)| record.into_record(|| format!("$.records[{i}].name")))
            .collect::<Result<_, _>>()?;
        Ok(Self { records })
    }

    /// The state as a pretty-printed JSON document that [`RegistryState::from_json`] reads back.
    pub fn to_json(&self) -> String {
        json::to_pretty(self)
    }

    /// Replaces every record of `record.name` with `record` (keeping the first one's position), or appends it.
    pub fn upsert(&mut self, record: StateRecord) {
        match self.records.iter().position(|r| r.name == record.name) {
            Some(first) => {
                let name = record.name.clone();
                self.records[first] = record;
                let mut seen = false;
                self.records.retain(|r| {
                    if r.name != name {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                });
            }
            None => self.records.push(record),
        }
    }

    /// Removes every record of `name`; returns whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.records.len();
        self.records.retain(|r| r.name != name);
        self.records.len() != before
    }

    /// The JSON Schema of a state document.
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(RegistryState)
    }

    /// The record that applies to `name`: the last one with that name.
    pub fn get(&self, name: &str) -> Option<&StateRecord> {
        self.records.iter().rev().find(|r| r.name == name)
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// What [`PluginRegistry::apply_state`] produced: the new registry and the names it did not know.
#[derive(Debug, Clone)]
#[must_use = "apply_state returns a new registry; the original is unchanged"]
#[non_exhaustive]
pub struct AppliedState {
    /// The registry with the state applied.
    pub registry: PluginRegistry,
    /// Names of records that match no plugin of the registry, once each, in order of first appearance.
    /// They were ignored (their plugin may have been removed from the host).
    pub unknown: Vec<Name>,
}

impl AppliedState {
    /// The registry with the state applied.
    pub fn into_registry(self) -> PluginRegistry {
        self.registry
    }
}

impl PluginRegistry {
    /// A registry with `state` applied; `self` is unchanged (like [`remove`](Self::remove)).
    ///
    /// For each plugin of the registry that has a record, the record's status replaces the entry's, and its
    /// specifier, source, order and pinned version replace the entry's when recorded (an absent value keeps
    /// the entry's own). When a name has several records, the last one wins, whole. Records of unknown plugins
    /// are ignored and returned in [`AppliedState::unknown`]. Registry order never changes, and an empty state
    /// changes nothing.
    ///
    /// ```
    /// use zelavis_registry::prelude::*;
    ///
    /// let registry = PluginRegistry::new(vec![
    ///     RegistryEntry::available(PluginDef::builder("shop").build()?),
    ///     RegistryEntry::available(PluginDef::builder("blog").build()?),
    /// ])?;
    /// let state = RegistryState::from_json(r#"{ "records": [
    ///     { "name": "blog", "status": "installed", "order": 1 },
    ///     { "name": "gone", "status": "installed" }
    /// ] }"#)?;
    ///
    /// let applied = registry.apply_state(&state);
    /// assert_eq!(applied.unknown, ["gone"]);
    /// let blog = applied.registry.get("blog").unwrap();
    /// assert_eq!((blog.status, blog.order), (Status::Installed, Some(1)));
    /// assert_eq!(applied.registry.serialize_state().records.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_state(&self, state: &RegistryState) -> AppliedState {
        let mut last: IndexMap<&Name, &StateRecord> = IndexMap::with_capacity(state.records.len());
        for record in &state.records {
            last.insert(&record.name, record);
        }
        let mut registry = self.clone();
        let mut unknown = Vec::new();
        for (name, record) in last {
            match registry.entries.get_mut(name.as_str()) {
                Some(entry) => record.overlay(entry),
                None => unknown.push(name.clone()),
            }
        }
        if !unknown.is_empty() {
            tracing::warn!(
                ?unknown,
                "registry state names plugins this registry does not know; ignored"
            );
        }
        tracing::debug!(
            records = state.records.len(),
            unknown = unknown.len(),
            "registry state applied"
        );
        AppliedState { registry, unknown }
    }

    /// The registry's install state: one record per plugin, in registry order, with absent specifier, source,
    /// order and pin omitted.
    pub fn serialize_state(&self) -> RegistryState {
        RegistryState {
            records: self.entries.values().map(StateRecord::of).collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn serde_trims_and_validates_names_too() {
        let record: StateRecord = serde_json::from_str(r#"{"name": " a ", "status": "available"}"#).unwrap();
        assert_eq!(record.name, "a");
        let err = serde_json::from_str::<StateRecord>(r#"{"name": "  ", "status": "available"}"#).unwrap_err();
        assert!(err.to_string().contains("blank"), "{err}");
    }

    #[test]
    fn records_omit_absent_values_and_keep_order_zero() {
        let record = StateRecord::new(Name::parse("a").unwrap(), Status::Available).order(0);
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            serde_json::json!({"name": "a", "status": "available", "order": 0})
        );
    }

    #[test]
    fn get_returns_the_last_record() {
        let a = || Name::parse("a").unwrap();
        let state = RegistryState::new(vec![
            StateRecord::new(a(), Status::Installed),
            StateRecord::new(a(), Status::Available),
        ]);
        assert_eq!(state.get("a").map(|r| r.status), Some(Status::Available));
        assert!(state.get("b").is_none());
    }

    #[test]
    fn schema_requires_name_and_status_and_refuses_unknown_fields() {
        let schema = serde_json::to_value(RegistryState::json_schema()).unwrap();
        let record = &schema["$defs"]["StateRecord"];
        assert_eq!(record["required"], serde_json::json!(["name", "status"]));
        assert_eq!(record["additionalProperties"], serde_json::json!(false));
        assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    }

    proptest! {
        #[test]
        fn from_json_never_panics(text in "\\PC{0,200}") {
            let _ = RegistryState::from_json(&text);
        }

        /// Stores decode with the derived `Deserialize` first and fall back to `from_json` for its error: the two
        /// must accept exactly the same documents, with the same result.
        #[test]
        fn derived_deserialize_agrees_with_from_json(
            name in "[ a-zA-Z0-9@/._-]{0,8}",
            status in prop_oneof![Just("installed"), Just("available"), Just("on")],
            order in prop_oneof![Just("0"), Just("7"), Just("-1"), Just("1.5"), Just("null")],
            extra in prop_oneof![Just(""), Just(r#", "pin": "1.0.0""#), Just(r#", "version": "1.0.0""#)],
            trailing in prop_oneof![Just(""), Just(" "), Just(" x"), Just("}")],
        ) {
            let text = format!(
                r#"{{"records": [{{"name": {}, "status": "{status}", "order": {order}{extra}}}]}}{trailing}"#,
                serde_json::to_string(&name).unwrap(),
            );
            let derived = serde_json::from_str::<RegistryState>(&text).ok();
            prop_assert_eq!(derived, RegistryState::from_json(&text).ok(), "{}", text);
        }

        #[test]
        fn any_name_text_is_either_trimmed_and_valid_or_refused_at_its_path(name in "[ a-zA-Z0-9@/._-]{0,12}") {
            let text = serde_json::json!({"records": [{"name": name, "status": "installed"}]}).to_string();
            match RegistryState::from_json(&text) {
                Ok(state) => prop_assert_eq!(state.records[0].name.as_str(), name.trim()),
                Err(StateError::BlankName { path, .. } | StateError::InvalidName { path, .. }) => {
                    prop_assert_eq!(path, "$.records[0].name");
                }
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
        }
    }
}
