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
use crate::extension::{ApiType, DataCodec};
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

/// A child plugin's setup whose API arrives as **data**: the parent's API encoded as JSON, returned (changed or
/// not) the same way. This is how a child whose code is not linked into the host — a WebAssembly plugin — extends
/// a point declared with [`ExtensionPointRef::data`](crate::extension::ExtensionPointRef::data) (or a point of a
/// parent whose own code is foreign). Declare it with [`ExtendsDecl::data`](crate::definition::ExtendsDecl::data).
///
/// ```
/// use zelavis_plugin::prelude::*;
///
/// struct AddProvider;
///
/// #[async_trait::async_trait]
/// impl DataChildSetup for AddProvider {
///     async fn setup(&self, api: Vec<u8>, _cx: &SetupContext) -> Result<Vec<u8>, SetupError> {
///         let mut api: serde_json::Value = serde_json::from_slice(&api).map_err(SetupError::other)?;
///         api["providers"].as_array_mut().ok_or("no providers list")?.push("stripe".into());
///         serde_json::to_vec(&api).map_err(SetupError::other)
///     }
/// }
///
/// let stripe = PluginDef::builder("stripe")
///     .extends(ExtendsDecl::data("shop", "payments", AddProvider))
///     .build()?;
/// assert!(stripe.is_child());
/// # Ok::<(), DefinitionError>(())
/// ```
#[async_trait]
pub trait DataChildSetup: Send + Sync + 'static {
    /// Runs the child's setup against the parent's API as JSON bytes, and returns the API as JSON bytes.
    async fn setup(&self, api: Vec<u8>, cx: &SetupContext) -> Result<Vec<u8>, SetupError>;
}

/// What API a child's setup receives.
#[derive(Clone, Copy)]
pub(crate) enum ChildApi {
    /// `&mut Api` of this type; with a codec when its handle declared the API as data.
    Typed(ApiType, Option<DataCodec>),
    /// JSON bytes.
    Data,
}

/// A child setup with its API type erased, so children of any parent can be stored together.
#[async_trait]
pub(crate) trait ErasedChildSetup: Send + Sync {
    fn api(&self) -> ChildApi;
    /// The typed path: `api` is the type [`ChildApi::Typed`] names (a data child never receives it).
    async fn setup(&self, api: &mut (dyn Any + Send), cx: &SetupContext) -> Result<(), SetupError>;
    /// The data path: a data child, or a typed child with a codec.
    async fn setup_data(&self, api: Vec<u8>, cx: &SetupContext) -> Result<Vec<u8>, SetupError>;
}

pub(crate) struct Erased<S, Api>(
    pub(crate) S,
    pub(crate) Option<DataCodec>,
    pub(crate) PhantomData<fn(&mut Api)>,
);

#[async_trait]
impl<S, Api> ErasedChildSetup for Erased<S, Api>
where
    Api: Send + 'static,
    S: ChildSetup<Api>,
{
    fn api(&self) -> ChildApi {
        ChildApi::Typed(ApiType::of::<Api>(), self.1)
    }

    async fn setup(&self, api: &mut (dyn Any + Send), cx: &SetupContext) -> Result<(), SetupError> {
        // The caller compares `api` first; a mismatch here is still an error, never a panic.
        let Some(api) = api.downcast_mut::<Api>() else {
            return Err(mismatch::<Api>());
        };
        self.0.setup(api, cx).await
    }

    async fn setup_data(&self, api: Vec<u8>, cx: &SetupContext) -> Result<Vec<u8>, SetupError> {
        let Some(codec) = self.1 else {
            return Err(mismatch::<Api>());
        };
        let mut decoded = codec.decode(&api).map_err(|reason| {
            SetupError::msg(format!(
                "the parent's API is not a valid {}: {reason}",
                std::any::type_name::<Api>()
            ))
        })?;
        let Some(typed) = decoded.downcast_mut::<Api>() else {
            return Err(mismatch::<Api>());
        };
        self.0.setup(typed, cx).await?;
        codec.encode(decoded.as_ref()).map_err(SetupError::msg)
    }
}

fn mismatch<Api>() -> SetupError {
    SetupError::msg(format!(
        "child setup expects {} but received another type",
        std::any::type_name::<Api>()
    ))
}

pub(crate) struct ErasedData<S>(pub(crate) S);

#[async_trait]
impl<S: DataChildSetup> ErasedChildSetup for ErasedData<S> {
    fn api(&self) -> ChildApi {
        ChildApi::Data
    }

    async fn setup(&self, _api: &mut (dyn Any + Send), _cx: &SetupContext) -> Result<(), SetupError> {
        // The caller sends data children down the data path only.
        Err(SetupError::msg("a data child setup receives its API as bytes"))
    }

    async fn setup_data(&self, api: Vec<u8>, cx: &SetupContext) -> Result<Vec<u8>, SetupError> {
        self.0.setup(api, cx).await
    }
}
