//! Extension points and their policies, and the one decision of whether a child may attach.
//!
//! A parent plugin declares extension points; child plugins declare which point they extend.
//!
//! | policy | who may attach |
//! |---|---|
//! | [`Policy::Open`] | any installed child that targets the point |
//! | [`Policy::Reviewed`] | only children in `allowed_plugins` (the parent reviewed them) |
//! | [`Policy::Private`] (default) | only children in `allowed_plugins` (the parent's own family) |
//!
//! An allow list on an `open` point is refused when the plugin is built: it would have no effect and reads as
//! if it restricted something. A name listed twice is refused too.
//!
//! # Data APIs
//!
//! A point whose API is plain data (`Serialize + DeserializeOwned`) can be declared with
//! [`ExtensionPointRef::data`]. Its API can then cross a code boundary as bytes: a child whose code is not
//! Rust linked into the host (a WebAssembly plugin, see `ExtendsDecl::data`) receives the API encoded as JSON
//! and hands it back the same way, and a parent whose code is foreign applies its children with
//! `SetupContext::extend_data`. Typed children of a data point still receive `&mut Api`.

use std::any::{Any, TypeId};
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zelavis_core::name::Name;

/// Who may attach to an extension point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Any child that targets the point.
    Open,
    /// Only children the parent lists, after review.
    Reviewed,
    /// Only children the parent lists. The default.
    #[default]
    Private,
}

impl Policy {
    /// The lowercase name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Open => "open",
            Policy::Reviewed => "reviewed",
            Policy::Private => "private",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A declared extension point, as it appears in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionPoint {
    /// The point's name, unique within its plugin.
    pub name: Name,
    /// Who may attach.
    #[serde(default)]
    pub policy: Policy,
    /// The children a `reviewed` or `private` point accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_plugins: Vec<Name>,
}

/// What a child plugin extends: a parent plugin and one of its extension points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Extends {
    /// The parent plugin.
    pub plugin: Name,
    /// The parent's extension point.
    pub extension_point: Name,
}

/// Why a child may not attach to an extension point. Every variant names the child, the parent and the point.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AttachError {
    /// The point's policy does not admit the child.
    #[error("child plugin {child:?} may not extend {parent:?}.{extension_point:?}: policy {policy} {reason}")]
    Refused {
        /// The child.
        child: Name,
        /// The parent.
        parent: Name,
        /// The point.
        extension_point: Name,
        /// The point's policy.
        policy: Policy,
        /// Why, in words.
        reason: String,
    },
    /// The parent declares no such point.
    #[error(
        "child plugin {child:?} extends {parent:?}.{extension_point:?}, but {parent:?} declares no such extension point"
    )]
    NoSuchExtensionPoint {
        /// The child.
        child: Name,
        /// The parent.
        parent: Name,
        /// The missing point.
        extension_point: Name,
    },
    /// The child extends another plugin than the one asked about.
    #[error("child plugin {child:?} extends {extends:?}, not {parent:?}")]
    OtherParent {
        /// The child.
        child: Name,
        /// The parent asked about.
        parent: Name,
        /// The plugin the child actually extends.
        extends: Name,
    },
    /// The plugin is not a child plugin.
    #[error("plugin {child:?} is not a child plugin: it extends nothing")]
    NotAChild {
        /// The plugin.
        child: Name,
    },
    /// The parent is not in the registry.
    #[error("child plugin {child:?} extends {parent:?}.{extension_point:?}, but {parent:?} is not in the registry")]
    ParentMissing {
        /// The child.
        child: Name,
        /// The missing parent.
        parent: Name,
        /// The point.
        extension_point: Name,
    },
    /// The named parent is itself a child plugin, which cannot host children.
    #[error(
        "child plugin {child:?} extends {parent:?}.{extension_point:?}, but {parent:?} is itself a child plugin and cannot host children"
    )]
    ParentIsChild {
        /// The child.
        child: Name,
        /// The parent, a child plugin.
        parent: Name,
        /// The point.
        extension_point: Name,
    },
    /// The parent is known but not installed.
    #[error("child plugin {child:?} extends {parent:?}.{extension_point:?}, but {parent:?} is not installed")]
    ParentNotInstalled {
        /// The child.
        child: Name,
        /// The parent.
        parent: Name,
        /// The point.
        extension_point: Name,
    },
}

