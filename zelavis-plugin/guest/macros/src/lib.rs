//! `define_plugin!` of the Zelavis guest SDK: the native macro's shape, expanded into a WebAssembly module's
//! manifest section and its `zelavis_call` export. Use it through `zelavis_guest::define_plugin!`.

use proc_macro::TokenStream;
use proc_macro2::{Literal, Span, TokenStream as Tokens};
use quote::quote;
use serde_json::{Map, Value, json};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitInt, LitStr, Token, braced, bracketed};

/// Keys whose value is Rust code, not data.
const CODE_KEYS: &[&str] = &["handler", "render", "setup", "init"];

/// A value as written: data, or code for the keys in [`CODE_KEYS`].
enum V {
    Str(LitStr),
    Int(i64, Span),
    /// `hooks.subscribe`, `open`, `GET`: identifiers joined by dots.
    Word(String, Span),
    Obj(Vec<(String, Span, V)>, Span),
    Arr(Vec<V>, Span),
    Code(Box<Expr>),
}

impl V {
    fn span(&self) -> Span {
        match self {
            V::Str(s) => s.span(),
            V::Int(_, span) | V::Word(_, span) | V::Obj(_, span) | V::Arr(_, span) => *span,
            V::Code(e) => syn::spanned::Spanned::span(e.as_ref()),
        }
    }
}

fn parse_fields(input: ParseStream<'_>) -> syn::Result<Vec<(String, Span, V)>> {
    let mut fields = Vec::new();
    while !input.is_empty() {
        let (key, span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span())
        } else {
            let ident: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            (ident.to_string(), ident.span())
        };
        input.parse::<Token![:]>()?;
        let value = if CODE_KEYS.contains(&key.as_str()) {
            V::Code(Box::new(input.parse()?))
        } else {
            parse_value(input)?
        };
        fields.push((key, span, value));
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(fields)
}

fn parse_value(input: ParseStream<'_>) -> syn::Result<V> {
    if input.peek(LitStr) {
        return Ok(V::Str(input.parse()?));
    }
    if input.peek(LitInt) || input.peek(Token![-]) {
        let negative = input.parse::<Option<Token![-]>>()?.is_some();
        let lit: LitInt = input.parse()?;
        let value: i64 = lit.base10_parse()?;
        return Ok(V::Int(if negative { -value } else { value }, lit.span()));
    }
    if input.peek(syn::token::Brace) {
        let content;
        let brace = braced!(content in input);
        return Ok(V::Obj(parse_fields(&content)?, brace.span.join()));
    }
    if input.peek(syn::token::Bracket) {
        let content;
        let bracket = bracketed!(content in input);
        let mut items = Vec::new();
        while !content.is_empty() {
            items.push(parse_value(&content)?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        return Ok(V::Arr(items, bracket.span.join()));
    }
    let first: Ident = input.call(syn::ext::IdentExt::parse_any)?;
    let span = first.span();
    let mut word = first.to_string();
    while input.peek(Token![.]) {
        input.parse::<Token![.]>()?;
        let next: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        word.push('.');
        word.push_str(&next.to_string());
    }
    // `payments { policy: open }`: a named object.
    if input.peek(syn::token::Brace) {
        let content;
        let brace = braced!(content in input);
        let mut fields = parse_fields(&content)?;
        fields.insert(0, ("name".to_owned(), span, V::Str(LitStr::new(&word, span))));
        return Ok(V::Obj(fields, brace.span.join()));
    }
    Ok(V::Word(word, span))
}

struct Input(Vec<(String, Span, V)>);

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        parse_fields(input).map(Input)
    }
}

fn err(span: Span, message: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, message)
}

/// Checks keys against `known` and returns them by name.
fn fields<'a>(
    fields: &'a [(String, Span, V)],
    known: &[&str],
    what: &str,
    errors: &mut Vec<syn::Error>,
) -> Vec<(&'a str, &'a V)> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (key, span, value) in fields {
        if !known.contains(&key.as_str()) {
            errors.push(err(
                *span,
                format!("unknown field `{key}` in {what}; expected one of: {}", known.join(", ")),
            ));
        } else if seen.contains(&key.as_str()) {
            errors.push(err(*span, format!("field `{key}` given twice")));
        } else {
            seen.push(key);
            out.push((key.as_str(), value));
        }
    }
    out
}

