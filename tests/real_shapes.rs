//! Pins as real repositories write them, end to end: what `scan`, `lint` and `set` print and
//! exit with for repeated keys, files that are not what their name says, and excluded paths.

mod common;

use common::upkeep;
use std::path::Path;

/// Writes `files` into a fresh folder.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

const INGRESS: &str = r#"resource "kubernetes_ingress_v1" "app" {
  metadata {
    annotations = {
      "nginx.ingress.kubernetes.io/proxy-set-header" = "X-Forwarded-Proto: https"
      "nginx.ingress.kubernetes.io/proxy-set-header" = "X-Real-IP: $remote_addr"
    }
  }
}

resource "kubernetes_deployment" "app" {
  spec {
    container {
      image = "vaultwarden/server:1.35.4"
    }
  }
}
"#;

#[test]
fn lint_names_both_lines_of_a_repeated_key() {
    let dir = repo(&[("app/main.tf", INGRESS)]);
    let output = upkeep(dir.path())
        .args(["lint", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "a repeated key is an error");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "duplicate-key")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(4), Some(7))
    );
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains("line 5"), "{message}");
    let human = upkeep(dir.path()).args(["lint"]).output().unwrap();
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("app/main.tf:4:7: error[duplicate-key]"),
        "{human}"
    );
}

#[test]
fn scan_warnings_fail_only_a_strict_scan() {
    let dir = repo(&[
        ("app/main.tf", INGRESS),
        ("deploy/configmap.yaml", "data:\n  list: [${A}, ${B}]\n"),
    ]);
    let output = upkeep(dir.path())
        .args(["scan", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["duplicate_key", "unexpected_content"]);
    assert_eq!(report["warnings"][0]["related"]["line"], 5);
    assert_eq!(report["pins"].as_array().unwrap().len(), 1);
    let strict = upkeep(dir.path())
        .args(["scan", "--strict"])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));
    let human = String::from_utf8_lossy(&strict.stdout);
    assert!(human.contains("warnings:"), "{human}");
    assert!(
        human.contains("1 pin in 1 stack (1 settable), 0 errors, 2 warnings"),
        "{human}"
    );
}

#[test]
fn config_exclude_leaves_paths_out_of_scan_and_set() {
    let dir = repo(&[
        (".upkeep.yaml", "exclude:\n  - legacy/**\n"),
        ("app/main.tf", INGRESS),
        (
            "legacy/old/main.tf",
            "resource \"x\" \"y\" {\n  image = \"vaultwarden/server:1.0.0\"\n",
        ),
    ]);
    let scan = upkeep(dir.path()).args(["scan"]).output().unwrap();
    assert_eq!(
        scan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&scan.stdout)
    );
    let set = upkeep(dir.path())
        .args(["set", "vaultwarden/server", "1.36.0"])
        .output()
        .unwrap();
    assert_eq!(
        set.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let main = std::fs::read_to_string(dir.path().join("app/main.tf")).unwrap();
    assert!(main.contains("vaultwarden/server:1.36.0"));
    let legacy = std::fs::read_to_string(dir.path().join(Path::new("legacy/old/main.tf"))).unwrap();
    assert!(
        legacy.contains(":1.0.0"),
        "an excluded file is never edited"
    );
}
