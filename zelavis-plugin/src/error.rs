//! [`DefinitionError`]: every problem found in a plugin definition or manifest, each with where it is.

use std::fmt;

use thiserror::Error;
use zelavis_core::menu::MenuProblem;
use zelavis_core::name::NameError;

use crate::permission::Permission;

/// One broken rule at one place of a definition, e.g. `menu.items[1].page.id: duplicate page id "orders"`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{at}: {kind}")]
pub struct Problem {
    /// Where: a path into the definition (`name`, `extension_points[0].allowed_plugins[1]`, `menu.items[2].path`).
    pub at: String,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// The rules a plugin definition must follow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A plugin, extension-point or dependency name breaks the name grammar.
    #[error("invalid name: {0}")]
    InvalidName(#[from] NameError),
    /// The plugin version is not semver.
    #[error("version {value:?} is not a semver version: {reason}")]
    InvalidVersion {
        /// The text.
        value: String,
        /// The parser's reason.
        reason: String,
    },
    /// A dependency requirement is not a semver requirement.
    #[error("version requirement {value:?} is not a semver requirement: {reason}")]
    InvalidVersionReq {
        /// The text.
        value: String,
        /// The parser's reason.
        reason: String,
    },
    /// A menu rule.
    #[error(transparent)]
    Menu(#[from] MenuProblem),
    /// Two extension points share a name.
    #[error("duplicate extension point {name:?} (first at {first})")]
    DuplicateExtensionPoint {
        /// The name.
        name: String,
        /// Where it first appeared.
        first: String,
    },
    /// An allow list names a plugin twice.
    #[error("allow list names {name:?} twice (first at {first})")]
    DuplicateAllowedPlugin {
        /// The name.
        name: String,
        /// Where it first appeared.
        first: String,
    },
    /// An `open` point with an allow list, which would have no effect.
    #[error(
        "extension point {name:?} is open, so an allow list has no effect; remove it or make the point reviewed or private"
    )]
    AllowListOnOpenPoint {
        /// The point.
        name: String,
    },
    /// A typed handle of another plugin used to declare a point.
    #[error("extension point handle {extension_point:?} belongs to plugin {owner:?}, not to {plugin:?}")]
    ForeignExtensionPoint {
        /// The point.
        extension_point: String,
        /// The handle's plugin.
        owner: String,
        /// The plugin being defined.
        plugin: String,
    },
    /// A child that extends one of its own points.
    #[error("plugin {plugin:?} extends itself; a child plugin extends another plugin")]
    ExtendsSelf {
        /// The plugin.
        plugin: String,
    },
    /// A child that declares extension points.
    #[error("a child plugin cannot declare extension points: it runs inside its parent's setup, which owns the points")]
    ChildDeclaresExtensionPoints,
    /// A child that declares a menu.
    #[error("a child plugin cannot declare a menu: children never get a Workspace entry of their own")]
    ChildDeclaresMenu,
    /// A child with a top-level setup.
    #[error(
        "a child plugin's setup receives its parent's API; declare it with ExtensionPointRef::with_setup instead of setup()"
    )]
    ChildWithTopLevelSetup,
    /// A dependency on the plugin itself.
    #[error("plugin {plugin:?} depends on itself")]
    DependsOnSelf {
        /// The plugin.
        plugin: String,
    },
    /// Two dependencies on the same plugin.
    #[error("duplicate dependency on {name:?} (first at {first})")]
    DuplicateDependency {
        /// The plugin depended upon.
        name: String,
        /// Where it first appeared.
        first: String,
    },
    /// A permission declared twice.
    #[error("permission {permission} is declared twice")]
    DuplicatePermission {
        /// The permission.
        permission: Permission,
    },
    /// A manifest page URL that is not the page's address.
    #[error("page url {found:?} is not the page's address {expected:?}")]
    PageUrlMismatch {
        /// The URL given.
        found: String,
        /// The page's address.
        expected: String,
    },
}

/// A plugin definition broke one or more rules; [`problems`](Self::problems) lists **all** of them.
///
/// ```
/// use zelavis_plugin::prelude::*;
///
/// let err = PluginDef::builder("Shop")
///     .version("one")
///     .menu(Menu::new("Shop").path("shop"))
///     .build()
///     .unwrap_err();
/// let at: Vec<&str> = err.problems().iter().map(|p| p.at.as_str()).collect();
/// assert_eq!(at, ["name", "version", "menu.path"]);
/// println!("{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct DefinitionError {
    plugin: String,
    problems: Vec<Problem>,
}

impl DefinitionError {
    pub(crate) fn new(plugin: String, problems: Vec<Problem>) -> Self {
        Self { plugin, problems }
    }

    /// The plugin's name as written.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// Every problem, in definition order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "plugin {:?} has {n} definition problem{}:",
            self.plugin,
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}
