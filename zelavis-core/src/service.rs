//! Services: the internal runtime unit. A plugin registers services; core services are Zelavis' own.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use thiserror::Error;

use crate::menu::{Menu, MenuOwner, MenuProblem, validate_menu};
use crate::name::Name;

/// Service names only Zelavis' core may register.
pub const RESERVED_SERVICE_NAMES: &[&str] = &["auth", "dashboard", "database", "storage", "website"];

/// Whether `name` is reserved for a core service.
pub fn is_reserved_service_name(name: &Name) -> bool {
    RESERVED_SERVICE_NAMES.contains(&name.as_str())
}

/// A service: a name the runtime mounts, an optional menu, and an optional shared value other plugins can use.
///
/// ```
/// use zelavis_core::service::ServiceDef;
/// use zelavis_core::name::Name;
///
/// struct Mailer { from: &'static str }
/// let service = ServiceDef::new(Name::parse("mailer")?).value(Mailer { from: "shop@example.com" });
/// assert_eq!(service.get::<Mailer>().map(|m| m.from), Some("shop@example.com"));
/// # Ok::<(), zelavis_core::name::NameError>(())
/// ```
#[derive(Clone)]
pub struct ServiceDef {
    name: Name,
    menu: Option<Menu>,
    value: Option<Arc<dyn Any + Send + Sync>>,
    value_type: Option<&'static str>,
}

/// Why a service cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ServiceError {
    /// A plugin tried to register a core service name.
    #[error("service name {name:?} is reserved for zelavis core services")]
    Reserved {
        /// The reserved name.
        name: Name,
    },
    /// Another owner already registered a service with that name.
    #[error("service {name:?} is already registered by {owner}")]
    Duplicate {
        /// The service.
        name: Name,
        /// Who registered it first (`core` or `plugin "x"`).
        owner: String,
    },
    /// The service menu breaks a menu rule.
    #[error("service {name:?} menu: {at}: {problem}")]
    Menu {
        /// The service.
        name: Name,
        /// Where in the menu.
        at: String,
        /// The rule.
        problem: MenuProblem,
    },
}

impl ServiceDef {
    /// A service with this name.
    pub fn new(name: Name) -> Self {
        Self {
            name,
            menu: None,
            value: None,
            value_type: None,
        }
    }

    /// Gives the service a menu. A core service's menu may declare a surface; a plugin service's may not.
    pub fn menu(mut self, menu: Menu) -> Self {
        self.menu = Some(menu);
        self
    }

    /// Attaches a shared value (a client, an API object) that others read with [`ServiceDef::get`].
    pub fn value<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.value = Some(Arc::new(value));
        self.value_type = Some(std::any::type_name::<T>());
        self
    }

    /// The name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The menu, if any.
    pub fn menu_ref(&self) -> Option<&Menu> {
        self.menu.as_ref()
    }

    /// The value, if it has one of type `T`.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.value.as_deref().and_then(|v| v.downcast_ref::<T>())
    }

    /// Checks the service as registered by a plugin: not a reserved name, a valid menu without surface.
    pub fn check_for_plugin(&self) -> Result<(), ServiceError> {
        if is_reserved_service_name(&self.name) {
            return Err(ServiceError::Reserved {
                name: self.name.clone(),
            });
        }
        self.check_menu(MenuOwner::Plugin)
    }

    /// Checks the service as registered by the core: a valid menu, which may declare a surface.
    pub fn check_for_core(&self) -> Result<(), ServiceError> {
        self.check_menu(MenuOwner::CoreService)
    }

    fn check_menu(&self, owner: MenuOwner) -> Result<(), ServiceError> {
        let Some(menu) = &self.menu else {
            return Ok(());
        };
        match validate_menu(menu, "menu", owner).into_iter().next() {
            Some((at, problem)) => Err(ServiceError::Menu {
                name: self.name.clone(),
                at,
                problem,
            }),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for ServiceDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceDef")
            .field("name", &self.name)
            .field("menu", &self.menu.as_ref().map(|m| &m.title))
            .field("value_type", &self.value_type)
            .finish_non_exhaustive()
    }
}

