//! Planning: from the registry, the live set and a change, which plugins come up, which go down, which are set
//! up again, in which order — for start-up and for every incremental change alike.
//!
//! A change *touches* some plugins (the ones it named, or whose record or definition it changed). Planning looks
//! at the *region* they concern — each touched top-level plugin, the parent of each touched child, and every
//! plugin that depends on those, transitively — and nothing else, so a change costs what it concerns, not the
//! size of the registry. Start-up is the change that touches everything.
//!
//! The rules, each written once:
//!
//! - **order**: top-level plugins run in explicit `order` (missing order last; ties keep registry order), except
//!   that a plugin's dependencies always run before it ([`order`](order::order), in `order.rs`);
//! - **dependencies**: a plugin runs only when its contract is supported and each dependency is in the
//!   registry, installed, top-level, of an accepted version ([`static_check`], in `rules.rs`) and active
//!   ([`plan`]);
//! - **children**: an installed child is withheld from its parent when its contract is unsupported or the
//!   parent's extension point does not admit it ([`withheld`]); the others are offered to the parent, in
//!   registry order ([`offer`]).
//!
//! A plugin that is active and stays wanted with the same definition and the same offered children is left
//! alone: enabling what is already active changes nothing.

mod order;
mod rules;

use std::cmp::Reverse;

use zelavis_core::contract::ContractVersion;
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;

pub(crate) use rules::{offer, static_check, withheld};

use crate::activation::{ActivePlugin, Offered};
use crate::graph::Graph;
use crate::hash::{HashMap, HashSet};
use crate::registry::{PluginRegistry, RegistryEntry, Status};
use crate::report::{Outcome, PluginReport, SkipReason};
use order::{Candidate, order};

/// What a change touched.
#[derive(Debug, Clone)]
pub(crate) enum Touched {
    /// Everything: start-up, or a full re-plan.
    All,
    /// These plugins, each with its definition from before the change when that one was replaced or removed.
    Some(Vec<(Name, Option<PluginDef>)>),
}

impl Touched {
    fn contains(&self, set: &HashSet<Name>, name: &Name) -> bool {
        match self {
            Touched::All => true,
            Touched::Some(_) => set.contains(name),
        }
    }
}

/// A set of registry positions: dense for a change that touches everything (no hashing per plugin), sparse
/// otherwise (costs what the change touches).
enum Marks {
    Dense(Vec<bool>),
    Sparse(HashSet<usize>),
}

impl Marks {
    fn new(touched: &Touched, len: usize) -> Self {
        match touched {
            Touched::All => Marks::Dense(vec![false; len]),
            Touched::Some(_) => Marks::Sparse(HashSet::default()),
        }
    }

    fn insert(&mut self, position: usize) {
        match self {
            Marks::Dense(marks) => {
                if let Some(mark) = marks.get_mut(position) {
                    *mark = true;
                }
            }
            Marks::Sparse(marks) => {
                marks.insert(position);
            }
        }
    }

    fn contains(&self, position: usize) -> bool {
        match self {
            Marks::Dense(marks) => marks.get(position).copied().unwrap_or(false),
            Marks::Sparse(marks) => marks.contains(&position),
        }
    }
}

/// A member of a change's region: a top-level plugin's name, and its position when it is in the registry.
struct Member {
    position: Option<usize>,
    name: Name,
}

/// A top-level plugin to set up, with the children offered to it.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub(crate) def: PluginDef,
    pub(crate) offered: Vec<Offered>,
}

/// The outcome of planning.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Active top-level plugins to tear down, dependents before their dependencies, each with its final line
    /// (`None` when it is set up again below).
    pub(crate) stop: Vec<(Name, Option<PluginReport>)>,
    /// Top-level plugins to set up, in activation order.
    pub(crate) start: Vec<Start>,
    /// Lines decided without running anything: skipped and unchanged top-level plugins.
    pub(crate) lines: Vec<PluginReport>,
    /// Lines of children decided without running anything (withheld, unchanged, parent inactive, parent going
    /// down), reported after what ran unless a setup reported the child itself.
    pub(crate) child_lines: Vec<PluginReport>,
    /// Active plugins in the region the change leaves alone, in activation order: if a setup they depend on
    /// fails, they must go down too.
    pub(crate) kept: Vec<Name>,
}

/// Plans the change that touched `touched`, given what is `active` now.
pub(crate) fn plan(
    registry: &PluginRegistry,
    graph: &Graph,
    active: &HashMap<Name, ActivePlugin>,
    touched: &Touched,
    host: &ContractVersion,
) -> Plan {
    let mut planner = Planner {
        registry,
        graph,
        active,
        touched,
        explicit: match touched {
            Touched::All => HashSet::default(),
            Touched::Some(list) => list.iter().map(|(name, _)| name.clone()).collect(),
        },
        host,
        out: Plan::default(),
    };
    let region = region(registry, graph, touched);
    let candidates = planner.candidates(&region);
    let decided = planner.decide(&region, &candidates);
    child_lines(registry, active, touched, &decided, host, &mut planner.out);
    let mut out = planner.out;
    out.stop
        .sort_by_key(|(name, _)| Reverse(active.get(name).map_or(0, |a| a.seq)));
    out
}

