//! The Marketplace catalog: what can be installed, described as data. Catalog entries are never executed.
//!
//! A [`CatalogEntry`] is Marketplace metadata (title, versions, publisher, source, review status, ...); it is
//! separate from a [registry entry](crate::registry::RegistryEntry), which holds a plugin's code and its runtime
//! status. A [`Catalog`] is a set of entries with unique names, built with [`Catalog::new`] or read from JSON
//! with [`Catalog::from_json`].
//!
//! # Defaults, claims and grants
//!
//! An entry's [`review`](CatalogEntry::review) status and [`verified`](CatalogEntry::verified) flag default by
//! its [`Source`]: an `official` (or `built-in`) entry is `official` and verified; a `premium` entry is
//! `reviewed`; a `community` (or `private`) entry is `unreviewed` and not verified. The same defaults apply to
//! [`CatalogEntry::new`] and to JSON fields that are absent.
//!
//! An entry cannot vouch for itself, whatever its source: `verified: true` or review status `official` beyond
//! its source's default is a **claim**, and only the catalog's owner can grant it. The owner is the host code
//! that builds the catalog: it passes [`Grants`] to [`Catalog::with_grants`] or
//! [`Catalog::from_json_with_grants`]. A grant *sets* the flag or status; a claim without a grant is refused
//! ([`CatalogError::UngrantedClaim`]). JSON (from a file, a feed, an upload) can never grant anything, so a
//! `premium` or `private` entry that writes `"verified": true` is refused like a `community` one.
//!
//! ```
//! use zelavis_registry::catalog::{Claim, Grants};
//! use zelavis_registry::prelude::*;
//!
//! let text = r#"{ "entries": [{ "name": "acme-pay", "source": "premium", "verified": true }] }"#;
//! assert!(matches!(Catalog::from_json(text), Err(CatalogError::UngrantedClaim { claim: Claim::Verified, .. })));
//!
//! let grants = Grants::new().verified(Name::parse("acme-pay")?);
//! let catalog = Catalog::from_json_with_grants(text, &grants)?;
//! assert!(catalog.get("acme-pay").is_some_and(|entry| entry.verified));
//! // What a catalog was granted is what it needs to read its own JSON back.
//! assert_eq!(Catalog::from_json_with_grants(&catalog.to_json(), &catalog.grants())?, catalog);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every list is checked for duplicates: entry names, an entry's versions (in linear time, with a hash set)
//! and the keys of its `links` (a JSON object whose repeated key would otherwise silently keep the last).

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use indexmap::IndexMap;
use indexmap::map::Entry;
use schemars::JsonSchema;
use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::contract::ContractVersion;
use zelavis_core::name::Name;
use zelavis_core::quote::{Quoted, clip};

use crate::json;
use crate::source::Source;

/// How far the platform vouches for a catalog entry; written `official`, `reviewed`, `unreviewed` or `blocked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ReviewStatus {
    /// Published by the platform itself.
    Official,
    /// A third-party plugin the platform has reviewed.
    Reviewed,
    /// Not reviewed: shown with a warning.
    Unreviewed,
    /// Refused: listed so that the Marketplace can say why, but never installable.
    Blocked,
}

impl ReviewStatus {
    /// The review status an entry from `source` has unless it says otherwise: `official` for `official` and
    /// `built-in`, `reviewed` for `premium`, `unreviewed` for `community` and `private`.
    ///
    /// ```
    /// use zelavis_registry::prelude::*;
    ///
    /// assert_eq!(ReviewStatus::default_for(Source::Official), ReviewStatus::Official);
    /// assert_eq!(ReviewStatus::default_for(Source::Community), ReviewStatus::Unreviewed);
    /// ```
    pub const fn default_for(source: Source) -> Self {
        match source {
            Source::Official | Source::BuiltIn => ReviewStatus::Official,
            Source::Premium => ReviewStatus::Reviewed,
            Source::Community | Source::Private => ReviewStatus::Unreviewed,
        }
    }

    /// The JSON spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Official => "official",
            ReviewStatus::Reviewed => "reviewed",
            ReviewStatus::Unreviewed => "unreviewed",
            ReviewStatus::Blocked => "blocked",
        }
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a catalog entry is compatible with: the plugin contract and, for a child plugin, its parent's version.
/// An absent requirement accepts every version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Compatibility {
    /// The plugin contract versions the plugin works with, e.g. `^1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub contract: Option<VersionReq>,
    /// For a child plugin: the versions of its parent plugin it works with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub parent: Option<VersionReq>,
}

