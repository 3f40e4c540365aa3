//! A payment provider for the shop, as a WebAssembly child plugin: it adds itself to the shop's payments API,
//! counts orders in its own key/value space, and answers `GET /status` and `GET /orders/{id}`.

use serde::{Deserialize, Serialize};
use zelavis_guest::http::{Request, Response};
use zelavis_guest::{Error, kv, log};

/// The shop's payments API, as data: the same JSON shape as the host's `PaymentsApi`.
#[derive(Serialize, Deserialize)]
pub struct PaymentsApi {
    /// Provider names, in the order they attached.
    pub providers: Vec<String>,
}

/// The `order.created` event.
#[derive(Deserialize)]
pub struct OrderCreated {
    /// The order id.
    pub id: u64,
    /// Its total in cents.
    pub cents: u64,
}

zelavis_guest::define_plugin! {
    name: "acme-pay",
    description: "Acme payments, sandboxed",
    permissions: [hooks.subscribe, routes.register],
    host_permissions: [log, kv],
    extends: { plugin: "zelavis-ecommerce", extension_point: "payments" },
    setup: |api: &mut PaymentsApi| {
        api.providers.push("acme-pay".into());
        Ok::<(), Error>(())
    },
    hooks: [{ hook: "order.created", priority: 20, handler: on_order }],
    routes: [
        { method: "GET", path: "/status", handler: status },
        { method: "GET", path: "/orders/{id}", handler: order },
    ],
}

fn orders() -> u64 {
    kv::get(b"orders")
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .unwrap_or(0)
}

fn on_order(order: OrderCreated) -> Result<(), Error> {
    if order.cents == 0 {
        return Err("acme-pay refuses an order of 0 cents".into());
    }
    let count = orders() + 1;
    kv::set(b"orders", count.to_string().as_bytes()).map_err(|e| Error::new(e.to_string()))?;
    log::info(&format!(
        "acme-pay: charged order {} ({} cents); {count} so far",
        order.id, order.cents
    ));
    Ok(())
}

fn status(request: Request) -> Result<Response, Error> {
    if request.query == "panic" {
        panic!("asked to panic");
    }
    Ok(Response::json(
        &zelavis_guest::json!({ "provider": "acme-pay", "orders": orders() }),
    )?)
}

fn order(request: Request) -> Result<Response, Error> {
    let id = request.param("id").ok_or_else(|| Error::new("no order id"))?;
    Ok(Response::json(
        &zelavis_guest::json!({ "provider": "acme-pay", "order": id }),
    )?)
}