/// A typed handle to a service: its name, checked when the crate compiles, and the type of its value.
///
/// The crate that provides the service publishes the handle as a `const`; its setup provides the value with
/// `SetupContext::provide`, and everyone else reads it with [`Services::value_of`] — no name parsing and no
/// string-keyed downcast on either side.
///
/// ```
/// use zelavis_core::service::{RegisteredService, ServiceRef, Services};
///
/// pub struct Mailer { pub from: &'static str }
/// pub const MAILER: ServiceRef<Mailer> = ServiceRef::new("mailer");
///
/// let services = Services::new(vec![RegisteredService { service: MAILER.def(Mailer { from: "shop@example.com" }), owner: None }]);
/// assert_eq!(services.value_of(&MAILER).map(|m| m.from), Some("shop@example.com"));
/// ```
///
/// A name that breaks the [name grammar](mod@crate::name) does not compile:
///
/// ```compile_fail
/// use zelavis_core::service::ServiceRef;
/// const BAD: ServiceRef<u32> = ServiceRef::new("Mailer");
/// ```
pub struct ServiceRef<T: ?Sized> {
    name: &'static str,
    value: std::marker::PhantomData<fn() -> T>,
}

impl<T: ?Sized> ServiceRef<T> {
    /// A handle to service `name`.
    ///
    /// # Panics
    ///
    /// When `name` breaks the [name grammar](mod@crate::name) — at compile time when the handle is a `const`, as it
    /// should be.
    pub const fn new(name: &'static str) -> Self {
        assert!(crate::name::is_valid_name(name), "invalid service name");
        Self {
            name,
            value: std::marker::PhantomData,
        }
    }

    /// The service's name.
    pub const fn name_str(&self) -> &'static str {
        self.name
    }

    /// The service's name as a [`Name`].
    pub fn name(&self) -> Name {
        Name::from_static(self.name)
    }
}

impl<T: Any + Send + Sync> ServiceRef<T> {
    /// The service definition carrying `value`.
    pub fn def(&self, value: T) -> ServiceDef {
        ServiceDef::new(self.name()).value(value)
    }
}

impl<T: ?Sized> Clone for ServiceRef<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for ServiceRef<T> {}

impl<T: ?Sized> fmt::Debug for ServiceRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ServiceRef").field(&self.name).finish()
    }
}

/// A registered service and who owns it (`None` for core services).
#[derive(Debug, Clone)]
pub struct RegisteredService {
    /// The service.
    pub service: ServiceDef,
    /// The plugin that registered it; `None` for a core service.
    pub owner: Option<Name>,
}

/// The services collected so far, in registration order, keyed by name.
///
/// Backed by persistent maps: cloning is O(1) and changing a clone costs O(log n), so a runtime can publish a
/// snapshot after every change without copying every service.
#[derive(Debug, Clone, Default)]
pub struct Services {
    by_name: imbl::HashMap<Name, (u64, RegisteredService)>,
    order: imbl::OrdMap<u64, Name>,
    next: u64,
}

impl Services {
    /// A collection from registered services (a later duplicate name replaces an earlier one in place).
    pub fn new(entries: Vec<RegisteredService>) -> Self {
        let mut services = Self::default();
        for entry in entries {
            services.insert(entry);
        }
        services
    }

    /// Looks a service up by name.
    pub fn get(&self, name: &str) -> Option<&RegisteredService> {
        self.by_name.get(name).map(|(_, s)| s)
    }

    /// The value of service `name`, if it has one of type `T`. With a [`ServiceRef`], prefer
    /// [`value_of`](Self::value_of).
    pub fn value<T: Any + Send + Sync>(&self, name: &str) -> Option<&T> {
        self.get(name).and_then(|s| s.service.get::<T>())
    }