impl Compatibility {
    /// Whether neither requirement is set.
    pub fn is_empty(&self) -> bool {
        self.contract.is_none() && self.parent.is_none()
    }

    /// Whether the plugin works with plugin contract `contract` (always, without a requirement).
    pub fn accepts_contract(&self, contract: &ContractVersion) -> bool {
        self.contract.as_ref().is_none_or(|req| req.matches(contract.version()))
    }

    /// Whether the (child) plugin works with version `parent` of its parent (always, without a requirement).
    pub fn accepts_parent(&self, parent: &Version) -> bool {
        self.parent.as_ref().is_none_or(|req| req.matches(parent))
    }
}

/// One plugin as the Marketplace shows it: metadata only, never executed.
///
/// Build one with [`CatalogEntry::new`] and the chained setters, or read a whole [`Catalog`] from JSON. Review
/// status and `verified` default by [`Source`] (see the [module docs](self)); the title defaults to the name.
///
/// ```
/// use semver::Version;
/// use zelavis_registry::prelude::*;
///
/// let stripe = CatalogEntry::new(Name::parse("stripe")?, Source::Community)
///     .title("Stripe payments")
///     .version(Version::new(1, 2, 0))
///     .tag("payments");
/// assert_eq!(stripe.review, ReviewStatus::Unreviewed);
/// assert!(!stripe.verified);
/// assert_eq!(stripe.latest(), Some(&Version::new(1, 2, 0)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "RawCatalogEntry")]
#[non_exhaustive]
pub struct CatalogEntry {
    /// The plugin's name (the key of the catalog).
    pub name: Name,
    /// What a loader resolves to get the plugin's code (a crate, a path, a package), if not the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specifier: Option<String>,
    /// Who publishes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// The display title (defaults to the name).
    pub title: String,
    /// A one-line summary.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// The long description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The published versions, as listed. [`latest`](Self::latest) picks the newest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<Version>,
    /// The licence, e.g. an SPDX expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Named links, e.g. `homepage`, `repository`, `docs` → URL, in the order given.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub links: IndexMap<String, String>,
    /// Free-form Marketplace tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Where the plugin comes from.
    pub source: Source,
    /// How far the platform vouches for it.
    pub review: ReviewStatus,
    /// Whether the publisher is verified.
    pub verified: bool,
    /// What it is compatible with.
    #[serde(skip_serializing_if = "Compatibility::is_empty")]
    pub compatibility: Compatibility,
    /// The lowest tier (plan) a tenant needs to enable it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_minimum: Option<String>,
    /// The business niches it is meant for (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub niches: Vec<String>,
    /// If deprecated, the message the Marketplace shows (e.g. what to use instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// The id of the key its bundles are signed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key_id: Option<String>,
}

/// The JSON form of a catalog entry: review status, `verified` and title may be absent and default.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "CatalogEntry",
    description = "One plugin as the Marketplace shows it: metadata only."
)]
struct RawCatalogEntry {
    /// The plugin's name.
    name: Name,
    /// What a loader resolves to get the plugin's code, if not the name.
    #[serde(default)]
    specifier: Option<String>,
    /// Who publishes it.
    #[serde(default)]
    publisher: Option<String>,
    /// The display title (defaults to the name).
    #[serde(default)]
    title: Option<String>,
    /// A one-line summary.
    #[serde(default)]
    summary: String,
    /// The long description.
    #[serde(default)]
    description: String,
    /// The published versions.
    #[serde(default)]
    versions: Vec<Version>,
    /// The licence, e.g. an SPDX expression.
    #[serde(default)]
    license: Option<String>,
    /// Named links → URL; a name given twice is refused.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    links: Links,
    /// Marketplace tags.
    #[serde(default)]
    tags: Vec<String>,
    /// Where the plugin comes from.
    source: Source,
    /// How far the platform vouches for it (default by source; only the catalog's owner grants `official`).
    #[serde(default)]
    review: Option<ReviewStatus>,
    /// Whether the publisher is verified (default by source; only the catalog's owner grants more).
    #[serde(default)]
    verified: Option<bool>,
    /// What it is compatible with.
    #[serde(default)]
    compatibility: Compatibility,
    /// The lowest tier a tenant needs.
    #[serde(default)]
    tier_minimum: Option<String>,
    /// The niches it is meant for.
    #[serde(default)]
    niches: Vec<String>,
    /// The deprecation message, if deprecated.
    #[serde(default)]
    deprecated: Option<String>,
    /// The id of the key its bundles are signed with.
    #[serde(default)]
    signing_key_id: Option<String>,
}

