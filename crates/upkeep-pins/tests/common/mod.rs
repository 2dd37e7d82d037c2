//! What the shape tests share: folders written from snippets and scanned both ways (by outline
//! and strictly, which must agree), and `set` planned and applied as the command does.

use std::path::Path;
use upkeep_pins::{
    EditPlan, Pin, ScanOptions, ScanReport, SetError, SetPlan, SetRequest, plan_set, scan,
};

/// Writes `files` into a fresh folder and scans it both ways; the pins must agree.
pub fn scan_files<T: AsRef<[u8]>>(files: &[(&str, T)]) -> (tempfile::TempDir, ScanReport) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let report = scan_both(dir.path());
    (dir, report)
}

/// Scans `root` by outline and strictly, checks both find the same pins, and returns the
/// strict report.
pub fn scan_both(root: &Path) -> ScanReport {
    let fast = scan(root, &ScanOptions::default()).expect("scan");
    let strict = scan(root, &strict()).expect("strict scan");
    assert_eq!(fast.pins, strict.pins, "outline and strict scans disagree");
    strict
}

fn strict() -> ScanOptions {
    ScanOptions {
        strict: true,
        ..ScanOptions::default()
    }
}

/// Plans `set name version [--from from]` on a strict scan of `root`.
pub fn plan(
    root: &Path,
    name: &str,
    version: &str,
    from: Option<&str>,
) -> Result<SetPlan, SetError> {
    let report = scan(root, &strict()).expect("scan");
    let request = SetRequest {
        name,
        version,
        from,
        kind: None,
    };
    plan_set(root, &report, &request)
}

/// Moves `name` to `version` under `root` as `upkeep set` does, and returns the plan applied.
pub fn set(root: &Path, name: &str, version: &str, from: Option<&str>) -> SetPlan {
    let plan = plan(root, name, version, from).expect("plan");
    EditPlan::new(root, &plan.edits())
        .expect("checked edits")
        .apply()
        .expect("written");
    plan
}

/// `file:line` of each user of a pin.
pub fn users(pin: &Pin) -> Vec<String> {
    pin.users
        .iter()
        .map(|user| format!("{}:{}", user.file.display(), user.line))
        .collect()
}

/// The text of `file` under `root`.
pub fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).expect("read")
}
