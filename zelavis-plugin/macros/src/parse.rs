//! Parsing of the `define_plugin!` input.
//!
//! Syntax errors inside one field's value are recorded and the parser skips to the next field, so one run of the
//! compiler shows every problem. Semantic problems (a bad name, an unknown policy...) are recorded where they are
//! found and never stop parsing.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::parse::discouraged::Speculative;
use syn::{Expr, Ident, Lit, LitStr, Path, Token, braced, bracketed};

use crate::check::{self, Errors, PERMISSIONS, POLICIES};
use crate::model::{Contract, Dependency, Extends, ExtensionPoint, Menu, Page, Permission, Plugin, Target, Text};
use zelavis_core::menu::MAX_MENU_DEPTH;

const PLUGIN_FIELDS: &[&str] = &[
    "export",
    "name",
    "version",
    "description",
    "contract",
    "permissions",
    "dependencies",
    "extension_points",
    "extends",
    "menu",
    "setup",
    "setup_async",
];
const MENU_FIELDS: &[&str] = &["title", "path", "page", "items"];
const PAGE_FIELDS: &[&str] = &["id", "title", "render"];
const EXTENSION_POINT_FIELDS: &[&str] = &["policy", "allowed"];
const EXTENDS_FIELDS: &[&str] = &["plugin", "extension_point"];

/// Parses the whole macro input; problems that do not stop parsing go to `errors`.
pub(crate) fn plugin(input: ParseStream, errors: &mut Errors) -> syn::Result<Plugin> {
    let mut plugin = Plugin::default();
    let seen = fields(input, errors, "", PLUGIN_FIELDS, &["crate"], |key, input, errors| {
        match key {
            "crate" => plugin.krate = Some(input.call(Path::parse_mod_style)?),
            "export" => plugin.export = Some(input.parse()?),
            "name" => {
                let name = text(input, "the plugin name")?;
                check::name_text(&name, "plugin name", errors);
                plugin.name = Some(name);
            }
            "version" => {
                let version = text(input, "the version")?;
                check::version(&version, errors);
                plugin.version = Some(version);
            }
            "description" => plugin.description = Some(text(input, "the description")?),
            "contract" => plugin.contract = Some(contract(input, errors)?),
            "permissions" => plugin.permissions = permissions(input, errors)?,
            "dependencies" => plugin.dependencies = dependencies(input, errors)?,
            "extension_points" => plugin.extension_points = extension_points(input, errors)?,
            "extends" => plugin.extends = Some(extends(input, errors)?),
            "menu" => plugin.menu = Some(menu(input, errors, 1)?),
            "setup" => plugin.setup = Some(input.parse()?),
            _ => plugin.setup_async = Some(input.parse()?),
        }
        Ok(())
    })?;
    if let (Some(_), Some(setup_async)) = (&plugin.setup, &plugin.setup_async) {
        errors.push(syn::Error::new_spanned(
            setup_async,
            "a plugin has one setup: give either `setup` or `setup_async`, not both",
        ));
    }
    if !seen.contains(&"name") {
        errors.at(
            Span::call_site(),
            "missing field `name`: every plugin needs one, e.g. `name: \"stripe\",`",
        );
    }
    Ok(plugin)
}

