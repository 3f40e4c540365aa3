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
//!   that a plugin's dependencies always run before it ([`order`]);
//! - **dependencies**: a plugin runs only when its contract is supported and each dependency is in the
//!   registry, installed, top-level, of an accepted version ([`static_check`]) and active ([`plan`]);
//! - **children**: an installed child is withheld from its parent when its contract is unsupported or the
//!   parent's extension point does not admit it ([`withheld`]); the others are offered to the parent, in
//!   registry order ([`offer`]).
//!
//! A plugin that is active and stays wanted with the same definition and the same offered children is left
//! alone: enabling what is already active changes nothing.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use zelavis_core::contract::ContractVersion;
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;
use zelavis_plugin::extension::AttachError;

use crate::activation::{ActivePlugin, Offered};
use crate::graph::Graph;
use crate::registry::{PluginRegistry, RegistryEntry, Status};
use crate::report::{ChildRejection, Outcome, PluginReport, SkipReason};

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

/// Checks a top-level plugin's contract and its dependencies against the registry (not whether they are
/// active).
pub(crate) fn static_check(
    registry: &PluginRegistry,
    def: &PluginDef,
    host: &ContractVersion,
) -> Result<(), SkipReason> {
    def.contract()
        .check_supported_by(host)
        .map_err(|e| SkipReason::ContractUnsupported { message: e.to_string() })?;
    for dependency in def.dependencies() {
        let name = dependency.plugin.clone();
        let Some(entry) = registry.get(name.as_str()) else {
            return Err(SkipReason::DependencyMissing { dependency: name });
        };
        if entry.status() != Status::Installed {
            return Err(SkipReason::DependencyNotInstalled { dependency: name });
        }
        if entry.plugin.is_child() {
            return Err(SkipReason::DependencyIsChild { dependency: name });
        }
        if !dependency.accepts(entry.plugin.version()) {
            return Err(SkipReason::DependencyVersion {
                dependency: name,
                required: dependency.version.as_ref().map(ToString::to_string).unwrap_or_default(),
                found: entry.plugin.version().to_string(),
            });
        }
    }
    Ok(())
}

/// Why an installed child is withheld from its parent, if it is: an unsupported contract, or a parent that is
/// missing, not installed, itself a child, without the extension point, or whose policy refuses the child.
/// Returns the extension point otherwise.
pub(crate) fn withheld(
    registry: &PluginRegistry,
    child: &PluginDef,
    host: &ContractVersion,
) -> Result<Name, SkipReason> {
    child
        .contract()
        .check_supported_by(host)
        .map_err(|e| SkipReason::ContractUnsupported { message: e.to_string() })?;
    let reject = |rejection, error: AttachError| SkipReason::ChildRejected {
        rejection,
        message: error.to_string(),
    };
    let Some(extends) = child.extends() else {
        return Err(reject(
            ChildRejection::ParentMissing,
            AttachError::NotAChild {
                child: child.name().clone(),
            },
        ));
    };
    let (parent, point) = (extends.plugin.clone(), extends.extension_point.clone());
    let Some(entry) = registry.get(parent.as_str()) else {
        return Err(reject(
            ChildRejection::ParentMissing,
            AttachError::ParentMissing {
                child: child.name().clone(),
                parent,
                extension_point: point,
            },
        ));
    };
    if entry.plugin.is_child() {
        return Err(SkipReason::ChildRejected {
            rejection: ChildRejection::ParentIsChild,
            message: format!(
                "child plugin {:?} extends {:?}, which is itself a child plugin and cannot host children",
                child.name().as_str(),
                parent.as_str()
            ),
        });
    }
    if entry.status() != Status::Installed {
        return Err(reject(
            ChildRejection::ParentNotInstalled,
            AttachError::ParentNotInstalled {
                child: child.name().clone(),
                parent,
                extension_point: point,
            },
        ));
    }
    let Some(declared) = entry.plugin.extension_point(point.as_str()) else {
        return Err(reject(
            ChildRejection::NoSuchExtensionPoint,
            AttachError::NoSuchExtensionPoint {
                child: child.name().clone(),
                parent,
                extension_point: point,
            },
        ));
    };
    declared
        .admits(&parent, child.name())
        .map_err(|e| reject(ChildRejection::Policy, e))?;
    Ok(point)
}

