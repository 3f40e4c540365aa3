//! [`Surface`]: the dashboard area a core service's menu is mounted in.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a menu is mounted in the dashboard.
///
/// Only core services choose a surface. Plugin menus never declare one: Zelavis always mounts them under
/// [`Surface::Workspace`], one root entry per installed plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// The top of the navigation.
    Root,
    /// Zelavis' own core area.
    Core,
    /// The workspace, where installed plugins live.
    Workspace,
    /// Settings.
    Settings,
}

impl Surface {
    /// Every surface, in navigation order.
    pub const ALL: [Surface; 4] = [Surface::Root, Surface::Core, Surface::Workspace, Surface::Settings];

    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Root => "root",
            Surface::Core => "core",
            Surface::Workspace => "workspace",
            Surface::Settings => "settings",
        }
    }
}

impl fmt::Display for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
