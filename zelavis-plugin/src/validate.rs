//! The rules of a plugin definition, applied in one place to builder input and to parsed manifests alike.

use std::collections::HashMap;

use semver::{Version, VersionReq};
use zelavis_core::address::PageAddress;
use zelavis_core::contract::ContractVersion;
use zelavis_core::menu::{MAX_MENU_DEPTH, Menu, MenuOwner, validate_menu};
use zelavis_core::name::Name;
use zelavis_core::page::{MenuPage, PageEntry, PageId};
use zelavis_core::quote::Quoted;

use crate::dependency::Dependency;
use crate::error::{Problem, ProblemKind};
use crate::extension::{Extends, ExtensionPoint, Policy};
use crate::manifest::PluginManifest;
use crate::permission::Permission;
use crate::settings::SettingField;

/// A definition as written, before any rule is checked: names and versions are still text.
pub(crate) struct Draft<'a, P = PageEntry> {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) contract: ContractVersion,
    pub(crate) description: String,
    pub(crate) extends: Option<(String, String)>,
    pub(crate) extension_points: Vec<DraftPoint>,
    pub(crate) menu: Option<&'a Menu<P>>,
    pub(crate) dependencies: Vec<(String, Option<String>)>,
    pub(crate) permissions: Vec<Permission>,
    pub(crate) settings: Vec<SettingField>,
    pub(crate) has_top_level_setup: bool,
}

pub(crate) struct DraftPoint {
    pub(crate) name: String,
    pub(crate) policy: Policy,
    pub(crate) allowed: Vec<String>,
    /// The plugin a typed handle belongs to, when the point was declared through one.
    pub(crate) owner: Option<&'static str>,
}

impl<'a> Draft<'a, PageEntry> {
    /// The draft of an already-typed manifest, so parsed manifests pass through the same rules.
    pub(crate) fn of_manifest(manifest: &'a PluginManifest) -> Self {
        Self {
            name: manifest.name.to_string(),
            version: manifest.version.to_string(),
            contract: manifest.contract.clone(),
            description: manifest.description.clone(),
            extends: manifest
                .extends
                .as_ref()
                .map(|e| (e.plugin.to_string(), e.extension_point.to_string())),
            extension_points: manifest
                .extension_points
                .iter()
                .map(|p| DraftPoint {
                    name: p.name.to_string(),
                    policy: p.policy,
                    allowed: p.allowed_plugins.iter().map(ToString::to_string).collect(),
                    owner: None,
                })
                .collect(),
            menu: manifest.menu.as_ref(),
            dependencies: manifest
                .dependencies
                .iter()
                .map(|d| (d.plugin.to_string(), d.version.as_ref().map(ToString::to_string)))
                .collect(),
            permissions: manifest.permissions.clone(),
            settings: manifest.settings.clone(),
            has_top_level_setup: false,
        }
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, at: impl Into<String>, kind: impl Into<ProblemKind>) {
        self.0.push(Problem {
            at: at.into(),
            kind: kind.into(),
        });
    }

    fn name(&mut self, at: impl Into<String>, text: &str) -> Option<Name> {
        Name::parse(text).map_err(|e| self.push(at, e)).ok()
    }

    /// Records `at` as the first place of `key`; when `key` was seen before, returns where.
    fn first<'a>(seen: &'a mut HashMap<String, String>, key: &str, at: &str) -> Option<&'a String> {
        if seen.contains_key(key) {
            return seen.get(key);
        }
        seen.insert(key.to_owned(), at.to_owned());
        None
    }
}

/// Checks every rule and returns the typed manifest, or every problem found.
pub(crate) fn compile<P: MenuPage>(draft: Draft<'_, P>) -> Result<PluginManifest, Vec<Problem>> {
    let mut p = Problems::default();
    let name = p.name("name", &draft.name);
    let version = Version::parse(&draft.version)
        .map_err(|e| {
            p.push(
                "version",
                ProblemKind::InvalidVersion {
                    value: Quoted::new(&draft.version),
                    reason: e.to_string(),
                },
            );
        })
        .ok();

    let extension_points = points(&mut p, &draft);
    let extends = extends(&mut p, &draft);
    if let Some(menu) = draft.menu {
        for (at, problem) in validate_menu(menu, "menu", MenuOwner::Plugin) {
            p.push(at, problem);
        }
        if let Some(name) = &name {
            check_urls(&mut p, name, menu, "menu");
        }
    }
    let dependencies = dependencies(&mut p, &draft);
    let mut seen = Vec::new();
    for (i, permission) in draft.permissions.iter().enumerate() {
        if seen.contains(permission) {
            p.push(
                format!("permissions[{i}]"),
                ProblemKind::DuplicatePermission {
                    permission: *permission,
                },
            );
        }
        seen.push(*permission);
    }

    let mut keys = HashMap::new();
    for (i, field) in draft.settings.iter().enumerate() {
        let at = format!("settings[{i}]");
        if let Some(first) = Problems::first(&mut keys, &field.key, &format!("{at}.key")) {
            let kind = ProblemKind::DuplicateSetting {
                key: Quoted::new(&field.key),
                first: first.clone(),
            };
            p.push(format!("{at}.key"), kind);
        }
        if let Some(reason) = field.declaration_problem() {
            p.push(
                at,
                ProblemKind::InvalidSetting {
                    key: Quoted::new(&field.key),
                    reason,
                },
            );
        }
    }

    match (name, version) {
        (Some(name), Some(version)) if p.0.is_empty() => {
            let menu = draft.menu.map(|menu| with_urls(&name, menu));
            Ok(PluginManifest {
                schema: None,
                name,
                version,
                contract: draft.contract,
                description: draft.description,
                extends,
                extension_points,
                menu,
                dependencies,
                permissions: draft.permissions,
                settings: draft.settings,
            })
        }
        _ => Err(p.0),
    }
}

