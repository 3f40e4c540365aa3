//! The registry and its install state: duplicates, applying a state exactly, writing it back, removing plugins,
//! and JSON errors with their paths.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use proptest::prelude::*;
use proptest::strategy::Strategy;
use semver::Version;
use zelavis_registry::prelude::*;

fn def(name: &str) -> PluginDef {
    PluginDef::builder(name).build().unwrap()
}

fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn names(registry: &PluginRegistry) -> Vec<&str> {
    registry.iter().map(|e| e.name().as_str()).collect()
}

/// `a` installed (order 2, official), `b` available, `c` installed (order 0, specifier "c-crate").
fn registry() -> PluginRegistry {
    PluginRegistry::new(vec![
        RegistryEntry::installed(def("a")).order(2).source(Source::Official),
        RegistryEntry::available(def("b")),
        RegistryEntry::installed(def("c")).order(0).specifier("c-crate"),
    ])
    .unwrap()
}

/// What a registry records about one plugin: name, status, source, order, specifier and pin.
type Summary = (
    String,
    Status,
    Option<Source>,
    Option<u32>,
    Option<String>,
    Option<Version>,
);

fn summary(registry: &PluginRegistry) -> Vec<Summary> {
    registry
        .iter()
        .map(|e| {
            (
                e.name().to_string(),
                e.status(),
                e.record().source,
                e.record().order,
                e.record().specifier.clone(),
                e.record().pin.clone(),
            )
        })
        .collect()
}

fn state_path(result: Result<RegistryState, StateError>) -> String {
    match result {
        Err(
            StateError::Json { path, .. } | StateError::BlankName { path, .. } | StateError::InvalidName { path, .. },
        ) => path,
        other => panic!("expected an error, got {other:?}"),
    }
}

// ---- registry -------------------------------------------------------------------------------------------------

