//! [`Menu`]: a plugin's or service's navigation tree (title, path, optional page, nested items, no depth limit),
//! and the rules a menu must follow.

use std::collections::HashMap;
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::page::{MenuPage, Page, PageIdError, validate_page_id};
use crate::surface::Surface;

/// A menu entry with optional page and nested items.
///
/// `P` is the page type: [`Page`] (with its render function) in plugin definitions, or
/// [`PageEntry`](crate::page::PageEntry) (data only) in manifests.
///
/// ```
/// use zelavis_core::menu::Menu;
/// use zelavis_core::page::Page;
///
/// let menu: Menu = Menu::new("Ecommerce")
///     .path("/ecommerce")
///     .page(Page::new("dashboard", "Dashboard", |_| "<h1>Shop</h1>"))
///     .item(Menu::new("Orders").path("/ecommerce/orders"))
///     .item(Menu::new("More").item(Menu::new("Customers").path("/ecommerce/customers")));
/// assert_eq!(menu.pages().count(), 1);
/// assert_eq!(menu.items[1].items[0].title, "Customers");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "P: Deserialize<'de>"))]
pub struct Menu<P = Page> {
    /// The label shown in navigation.
    pub title: String,
    /// The dashboard path, starting with `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The surface it is mounted in; only core services may set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<Surface>,
    /// The page shown when the entry is opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<P>,
    /// Nested entries (slides), without depth limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Menu<P>>,
}

impl<P> Menu<P> {
    /// An entry with a title and nothing else.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            path: None,
            surface: None,
            page: None,
            items: Vec::new(),
        }
    }

    /// Sets the path.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets the surface (core services only).
    pub fn surface(mut self, surface: Surface) -> Self {
        self.surface = Some(surface);
        self
    }

    /// Sets the page.
    pub fn page(mut self, page: P) -> Self {
        self.page = Some(page);
        self
    }

    /// Appends a nested entry.
    pub fn item(mut self, item: Menu<P>) -> Self {
        self.items.push(item);
        self
    }

    /// Appends nested entries.
    pub fn items(mut self, items: impl IntoIterator<Item = Menu<P>>) -> Self {
        self.items.extend(items);
        self
    }

    /// Every page in the tree, depth first, in menu order.
    pub fn pages(&self) -> impl Iterator<Item = &P> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            while let Some(node) = stack.pop() {
                stack.extend(node.items.iter().rev());
                if let Some(page) = &node.page {
                    return Some(page);
                }
            }
            None
        })
    }

    /// The same tree with each page mapped by `f`.
    pub fn map_pages<Q>(&self, f: &mut impl FnMut(&P) -> Q) -> Menu<Q> {
        Menu {
            title: self.title.clone(),
            path: self.path.clone(),
            surface: self.surface,
            page: self.page.as_ref().map(&mut *f),
            items: self.items.iter().map(|item| item.map_pages(f)).collect(),
        }
    }

    /// Number of entries in the tree, this one included.
    pub fn len(&self) -> usize {
        1 + self.items.iter().map(Menu::len).sum::<usize>()
    }

    /// Always `false`: a menu has at least its own entry.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Whose menu is being checked: plugin menus may not declare a surface, core service menus may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuOwner {
    /// A plugin: always mounted under Workspace.
    Plugin,
    /// A core service: may choose its surface.
    CoreService,
}

/// One broken menu rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MenuProblem {
    /// The title is empty or blank.
    #[error("menu title is empty")]
    EmptyTitle,
    /// A path that does not start with `/`.
    #[error("path {path:?} does not start with '/'")]
    PathNotAbsolute {
        /// The offending path.
        path: String,
    },
    /// A path with a `..` segment.
    #[error("path {path:?} contains '..'")]
    PathTraversal {
        /// The offending path.
        path: String,
    },
    /// A path with whitespace, `?`, `#` or `\`.
    #[error("path {path:?} has invalid character {ch:?}")]
    PathInvalidChar {
        /// The offending path.
        path: String,
        /// The character.
        ch: char,
    },
    /// Two entries share a path.
    #[error("duplicate menu path {path:?} (first at {first})")]
    DuplicatePath {
        /// The repeated path.
        path: String,
        /// Where it first appeared.
        first: String,
    },
    /// Two pages share an id.
    #[error("duplicate page id {id:?} (first at {first})")]
    DuplicatePageId {
        /// The repeated id.
        id: String,
        /// Where it first appeared.
        first: String,
    },
    /// A page id that breaks the page-id grammar.
    #[error(transparent)]
    InvalidPageId(#[from] PageIdError),
    /// A page with an empty title.
    #[error("page title is empty")]
    EmptyPageTitle,
    /// A plugin menu that declares a surface.
    #[error(
        "plugin menus must not declare a surface (found \"{surface}\"): plugin menus are always mounted under Workspace"
    )]
    PluginSurface {
        /// The declared surface.
        surface: Surface,
    },
    /// A surface on a nested entry (only the top entry chooses where the menu is mounted).
    #[error("only the top menu entry may declare a surface (found \"{surface}\")")]
    NestedSurface {
        /// The declared surface.
        surface: Surface,
    },
    /// A top-level entry with neither a path nor nested items leads nowhere.
    #[error("top-level menu has neither a path nor nested items")]
    EmptyTopLevel,
}