impl ExtensionPoint {
    /// Decides whether `child` may attach to this point of `parent`: `open` admits any child, `reviewed` and
    /// `private` only listed children. This is the one place the policy rule lives.
    ///
    /// ```
    /// use zelavis_plugin::extension::{ExtensionPoint, Policy};
    /// use zelavis_core::name::Name;
    ///
    /// let n = |s| Name::parse(s).unwrap();
    /// let payments = ExtensionPoint { name: n("payments"), policy: Policy::Reviewed, allowed_plugins: vec![n("stripe")] };
    /// assert!(payments.admits(&n("shop"), &n("stripe")).is_ok());
    /// let refusal = payments.admits(&n("shop"), &n("xyz-payments")).unwrap_err();
    /// assert_eq!(
    ///     refusal.to_string(),
    ///     "child plugin \"xyz-payments\" may not extend \"shop\".\"payments\": policy reviewed admits only stripe"
    /// );
    /// ```
    pub fn admits(&self, parent: &Name, child: &Name) -> Result<(), AttachError> {
        match self.policy {
            Policy::Open => Ok(()),
            Policy::Reviewed | Policy::Private if self.allowed_plugins.contains(child) => Ok(()),
            Policy::Reviewed | Policy::Private => Err(AttachError::Refused {
                child: child.clone(),
                parent: parent.clone(),
                extension_point: self.name.clone(),
                policy: self.policy,
                reason: if self.allowed_plugins.is_empty() {
                    "admits no children yet (its allow list is empty)".to_owned()
                } else {
                    let list: Vec<&str> = self.allowed_plugins.iter().map(Name::as_str).collect();
                    format!("admits only {}", list.join(", "))
                },
            }),
        }
    }
}

/// A typed handle to an extension point: its parent plugin, its name, and the API type children receive.
///
/// The parent's crate declares it as a `const` and publishes it; the parent declares the point with
/// [`declare`](Self::declare) and applies children with `SetupContext::extend`; a child extends it with
/// [`with_setup`](Self::with_setup), whose closure receives `&mut Api` — checked by the compiler on the author's
/// side, and checked again at activation.
///
/// ```
/// use zelavis_plugin::prelude::*;
///
/// #[derive(Default)]
/// pub struct PaymentsApi { pub providers: Vec<String> }
/// pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("shop", "payments");
///
/// let stripe = PluginDef::builder("stripe")
///     .version("1.0.0")
///     .extends(PAYMENTS.with_setup(|api, _cx| {
///         api.providers.push("stripe".into());
///         Ok(())
///     }))
///     .build()?;
/// assert_eq!(stripe.extends().map(|e| e.extension_point.as_str()), Some("payments"));
/// # Ok::<(), DefinitionError>(())
/// ```
pub struct ExtensionPointRef<Api> {
    plugin: &'static str,
    name: &'static str,
    data: Option<DataCodec>,
    api: std::marker::PhantomData<fn() -> Api>,
}

impl<Api> ExtensionPointRef<Api> {
    /// A handle to point `name` of plugin `plugin`. Both are checked when a plugin using the handle is built.
    pub const fn new(plugin: &'static str, name: &'static str) -> Self {
        Self {
            plugin,
            name,
            data: None,
            api: std::marker::PhantomData,
        }
    }

    /// Whether the API is declared as data ([`ExtensionPointRef::data`]), so it can cross a code boundary.
    pub const fn is_data(&self) -> bool {
        self.data.is_some()
    }

    pub(crate) const fn codec(&self) -> Option<DataCodec> {
        self.data
    }

    /// The parent plugin's name as written.
    pub const fn plugin(&self) -> &'static str {
        self.plugin
    }

    /// The point's name as written.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<Api> ExtensionPointRef<Api>
where
    Api: Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    /// A handle to point `name` of plugin `plugin` whose API is **data**: besides typed children (which receive
    /// `&mut Api` as with [`new`](Self::new)), children whose code is not linked into the host — WebAssembly
    /// plugins — can extend it, receiving the API as JSON bytes and returning it changed
    /// (see the [module docs](self#data-apis)).
    ///
    /// ```
    /// use zelavis_plugin::prelude::*;
    ///
    /// #[derive(Default, serde::Serialize, serde::Deserialize)]
    /// pub struct PaymentsApi { pub providers: Vec<String> }
    /// pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::data("shop", "payments");
    /// assert!(PAYMENTS.is_data());
    /// ```
    pub const fn data(plugin: &'static str, name: &'static str) -> Self {
        Self {
            plugin,
            name,
            data: Some(DataCodec::of::<Api>()),
            api: std::marker::PhantomData,
        }
    }
}

impl<Api: 'static> ExtensionPointRef<Api> {
    /// The `TypeId` of the API children receive.
    pub fn api_type(&self) -> ApiType {
        ApiType::of::<Api>()
    }
}

impl<Api> Clone for ExtensionPointRef<Api> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Api> Copy for ExtensionPointRef<Api> {}

impl<Api> fmt::Debug for ExtensionPointRef<Api> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtensionPointRef")
            .field("plugin", &self.plugin)
            .field("name", &self.name)
            .field("api", &std::any::type_name::<Api>())
            .field("data", &self.data.is_some())
            .finish()
    }
}

