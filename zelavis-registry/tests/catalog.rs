//! The Marketplace catalog: defaults by source, claims only the owner can grant, blocked entries, duplicate
//! names, versions and links, and JSON errors with their paths.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use proptest::prelude::*;
use proptest::strategy::Strategy;
use semver::{Version, VersionReq};
use zelavis_registry::catalog::{Claim, Grants};
use zelavis_registry::prelude::*;

fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn json_path(result: Result<Catalog, CatalogError>) -> String {
    match result {
        Err(CatalogError::Json { path, .. }) => path,
        other => panic!("expected a JSON error, got {other:?}"),
    }
}

#[test]
fn an_official_entry_is_official_and_verified_by_default() {
    let built = CatalogEntry::new(name("zelavis-ecommerce"), Source::Official);
    assert_eq!((built.review, built.verified), (ReviewStatus::Official, true));

    let catalog = Catalog::from_json(r#"{"entries": [{"name": "zelavis-ecommerce", "source": "official"}]}"#).unwrap();
    let parsed = catalog.get("zelavis-ecommerce").unwrap();
    assert_eq!((parsed.review, parsed.verified), (ReviewStatus::Official, true));
    assert_eq!(parsed, &built);
}

#[test]
fn a_community_entry_is_unreviewed_and_unverified_by_default() {
    let built = CatalogEntry::new(name("stripe"), Source::Community);
    assert_eq!((built.review, built.verified), (ReviewStatus::Unreviewed, false));

    let catalog = Catalog::from_json(r#"{"entries": [{"name": "stripe", "source": "community"}]}"#).unwrap();
    assert_eq!(catalog.get("stripe"), Some(&built));
}

#[test]
fn explicit_values_override_the_defaults() {
    let catalog = Catalog::from_json(
        r#"{"entries": [
            {"name": "a", "source": "official", "review": "blocked", "verified": false, "title": "A"},
            {"name": "b", "source": "community", "review": "reviewed"}
        ]}"#,
    )
    .unwrap();
    let a = catalog.get("a").unwrap();
    assert_eq!(
        (a.review, a.verified, a.title.as_str()),
        (ReviewStatus::Blocked, false, "A")
    );
    assert_eq!(catalog.get("b").map(|b| b.review), Some(ReviewStatus::Reviewed));
}

