use zelavis_plugin::define_plugin;

define_plugin! {
    name: "zelavis-ecommerce",
    permissions: [services.register, hooks.subscrib, "admin"],
}

fn main() {}