/// Checks every menu rule, returning each problem with where it is (`menu.items[1].page.id`).
///
/// `at` is the location of the top entry, e.g. `"menu"`.
///
/// ```
/// use zelavis_core::menu::{Menu, MenuOwner, MenuProblem, validate_menu};
/// use zelavis_core::page::PageEntry;
///
/// let menu: Menu<PageEntry> = Menu::new("Shop").path("shop").item(Menu::new("Again").path("/x")).item(Menu::new("X").path("/x"));
/// let problems = validate_menu(&menu, "menu", MenuOwner::Plugin);
/// assert_eq!(problems[0].0, "menu.path");
/// assert!(matches!(problems[0].1, MenuProblem::PathNotAbsolute { .. }));
/// assert_eq!(problems[1].0, "menu.items[1].path");
/// ```
pub fn validate_menu<P: MenuPage>(menu: &Menu<P>, at: &str, owner: MenuOwner) -> Vec<(String, MenuProblem)> {
    let mut walk = Walk {
        at,
        nodes: Vec::with_capacity(menu.len()),
        problems: Vec::new(),
        paths: HashMap::new(),
        page_ids: HashMap::new(),
    };
    if let Some(surface) = menu.surface
        && owner == MenuOwner::Plugin
    {
        walk.problems
            .push((format!("{at}.surface"), MenuProblem::PluginSurface { surface }));
    }
    if menu.path.is_none() && menu.items.is_empty() {
        walk.problems.push((at.to_owned(), MenuProblem::EmptyTopLevel));
    }
    walk.node(menu, None, 0);
    walk.problems
}

/// Walks a menu tree depth first. Locations are kept as (parent, position) links and only formatted into
/// `menu.items[1].page.id` text when a problem is reported, so a valid menu costs no string building.
struct Walk<'m> {
    at: &'m str,
    /// For each node in visit order: its parent's index and its position among the parent's items.
    nodes: Vec<(Option<usize>, usize)>,
    problems: Vec<(String, MenuProblem)>,
    paths: HashMap<&'m str, usize>,
    page_ids: HashMap<&'m str, usize>,
}

impl<'m> Walk<'m> {
    fn location(&self, node: usize, field: &str) -> String {
        let mut positions = Vec::new();
        let mut current = Some(node);
        while let Some(index) = current {
            let (parent, position) = self.nodes[index];
            if parent.is_some() {
                positions.push(position);
            }
            current = parent;
        }
        let mut out = self.at.to_owned();
        for position in positions.iter().rev() {
            let _ = write!(out, ".items[{position}]");
        }
        if !field.is_empty() {
            out.push('.');
            out.push_str(field);
        }
        out
    }

    fn report(&mut self, node: usize, field: &str, problem: MenuProblem) {
        let at = self.location(node, field);
        self.problems.push((at, problem));
    }

