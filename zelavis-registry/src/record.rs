//! [`InstallRecord`]: what a host records about one installed or known plugin — status, specifier, source,
//! activation order and pin. One type for the three places that speak of it: a
//! [`RegistryEntry`](crate::registry::RegistryEntry) carries one, a
//! [`RegistryState`](crate::state::RegistryState) is a list of them, and
//! [`load_registry`](crate::loader::load_registry) loads from them.

use schemars::JsonSchema;
use semver::Version;
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;
use zelavis_core::quote::Quoted;

use crate::registry::Status;
use crate::source::Source;
use crate::state::StateError;

/// The install state of one plugin: its status, and the specifier, source, order and pin when recorded.
///
/// Absent values are omitted when written, and an absent value means *none*: applying a record replaces all of
/// an entry's recorded values, so a pin cleared on one host is cleared on every host that applies the record.
///
/// ```
/// use semver::Version;
/// use zelavis_registry::prelude::*;
///
/// let record = InstallRecord::new(Name::parse("stripe")?, Status::Installed)
///     .order(0)
///     .pin(Version::new(1, 2, 0));
/// assert_eq!(
///     serde_json::to_string(&record)?,
///     r#"{"name":"stripe","status":"installed","order":0,"pin":"1.2.0"}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "RawRecord")]
#[schemars(with = "RawRecord")]
#[non_exhaustive]
pub struct InstallRecord {
    /// The plugin's name.
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
    pub pin: Option<Version>,
}

impl InstallRecord {
    /// A record of `name` with `status` and nothing else.
    pub fn new(name: Name, status: Status) -> Self {
        Self {
            name,
            specifier: None,
            status,
            source: None,
            order: None,
            pin: None,
        }
    }

    /// Sets the specifier.
    #[must_use]
    pub fn specifier(mut self, specifier: impl Into<String>) -> Self {
        self.specifier = Some(specifier.into());
        self
    }

    /// Sets the status.
    #[must_use]
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Sets the source.
    #[must_use]
    pub fn source(mut self, source: Source) -> Self {
        self.source = Some(source);
        self
    }

    /// Sets the activation order.
    #[must_use]
    pub fn order(mut self, order: u32) -> Self {
        self.order = Some(order);
        self
    }

    /// Pins a version.
    #[must_use]
    pub fn pin(mut self, version: Version) -> Self {
        self.pin = Some(version);
        self
    }

    /// What a loader resolves: the recorded specifier, else the plugin's name.
    pub fn specifier_or_name(&self) -> &str {
        self.specifier.as_deref().unwrap_or(self.name.as_str())
    }

    /// Whether the plugin is installed.
    pub fn is_installed(&self) -> bool {
        self.status == Status::Installed
    }
}

/// One change to a record, as the runtime writes it to a store: field by field, so that two hosts changing
/// different fields or different plugins at once both keep their change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Adds the record, or replaces the record of the same name whole.
    Upsert(InstallRecord),
    /// Removes every record of the name.
    Remove(Name),
    /// Sets the status, creating the record from `base` when the state has none.
    Status(InstallRecord, Status),
    /// Sets or clears the pin, likewise.
    Pin(InstallRecord, Option<Version>),
    /// Sets or clears the order, likewise.
    Order(InstallRecord, Option<u32>),
    /// Sets or clears the specifier, likewise.
    Specifier(InstallRecord, Option<String>),
}

impl Edit {
    /// The plugin the edit is about.
    pub(crate) fn name(&self) -> &Name {
        match self {
            Edit::Upsert(record)
            | Edit::Status(record, _)
            | Edit::Pin(record, _)
            | Edit::Order(record, _)
            | Edit::Specifier(record, _) => &record.name,
            Edit::Remove(name) => name,
        }
    }

    /// What the record of the edited name becomes, given what it is (`None`: removed).
    pub(crate) fn apply_one(&self, current: Option<&InstallRecord>) -> Option<InstallRecord> {
        let field = |base: &InstallRecord, set: &dyn Fn(&mut InstallRecord)| {
            let mut record = current.unwrap_or(base).clone();
            set(&mut record);
            Some(record)
        };
        match self {
            Edit::Upsert(record) => Some(record.clone()),
            Edit::Remove(_) => None,
            Edit::Status(base, status) => field(base, &|r| r.status = *status),
            Edit::Pin(base, pin) => field(base, &|r| r.pin.clone_from(pin)),
            Edit::Order(base, order) => field(base, &|r| r.order = *order),
            Edit::Specifier(base, specifier) => field(base, &|r| r.specifier.clone_from(specifier)),
        }
    }

    /// Applies the edit to `records`, where the record of a name is the last one with that name: the edited
    /// name is left with one record (or none), in the place of its last one.
    pub(crate) fn apply(&self, records: &mut Vec<InstallRecord>) {
        let name = self.name();
        let position = records.iter().rposition(|r| r.name == *name);
        let next = self.apply_one(position.map(|i| &records[i]));
        match (position, next) {
            (Some(i), Some(record)) => {
                records[i] = record;
                let mut index = 0;
                records.retain(|r| {
                    let keep = r.name != *name || index == i;
                    index += 1;
                    keep
                });
            }
            (None, Some(record)) => records.push(record),
            (_, None) => records.retain(|r| r.name != *name),
        }
    }
}

/// A record as written: the name is validated afterwards, so errors can name its path.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "InstallRecord", description = "The install state of one plugin.")]
pub(crate) struct RawRecord {
    /// The plugin's name.
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
    /// The pinned version (written `version` by format 1 documents before the field was renamed).
    #[serde(default, alias = "version")]
    pin: Option<Version>,
}

