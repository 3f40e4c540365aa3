//! Typed rows over the store's JSON documents: encode a value into a [`Write`], decode a [`Row`] back.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::catalog::{PluginRecord, Release};
use crate::enablement::Enablement;
use crate::health::HealthRecord;
use crate::store::{Expected, Kind, OperatorStoreError, Row, RowRevision, Write};
use crate::tenant::Tenant;

/// A value the operator layer stores as a row of one kind.
pub(crate) trait Stored: Serialize + DeserializeOwned {
    const KIND: Kind;
    fn key(&self) -> String;
    fn tenant(&self) -> Option<String> {
        None
    }
    fn plugin(&self) -> Option<String> {
        None
    }
    fn flag(&self) -> bool {
        false
    }

    /// The write that stores this value, based on `expected`.
    fn write(&self, expected: Expected) -> Write {
        Write {
            kind: Self::KIND,
            key: self.key(),
            tenant: self.tenant(),
            plugin: self.plugin(),
            flag: self.flag(),
            // ok: the stored types are structs of strings, numbers, versions and string-keyed maps, which
            // serde_json always serialises; an empty body could only be read back as a corrupt row.
            body: serde_json::to_string(self).unwrap_or_default(),
            expected,
        }
    }
}

/// Decodes a row (`store` names the store in the error).
pub(crate) fn decode<T: Stored>(store: &str, row: &Row) -> Result<(T, RowRevision), OperatorStoreError> {
    serde_json::from_str(&row.body)
        .map(|v| (v, row.revision))
        .map_err(|e| OperatorStoreError::Corrupt {
            store: store.to_owned(),
            what: format!("{} {:?}", row.kind, row.key),
            reason: e.to_string(),
        })
}

impl Stored for Tenant {
    const KIND: Kind = Kind::Tenant;
    fn key(&self) -> String {
        self.id.to_string()
    }
}

impl Stored for PluginRecord {
    const KIND: Kind = Kind::Plugin;
    fn key(&self) -> String {
        self.id.to_string()
    }
}

impl Stored for Release {
    const KIND: Kind = Kind::Release;
    fn key(&self) -> String {
        format!("{}@{}", self.plugin, self.version)
    }
    fn plugin(&self) -> Option<String> {
        Some(self.plugin.to_string())
    }
}

impl Stored for Enablement {
    const KIND: Kind = Kind::Enablement;
    fn key(&self) -> String {
        Enablement::key(self.tenant.as_str(), self.plugin.as_str())
    }
    fn tenant(&self) -> Option<String> {
        Some(self.tenant.to_string())
    }
    fn plugin(&self) -> Option<String> {
        Some(self.plugin.to_string())
    }
    fn flag(&self) -> bool {
        self.enabled
    }
}

impl Stored for HealthRecord {
    const KIND: Kind = Kind::Health;
    fn key(&self) -> String {
        HealthRecord::key(self.plugin.as_str(), self.tenant.as_str(), &self.host)
    }
    fn tenant(&self) -> Option<String> {
        Some(self.tenant.to_string())
    }
    fn plugin(&self) -> Option<String> {
        Some(self.plugin.to_string())
    }
    fn flag(&self) -> bool {
        self.setup_failures + self.runtime_failures > 0
    }
}

/// A tenant's settings for one plugin.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub(crate) struct SettingsRow {
    pub(crate) tenant: String,
    pub(crate) plugin: String,
    pub(crate) values: serde_json::Map<String, serde_json::Value>,
}

impl Stored for SettingsRow {
    const KIND: Kind = Kind::Settings;
    fn key(&self) -> String {
        Enablement::key(&self.tenant, &self.plugin)
    }
    fn tenant(&self) -> Option<String> {
        Some(self.tenant.clone())
    }
    fn plugin(&self) -> Option<String> {
        Some(self.plugin.clone())
    }
}
