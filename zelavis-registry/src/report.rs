//! [`ActivationReport`]: one value that lists every plugin's outcome: activated, failed or skipped, and why.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zelavis_core::bus::BusError;
use zelavis_core::contract::ContractError;
use zelavis_core::name::Name;
use zelavis_plugin::extension::AttachError;
use zelavis_plugin::setup::SetupError;

use crate::hash::{HashMap, HashSet};

/// What happened to one plugin: the final outcome of one activation or one runtime change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    /// Its setup succeeded and its registrations are live.
    Activated,
    /// The change asked for what already was: nothing was set up or torn down.
    Unchanged {
        /// Whether the plugin is active.
        active: bool,
    },
    /// Its setup ran and failed; nothing it registered stayed.
    Failed {
        /// Why.
        reason: FailReason,
    },
    /// It was active and was torn down by this change.
    Deactivated {
        /// Why, when it was not itself disabled or uninstalled: it stays installed and comes back when the
        /// reason clears (e.g. its dependency returns).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<SkipReason>,
    },
    /// It did not run.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

/// Why a plugin's setup failed. Every reason keeps the typed error the rule or the setup produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FailReason {
    /// Setup returned an error (a permission refused, a service refused, a child's API mismatch, or the
    /// plugin's own).
    Setup {
        /// The error.
        error: SetupError,
    },
    /// Setup panicked.
    Panicked {
        /// The panic message.
        message: String,
    },
    /// Setup exceeded the host's timeout.
    TimedOut {
        /// The timeout in milliseconds.
        after_ms: u64,
    },
    /// A migration failed (migrations that ran before it stay applied).
    Migration {
        /// The migration id.
        id: String,
        /// The error the migration (or the ledger) gave.
        message: String,
    },
    /// What setup registered could not be installed: a name or route already taken, a hook type conflict.
    Registration {
        /// What conflicted.
        conflict: RegistrationConflict,
    },
}

/// Why a plugin's registrations could not be installed; nothing of them was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RegistrationConflict {
    /// A service of that name is already registered.
    #[error("service {service:?} is already registered by {}", owner.as_ref().map_or_else(|| "core".to_owned(), |o| format!("plugin {:?}", o.as_str())))]
    ServiceTaken {
        /// The service.
        service: Name,
        /// Who has it (`None`: a core service).
        owner: Option<Name>,
    },
    /// A route with that method and path is already mounted.
    #[error("route {method} {path} is already served by plugin {:?}", owner.as_str())]
    RouteTaken {
        /// The method.
        method: String,
        /// The full path.
        path: String,
        /// The plugin serving it.
        owner: Name,
    },
    /// The bus refused a hook or filter.
    #[error(transparent)]
    Subscription {
        /// The bus's refusal.
        refused: BusError,
    },
}

/// Why a plugin did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SkipReason {
    /// A dependency is not in the registry.
    DependencyMissing {
        /// The dependency.
        dependency: Name,
    },
    /// A dependency is known but not installed.
    DependencyNotInstalled {
        /// The dependency.
        dependency: Name,
    },
    /// A dependency is a child plugin, which never activates on its own.
    DependencyIsChild {
        /// The dependency.
        dependency: Name,
    },
    /// A dependency's version does not meet the requirement.
    DependencyVersion {
        /// The dependency.
        dependency: Name,
        /// The requirement.
        required: String,
        /// The version found.
        found: String,
    },
    /// The plugin is part of a dependency cycle.
    DependencyCycle {
        /// The cycle, first plugin repeated at the end.
        cycle: Vec<Name>,
    },
    /// A dependency did not activate (it failed or was skipped).
    DependencyInactive {
        /// The dependency.
        dependency: Name,
    },
    /// The plugin's contract is not supported by this host.
    ContractUnsupported {
        /// The contract error, naming both versions.
        error: ContractError,
    },
    /// A child plugin that could not attach: its parent is missing, not installed or a child itself, declares
    /// no such point, or the point's policy refuses it.
    ChildRejected {
        /// The refusal, naming child, parent, point and (for a policy) the rule.
        error: AttachError,
    },
    /// A child whose parent did not activate.
    ParentInactive {
        /// The parent.
        parent: Name,
    },
    /// A child whose parent activated without applying the extension point.
    NotApplied {
        /// The parent.
        parent: Name,
        /// The point it did not apply.
        extension_point: Name,
    },
}

/// One plugin's line in the report: outcome and what it registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PluginReport {
    /// The plugin.
    pub name: Name,
    /// For a child plugin: its parent and extension point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<(Name, Name)>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Services it registered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Name>,
    /// Hooks it subscribed to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<String>,
    /// Filters it registered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Routes it registered, as `METHOD /full/path`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    /// Migrations that ran for the first time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<String>,
}

