use zelavis_plugin::define_plugin;

define_plugin! {
    name: "stripe",
    verison: "1.0.0",
    colour: "blue",
}

fn main() {}
