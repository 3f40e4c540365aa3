//! Every rule of `PluginDef::build` and `PluginManifest::from_json`, each reported with its path.

use std::fmt::Write as _;

use zelavis_plugin::prelude::*;

#[derive(Default)]
struct PaymentsApi {
    providers: Vec<String>,
}

const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("zelavis-ecommerce", "payments");

fn problems(result: Result<PluginDef, DefinitionError>) -> Vec<(String, ProblemKind)> {
    result
        .unwrap_err()
        .problems()
        .iter()
        .map(|p| (p.at.clone(), p.kind.clone()))
        .collect()
}

fn at(result: Result<PluginDef, DefinitionError>) -> Vec<String> {
    problems(result).into_iter().map(|(at, _)| at).collect()
}

fn page(id: &str) -> Page {
    Page::new(id, "Title", |_| "<p>x</p>")
}

#[test]
fn a_full_plugin_builds() {
    let def = PluginDef::builder("zelavis-ecommerce")
        .version("1.2.0")
        .description("Shop")
        .extension_point(
            PAYMENTS
                .declare()
                .policy(Policy::Reviewed)
                .allow_all(["stripe", "paypal"]),
        )
        .menu(
            Menu::new("Ecommerce")
                .path("/ecommerce")
                .page(page("dashboard"))
                .item(Menu::new("Orders").path("/ecommerce/orders").page(page("orders")))
                .item(Menu::new("More").item(Menu::new("Customers").path("/ecommerce/customers"))),
        )
        .dependency("zelavis-auth", Some("^1.0"))
        .permission(Permission::ServicesRegister)
        .build()
        .unwrap();
    assert_eq!(def.pages().len(), 2);
    let urls: Vec<String> = def.page_addresses().iter().map(ToString::to_string).collect();
    assert_eq!(
        urls,
        [
            "/zelavis/api/v1/dashboard/plugin-pages/zelavis-ecommerce/dashboard",
            "/zelavis/api/v1/dashboard/plugin-pages/zelavis-ecommerce/orders"
        ]
    );
    let menu = def.menu().unwrap();
    assert_eq!(menu.page.as_ref().unwrap().url.as_deref(), Some(urls[0].as_str()));
    assert!(def.dependencies()[0].accepts(&semver::Version::new(1, 4, 0)));
    assert!(!def.dependencies()[0].accepts(&semver::Version::new(2, 0, 0)));
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let result = PluginDef::builder("Shop")
        .version("1.x")
        .extension_point(ExtensionPointDecl::new("payments").policy(Policy::Open).allow("stripe"))
        .extension_point(ExtensionPointDecl::new("payments").allow("a").allow("a"))
        .extension_point(ExtensionPointDecl::new("Bad Point"))
        .menu(
            Menu::new("Shop")
                .surface(Surface::Settings)
                .path("shop")
                .item(Menu::new("A").path("/a/../b").page(page("orders")))
                .item(Menu::new("B").path("/b").page(page("orders"))),
        )
        .dependency("Shop", None)
        .dependency("auth", Some("~>1"))
        .dependency("auth", None)
        .permission(Permission::HooksSubscribe)
        .permission(Permission::HooksSubscribe)
        .build();
    assert_eq!(
        at(result),
        [
            "name",
            "version",
            "extension_points[0].allowed_plugins",
            "extension_points[1].name",
            "extension_points[1].allowed_plugins[1]",
            "extension_points[2].name",
            "menu.surface",
            "menu.path",
            "menu.items[0].path",
            "menu.items[1].page.id",
            "dependencies[0].plugin",
            "dependencies[0].plugin",
            "dependencies[1].version",
            "dependencies[2].plugin",
            "permissions[1]",
        ]
    );
}

#[test]
fn the_error_reads_well() {
    let err = PluginDef::builder("shop")
        .version("1.0.0")
        .menu(Menu::new("Shop").path("/shop").surface(Surface::Root))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin \"shop\" has 1 definition problem:\n  - menu.surface: plugin menus must not declare a surface (found \"root\"): plugin menus are always mounted under Workspace"
    );
}

