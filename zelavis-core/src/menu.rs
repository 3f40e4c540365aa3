//! [`Menu`]: a plugin's or service's navigation tree (title, path, optional page, nested items, at most
//! [`MAX_MENU_DEPTH`] levels), and the rules a menu must follow.
//!
//! # Depth
//!
//! A menu is nested at most [`MAX_MENU_DEPTH`] levels deep, its top entry included; [`validate_menu`] refuses a
//! deeper one with [`MenuProblem::TooDeep`], at the first entry past the limit. The bound keeps every menu a
//! definition accepts inside `serde_json`'s recursion limit of 128 (a menu level is two JSON levels, an object
//! and its `items` array), so an accepted menu always survives a JSON round trip.
//!
//! Everything that walks a menu does so without recursion, so that even a menu built far deeper than the
//! limit (the builder cannot stop anyone nesting 100,000 levels) is validated, cloned, compared, counted and
//! dropped in constant stack space: it is refused, never a stack overflow. [`Debug`](std::fmt::Debug) and
//! [`Serialize`] recurse, but at most [`MAX_MENU_DEPTH`] levels: `Debug` elides deeper entries and
//! serialising a too-deep menu is an error.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use schemars::JsonSchema;
use serde::ser::{Error as _, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::page::{MenuPage, Page, PageIdError, validate_page_id};
use crate::path::PathError;
use crate::quote::quote;
use crate::surface::Surface;

/// How many levels a menu may be nested, its top entry included (see [depth](self#depth)).
pub const MAX_MENU_DEPTH: usize = 32;

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
// `Clone`, `PartialEq`, `Debug`, `Serialize` and `Drop` are written by hand below: derived ones recurse once
// per level, without bound.
#[derive(Deserialize, JsonSchema)]
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
    /// Nested entries (slides); a menu is at most 32 levels deep (`MAX_MENU_DEPTH`), its top entry included.
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

    /// The same tree with each page mapped by `f`, in menu order.
    pub fn map_pages<Q>(&self, f: &mut impl FnMut(&P) -> Q) -> Menu<Q> {
        self.map_nodes(|node| Menu {
            title: node.title.clone(),
            path: node.path.clone(),
            surface: node.surface,
            page: node.page.as_ref().map(&mut *f),
            items: Vec::with_capacity(node.items.len()),
        })
    }

    /// Number of entries in the tree, this one included.
    pub fn len(&self) -> usize {
        let mut count = 0;
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            count += 1;
            stack.extend(&node.items);
        }
        count
    }

    /// Always `false`: a menu has at least its own entry.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// How many levels the tree has: 1 for an entry without items.
    ///
    /// ```
    /// use zelavis_core::menu::Menu;
    ///
    /// let menu: Menu = Menu::new("A").item(Menu::new("B").item(Menu::new("C"))).item(Menu::new("D"));
    /// assert_eq!(menu.depth(), 3);
    /// ```
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(self, 1)];
        while let Some((node, depth)) = stack.pop() {
            deepest = deepest.max(depth);
            stack.extend(node.items.iter().map(|item| (item, depth + 1)));
        }
        deepest
    }

    /// The same tree with each entry replaced by `shallow(entry)` (whose `items` must be empty), built without
    /// recursion: children are appended to their copied parent in order.
    fn map_nodes<Q>(&self, mut shallow: impl FnMut(&Menu<P>) -> Menu<Q>) -> Menu<Q> {
        // `sources[i]` is the entry being copied at depth `i` and the index of its next item to copy;
        // `built[i]` is its copy so far.
        let mut sources = vec![(self, 0_usize)];
        let mut built = vec![shallow(self)];
        loop {
            let Some((node, next)) = sources.last_mut() else {
                unreachable!("the root is popped only when the copy is returned");
            };
            if let Some(item) = node.items.get(*next) {
                *next += 1;
                built.push(shallow(item));
                sources.push((item, 0));
                continue;
            }
            sources.pop();
            let Some(done) = built.pop() else {
                unreachable!("`built` and `sources` have the same length");
            };
            match built.last_mut() {
                Some(parent) => parent.items.push(done),
                None => return done,
            }
        }
    }
}

