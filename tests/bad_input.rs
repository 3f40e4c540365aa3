//! Hostile inputs and the typed error each one gets: a table, one row per input, so a reader sees every
//! refusal in one place (issue 9, "Hardening"). Each rule is tested in depth next to its code; this table pins
//! that the public entry points a host or an author meets refuse them, and how.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use http::Method;
use zelavis::core::menu::{MAX_MENU_DEPTH, MenuProblem};
use zelavis::core::name::NameError;
use zelavis::core::path::PathError;
use zelavis::core::paths::MountError;
use zelavis::plugin::migration::MigrationIdError;
use zelavis::plugin::route::RouteError;
use zelavis::prelude::*;
use zelavis::registry::catalog::{Catalog, CatalogError, Claim};

/// What a hostile input was refused with, flattened to compare rows.
#[derive(Debug)]
enum Refusal {
    Definition(Vec<(String, ProblemKind)>),
    Route(RouteError),
    Mount(MountError),
    Migration(MigrationIdError),
    Name(NameError),
    Catalog(CatalogError),
}

fn build_menu(path: &str) -> Refusal {
    let error = PluginDef::builder("shop")
        .menu(Menu::new("Shop").path(path))
        .build()
        .unwrap_err();
    Refusal::Definition(
        error
            .problems()
            .iter()
            .map(|p| (p.at.clone(), p.kind.clone()))
            .collect(),
    )
}

fn route(path: &str) -> Refusal {
    let route = Route::new(Method::GET, path, |_| async { Ok(RouteResponse::new(Vec::new())) });
    Refusal::Route(route.unwrap_err())
}

fn mount(root: &str) -> Refusal {
    Refusal::Mount(ApiPaths::new(root, "/api", "v1").unwrap_err())
}

/// Which rule of the path grammar a refusal names.
type Rule = fn(&PathError) -> bool;

/// The menu, route and mount refusals of one hostile path: the same rule of the one grammar for all three.
fn path_rows(path: &str, rule: Rule) {
    match build_menu(path) {
        Refusal::Definition(problems) => assert!(
            matches!(&problems[..], [(at, ProblemKind::Menu(MenuProblem::Path(e)))] if at == "menu.path" && rule(e)),
            "menu {path:?}: {problems:?}"
        ),
        other => panic!("menu {path:?}: {other:?}"),
    }
    match route(path) {
        Refusal::Route(RouteError::InvalidPath(e)) => assert!(rule(&e), "route {path:?}: {e:?}"),
        other => panic!("route {path:?}: {other:?}"),
    }
    match mount(path) {
        Refusal::Mount(MountError::Invalid { part: "root", source }) => {
            assert!(rule(&source), "mount {path:?}: {source:?}");
        }
        other => panic!("mount {path:?}: {other:?}"),
    }
}

#[test]
fn hostile_paths_are_refused_by_menus_routes_and_mounts_alike() {
    let megabyte = format!("/{}", "a".repeat(1 << 20));
    let rows: [(&str, Rule); 8] = [
        ("/%2e%2e/state", |e| {
            matches!(e, PathError::PercentEncoded { index: 1, .. })
        }),
        (
            "/a/./b",
            |e| matches!(e, PathError::DotSegment { segment, .. } if segment == "."),
        ),
        (
            "/a/../b",
            |e| matches!(e, PathError::DotSegment { segment, .. } if segment == ".."),
        ),
        ("//host/x", |e| matches!(e, PathError::EmptySegment { index: 1, .. })),
        ("/a\0b", |e| matches!(e, PathError::InvalidChar { ch: '\0', .. })),
        ("/a\u{202e}b", |e| {
            matches!(e, PathError::InvalidChar { ch: '\u{202e}', .. })
        }),
        ("/javascript:alert(1)", |e| {
            matches!(e, PathError::InvalidChar { ch: ':', .. })
        }),
        (
            &megabyte,
            |e| matches!(e, PathError::TooLong { len, max: 1024, .. } if *len == (1 << 20) + 1),
        ),
    ];
    for (path, rule) in rows {
        path_rows(path, rule);
    }
    // Without the leading slash, `javascript:` is refused for not being a path at all.
    path_rows("javascript:alert(1)", |e| matches!(e, PathError::NotAbsolute { .. }));
}

#[test]
fn a_traversing_migration_id_is_refused() {
    let refused = Migration::new("../../state/default", || async { Ok(()) }).map(drop);
    assert!(matches!(
        refused.map_err(Refusal::Migration),
        Err(Refusal::Migration(MigrationIdError::BadStart { ch: '.', .. }))
    ));
    assert!(matches!(
        Migration::new("ok/../../state", || async { Ok(()) }).map(drop),
        Err(MigrationIdError::InvalidChar { ch: '/', .. })
    ));
}

#[test]
fn a_100_mb_name_gives_a_bounded_error() {
    let name = "a".repeat(100 << 20);
    let error = Name::parse(&name).unwrap_err();
    let message = error.to_string();
    assert!(message.len() < 200, "{} bytes", message.len());
    assert!(matches!(
        Refusal::Name(error),
        Refusal::Name(NameError::TooLong { len, .. }) if len == 100 << 20
    ));
    let definition = PluginDef::builder(name).build().unwrap_err().to_string();
    assert!(definition.len() < 400, "{} bytes", definition.len());
}