#[test]
fn child_rules() {
    let result = PluginDef::builder("stripe")
        .version("1.0.0")
        .extends(ExtendsDecl::new("stripe", "payments"))
        .extension_point(ExtensionPointDecl::new("cards"))
        .menu(Menu::new("Stripe").path("/stripe"))
        .setup(|_| Ok(()))
        .build();
    let found = problems(result);
    let kinds: Vec<&ProblemKind> = found.iter().map(|(_, k)| k).collect();
    assert!(
        matches!(
            kinds[..],
            [
                ProblemKind::ExtendsSelf { .. },
                ProblemKind::ChildDeclaresExtensionPoints,
                ProblemKind::ChildDeclaresMenu,
                ProblemKind::ChildWithTopLevelSetup,
            ]
        ),
        "{found:?}"
    );
    let paths: Vec<&str> = found.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(paths, ["extends.plugin", "extension_points", "menu", "setup"]);
}

#[test]
fn invalid_extends_names_are_reported() {
    let result = PluginDef::builder("stripe")
        .extends(ExtendsDecl::new("Shop", ""))
        .build();
    assert_eq!(at(result), ["extends.plugin", "extends.extension_point"]);
}

#[test]
fn a_typed_handle_of_another_plugin_cannot_be_declared() {
    let result = PluginDef::builder("other-shop")
        .extension_point(PAYMENTS.declare())
        .build();
    assert!(
        matches!(&problems(result)[0].1, ProblemKind::ForeignExtensionPoint { owner, .. } if owner == "zelavis-ecommerce")
    );
}

#[test]
fn top_menu_needs_a_path_or_items() {
    let result = PluginDef::builder("shop")
        .menu(Menu::new("Shop").page(page("home")))
        .build();
    assert_eq!(at(result), ["menu"]);
}

#[test]
fn manifests_round_trip_through_json() {
    let def = PluginDef::builder("zelavis-ecommerce")
        .version("1.2.0")
        .extension_point(PAYMENTS.declare().policy(Policy::Reviewed).allow("stripe"))
        .menu(Menu::new("Ecommerce").path("/ecommerce").page(page("dashboard")))
        .permission(Permission::RoutesRegister)
        .build()
        .unwrap();
    let json = serde_json::to_string_pretty(def.manifest()).unwrap();
    assert!(json.contains("\"url\": \"/zelavis/api/v1/dashboard/plugin-pages/zelavis-ecommerce/dashboard\""));
    assert_eq!(&PluginManifest::from_json(&json).unwrap(), def.manifest());
}

