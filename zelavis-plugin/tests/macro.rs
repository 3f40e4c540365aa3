//! `define_plugin!` expands to the builder: a macro-defined plugin equals the builder-defined one, and what only
//! `build()` can see is returned as `Err` from the generated export.

#![allow(clippy::expect_used, reason = "a failing test panics")]

use futures::executor::block_on;
use zelavis_plugin::prelude::*;

/// The API the `zelavis-ecommerce` parent gives the children of its `payments` extension point.
#[derive(Default)]
pub struct PaymentsApi {
    /// Payment providers registered by children.
    pub providers: Vec<String>,
}

/// The typed handle the parent publishes.
pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("zelavis-ecommerce", "payments");

fn render_dashboard(cx: &RenderContext) -> String {
    format!("<h1>{} dashboard</h1>", cx.plugin)
}

fn shop_setup(cx: &SetupContext) -> Result<(), SetupError> {
    cx.require(Permission::ServicesRegister)
}

mod shop {
    use super::{PAYMENTS, render_dashboard, shop_setup};

    zelavis_plugin::define_plugin! {
        name: "zelavis-ecommerce",
        version: "1.2.0",
        description: "Orders, payments and customers",
        contract: "1.0.0",
        permissions: [services.register, hooks.subscribe],
        dependencies: { "zelavis-auth": "^1.0", "zelavis-mail": "*" },
        extension_points: [
            PAYMENTS { policy: reviewed, allowed: ["stripe", "paypal"] },
            "order-events" { policy: open },
            shipping,
        ],
        menu: {
            title: "Ecommerce",
            path: "/ecommerce",
            page: { id: "dashboard", title: "Dashboard", render: render_dashboard },
            items: [
                {
                    title: "Orders",
                    path: "/ecommerce/orders",
                    page: { id: "orders", title: "Orders", render: |_| "<h1>Orders</h1>" },
                },
                { title: "More", items: [{ title: "Customers", path: "/ecommerce/customers" }] },
            ],
        },
        setup: shop_setup,
    }
}

fn shop_by_builder() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("zelavis-ecommerce")
        .version("1.2.0")
        .description("Orders, payments and customers")
        .contract(ContractVersion::parse("1.0.0").expect("valid contract"))
        .extension_point(
            PAYMENTS
                .declare()
                .policy(Policy::Reviewed)
                .allow("stripe")
                .allow("paypal"),
        )
        .extension_point(ExtensionPointDecl::new("order-events").policy(Policy::Open))
        .extension_point(ExtensionPointDecl::new("shipping"))
        .menu(
            Menu::new("Ecommerce")
                .path("/ecommerce")
                .page(Page::new("dashboard", "Dashboard", render_dashboard))
                .item(Menu::new("Orders").path("/ecommerce/orders").page(Page::new(
                    "orders",
                    "Orders",
                    |_| "<h1>Orders</h1>",
                )))
                .item(Menu::new("More").item(Menu::new("Customers").path("/ecommerce/customers"))),
        )
        .dependency("zelavis-auth", Some("^1.0"))
        .dependency("zelavis-mail", Some("*"))
        .permission(Permission::ServicesRegister)
        .permission(Permission::HooksSubscribe)
        .setup(shop_setup)
        .build()
}

#[test]
fn macro_plugin_equals_builder_plugin() {
    let by_macro = shop::plugin().expect("macro plugin builds");
    let by_builder = shop_by_builder().expect("builder plugin builds");
    assert_eq!(by_macro.manifest(), by_builder.manifest());
    assert_eq!(
        serde_json::to_value(by_macro.manifest()).expect("serialises"),
        serde_json::to_value(by_builder.manifest()).expect("serialises"),
    );
    assert!(by_macro.has_setup());
    for page in ["dashboard", "orders"] {
        assert_eq!(
            by_macro.render_page(page).expect("renders"),
            by_builder.render_page(page).expect("renders")
        );
    }
    let dashboard = by_macro.render_page("dashboard").expect("renders");
    assert!(
        dashboard.contains("<h1>zelavis-ecommerce dashboard</h1>"),
        "{dashboard}"
    );
}

#[test]
fn macro_setup_is_the_plugin_setup() {
    let shop = shop::plugin().expect("builds");
    let cx = SetupContext::builder(&shop).build();
    // `shop_setup` requires a permission the macro declared.
    block_on(shop.run_setup(&cx)).expect("setup runs");
}

mod stripe {
    use super::PAYMENTS;

    zelavis_plugin::define_plugin! {
        name: "stripe",
        version: "0.3.0",
        extends: PAYMENTS,
        setup: |api, _cx| {
            api.providers.push("stripe".into());
            Ok(())
        },
    }
}

mod paypal {
    zelavis_plugin::define_plugin! {
        name: "paypal",
        version: "1.0.0",
        extends: crate::PAYMENTS,
    }
}

