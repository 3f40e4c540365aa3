//! [`DefinitionError`]: every problem found in a plugin definition or manifest, each with where it is.

use std::fmt;

use thiserror::Error;
use zelavis_core::menu::MenuProblem;
use zelavis_core::name::NameError;
use zelavis_core::quote::{Quoted, quote};

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
///
/// Fields that hold text as the author wrote it (which may be of any length, since it has not passed a
/// grammar) are bounded [`Quoted`] copies; messages quote at most 64 characters of any value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A plugin, extension-point or dependency name breaks the name grammar.
    #[error("invalid name: {0}")]
    InvalidName(#[from] NameError),
    /// The plugin version is not semver.
    #[error("version {value} is not a semver version: {reason}")]
    InvalidVersion {
        /// A bounded copy of the text.
        value: Quoted,
        /// The parser's reason.
        reason: String,
    },
    /// A dependency requirement is not a semver requirement.
    #[error("version requirement {value} is not a semver requirement: {reason}")]
    InvalidVersionReq {
        /// A bounded copy of the text.
        value: Quoted,
        /// The parser's reason.
        reason: String,
    },
    /// A menu rule.
    #[error(transparent)]
    Menu(#[from] MenuProblem),
    /// Two extension points share a name.
    #[error("duplicate extension point {name} (first at {first})")]
    DuplicateExtensionPoint {
        /// A bounded copy of the name.
        name: Quoted,
        /// Where it first appeared.
        first: String,
    },
    /// An allow list names a plugin twice.
    #[error("allow list names {name} twice (first at {first})")]
    DuplicateAllowedPlugin {
        /// A bounded copy of the name.
        name: Quoted,
        /// Where it first appeared.
        first: String,
    },
    /// An `open` point with an allow list, which would have no effect.
    #[error(
        "extension point {name} is open, so an allow list has no effect; remove it or make the point reviewed or private"
    )]
    AllowListOnOpenPoint {
        /// A bounded copy of the point's name.
        name: Quoted,
    },
    /// A typed handle of another plugin used to declare a point.
    #[error("extension point handle {extension_point} belongs to plugin {owner}, not to {plugin}")]
    ForeignExtensionPoint {
        /// A bounded copy of the point's name.
        extension_point: Quoted,
        /// A bounded copy of the handle's plugin.
        owner: Quoted,
        /// A bounded copy of the plugin being defined.
        plugin: Quoted,
    },
    /// A child that extends one of its own points.
    #[error("plugin {plugin} extends itself; a child plugin extends another plugin")]
    ExtendsSelf {
        /// A bounded copy of the plugin's name.
        plugin: Quoted,
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
    #[error("plugin {plugin} depends on itself")]
    DependsOnSelf {
        /// A bounded copy of the plugin's name.
        plugin: Quoted,
    },
    /// Two dependencies on the same plugin.
    #[error("duplicate dependency on {name} (first at {first})")]
    DuplicateDependency {
        /// A bounded copy of the plugin depended upon.
        name: Quoted,
        /// Where it first appeared.
        first: String,
    },
    /// A permission declared twice.
    #[error("permission {permission} is declared twice")]
    DuplicatePermission {
        /// The permission.
        permission: Permission,
    },
    /// A settings key declared twice.
    #[error("setting {key} is declared twice (first at {first})")]
    DuplicateSetting {
        /// A bounded copy of the key.
        key: Quoted,
        /// Where it first appeared.
        first: String,
    },
    /// A settings field whose declaration is wrong (bad key, a select without options, a default of the wrong
    /// type, ...).
    #[error("setting {key} is invalid: {reason}")]
    InvalidSetting {
        /// A bounded copy of the key.
        key: Quoted,
        /// What is wrong.
        reason: String,
    },
    /// A manifest page URL that is not the page's address.
    #[error("page url {found} is not the page's address {}", quote(expected))]
    PageUrlMismatch {
        /// A bounded copy of the URL given.
        found: Quoted,
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
    plugin: Quoted,
    problems: Vec<Problem>,
}

impl DefinitionError {
    pub(crate) fn new(plugin: &str, problems: Vec<Problem>) -> Self {
        Self {
            plugin: Quoted::new(plugin),
            problems,
        }
    }

    /// The plugin's name as written: all of it, or its first 64 characters when it was longer (see
    /// [`plugin_quoted`](Self::plugin_quoted)).
    pub fn plugin(&self) -> &str {
        self.plugin.kept()
    }

    /// The plugin's name as written, as a bounded quote that knows the original length.
    pub fn plugin_quoted(&self) -> &Quoted {
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
            "plugin {} has {n} definition problem{}:",
            self.plugin,
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}
