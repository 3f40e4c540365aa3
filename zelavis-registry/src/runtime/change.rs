//! One change, start to end: check the request against the live state, write its record edits to the store,
//! take the stored state (another host's changes included), plan what it touches and carry the plan out.

use zelavis_core::name::Name;
use zelavis_core::quote::Quoted;
use zelavis_plugin::PluginDef;

use super::{Live, Runtime, RuntimeError, edits_towards};
use crate::activation::{Activator, ActivePlugin, Offered};
use crate::hash::{HashMap, HashSet, IndexMap};
use crate::plan::{Touched, plan, withheld};
use crate::record::{Edit, InstallRecord};
use crate::registry::{RegistryEntry, RegistryError, Status};
use crate::report::{ActivationReport, Lines, Outcome, PluginReport, SkipReason};
use crate::runtime::Cascade;
use crate::state::RegistryState;
use crate::store::Stored;

/// What a verb asks for.
pub(crate) enum Request {
    Install(Vec<RegistryEntry>),
    Status {
        name: String,
        status: Status,
        cascade: Cascade,
    },
    Uninstall {
        name: String,
        cascade: Cascade,
    },
    Update {
        def: PluginDef,
        /// Where the new definition came from, recorded in the same change (`None`: the record keeps its own).
        specifier: Option<String>,
    },
    Pin {
        name: String,
        pin: Option<semver::Version>,
    },
    Order {
        name: String,
        order: Option<u32>,
    },
    State(RegistryState),
}

/// A request checked against the live state: the record edits to write, the definitions to change, and the
/// plugins it names.
#[derive(Default)]
struct Prepared {
    edits: Vec<Edit>,
    install: Vec<RegistryEntry>,
    update: Option<PluginDef>,
    uninstall: Option<Name>,
    named: Vec<Name>,
}

impl Runtime {
    /// Runs one change: nothing is written or changed when it is refused or the store fails.
    pub(crate) async fn change(&self, request: Request) -> Result<ActivationReport, RuntimeError> {
        let mut live = self.inner.live.lock().await;
        let prepared = prepare(&live, request)?;
        let stored = match (&self.inner.persistence, prepared.edits.is_empty()) {
            (Some(persistence), false) => {
                let edits = &prepared.edits;
                let span = tracing::info_span!("persist", scope = %self.inner.scope, edits = edits.len());
                let apply = |state: &mut RegistryState| {
                    for edit in edits {
                        edit.apply(&mut state.records);
                    }
                };
                let retry = self.retry();
                let update = persistence.store.update(&self.inner.scope, &apply, &retry);
                Some(tracing::Instrument::instrument(update, span).await?)
            }
            _ => None,
        };
        let mut touched: Vec<(Name, Option<PluginDef>)> = prepared.named.iter().map(|n| (n.clone(), None)).collect();
        for entry in prepared.install {
            live.graph.add(&entry.plugin);
            touched.push((entry.name().clone(), None));
            live.foreign.shift_remove(entry.name());
            // Checked in `prepare`: the name is new.
            let _ = live.registry.insert(entry);
        }
        if let Some(def) = prepared.update
            && let Some(mut entry) = live.registry.get(def.name().as_str()).cloned()
        {
            live.graph.remove(&entry.plugin);
            live.graph.add(&def);
            let former = std::mem::replace(&mut entry.plugin, def);
            touched.push((entry.name().clone(), Some(former)));
            live.registry.upsert(entry);
        }
        if let Some(name) = prepared.uninstall
            && let Some(entry) = live.registry.get(name.as_str()).cloned()
        {
            live.graph.remove(&entry.plugin);
            live.registry.entries.shift_remove(name.as_str());
            live.unrecorded.remove(&name);
            touched.push((name, Some(entry.plugin)));
        }
        match stored {
            Some(Stored { state, revision }) if Some(revision) != live.revision.checked_next() => {
                // Someone else wrote in between: take the whole stored state.
                touched.extend(adopt_records(&mut live, &state.records).into_iter().map(|n| (n, None)));
                live.revision = revision;
            }
            stored => {
                for edit in &prepared.edits {
                    apply_locally(&mut live, edit);
                    touched.push((edit.name().clone(), None));
                }
                if let Some(stored) = stored {
                    live.revision = stored.revision;
                }
            }
        }
        let report = self.recompose(&mut live, &Touched::Some(touched)).await;
        live.last_report = report.clone();
        Ok(report)
    }

