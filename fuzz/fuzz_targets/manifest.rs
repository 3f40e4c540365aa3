//! `PluginManifest::from_json`: never panics; an accepted manifest serialises (its menu is within the depth
//! bound) and parses back to the same manifest, and its error messages stay bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zelavis_plugin::manifest::{ManifestError, PluginManifest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match PluginManifest::from_json(text) {
        Ok(manifest) => {
            assert_eq!(manifest.validate(), Ok(()));
            let again = serde_json::to_string(&manifest).expect("an accepted manifest serialises");
            let back = PluginManifest::from_json(&again).expect("an accepted manifest parses back");
            assert_eq!(back, manifest);
        }
        // Every message quotes bounded prefixes, never the whole input: each problem's line is bounded (a
        // definition error lists every problem, so only the lines are).
        Err(ManifestError::Definition(error)) => {
            for problem in error.problems() {
                let line = problem.to_string();
                assert!(line.len() <= 2 * 1024, "{} bytes", line.len());
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.len() <= 2 * 1024, "{} bytes", message.len());
        }
    }
});
