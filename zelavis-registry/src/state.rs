//! [`RegistryState`]: the serialisable install state of a registry, one [`InstallRecord`] per plugin.
//!
//! A host persists the state (see the stores), applies it to the registry built from its compiled-in plugins
//! with [`PluginRegistry::apply_state`], and writes it back with [`PluginRegistry::serialize_state`]. A
//! [`Runtime`](crate::runtime::Runtime) given a store does all three itself.
//!
//! ```json
//! { "records": [
//!     { "name": "zelavis-ecommerce", "status": "installed", "source": "official", "order": 0 },
//!     { "name": "stripe", "specifier": "zelavis-stripe", "status": "available", "pin": "1.2.0" }
//! ] }
//! ```
//!
//! Absent `specifier`, `source`, `order` and `pin` are omitted when writing and mean *none* when read;
//! `order: 0` is a real order and is kept.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::name::{Name, NameError};
use zelavis_core::quote::Quoted;

use crate::hash::IndexMap;
use crate::json;
use crate::record::{InstallRecord, RawRecord};
use crate::registry::PluginRegistry;

/// The install state of a registry: one record per plugin, in registry order when written by
/// [`PluginRegistry::serialize_state`].
///
/// ```
/// use zelavis_registry::prelude::*;
///
/// let state = RegistryState::from_json(r#"{ "records": [
///     { "name": "stripe", "status": "installed", "order": 0 }
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
    pub records: Vec<InstallRecord>,
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
    #[error("registry state is invalid at {path}: plugin name {name} is blank")]
    BlankName {
        /// The JSON path of the name, e.g. `$.records[3].name`.
        path: String,
        /// The name as written (a bounded copy).
        name: Quoted,
    },
    /// A record's name breaks the name grammar (surrounding whitespace included: names are never trimmed).
    #[error("registry state is invalid at {path}: {source}")]
    InvalidName {
        /// The JSON path of the name, e.g. `$.records[3].name`.
        path: String,
        /// The name as written (a bounded copy).
        name: Quoted,
        /// The broken rule.
        source: NameError,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    #[serde(default)]
    records: Vec<RawRecord>,
}

impl RegistryState {
    /// A state of `records`.
    pub fn new(records: Vec<InstallRecord>) -> Self {
        Self { records }
    }

    /// Reads a state document, `{ "records": [ ... ] }`.
    ///
    /// Names are validated as written (blank names, invalid names and surrounding whitespace are errors); statuses must be `available` or
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