#[test]
fn duplicate_plugins_are_refused_with_both_positions() {
    let err = PluginRegistry::new(vec![
        RegistryEntry::installed(def("a")),
        RegistryEntry::installed(def("b")),
        RegistryEntry::available(def("c")),
        RegistryEntry::available(def("b")),
    ])
    .unwrap_err();
    assert_eq!(
        err,
        RegistryError::Duplicate {
            name: name("b"),
            first: 1,
            second: 3
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("\"b\"") && message.contains('1') && message.contains('3'),
        "{message}"
    );
}

#[test]
fn the_registry_keeps_insertion_order_and_lists_installed_plugins() {
    let registry = registry();
    assert_eq!(names(&registry), ["a", "b", "c"]);
    let installed: Vec<&str> = registry.installed().map(|e| e.name().as_str()).collect();
    assert_eq!(installed, ["a", "c"]);
    assert_eq!(registry.len(), 3);
    assert_eq!(registry.position("c"), Some(2));
    assert!(registry.get("b").is_some_and(|e| !e.is_installed()));
    assert!(registry.get("zz").is_none());
}

#[test]
fn runtime_install_appends_and_reinstall_keeps_the_position() {
    let mut registry = registry();
    registry.insert(RegistryEntry::installed(def("d"))).unwrap();
    assert!(matches!(
        registry.insert(RegistryEntry::installed(def("a"))),
        Err(RegistryError::Duplicate {
            first: 0,
            second: 4,
            ..
        })
    ));
    let replaced = registry.upsert(RegistryEntry::available(def("a")));
    assert!(replaced.is_some_and(|old| old.record().order == Some(2)));
    assert_eq!(names(&registry), ["a", "b", "c", "d"]);
    assert_eq!(
        registry.get("a").map(|e| (e.status(), e.record().order)),
        Some((Status::Available, None))
    );

    assert_eq!(registry.set_status("b", Status::Installed), Ok(Status::Available));
    assert!(matches!(
        registry.set_status("nope", Status::Installed),
        Err(RegistryError::NotFound { .. })
    ));
}

// ---- remove ---------------------------------------------------------------------------------------------------

#[test]
fn remove_returns_a_registry_without_the_plugin_and_leaves_the_original() {
    let registry = registry();
    let without_a = registry.remove("a").unwrap();
    assert_eq!(names(&without_a), ["b", "c"]);
    assert_eq!(names(&registry), ["a", "b", "c"]);

    let state = without_a.serialize_state();
    assert!(state.get("a").is_none());
    assert_eq!(state.records.len(), 2);
}

#[test]
fn removing_an_unknown_plugin_is_a_no_op() {
    let registry = registry();
    let same = registry.remove("ghost").unwrap();
    assert_eq!(summary(&same), summary(&registry));
}

#[test]
fn removing_a_blank_or_invalid_name_is_an_error() {
    let registry = registry();
    for blank in ["", "   ", "\t\n"] {
        assert_eq!(
            registry.remove(blank).err(),
            Some(RegistryError::BlankName { name: blank.into() }),
            "{blank:?}"
        );
    }
    let err = registry.remove("Shop").unwrap_err();
    assert!(matches!(&err, RegistryError::InvalidName { name, .. } if name == "Shop"));
    assert!(err.to_string().contains("\"Shop\""), "{err}");
}

#[test]
fn a_removed_plugin_comes_back_as_unknown_when_its_old_state_is_applied() {
    let registry = registry();
    let old_state = registry.serialize_state();
    let applied = registry.remove("b").unwrap().apply_state(&old_state);
    assert_eq!(applied.unknown, ["b"]);
    assert_eq!(names(&applied.registry), ["a", "c"]);
}

// ---- apply_state ----------------------------------------------------------------------------------------------

#[test]
fn apply_state_replaces_the_records_of_known_entries_and_keeps_registry_order() {
    let registry = registry();
    let state = RegistryState::new(vec![
        InstallRecord::new(name("c"), Status::Available)
            .order(7)
            .source(Source::Private)
            .pin(Version::new(3, 0, 0)),
        InstallRecord::new(name("b"), Status::Installed)
            .specifier("b-crate")
            .order(0),
    ]);
    let applied = registry.apply_state(&state);
    assert!(applied.unknown.is_empty());
    let after = applied.into_registry();
    assert_eq!(names(&after), ["a", "b", "c"]);
    assert_eq!(
        summary(&after),
        [
            (
                "a".into(),
                Status::Installed,
                Some(Source::Official),
                Some(2),
                None,
                None
            ),
            (
                "b".into(),
                Status::Installed,
                None,
                Some(0),
                Some("b-crate".into()),
                None
            ),
            (
                "c".into(),
                Status::Available,
                Some(Source::Private),
                Some(7),
                None,
                Some(Version::new(3, 0, 0))
            ),
        ]
    );
    assert_eq!(applied_missing(&registry, &state), ["a"]);
    // The original is unchanged.
    assert_eq!(registry.get("c").map(RegistryEntry::status), Some(Status::Installed));
}

fn applied_missing(registry: &PluginRegistry, state: &RegistryState) -> Vec<String> {
    registry
        .apply_state(state)
        .missing
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn absent_values_in_a_record_clear_the_entry_values() {
    let registry = registry();
    let applied = registry.apply_state(&RegistryState::new(vec![InstallRecord::new(
        name("a"),
        Status::Available,
    )]));
    let a = applied.registry.get("a").unwrap();
    assert_eq!(
        (a.status(), a.record().source, a.record().order),
        (Status::Available, None, None)
    );
    // Plugins without a record keep theirs.
    assert_eq!(applied.missing, [name("b"), name("c")]);
    assert_eq!(applied.registry.get("c").unwrap().record().order, Some(0));
}

#[test]
fn apply_state_reports_unknown_names_once_in_order() {
    let state = RegistryState::from_json(
        r#"{"records": [
            {"name": "zeta", "status": "installed"},
            {"name": "a", "status": "available"},
            {"name": "alpha", "status": "installed"},
            {"name": "zeta", "status": "available"}
        ]}"#,
    )
    .unwrap();
    let applied = registry().apply_state(&state);
    assert_eq!(applied.unknown, [name("zeta"), name("alpha")]);
    assert_eq!(names(&applied.registry), ["a", "b", "c"]);
    assert_eq!(
        applied.registry.get("a").map(RegistryEntry::status),
        Some(Status::Available)
    );
}

#[test]
fn the_last_duplicate_record_wins_whole() {
    let state = RegistryState::new(vec![
        InstallRecord::new(name("b"), Status::Installed)
            .order(9)
            .source(Source::Community)
            .specifier("first"),
        InstallRecord::new(name("b"), Status::Available).order(4),
    ]);
    let applied = registry().apply_state(&state);
    let b = applied.registry.get("b").unwrap();
    // Nothing of the first record leaks through.
    assert_eq!(
        (
            b.status(),
            b.record().order,
            b.record().source,
            b.record().specifier.as_deref()
        ),
        (Status::Available, Some(4), None, None)
    );
}

