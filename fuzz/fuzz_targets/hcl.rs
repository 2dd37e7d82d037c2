//! The HCL scanner must never panic, and a reported error must point inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err((line, column, _)) = upkeep_pins::check_hcl(text) {
            assert!(line >= 1 && column >= 1);
            assert!(line <= text.lines().count().max(1) + 1);
        }
    }
});