#[test]
fn a_100k_deep_menu_is_a_typed_error_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut menu = Menu::new("leaf").path("/leaf");
            for _ in 0..100_000 {
                menu = Menu::new("n").item(menu);
            }
            let service = ServiceDef::new(Name::parse("deep").unwrap()).menu(menu.clone());
            let Refusal::Definition(problems) = ({
                let error = PluginDef::builder("deep").menu(menu).build().unwrap_err();
                Refusal::Definition(
                    error
                        .problems()
                        .iter()
                        .map(|p| (p.at.clone(), p.kind.clone()))
                        .collect(),
                )
            }) else {
                unreachable!()
            };
            let at = format!("menu{}", ".items[0]".repeat(MAX_MENU_DEPTH));
            assert_eq!(
                problems,
                [(at, ProblemKind::Menu(MenuProblem::TooDeep { max: MAX_MENU_DEPTH }))]
            );
            assert!(matches!(
                service.check_for_plugin(),
                Err(ServiceError::Menu {
                    problem: MenuProblem::TooDeep { .. },
                    ..
                })
            ));
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn catalog_claims_and_duplicates_are_refused() {
    let duplicate_link = Catalog::from_json(
        r#"{"entries": [{"name": "a", "source": "official",
            "links": {"homepage": "https://a.invalid", "homepage": "https://evil.invalid"}}]}"#,
    )
    .unwrap_err();
    assert!(matches!(
        Refusal::Catalog(duplicate_link),
        Refusal::Catalog(CatalogError::DuplicateLink { position: 0, link, .. }) if link == "homepage"
    ));
    for (source, claim) in [
        ("premium", r#""verified": true"#),
        ("premium", r#""review": "official""#),
        ("private", r#""verified": true"#),
    ] {
        let text = format!(r#"{{"entries": [{{"name": "acme", "source": "{source}", {claim}}}]}}"#);
        let refused = Catalog::from_json(&text).unwrap_err();
        assert!(
            matches!(
                &refused,
                CatalogError::UngrantedClaim {
                    claim: Claim::Verified | Claim::Official,
                    ..
                }
            ),
            "{source} {claim}: {refused:?}"
        );
    }
}

// ---- the registry's own entry points ---------------------------------------------------------------------------

#[test]
fn padded_state_names_are_refused_not_trimmed() {
    for padded in ["\u{a0}stripe", " stripe", "stripe\t", "stri\u{202e}pe"] {
        let text = serde_json::json!({"records": [{"name": padded, "status": "installed"}]}).to_string();
        let refused = RegistryState::from_json(&text).unwrap_err();
        assert!(
            matches!(&refused, StateError::InvalidName { path, .. } if path == "$.records[0].name"),
            "{padded:?}: {refused}"
        );
    }
}

#[test]
fn huge_names_and_paths_give_bounded_errors_from_the_registry_too() {
    let huge = "x".repeat(10 << 20);
    let state = serde_json::json!({"records": [{"name": huge, "status": "installed"}]}).to_string();
    let refused = RegistryState::from_json(&state).unwrap_err().to_string();
    assert!(refused.len() < 1_000, "{} bytes", refused.len());

    futures::executor::block_on(async {
        let (runtime, _) = Runtime::builder(PluginRegistry::default()).start().await.unwrap();
        let unknown = runtime.enable(&huge).await.unwrap_err().to_string();
        assert!(unknown.len() < 1_000, "{} bytes", unknown.len());
        let route = runtime
            .call_route(&Method::GET, &format!("/{huge}"), RouteRequest::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(route.len() < 1_000, "{} bytes", route.len());
    });
    let scope = huge.parse::<Scope>().unwrap_err().to_string();
    assert!(scope.len() < 1_000, "{} bytes", scope.len());
}

#[test]
fn a_document_of_format_0_is_corrupt_on_load_and_save_alike() {
    use zelavis::registry::store::memory::MemoryStore;
    use zelavis::registry::store::{RegistryStore, StoreError};
    let store = MemoryStore::new();
    store.write_raw(
        &Scope::Default,
        br#"{"format": 0, "revision": 1, "state": {"records": []}}"#,
    );
    futures::executor::block_on(async {
        assert!(matches!(
            store.load(&Scope::Default).await,
            Err(StoreError::Corrupt { .. })
        ));
        let save = store
            .save(&Scope::Default, &RegistryState::default(), Revision(1))
            .await;
        assert!(matches!(save, Err(StoreError::Corrupt { .. })), "{save:?}");
    });
}

#[test]
fn a_5000_plugin_cycle_gives_a_small_report() {
    let n = 5_000;
    let entries = (0..n).map(|i| {
        let def = PluginDef::builder(format!("p{i}"))
            .dependency(format!("p{}", (i + 1) % n), None)
            .build()
            .unwrap();
        RegistryEntry::installed(def)
    });
    let registry = PluginRegistry::new(entries).unwrap();
    let (_, report) = futures::executor::block_on(Runtime::builder(registry).start()).unwrap();
    assert_eq!(report.len(), n);
    let names: usize = report
        .plugins()
        .iter()
        .map(|line| match &line.outcome {
            Outcome::Skipped {
                reason: SkipReason::DependencyCycle { cycle },
            } => cycle.len(),
            other => panic!("{}: {other}", line.name),
        })
        .sum();
    // Each line names at most 16 plugins of the cycle: linear in the plugins, not quadratic.
    assert!(names <= n * 16, "{names} names");
    assert!(serde_json::to_string(&report).unwrap().len() < 5 << 20);
}
