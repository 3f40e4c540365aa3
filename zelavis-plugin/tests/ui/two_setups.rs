use zelavis_plugin::define_plugin;

define_plugin! {
    name: "stripe",
    setup: |_cx| Ok(()),
    setup_async: |_cx| async { Ok(()) },
}

fn main() {}
