//! The plugin author's first ten minutes: a plugin with an extension point, a nested menu with pages, and three
//! child plugins, one of which the parent's policy refuses.
//!
//! Run it with `cargo run --example quickstart`.

use zelavis::prelude::*;

/// The API the ecommerce plugin hands to its payment providers.
#[derive(Debug, Default)]
pub struct PaymentsApi {
    /// Registered provider names.
    pub providers: Vec<String>,
}

/// The typed handle the ecommerce crate publishes for its children.
pub const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("zelavis-ecommerce", "payments");

fn ecommerce() -> Result<PluginDef, DefinitionError> {
    PluginDef::builder("zelavis-ecommerce")
        .version("1.0.0")
        .description("Orders, payments and customers")
        .extension_point(
            PAYMENTS
                .declare()
                .policy(Policy::Reviewed)
                .allow_all(["stripe", "paypal"]),
        )
        .menu(
            Menu::new("Ecommerce")
                .path("/ecommerce")
                .page(Page::new("dashboard", "Ecommerce", |_| "<h1>Ecommerce</h1>"))
                .item(
                    Menu::new("Orders")
                        .path("/ecommerce/orders")
                        .page(Page::new("orders", "Orders", |_| Html::new("<h1>Orders</h1>"))),
                )
                .item(Menu::new("More").item(Menu::new("Customers").path("/ecommerce/customers"))),
        )
        .setup(|_cx| Ok(()))
        .build()
}

fn provider(name: &'static str) -> Result<PluginDef, DefinitionError> {
    PluginDef::builder(name)
        .version("1.0.0")
        .description(format!("{name} payments for zelavis-ecommerce"))
        .extends(PAYMENTS.with_setup(move |api, _cx| {
            api.providers.push(name.to_owned());
            Ok(())
        }))
        .build()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shop = ecommerce()?;
    let children = [provider("stripe")?, provider("paypal")?, provider("xyz-payments")?];

    for def in std::iter::once(&shop).chain(&children) {
        println!(
            "manifest of {}:\n{}\n",
            def.name(),
            serde_json::to_string_pretty(def.manifest())?
        );
    }

    println!("page URLs of {}:", shop.name());
    for address in shop.page_addresses() {
        println!("  {address}");
    }

    println!("\npolicy decisions for {}.payments:", shop.name());
    for child in &children {
        let Some(extends) = child.extends() else { continue };
        let decision = match shop.extension_point(extends.extension_point.as_str()) {
            Some(point) => point.admits(shop.name(), child.name()),
            None => Err(AttachError::NoSuchExtensionPoint {
                child: child.name().clone(),
                parent: shop.name().clone(),
                extension_point: extends.extension_point.clone(),
            }),
        };
        match decision {
            Ok(()) => println!("  {:<13} accepted", child.name().as_str()),
            Err(refusal) => println!("  {:<13} refused: {refusal}", child.name().as_str()),
        }
    }

    println!("\na definition with mistakes lists every problem:");
    let broken = PluginDef::builder("Broken")
        .version("one")
        .menu(Menu::new("Broken").path("broken").surface(Surface::Settings))
        .build();
    if let Err(error) = broken {
        println!("{error}");
    }
    Ok(())
}