/// Encodes a data API to JSON and decodes it back, for one API type; made by [`ExtensionPointRef::data`].
#[derive(Clone, Copy)]
pub(crate) struct DataCodec {
    encode: fn(&(dyn Any + Send)) -> Result<Vec<u8>, String>,
    decode: fn(&[u8]) -> Result<ErasedApi, String>,
    decode_into: fn(&[u8], &mut (dyn Any + Send)) -> Result<(), String>,
}

/// A decoded API of the codec's type.
pub(crate) type ErasedApi = Box<dyn Any + Send>;

/// What a data API is called in messages about the side that holds it as bytes.
pub(crate) const DATA_API: &str = "data (JSON bytes)";

impl DataCodec {
    const fn of<Api: Serialize + serde::de::DeserializeOwned + Send + 'static>() -> Self {
        Self {
            encode: encode::<Api>,
            decode: decode::<Api>,
            decode_into: decode_into::<Api>,
        }
    }

    /// `api` (which must be the codec's type) as JSON.
    pub(crate) fn encode(self, api: &(dyn Any + Send)) -> Result<Vec<u8>, String> {
        (self.encode)(api)
    }

    /// The codec's type from JSON.
    pub(crate) fn decode(self, bytes: &[u8]) -> Result<ErasedApi, String> {
        (self.decode)(bytes)
    }

    /// Decodes JSON into `api` (which must be the codec's type), replacing its value.
    pub(crate) fn decode_into(self, bytes: &[u8], api: &mut (dyn Any + Send)) -> Result<(), String> {
        (self.decode_into)(bytes, api)
    }
}

impl fmt::Debug for DataCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataCodec(json)")
    }
}

fn encode<Api: Serialize + 'static>(api: &(dyn Any + Send)) -> Result<Vec<u8>, String> {
    let api = (api as &dyn Any)
        .downcast_ref::<Api>()
        .ok_or_else(|| format!("expected {}", std::any::type_name::<Api>()))?;
    serde_json::to_vec(api).map_err(|e| e.to_string())
}

fn decode<Api: serde::de::DeserializeOwned + Send + 'static>(bytes: &[u8]) -> Result<ErasedApi, String> {
    serde_json::from_slice::<Api>(bytes)
        .map(|api| Box::new(api) as Box<dyn Any + Send>)
        .map_err(|e| zelavis_core::quote::clip(&e.to_string(), 512))
}

fn decode_into<Api: serde::de::DeserializeOwned + Send + 'static>(
    bytes: &[u8],
    api: &mut (dyn Any + Send),
) -> Result<(), String> {
    let slot = (api as &mut dyn Any)
        .downcast_mut::<Api>()
        .ok_or_else(|| format!("expected {}", std::any::type_name::<Api>()))?;
    *slot = serde_json::from_slice::<Api>(bytes).map_err(|e| zelavis_core::quote::clip(&e.to_string(), 512))?;
    Ok(())
}

/// The identity of an extension point's API type, with its name for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiType {
    id: TypeId,
    name: &'static str,
}

impl ApiType {
    /// The API type `T`.
    pub fn of<T: 'static>() -> Self {
        Self {
            id: TypeId::of::<T>(),
            name: std::any::type_name::<T>(),
        }
    }

    /// The type's name, e.g. `my_shop::PaymentsApi`.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn private_is_the_default_and_admits_only_listed_children() {
        let point: ExtensionPoint = serde_json::from_str(r#"{"name":"payments"}"#).unwrap();
        assert_eq!(point.policy, Policy::Private);
        let err = point.admits(&n("shop"), &n("stripe")).unwrap_err();
        assert!(err.to_string().contains("allow list is empty"), "{err}");
    }

    #[test]
    fn refusals_name_every_party() {
        let point = ExtensionPoint {
            name: n("payments"),
            policy: Policy::Private,
            allowed_plugins: vec![n("paypal")],
        };
        match point.admits(&n("shop"), &n("stripe")) {
            Err(AttachError::Refused {
                child,
                parent,
                extension_point,
                policy,
                reason,
            }) => {
                assert_eq!(
                    (child.as_str(), parent.as_str(), extension_point.as_str()),
                    ("stripe", "shop", "payments")
                );
                assert_eq!(policy, Policy::Private);
                assert_eq!(reason, "admits only paypal");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn decision_follows_the_policy_table(policy in prop_oneof![Just(Policy::Open), Just(Policy::Reviewed), Just(Policy::Private)],
                                             allowed in proptest::collection::vec("[a-d]", 0..4),
                                             child in "[a-d]") {
            let point = ExtensionPoint { name: n("point"), policy, allowed_plugins: allowed.iter().map(|s| n(s)).collect() };
            let admitted = point.admits(&n("parent"), &n(&child)).is_ok();
            prop_assert_eq!(admitted, policy == Policy::Open || allowed.contains(&child));
        }
    }
}
