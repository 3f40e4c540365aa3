//! What `define_plugin!` parsed: one value per field, kept with its tokens for spans.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Expr, Ident, LitStr, Path};

/// A text value: a string literal (checked while compiling) or any other expression (checked by `build()`).
pub(crate) enum Text {
    /// `"..."`.
    Lit(LitStr),
    /// A constant, `env!(..)`, `concat!(..)`, ...
    Expr(Box<Expr>),
}

impl ToTokens for Text {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Text::Lit(lit) => lit.to_tokens(tokens),
            Text::Expr(expr) => expr.to_tokens(tokens),
        }
    }
}

/// The whole macro input.
#[derive(Default)]
pub(crate) struct Plugin {
    /// Where `zelavis_plugin` is (`crate: path`).
    pub(crate) krate: Option<Path>,
    /// The generated function's name.
    pub(crate) export: Option<Ident>,
    pub(crate) name: Option<Text>,
    pub(crate) version: Option<Text>,
    pub(crate) description: Option<Text>,
    pub(crate) contract: Option<Contract>,
    pub(crate) permissions: Vec<Permission>,
    pub(crate) dependencies: Vec<Dependency>,
    pub(crate) extension_points: Vec<ExtensionPoint>,
    pub(crate) extends: Option<Extends>,
    pub(crate) menu: Option<Menu>,
    pub(crate) setup: Option<Expr>,
    pub(crate) setup_async: Option<Expr>,
}

/// `contract: "1.0.0"` or `contract: SOME_CONTRACT_VERSION`.
pub(crate) enum Contract {
    Lit(LitStr),
    Expr(Box<Expr>),
}

/// One known permission.
pub(crate) struct Permission {
    /// The `Permission` variant.
    pub(crate) variant: &'static str,
    /// Where it was written.
    pub(crate) span: Span,
}

/// `"name": "requirement"` or `"name"`.
pub(crate) struct Dependency {
    pub(crate) name: LitStr,
    pub(crate) requirement: Option<LitStr>,
}

/// An extension point declared by this plugin.
pub(crate) struct ExtensionPoint {
    pub(crate) target: Target,
    /// The `Policy` variant and where it was written.
    pub(crate) policy: Option<(&'static str, Span)>,
    pub(crate) allowed: Vec<LitStr>,
}

/// An untyped extension point name or a typed handle.
pub(crate) enum Target {
    Name(LitStr),
    Typed(Path),
}

/// What a child plugin extends.
pub(crate) enum Extends {
    Typed(Path),
    Untyped { plugin: LitStr, extension_point: LitStr },
}

/// A menu entry.
pub(crate) struct Menu {
    pub(crate) title: Text,
    pub(crate) path: Option<Text>,
    pub(crate) page: Option<Page>,
    pub(crate) items: Vec<Menu>,
}

/// A page.
pub(crate) struct Page {
    pub(crate) id: Text,
    pub(crate) title: Text,
    pub(crate) render: Expr,
}
