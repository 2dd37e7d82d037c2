//! Why upkeep splices bytes instead of printing the parsed document: hcl-edit's printer gives
//! back most fixture files byte for byte, but not those with CRLF line endings, a byte order
//! mark or `\u` escapes. upkeep's own "print" (the original text with no edit applied) is exact
//! for every file.

use std::path::{Path, PathBuf};
use upkeep_pins::{EditPlan, ScanOptions, scan};

fn hcl_fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/homelab");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "tf" || e == "hcl" || e == "tfvars")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn hcl_edit_printer_is_exact_except_for_crlf_bom_and_escapes() {
    let mut lossy = Vec::new();
    for path in hcl_fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(body) = hcl_edit::parser::parse_body(text.trim_start_matches('\u{feff}')) else {
            continue; // the deliberately broken fixture
        };
        if body.to_string() != text {
            lossy.push(
                path.file_name().unwrap().to_string_lossy().into_owned()
                    + " in "
                    + &path
                        .parent()
                        .unwrap()
                        .file_name()
                        .unwrap()
                        .to_string_lossy(),
            );
        }
    }
    assert_eq!(lossy, ["main.tf in adguard", "main.tf in gitea"]);
}

#[test]
fn every_fixture_prints_back_byte_identical_through_upkeep() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/homelab");
    let before: Vec<Vec<u8>> = hcl_fixtures()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let report = scan(&root, &ScanOptions::default()).unwrap();
    assert!(!report.pins.is_empty());
    let plan = EditPlan::new(&root, &[]).unwrap();
    assert!(plan.changes().is_empty(), "no edit, no change");
    let after: Vec<Vec<u8>> = hcl_fixtures()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(before, after);
}