/// The installed children offered to `parent`, in registry order.
pub(crate) fn offer(registry: &PluginRegistry, graph: &Graph, parent: &Name, host: &ContractVersion) -> Vec<Offered> {
    graph
        .children(registry, parent)
        .iter()
        .filter_map(|child| registry.get(child.as_str()))
        .filter(|entry| entry.is_installed())
        .filter_map(|entry| {
            withheld(registry, &entry.plugin, host).ok().map(|point| Offered {
                point,
                def: entry.plugin.clone(),
            })
        })
        .collect()
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
            Touched::All => HashSet::new(),
            Touched::Some(list) => list.iter().map(|(name, _)| name.clone()).collect(),
        },
        host,
        out: Plan::default(),
    };
    let region = region(registry, graph, touched);
    let candidates = planner.candidates(&region);
    let decided = planner.decide(&region, &candidates);
    child_lines(
        registry,
        active,
        touched,
        &decided.wanted,
        &decided.set_up,
        host,
        &mut planner.out,
    );
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

/// Which region plugins end up wanted, and which of those are set up by this change.
struct Decided<'r> {
    wanted: HashSet<&'r Name>,
    set_up: HashSet<&'r Name>,
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
    fn candidates(&mut self, region: &[Name]) -> Vec<Candidate<'a>> {
        let mut candidates = Vec::new();
        for name in region {
            let Some((index, entry)) = self.registry.get_full(name.as_str()) else {
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
    fn decide<'r>(&mut self, region: &[Name], candidates: &[Candidate<'r>]) -> Decided<'r> {
        let in_region: HashSet<&Name> = region.iter().collect();
        let mut decided = Decided {
            wanted: HashSet::new(),
            set_up: HashSet::new(),
        };
        let mut replaced: HashSet<&Name> = HashSet::new();
        for step in order(candidates) {
            let entry = candidates[step.candidate].entry;
            let name = entry.name();
            let dependencies = entry.plugin.dependencies();
            let reason = match step.cycle {
                Some(cycle) => Some(SkipReason::DependencyCycle { cycle }),
                None => dependencies
                    .iter()
                    .find(|d| {
                        if in_region.contains(&d.plugin) {
                            !decided.wanted.contains(&d.plugin)
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
            decided.wanted.insert(name);
            let offered = offer(self.registry, self.graph, name, self.host);
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
            decided.set_up.insert(name);
            self.out.start.push(Start {
                def: entry.plugin.clone(),
                offered,
            });
        }
        decided
    }
}

/// A top-level plugin that passed the static checks: its sort key is (order, registry index).
struct Candidate<'r> {
    key: (u64, usize),
    entry: &'r RegistryEntry,
}

/// One step of the activation order: a candidate, or a candidate found on a dependency cycle.
struct Step {
    candidate: usize,
    cycle: Option<Vec<Name>>,
}

/// Orders the candidates with Kahn's algorithm over the dependency edges among them, always taking the ready
/// candidate with the smallest (order, registry index). Candidates on a cycle, or behind one, come last, the
/// ones on a cycle naming it.
fn order(candidates: &[Candidate<'_>]) -> Vec<Step> {
    let position: HashMap<&Name, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.entry.name(), i))
        .collect();
    let mut indegree = vec![0_usize; candidates.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); candidates.len()];
    let mut has_edges = false;
    for (i, candidate) in candidates.iter().enumerate() {
        for dependency in candidate.entry.plugin.dependencies() {
            if let Some(&d) = position.get(&dependency.plugin) {
                indegree[i] += 1;
                dependents[d].push(i);
                has_edges = true;
            }
        }
    }
    let mut steps = Vec::with_capacity(candidates.len());
    if !has_edges {
        // No dependency among them: the order is the sort.
        let mut sorted: Vec<usize> = (0..candidates.len()).collect();
        sorted.sort_unstable_by_key(|&i| candidates[i].key);
        steps.extend(sorted.into_iter().map(|candidate| Step { candidate, cycle: None }));
        return steps;
    }
    let mut ready: BinaryHeap<Reverse<((u64, usize), usize)>> = indegree
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == 0)
        .map(|(i, _)| Reverse((candidates[i].key, i)))
        .collect();
    let mut done = vec![false; candidates.len()];
    while let Some(Reverse((_, i))) = ready.pop() {
        done[i] = true;
        steps.push(Step {
            candidate: i,
            cycle: None,
        });
        for &j in &dependents[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse((candidates[j].key, j)));
            }
        }
    }
    // What is left sits on a cycle or behind one. Members of a cycle come first, each naming one cycle of its
    // group; those behind them are then refused because a dependency of theirs is.
    let left: Vec<usize> = (0..candidates.len()).filter(|&i| !done[i]).collect();
    let mut cycles: Vec<(usize, Vec<Name>)> = Vec::new();
    for group in cycle_groups(&left, candidates, &position) {
        let ring = find_ring(&group, candidates, &position);
        let name = |i: &usize| candidates[*i].entry.name().clone();
        for member in group {
            // Each member names the cycle through itself when it is on the one found and that one is short;
            // otherwise the group's cycle, cut to its first names: the reasons stay small however big the group.
            let cycle: Vec<Name> = match ring.iter().position(|&r| r == member) {
                Some(at) if ring.len() < MAX_CYCLE_NAMES => ring[at..].iter().chain(&ring[..=at]).map(name).collect(),
                _ => ring
                    .iter()
                    .chain(ring.first())
                    .take(MAX_CYCLE_NAMES)
                    .map(name)
                    .collect(),
            };
            cycles.push((member, cycle));
        }
    }
    cycles.sort_unstable_by_key(|(i, _)| candidates[*i].key);
    let on_cycle: HashSet<usize> = cycles.iter().map(|(i, _)| *i).collect();
    let mut behind: Vec<usize> = left.into_iter().filter(|i| !on_cycle.contains(i)).collect();
    behind.sort_unstable_by_key(|&i| candidates[i].key);
    steps.extend(cycles.into_iter().map(|(candidate, cycle)| Step {
        candidate,
        cycle: Some(cycle),
    }));
    steps.extend(behind.into_iter().map(|candidate| Step { candidate, cycle: None }));
    steps
}