fn get<'a>(fields: &[(&str, &'a V)], key: &str) -> Option<&'a V> {
    fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn text(value: &V, errors: &mut Vec<syn::Error>) -> Value {
    match value {
        V::Str(s) => Value::String(s.value()),
        V::Word(w, _) => Value::String(w.clone()),
        other => {
            errors.push(err(other.span(), "expected a string"));
            Value::Null
        }
    }
}

fn list(value: &V, errors: &mut Vec<syn::Error>) -> Vec<Value> {
    match value {
        V::Arr(items, _) => items.iter().map(|v| text(v, errors)).collect(),
        other => {
            errors.push(err(other.span(), "expected a list `[...]`"));
            Vec::new()
        }
    }
}

fn objects<'a>(value: &'a V, errors: &mut Vec<syn::Error>) -> Vec<&'a [(String, Span, V)]> {
    match value {
        V::Arr(items, _) => items
            .iter()
            .filter_map(|item| match item {
                V::Obj(fields, _) => Some(fields.as_slice()),
                other => {
                    errors.push(err(other.span(), "expected an entry `{ ... }`"));
                    None
                }
            })
            .collect(),
        other => {
            errors.push(err(other.span(), "expected a list `[...]`"));
            Vec::new()
        }
    }
}

fn code(value: Option<&V>) -> Option<Expr> {
    match value {
        Some(V::Code(expr)) => Some((**expr).clone()),
        _ => None,
    }
}

/// A menu node's JSON, its pages' render code appended in depth-first order.
fn menu(node: &[(String, Span, V)], span: Span, pages: &mut Vec<Expr>, errors: &mut Vec<syn::Error>) -> Value {
    let f = fields(node, &["title", "path", "page", "items"], "a menu", errors);
    let mut out = Map::new();
    match get(&f, "title") {
        Some(title) => {
            out.insert("title".into(), text(title, errors));
        }
        None => errors.push(err(span, "a menu needs a `title`")),
    }
    if let Some(path) = get(&f, "path") {
        out.insert("path".into(), text(path, errors));
    }
    if let Some(page) = get(&f, "page") {
        if let V::Obj(page, page_span) = page {
            let p = fields(page, &["id", "title", "render"], "a page", errors);
            let mut entry = Map::new();
            for key in ["id", "title"] {
                match get(&p, key) {
                    Some(value) => {
                        entry.insert(key.into(), text(value, errors));
                    }
                    None => errors.push(err(*page_span, format!("a page needs `{key}`"))),
                }
            }
            match code(get(&p, "render")) {
                Some(render) => pages.push(render),
                None => errors.push(err(*page_span, "a page needs `render`")),
            }
            out.insert("page".into(), Value::Object(entry));
        } else {
            errors.push(err(page.span(), "expected a page `{ id, title, render }`"));
        }
    }
    if let Some(items) = get(&f, "items") {
        let items: Vec<Value> = objects(items, errors)
            .into_iter()
            .map(|item| menu(item, items.span(), pages, errors))
            .collect();
        out.insert("items".into(), Value::Array(items));
    }
    Value::Object(out)
}

struct Expanded {
    manifest: Value,
    arms: Vec<Tokens>,
}