impl RawRecord {
    /// Validates the name as written (surrounding whitespace is refused, never trimmed); `path` is the JSON path
    /// of the name, for errors.
    pub(crate) fn into_record(self, path: impl FnOnce() -> String) -> Result<InstallRecord, StateError> {
        if self.name.trim().is_empty() {
            return Err(StateError::BlankName {
                path: path(),
                name: Quoted::new(&self.name),
            });
        }
        let name = match Name::parse(&self.name) {
            Ok(name) => name,
            Err(source) => {
                return Err(StateError::InvalidName {
                    path: path(),
                    name: Quoted::new(&self.name),
                    source,
                });
            }
        };
        Ok(InstallRecord {
            name,
            specifier: self.specifier,
            status: self.status,
            source: self.source,
            order: self.order,
            pin: self.pin,
        })
    }
}

impl TryFrom<RawRecord> for InstallRecord {
    type Error = StateError;

    fn try_from(raw: RawRecord) -> Result<Self, Self::Error> {
        raw.into_record(|| "name".to_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    #[test]
    fn serde_validates_names_and_never_trims() {
        let record: InstallRecord = serde_json::from_str(r#"{"name": "a", "status": "available"}"#).unwrap();
        assert_eq!(record.name, "a");
        for bad in [" a ", "\u{a0}stripe", "a\u{2028}"] {
            let text = serde_json::json!({"name": bad, "status": "available"}).to_string();
            assert!(
                serde_json::from_str::<InstallRecord>(&text).is_err(),
                "{bad:?} accepted"
            );
        }
        let err = serde_json::from_str::<InstallRecord>(r#"{"name": "  ", "status": "available"}"#).unwrap_err();
        assert!(err.to_string().contains("blank"), "{err}");
    }

    #[test]
    fn records_omit_absent_values_keep_order_zero_and_read_the_old_pin_spelling() {
        let record = InstallRecord::new(n("a"), Status::Available).order(0);
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            serde_json::json!({"name": "a", "status": "available", "order": 0})
        );
        let old: InstallRecord =
            serde_json::from_str(r#"{"name": "a", "status": "installed", "version": "1.2.0"}"#).unwrap();
        assert_eq!(old.pin, Some(Version::new(1, 2, 0)));
    }

    #[test]
    fn field_edits_keep_the_other_fields_and_create_missing_records_from_their_base() {
        let base = InstallRecord::new(n("a"), Status::Available).order(3);
        let mut records = vec![InstallRecord::new(n("a"), Status::Available).pin(Version::new(1, 0, 0))];
        Edit::Status(base.clone(), Status::Installed).apply(&mut records);
        assert_eq!(
            records,
            [InstallRecord::new(n("a"), Status::Installed).pin(Version::new(1, 0, 0))]
        );
        Edit::Pin(base.clone(), None).apply(&mut records);
        assert_eq!(records, [InstallRecord::new(n("a"), Status::Installed)]);
        Edit::Remove(n("a")).apply(&mut records);
        assert!(records.is_empty());
        Edit::Order(base, Some(1)).apply(&mut records);
        assert_eq!(records, [InstallRecord::new(n("a"), Status::Available).order(1)]);
    }

    fn arb_record() -> impl Strategy<Value = InstallRecord> {
        (0..4_u8, any::<bool>(), proptest::option::of(0..3_u32)).prop_map(|(name, installed, order)| {
            let status = if installed {
                Status::Installed
            } else {
                Status::Available
            };
            let mut record = InstallRecord::new(n(&format!("p{name}")), status);
            record.order = order;
            record
        })
    }

    fn arb_edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            arb_record().prop_map(Edit::Upsert),
            (0..4_u8).prop_map(|i| Edit::Remove(n(&format!("p{i}")))),
            (arb_record(), any::<bool>())
                .prop_map(|(r, on)| Edit::Status(r, if on { Status::Installed } else { Status::Available })),
            (arb_record(), proptest::option::of(0..3_u32)).prop_map(|(r, o)| Edit::Order(r, o)),
            (arb_record(), proptest::option::of("wasm:[a-c]{1,3}")).prop_map(|(r, s)| Edit::Specifier(r, s)),
        ]
    }

    proptest! {
        /// After any edit, a name has at most one record, and the edited name's record (if any) is what the edit
        /// says; records of other names are untouched.
        #[test]
        fn an_edit_touches_only_its_name_and_leaves_one_record(
            start in proptest::collection::vec(arb_record(), 0..6),
            edit in arb_edit(),
        ) {
            let mut records = start.clone();
            edit.apply(&mut records);
            let others = |rs: &[InstallRecord]| -> Vec<InstallRecord> {
                rs.iter().filter(|r| r.name != *edit.name()).cloned().collect()
            };
            prop_assert_eq!(others(&records), others(&start));
            let mine: Vec<&InstallRecord> = records.iter().filter(|r| r.name == *edit.name()).collect();
            prop_assert!(mine.len() <= 1, "{:?}", mine);
            match &edit {
                Edit::Remove(_) => prop_assert!(mine.is_empty()),
                Edit::Upsert(record) => prop_assert_eq!(mine, vec![record]),
                Edit::Status(_, status) => prop_assert_eq!(mine.last().map(|r| r.status), Some(*status)),
                Edit::Order(_, order) => prop_assert_eq!(mine.last().map(|r| r.order), Some(*order)),
                Edit::Pin(_, pin) => prop_assert_eq!(mine.last().map(|r| r.pin.clone()), Some(pin.clone())),
                Edit::Specifier(_, specifier) => {
                    prop_assert_eq!(mine.last().map(|r| r.specifier.clone()), Some(specifier.clone()));
                }
            }
        }
    }
}
