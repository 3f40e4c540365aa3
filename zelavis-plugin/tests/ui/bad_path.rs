use zelavis_plugin::define_plugin;

define_plugin! {
    name: "zelavis-ecommerce",
    menu: {
        title: "Ecommerce",
        path: "ecommerce",
        page: { id: "Dashboard", title: "Dashboard", render: |_| "<h1>Shop</h1>" },
        items: [
            { title: "Orders", path: "/ecommerce/../admin" },
            { title: "", path: "/ecommerce/a b" },
        ],
    },
}

fn main() {}
