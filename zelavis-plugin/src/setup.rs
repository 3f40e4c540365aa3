//! Setup: the code a plugin runs when it activates. Async by trait, with sync-closure and async-closure forms.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;
use zelavis_core::name::Name;
use zelavis_core::quote::quote;
use zelavis_core::service::ServiceError;

use crate::context::{ExtendError, SetupContext};
use crate::extension::ApiType;
use crate::permission::Permission;

/// What a plugin's setup may fail with.
///
/// Authors return [`SetupError::msg`] for their own failures, `?` on Zelavis errors, and
/// [`SetupError::other`] to wrap any error type. The error is data: it clones, compares and serialises (an
/// [`Other`](SetupError::Other) error as its message), so an activation report carries it whole.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SetupError {
    /// The plugin's own failure, in words.
    #[error("{0}")]
    Message(String),
    /// A registration needs a permission the plugin did not declare (strict mode).
    #[error("plugin {plugin:?} lacks permission {permission}; declare it in the plugin definition")]
    PermissionDenied {
        /// The plugin.
        plugin: Name,
        /// The missing permission.
        permission: Permission,
    },
    /// A service could not be registered.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Applying children to an extension point failed.
    #[error(transparent)]
    Extend(#[from] ExtendError),
    /// The same route registered twice.
    #[error("plugin {plugin:?} registers route {route} twice")]
    DuplicateRoute {
        /// The plugin.
        plugin: Name,
        /// `METHOD /path`.
        route: String,
    },
    /// The same migration id registered twice.
    #[error("plugin {plugin:?} registers migration {} twice", quote(id))]
    DuplicateMigration {
        /// The plugin.
        plugin: Name,
        /// The migration id.
        id: String,
    },
    /// A registration arrived after setup finished.
    #[error("setup context of plugin {plugin:?} is closed: registrations are accepted only while setup runs")]
    ContextClosed {
        /// The plugin.
        plugin: Name,
    },
    /// Any other error.
    #[error(transparent)]
    Other(OtherError),
}

/// An error of the author's own type, kept for its message and its source chain; compared and serialised by
/// its message.
#[derive(Clone)]
pub struct OtherError(Arc<dyn StdError + Send + Sync>);

impl OtherError {
    /// Wraps `error`.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// The wrapped error.
    pub fn inner(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

impl fmt::Debug for OtherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for OtherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for OtherError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl PartialEq for OtherError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for OtherError {}

impl serde::Serialize for OtherError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for OtherError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// An error read back from its message.
        #[derive(Debug)]
        struct Described(String);
        impl fmt::Display for Described {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl StdError for Described {}
        Ok(Self::new(Described(String::deserialize(deserializer)?)))
    }
}

impl SetupError {
    /// A failure described in words.
    pub fn msg(message: impl Into<String>) -> Self {
        SetupError::Message(message.into())
    }

    /// Wraps any error.
    pub fn other(error: impl StdError + Send + Sync + 'static) -> Self {
        SetupError::Other(OtherError::new(error))
    }
}

impl From<String> for SetupError {
    fn from(message: String) -> Self {
        SetupError::Message(message)
    }
}

impl From<&str> for SetupError {
    fn from(message: &str) -> Self {
        SetupError::Message(message.to_owned())
    }
}

/// A top-level plugin's setup. Implement it for async setup that borrows the context; most plugins use the
/// closure forms `PluginBuilder::setup` (sync) and `PluginBuilder::setup_async` instead.
///
/// ```
/// use zelavis_plugin::prelude::*;
///
/// struct Mailer;
///
/// #[async_trait::async_trait]
/// impl Setup for Mailer {
///     async fn setup(&self, cx: &SetupContext) -> Result<(), SetupError> {
///         cx.register_service(ServiceDef::new(Name::parse("mailer")?))?;
///         Ok(())
///     }
/// }
///
/// let def = PluginDef::builder("mail").version("1.0.0").permission(Permission::ServicesRegister).setup_with(Mailer).build()?;
/// # let _ = def;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[async_trait]
pub trait Setup: Send + Sync + 'static {
    /// Runs the setup.
    async fn setup(&self, cx: &SetupContext) -> Result<(), SetupError>;
}

impl From<crate::route::RouteError> for SetupError {
    fn from(error: crate::route::RouteError) -> Self {
        SetupError::other(error)
    }
}

impl From<crate::migration::MigrationIdError> for SetupError {
    fn from(error: crate::migration::MigrationIdError) -> Self {
        SetupError::other(error)
    }
}

impl From<zelavis_core::name::NameError> for SetupError {
    fn from(error: zelavis_core::name::NameError) -> Self {
        SetupError::other(error)
    }
}

pub(crate) struct AsyncSetup<F>(pub(crate) F);

#[async_trait]
impl<F, Fut> Setup for AsyncSetup<F>
where
    F: Fn(SetupContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), SetupError>> + Send + 'static,
{
    async fn setup(&self, cx: &SetupContext) -> Result<(), SetupError> {
        (self.0)(cx.clone()).await
    }
}

/// A child plugin's setup: it receives the parent's API (`&mut Api`) and its own context.
///
/// Implement it for async child setup; the closure form is `ExtensionPointRef::with_setup`.
#[async_trait]
pub trait ChildSetup<Api: Send + 'static>: Send + Sync + 'static {
    /// Runs the child's setup against the parent's API.
    async fn setup(&self, api: &mut Api, cx: &SetupContext) -> Result<(), SetupError>;
}

pub(crate) struct SyncChildSetup<F, Api>(pub(crate) F, pub(crate) PhantomData<fn(&mut Api)>);

#[async_trait]
impl<F, Api> ChildSetup<Api> for SyncChildSetup<F, Api>
where
    Api: Send + 'static,
    F: Fn(&mut Api, &SetupContext) -> Result<(), SetupError> + Send + Sync + 'static,
{
    async fn setup(&self, api: &mut Api, cx: &SetupContext) -> Result<(), SetupError> {
        (self.0)(api, cx)
    }
}

/// A child setup with its API type erased, so children of any parent can be stored together.
#[async_trait]
pub(crate) trait ErasedChildSetup: Send + Sync {
    fn api_type(&self) -> ApiType;
    async fn setup(&self, api: &mut (dyn Any + Send), cx: &SetupContext) -> Result<(), SetupError>;
}

pub(crate) struct Erased<S, Api>(pub(crate) S, pub(crate) PhantomData<fn(&mut Api)>);

#[async_trait]
impl<S, Api> ErasedChildSetup for Erased<S, Api>
where
    Api: Send + 'static,
    S: ChildSetup<Api>,
{
    fn api_type(&self) -> ApiType {
        ApiType::of::<Api>()
    }

    async fn setup(&self, api: &mut (dyn Any + Send), cx: &SetupContext) -> Result<(), SetupError> {
        // The caller compares `api_type` first; a mismatch here is still an error, never a panic.
        let Some(api) = api.downcast_mut::<Api>() else {
            return Err(SetupError::msg(format!(
                "child setup expects {} but received another type",
                std::any::type_name::<Api>()
            )));
        };
        self.0.setup(api, cx).await
    }
}