/// What planning works from, and the plan it builds.
struct Planner<'a> {
    registry: &'a PluginRegistry,
    graph: &'a Graph,
    active: &'a HashMap<Name, ActivePlugin>,
    touched: &'a Touched,
    /// The plugins the change named (empty for [`Touched::All`], which names everything).
    explicit: HashSet<Name>,
    host: &'a ContractVersion,
    out: Plan,
}

/// Which region plugins (by registry position) end up wanted, and which of those this change sets up.
struct Decided {
    wanted: Marks,
    set_up: Marks,
}

impl Decided {
    fn wanted(&self, registry: &PluginRegistry, name: &Name) -> bool {
        registry
            .position(name.as_str())
            .is_some_and(|p| self.wanted.contains(p))
    }

    fn set_up(&self, registry: &PluginRegistry, name: &Name) -> bool {
        registry
            .position(name.as_str())
            .is_some_and(|p| self.set_up.contains(p))
    }
}

impl<'a> Planner<'a> {
    /// Whether the change named `name`.
    fn named(&self, name: &Name) -> bool {
        self.touched.contains(&self.explicit, name)
    }

    /// Tears `name` down if it is active, with `line` as its final line (`None`: it is set up again); returns
    /// whether it was active.
    fn stop(&mut self, name: &Name, line: Option<PluginReport>) -> bool {
        if self.active.contains_key(name) {
            self.out.stop.push((name.clone(), line));
            true
        } else {
            false
        }
    }

    /// The region's plugins that could run at all (installed, top-level, contract supported, dependencies
    /// present): the others go down or are reported skipped.
    fn candidates(&mut self, region: &[Member]) -> Vec<Candidate<'a>> {
        let mut candidates = Vec::with_capacity(region.len());
        for Member { position, name } in region {
            let Some((index, entry)) = position.and_then(|p| self.registry.entry_at(p).map(|e| (p, e))) else {
                self.stop(name, Some(deactivated(name, None)));
                continue;
            };
            let def = &entry.plugin;
            if def.is_child() || entry.status() != Status::Installed {
                let report =
                    matches!(self.touched, Touched::Some(_)) && self.explicit.contains(name) && !def.is_child();
                if !self.stop(name, Some(deactivated(name, None))) && report {
                    self.out
                        .lines
                        .push(PluginReport::new(name.clone(), Outcome::Unchanged { active: false }));
                }
                continue;
            }
            match static_check(self.registry, def, self.host) {
                Ok(()) => candidates.push(Candidate {
                    key: (entry.record().order.map_or(u64::MAX, u64::from), index),
                    entry,
                }),
                Err(reason) => self.refuse(name, reason),
            }
        }
        candidates
    }

    /// `name` will not run because of `reason`: torn down if active, else reported skipped if the change named it.
    fn refuse(&mut self, name: &Name, reason: SkipReason) {
        if !self.stop(name, Some(deactivated(name, Some(reason.clone())))) && self.named(name) {
            self.out.lines.push(PluginReport::skipped(name.clone(), reason));
        }
    }

    /// Walks the candidates in activation order and decides each: refused (a dependency will not run, or a
    /// cycle), left alone (active with the same definition and children), or set up (again).
    fn decide(&mut self, region: &[Member], candidates: &[Candidate<'_>]) -> Decided {
        // For a change that touches everything, every top-level plugin of the registry is in the region.
        let in_region: Option<HashSet<&Name>> = match self.touched {
            Touched::All => None,
            Touched::Some(_) => Some(region.iter().map(|m| &m.name).collect()),
        };
        let registry = self.registry;
        let in_region = |name: &Name| match &in_region {
            Some(set) => set.contains(name),
            None => registry.get(name.as_str()).is_some_and(|e| !e.plugin.is_child()),
        };
        let mut decided = Decided {
            wanted: Marks::new(self.touched, registry.len()),
            set_up: Marks::new(self.touched, registry.len()),
        };
        let mut replaced: HashSet<&Name> = HashSet::default();
        self.out.start.reserve(candidates.len());
        for step in order(candidates) {
            let candidate = &candidates[step.candidate];
            let (entry, position) = (candidate.entry, candidate.key.1);
            let name = entry.name();
            let dependencies = entry.plugin.dependencies();
            let reason = match step.cycle {
                Some(cycle) => Some(SkipReason::DependencyCycle { cycle }),
                None => dependencies
                    .iter()
                    .find(|d| {
                        if in_region(&d.plugin) {
                            !decided.wanted(registry, &d.plugin)
                        } else {
                            !self.active.contains_key(&d.plugin)
                        }
                    })
                    .map(|d| SkipReason::DependencyInactive {
                        dependency: d.plugin.clone(),
                    }),
            };
            if let Some(reason) = reason {
                self.refuse(name, reason);
                continue;
            }
            decided.wanted.insert(position);
            let offered = offer(self.registry, self.graph, &entry.plugin, self.host);
            if let Some(current) = self.active.get(name) {
                let same_def = current.def.ptr_eq(&entry.plugin);
                let same_children = current.offered.len() == offered.len()
                    && current.offered.iter().zip(&offered).all(|(a, b)| a.same_as(b));
                let dependency_replaced = dependencies.iter().any(|d| replaced.contains(&d.plugin));
                if same_def && same_children && !dependency_replaced {
                    if self.named(name) {
                        self.out
                            .lines
                            .push(PluginReport::new(name.clone(), Outcome::Unchanged { active: true }));
                    }
                    self.out.kept.push(name.clone());
                    continue;
                }
                if !same_def || dependency_replaced {
                    replaced.insert(name);
                }
                self.stop(name, None);
            }
            decided.set_up.insert(position);
            self.out.start.push(Start {
                def: entry.plugin.clone(),
                offered,
            });
        }
        decided
    }
}

