//! Shared vocabulary of Zelavis: the words every other crate speaks.
//!
//! - [`name`](mod@name): the one validated [`Name`](name::Name) for plugins, services and extension points;
//! - [`contract`]: plugin contract versions and the host-side check;
//! - [`surface`], [`menu`], [`page`]: navigation data and pages normalised to full HTML documents;
//! - [`path`]: the one grammar of menu, route and mount paths;
//! - [`address`], [`paths`]: where pages and APIs are mounted;
//! - [`service`]: services, the internal runtime unit, and the reserved core service names;
//! - [`platform`]: the platform summary every plugin sees at setup;
//! - [`bus`]: the event bus, hooks and filters owned by plugins;
//! - [`panic`](mod@panic): panic isolation, used at every boundary that runs plugin code;
//! - [`quote`]: bounded quoting of outside text in error messages.
//!
//! Most users import [`prelude`] (or the `zelavis` facade's prelude).

pub mod address;
pub mod bus;
pub mod contract;
pub mod menu;
pub mod name;
pub mod page;
pub mod panic;
pub mod path;
pub mod paths;
pub mod platform;
pub mod quote;
pub mod service;
pub mod surface;

/// The types most code needs.
pub mod prelude {
    pub use crate::address::{PageAddress, PageAddressError};
    pub use crate::bus::{
        Bus, BusError, EmitSummary, FilterRef, Filtered, HandlerError, HandlerFailure, HookRef, Subscription,
    };
    pub use crate::contract::{ContractError, ContractVersion, HOST_CONTRACT, ZELAVIS_PLUGIN_V1};
    pub use crate::menu::{MAX_MENU_DEPTH, Menu, MenuProblem};
    pub use crate::name;
    pub use crate::name::{Name, NameError};
    pub use crate::page::{
        Html, Page, PageEntry, PageError, PageId, PageResponse, RenderContext, RenderError, RenderOutput,
    };
    pub use crate::paths::ApiPaths;
    pub use crate::platform::PlatformSummary;
    pub use crate::service::{ServiceDef, ServiceError, ServiceRef, Services};
    pub use crate::surface::Surface;
}
