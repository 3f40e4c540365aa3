//! `Name::parse` (and `PageId::parse`): never panics; an accepted name is its text, round-trips through its
//! string and JSON forms, and errors are bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zelavis_core::name::{MAX_NAME_LEN, Name};
use zelavis_core::page::{MAX_PAGE_ID_LEN, PageId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Name::parse(text) {
        Ok(name) => {
            assert_eq!(name.as_str(), text);
            assert!(!text.is_empty() && text.len() <= MAX_NAME_LEN);
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_./@".contains(&b))
            );
            assert_eq!(Name::parse(&name.to_string()), Ok(name.clone()));
            let json = serde_json::to_string(&name).expect("a name serialises");
            assert_eq!(serde_json::from_str::<Name>(&json).expect("a name parses back"), name);
            assert_eq!(name.scope().is_some(), text.starts_with('@'));
        }
        Err(error) => assert!(error.to_string().len() <= 1024),
    }
    match PageId::parse(text) {
        Ok(id) => {
            assert_eq!(id.as_str(), text);
            assert!(text.len() <= MAX_PAGE_ID_LEN);
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b))
            );
        }
        Err(error) => assert!(error.to_string().len() <= 1024),
    }
});