    /// Replaces every record of `record.name` with `record`, or appends it.
    pub fn upsert(&mut self, record: InstallRecord) {
        crate::record::Edit::Upsert(record).apply(&mut self.records);
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
    pub fn get(&self, name: &str) -> Option<&InstallRecord> {
        self.records.iter().rev().find(|r| r.name == name)
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// What [`PluginRegistry::apply_state`] produced: the new registry, and the names on either side without a
/// counterpart.
#[derive(Debug, Clone)]
#[must_use = "apply_state returns a new registry; the original is unchanged"]
#[non_exhaustive]
pub struct AppliedState {
    /// The registry with the state applied.
    pub registry: PluginRegistry,
    /// Names of records that match no plugin of the registry, once each, in order of first appearance.
    /// They were ignored (their plugin may have been removed from the host).
    pub unknown: Vec<Name>,
    /// Plugins of the registry that have no record in the state, in registry order. They kept their entry's
    /// values.
    pub missing: Vec<Name>,
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
    /// Each plugin of the registry that has a record takes that record whole: status, specifier, source, order
    /// and pin, an absent value clearing the entry's. When a name has several records, the last one wins.
    /// Records of unknown plugins are ignored and returned in [`AppliedState::unknown`]; plugins without a
    /// record keep their values and are listed in [`AppliedState::missing`]. Registry order never changes.
    ///
    /// ```
    /// use zelavis_registry::prelude::*;
    ///
    /// let registry = PluginRegistry::new(vec![
    ///     RegistryEntry::available(PluginDef::builder("shop").build()?).order(4),
    ///     RegistryEntry::available(PluginDef::builder("blog").build()?).order(7),
    /// ])?;
    /// let state = RegistryState::from_json(r#"{ "records": [
    ///     { "name": "blog", "status": "installed" },
    ///     { "name": "gone", "status": "installed" }
    /// ] }"#)?;
    ///
    /// let applied = registry.apply_state(&state);
    /// assert_eq!(applied.unknown, ["gone"]);
    /// assert_eq!(applied.missing, ["shop"]);
    /// let blog = applied.registry.get("blog").unwrap();
    /// assert_eq!((blog.status(), blog.record().order), (Status::Installed, None), "absent order cleared");
    /// assert_eq!(applied.registry.get("shop").unwrap().record().order, Some(4), "no record: kept");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_state(&self, state: &RegistryState) -> AppliedState {
        let mut registry = self.clone();
        let (unknown, missing) = registry.apply_records(&state.records);
        AppliedState {
            registry,
            unknown,
            missing,
        }
    }

    /// Applies `records` in place (see [`apply_state`](Self::apply_state)); returns the unknown and the missing
    /// names.
    pub(crate) fn apply_records(&mut self, records: &[InstallRecord]) -> (Vec<Name>, Vec<Name>) {
        let mut last: IndexMap<&Name, &InstallRecord> = crate::hash::index_map_with_capacity(records.len());
        for record in records {
            last.insert(&record.name, record);
        }
        let mut unknown = Vec::new();
        for (name, record) in &last {
            match self.entries.get_mut(name.as_str()) {
                Some(entry) => entry.record.clone_from(record),
                None => unknown.push((*name).clone()),
            }
        }
        let missing: Vec<Name> = self
            .entries
            .keys()
            .filter(|name| !last.contains_key(name))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            tracing::warn!(
                ?unknown,
                "registry state names plugins this registry does not know; ignored"
            );
        }
        tracing::debug!(
            records = records.len(),
            unknown = unknown.len(),
            missing = missing.len(),
            "registry state applied"
        );
        (unknown, missing)
    }

    /// The registry's install state: one record per plugin, in registry order, with absent specifier, source,
    /// order and pin omitted.
    pub fn serialize_state(&self) -> RegistryState {
        RegistryState {
            records: self.entries.values().map(|e| e.record.clone()).collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::registry::Status;
    use proptest::prelude::*;

    #[test]
    fn get_returns_the_last_record() {
        let a = || Name::parse("a").unwrap();
        let state = RegistryState::new(vec![
            InstallRecord::new(a(), Status::Installed),
            InstallRecord::new(a(), Status::Available),
        ]);
        assert_eq!(state.get("a").map(|r| r.status), Some(Status::Available));
        assert!(state.get("b").is_none());
    }

    #[test]
    fn schema_requires_name_and_status_and_refuses_unknown_fields() {
        let schema = serde_json::to_value(RegistryState::json_schema()).unwrap();
        let record = &schema["$defs"]["InstallRecord"];
        assert_eq!(record["required"], serde_json::json!(["name", "status"]));
        assert_eq!(record["additionalProperties"], serde_json::json!(false));
        assert_eq!(schema["additionalProperties"], serde_json::json!(false));
        assert!(record["properties"]["pin"].is_object(), "{record}");
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
            extra in prop_oneof![Just(""), Just(r#", "pin": "1.0.0""#), Just(r#", "version": "1.0.0""#), Just(r#", "pinned": "1""#)],
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
        fn any_name_text_is_either_valid_as_written_or_refused_at_its_path(name in "[ \u{a0}a-zA-Z0-9@/._-]{0,12}") {
            let text = serde_json::json!({"records": [{"name": name, "status": "installed"}]}).to_string();
            match RegistryState::from_json(&text) {
                Ok(state) => prop_assert_eq!(state.records[0].name.as_str(), name.as_str()),
                Err(StateError::BlankName { path, .. } | StateError::InvalidName { path, .. }) => {
                    prop_assert_eq!(path, "$.records[0].name");
                }
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
        }
    }
}
