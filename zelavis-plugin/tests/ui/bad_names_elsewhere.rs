use zelavis_plugin::define_plugin;

mod parent {
    zelavis_plugin::define_plugin! {
        name: "zelavis-ecommerce",
        dependencies: { "zelavis auth": "^1.0" },
        extension_points: [
            payments { allowed: ["stripe", "Paypal"] },
            "-refunds",
            zelavis,
        ],
    }
}

define_plugin! {
    name: "stripe",
    extends: { plugin: "../ecommerce", extension_point: "pay ments" },
}

fn main() {}