/// Parses `key: value, ...` until the end of `input`, calling `on_field` with each known key and a stream
/// positioned on its value. `context` is `""` at the top level or e.g. `" in menu"`; `hidden` fields are
/// accepted but not listed in errors. Returns the keys seen (and those suggested for near misses).
fn fields(
    input: ParseStream,
    errors: &mut Errors,
    context: &str,
    known: &'static [&'static str],
    hidden: &'static [&'static str],
    mut on_field: impl FnMut(&'static str, ParseStream, &mut Errors) -> syn::Result<()>,
) -> syn::Result<Vec<&'static str>> {
    let mut seen: Vec<&'static str> = Vec::new();
    let mut given: Vec<&'static str> = Vec::new();
    while !input.is_empty() {
        let key = input.call(Ident::parse_any)?;
        let written = key.unraw().to_string();
        if let Err(error) = input.parse::<Token![:]>() {
            errors.push(error);
            skip_value(input)?;
        } else if let Some(&known_key) = known.iter().chain(hidden).find(|k| **k == written) {
            if given.contains(&known_key) {
                errors.at(key.span(), format!("duplicate field `{written}`{context}"));
            }
            given.push(known_key);
            seen.push(known_key);
            let fork = input.fork();
            match on_field(known_key, &fork, errors) {
                Ok(()) if fork.is_empty() || fork.peek(Token![,]) => input.advance_to(&fork),
                Ok(()) => {
                    errors.at(fork.span(), format!("expected `,` after the value of `{written}`"));
                    skip_value(input)?;
                }
                Err(error) => {
                    errors.push(error);
                    skip_value(input)?;
                }
            }
        } else {
            let hint = if written == "surface" && context == " in menu" {
                "; plugin menus cannot declare a surface: Zelavis mounts them under Workspace".to_owned()
            } else {
                let near = check::nearest(&written, known.iter().chain(hidden).copied());
                // A near miss is reported once, not also as a missing field.
                seen.extend(near);
                near.map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default()
            };
            errors.at(
                key.span(),
                format!(
                    "unknown field `{written}`{context}; expected one of {}{hint}",
                    known.join(", ")
                ),
            );
            skip_unknown_value(input)?;
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(seen)
}

/// Skips tokens up to the next `,` of this level (or the end).
fn skip_value(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// Skips an unknown field's value, which may be an expression containing commas (a closure).
fn skip_unknown_value(input: ParseStream) -> syn::Result<()> {
    let fork = input.fork();
    if fork.parse::<Expr>().is_ok() && (fork.is_empty() || fork.peek(Token![,])) {
        input.advance_to(&fork);
        Ok(())
    } else {
        skip_value(input)
    }
}

/// Fails with a clear message unless a `[...]` list starts here; `example` shows one.
fn expect_list(input: ParseStream, what: &str, example: &str) -> syn::Result<()> {
    if input.peek(syn::token::Bracket) {
        Ok(())
    } else {
        Err(input.error(format!("expected a `[...]` list of {what}, e.g. `{example}`")))
    }
}

/// Whether the value starting here is exactly one identifier (followed by `,` or the end).
fn lone_ident(input: ParseStream) -> Option<Ident> {
    let fork = input.fork();
    let ident = fork.call(Ident::parse_any).ok()?;
    (fork.is_empty() || fork.peek(Token![,])).then_some(ident)
}

/// A string literal, with a clear error otherwise; `what` is e.g. `"a plugin name"`.
fn lit_str(input: ParseStream, what: &str) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        return input.parse();
    }
    let example = match lone_ident(input) {
        Some(ident) => format!(": write `\"{}\"`", ident.unraw()),
        None => String::new(),
    };
    Err(input.error(format!("expected a string literal for {what}{example}")))
}

/// A text value: a string literal, or any expression except a bare lowercase identifier (surely a forgotten
/// pair of quotes: there are no local variables where the value ends up).
fn text(input: ParseStream, what: &str) -> syn::Result<Text> {
    if input.peek(LitStr) {
        return Ok(Text::Lit(input.parse()?));
    }
    if input.peek(Lit) {
        let lit: Lit = input.parse()?;
        let text = lit.to_token_stream().to_string();
        return Err(syn::Error::new(
            lit.span(),
            format!("expected a string literal for {what}: write `\"{text}\"`"),
        ));
    }
    if let Some(ident) = lone_ident(input)
        && !ident.to_string().chars().any(char::is_uppercase)
    {
        return lit_str(input, what).map(Text::Lit);
    }
    Ok(Text::Expr(Box::new(input.parse()?)))
}

/// `"1.0.0"` or an expression of type `ContractVersion`.
fn contract(input: ParseStream, errors: &mut Errors) -> syn::Result<Contract> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        check::contract(&lit, errors);
        Ok(Contract::Lit(lit))
    } else {
        Ok(Contract::Expr(Box::new(input.parse()?)))
    }
}

