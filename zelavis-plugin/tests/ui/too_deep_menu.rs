use zelavis_plugin::define_plugin;

// One level deeper than MAX_MENU_DEPTH (32): refused at compile time, at the 33rd entry.
define_plugin! {
    name: "deep",
    menu: { title: "n1", path: "/l1", items: [{ title: "n2", path: "/l2", items: [{ title: "n3", path: "/l3", items: [{ title: "n4", path: "/l4", items: [{ title: "n5", path: "/l5", items: [{ title: "n6", path: "/l6", items: [{ title: "n7", path: "/l7", items: [{ title: "n8", path: "/l8", items: [{ title: "n9", path: "/l9", items: [{ title: "n10", path: "/l10", items: [{ title: "n11", path: "/l11", items: [{ title: "n12", path: "/l12", items: [{ title: "n13", path: "/l13", items: [{ title: "n14", path: "/l14", items: [{ title: "n15", path: "/l15", items: [{ title: "n16", path: "/l16", items: [{ title: "n17", path: "/l17", items: [{ title: "n18", path: "/l18", items: [{ title: "n19", path: "/l19", items: [{ title: "n20", path: "/l20", items: [{ title: "n21", path: "/l21", items: [{ title: "n22", path: "/l22", items: [{ title: "n23", path: "/l23", items: [{ title: "n24", path: "/l24", items: [{ title: "n25", path: "/l25", items: [{ title: "n26", path: "/l26", items: [{ title: "n27", path: "/l27", items: [{ title: "n28", path: "/l28", items: [{ title: "n29", path: "/l29", items: [{ title: "n30", path: "/l30", items: [{ title: "n31", path: "/l31", items: [{ title: "n32", path: "/l32", items: [{ title: "n33", path: "/l33" }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] }] },
}

fn main() {}
