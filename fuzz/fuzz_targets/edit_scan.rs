//! A scan strict for one name plans that name's edit as a strict scan does, or refuses it for
//! a file that really does not parse: the input is written as a file of a module folder whose
//! pins come from a variable and a module call (as `main.tf`, `values.yaml` or `config.tf`),
//! and every name either scan finds is planned on both. Never a move a strict scan would not
//! make, never a refusal for a file that parses, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;
use upkeep_pins::{ScanOptions, ScanReport, SetError, SetRequest, plan_set, scan};

/// The folder calling the module, and the module's own files.
const FILES: [(&str, &str); 3] = [
    ("stack/call.tf", "module \"app\" {\n  source = \"./app\"\n  tag    = \"1.2.3\"\n}\n"),
    ("stack/app/variables.tf", "variable \"tag\" {\n  default = \"1.0.0\"\n}\n"),
    ("stack/app/deploy.tf", "resource \"kubernetes_deployment\" \"app\" {\n  image = \"ghcr.io/acme/app:${var.tag}\"\n}\n"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    for (file, text) in FILES {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let name = ["stack/app/main.tf", "stack/app/values.yaml", "stack/config.tf"][usize::from(selector % 3)];
    std::fs::write(dir.path().join(name), body).expect("write input");
    let options = |strict, strict_for| ScanOptions { threads: Some(1), strict, strict_for, ..ScanOptions::default() };
    let strict = scan(dir.path(), &options(true, None)).expect("strict scan");
    let default = scan(dir.path(), &options(false, None)).expect("scan");
    let names: BTreeSet<String> = strict.pins.iter().chain(&default.pins).map(|pin| pin.name.clone()).collect();
    let broken: Vec<String> = strict.errors.iter().map(ToString::to_string).collect();
    for name in names {
        let targeted = scan(dir.path(), &options(false, Some(name.clone()))).expect("scan for the name");
        let expected = outcome(dir.path(), &strict, &name);
        match outcome(dir.path(), &targeted, &name) {
            Err(files) => {
                assert!(files.iter().all(|file| broken.contains(file)), "{name}: {files:?} against {broken:?}");
            }
            found => assert_eq!(found, expected, "{name}"),
        }
    }
});

/// The moves planned, or the files the plan was refused for.
fn outcome(root: &std::path::Path, report: &ScanReport, name: &str) -> Result<Vec<String>, Vec<String>> {
    let request = SetRequest { name, version: "9.8.7", from: None, kind: None };
    match plan_set(root, report, &request) {
        Ok(plan) => Ok(plan.changes.iter().map(|c| format!("{}:{} {}", c.pin.file.display(), c.pin.span.start, c.new)).collect()),
        Err(SetError::BrokenFiles { files, .. }) => Err(files.iter().map(ToString::to_string).collect()),
        Err(error) => Ok(vec![error.to_string()]),
    }
}