/// The `links` object as written, every key kept in order, so a repeated key can be refused rather than
/// silently replaced by the last.
#[derive(Default)]
struct Links(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Links {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Links;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of link names to URLs")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Links, A::Error> {
                let mut links = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry::<String, String>()? {
                    links.push(pair);
                }
                Ok(Links(links))
            }
        }

        deserializer.deserialize_map(Visitor)
    }
}

/// A link name given twice in one entry's `links` (the entry's position is not known yet).
#[derive(Debug)]
struct DuplicateLinkName(Quoted);

impl fmt::Display for DuplicateLinkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "links name {} twice", self.0)
    }
}

impl TryFrom<RawCatalogEntry> for CatalogEntry {
    type Error = DuplicateLinkName;

    fn try_from(raw: RawCatalogEntry) -> Result<Self, Self::Error> {
        let mut links = IndexMap::with_capacity(raw.links.0.len());
        for (name, url) in raw.links.0 {
            match links.entry(name) {
                Entry::Occupied(taken) => return Err(DuplicateLinkName(Quoted::new(taken.key()))),
                Entry::Vacant(slot) => {
                    slot.insert(url);
                }
            }
        }
        let mut entry = CatalogEntry::new(raw.name, raw.source);
        if let Some(title) = raw.title {
            entry.title = title;
        }
        if let Some(review) = raw.review {
            entry.review = review;
        }
        if let Some(verified) = raw.verified {
            entry.verified = verified;
        }
        Ok(CatalogEntry {
            specifier: raw.specifier,
            publisher: raw.publisher,
            summary: raw.summary,
            description: raw.description,
            versions: raw.versions,
            license: raw.license,
            links,
            tags: raw.tags,
            compatibility: raw.compatibility,
            tier_minimum: raw.tier_minimum,
            niches: raw.niches,
            deprecated: raw.deprecated,
            signing_key_id: raw.signing_key_id,
            ..entry
        })
    }
}

impl CatalogEntry {
    /// An entry for `name` from `source`, with the source's default review status and `verified` flag, the
    /// name as title, and everything else empty.
    pub fn new(name: Name, source: Source) -> Self {
        Self {
            title: name.to_string(),
            name,
            specifier: None,
            publisher: None,
            summary: String::new(),
            description: String::new(),
            versions: Vec::new(),
            license: None,
            links: IndexMap::new(),
            tags: Vec::new(),
            source,
            review: ReviewStatus::default_for(source),
            verified: Self::default_verified(source),
            compatibility: Compatibility::default(),
            tier_minimum: None,
            niches: Vec::new(),
            deprecated: None,
            signing_key_id: None,
        }
    }

    /// Whether an entry from `source` is verified unless it says otherwise: only `official` and `built-in` are.
    pub const fn default_verified(source: Source) -> bool {
        matches!(source, Source::Official | Source::BuiltIn)
    }

    /// Sets the specifier a loader resolves.
    pub fn specifier(mut self, specifier: impl Into<String>) -> Self {
        self.specifier = Some(specifier.into());
        self
    }

    /// Sets the publisher.
    pub fn publisher(mut self, publisher: impl Into<String>) -> Self {
        self.publisher = Some(publisher.into());
        self
    }

    /// Sets the display title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the one-line summary.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    /// Sets the long description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds a published version.
    pub fn version(mut self, version: Version) -> Self {
        self.versions.push(version);
        self
    }

    /// Adds published versions.
    pub fn versions(mut self, versions: impl IntoIterator<Item = Version>) -> Self {
        self.versions.extend(versions);
        self
    }

    /// Sets the licence.
    pub fn license(mut self, license: impl Into<String>) -> Self {
        self.license = Some(license.into());
        self
    }