#[test]
fn an_empty_state_changes_nothing() {
    let registry = registry();
    let applied = registry.apply_state(&RegistryState::default());
    assert!(applied.unknown.is_empty());
    assert_eq!(summary(&applied.registry), summary(&registry));
    let from_empty_json = registry.apply_state(&RegistryState::from_json("{}").unwrap());
    assert_eq!(summary(&from_empty_json.registry), summary(&registry));
}

// ---- serialize_state ------------------------------------------------------------------------------------------

#[test]
fn serialize_state_follows_registry_order_and_omits_absent_values() {
    let registry = registry().apply_state(&RegistryState::new(vec![
        InstallRecord::new(name("b"), Status::Available).pin(Version::new(1, 2, 3)),
    ]));
    let state = registry.registry.serialize_state();
    let value: serde_json::Value = serde_json::from_str(&state.to_json()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"records": [
            {"name": "a", "status": "installed", "source": "official", "order": 2},
            {"name": "b", "status": "available", "pin": "1.2.3"},
            {"name": "c", "specifier": "c-crate", "status": "installed", "order": 0}
        ]})
    );
}

#[test]
fn serialize_then_apply_is_the_identity() {
    let registry = registry();
    let applied = registry.apply_state(&registry.serialize_state());
    assert_eq!(summary(&applied.registry), summary(&registry));
}

// ---- from_json ------------------------------------------------------------------------------------------------

