//! The signed texts that travel beside a bundle or on a tenant: `SignedRelease::from_json` (the `.sig` file)
//! and `verify_license` (a license JWT) never panic on any input, and refuse with bounded messages.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zelavis_operator::keyring::Keyring;
use zelavis_operator::license::token::verify_license;
use zelavis_operator::signature::SignedRelease;
use zelavis_operator::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(signed) = SignedRelease::from_json(text) {
        let again = SignedRelease::from_json(&signed.to_json()).expect("an accepted signature file parses back");
        assert_eq!(again, signed);
    }
    let keyring = Keyring::new();
    if let Err(error) = verify_license(text, &keyring, Timestamp::from_millis(1_780_000_000_000)) {
        assert!(error.to_string().len() <= 2 * 1024);
    }
    let _ = Keyring::from_json(text);
});
