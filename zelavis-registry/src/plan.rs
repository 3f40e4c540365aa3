//! The activation plan: which installed plugins run, in which order, and which children each parent receives.
//!
//! Top-level plugins run in explicit `order` (missing order last; ties keep registry order), except that a
//! plugin's dependencies always run before it. Static problems — a missing, uninstalled or child dependency, an
//! unmet version requirement, a cycle, an unsupported contract — skip the plugins concerned with a reason that
//! names the dependency or the cycle. Children are checked against their parent's policy here, in one place.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use zelavis_core::contract::ContractVersion;
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;
use zelavis_plugin::extension::AttachError;

use crate::registry::PluginRegistry;
use crate::registry::Status;
use crate::report::{ChildRejection, PluginReport, SkipReason};

/// The outcome of planning.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Top-level plugins to set up, in order.
    pub(crate) order: Vec<PluginDef>,
    /// Top-level plugins skipped before running anything.
    pub(crate) skipped: Vec<PluginReport>,
    /// Accepted children per parent: `(extension point, child)` in registry order.
    pub(crate) children: HashMap<Name, Vec<(Name, PluginDef)>>,
    /// Children that could not attach.
    pub(crate) rejected: Vec<PluginReport>,
}

/// Checks a plugin's contract and its dependencies against the registry (not whether they are active).
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
        if entry.status != Status::Installed {
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

/// Checks whether an installed child may attach to its parent: parent present, installed, top-level, declaring
/// the point, and the point's policy admitting the child.
pub(crate) fn attach_check(registry: &PluginRegistry, child: &PluginDef) -> Result<(Name, Name), SkipReason> {
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
    if entry.status != Status::Installed {
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
    Ok((parent, point))
}

/// Plans a full activation of the registry's installed plugins.
pub(crate) fn plan(registry: &PluginRegistry, host: &ContractVersion) -> Plan {
    let mut out = Plan::default();
    let mut candidates: Vec<(u64, usize, &PluginDef)> = Vec::new();
    let mut blocked: HashMap<Name, SkipReason> = HashMap::new();

    for (index, entry) in registry.iter().enumerate() {
        if entry.status != Status::Installed {
            continue;
        }
        let def = &entry.plugin;
        if def.is_child() {
            match def
                .contract()
                .check_supported_by(host)
                .map_err(|e| SkipReason::ContractUnsupported { message: e.to_string() })
                .and_then(|()| attach_check(registry, def))
            {
                Ok((parent, point)) => out.children.entry(parent).or_default().push((point, def.clone())),
                Err(reason) => {
                    let mut report = PluginReport::skipped(def.name().clone(), reason);
                    report.parent = def.extends().map(|e| (e.plugin.clone(), e.extension_point.clone()));
                    out.rejected.push(report);
                }
            }
            continue;
        }
        match static_check(registry, def, host) {
            Ok(()) => candidates.push((entry.order.map_or(u64::MAX, u64::from), index, def)),
            Err(reason) => {
                blocked.insert(def.name().clone(), reason);
            }
        }
    }

    order(&candidates, &blocked, &mut out);
    for (name, reason) in blocked {
        out.skipped.push(PluginReport::skipped(name, reason));
    }
    out.skipped
        .sort_by_key(|r| registry.position(r.name.as_str()).unwrap_or(usize::MAX));
    out
}

/// Orders the candidates with Kahn's algorithm over dependency edges, always taking the ready plugin with the
/// smallest (order, registry index); skips plugins behind a blocked dependency or on a cycle.
fn order(candidates: &[(u64, usize, &PluginDef)], blocked: &HashMap<Name, SkipReason>, out: &mut Plan) {
    let position: HashMap<&Name, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, (_, _, d))| (d.name(), i))
        .collect();
    let mut indegree = vec![0_usize; candidates.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); candidates.len()];
    for (i, (_, _, def)) in candidates.iter().enumerate() {
        for dependency in def.dependencies() {
            if let Some(&d) = position.get(&dependency.plugin) {
                indegree[i] += 1;
                dependents[d].push(i);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(u64, usize, usize)>> = indegree
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == 0)
        .map(|(i, _)| Reverse((candidates[i].0, candidates[i].1, i)))
        .collect();
    let mut done = vec![false; candidates.len()];
    let mut skipped_now: HashSet<&Name> = HashSet::new();
    while let Some(Reverse((_, _, i))) = ready.pop() {
        done[i] = true;
        let def = candidates[i].2;
        let inactive = def
            .dependencies()
            .iter()
            .find(|d| blocked.contains_key(&d.plugin) || skipped_now.contains(&d.plugin));
        match inactive {
            Some(dependency) => {
                skipped_now.insert(def.name());
                out.skipped.push(PluginReport::skipped(
                    def.name().clone(),
                    SkipReason::DependencyInactive {
                        dependency: dependency.plugin.clone(),
                    },
                ));
            }
            None => out.order.push(def.clone()),
        }
        for &j in &dependents[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse((candidates[j].0, candidates[j].1, j)));
            }
        }
    }

    // What is left sits on a cycle or behind one.
    let left: Vec<usize> = (0..candidates.len()).filter(|&i| !done[i]).collect();
    for &i in &left {
        let def = candidates[i].2;
        let reason = match find_cycle(i, candidates, &position, &done) {
            Some(cycle) => SkipReason::DependencyCycle { cycle },
            None => SkipReason::DependencyInactive {
                dependency: def
                    .dependencies()
                    .iter()
                    .map(|d| d.plugin.clone())
                    .find(|d| position.get(d).is_some_and(|&p| !done[p]))
                    .unwrap_or_else(|| def.name().clone()),
            },
        };
        out.skipped.push(PluginReport::skipped(def.name().clone(), reason));
    }
}

/// The cycle through `start`, if `start` is on one: `a -> b -> a`.
fn find_cycle(
    start: usize,
    candidates: &[(u64, usize, &PluginDef)],
    position: &HashMap<&Name, usize>,
    done: &[bool],
) -> Option<Vec<Name>> {
    // Depth-first search along unresolved dependencies, looking for a path back to `start`.
    let mut stack = vec![(start, 0_usize)];
    let mut on_path = vec![start];
    let mut visited = HashSet::from([start]);
    while let Some((node, next)) = stack.pop() {
        let deps = candidates[node].2.dependencies();
        if next >= deps.len() {
            on_path.pop();
            continue;
        }
        stack.push((node, next + 1));
        let Some(&dep) = position.get(&deps[next].plugin) else {
            continue;
        };
        if done[dep] {
            continue;
        }
        if dep == start {
            let mut cycle: Vec<Name> = on_path.iter().map(|&i| candidates[i].2.name().clone()).collect();
            cycle.push(candidates[start].2.name().clone());
            return Some(cycle);
        }
        if visited.insert(dep) {
            on_path.push(dep);
            stack.push((dep, 0));
        }
    }
    None
}
