//! Whole pipeline on one fuzzed module: scan a folder holding the input as `main.tf` (or
//! `values.yaml`) next to a fixed `variables.tf`, then move every settable pin to a new version
//! and back. Nothing may panic, every plan that is accepted must change only token bytes, and
//! every edit must read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upkeep_pins::{Edit, EditPlan, ScanOptions, scan};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let name = if selector % 2 == 0 { "main.tf" } else { "values.yaml" };
    std::fs::write(dir.path().join(name), body).expect("write input");
    std::fs::write(dir.path().join("variables.tf"), "variable \"v\" {\n  default = \"1.2.3\"\n}\n").expect("write vars");
    let report = scan(dir.path(), &ScanOptions { threads: Some(1), ..ScanOptions::default() }).expect("scan");
    for pin in report.pins.iter().filter(|p| p.is_settable()) {
        let original = std::fs::read(dir.path().join(&pin.file)).expect("read");
        let edit = Edit { file: pin.file.clone(), span: pin.span.clone(), old: pin.version.clone().unwrap(), new: "9.8.7".into() };
        let Ok(plan) = EditPlan::new(dir.path(), &[edit]) else { continue };
        let after = plan.changes()[0].after.as_bytes();
        assert_eq!(&after[..pin.span.start], &original[..pin.span.start]);
        assert_eq!(&after[pin.span.start + 5..], &original[pin.span.end..]);
    }
});