fn points<P>(p: &mut Problems, draft: &Draft<'_, P>) -> Vec<ExtensionPoint> {
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (i, point) in draft.extension_points.iter().enumerate() {
        let at = format!("extension_points[{i}]");
        let name = p.name(format!("{at}.name"), &point.name);
        if let Some(first) = Problems::first(&mut seen, &point.name, &format!("{at}.name")) {
            let kind = ProblemKind::DuplicateExtensionPoint {
                name: Quoted::new(&point.name),
                first: first.clone(),
            };
            p.push(format!("{at}.name"), kind);
        }
        if let Some(owner) = point.owner
            && owner != draft.name
        {
            p.push(
                at.clone(),
                ProblemKind::ForeignExtensionPoint {
                    extension_point: Quoted::new(&point.name),
                    owner: Quoted::new(owner),
                    plugin: Quoted::new(&draft.name),
                },
            );
        }
        if point.policy == Policy::Open && !point.allowed.is_empty() {
            p.push(
                format!("{at}.allowed_plugins"),
                ProblemKind::AllowListOnOpenPoint {
                    name: Quoted::new(&point.name),
                },
            );
        }
        let mut allowed = Vec::new();
        let mut seen_allowed = HashMap::new();
        for (j, child) in point.allowed.iter().enumerate() {
            let here = format!("{at}.allowed_plugins[{j}]");
            if let Some(first) = Problems::first(&mut seen_allowed, child, &here) {
                let kind = ProblemKind::DuplicateAllowedPlugin {
                    name: Quoted::new(child),
                    first: first.clone(),
                };
                p.push(here.clone(), kind);
            }
            allowed.extend(p.name(here, child));
        }
        if let Some(name) = name {
            out.push(ExtensionPoint {
                name,
                policy: point.policy,
                allowed_plugins: allowed,
            });
        }
    }
    out
}

fn extends<P>(p: &mut Problems, draft: &Draft<'_, P>) -> Option<Extends> {
    let (plugin, point) = draft.extends.as_ref()?;
    if plugin == &draft.name {
        p.push(
            "extends.plugin",
            ProblemKind::ExtendsSelf {
                plugin: Quoted::new(&draft.name),
            },
        );
    }
    if !draft.extension_points.is_empty() {
        p.push("extension_points", ProblemKind::ChildDeclaresExtensionPoints);
    }
    if draft.menu.is_some() {
        p.push("menu", ProblemKind::ChildDeclaresMenu);
    }
    if draft.has_top_level_setup {
        p.push("setup", ProblemKind::ChildWithTopLevelSetup);
    }
    let plugin = p.name("extends.plugin", plugin);
    let extension_point = p.name("extends.extension_point", point);
    Some(Extends {
        plugin: plugin?,
        extension_point: extension_point?,
    })
}

fn dependencies<P>(p: &mut Problems, draft: &Draft<'_, P>) -> Vec<Dependency> {
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (i, (plugin, requirement)) in draft.dependencies.iter().enumerate() {
        let at = format!("dependencies[{i}].plugin");
        if plugin == &draft.name {
            p.push(
                at.clone(),
                ProblemKind::DependsOnSelf {
                    plugin: Quoted::new(&draft.name),
                },
            );
        }
        if let Some(first) = Problems::first(&mut seen, plugin, &at) {
            let kind = ProblemKind::DuplicateDependency {
                name: Quoted::new(plugin),
                first: first.clone(),
            };
            p.push(at.clone(), kind);
        }
        let name = p.name(at, plugin);
        let version = match requirement {
            None => Some(None),
            Some(text) => VersionReq::parse(text)
                .map(Some)
                .map_err(|e| {
                    p.push(
                        format!("dependencies[{i}].version"),
                        ProblemKind::InvalidVersionReq {
                            value: Quoted::new(text),
                            reason: e.to_string(),
                        },
                    );
                })
                .ok(),
        };
        if let (Some(plugin), Some(version)) = (name, version) {
            out.push(Dependency { plugin, version });
        }
    }
    out
}

fn address(plugin: &Name, id: &str) -> Option<String> {
    PageId::parse(id)
        .ok()
        .map(|page| PageAddress::new(plugin.clone(), page).path())
}

fn check_urls<P: MenuPage>(p: &mut Problems, plugin: &Name, menu: &Menu<P>, at: &str) {
    // Locations are only formatted for a mismatch; most menus (every builder menu) carry no URLs at all.
    if menu.pages().all(|page| page.url().is_none()) {
        return;
    }
    // Depth first, in menu order, without recursion; each entry carries its location and depth. Entries
    // past the depth limit were refused already (`MenuProblem::TooDeep`) and are not walked.
    let mut stack = vec![(menu, at.to_owned(), 1)];
    while let Some((node, here, depth)) = stack.pop() {
        if let Some(page) = &node.page
            && let (Some(found), Some(expected)) = (page.url(), address(plugin, page.id()))
            && found != expected
        {
            p.push(
                format!("{here}.page.url"),
                ProblemKind::PageUrlMismatch {
                    found: Quoted::new(found),
                    expected,
                },
            );
        }
        if depth < MAX_MENU_DEPTH {
            for (i, item) in node.items.iter().enumerate().rev() {
                stack.push((item, format!("{here}.items[{i}]"), depth + 1));
            }
        }
    }
}

fn with_urls<P: MenuPage>(plugin: &Name, menu: &Menu<P>) -> Menu<PageEntry> {
    menu.map_pages(&mut |page| PageEntry {
        id: page.id().to_owned(),
        title: page.title().to_owned(),
        url: address(plugin, page.id()),
    })
}