impl<P: Clone> Clone for Menu<P> {
    fn clone(&self) -> Self {
        self.map_nodes(|node| Menu {
            title: node.title.clone(),
            path: node.path.clone(),
            surface: node.surface,
            page: node.page.clone(),
            items: Vec::with_capacity(node.items.len()),
        })
    }
}

impl<P: PartialEq> PartialEq for Menu<P> {
    fn eq(&self, other: &Self) -> bool {
        let mut stack = vec![(self, other)];
        while let Some((a, b)) = stack.pop() {
            let same_entry = a.title == b.title
                && a.path == b.path
                && a.surface == b.surface
                && a.page == b.page
                && a.items.len() == b.items.len();
            if !same_entry {
                return false;
            }
            stack.extend(a.items.iter().zip(&b.items));
        }
        true
    }
}

impl<P: Eq> Eq for Menu<P> {}

impl<P> Drop for Menu<P> {
    fn drop(&mut self) {
        // Most menus are shallow: when every item is a leaf, the default drop recurses only once.
        if self.items.iter().all(|item| item.items.is_empty()) {
            return;
        }
        // Otherwise move every descendant onto a heap stack, so each is dropped with no items left.
        let mut stack = std::mem::take(&mut self.items);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.items);
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for Menu<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DebugAt { menu: self, depth: 1 }.fmt(f)
    }
}

/// One entry formatted at `depth`; the items of an entry at [`MAX_MENU_DEPTH`] are summarised, not formatted.
struct DebugAt<'a, P> {
    menu: &'a Menu<P>,
    depth: usize,
}

impl<P: fmt::Debug> fmt::Debug for DebugAt<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let menu = self.menu;
        let mut out = f.debug_struct("Menu");
        out.field("title", &menu.title)
            .field("path", &menu.path)
            .field("surface", &menu.surface)
            .field("page", &menu.page);
        if self.depth >= MAX_MENU_DEPTH && !menu.items.is_empty() {
            let nested = menu.len() - 1;
            out.field(
                "items",
                &format_args!("[… {nested} entries deeper than {MAX_MENU_DEPTH} levels]"),
            );
        } else {
            let items: Vec<DebugAt<'_, P>> = menu
                .items
                .iter()
                .map(|item| DebugAt {
                    menu: item,
                    depth: self.depth + 1,
                })
                .collect();
            out.field("items", &items);
        }
        out.finish()
    }
}

impl<P: Serialize> Serialize for Menu<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SerializeAt { menu: self, depth: 1 }.serialize(serializer)
    }
}

/// One entry serialised at `depth`: an error past [`MAX_MENU_DEPTH`], so the recursion stays bounded.
struct SerializeAt<'a, P> {
    menu: &'a Menu<P>,
    depth: usize,
}