    /// Adds (or replaces) the link named `name`.
    pub fn link(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.links.insert(name.into(), url.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the review status. Status `official` beyond the source's default is a claim: building the catalog
    /// refuses it unless the owner [grants](Grants::official) it.
    pub fn review(mut self, review: ReviewStatus) -> Self {
        self.review = review;
        self
    }

    /// Sets the `verified` flag. `true` beyond the source's default is a claim: building the catalog refuses it
    /// unless the owner [grants](Grants::verified) it.
    pub fn verified(mut self, verified: bool) -> Self {
        self.verified = verified;
        self
    }

    /// Sets the plugin contract requirement.
    pub fn contract(mut self, requirement: VersionReq) -> Self {
        self.compatibility.contract = Some(requirement);
        self
    }

    /// Sets the parent version requirement (child plugins).
    pub fn parent(mut self, requirement: VersionReq) -> Self {
        self.compatibility.parent = Some(requirement);
        self
    }

    /// Sets the lowest tier a tenant needs.
    pub fn tier_minimum(mut self, tier: impl Into<String>) -> Self {
        self.tier_minimum = Some(tier.into());
        self
    }

    /// Adds a niche.
    pub fn niche(mut self, niche: impl Into<String>) -> Self {
        self.niches.push(niche.into());
        self
    }

    /// Marks the entry deprecated, with the message the Marketplace shows.
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecated = Some(message.into());
        self
    }

    /// Sets the id of the signing key.
    pub fn signing_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.signing_key_id = Some(key_id.into());
        self
    }

    /// The newest published version: the highest release, or the highest pre-release when there is no release.
    pub fn latest(&self) -> Option<&Version> {
        self.versions
            .iter()
            .filter(|v| v.pre.is_empty())
            .max()
            .or_else(|| self.versions.iter().max())
    }

    /// Whether `version` is published.
    pub fn has_version(&self, version: &Version) -> bool {
        self.versions.contains(version)
    }

    /// Whether the entry is deprecated.
    pub fn is_deprecated(&self) -> bool {
        self.deprecated.is_some()
    }

    /// Whether the entry is blocked (and so cannot be installed).
    pub fn is_blocked(&self) -> bool {
        self.review == ReviewStatus::Blocked
    }

    /// Applies the owner's `grants`, then checks the entry's own rules; `position` is only used to name it in
    /// errors.
    fn grant_and_check(&mut self, position: usize, grants: &Grants) -> Result<(), CatalogError> {
        if grants.verified.contains(&self.name) {
            self.verified = true;
        }
        if grants.official.contains(&self.name) {
            self.review = ReviewStatus::Official;
        }
        let ungranted = |claim| CatalogError::UngrantedClaim {
            name: self.name.clone(),
            position,
            entry_source: self.source,
            claim,
        };
        if self.verified && !Self::default_verified(self.source) && !grants.verified.contains(&self.name) {
            return Err(ungranted(Claim::Verified));
        }
        if self.review == ReviewStatus::Official
            && ReviewStatus::default_for(self.source) != ReviewStatus::Official
            && !grants.official.contains(&self.name)
        {
            return Err(ungranted(Claim::Official));
        }
        // Linear: one hash set, not a scan of the versions before each one.
        let mut seen = HashSet::with_capacity(self.versions.len());
        if let Some(version) = self.versions.iter().find(|version| !seen.insert(*version)) {
            return Err(CatalogError::DuplicateVersion {
                name: self.name.clone(),
                position,
                version: version.clone(),
            });
        }
        Ok(())
    }
}

/// A claim only the catalog's owner can grant (see [defaults, claims and grants](self#defaults-claims-and-grants)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Claim {
    /// `verified: true`.
    Verified,
    /// Review status `official`.
    Official,
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Claim::Verified => "\"verified\"",
            Claim::Official => "review status \"official\"",
        })
    }
}

/// What the catalog's owner vouches for beyond each entry's source: the entries it makes verified and the
/// entries it makes `official`. Built in host code, never read from JSON.
///
/// ```
/// use zelavis_registry::catalog::Grants;
/// use zelavis_registry::prelude::*;
///
/// let grants = Grants::new()
///     .verified(Name::parse("acme-pay")?)
///     .official(Name::parse("acme-pay")?);
/// let entry = CatalogEntry::new(Name::parse("acme-pay")?, Source::Premium);
/// let catalog = Catalog::with_grants([entry], &grants)?;
/// let granted = catalog.get("acme-pay").unwrap();
/// assert!(granted.verified && granted.review == ReviewStatus::Official);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    verified: BTreeSet<Name>,
    official: BTreeSet<Name>,
}