impl PluginReport {
    pub(crate) fn new(name: Name, outcome: Outcome) -> Self {
        Self {
            name,
            parent: None,
            outcome,
            services: Vec::new(),
            hooks: Vec::new(),
            filters: Vec::new(),
            routes: Vec::new(),
            migrations: Vec::new(),
        }
    }

    pub(crate) fn skipped(name: Name, reason: SkipReason) -> Self {
        Self::new(name, Outcome::Skipped { reason })
    }

    /// The line's parent and extension point, for a child plugin.
    #[must_use]
    pub(crate) fn child_of(mut self, parent: Option<(Name, Name)>) -> Self {
        self.parent = parent;
        self
    }
}

/// Every plugin's outcome from one activation (or one runtime change): one final line per plugin the change
/// touched, in the order their outcomes were decided.
///
/// Cloning is O(1): the lines are shared, so a runtime keeps its last report and hands it out without copying
/// the start-up report of thousands of plugins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ReportData", into = "ReportData")]
pub struct ActivationReport {
    plugins: Arc<[PluginReport]>,
}

/// The report as JSON: `{ "plugins": [ ... ] }`.
#[derive(Serialize, Deserialize)]
struct ReportData {
    plugins: Vec<PluginReport>,
}

impl From<ReportData> for ActivationReport {
    fn from(data: ReportData) -> Self {
        Self::new(data.plugins)
    }
}

impl From<ActivationReport> for ReportData {
    fn from(report: ActivationReport) -> Self {
        ReportData {
            plugins: report.plugins.to_vec(),
        }
    }
}

impl FromIterator<PluginReport> for ActivationReport {
    fn from_iter<I: IntoIterator<Item = PluginReport>>(lines: I) -> Self {
        Self::new(lines.into_iter().collect())
    }
}

/// Collects a report's lines while a change runs: a later line of a plugin replaces its earlier one, so the
/// report ends with one final line per plugin, in the order those final lines were decided.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    lines: Vec<PluginReport>,
    /// Where each plugin's line is in `lines`.
    index: HashMap<Name, usize>,
}

impl Lines {
    /// Room for `lines` lines without growing.
    pub(crate) fn with_capacity(lines: usize) -> Self {
        Self {
            lines: Vec::with_capacity(lines),
            index: crate::hash::map_with_capacity(lines),
        }
    }

    /// Records `line` as the plugin's final outcome so far: it goes last, replacing the plugin's earlier line.
    pub(crate) fn push(&mut self, line: PluginReport) {
        let at = self.lines.len();
        match self.index.insert(line.name.clone(), at) {
            None => self.lines.push(line),
            Some(earlier) => {
                // Rare (a plugin reported twice in one change): close the gap, then append.
                self.lines.remove(earlier);
                for position in self.index.values_mut() {
                    if *position > earlier {
                        *position -= 1;
                    }
                }
                if let Some(position) = self.index.get_mut(&line.name) {
                    *position = self.lines.len();
                }
                self.lines.push(line);
            }
        }
    }

    /// Records `line` unless the plugin already has one.
    pub(crate) fn push_if_absent(&mut self, line: PluginReport) {
        if !self.index.contains_key(&line.name) {
            self.push(line);
        }
    }

    /// The report.
    pub(crate) fn into_report(self) -> ActivationReport {
        ActivationReport::new(self.lines)
    }
}

impl Extend<PluginReport> for Lines {
    fn extend<I: IntoIterator<Item = PluginReport>>(&mut self, lines: I) {
        for line in lines {
            self.push(line);
        }
    }
}

impl ActivationReport {
    /// A report of `lines`, in order.
    pub fn new(lines: Vec<PluginReport>) -> Self {
        Self {
            plugins: Arc::from(lines),
        }
    }

    /// One line per plugin, in the order their outcomes were decided.
    pub fn plugins(&self) -> &[PluginReport] {
        &self.plugins
    }

    /// How many plugins the report speaks of.
    pub fn len(&self) -> usize {
        self.plugins.len()
    }

    /// Whether the report speaks of no plugin.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// The line of `name`, if it is in the report.
    pub fn get(&self, name: &str) -> Option<&PluginReport> {
        self.plugins.iter().find(|p| p.name == name)
    }