#[allow(clippy::too_many_lines, reason = "one pass over the fields, in manifest order")]
fn expand(input: &Input, krate: &Tokens, errors: &mut Vec<syn::Error>) -> Expanded {
    let top = fields(
        &input.0,
        &[
            "name",
            "version",
            "description",
            "contract",
            "permissions",
            "host_permissions",
            "dependencies",
            "extension_points",
            "extends",
            "setup",
            "menu",
            "hooks",
            "filters",
            "routes",
        ],
        "define_plugin!",
        errors,
    );
    let mut plugin = Map::new();
    match get(&top, "name") {
        Some(name) => {
            plugin.insert("name".into(), text(name, errors));
        }
        None => errors.push(err(Span::call_site(), "define_plugin! needs a `name`")),
    }
    let version = get(&top, "version").map_or_else(
        || Value::String(std::env::var("CARGO_PKG_VERSION").unwrap_or_else(|_| "0.1.0".to_owned())),
        |v| text(v, errors),
    );
    plugin.insert("version".into(), version);
    for key in ["description", "contract"] {
        if let Some(value) = get(&top, key) {
            plugin.insert(key.into(), text(value, errors));
        }
    }
    if let Some(permissions) = get(&top, "permissions") {
        plugin.insert("permissions".into(), Value::Array(list(permissions, errors)));
    }
    if let Some(dependencies) = get(&top, "dependencies") {
        let deps: Vec<Value> = match dependencies {
            V::Obj(map, _) => map
                .iter()
                .map(|(name, _, req)| json!({ "plugin": name, "version": text(req, errors) }))
                .collect(),
            V::Arr(..) => list(dependencies, errors)
                .into_iter()
                .map(|name| json!({ "plugin": name }))
                .collect(),
            other => {
                errors.push(err(
                    other.span(),
                    "expected `{ \"plugin\": \"req\", ... }` or `[\"plugin\", ...]`",
                ));
                Vec::new()
            }
        };
        plugin.insert("dependencies".into(), Value::Array(deps));
    }
    let mut arms = Vec::new();
    if let Some(points) = get(&top, "extension_points") {
        let mut out = Vec::new();
        for (index, point) in objects(points, errors).into_iter().enumerate() {
            let p = fields(
                point,
                &["name", "policy", "allowed", "init"],
                "an extension point",
                errors,
            );
            let mut entry = Map::new();
            if let Some(name) = get(&p, "name") {
                entry.insert("name".into(), text(name, errors));
            } else {
                errors.push(err(points.span(), "an extension point needs a `name`"));
            }
            if let Some(policy) = get(&p, "policy") {
                entry.insert("policy".into(), text(policy, errors));
            }
            if let Some(allowed) = get(&p, "allowed") {
                entry.insert("allowed_plugins".into(), Value::Array(list(allowed, errors)));
            }
            let index = index_lit(index);
            let arm = match code(get(&p, "init")) {
                Some(init) => quote! { (5, #index) => #krate::__rt::point(#init), },
                None => quote! { (5, #index) => #krate::__rt::point(|| #krate::json!({})), },
            };
            arms.push(arm);
            out.push(Value::Object(entry));
        }
        plugin.insert("extension_points".into(), Value::Array(out));
    }
    if let Some(extends) = get(&top, "extends") {
        if let V::Obj(ext, _) = extends {
            let e = fields(ext, &["plugin", "extension_point"], "extends", errors);
            let mut entry = Map::new();
            for key in ["plugin", "extension_point"] {
                match get(&e, key) {
                    Some(value) => {
                        entry.insert(key.into(), text(value, errors));
                    }
                    None => errors.push(err(extends.span(), format!("extends needs `{key}`"))),
                }
            }
            plugin.insert("extends".into(), Value::Object(entry));
        } else {
            errors.push(err(
                extends.span(),
                "expected `{ plugin: \"..\", extension_point: \"..\" }`",
            ));
        }
    }
    match (code(get(&top, "setup")), plugin.contains_key("extends")) {
        (Some(setup), true) => arms.push(quote! { (4, 0) => #krate::__rt::child(#setup, input), }),
        (Some(setup), false) => errors.push(err(
            syn::spanned::Spanned::span(&setup),
            "`setup` is a child's setup against its parent's API: declare `extends` too",
        )),
        (None, _) => {}
    }
    if let Some(menu_value) = get(&top, "menu") {
        if let V::Obj(node, span) = menu_value {
            let mut pages = Vec::new();
            plugin.insert("menu".into(), menu(node, *span, &mut pages, errors));
            for (index, render) in pages.into_iter().enumerate() {
                let index = index_lit(index);
                arms.push(quote! { (3, #index) => #krate::__rt::page(#render, input), });
            }
        } else {
            errors.push(err(menu_value.span(), "expected a menu `{ title, path, page, items }`"));
        }
    }
    let mut guest = Map::new();
    if let Some(grants) = get(&top, "host_permissions") {
        guest.insert("host_permissions".into(), Value::Array(list(grants, errors)));
    }
    for (key, name_key, kind, call) in [("hooks", "hook", 0i32, "hook"), ("filters", "filter", 1, "filter")] {
        let Some(entries) = get(&top, key) else { continue };
        let call = Ident::new(call, Span::call_site());
        let mut out = Vec::new();
        for (index, entry) in objects(entries, errors).into_iter().enumerate() {
            let e = fields(entry, &[name_key, "priority", "handler"], key, errors);
            let name = if let Some(name) = get(&e, name_key) {
                text(name, errors)
            } else {
                errors.push(err(entries.span(), format!("each of {key} needs `{name_key}`")));
                Value::Null
            };
            let priority = match get(&e, "priority") {
                Some(V::Int(p, _)) => *p,
                Some(other) => {
                    errors.push(err(other.span(), "expected an integer priority"));
                    0
                }
                None => 0,
            };
            match code(get(&e, "handler")) {
                Some(handler) => {
                    let index = index_lit(index);
                    arms.push(quote! { (#kind, #index) => #krate::__rt::#call(#handler, input), });
                }
                None => errors.push(err(entries.span(), format!("each of {key} needs a `handler`"))),
            }
            out.push(json!({ "name": name, "priority": priority }));
        }
        guest.insert(key.into(), Value::Array(out));
    }
    if let Some(routes) = get(&top, "routes") {
        let mut out = Vec::new();
        for (index, route) in objects(routes, errors).into_iter().enumerate() {
            let r = fields(route, &["method", "path", "handler"], "routes", errors);
            let mut entry = Map::new();
            for key in ["method", "path"] {
                match get(&r, key) {
                    Some(value) => {
                        entry.insert(key.into(), text(value, errors));
                    }
                    None => errors.push(err(routes.span(), format!("each route needs `{key}`"))),
                }
            }
            match code(get(&r, "handler")) {
                Some(handler) => {
                    let index = index_lit(index);
                    arms.push(quote! { (2, #index) => #krate::__rt::route(#handler, input), });
                }
                None => errors.push(err(routes.span(), "each route needs a `handler`")),
            }
            out.push(Value::Object(entry));
        }
        guest.insert("routes".into(), Value::Array(out));
    }
    guest.insert("plugin".into(), Value::Object(plugin));
    Expanded {
        manifest: Value::Object(guest),
        arms,
    }
}

fn index_lit(index: usize) -> Literal {
    Literal::i32_unsuffixed(i32::try_from(index).unwrap_or(i32::MAX))
}

/// Defines a WebAssembly plugin: its manifest (checked by the host like a `zelavis.plugin.json`) and the
/// dispatch of its hooks, filters, routes, pages, child setup and extension points. See the `zelavis-guest`
/// crate docs for the syntax and the handler types.
#[proc_macro]
pub fn define_plugin(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as Input);
    let krate = quote! { ::zelavis_guest };
    let mut errors = Vec::new();
    let expanded = expand(&input, &krate, &mut errors);
    if let Some(mut first) = errors.pop() {
        for error in errors {
            first.combine(error);
        }
        return first.to_compile_error().into();
    }
    let manifest = expanded.manifest.to_string();
    let manifest_len = manifest.len();
    let manifest = Literal::byte_string(manifest.as_bytes());
    let abi = "zelavis-guest/1";
    let abi_len = abi.len();
    let abi = Literal::byte_string(abi.as_bytes());
    let arms = expanded.arms;
    quote! {
        #[doc(hidden)]
        #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "zelavis.abi"))]
        #[used]
        static __ZELAVIS_ABI: [u8; #abi_len] = *#abi;

        #[doc(hidden)]
        #[cfg_attr(target_arch = "wasm32", unsafe(link_section = "zelavis.manifest"))]
        #[used]
        static __ZELAVIS_MANIFEST: [u8; #manifest_len] = *#manifest;

        /// The module's `zelavis_call` export (ABI `zelavis-guest/1`), generated by `define_plugin!`.
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn zelavis_call(kind: i32, index: i32, ptr: i32, len: i32) -> i64 {
            #krate::__rt::call(kind, index, ptr, len, |kind, index, input| match (kind, index) {
                #(#arms)*
                _ => #krate::__rt::unknown(kind, index),
            })
        }

        /// The manifest this module carries, as JSON (what the host reads from its `zelavis.manifest` section).
        pub fn zelavis_manifest() -> &'static str {
            // ok: the macro wrote this section from a `String`.
            ::core::str::from_utf8(&__ZELAVIS_MANIFEST).unwrap_or("")
        }
    }
    .into()
}