impl Grants {
    /// No grants: every entry has what its source gives it, no more.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes entry `name` verified.
    #[must_use]
    pub fn verified(mut self, name: Name) -> Self {
        self.verified.insert(name);
        self
    }

    /// Gives entry `name` the review status `official`.
    #[must_use]
    pub fn official(mut self, name: Name) -> Self {
        self.official.insert(name);
        self
    }

    /// Whether entry `name` is granted `claim`.
    pub fn grants(&self, name: &str, claim: Claim) -> bool {
        match claim {
            Claim::Verified => self.verified.contains(name),
            Claim::Official => self.official.contains(name),
        }
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.verified.is_empty() && self.official.is_empty()
    }
}

/// Why a catalog was refused, or why an entry cannot be installed. Positions are 0-based indices in the list
/// of entries (`entries[i]` in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The JSON is malformed or does not have the catalog's shape. `path` and `reason` are cut to
    /// [`MAX_JSON_PATH_LEN`] and [`MAX_REASON_LEN`] bytes (with `…`), since both can embed outside text.
    #[error("catalog JSON is invalid at {path} (line {line}, column {column}): {reason}")]
    Json {
        /// The JSON path of the offending value, e.g. `$.entries[2].source`.
        path: String,
        /// What was wrong.
        reason: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Two entries share a name.
    #[error("catalog entries {first} and {second} are both named {name:?}; names must be unique")]
    Duplicate {
        /// The shared name.
        name: Name,
        /// The position of the first entry.
        first: usize,
        /// The position of the second entry.
        second: usize,
    },
    /// An entry claims `verified` or review status `official` beyond its source's default, and the catalog's
    /// owner did not grant it.
    #[error(
        "catalog entry {name:?} (entry {position}) from source \"{entry_source}\" claims {claim}, which only the catalog's owner can grant"
    )]
    UngrantedClaim {
        /// The entry.
        name: Name,
        /// Its position.
        position: usize,
        /// Its source (whose defaults it exceeds).
        entry_source: Source,
        /// What it claims.
        claim: Claim,
    },
    /// An entry's `links` object names a link twice.
    #[error("catalog entry {name:?} (entry {position}) names link {link} twice")]
    DuplicateLink {
        /// The entry.
        name: Name,
        /// Its position.
        position: usize,
        /// A bounded copy of the repeated link name.
        link: Quoted,
    },
    /// An entry lists a version twice.
    #[error("catalog entry {name:?} (entry {position}) lists version \"{version}\" twice")]
    DuplicateVersion {
        /// The entry.
        name: Name,
        /// Its position.
        position: usize,
        /// The repeated version.
        version: Version,
    },
    /// No entry has this name.
    #[error("plugin {name} is not in the catalog")]
    NotFound {
        /// A bounded copy of the name asked for, as given.
        name: Quoted,
    },
    /// The entry is blocked.
    #[error("plugin {name:?} is blocked in the catalog and cannot be installed")]
    Blocked {
        /// The entry.
        name: Name,
    },
}

/// The Marketplace catalog: entries with unique names, in the order given.
///
/// ```
/// use zelavis_registry::prelude::*;
///
/// let catalog = Catalog::from_json(r#"{ "entries": [
///     { "name": "zelavis-ecommerce", "source": "official", "versions": ["1.0.0", "1.1.0"] },
///     { "name": "cheap-coupons", "source": "community", "review": "blocked" }
/// ] }"#)?;
///
/// let shop = catalog.check_installable("zelavis-ecommerce")?;
/// assert!(shop.verified);
/// assert!(matches!(catalog.check_installable("cheap-coupons"), Err(CatalogError::Blocked { .. })));
/// assert!(matches!(catalog.check_installable("nope"), Err(CatalogError::NotFound { .. })));
/// # Ok::<(), CatalogError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    entries: IndexMap<Name, CatalogEntry>,
}

/// Longest JSON path kept in a [`CatalogError::Json`], in bytes (a path can hold an unknown key as written).
pub const MAX_JSON_PATH_LEN: usize = 256;

/// Longest reason kept in a [`CatalogError::Json`], in bytes (serde's reasons can quote a whole value).
pub const MAX_REASON_LEN: usize = 512;