    /// The value of the service behind `service`, if it is registered with a value of its type.
    pub fn value_of<T: Any + Send + Sync>(&self, service: &ServiceRef<T>) -> Option<&T> {
        self.value(service.name)
    }

    /// Every service, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredService> {
        self.order.values().filter_map(|name| self.get(name.as_str()))
    }

    /// How many services there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Adds a service; a service of the same name is replaced in place. Callers check ownership first.
    pub fn insert(&mut self, service: RegisteredService) {
        let name = service.service.name().clone();
        let seq = if let Some((seq, _)) = self.by_name.get(&name) {
            *seq
        } else {
            self.next += 1;
            self.order.insert(self.next, name.clone());
            self.next
        };
        self.by_name.insert(name, (seq, service));
    }

    /// Removes the service `name`, returning it.
    pub fn remove(&mut self, name: &str) -> Option<RegisteredService> {
        let (seq, service) = self.by_name.remove(name)?;
        self.order.remove(&seq);
        Some(service)
    }

    /// Keeps only the services for which `keep` is true, preserving order. O(n): prefer [`remove`](Self::remove)
    /// when the names are known.
    pub fn retain(&mut self, mut keep: impl FnMut(&RegisteredService) -> bool) {
        let gone: Vec<Name> = self
            .iter()
            .filter(|s| !keep(s))
            .map(|s| s.service.name().clone())
            .collect();
        for name in gone {
            self.remove(name.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::Surface;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn plugins_may_not_take_core_names() {
        for reserved in RESERVED_SERVICE_NAMES {
            let err = ServiceDef::new(name(reserved)).check_for_plugin().unwrap_err();
            assert!(matches!(err, ServiceError::Reserved { .. }));
            assert!(ServiceDef::new(name(reserved)).check_for_core().is_ok());
        }
        assert!(ServiceDef::new(name("mailer")).check_for_plugin().is_ok());
    }

    #[test]
    fn only_core_menus_choose_a_surface() {
        let service =
            ServiceDef::new(name("billing")).menu(Menu::new("Billing").path("/billing").surface(Surface::Settings));
        assert!(service.check_for_core().is_ok());
        assert!(matches!(
            service.check_for_plugin(),
            Err(ServiceError::Menu {
                problem: MenuProblem::PluginSurface { .. },
                ..
            })
        ));
    }

    #[test]
    fn a_100k_deep_service_menu_is_a_typed_error_not_a_stack_overflow() {
        let check = || {
            let mut menu = Menu::new("leaf").path("/leaf");
            for _ in 0..100_000 {
                menu = Menu::new("n").item(menu);
            }
            let service = ServiceDef::new(name("deep")).menu(menu);
            for result in [service.check_for_plugin(), service.check_for_core()] {
                assert!(matches!(
                    result,
                    Err(ServiceError::Menu {
                        problem: MenuProblem::TooDeep { .. },
                        ..
                    })
                ));
            }
            let copy = service.clone();
            drop((service, copy));
        };
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(check)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn values_are_typed() {
        let services = Services::new(vec![RegisteredService {
            service: ServiceDef::new(name("counter")).value(41_u32),
            owner: None,
        }]);
        assert_eq!(services.value::<u32>("counter"), Some(&41));
        assert_eq!(services.value::<u64>("counter"), None);
        assert!(services.get("missing").is_none());
    }

    #[test]
    fn order_survives_replacement_and_removal() {
        let service = |n: &str| RegisteredService {
            service: ServiceDef::new(name(n)),
            owner: None,
        };
        let mut services = Services::new(vec![service("a"), service("b"), service("c")]);
        let snapshot = services.clone();
        services.insert(service("a"));
        services.remove("b");
        services.insert(service("d"));
        let names: Vec<&str> = services.iter().map(|s| s.service.name().as_str()).collect();
        assert_eq!(names, ["a", "c", "d"]);
        assert_eq!(snapshot.len(), 3, "a clone is a snapshot");
        services.retain(|s| s.service.name() != "c");
        assert_eq!(services.len(), 2);
    }
}