#[test]
fn names_are_validated_as_written() {
    let state = RegistryState::from_json(r#"{"records": [{"name": "@acme/shop", "status": "installed"}]}"#).unwrap();
    assert_eq!(state.records[0].name, "@acme/shop");
    for padded in ["  @acme/shop\\t", "\\u00a0stripe", "stripe\\u2003"] {
        let text = format!(r#"{{"records": [{{"name": "{padded}", "status": "installed"}}]}}"#);
        let refused = RegistryState::from_json(&text).unwrap_err();
        assert!(
            matches!(&refused, StateError::InvalidName { path, .. } if path == "$.records[0].name"),
            "{padded:?}: {refused}"
        );
    }

    let blank = RegistryState::from_json(
        r#"{"records": [{"name": "a", "status": "installed"}, {"name": "   ", "status": "installed"}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        blank,
        StateError::BlankName {
            path: "$.records[1].name".into(),
            name: "   ".into()
        }
    );

    let invalid = RegistryState::from_json(r#"{"records": [{"name": "Shop", "status": "installed"}]}"#).unwrap_err();
    assert!(matches!(
        &invalid,
        StateError::InvalidName { path, source: NameError::Uppercase { .. }, .. } if path == "$.records[0].name"
    ));
    assert!(invalid.to_string().contains("$.records[0].name"), "{invalid}");
}

#[test]
fn statuses_must_be_available_or_installed() {
    let text = r#"{"records": [
        {"name": "a", "status": "installed"},
        {"name": "b", "status": "available"},
        {"name": "c", "status": "installed"},
        {"name": "d", "status": "enabled"}
    ]}"#;
    let err = RegistryState::from_json(text).unwrap_err();
    assert!(
        matches!(&err, StateError::Json { path, line: 5, .. } if path == "$.records[3].status"),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("enabled") && message.contains("installed"),
        "{message}"
    );

    assert_eq!(
        state_path(RegistryState::from_json(r#"{"records": [{"name": "a"}]}"#)),
        "$.records[0]"
    );
    assert_eq!(
        state_path(RegistryState::from_json(
            r#"{"records": [{"name": "a", "status": "Installed"}]}"#
        )),
        "$.records[0].status"
    );
}

#[test]
fn orders_must_be_non_negative_integers() {
    for bad in ["-1", "1.5", "\"3\"", "4294967296", "true"] {
        let text = format!(
            r#"{{"records": [{{"name": "a", "status": "installed", "order": 1}}, {{"name": "b", "status": "installed", "order": {bad}}}]}}"#
        );
        assert_eq!(
            state_path(RegistryState::from_json(&text)),
            "$.records[1].order",
            "{bad}"
        );
    }
    let zero = RegistryState::from_json(r#"{"records": [{"name": "a", "status": "installed", "order": 0}]}"#).unwrap();
    assert_eq!(zero.records[0].order, Some(0));
}

#[test]
fn unknown_fields_and_bad_values_are_refused_with_their_path() {
    assert_eq!(
        state_path(RegistryState::from_json(
            r#"{"records": [{"name": "a", "status": "installed", "enabled": true}]}"#
        )),
        "$.records[0].enabled"
    );
    assert_eq!(
        state_path(RegistryState::from_json(r#"{"records": [], "revision": 3}"#)),
        "$.revision"
    );
    assert_eq!(
        state_path(RegistryState::from_json(
            r#"{"records": [{"name": "a", "status": "installed", "source": "npm"}]}"#
        )),
        "$.records[0].source"
    );
    assert_eq!(
        state_path(RegistryState::from_json(
            r#"{"records": [{"name": "a", "status": "installed", "pin": "1.x"}]}"#
        )),
        "$.records[0].pin"
    );
    assert_eq!(state_path(RegistryState::from_json(r#"{"records": {}}"#)), "$.records");
    assert_eq!(state_path(RegistryState::from_json("not json")), "$");
    assert_eq!(state_path(RegistryState::from_json(r#"{"records": []} trailing"#)), "$");
}

#[test]
fn to_json_reads_back() {
    let state = RegistryState::new(vec![
        InstallRecord::new(name("a"), Status::Installed)
            .order(0)
            .source(Source::BuiltIn),
        InstallRecord::new(name("b"), Status::Available)
            .specifier("./plugins/b")
            .pin(Version::new(0, 1, 0)),
    ]);
    assert_eq!(RegistryState::from_json(&state.to_json()).unwrap(), state);
}

// ---- property -------------------------------------------------------------------------------------------------

fn source() -> impl Strategy<Value = Option<Source>> {
    proptest::option::of(proptest::sample::select(Source::ALL.to_vec()))
}

/// Installed?, source, order, specifier, pinned `major.minor`.
type EntryState = (bool, Option<Source>, Option<u32>, Option<String>, Option<(u64, u64)>);

fn entry_state() -> impl Strategy<Value = EntryState> {
    (
        any::<bool>(),
        source(),
        proptest::option::of(prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()]),
        proptest::option::of("[a-z./@-]{0,12}"),
        proptest::option::of((0u64..5, 0u64..5)),
    )
}

proptest! {
    /// serialize_state → to_json → from_json → apply_state onto a fresh registry (same plugins, nothing recorded)
    /// gives back every entry's status, source, order, specifier and pin, in the same order.
    #[test]
    fn state_round_trips_onto_a_fresh_registry(states in proptest::collection::vec(entry_state(), 0..12)) {
        let plugins: Vec<PluginDef> = (0..states.len()).map(|i| def(&format!("plugin-{i}"))).collect();
        let original = PluginRegistry::new(plugins.iter().zip(&states).map(|(plugin, (installed, source, order, specifier, pin))| {
            let mut record = InstallRecord::new(plugin.name().clone(), if *installed { Status::Installed } else { Status::Available });
            record.source = *source;
            record.order = *order;
            record.specifier.clone_from(specifier);
            record.pin = pin.map(|(major, minor)| Version::new(major, minor, 0));
            RegistryEntry::with_record(plugin.clone(), record)
        }).collect::<Vec<_>>()).unwrap();

        let text = original.serialize_state().to_json();
        let state = RegistryState::from_json(&text).unwrap();
        let fresh = PluginRegistry::new(plugins.iter().cloned().map(RegistryEntry::available).collect::<Vec<_>>()).unwrap();
        let applied = fresh.apply_state(&state);

        prop_assert!(applied.unknown.is_empty());
        prop_assert_eq!(summary(&applied.registry), summary(&original));
        prop_assert_eq!(applied.registry.serialize_state(), original.serialize_state());
    }

    /// Applying a state never adds, drops or reorders plugins, whatever its records say.
    #[test]
    fn apply_state_never_changes_membership_or_order(
        records in proptest::collection::vec((0usize..8, any::<bool>()), 0..16)
    ) {
        let registry = registry();
        let pool = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let state = RegistryState::new(records.iter().map(|(i, installed)| {
            InstallRecord::new(name(pool[*i]), if *installed { Status::Installed } else { Status::Available })
        }).collect());
        let applied = registry.apply_state(&state);
        prop_assert_eq!(names(&applied.registry), ["a", "b", "c"]);
        for unknown in &applied.unknown {
            prop_assert!(!registry.contains(unknown.as_str()));
        }
        for entry in applied.registry.iter() {
            let expected = state.get(entry.name().as_str()).map_or(registry.get(entry.name().as_str()).unwrap().status(), |r| r.status);
            prop_assert_eq!(entry.status(), expected);
        }
    }
}
