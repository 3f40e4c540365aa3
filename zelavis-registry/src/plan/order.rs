//! The one ordering: top-level plugins in explicit `order` (missing order last; ties keep registry order), each
//! after its dependencies; the plugins on a dependency cycle are found and each names one cycle through it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use zelavis_core::name::Name;

use crate::hash::{HashMap, HashSet};
use crate::registry::RegistryEntry;

/// A top-level plugin that passed the static checks: its sort key is (order, registry index).
pub(crate) struct Candidate<'r> {
    pub(crate) key: (u64, usize),
    pub(crate) entry: &'r RegistryEntry,
}

/// One step of the activation order: a candidate, or a candidate found on a dependency cycle.
pub(crate) struct Step {
    pub(crate) candidate: usize,
    pub(crate) cycle: Option<Vec<Name>>,
}

/// Orders the candidates with Kahn's algorithm over the dependency edges among them, always taking the ready
/// candidate with the smallest (order, registry index). Candidates on a cycle, or behind one, come last, the
/// ones on a cycle naming it.
pub(crate) fn order(candidates: &[Candidate<'_>]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(candidates.len());
    if candidates.iter().all(|c| c.entry.plugin.dependencies().is_empty()) {
        // No dependency among them: the order is the sort.
        let mut sorted: Vec<usize> = (0..candidates.len()).collect();
        sorted.sort_unstable_by_key(|&i| candidates[i].key);
        steps.extend(sorted.into_iter().map(|candidate| Step { candidate, cycle: None }));
        return steps;
    }
    let position: HashMap<&Name, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.entry.name(), i))
        .collect();
    let mut indegree = vec![0_usize; candidates.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); candidates.len()];
    for (i, candidate) in candidates.iter().enumerate() {
        for dependency in candidate.entry.plugin.dependencies() {
            if let Some(&d) = position.get(&dependency.plugin) {
                indegree[i] += 1;
                dependents[d].push(i);
            }
        }
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
    let mut index: HashMap<usize, (usize, usize)> = HashMap::default();
    let mut on_stack: HashSet<usize> = HashSet::default();
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
    let mut previous: HashMap<usize, usize> = HashMap::default();
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