/// The JSON document of a catalog, as written and described by the schema.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "Catalog",
    title = "Zelavis catalog",
    description = "The Marketplace catalog: plugin metadata, never executed."
)]
struct CatalogDocument {
    /// The JSON Schema this document follows (for editors); ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    /// The entries; names must be unique.
    #[serde(default)]
    entries: Vec<CatalogEntry>,
}

/// The JSON document as read: entries stay raw until their position is known, so a duplicate link is
/// reported with it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    #[serde(rename = "$schema", default)]
    _schema: Option<String>,
    #[serde(default)]
    entries: Vec<RawCatalogEntry>,
}

impl Catalog {
    /// A catalog of `entries`, in order, without [grants](Grants). Refuses two entries with the same name
    /// (naming both positions), an entry that claims `verified` or review status `official` beyond its
    /// source's default, and a version listed twice.
    pub fn new(entries: impl IntoIterator<Item = CatalogEntry>) -> Result<Self, CatalogError> {
        Self::with_grants(entries, &Grants::default())
    }

    /// A catalog of `entries` with the owner's `grants` applied (see
    /// [defaults, claims and grants](self#defaults-claims-and-grants)); otherwise as [`Catalog::new`]. A grant
    /// naming no entry has no effect.
    pub fn with_grants(entries: impl IntoIterator<Item = CatalogEntry>, grants: &Grants) -> Result<Self, CatalogError> {
        let mut map: IndexMap<Name, CatalogEntry> = IndexMap::new();
        for (position, mut entry) in entries.into_iter().enumerate() {
            entry.grant_and_check(position, grants)?;
            match map.entry(entry.name.clone()) {
                Entry::Occupied(first) => {
                    return Err(CatalogError::Duplicate {
                        name: entry.name,
                        first: first.index(),
                        second: position,
                    });
                }
                Entry::Vacant(slot) => {
                    slot.insert(entry);
                }
            }
        }
        Ok(Self { entries: map })
    }

    /// Reads a catalog document, `{ "entries": [ ... ] }`, without grants, and applies the rules of
    /// [`Catalog::new`]; a link named twice in one entry is refused too ([`CatalogError::DuplicateLink`]).
    ///
    /// Shape errors (malformed JSON, wrong types, unknown fields, invalid names or versions) carry the JSON
    /// path of the offending value. Absent `review`, `verified` and `title` default by source. The text may
    /// come from anywhere: nothing in it can grant a claim.
    pub fn from_json(text: &str) -> Result<Self, CatalogError> {
        Self::from_json_with_grants(text, &Grants::default())
    }

    /// [`Catalog::from_json`] with the owner's `grants` applied, as in [`Catalog::with_grants`].
    pub fn from_json_with_grants(text: &str, grants: &Grants) -> Result<Self, CatalogError> {
        let document: RawDocument = json::parse(text).map_err(|e| CatalogError::Json {
            path: clip(&e.path, MAX_JSON_PATH_LEN),
            reason: clip(&e.reason, MAX_REASON_LEN),
            line: e.line,
            column: e.column,
        })?;
        let mut entries = Vec::with_capacity(document.entries.len());
        for (position, raw) in document.entries.into_iter().enumerate() {
            let name = raw.name.clone();
            let entry = CatalogEntry::try_from(raw).map_err(|DuplicateLinkName(link)| CatalogError::DuplicateLink {
                name,
                position,
                link,
            })?;
            entries.push(entry);
        }
        Self::with_grants(entries, grants)
    }

    /// The grants this catalog holds: every entry that is verified, or `official`, beyond its source's
    /// default. With them, [`Catalog::from_json_with_grants`] reads [`Catalog::to_json`] back.
    pub fn grants(&self) -> Grants {
        let mut grants = Grants::default();
        for entry in self.entries.values() {
            if entry.verified && !CatalogEntry::default_verified(entry.source) {
                grants.verified.insert(entry.name.clone());
            }
            if entry.review == ReviewStatus::Official
                && ReviewStatus::default_for(entry.source) != ReviewStatus::Official
            {
                grants.official.insert(entry.name.clone());
            }
        }
        grants
    }

    /// The catalog as a pretty-printed JSON document that [`Catalog::from_json`] reads back.
    pub fn to_json(&self) -> String {
        json::to_pretty(&CatalogDocument {
            schema: None,
            entries: self.entries.values().cloned().collect(),
        })
    }

