use zelavis_plugin::define_plugin;

// The macro checks menu paths with the same function as `PluginDef::build` (`zelavis_core::path::check`).
define_plugin! {
    name: "shop",
    menu: {
        title: "Shop",
        path: "//evil.example/x",
        items: [
            { title: "A", path: "/%2e%2e/state" },
            { title: "B", path: "/javascript:alert(1)" },
            { title: "C", path: "/a/./b" },
            { title: "D", path: "/a\u{202e}b" },
            { title: "E", path: "/shop/" },
            { title: "F", path: "/fine/path" },
        ],
    },
}

fn main() {}
