use zelavis_plugin::define_plugin;

define_plugin! {
    name: "zelavis-ecommerce",
    extension_points: [
        payments { policy: reviwed, allowed: ["stripe"] },
        refunds { policy: public },
    ],
}

fn main() {}
