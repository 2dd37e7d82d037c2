//! The fast paths must never change the result: whenever a file parses as a whole, scanning it
//! in the default mode (Terraform outlined, YAML block scalar and large collection bodies left
//! unread) finds exactly the pins of a strict scan. The input is tried as a Terraform file and
//! as a values file. A values file that does not parse is a warning when it looks like
//! something else (Prometheus text, a template), so that counts as not parsing too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upkeep_pins::{ScanOptions, WarningKind, scan};

fuzz_target!(|data: &[u8]| {
    for name in ["main.tf", "values.yaml"] {
        same_pins(name, data);
    }
});

fn same_pins(name: &str, data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(name), data).expect("write input");
    let fast = scan(dir.path(), &ScanOptions { threads: Some(1), ..ScanOptions::default() }).expect("scan");
    let strict = ScanOptions { threads: Some(1), strict: true, ..ScanOptions::default() };
    let strict = scan(dir.path(), &strict).expect("scan");
    let parsed = strict.errors.is_empty()
        && !strict.warnings.iter().any(|w| w.kind == WarningKind::UnexpectedContent);
    if parsed {
        assert_eq!(fast.pins, strict.pins);
    }
}