    /// Takes a stored state newer than the live one, as a follower does: no write.
    pub(crate) async fn adopt(&self, stored: Stored) -> Option<ActivationReport> {
        let mut live = self.inner.live.lock().await;
        if stored.revision <= live.revision {
            return None;
        }
        let changed = adopt_records(&mut live, &stored.state.records);
        live.revision = stored.revision;
        let touched = Touched::Some(changed.into_iter().map(|n| (n, None)).collect());
        let report = self.recompose(&mut live, &touched).await;
        live.last_report = report.clone();
        Some(report)
    }

    /// Plans the change that touched `touched` and carries the plan out: tear down, set up, then take down what
    /// lost a dependency on the way. Publishes the new view.
    pub(crate) async fn recompose(&self, live: &mut Live, touched: &Touched) -> ActivationReport {
        let host = &self.inner.options.host_contract;
        let plan = plan(&live.registry, &live.graph, &live.active, touched, host);
        let activator = Activator {
            bus: &self.inner.bus,
            health: &self.inner.health,
            ledger: self.inner.ledger.as_ref(),
            scope: &self.inner.scope,
            options: &self.inner.options,
            timer: self.inner.timer.as_deref(),
        };
        let mut lines = Lines::with_capacity(plan.lines.len() + plan.stop.len() + plan.start.len() * 2);
        lines.extend(plan.lines);
        live.active.reserve(plan.start.len());
        // Plugins torn down to be set up again, kept until their new setup is known.
        let mut restarting: HashMap<Name, ActivePlugin> = HashMap::default();
        for (name, line) in plan.stop {
            let Some(active) = live.active.remove(&name) else {
                continue;
            };
            activator.deactivate(&mut live.mounted, &active);
            match line {
                Some(line) => lines.push(line),
                None => {
                    restarting.insert(name, active);
                }
            }
        }
        let mut failures = false;
        for start in plan.start {
            let name = start.def.name().clone();
            let former = restarting.remove(&name);
            if let Some(dependency) = start
                .def
                .dependencies()
                .iter()
                .find(|d| !live.active.contains_key(&d.plugin))
            {
                // A dependency set up earlier in this change failed.
                failures = true;
                let reason = SkipReason::DependencyInactive {
                    dependency: dependency.plugin.clone(),
                };
                let outcome = match &former {
                    Some(_) => Outcome::Deactivated { reason: Some(reason) },
                    None => Outcome::Skipped { reason },
                };
                lines.push(PluginReport::new(name.clone(), outcome));
                for child in &start.offered {
                    lines.push(
                        PluginReport::skipped(
                            child.def.name().clone(),
                            SkipReason::ParentInactive { parent: name.clone() },
                        )
                        .child_of(Some((name.clone(), child.point.clone()))),
                    );
                }
                if let Some(former) = &former {
                    self.report_dropped_children(live, &mut lines, former, &start.offered);
                }
                continue;
            }
            let seq = former.as_ref().map_or_else(
                || {
                    live.next_seq += 1;
                    live.next_seq
                },
                |f| f.seq,
            );
            let offered = start.offered.clone();
            let activated = activator.activate(&mut live.mounted, start, seq, &mut lines).await;
            if let Some(former) = &former {
                self.report_dropped_children(live, &mut lines, former, &offered);
            }
            match activated {
                Some(active) => {
                    live.active.insert(name, active);
                }
                None => failures = true,
            }
        }
        if failures {
            take_down_orphans(live, &activator, &plan.kept, &mut lines);
        }
        for line in plan.child_lines {
            lines.push_if_absent(line);
        }
        self.publish(live);
        lines.into_report()
    }

