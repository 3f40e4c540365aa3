use zelavis_plugin::define_plugin;

define_plugin! {
    name: stripe,
    version: 1.0,
}

fn main() {}
