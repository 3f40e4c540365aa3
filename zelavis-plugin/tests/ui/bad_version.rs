use zelavis_plugin::define_plugin;

define_plugin! {
    name: "zelavis-ecommerce",
    version: "1.2",
    contract: "v1",
    dependencies: { "zelavis-auth": "^one", "zelavis-mail": "*" },
}

fn main() {}