    /// Reports the children a parent set up again no longer has: they were live and are not offered any more.
    fn report_dropped_children(&self, live: &Live, lines: &mut Lines, former: &ActivePlugin, offered: &[Offered]) {
        let parent = former.def.name();
        for child in &former.offered {
            let name = child.def.name();
            if !former.applied.contains(name) || offered.iter().any(|o| o.def.name() == name) {
                continue;
            }
            let reason = live
                .registry
                .get(name.as_str())
                .filter(|e| e.is_installed())
                .and_then(|e| withheld(&live.registry, &e.plugin, &self.inner.options.host_contract).err());
            lines.push(
                PluginReport::new(name.clone(), Outcome::Deactivated { reason })
                    .child_of(Some((parent.clone(), child.point.clone()))),
            );
        }
    }
}

/// Takes down the plugins the plan kept whose dependency did not come back, dependents first.
fn take_down_orphans(live: &mut Live, activator: &Activator<'_>, kept: &[Name], lines: &mut Lines) {
    let mut orphans: Vec<(Name, Name)> = Vec::new();
    let mut gone: HashSet<&Name> = HashSet::default();
    for name in kept {
        let Some(active) = live.active.get(name) else {
            continue;
        };
        let lost = active
            .def
            .dependencies()
            .iter()
            .find(|d| gone.contains(&d.plugin) || !live.active.contains_key(&d.plugin));
        if let Some(lost) = lost {
            orphans.push((name.clone(), lost.plugin.clone()));
            gone.insert(name);
        }
    }
    for (name, dependency) in orphans.into_iter().rev() {
        if let Some(active) = live.active.remove(&name) {
            activator.deactivate(&mut live.mounted, &active);
            lines.push(PluginReport::new(
                name.clone(),
                Outcome::Deactivated {
                    reason: Some(SkipReason::DependencyInactive { dependency }),
                },
            ));
            for child in &active.offered {
                if active.applied.contains(child.def.name()) {
                    lines.push(
                        PluginReport::new(
                            child.def.name().clone(),
                            Outcome::Deactivated {
                                reason: Some(SkipReason::ParentInactive { parent: name.clone() }),
                            },
                        )
                        .child_of(Some((name.clone(), child.point.clone()))),
                    );
                }
            }
        }
    }
}

/// Checks `request` against the live state and turns it into record edits and definition changes.
fn prepare(live: &Live, request: Request) -> Result<Prepared, RuntimeError> {
    let mut prepared = Prepared::default();
    match request {
        Request::Install(entries) => {
            let mut seen: HashMap<&Name, usize> = HashMap::default();
            for (i, entry) in entries.iter().enumerate() {
                let first = live
                    .registry
                    .position(entry.name().as_str())
                    .or_else(|| seen.get(entry.name()).copied());
                if let Some(first) = first {
                    return Err(RegistryError::Duplicate {
                        name: entry.name().clone(),
                        first,
                        second: live.registry.len() + i,
                    }
                    .into());
                }
                seen.insert(entry.name(), live.registry.len() + i);
                prepared.edits.push(Edit::Upsert(entry.record.clone()));
            }
            prepared.install = entries;
        }
        Request::Status { name, status, cascade } => {
            let entry = known(live, &name)?;
            let mut names = vec![entry.name().clone()];
            if status == Status::Available && !entry.plugin.is_child() {
                let dependents = active_dependents(live, entry.name());
                if !dependents.is_empty() && cascade == Cascade::No {
                    return Err(RuntimeError::HasDependents {
                        plugin: entry.name().clone(),
                        dependents,
                    });
                }
                names.extend(dependents);
            }
            for name in &names {
                if let Some(entry) = live.registry.get(name.as_str())
                    && (entry.status() != status || live.unrecorded.contains(name))
                {
                    prepared.edits.push(Edit::Status(entry.record.clone(), status));
                }
            }
            prepared.named = names;
        }
        Request::Uninstall { name, cascade } => {
            let entry = known(live, &name)?;
            let mut names = vec![entry.name().clone()];
            if !entry.plugin.is_child() {
                let dependents = active_dependents(live, entry.name());
                if !dependents.is_empty() && cascade == Cascade::No {
                    return Err(RuntimeError::HasDependents {
                        plugin: entry.name().clone(),
                        dependents,
                    });
                }
                for dependent in &dependents {
                    if let Some(entry) = live.registry.get(dependent.as_str()) {
                        prepared
                            .edits
                            .push(Edit::Status(entry.record.clone(), Status::Available));
                    }
                }
                names.extend(dependents);
            }
            prepared.edits.push(Edit::Remove(entry.name().clone()));
            prepared.uninstall = Some(entry.name().clone());
            prepared.named = names;
        }
        Request::Update { def, specifier } => {
            let entry = known(live, def.name().as_str())?;
            if let Some(specifier) = specifier
                && entry.record.specifier.as_deref() != Some(specifier.as_str())
            {
                prepared
                    .edits
                    .push(Edit::Specifier(entry.record.clone(), Some(specifier)));
            }
            prepared.update = Some(def);
        }
        Request::Pin { name, pin } => {
            let entry = known(live, &name)?;
            if entry.record.pin != pin {
                prepared.edits.push(Edit::Pin(entry.record.clone(), pin));
            }
        }
        Request::Order { name, order } => {
            let entry = known(live, &name)?;
            if entry.record.order != order {
                prepared.edits.push(Edit::Order(entry.record.clone(), order));
            }
        }
        Request::State(state) => {
            prepared.edits = edits_towards(&live.state(), &state.records);
        }
    }
    Ok(prepared)
}

