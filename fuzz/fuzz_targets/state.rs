//! `RegistryState::from_json`: never panics; an accepted state serialises and parses back to the same state.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zelavis_registry::state::RegistryState;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(state) = RegistryState::from_json(text) {
        let back = RegistryState::from_json(&state.to_json()).expect("an accepted state parses back");
        assert_eq!(back, state);
    }
});
