//! Helpers shared by the end-to-end tests: a private copy of the fixture repo and the binary.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The bundled example infrastructure repository.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/homelab")
}

/// A temporary copy of the fixture repository that a test may modify.
pub fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixtures(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture");
        }
    }
}

/// The `upkeep` binary, run in `dir`.
pub fn upkeep(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("upkeep").expect("binary");
    command.current_dir(dir);
    command
}

/// Runs `upkeep scan --format json` in `dir` and returns the parsed report.
pub fn scan_json(dir: &Path) -> serde_json::Value {
    let output = upkeep(dir)
        .args(["scan", "--format", "json"])
        .output()
        .expect("run scan");
    serde_json::from_slice(&output.stdout).expect("scan prints JSON")
}

/// The pin of `kind` at `file:line:column` in a scan report, if any.
pub fn pin_at<'a>(
    report: &'a serde_json::Value,
    kind: &str,
    file: &str,
    line: u64,
    column: u64,
) -> Option<&'a serde_json::Value> {
    report["pins"].as_array()?.iter().find(|pin| {
        pin["kind"] == kind && pin["file"] == file && pin["line"] == line && pin["column"] == column
    })
}

/// Reads a file of the repo as bytes.
pub fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).expect("read file")
}