/// How many names a cycle's skip reason lists at most (the first one repeated at the end included); a longer
/// cycle is cut there.
pub(crate) const MAX_CYCLE_NAMES: usize = 16;

/// The groups of `nodes` that sit on dependency cycles: the strongly connected components with more than one
/// member, or one member depending on itself (Tarjan's algorithm, iterative, linear in nodes and edges).
fn cycle_groups(nodes: &[usize], candidates: &[Candidate<'_>], position: &HashMap<&Name, usize>) -> Vec<Vec<usize>> {
    let member: HashSet<usize> = nodes.iter().copied().collect();
    let deps = |i: usize| -> Vec<usize> {
        candidates[i]
            .entry
            .plugin
            .dependencies()
            .iter()
            .filter_map(|d| position.get(&d.plugin).copied())
            .filter(|j| member.contains(j))
            .collect()
    };
    // node -> (index, lowlink)
    let mut index: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut on_stack: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut groups = Vec::new();
    let mut next_index = 0;
    for &root in nodes {
        if index.contains_key(&root) {
            continue;
        }
        // Each frame: a node and its dependencies still to visit.
        let mut frames: Vec<(usize, Vec<usize>)> = Vec::new();
        index.insert(root, (next_index, next_index));
        next_index += 1;
        stack.push(root);
        on_stack.insert(root);
        frames.push((root, deps(root)));
        while let Some((node, pending)) = frames.last_mut() {
            let node = *node;
            if let Some(next) = pending.pop() {
                match index.get(&next).copied() {
                    None => {
                        index.insert(next, (next_index, next_index));
                        next_index += 1;
                        stack.push(next);
                        on_stack.insert(next);
                        frames.push((next, deps(next)));
                    }
                    Some((next_index_of, _)) if on_stack.contains(&next) => {
                        if let Some(entry) = index.get_mut(&node) {
                            entry.1 = entry.1.min(next_index_of);
                        }
                    }
                    Some(_) => {}
                }
                continue;
            }
            frames.pop();
            let (node_index, node_low) = index.get(&node).copied().unwrap_or_default();
            if let Some((parent, _)) = frames.last()
                && let Some(entry) = index.get_mut(parent)
            {
                entry.1 = entry.1.min(node_low);
            }
            if node_low == node_index {
                let mut group = Vec::new();
                while let Some(top) = stack.pop() {
                    on_stack.remove(&top);
                    group.push(top);
                    if top == node {
                        break;
                    }
                }
                let self_loop = group.len() == 1 && deps(node).contains(&node);
                if group.len() > 1 || self_loop {
                    groups.push(group);
                }
            }
        }
    }
    groups
}

/// One cycle through the group's first member (by order), as the members along it, each depending on the next
/// and the last on the first: `[a, b]` for `a -> b -> a`.
fn find_ring(group: &[usize], candidates: &[Candidate<'_>], position: &HashMap<&Name, usize>) -> Vec<usize> {
    let member: HashSet<usize> = group.iter().copied().collect();
    let Some(&start) = group.iter().min_by_key(|&&i| candidates[i].key) else {
        return Vec::new();
    };
    // Breadth-first along dependencies inside the group, back to `start`: the shortest such cycle.
    let mut previous: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(node) = queue.pop_front() {
        for dependency in candidates[node].entry.plugin.dependencies() {
            let Some(&next) = position.get(&dependency.plugin) else {
                continue;
            };
            if !member.contains(&next) {
                continue;
            }
            if next == start {
                last = Some(node);
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = previous.entry(next) {
                slot.insert(node);
                queue.push_back(next);
            }
        }
    }
    // Walk back from the last node before `start` to `start`'s first dependency on the way.
    let mut ring = vec![start];
    if let Some(last) = last.filter(|&l| l != start) {
        let mut back = vec![last];
        while let Some(&p) = back.last().and_then(|n| previous.get(n)) {
            if p == start {
                break;
            }
            back.push(p);
        }
        back.reverse();
        ring.extend(back);
    }
    ring
}

/// The top-level plugins a change concerns: each touched top-level plugin, the parent of each touched child
/// (before and after the change), and their dependents, transitively; in registry order, with names no longer in
/// the registry last.
fn region(registry: &PluginRegistry, graph: &Graph, touched: &Touched) -> Vec<Name> {
    let list = match touched {
        Touched::All => {
            return registry
                .iter()
                .filter(|e| !e.plugin.is_child())
                .map(|e| e.name().clone())
                .collect();
        }
        Touched::Some(list) => list,
    };
    let mut seen: HashSet<Name> = HashSet::new();
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
    let mut region: Vec<Name> = seen.into_iter().collect();
    region.sort_by_key(|name| registry.position(name.as_str()).unwrap_or(usize::MAX));
    region
}

/// Lines for touched children whose parent is not set up by this change (a parent that is set up reports its
/// children itself), and for the children of parents going down for good.
#[allow(clippy::too_many_arguments, reason = "the planner's working sets, passed down once")]
fn child_lines(
    registry: &PluginRegistry,
    active: &HashMap<Name, ActivePlugin>,
    touched: &Touched,
    wanted: &HashSet<&Name>,
    set_up: &HashSet<&Name>,
    host: &ContractVersion,
    out: &mut Plan,
) {
    // Children of parents that go down for good.
    let stopping: Vec<Name> = out
        .stop
        .iter()
        .filter(|(name, line)| line.is_some() && !set_up.contains(name))
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
        } else if set_up.contains(parent) {
            // Offered to its parent, whose setup reports it.
            continue;
        } else if wanted.contains(parent) {
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