/// The top-level plugins a change concerns: each touched top-level plugin, the parent of each touched child
/// (before and after the change), and their dependents, transitively; in registry order, with names no longer in
/// the registry last.
fn region(registry: &PluginRegistry, graph: &Graph, touched: &Touched) -> Vec<Member> {
    let list = match touched {
        Touched::All => {
            return registry
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.plugin.is_child())
                .map(|(i, e)| Member {
                    position: Some(i),
                    name: e.name().clone(),
                })
                .collect();
        }
        Touched::Some(list) => list,
    };
    let mut seen: HashSet<Name> = HashSet::default();
    let mut stack: Vec<Name> = Vec::new();
    for (name, former) in list {
        let defs = registry.get(name.as_str()).map(|e| &e.plugin).into_iter().chain(former);
        let mut any = false;
        for def in defs {
            any = true;
            let top = def.extends().map_or_else(|| name.clone(), |e| e.plugin.clone());
            if seen.insert(top.clone()) {
                stack.push(top);
            }
        }
        if !any && seen.insert(name.clone()) {
            stack.push(name.clone());
        }
    }
    while let Some(next) = stack.pop() {
        for dependent in graph.dependents(&next) {
            if seen.insert(dependent.clone()) {
                stack.push(dependent.clone());
            }
        }
    }
    let mut region: Vec<Member> = seen
        .into_iter()
        .map(|name| Member {
            position: registry.position(name.as_str()),
            name,
        })
        .collect();
    region.sort_by_key(|m| m.position.unwrap_or(usize::MAX));
    region
}

/// Lines for touched children whose parent is not set up by this change (a parent that is set up reports its
/// children itself), and for the children of parents going down for good.
fn child_lines(
    registry: &PluginRegistry,
    active: &HashMap<Name, ActivePlugin>,
    touched: &Touched,
    decided: &Decided,
    host: &ContractVersion,
    out: &mut Plan,
) {
    // Children of parents that go down for good.
    let stopping: Vec<Name> = out
        .stop
        .iter()
        .filter(|(name, line)| line.is_some() && !decided.set_up(registry, name))
        .map(|(name, _)| name.clone())
        .collect();
    for parent in &stopping {
        if let Some(current) = active.get(parent) {
            for offered in &current.offered {
                if current.applied.contains(offered.def.name()) {
                    out.child_lines.push(
                        deactivated(
                            offered.def.name(),
                            Some(SkipReason::ParentInactive { parent: parent.clone() }),
                        )
                        .child_of(Some((parent.clone(), offered.point.clone()))),
                    );
                }
            }
        }
    }
    let children: Vec<&RegistryEntry> = match touched {
        Touched::All => registry.iter().filter(|e| e.plugin.is_child()).collect(),
        Touched::Some(list) => list
            .iter()
            .filter_map(|(name, _)| registry.get(name.as_str()))
            .filter(|e| e.plugin.is_child())
            .collect(),
    };
    for entry in children {
        let name = entry.name();
        let Some(extends) = entry.plugin.extends() else {
            continue;
        };
        let parent = &extends.plugin;
        let family = Some((parent.clone(), extends.extension_point.clone()));
        let line = if !entry.is_installed() {
            if matches!(touched, Touched::All) {
                continue;
            }
            PluginReport::new(name.clone(), Outcome::Unchanged { active: false })
        } else if let Err(reason) = withheld(registry, &entry.plugin, host) {
            PluginReport::skipped(name.clone(), reason)
        } else if decided.set_up(registry, parent) {
            // Offered to its parent, whose setup reports it.
            continue;
        } else if decided.wanted(registry, parent) {
            let live = active.get(parent).is_some_and(|a| a.applied.contains(name));
            PluginReport::new(name.clone(), Outcome::Unchanged { active: live })
        } else {
            PluginReport::skipped(name.clone(), SkipReason::ParentInactive { parent: parent.clone() })
        };
        out.child_lines.push(line.child_of(family));
    }
}

fn deactivated(name: &Name, reason: Option<SkipReason>) -> PluginReport {
    PluginReport::new(name.clone(), Outcome::Deactivated { reason })
}
