use zelavis_plugin::define_plugin;

// A syntax error in one field does not hide the problems of the others.
define_plugin! {
    name: "Stripe",
    permissions: services.register,
    version: "1.0.0" description: "Payments",
    extends: "zelavis-ecommerce/payments",
    setup: |api, cx| Ok(()),
}

fn main() {}