#[test]
fn a_community_entry_cannot_claim_verified() {
    let claims = CatalogEntry::new(name("stripe"), Source::Community).verified(true);
    let ok = CatalogEntry::new(name("fine"), Source::Community);
    let err = Catalog::new([ok, claims]).unwrap_err();
    assert_eq!(
        err,
        CatalogError::UngrantedClaim {
            name: name("stripe"),
            position: 1,
            entry_source: Source::Community,
            claim: Claim::Verified,
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("\"stripe\"") && message.contains("verified") && message.contains("owner"),
        "{message}"
    );

    let from_json = Catalog::from_json(r#"{"entries": [{"name": "stripe", "source": "community", "verified": true}]}"#);
    assert!(matches!(
        from_json,
        Err(CatalogError::UngrantedClaim {
            position: 0,
            claim: Claim::Verified,
            ..
        })
    ));
}

#[test]
fn a_community_entry_cannot_claim_the_official_review_status() {
    let err = Catalog::from_json(r#"{"entries": [{"name": "stripe", "source": "community", "review": "official"}]}"#)
        .unwrap_err();
    assert_eq!(
        err,
        CatalogError::UngrantedClaim {
            name: name("stripe"),
            position: 0,
            entry_source: Source::Community,
            claim: Claim::Official,
        }
    );
}

#[test]
fn premium_and_private_entries_cannot_vouch_for_themselves_either() {
    for source in [Source::Premium, Source::Private, Source::Community] {
        let verified = CatalogEntry::new(name("x"), source).verified(true);
        assert!(
            matches!(
                Catalog::new([verified]),
                Err(CatalogError::UngrantedClaim {
                    claim: Claim::Verified,
                    ..
                })
            ),
            "{source}"
        );
        let official = CatalogEntry::new(name("x"), source).review(ReviewStatus::Official);
        assert!(
            matches!(
                Catalog::new([official]),
                Err(CatalogError::UngrantedClaim {
                    claim: Claim::Official,
                    ..
                })
            ),
            "{source}"
        );
        for claim in [r#""verified": true"#, r#""review": "official""#] {
            let text = format!(r#"{{"entries": [{{"name": "x", "source": "{source}", {claim}}}]}}"#);
            assert!(
                matches!(Catalog::from_json(&text), Err(CatalogError::UngrantedClaim { .. })),
                "{source} {claim}"
            );
        }
    }
    // Official and built-in entries are verified and official by their source: nothing is claimed.
    for source in [Source::Official, Source::BuiltIn] {
        let entry = CatalogEntry::new(name("x"), source)
            .verified(true)
            .review(ReviewStatus::Official);
        assert!(Catalog::new([entry]).is_ok(), "{source}");
    }
}

#[test]
fn only_the_owner_grants_and_a_grant_sets_the_claim() {
    let grants = Grants::new().verified(name("acme-pay")).official(name("acme-pay"));
    assert!(grants.grants("acme-pay", Claim::Verified) && !grants.grants("other", Claim::Official));

    // A claim the owner granted is accepted...
    let claimed = CatalogEntry::new(name("acme-pay"), Source::Premium).verified(true);
    let catalog = Catalog::with_grants([claimed], &grants).unwrap();
    let entry = catalog.get("acme-pay").unwrap();
    assert_eq!((entry.verified, entry.review), (true, ReviewStatus::Official));

    // ...and a grant applies even where the JSON claims nothing.
    let text = r#"{"entries": [{"name": "acme-pay", "source": "private"}, {"name": "other", "source": "private"}]}"#;
    let catalog = Catalog::from_json_with_grants(text, &grants).unwrap();
    assert!(catalog.get("acme-pay").unwrap().verified);
    assert!(!catalog.get("other").unwrap().verified);

    // The catalog knows what it was granted, which is what reading its own JSON back needs.
    assert_eq!(catalog.grants(), grants);
    assert!(Catalog::from_json(&catalog.to_json()).is_err());
    assert_eq!(
        Catalog::from_json_with_grants(&catalog.to_json(), &catalog.grants()).unwrap(),
        catalog
    );
    assert!(Catalog::default().grants().is_empty());
}

#[test]
fn a_link_named_twice_is_refused_not_last_wins() {
    let err = Catalog::from_json(
        r#"{"entries": [
            {"name": "a", "source": "official", "links": {"homepage": "https://a.invalid"}},
            {"name": "b", "source": "official", "links": {"homepage": "https://b.invalid", "docs": "x", "homepage": "https://evil.invalid"}}
        ]}"#,
    )
    .unwrap_err();
    assert_eq!(
        err,
        CatalogError::DuplicateLink {
            name: name("b"),
            position: 1,
            link: "homepage".into(),
        }
    );
    assert!(err.to_string().contains("\"homepage\" twice"), "{err}");
    // An entry read on its own refuses it too.
    let entry =
        serde_json::from_str::<CatalogEntry>(r#"{"name": "b", "source": "official", "links": {"x": "1", "x": "2"}}"#);
    assert!(entry.unwrap_err().to_string().contains("links name \"x\" twice"));
}

#[test]
fn errors_quote_a_bounded_prefix_of_huge_inputs() {
    let huge = "x".repeat(10 << 20);
    let texts = [
        format!(r#"{{"entries": [{{"name": "a", "source": "official", "{huge}": 1}}]}}"#),
        format!(r#"{{"entries": [{{"name": "{huge}", "source": "official"}}]}}"#),
        format!(r#"{{"entries": [{{"name": "a", "source": "{huge}"}}]}}"#),
        format!(r#"{{"entries": [{{"name": "a", "source": "official", "versions": ["{huge}"]}}]}}"#),
        format!(r#"{{"entries": [{{"name": "a", "source": "official", "links": {{"{huge}": "1", "{huge}": "2"}}}}]}}"#),
    ];
    for text in texts {
        let message = Catalog::from_json(&text).unwrap_err().to_string();
        assert!(message.len() < 2_000, "{} bytes", message.len());
    }
    let message = Catalog::default().check_installable(&huge).unwrap_err().to_string();
    assert!(message.len() < 200, "{message}");
}

#[test]
fn a_blocked_entry_cannot_be_installed() {
    let catalog = Catalog::new([
        CatalogEntry::new(name("good"), Source::Community),
        CatalogEntry::new(name("bad"), Source::Community).review(ReviewStatus::Blocked),
        CatalogEntry::new(name("old"), Source::Official).deprecated("use good instead"),
    ])
    .unwrap();

    assert_eq!(catalog.check_installable("good").map(|e| e.name.as_str()), Ok("good"));
    let err = catalog.check_installable("bad").unwrap_err();
    assert_eq!(err, CatalogError::Blocked { name: name("bad") });
    assert!(err.to_string().contains("\"bad\""), "{err}");

    let deprecated = catalog.check_installable("old").unwrap();
    assert!(deprecated.is_deprecated());
    assert_eq!(deprecated.deprecated.as_deref(), Some("use good instead"));
}

#[test]
fn an_unknown_name_is_not_installable() {
    let catalog = Catalog::default();
    assert_eq!(
        catalog.check_installable("ghost"),
        Err(CatalogError::NotFound { name: "ghost".into() })
    );
    assert_eq!(
        catalog
            .check_installable("Not A Name")
            .err()
            .map(|e| e.to_string())
            .as_deref(),
        Some("plugin \"Not A Name\" is not in the catalog")
    );
}

#[test]
fn duplicate_names_are_refused_with_both_positions() {
    let err = Catalog::new([
        CatalogEntry::new(name("a"), Source::Official),
        CatalogEntry::new(name("b"), Source::Official),
        CatalogEntry::new(name("a"), Source::Community),
    ])
    .unwrap_err();
    assert_eq!(
        err,
        CatalogError::Duplicate {
            name: name("a"),
            first: 0,
            second: 2
        }
    );
    let message = err.to_string();
    assert!(
        message.contains('0') && message.contains('2') && message.contains("\"a\""),
        "{message}"
    );

    let from_json = Catalog::from_json(
        r#"{"entries": [{"name": "x", "source": "official"}, {"name": "x", "source": "official"}]}"#,
    );
    assert!(matches!(
        from_json,
        Err(CatalogError::Duplicate {
            first: 0,
            second: 1,
            ..
        })
    ));
}

#[test]
fn json_errors_carry_the_path() {
    assert_eq!(
        json_path(Catalog::from_json(
            r#"{"entries": [{"name": "a", "source": "official"}, {"name": "b", "source": "somewhere"}]}"#
        )),
        "$.entries[1].source"
    );
    assert_eq!(
        json_path(Catalog::from_json(
            r#"{"entries": [{"name": "a", "source": "official", "colour": "red"}]}"#
        )),
        "$.entries[0].colour"
    );
    assert_eq!(
        json_path(Catalog::from_json(
            r#"{"entries": [{"name": "Shop", "source": "official"}]}"#
        )),
        "$.entries[0].name"
    );
    assert_eq!(
        json_path(Catalog::from_json(
            r#"{"entries": [{"name": "a", "source": "official", "versions": ["1.0.0", "one"]}]}"#
        )),
        "$.entries[0].versions[1]"
    );
    assert_eq!(
        json_path(Catalog::from_json(
            r#"{"entries": [{"name": "a", "source": "official", "compatibility": {"contract": "not a req"}}]}"#
        )),
        "$.entries[0].compatibility.contract"
    );
    assert_eq!(
        json_path(Catalog::from_json(
            r#"{"entries": [{"name": "a", "source": "official", "review": "maybe"}]}"#
        )),
        "$.entries[0].review"
    );
    assert_eq!(
        json_path(Catalog::from_json(r#"{"entries": [{"name": "a"}]}"#)),
        "$.entries[0]"
    );
    assert_eq!(
        json_path(Catalog::from_json(r#"{"entries": [], "extra": 1}"#)),
        "$.extra"
    );
    assert_eq!(json_path(Catalog::from_json("[")), "$");

    let message = Catalog::from_json(r#"{"entries": [{"name": "a", "source": "somewhere"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("$.entries[0].source") && message.contains("somewhere"),
        "{message}"
    );
}

#[test]
fn a_full_entry_round_trips_through_json() {
    let entry = CatalogEntry::new(name("@acme/niche-booking"), Source::Premium)
        .specifier("acme-niche-booking")
        .publisher("Acme")
        .title("Niche booking")
        .summary("Bookings for niches")
        .description("Long text")
        .versions([Version::new(1, 0, 0), Version::new(1, 1, 0)])
        .license("MIT")
        .link("homepage", "https://acme.invalid")
        .link("docs", "https://acme.invalid/docs")
        .tag("booking")
        .contract(VersionReq::parse("^1").unwrap())
        .parent(VersionReq::parse(">=2.0.0").unwrap())
        .tier_minimum("pro")
        .niche("salons")
        .deprecated("use v2")
        .signing_key_id("acme-2025");
    let catalog = Catalog::new([entry.clone(), CatalogEntry::new(name("b"), Source::Private)]).unwrap();
    let text = catalog.to_json();
    let back = Catalog::from_json(&text).unwrap();
    assert_eq!(back, catalog);
    assert_eq!(back.get("@acme/niche-booking"), Some(&entry));
    let links: Vec<&str> = entry.links.keys().map(String::as_str).collect();
    assert_eq!(links, ["homepage", "docs"]);
}

#[test]
fn iteration_keeps_the_given_order() {
    let catalog = Catalog::new(["c", "a", "b"].map(|n| CatalogEntry::new(name(n), Source::Official))).unwrap();
    let names: Vec<&str> = catalog.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["c", "a", "b"]);
    assert_eq!((&catalog).into_iter().count(), 3);
    assert_eq!(catalog.len(), 3);
    assert!(catalog.contains("a") && !catalog.contains("z"));
}

#[test]
fn the_schema_accepts_a_dollar_schema_key() {
    let catalog = Catalog::from_json(r#"{"$schema": "./catalog.schema.json", "entries": []}"#).unwrap();
    assert!(catalog.is_empty());
    let schema = serde_json::to_value(Catalog::json_schema()).unwrap();
    assert_eq!(schema["title"], "Zelavis catalog");
}

fn source() -> impl Strategy<Value = Source> {
    proptest::sample::select(Source::ALL.to_vec())
}

fn review() -> impl Strategy<Value = ReviewStatus> {
    proptest::sample::select(vec![
        ReviewStatus::Official,
        ReviewStatus::Reviewed,
        ReviewStatus::Unreviewed,
        ReviewStatus::Blocked,
    ])
}

proptest! {
    #[test]
    fn catalogs_round_trip_through_json(
        specs in proptest::collection::vec(
            (source(), review(), any::<bool>(), proptest::collection::btree_set(0u64..20, 0..4), proptest::option::of("[a-z ]{0,10}")),
            0..8,
        )
    ) {
        let entries: Vec<CatalogEntry> = specs
            .into_iter()
            .enumerate()
            .map(|(i, (source, review, verified, minors, deprecated))| {
                let mut entry = CatalogEntry::new(name(&format!("p{i}")), source)
                    .versions(minors.into_iter().map(|m| Version::new(1, m, 0)))
                    .review(review)
                    .verified(verified);
                if let Some(message) = deprecated {
                    entry = entry.deprecated(message);
                }
                entry
            })
            .collect();
        // The owner grants whatever the generated entries claim beyond their source.
        let grants = entries.iter().fold(Grants::new(), |grants, entry| {
            let grants = if entry.verified && !CatalogEntry::default_verified(entry.source) {
                grants.verified(entry.name.clone())
            } else {
                grants
            };
            if entry.review == ReviewStatus::Official && ReviewStatus::default_for(entry.source) != ReviewStatus::Official {
                grants.official(entry.name.clone())
            } else {
                grants
            }
        });
        let catalog = Catalog::with_grants(entries, &grants).unwrap();
        prop_assert_eq!(catalog.grants(), grants);
        prop_assert_eq!(Catalog::from_json_with_grants(&catalog.to_json(), &catalog.grants()).unwrap(), catalog);
    }

    #[test]
    fn from_json_never_panics(text in "\\PC{0,200}") {
        let _ = Catalog::from_json(&text);
    }
}
