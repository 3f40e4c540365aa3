//! The path grammar and everything that accepts a path: `path::check`, `check_route`, `check_segment`, menu
//! paths, route paths, `ApiPaths::new` and `PageAddress::parse`. Never panics; anything accepted has no
//! forbidden form, and accepted values re-serialise and re-parse to the same value.

#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use zelavis_core::address::PageAddress;
use zelavis_core::menu::check_path;
use zelavis_core::path::{self, MAX_PATH_LEN, check, check_route, check_segment, segments};
use zelavis_core::paths::ApiPaths;
use zelavis_plugin::route::{Route, RouteResponse};

fn has_no_forbidden_form(text: &str) -> bool {
    text.starts_with('/')
        && text.len() <= MAX_PATH_LEN
        && !text.contains('%')
        && !text.contains("//")
        && (text == "/" || !text.ends_with('/'))
        && text.bytes().all(|b| b.is_ascii_graphic())
        && !text.contains([':', '?', '#', '\\'])
        && !text
            .split('/')
            .skip(1)
            .any(|s| !s.is_empty() && s.bytes().all(|b| b == b'.'))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let plain = check(text);
    let route = check_route(text);
    assert_eq!(
        check_path(text).is_ok(),
        plain.is_ok(),
        "menu paths are the grammar's paths"
    );
    if plain.is_ok() {
        assert!(has_no_forbidden_form(text), "{text:?}");
        assert!(!text.contains(['{', '}']));
        assert!(route.is_ok(), "a plain path is a route path");
        let rejoined: String = segments(text).flat_map(|s| ["/", s]).collect();
        assert_eq!(if rejoined.is_empty() { "/" } else { &rejoined }, text);
    }
    if route.is_ok() {
        assert!(has_no_forbidden_form(text), "{text:?}");
    }
    for error in [plain.err(), route.clone().err()].into_iter().flatten() {
        assert!(error.to_string().len() <= 2048);
    }
    if check_segment(text).is_ok() {
        assert!(check(&format!("/{text}")).is_ok() && !text.contains('/'));
    }

    let made = Route::new(Method::GET, text, |_| async { Ok(RouteResponse::new(Vec::new())) });
    assert_eq!(made.is_ok(), route.is_ok());
    if let Ok(made) = made {
        assert_eq!(made.path(), text);
    }

    // Three mount parts, separated by newlines.
    let mut parts = text.splitn(3, '\n');
    let (root, prefix, version) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if let Ok(paths) = ApiPaths::new(root, prefix, version) {
        let base = paths.base();
        assert!(path::check(&base).is_ok(), "base {base:?} of {paths:?}");
        assert_eq!(
            ApiPaths::new(paths.root(), paths.prefix(), paths.version()),
            Ok(paths.clone())
        );
    }

    // Page addresses come from request paths: accepted ones are canonical and round-trip.
    match PageAddress::parse(text) {
        Ok(address) => {
            assert_eq!(PageAddress::parse(&address.path()), Ok(address.clone()));
            assert!(
                address.path().eq_ignore_ascii_case(text),
                "{text:?} vs {}",
                address.path()
            );
        }
        Err(error) => assert!(error.to_string().len() <= 2048),
    }
});
