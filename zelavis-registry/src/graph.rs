//! The registry's graph, indexed both ways: who depends on a plugin, and which children extend it. It lets the
//! runtime find what a change concerns without scanning every plugin.

use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;

use crate::hash::HashMap;
use crate::registry::PluginRegistry;

#[derive(Debug, Default, Clone)]
pub(crate) struct Graph {
    /// Top-level plugins declaring a dependency on the key.
    dependents: HashMap<Name, Vec<Name>>,
    /// Child plugins extending the key.
    children: HashMap<Name, Vec<Name>>,
}

impl Graph {
    pub(crate) fn of(registry: &PluginRegistry) -> Self {
        let mut graph = Self::default();
        for entry in registry.iter() {
            graph.add(&entry.plugin);
        }
        graph
    }

    pub(crate) fn add(&mut self, def: &PluginDef) {
        match def.extends() {
            Some(extends) => self
                .children
                .entry(extends.plugin.clone())
                .or_default()
                .push(def.name().clone()),
            None => {
                for dependency in def.dependencies() {
                    self.dependents
                        .entry(dependency.plugin.clone())
                        .or_default()
                        .push(def.name().clone());
                }
            }
        }
    }

    pub(crate) fn remove(&mut self, def: &PluginDef) {
        let name = def.name();
        let drop_from = |map: &mut HashMap<Name, Vec<Name>>, key: &Name| {
            if let Some(list) = map.get_mut(key) {
                list.retain(|n| n != name);
                if list.is_empty() {
                    map.remove(key);
                }
            }
        };
        match def.extends() {
            Some(extends) => drop_from(&mut self.children, &extends.plugin),
            None => {
                for dependency in def.dependencies() {
                    drop_from(&mut self.dependents, &dependency.plugin);
                }
            }
        }
    }

    /// Top-level plugins that declare a dependency on `name`.
    pub(crate) fn dependents(&self, name: &Name) -> &[Name] {
        self.dependents.get(name).map_or(&[], Vec::as_slice)
    }

    /// Child plugins that extend `name`, in registry order.
    pub(crate) fn children(&self, registry: &PluginRegistry, name: &Name) -> Vec<Name> {
        let mut children = self.children.get(name).cloned().unwrap_or_default();
        children.sort_by_key(|c| registry.position(c.as_str()).unwrap_or(usize::MAX));
        children
    }
}
