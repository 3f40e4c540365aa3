use zelavis_plugin::define_plugin;

define_plugin! {
    name: "stripe",
    version: "1.0.0",
    name: "paypal",
    menu: { title: "Stripe", title: "Payments", path: "/stripe" },
}

fn main() {}
