//! Expansion of a parsed plugin into builder calls.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::{Ident, Path};

use crate::check::Errors;
use crate::model::{Contract, Extends, Menu, Page, Plugin, Target, Text};
use crate::parse;

/// The macro: parse, check, expand; on errors, the errors and a stub export (so uses of the export do not add
/// follow-up errors).
pub(crate) fn define_plugin(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = (|stream: syn::parse::ParseStream| parse::plugin(stream, &mut errors)).parse2(input);
    let plugin = match parsed {
        Ok(plugin) => Some(plugin),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    match (plugin, errors.into_error()) {
        (Some(plugin), None) => expand(&plugin),
        (plugin, error) => {
            let error = error.map(|e| e.to_compile_error());
            let krate = crate_path(plugin.as_ref().and_then(|p| p.krate.as_ref()));
            let export = export_name(plugin.as_ref().and_then(|p| p.export.as_ref()));
            quote! {
                #error
                #[allow(dead_code, missing_docs, clippy::missing_errors_doc)]
                pub fn #export() -> ::core::result::Result<#krate::PluginDef, #krate::DefinitionError> {
                    ::core::unreachable!("define_plugin! reported compile errors")
                }
            }
        }
    }
}

fn crate_path(krate: Option<&Path>) -> TokenStream {
    krate.map_or_else(|| quote!(::zelavis_plugin), |path| quote!(#path))
}

fn export_name(export: Option<&Ident>) -> Ident {
    export
        .cloned()
        .unwrap_or_else(|| Ident::new("plugin", Span::call_site()))
}

fn expand(plugin: &Plugin) -> TokenStream {
    let krate = crate_path(plugin.krate.as_ref());
    let prelude = quote!(#krate::prelude);
    let export = export_name(plugin.export.as_ref());
    let name = &plugin.name;
    let mut chain = quote!(#prelude::PluginDef::builder(#name));
    if let Some(version) = &plugin.version {
        chain.extend(quote!(.version(#version)));
    }
    if let Some(description) = &plugin.description {
        chain.extend(quote!(.description(#description)));
    }
    match &plugin.contract {
        Some(Contract::Lit(lit)) => chain.extend(quote_spanned! {lit.span()=>
            .contract(match #prelude::ContractVersion::parse(#lit) {
                ::core::result::Result::Ok(contract) => contract,
                ::core::result::Result::Err(_) => {
                    ::core::unreachable!("define_plugin! checked this contract version while compiling")
                }
            })
        }),
        Some(Contract::Expr(expr)) => chain.extend(quote!(.contract(#expr))),
        None => {}
    }
    for point in &plugin.extension_points {
        let mut decl = match &point.target {
            Target::Name(name) => quote!(#prelude::ExtensionPointDecl::new(#name)),
            Target::Typed(path) => quote!(#path.declare()),
        };
        if let Some((variant, span)) = point.policy {
            let variant = Ident::new(variant, span);
            decl.extend(quote!(.policy(#prelude::Policy::#variant)));
        }
        for allowed in &point.allowed {
            decl.extend(quote!(.allow(#allowed)));
        }
        chain.extend(quote!(.extension_point(#decl)));
    }
    let mut setup = plugin.setup.as_ref();
    match &plugin.extends {
        Some(Extends::Typed(path)) => match setup.take() {
            Some(setup) => chain.extend(quote!(.extends(#path.with_setup(#setup)))),
            None => chain.extend(quote!(.extends(#path.attach()))),
        },
        Some(Extends::Untyped {
            plugin,
            extension_point,
        }) => chain.extend(quote!(.extends(#prelude::ExtendsDecl::new(#plugin, #extension_point)))),
        None => {}
    }
    if let Some(menu) = &plugin.menu {
        let menu = expand_menu(menu, &prelude);
        chain.extend(quote!(.menu(#menu)));
    }
    for dependency in &plugin.dependencies {
        let name = &dependency.name;
        let requirement = dependency.requirement.as_ref().map_or_else(
            || quote!(::core::option::Option::None),
            |requirement| quote!(::core::option::Option::Some(#requirement)),
        );
        chain.extend(quote!(.dependency(#name, #requirement)));
    }
    for permission in &plugin.permissions {
        let variant = Ident::new(permission.variant, permission.span);
        chain.extend(quote!(.permission(#prelude::Permission::#variant)));
    }
    if let Some(setup) = setup {
        chain.extend(quote!(.setup(#setup)));
    }
    if let Some(setup) = &plugin.setup_async {
        chain.extend(quote!(.setup_async(#setup)));
    }
    let doc = match &plugin.name {
        Some(Text::Lit(name)) => {
            format!(" The plugin `{}` defined with `define_plugin!`.", name.value())
        }
        _ => " The plugin defined with `define_plugin!`.".to_owned(),
    };
    quote! {
        #[doc = #doc]
        #[doc = ""]
        #[doc = " # Errors"]
        #[doc = ""]
        #[doc = " The `DefinitionError` of `build()`, listing every problem of the definition."]
        pub fn #export() -> ::core::result::Result<#krate::PluginDef, #krate::DefinitionError> {
            #chain.build()
        }
    }
}

fn expand_menu(menu: &Menu, prelude: &TokenStream) -> TokenStream {
    let title = &menu.title;
    let mut tokens = quote!(#prelude::Menu::new(#title));
    if let Some(path) = &menu.path {
        tokens.extend(quote!(.path(#path)));
    }
    if let Some(Page { id, title, render }) = &menu.page {
        tokens.extend(quote!(.page(#prelude::Page::new(#id, #title, #render))));
    }
    for item in &menu.items {
        let item = expand_menu(item, prelude);
        tokens.extend(quote!(.item(#item)));
    }
    tokens
}
