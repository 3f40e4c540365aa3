use zelavis_plugin::define_plugin;

define_plugin! {
    version: "1.0.0",
    menu: {
        path: "/stripe",
        page: { id: "settings", render: |_| "<h1>Settings</h1>" },
    },
}

fn main() {}