    /// The outcome of `name`, if it is in the report.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.get(name).map(|p| &p.outcome)
    }

    /// Names of the activated plugins, in activation order.
    pub fn activated(&self) -> Vec<&Name> {
        self.plugins
            .iter()
            .filter(|p| p.outcome == Outcome::Activated)
            .map(|p| &p.name)
            .collect()
    }

    /// Whether the change left `name` active: activated, or unchanged and active.
    pub fn is_live(&self, name: &str) -> bool {
        matches!(
            self.outcome(name),
            Some(Outcome::Activated | Outcome::Unchanged { active: true })
        )
    }

    /// Whether every plugin in the report activated.
    ///
    /// An empty report counts as all activated.
    pub fn all_activated(&self) -> bool {
        self.plugins.iter().all(|p| p.outcome == Outcome::Activated)
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::Setup { error } => write!(f, "setup failed: {error}"),
            FailReason::Panicked { message } => write!(f, "setup panicked: {message}"),
            FailReason::TimedOut { after_ms } => write!(f, "setup timed out after {after_ms} ms"),
            FailReason::Migration { id, message } => write!(f, "migration {id:?} failed: {message}"),
            FailReason::Registration { conflict } => write!(f, "registration failed: {conflict}"),
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::DependencyMissing { dependency } => {
                write!(f, "dependency {dependency:?} is not in the registry")
            }
            SkipReason::DependencyNotInstalled { dependency } => {
                write!(f, "dependency {dependency:?} is not installed")
            }
            SkipReason::DependencyIsChild { dependency } => {
                write!(
                    f,
                    "dependency {dependency:?} is a child plugin and never activates on its own"
                )
            }
            SkipReason::DependencyVersion {
                dependency,
                required,
                found,
            } => {
                write!(
                    f,
                    "dependency {dependency:?} is {found}, which does not meet {required}"
                )
            }
            SkipReason::DependencyCycle { cycle } => {
                let path: Vec<&str> = cycle.iter().map(Name::as_str).collect();
                write!(f, "dependency cycle: {}", path.join(" -> "))
            }
            SkipReason::DependencyInactive { dependency } => write!(f, "dependency {dependency:?} did not activate"),
            SkipReason::ContractUnsupported { error } => write!(f, "{error}"),
            SkipReason::ChildRejected { error } => write!(f, "{error}"),
            SkipReason::ParentInactive { parent } => write!(f, "parent {parent:?} did not activate"),
            SkipReason::NotApplied {
                parent,
                extension_point,
            } => {
                write!(f, "parent {parent:?} did not apply extension point {extension_point:?}")
            }
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Activated => f.write_str("activated"),
            Outcome::Unchanged { active: true } => f.write_str("unchanged: already active"),
            Outcome::Unchanged { active: false } => f.write_str("unchanged: not active"),
            Outcome::Deactivated { reason: None } => f.write_str("deactivated"),
            Outcome::Deactivated { reason: Some(reason) } => write!(f, "deactivated: {reason}"),
            Outcome::Failed { reason } => write!(f, "failed: {reason}"),
            Outcome::Skipped { reason } => write!(f, "skipped: {reason}"),
        }
    }
}

impl fmt::Display for ActivationReport {
    /// A table, one row per plugin, each child right under its parent's row when its parent has one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = |p: &PluginReport| match &p.parent {
            Some(_) => format!("  {}", p.name),
            None => p.name.to_string(),
        };
        let width = self.plugins.iter().map(|p| label(p).len()).max().unwrap_or(6).max(6);
        let tops: HashSet<&Name> = self
            .plugins
            .iter()
            .filter(|p| p.parent.is_none())
            .map(|p| &p.name)
            .collect();
        writeln!(f, "{:<width$}  {:<9}  details", "plugin", "outcome")?;
        for p in self.plugins.iter() {
            match &p.parent {
                Some((parent, _)) if tops.contains(parent) => {}
                Some(_) => row(f, p, &label(p), width)?,
                None => {
                    row(f, p, &label(p), width)?;
                    let children = self
                        .plugins
                        .iter()
                        .filter(|c| c.parent.as_ref().is_some_and(|(of, _)| *of == p.name));
                    for child in children {
                        row(f, child, &label(child), width)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// One row of the report's table.
fn row(f: &mut fmt::Formatter<'_>, p: &PluginReport, label: &str, width: usize) -> fmt::Result {
    let (word, detail) = match &p.outcome {
        Outcome::Activated => ("activated", String::new()),
        Outcome::Unchanged { active: true } => ("unchanged", "already active".to_owned()),
        Outcome::Unchanged { active: false } => ("unchanged", "not active".to_owned()),
        Outcome::Deactivated { reason: None } => ("torn down", String::new()),
        Outcome::Deactivated { reason: Some(reason) } => ("torn down", reason.to_string()),
        Outcome::Failed { reason } => ("failed", reason.to_string()),
        Outcome::Skipped { reason } => ("skipped", reason.to_string()),
    };
    let mut details = vec![];
    if let Some((parent, point)) = &p.parent {
        details.push(format!("child of {parent}.{point}"));
    }
    if !detail.is_empty() {
        details.push(detail);
    }
    let list = |what: &str, items: &[String]| (!items.is_empty()).then(|| format!("{what}: {}", items.join(", ")));
    let services: Vec<String> = p.services.iter().map(ToString::to_string).collect();
    details.extend(list("services", &services));
    details.extend(list("hooks", &p.hooks));
    details.extend(list("filters", &p.filters));
    details.extend(list("routes", &p.routes));
    details.extend(list("migrations", &p.migrations));
    let line = format!("{label:<width$}  {word:<9}  {}", details.join("; "));
    writeln!(f, "{}", line.trim_end())
}
