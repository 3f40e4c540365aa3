use zelavis_plugin::define_plugin;

define_plugin! {
    name: "Stripe",
    version: "1.0.0",
}

fn main() {
    // The export still exists, so a compile error in the macro causes no follow-up error here.
    let _ = plugin();
}