    fn node<P: MenuPage>(&mut self, menu: &'m Menu<P>, parent: Option<usize>, position: usize) {
        let index = self.nodes.len();
        self.nodes.push((parent, position));
        if menu.title.trim().is_empty() {
            self.report(index, "title", MenuProblem::EmptyTitle);
        }
        if parent.is_some()
            && let Some(surface) = menu.surface
        {
            self.report(index, "surface", MenuProblem::NestedSurface { surface });
        }
        if let Some(path) = &menu.path {
            match check_path(path) {
                Err(problem) => self.report(index, "path", problem),
                Ok(()) => {
                    if let Some(&first) = self.paths.get(path.as_str()) {
                        let problem = MenuProblem::DuplicatePath {
                            path: path.clone(),
                            first: self.location(first, "path"),
                        };
                        self.report(index, "path", problem);
                    } else {
                        self.paths.insert(path, index);
                    }
                }
            }
        }
        if let Some(page) = &menu.page {
            match validate_page_id(page.id()) {
                Err(e) => self.report(index, "page.id", e.into()),
                Ok(()) => {
                    if let Some(&first) = self.page_ids.get(page.id()) {
                        let problem = MenuProblem::DuplicatePageId {
                            id: page.id().to_owned(),
                            first: self.location(first, "page.id"),
                        };
                        self.report(index, "page.id", problem);
                    } else {
                        self.page_ids.insert(page.id(), index);
                    }
                }
            }
            if page.title().trim().is_empty() {
                self.report(index, "page.title", MenuProblem::EmptyPageTitle);
            }
        }
        for (i, item) in menu.items.iter().enumerate() {
            self.node(item, Some(index), i);
        }
    }
}

/// Checks one menu path: starts with `/`, no `..` segment, no whitespace, `?`, `#` or `\`.
pub fn check_path(path: &str) -> Result<(), MenuProblem> {
    if !path.starts_with('/') {
        return Err(MenuProblem::PathNotAbsolute { path: path.to_owned() });
    }
    if path.split('/').any(|segment| segment == "..") {
        return Err(MenuProblem::PathTraversal { path: path.to_owned() });
    }
    if let Some(ch) = path
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '?' | '#' | '\\'))
    {
        return Err(MenuProblem::PathInvalidChar {
            path: path.to_owned(),
            ch,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::PageEntry;

    fn page(id: &str) -> PageEntry {
        PageEntry {
            id: id.to_owned(),
            title: "T".to_owned(),
            url: None,
        }
    }

    #[test]
    fn a_good_menu_has_no_problems() {
        let menu: Menu<PageEntry> = Menu::new("Shop")
            .path("/shop")
            .page(page("dashboard"))
            .item(Menu::new("Orders").path("/shop/orders").page(page("orders")))
            .item(Menu::new("More").item(Menu::new("Customers").path("/shop/customers")));
        assert_eq!(validate_menu(&menu, "menu", MenuOwner::Plugin), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_location() {
        let menu: Menu<PageEntry> = Menu::new("Shop")
            .surface(Surface::Settings)
            .item(Menu::new("A").path("/a/../b").page(page("x")))
            .item(Menu::new("").path("/a").page(page("x")))
            .item(Menu::new("B").path("/a").page(page("Bad")).surface(Surface::Core));
        let problems = validate_menu(&menu, "menu", MenuOwner::Plugin);
        let at: Vec<&str> = problems.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(
            at,
            [
                "menu.surface",
                "menu.items[0].path",
                "menu.items[1].title",
                "menu.items[1].page.id",
                "menu.items[2].surface",
                "menu.items[2].path",
                "menu.items[2].page.id",
            ]
        );
        assert!(
            matches!(&problems[3].1, MenuProblem::DuplicatePageId { first, .. } if first == "menu.items[0].page.id")
        );
        assert!(matches!(&problems[5].1, MenuProblem::DuplicatePath { first, .. } if first == "menu.items[1].path"));
    }

    #[test]
    fn core_services_may_choose_a_surface_and_empty_top_is_refused() {
        let menu: Menu<PageEntry> = Menu::new("Auth").surface(Surface::Settings).path("/auth");
        assert!(validate_menu(&menu, "menu", MenuOwner::CoreService).is_empty());
        let empty: Menu<PageEntry> = Menu::new("Nothing");
        assert_eq!(
            validate_menu(&empty, "menu", MenuOwner::Plugin),
            vec![("menu".to_owned(), MenuProblem::EmptyTopLevel)]
        );
    }

    #[test]
    fn deep_menus_have_no_depth_limit() {
        let mut menu: Menu<PageEntry> = Menu::new("leaf").path("/leaf");
        for i in 0..200 {
            menu = Menu::new(format!("n{i}")).item(menu);
        }
        assert_eq!(menu.len(), 201);
        assert!(validate_menu(&menu, "menu", MenuOwner::Plugin).is_empty());
    }
}
