//! A top-level WebAssembly plugin: a Workspace page that renders from its settings, and a `price.total` filter.

use serde::{Deserialize, Serialize};
use zelavis_guest::{Error, Html, PageContext};

/// The plugin's settings, set by the host.
#[derive(Deserialize, Default)]
pub struct Settings {
    /// Percent off every total.
    #[serde(default)]
    pub discount_percent: u64,
}

/// The `price.total` filter value.
#[derive(Serialize, Deserialize)]
pub struct Price {
    /// Cents.
    pub cents: u64,
}

zelavis_guest::define_plugin! {
    name: "acme-reports",
    description: "Sales reports and a discount, sandboxed",
    permissions: [filters.register],
    host_permissions: [settings.read],
    menu: {
        title: "Reports",
        path: "/reports",
        page: { id: "overview", title: "Sales overview", render: overview },
    },
    filters: [{ filter: "price.total", priority: 0, handler: discount }],
}

fn settings() -> Settings {
    zelavis_guest::settings().unwrap_or_default()
}

fn overview(cx: &PageContext) -> Html {
    Html::new(format!(
        "<h1>{}</h1><p>Plugin {} renders this page in a sandbox; discount {}%.</p>",
        cx.title,
        cx.plugin,
        settings().discount_percent
    ))
}

fn discount(price: Price) -> Result<Price, Error> {
    let percent = settings().discount_percent.min(100);
    Ok(Price {
        cents: price.cents - price.cents * percent / 100,
    })
}