/// `[services.register, ...]`.
fn permissions(input: ParseStream, errors: &mut Errors) -> syn::Result<Vec<Permission>> {
    expect_list(input, "permissions", "[services.register, hooks.subscribe]")?;
    let content;
    bracketed!(content in input);
    let mut permissions = Vec::new();
    while !content.is_empty() {
        let (written, tokens) = if content.peek(LitStr) {
            let lit: LitStr = content.parse()?;
            (lit.value(), lit.into_token_stream())
        } else {
            let mut tokens = TokenStream::new();
            let first = content.call(Ident::parse_any)?;
            let mut written = first.unraw().to_string();
            first.to_tokens(&mut tokens);
            while content.peek(Token![.]) {
                let dot: Token![.] = content.parse()?;
                let part = content.call(Ident::parse_any)?;
                written.push('.');
                written.push_str(&part.unraw().to_string());
                dot.to_tokens(&mut tokens);
                part.to_tokens(&mut tokens);
            }
            (written, tokens)
        };
        match PERMISSIONS.iter().find(|(name, _)| *name == written) {
            Some(&(_, variant)) => permissions.push(Permission {
                variant,
                span: tokens
                    .clone()
                    .into_iter()
                    .next()
                    .map_or_else(Span::call_site, |t| t.span()),
            }),
            None => errors.push(syn::Error::new_spanned(
                tokens,
                format!(
                    "unknown permission `{written}`; expected one of {}{}",
                    PERMISSIONS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "),
                    check::suggestion(&written, PERMISSIONS.iter().map(|(name, _)| *name)),
                ),
            )),
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(permissions)
}

/// `{ "name": "req", ... }` or `["name", "name": "req", ...]`.
fn dependencies(input: ParseStream, errors: &mut Errors) -> syn::Result<Vec<Dependency>> {
    let content;
    if input.peek(syn::token::Brace) {
        braced!(content in input);
    } else if input.peek(syn::token::Bracket) {
        bracketed!(content in input);
    } else {
        return Err(
            input.error("expected `{ \"plugin\": \"requirement\", ... }` or `[\"plugin\", ...]` for the dependencies")
        );
    }
    let mut dependencies = Vec::new();
    while !content.is_empty() {
        let name = lit_str(&content, "a dependency name")?;
        check::name(&name, "plugin name", errors);
        let requirement = if content.peek(Token![:]) {
            content.parse::<Token![:]>()?;
            let requirement = lit_str(&content, "a version requirement")?;
            check::requirement(&requirement, errors);
            Some(requirement)
        } else {
            None
        };
        dependencies.push(Dependency { name, requirement });
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(dependencies)
}

/// `[payments { policy: reviewed, allowed: ["stripe"] }, PAYMENTS, "order-events" {}, ...]`.
fn extension_points(input: ParseStream, errors: &mut Errors) -> syn::Result<Vec<ExtensionPoint>> {
    expect_list(
        input,
        "extension points",
        "[payments { policy: reviewed, allowed: [\"stripe\"] }]",
    )?;
    let content;
    bracketed!(content in input);
    let mut points = Vec::new();
    while !content.is_empty() {
        let target = if content.peek(LitStr) {
            Target::Name(content.parse()?)
        } else {
            let path = content.call(Path::parse_mod_style)?;
            match path.get_ident() {
                Some(ident) if !ident.to_string().chars().any(char::is_uppercase) => {
                    Target::Name(LitStr::new(&ident.unraw().to_string(), ident.span()))
                }
                _ => Target::Typed(path),
            }
        };
        if let Target::Name(name) = &target {
            check::name(name, "extension point name", errors);
        }
        let mut point = ExtensionPoint {
            target,
            policy: None,
            allowed: Vec::new(),
        };
        if content.peek(syn::token::Brace) {
            let body;
            braced!(body in content);
            fields(
                &body,
                errors,
                " in extension point",
                EXTENSION_POINT_FIELDS,
                &[],
                |key, input, errors| {
                    if key == "policy" {
                        point.policy = policy(input, errors)?;
                    } else {
                        point.allowed = allowed(input, errors)?;
                    }
                    Ok(())
                },
            )?;
        }
        points.push(point);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(points)
}

/// `open`, `reviewed` or `private`; `None` (and an error) for anything else.
fn policy(input: ParseStream, errors: &mut Errors) -> syn::Result<Option<(&'static str, Span)>> {
    let ident = input.call(Ident::parse_any)?;
    let written = ident.unraw().to_string();
    if let Some(&(_, variant)) = POLICIES.iter().find(|(name, _)| *name == written) {
        return Ok(Some((variant, ident.span())));
    }
    errors.at(
        ident.span(),
        format!(
            "unknown policy `{written}`; expected {}{}",
            check::one_of(POLICIES.iter().map(|(name, _)| *name)),
            check::suggestion(&written, POLICIES.iter().map(|(name, _)| *name)),
        ),
    );
    Ok(None)
}

/// `["stripe", "paypal"]`.
fn allowed(input: ParseStream, errors: &mut Errors) -> syn::Result<Vec<LitStr>> {
    expect_list(input, "allowed plugin names", "[\"stripe\", \"paypal\"]")?;
    let content;
    bracketed!(content in input);
    let mut allowed = Vec::new();
    while !content.is_empty() {
        let name = lit_str(&content, "an allowed plugin name")?;
        check::name(&name, "plugin name", errors);
        allowed.push(name);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(allowed)
}

/// `PAYMENTS` (a typed handle) or `{ plugin: "..", extension_point: ".." }`.
fn extends(input: ParseStream, errors: &mut Errors) -> syn::Result<Extends> {
    if !input.peek(syn::token::Brace) {
        if input.peek(LitStr) {
            return Err(input.error(
                "expected a typed extension point handle (a path such as `PAYMENTS`) or \
                 `{ plugin: \"parent\", extension_point: \"name\" }`",
            ));
        }
        return Ok(Extends::Typed(input.call(Path::parse_mod_style)?));
    }
    let content;
    let brace = braced!(content in input);
    let mut plugin = None;
    let mut extension_point = None;
    let seen = fields(
        &content,
        errors,
        " in extends",
        EXTENDS_FIELDS,
        &[],
        |key, input, errors| {
            if key == "plugin" {
                let name = lit_str(input, "the parent plugin name")?;
                check::name(&name, "plugin name", errors);
                plugin = Some(name);
            } else {
                let name = if input.peek(LitStr) {
                    input.parse()?
                } else {
                    let ident = input.call(Ident::parse_any)?;
                    LitStr::new(&ident.unraw().to_string(), ident.span())
                };
                check::name(&name, "extension point name", errors);
                extension_point = Some(name);
            }
            Ok(())
        },
    )?;
    missing(&seen, EXTENDS_FIELDS, " in extends", brace.span.open(), errors);
    match (plugin, extension_point) {
        (Some(plugin), Some(extension_point)) => Ok(Extends::Untyped {
            plugin,
            extension_point,
        }),
        // The missing field was reported; any value keeps parsing going.
        _ => Ok(Extends::Untyped {
            plugin: LitStr::new("", brace.span.join()),
            extension_point: LitStr::new("", brace.span.join()),
        }),
    }
}

/// `{ title: "..", path: "/..", page: { .. }, items: [ { .. }, .. ] }`, at `depth` (the top entry is 1).
fn menu(input: ParseStream, errors: &mut Errors, depth: usize) -> syn::Result<Menu> {
    let content;
    let brace = braced!(content in input);
    if depth == MAX_MENU_DEPTH + 1 {
        errors.at(
            brace.span.join(),
            format!("menu is nested deeper than {MAX_MENU_DEPTH} levels"),
        );
    }
    let mut title = None;
    let mut path = None;
    let mut page_value = None;
    let mut items = Vec::new();
    let seen = fields(&content, errors, " in menu", MENU_FIELDS, &[], |key, input, errors| {
        match key {
            "title" => {
                let value = text(input, "the menu title")?;
                check::title(&value, "menu", errors);
                title = Some(value);
            }
            "path" => {
                let value = text(input, "the menu path")?;
                check::path(&value, errors);
                path = Some(value);
            }
            "page" => page_value = Some(page(input, errors)?),
            _ => {
                expect_list(input, "menu entries", "[{ title: \"Orders\", path: \"/shop/orders\" }]")?;
                let list;
                bracketed!(list in input);
                while !list.is_empty() {
                    items.push(menu(&list, errors, depth + 1)?);
                    if list.is_empty() {
                        break;
                    }
                    list.parse::<Token![,]>()?;
                }
            }
        }
        Ok(())
    })?;
    missing(&seen, &["title"], " in menu", brace.span.open(), errors);
    Ok(Menu {
        title: title.unwrap_or_else(|| Text::Lit(LitStr::new("", brace.span.join()))),
        path,
        page: page_value,
        items,
    })
}

/// `{ id: "..", title: "..", render: expr }`.
fn page(input: ParseStream, errors: &mut Errors) -> syn::Result<Page> {
    let content;
    let brace = braced!(content in input);
    let mut id = None;
    let mut title = None;
    let mut render = None;
    let seen = fields(&content, errors, " in page", PAGE_FIELDS, &[], |key, input, errors| {
        match key {
            "id" => {
                let value = text(input, "the page id")?;
                check::page_id(&value, errors);
                id = Some(value);
            }
            "title" => {
                let value = text(input, "the page title")?;
                check::title(&value, "page", errors);
                title = Some(value);
            }
            _ => render = Some(input.parse::<Expr>()?),
        }
        Ok(())
    })?;
    missing(&seen, PAGE_FIELDS, " in page", brace.span.open(), errors);
    let span = brace.span.join();
    Ok(Page {
        id: id.unwrap_or_else(|| Text::Lit(LitStr::new("", span))),
        title: title.unwrap_or_else(|| Text::Lit(LitStr::new("", span))),
        render: render.unwrap_or_else(|| syn::parse_quote_spanned!(span=> |_| "")),
    })
}

/// Records one error per `required` field not in `seen`, at `span` (the braces).
fn missing(seen: &[&str], required: &[&str], context: &str, span: Span, errors: &mut Errors) {
    for field in required.iter().filter(|field| !seen.contains(field)) {
        errors.at(span, format!("missing field `{field}`{context}"));
    }
}