    /// The JSON Schema of a catalog document.
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(CatalogDocument)
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.get(name)
    }

    /// Whether an entry is named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &CatalogEntry> + DoubleEndedIterator {
        self.entries.values()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry named `name` if it may be installed: an unknown name and a `blocked` entry are errors.
    /// Deprecated entries may still be installed (the Marketplace shows their message).
    pub fn check_installable(&self, name: &str) -> Result<&CatalogEntry, CatalogError> {
        let entry = self.get(name).ok_or_else(|| CatalogError::NotFound {
            name: Quoted::new(name),
        })?;
        if entry.is_blocked() {
            return Err(CatalogError::Blocked {
                name: entry.name.clone(),
            });
        }
        Ok(entry)
    }
}

impl<'a> IntoIterator for &'a Catalog {
    type Item = &'a CatalogEntry;
    type IntoIter = indexmap::map::Values<'a, Name, CatalogEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.values()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    #[test]
    fn defaults_follow_the_source() {
        let cases = [
            (Source::Official, ReviewStatus::Official, true),
            (Source::BuiltIn, ReviewStatus::Official, true),
            (Source::Premium, ReviewStatus::Reviewed, false),
            (Source::Community, ReviewStatus::Unreviewed, false),
            (Source::Private, ReviewStatus::Unreviewed, false),
        ];
        for (source, review, verified) in cases {
            let entry = CatalogEntry::new(name("x"), source);
            assert_eq!((entry.review, entry.verified), (review, verified), "{source}");
            assert_eq!(entry.title, "x");
        }
    }

    #[test]
    fn json_defaults_match_the_constructor() {
        for source in Source::ALL {
            let text = format!(r#"{{"name": "x", "source": "{source}"}}"#);
            let parsed: CatalogEntry = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, CatalogEntry::new(name("x"), source), "{source}");
        }
    }

    #[test]
    fn latest_prefers_releases() {
        let v = |s: &str| Version::parse(s).unwrap();
        let entry = CatalogEntry::new(name("x"), Source::Official).versions([v("1.0.0"), v("2.0.0-rc.1"), v("1.5.0")]);
        assert_eq!(entry.latest(), Some(&v("1.5.0")));
        let pre = CatalogEntry::new(name("x"), Source::Official).versions([v("0.1.0-alpha"), v("0.1.0-beta")]);
        assert_eq!(pre.latest(), Some(&v("0.1.0-beta")));
        assert_eq!(CatalogEntry::new(name("x"), Source::Official).latest(), None);
    }

    #[test]
    fn compatibility_without_requirements_accepts_everything() {
        let any = Compatibility::default();
        assert!(any.accepts_contract(&ContractVersion::new(9, 0, 0)));
        assert!(any.accepts_parent(&Version::new(0, 0, 1)));
        let strict = Compatibility {
            contract: Some(VersionReq::parse("^1.0").unwrap()),
            parent: Some(VersionReq::parse(">=2, <3").unwrap()),
        };
        assert!(strict.accepts_contract(&ContractVersion::new(1, 4, 0)));
        assert!(!strict.accepts_contract(&ContractVersion::new(2, 0, 0)));
        assert!(strict.accepts_parent(&Version::new(2, 9, 9)));
        assert!(!strict.accepts_parent(&Version::new(3, 0, 0)));
    }

    #[test]
    fn serialisation_writes_review_and_verified_and_skips_empties() {
        let entry = CatalogEntry::new(name("x"), Source::Community);
        let value = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "name": "x", "title": "x", "source": "community", "review": "unreviewed", "verified": false
            })
        );
    }

    #[test]
    fn version_listed_twice_is_refused() {
        let entry = CatalogEntry::new(name("x"), Source::Official)
            .version(Version::new(1, 0, 0))
            .version(Version::new(1, 0, 0));
        assert!(matches!(
            Catalog::new([entry]),
            Err(CatalogError::DuplicateVersion { position: 0, .. })
        ));
    }

    #[test]
    fn schema_describes_the_input_form() {
        let schema = serde_json::to_value(Catalog::json_schema()).unwrap();
        let entry = &schema["$defs"]["CatalogEntry"];
        let required: Vec<&str> = entry["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(required, ["name", "source"]);
        assert_eq!(entry["additionalProperties"], serde_json::json!(false));
    }
}
