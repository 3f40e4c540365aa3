//! The rules planning applies to one plugin: whether a top-level plugin can run at all ([`static_check`]), and
//! whether an installed child is withheld from its parent ([`withheld`]) or offered to it ([`offer`]).

use zelavis_core::contract::ContractVersion;
use zelavis_core::name::Name;
use zelavis_plugin::PluginDef;
use zelavis_plugin::extension::AttachError;

use crate::activation::Offered;
use crate::graph::Graph;
use crate::registry::{PluginRegistry, Status};
use crate::report::SkipReason;

/// Checks a top-level plugin's contract and its dependencies against the registry (not whether they are
/// active).
pub(crate) fn static_check(
    registry: &PluginRegistry,
    def: &PluginDef,
    host: &ContractVersion,
) -> Result<(), SkipReason> {
    def.contract()
        .check_supported_by(host)
        .map_err(|error| SkipReason::ContractUnsupported { error })?;
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
        .map_err(|error| SkipReason::ContractUnsupported { error })?;
    let reject = |error: AttachError| SkipReason::ChildRejected { error };
    let Some(extends) = child.extends() else {
        return Err(reject(AttachError::NotAChild {
            child: child.name().clone(),
        }));
    };
    let (parent, point) = (extends.plugin.clone(), extends.extension_point.clone());
    let child_name = child.name().clone();
    let Some(entry) = registry.get(parent.as_str()) else {
        return Err(reject(AttachError::ParentMissing {
            child: child_name,
            parent,
            extension_point: point,
        }));
    };
    if entry.plugin.is_child() {
        return Err(reject(AttachError::ParentIsChild {
            child: child_name,
            parent,
            extension_point: point,
        }));
    }
    if entry.status() != Status::Installed {
        return Err(reject(AttachError::ParentNotInstalled {
            child: child_name,
            parent,
            extension_point: point,
        }));
    }
    let Some(declared) = entry.plugin.extension_point(point.as_str()) else {
        return Err(reject(AttachError::NoSuchExtensionPoint {
            child: child_name,
            parent,
            extension_point: point,
        }));
    };
    declared.admits(&parent, child.name()).map_err(reject)?;
    Ok(point)
}

/// The installed children offered to `parent`, in registry order.
pub(crate) fn offer(
    registry: &PluginRegistry,
    graph: &Graph,
    parent: &PluginDef,
    host: &ContractVersion,
) -> Vec<Offered> {
    if parent.extension_points().is_empty() {
        // A child can only attach to a declared point.
        return Vec::new();
    }
    graph
        .children(registry, parent.name())
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
