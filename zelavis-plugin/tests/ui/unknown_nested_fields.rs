use zelavis_plugin::define_plugin;

define_plugin! {
    name: "zelavis-ecommerce",
    extension_points: [payments { polcy: open }],
    menu: {
        title: "Ecommerce",
        path: "/ecommerce",
        surface: workspace,
        page: { id: "dashboard", titel: "Dashboard", render: |_| "<h1>Shop</h1>" },
        items: [{ title: "Orders", icon: "cart" }],
    },
}

fn main() {}