fn known<'l>(live: &'l Live, name: &str) -> Result<&'l RegistryEntry, RuntimeError> {
    live.registry.get(name).ok_or_else(|| RuntimeError::Unknown {
        name: Quoted::new(name),
    })
}

/// Applies one edit already written (or with no store to write to) to the live records.
fn apply_locally(live: &mut Live, edit: &Edit) {
    let name = edit.name();
    if let Some(entry) = live.registry.entries.get_mut(name.as_str()) {
        let current = (!live.unrecorded.contains(name)).then_some(&entry.record);
        if let Some(record) = edit.apply_one(current) {
            entry.record = record;
            live.unrecorded.remove(name);
        } else {
            entry.record = InstallRecord::new(name.clone(), Status::Available);
            live.unrecorded.insert(name.clone());
        }
    } else {
        match edit.apply_one(live.foreign.get(name)) {
            Some(record) => {
                live.foreign.insert(name.clone(), record);
            }
            None => {
                live.foreign.shift_remove(name);
            }
        }
    }
}

/// Makes the live records exactly `records` (the last record of a name wins; a plugin of this host without one
/// counts as available); returns the plugins of this host whose record changed.
pub(crate) fn adopt_records(live: &mut Live, records: &[InstallRecord]) -> Vec<Name> {
    let mut last: IndexMap<&Name, &InstallRecord> = crate::hash::index_map_with_capacity(records.len());
    for record in records {
        last.insert(&record.name, record);
    }
    let mut changed = Vec::new();
    for entry in live.registry.entries.values_mut() {
        let name = entry.plugin.name();
        match last.get(name) {
            Some(record) => {
                if entry.record != **record || live.unrecorded.contains(name) {
                    entry.record = (*record).clone();
                    live.unrecorded.remove(name);
                    changed.push(name.clone());
                }
            }
            None => {
                if live.unrecorded.insert(name.clone()) {
                    entry.record = InstallRecord::new(name.clone(), Status::Available);
                    changed.push(name.clone());
                }
            }
        }
    }
    live.foreign = last
        .into_iter()
        .filter(|(name, _)| !live.registry.contains(name.as_str()))
        .map(|(name, record)| (name.clone(), record.clone()))
        .collect();
    changed
}

/// Active plugins that depend on `name`, directly or transitively, in activation order.
fn active_dependents(live: &Live, name: &Name) -> Vec<Name> {
    let mut seen: HashSet<Name> = HashSet::default();
    let mut stack = vec![name.clone()];
    while let Some(next) = stack.pop() {
        for dependent in live.graph.dependents(&next) {
            if live.active.contains_key(dependent) && seen.insert(dependent.clone()) {
                stack.push(dependent.clone());
            }
        }
    }
    let mut out: Vec<Name> = seen.into_iter().collect();
    out.sort_by_key(|n| live.active.get(n).map_or(u64::MAX, |a| a.seq));
    out
}