#[test]
fn manifest_shape_errors_carry_the_json_path() {
    let err = PluginManifest::from_json(
        r#"{"name":"shop","version":"1.0.0","extension_points":[{"name":"payments","policy":"reviwed"}]}"#,
    )
    .unwrap_err();
    match err {
        ManifestError::Json { path, reason, line, .. } => {
            assert_eq!(path, "$.extension_points[0].policy");
            assert!(reason.contains("reviwed"), "{reason}");
            assert_eq!(line, 1);
        }
        other => panic!("unexpected {other}"),
    }
    let err = PluginManifest::from_json(r#"{"name":"Shop","version":"1.0.0"}"#).unwrap_err();
    assert!(
        err.to_string().contains("$.name") && err.to_string().contains("uppercase"),
        "{err}"
    );
    let err = PluginManifest::from_json(r#"{"name":"shop","version":"1.0.0"} trailing"#).unwrap_err();
    assert!(matches!(err, ManifestError::Json { .. }), "{err}");
    assert!(PluginManifest::from_json("").is_err());
}

#[test]
fn manifest_semantic_errors_are_all_listed() {
    let err = PluginManifest::from_json(
        r#"{
          "name": "shop", "version": "1.0.0",
          "extends": {"plugin": "shop", "extension_point": "x"},
          "menu": {"title": "Shop", "path": "/shop", "page": {"id": "home", "title": "Home", "url": "/elsewhere"}},
          "dependencies": [{"plugin": "shop"}]
        }"#,
    )
    .unwrap_err();
    let ManifestError::Definition(def) = err else {
        panic!("expected definition error")
    };
    let at: Vec<&str> = def.problems().iter().map(|p| p.at.as_str()).collect();
    assert_eq!(
        at,
        ["extends.plugin", "menu", "menu.page.url", "dependencies[0].plugin"]
    );
}

#[test]
fn contract_defaults_to_v1_and_is_kept() {
    let m = PluginManifest::from_json(r#"{"name":"shop","version":"1.0.0"}"#).unwrap();
    assert_eq!(m.contract, ZELAVIS_PLUGIN_V1);
    let m = PluginManifest::from_json(r#"{"name":"shop","version":"1.0.0","contract":"1.3.0"}"#).unwrap();
    assert!(m.contract.check_supported_by(&HOST_CONTRACT).is_err());
}

#[test]
fn render_page_reports_unknown_pages() {
    let def = PluginDef::builder("shop")
        .menu(Menu::new("Shop").path("/shop").page(page("home")))
        .build()
        .unwrap();
    assert!(def.render_page("home").unwrap().contains("<p>x</p>"));
    assert!(matches!(def.render_page("nope"), Err(PageError::NotFound { .. })));
    assert!(matches!(def.render_page("../x"), Err(PageError::NotFound { .. })));
}

#[test]
fn policy_decisions_for_children() {
    let shop = PluginDef::builder("zelavis-ecommerce")
        .extension_point(
            PAYMENTS
                .declare()
                .policy(Policy::Reviewed)
                .allow_all(["stripe", "paypal"]),
        )
        .build()
        .unwrap();
    let point = shop.extension_point("payments").unwrap();
    let n = |s: &str| Name::parse(s).unwrap();
    assert!(point.admits(shop.name(), &n("stripe")).is_ok());
    let refusal = point.admits(shop.name(), &n("xyz-payments")).unwrap_err();
    assert!(matches!(
        refusal,
        AttachError::Refused {
            policy: Policy::Reviewed,
            ..
        }
    ));
}

#[test]
fn a_child_setup_fills_the_parent_api() {
    let stripe = PluginDef::builder("stripe")
        .extends(PAYMENTS.with_setup(|api, cx| {
            api.providers.push(cx.plugin().to_string());
            Ok(())
        }))
        .build()
        .unwrap();
    assert!(stripe.is_child());
    let _ = PaymentsApi::default().providers;
}

/// A menu `levels` deep, each entry with its own path and page.
fn nested(levels: usize) -> Menu {
    let mut menu = Menu::new("leaf")
        .path(format!("/l{levels}"))
        .page(page(&format!("p{levels}")));
    for level in (1..levels).rev() {
        menu = Menu::new(format!("n{level}"))
            .path(format!("/l{level}"))
            .page(page(&format!("p{level}")))
            .item(menu);
    }
    menu
}

/// The same menu as manifest JSON, written by hand (serialising a too-deep menu is refused).
fn nested_json(levels: usize) -> String {
    let mut menu = String::new();
    for level in 1..=levels {
        write!(
            menu,
            r#"{{"title": "n{level}", "path": "/l{level}", "page": {{"id": "p{level}", "title": "Title"}}"#
        )
        .unwrap();
        if level < levels {
            menu.push_str(r#", "items": ["#);
        }
    }
    for level in (1..=levels).rev() {
        menu.push('}');
        if level > 1 {
            menu.push(']');
        }
    }
    format!(r#"{{"name": "deep", "version": "1.0.0", "menu": {menu}}}"#)
}

fn too_deep_at() -> String {
    format!("menu{}", ".items[0]".repeat(MAX_MENU_DEPTH))
}

#[test]
fn a_menu_exactly_at_the_depth_limit_round_trips_through_the_manifest_json() {
    let def = PluginDef::builder("deep")
        .version("1.0.0")
        .menu(nested(MAX_MENU_DEPTH))
        .build()
        .unwrap();
    assert_eq!(def.pages().len(), MAX_MENU_DEPTH);
    let json = serde_json::to_string(def.manifest()).unwrap();
    assert_eq!(&PluginManifest::from_json(&json).unwrap(), def.manifest());
    let hand_written = PluginManifest::from_json(&nested_json(MAX_MENU_DEPTH)).unwrap();
    assert_eq!(hand_written.menu.as_ref().map(Menu::depth), Some(MAX_MENU_DEPTH));
}

#[test]
fn one_level_past_the_limit_is_refused_at_its_path() {
    let too_deep = vec![(
        too_deep_at(),
        ProblemKind::Menu(MenuProblem::TooDeep { max: MAX_MENU_DEPTH }),
    )];
    let built = PluginDef::builder("deep").menu(nested(MAX_MENU_DEPTH + 1)).build();
    assert_eq!(problems(built), too_deep);

    let Err(ManifestError::Definition(error)) = PluginManifest::from_json(&nested_json(MAX_MENU_DEPTH + 1)) else {
        panic!("expected a definition error");
    };
    let found: Vec<(String, ProblemKind)> = error
        .problems()
        .iter()
        .map(|p| (p.at.clone(), p.kind.clone()))
        .collect();
    assert_eq!(found, too_deep);
}

#[test]
fn json_nested_past_serde_json_s_recursion_limit_is_a_json_error() {
    assert!(matches!(
        PluginManifest::from_json(&nested_json(100)),
        Err(ManifestError::Json { .. })
    ));
}

#[test]
fn a_100k_deep_menu_is_a_typed_error_from_build_not_an_abort() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut menu = Menu::new("leaf").path("/leaf").page(page("leaf"));
            for _ in 0..100_000 {
                menu = Menu::new("n").item(menu);
            }
            let kept = menu.clone();
            let result = PluginDef::builder("deep").menu(menu).build();
            assert_eq!(
                problems(result),
                [(
                    too_deep_at(),
                    ProblemKind::Menu(MenuProblem::TooDeep { max: MAX_MENU_DEPTH })
                )]
            );
            drop(kept);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn errors_quote_a_bounded_prefix_of_huge_inputs() {
    let huge = "x".repeat(10 << 20);
    let built = PluginDef::builder(huge.clone())
        .version(huge.clone())
        .dependency(huge.clone(), Some(&huge))
        .extension_point(
            ExtensionPointDecl::new(huge.clone())
                .policy(Policy::Open)
                .allow(huge.clone()),
        )
        .build()
        .unwrap_err();
    let message = built.to_string();
    assert!(message.len() < 4_000, "{} bytes", message.len());
    assert_eq!(built.plugin_quoted().len(), 10 << 20);

    let manifests = [
        format!(r#"{{"name": "shop", "version": "1.0.0", "{huge}": 1}}"#),
        format!(r#"{{"name": "{huge}", "version": "1.0.0"}}"#),
        format!(r#"{{"name": "shop", "version": "{huge}"}}"#),
        format!(r#"{{"name": "shop", "version": "1.0.0", "contract": "{huge}"}}"#),
        format!(r#"{{"name": "shop", "version": "1.0.0", "description": 1, "x": "{huge}"}}"#),
        format!(r#"{{"name": "shop", "version": "1.0.0", "menu": {{"title": "t", "path": "/{huge}"}}}}"#),
    ];
    for text in manifests {
        let message = PluginManifest::from_json(&text).unwrap_err().to_string();
        assert!(message.len() < 2_000, "{} bytes: {}", message.len(), &message[..200]);
    }
}

#[test]
fn settings_declarations_are_checked_in_the_builder_and_in_manifests_alike() {
    use zelavis_plugin::settings::{SettingField, SettingKind};
    let error = PluginDef::builder("stripe")
        .setting(SettingField::new("api_key", "API key", SettingKind::Password))
        .setting(SettingField::new("api_key", "Again", SettingKind::String))
        .setting(SettingField::new("mode", "Mode", SettingKind::Select))
        .setting(SettingField::new("retries", "Retries", SettingKind::Number).default_value("three"))
        .build()
        .unwrap_err();
    let lines: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].contains("settings[1].key") && lines[0].contains("declared twice"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("needs options"), "{}", lines[1]);
    assert!(lines[2].contains("default does not fit"), "{}", lines[2]);

    let ok = PluginDef::builder("stripe")
        .setting(SettingField::new("api_key", "API key", SettingKind::Password).required())
        .build()
        .unwrap();
    let json = serde_json::to_string(ok.manifest()).unwrap();
    assert!(
        json.contains(r#""settings":[{"key":"api_key","label":"API key","type":"password","required":true}]"#),
        "{json}"
    );
    let back = PluginManifest::from_json(&json).unwrap();
    assert_eq!(back.settings, ok.settings());
    let bad = json.replace(r#""type":"password""#, r#""type":"select""#);
    assert!(PluginManifest::from_json(&bad).is_err());
}
