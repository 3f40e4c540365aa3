//! Migration ids: never panics; an accepted id has no `/`, no `..`, no leading dot, only `A-Z a-z 0-9 . _ -`,
//! and `Migration::new` accepts exactly what `validate_id` accepts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zelavis_plugin::migration::{MAX_MIGRATION_ID_LEN, Migration, validate_id};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let valid = validate_id(text);
    let migration = Migration::new(text, || async { Ok(()) });
    assert_eq!(
        migration.as_ref().map(Migration::id).map_err(Clone::clone),
        valid.clone().map(|()| text)
    );
    match valid {
        Ok(()) => {
            assert!(!text.is_empty() && text.len() <= MAX_MIGRATION_ID_LEN);
            assert!(text.as_bytes()[0].is_ascii_alphanumeric());
            assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
            assert!(!text.contains(".."));
        }
        Err(error) => assert!(error.to_string().len() <= 1024),
    }
});
