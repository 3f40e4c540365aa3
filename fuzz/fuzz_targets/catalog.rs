//! `Catalog::from_json`: never panics; an accepted catalog claims nothing it was not granted (so it parses
//! back from its own JSON with no grants), and its error messages stay bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zelavis_registry::catalog::{Catalog, CatalogEntry, ReviewStatus};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Catalog::from_json(text) {
        Ok(catalog) => {
            assert!(catalog.grants().is_empty(), "JSON granted a claim");
            for entry in &catalog {
                assert!(!entry.verified || CatalogEntry::default_verified(entry.source));
                assert!(
                    entry.review != ReviewStatus::Official
                        || ReviewStatus::default_for(entry.source) == ReviewStatus::Official
                );
            }
            let back = Catalog::from_json(&catalog.to_json()).expect("an accepted catalog parses back");
            assert_eq!(back, catalog);
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.len() <= 4 * 1024, "{} bytes", message.len());
        }
    }
});