#[test]
fn typed_child_setup_receives_the_parent_api() {
    let shop = shop::plugin().expect("parent builds");
    let stripe = stripe::plugin().expect("child builds");
    let paypal = paypal::plugin().expect("child builds");
    assert!(stripe.is_child() && paypal.is_child());
    assert!(
        !stripe.has_setup(),
        "a typed child's setup is its child setup, not a top-level one"
    );

    let by_builder = PluginDef::builder("stripe")
        .version("0.3.0")
        .extends(PAYMENTS.with_setup(|api, _| {
            api.providers.push("stripe".into());
            Ok(())
        }))
        .build()
        .expect("builds");
    assert_eq!(stripe.manifest(), by_builder.manifest());

    let cx = SetupContext::builder(&shop)
        .children(Name::parse("payments").expect("name"), vec![stripe, paypal])
        .build();
    let mut api = PaymentsApi::default();
    let report = block_on(cx.extend(&PAYMENTS, &mut api)).expect("extends");
    assert_eq!(api.providers, ["stripe"]);
    assert_eq!(report.applied.len(), 2);
}

mod untyped_child {
    zelavis_plugin::define_plugin! {
        name: "manual-payments",
        extends: { plugin: "zelavis-ecommerce", extension_point: "payments" },
    }
}

#[test]
fn untyped_child_equals_builder_child() {
    let by_macro = untyped_child::plugin().expect("builds");
    let by_builder = PluginDef::builder("manual-payments")
        .extends(ExtendsDecl::new("zelavis-ecommerce", "payments"))
        .build()
        .expect("builds");
    assert_eq!(by_macro.manifest(), by_builder.manifest());
    let extends = by_macro.extends().expect("a child");
    assert_eq!(extends.plugin.as_str(), "zelavis-ecommerce");
    assert_eq!(extends.extension_point.as_str(), "payments");
}

mod renamed {
    const CONTRACT: zelavis_plugin::prelude::ContractVersion = zelavis_plugin::prelude::ZELAVIS_PLUGIN_V1;

    zelavis_plugin::define_plugin! {
        export: auth_plugin,
        name: "zelavis-auth",
        version: env!("CARGO_PKG_VERSION"),
        contract: CONTRACT,
        dependencies: ["zelavis-mail", "zelavis-ecommerce": ">=1.2, <2"],
        permissions: [routes.register, "migrations.register", filters.register],
        setup_async: |cx| async move { cx.require(zelavis_plugin::prelude::Permission::RoutesRegister) },
    }
}

#[test]
fn export_can_be_renamed_and_values_can_be_expressions() {
    let auth = renamed::auth_plugin().expect("builds");
    let by_builder = PluginDef::builder("zelavis-auth")
        .version(env!("CARGO_PKG_VERSION"))
        .contract(ZELAVIS_PLUGIN_V1)
        .dependency("zelavis-mail", None)
        .dependency("zelavis-ecommerce", Some(">=1.2, <2"))
        .permission(Permission::RoutesRegister)
        .permission(Permission::MigrationsRegister)
        .permission(Permission::FiltersRegister)
        .build()
        .expect("builds");
    assert_eq!(auth.manifest(), by_builder.manifest());
    assert!(auth.has_setup());
    let cx = SetupContext::builder(&auth).build();
    block_on(auth.run_setup(&cx)).expect("async setup runs");
}

mod duplicate_pages {
    zelavis_plugin::define_plugin! {
        name: "twice",
        version: "1.0.0",
        menu: {
            title: "Twice",
            path: "/twice",
            items: [
                { title: "A", path: "/twice/a", page: { id: "same", title: "A", render: |_| "a" } },
                { title: "B", path: "/twice/b", page: { id: "same", title: "B", render: |_| "b" } },
            ],
        },
    }
}

#[test]
fn problems_only_build_sees_are_returned_by_the_export() {
    let error = duplicate_pages::plugin().expect_err("duplicate page ids are refused by build()");
    let by_builder = PluginDef::builder("twice")
        .version("1.0.0")
        .menu(
            Menu::new("Twice")
                .path("/twice")
                .item(Menu::new("A").path("/twice/a").page(Page::new("same", "A", |_| "a")))
                .item(Menu::new("B").path("/twice/b").page(Page::new("same", "B", |_| "b"))),
        )
        .build()
        .expect_err("refused");
    assert_eq!(error, by_builder);
    assert_eq!(error.problems().len(), 1);
    assert_eq!(error.problems()[0].at, "menu.items[1].page.id");
    assert!(error.to_string().contains("duplicate page id \"same\""), "{error}");
}

mod child_with_untyped_setup {
    zelavis_plugin::define_plugin! {
        name: "rogue",
        extends: { plugin: "zelavis-ecommerce", extension_point: "payments" },
        setup: |_cx| Ok(()),
    }
}

#[test]
fn child_rules_are_checked_by_build() {
    let error = child_with_untyped_setup::plugin().expect_err("an untyped child cannot have a top-level setup");
    assert_eq!(error.problems()[0].at, "setup");
}

mod explicit_crate {
    zelavis_plugin::define_plugin! {
        crate: ::zelavis_plugin,
        name: "minimal",
    }
}

#[test]
fn crate_path_can_be_given_and_defaults_apply() {
    let minimal = explicit_crate::plugin().expect("builds");
    let by_builder = PluginDef::builder("minimal").build().expect("builds");
    assert_eq!(minimal.manifest(), by_builder.manifest());
}
