//! `Bundle::read`: never panics, never inflates past its limits; an accepted bundle packs again and reads
//! back to the same contents, and its error messages stay bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zelavis_operator::bundle::{Bundle, BundleLimits, pack};

fuzz_target!(|data: &[u8]| {
    // Small limits, so the fuzzer reaches every refusal quickly.
    let limits = BundleLimits {
        max_bundle_bytes: 1 << 20,
        max_entries: 16,
        max_file_bytes: 1 << 18,
        max_total_bytes: 1 << 19,
        max_ratio: 100,
        max_path_len: 100,
    };
    match Bundle::read(data, &limits) {
        Ok(bundle) => {
            let contents = bundle.contents();
            let repacked = pack(contents).expect("an accepted bundle packs again");
            let back = Bundle::read(&repacked, &BundleLimits::default()).expect("a packed bundle reads back");
            assert_eq!(back.contents(), contents);
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.len() <= 2 * 1024, "{} bytes", message.len());
        }
    }
});