impl<P: Serialize> Serialize for SerializeAt<'_, P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.depth > MAX_MENU_DEPTH {
            return Err(S::Error::custom(format_args!(
                "menu is nested deeper than {MAX_MENU_DEPTH} levels"
            )));
        }
        let menu = self.menu;
        let fields = 1
            + usize::from(menu.path.is_some())
            + usize::from(menu.surface.is_some())
            + usize::from(menu.page.is_some())
            + usize::from(!menu.items.is_empty());
        let mut out = serializer.serialize_struct("Menu", fields)?;
        out.serialize_field("title", &menu.title)?;
        match &menu.path {
            Some(path) => out.serialize_field("path", path)?,
            None => out.skip_field("path")?,
        }
        match &menu.surface {
            Some(surface) => out.serialize_field("surface", surface)?,
            None => out.skip_field("surface")?,
        }
        match &menu.page {
            Some(page) => out.serialize_field("page", page)?,
            None => out.skip_field("page")?,
        }
        if menu.items.is_empty() {
            out.skip_field("items")?;
        } else {
            let items: Vec<SerializeAt<'_, P>> = menu
                .items
                .iter()
                .map(|item| SerializeAt {
                    menu: item,
                    depth: self.depth + 1,
                })
                .collect();
            out.serialize_field("items", &items)?;
        }
        out.end()
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
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "problem", content = "detail", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MenuProblem {
    /// The title is empty or blank.
    #[error("menu title is empty")]
    EmptyTitle,
    /// A path that breaks the [path grammar](crate::path).
    #[error(transparent)]
    Path(#[from] PathError),
    /// Two entries share a path.
    #[error("duplicate menu path {} (first at {first})", quote(path))]
    DuplicatePath {
        /// The repeated path.
        path: String,
        /// Where it first appeared.
        first: String,
    },
    /// Two pages share an id.
    #[error("duplicate page id {} (first at {first})", quote(id))]
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
    /// An entry nested deeper than [`MAX_MENU_DEPTH`] levels; reported once, at the first entry past the
    /// limit, whose items are not checked.
    #[error("menu is nested deeper than {max} levels")]
    TooDeep {
        /// The limit, [`MAX_MENU_DEPTH`].
        max: usize,
    },
}

/// Checks every menu rule, returning each problem with where it is (`menu.items[1].page.id`).
///
/// `at` is the location of the top entry, e.g. `"menu"`.
///
/// ```
/// use zelavis_core::menu::{Menu, MenuOwner, MenuProblem, validate_menu};
/// use zelavis_core::page::PageEntry;
/// use zelavis_core::path::PathError;
///
/// let menu: Menu<PageEntry> = Menu::new("Shop").path("shop").item(Menu::new("Again").path("/x")).item(Menu::new("X").path("/x"));
/// let problems = validate_menu(&menu, "menu", MenuOwner::Plugin);
/// assert_eq!(problems[0].0, "menu.path");
/// assert!(matches!(problems[0].1, MenuProblem::Path(PathError::NotAbsolute { .. })));
/// assert_eq!(problems[1].0, "menu.items[1].path");
/// ```
pub fn validate_menu<P: MenuPage>(menu: &Menu<P>, at: &str, owner: MenuOwner) -> Vec<(String, MenuProblem)> {
    let mut walk = Walk {
        at,
        nodes: Vec::new(),
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
    // Depth first, in menu order, with a heap stack: (entry, parent, position among the parent's items, depth).
    let mut stack = vec![(menu, None, 0, 1)];
    while let Some((node, parent, position, depth)) = stack.pop() {
        let index = walk.node(node, parent, position);
        if depth == MAX_MENU_DEPTH && !node.items.is_empty() {
            // Reported at the first nested entry; its subtree (perhaps 100,000 levels) is not walked.
            walk.nodes.push((Some(index), 0));
            let deeper = walk.nodes.len() - 1;
            walk.report(deeper, "", MenuProblem::TooDeep { max: MAX_MENU_DEPTH });
            continue;
        }
        stack.extend(
            node.items
                .iter()
                .enumerate()
                .rev()
                .map(|(i, item)| (item, Some(index), i, depth + 1)),
        );
    }
    walk.problems
}

/// The state of a depth-first walk over a menu tree. Locations are kept as (parent, position) links and only formatted into
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

    /// Checks one entry's own rules and returns its index.
    fn node<P: MenuPage>(&mut self, menu: &'m Menu<P>, parent: Option<usize>, position: usize) -> usize {
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
        index
    }
}

/// Checks one menu path against the [path grammar](crate::path) (no route parameters).
pub fn check_path(path: &str) -> Result<(), MenuProblem> {
    Ok(crate::path::check(path)?)
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

    /// A menu `levels` deep: `n0 > n1 > ... > leaf`, the leaf with a path and a page.
    fn nested(levels: usize) -> Menu<PageEntry> {
        let mut menu: Menu<PageEntry> = Menu::new("leaf").path("/leaf").page(page("leaf"));
        for i in 1..levels {
            menu = Menu::new(format!("n{i}")).item(menu);
        }
        menu
    }

    fn location(levels: usize) -> String {
        format!("menu{}", ".items[0]".repeat(levels - 1))
    }

    #[test]
    fn menus_are_accepted_up_to_the_depth_limit() {
        let deepest = nested(MAX_MENU_DEPTH);
        assert_eq!((deepest.len(), deepest.depth()), (MAX_MENU_DEPTH, MAX_MENU_DEPTH));
        assert!(validate_menu(&deepest, "menu", MenuOwner::Plugin).is_empty());

        let too_deep = nested(MAX_MENU_DEPTH + 1);
        assert_eq!(
            validate_menu(&too_deep, "menu", MenuOwner::Plugin),
            vec![(
                location(MAX_MENU_DEPTH + 1),
                MenuProblem::TooDeep { max: MAX_MENU_DEPTH }
            )]
        );
    }

    #[test]
    fn a_menu_at_the_limit_round_trips_through_json_and_a_deeper_one_does_not_serialise() {
        let deepest = nested(MAX_MENU_DEPTH);
        let text = serde_json::to_string(&deepest).unwrap();
        assert_eq!(serde_json::from_str::<Menu<PageEntry>>(&text).unwrap(), deepest);
        let error = serde_json::to_string(&nested(MAX_MENU_DEPTH + 1)).unwrap_err();
        assert!(error.to_string().contains("deeper than 32 levels"), "{error}");
    }

    #[test]
    fn hand_written_impls_match_the_derived_behaviour() {
        let menu: Menu<PageEntry> = Menu::new("Shop")
            .path("/shop")
            .surface(Surface::Core)
            .page(page("home"))
            .item(Menu::new("A").item(Menu::new("B").path("/b")))
            .item(Menu::new("C"));
        let copy = menu.clone();
        assert_eq!(copy, menu);
        assert_ne!(copy, menu.clone().item(Menu::new("D")));
        let mut other = menu.clone();
        other.items[0].items[0].title = "changed".into();
        assert_ne!(other, menu);
        assert_eq!(
            serde_json::to_value(&menu).unwrap(),
            serde_json::json!({
                "title": "Shop", "path": "/shop", "surface": "core", "page": {"id": "home", "title": "T"},
                "items": [{"title": "A", "items": [{"title": "B", "path": "/b"}]}, {"title": "C"}]
            })
        );
        let debug = format!("{menu:?}");
        assert!(
            debug.starts_with("Menu { title: \"Shop\", path: Some(\"/shop\")"),
            "{debug}"
        );
        let ids: Vec<String> = menu.map_pages(&mut |p| p.id.clone()).pages().cloned().collect();
        assert_eq!(ids, ["home"]);
    }

    /// Runs `f` on a thread with a small stack: any walk that recursed once per level would overflow it.
    fn on_a_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn a_100k_deep_menu_is_refused_cloned_compared_and_dropped_without_recursion() {
        on_a_small_stack(|| {
            let menu = nested(100_000);
            assert_eq!((menu.len(), menu.depth()), (100_000, 100_000));
            let problems = validate_menu(&menu, "menu", MenuOwner::Plugin);
            assert_eq!(
                problems,
                vec![(
                    location(MAX_MENU_DEPTH + 1),
                    MenuProblem::TooDeep { max: MAX_MENU_DEPTH }
                )]
            );
            let copy = menu.clone();
            assert!(copy == menu);
            assert_eq!(menu.pages().count(), 1);
            let mapped = menu.map_pages(&mut |p| p.id.len());
            assert_eq!(mapped.pages().copied().collect::<Vec<_>>(), [4]);
            assert!(serde_json::to_string(&menu).is_err());
            let debug = format!("{menu:?}");
            assert!(debug.contains("entries deeper than 32 levels") && debug.len() < 10_000);
            drop((menu, copy, mapped));
        });
    }
}
