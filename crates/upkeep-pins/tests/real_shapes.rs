//! Pins as real repositories write them: every test is a shape found in a public
//! infrastructure repository (rewritten here in our own words), named after what went wrong
//! with it. Each scan runs twice, by outline and strictly, and both must find the same pins.

use std::path::Path;
use upkeep_pins::{
    EditPlan, Pin, PinKind, PinStatus, ScanOptions, ScanReport, SetRequest, plan_set, scan,
};

/// Writes `files` into a fresh folder and scans it both ways; the pins must agree.
fn scan_files(files: &[(&str, &str)]) -> (tempfile::TempDir, ScanReport) {
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
fn scan_both(root: &Path) -> ScanReport {
    let fast = scan(root, &ScanOptions::default()).expect("scan");
    let strict = ScanOptions {
        strict: true,
        ..ScanOptions::default()
    };
    let strict = scan(root, &strict).expect("strict scan");
    assert_eq!(fast.pins, strict.pins, "outline and strict scans disagree");
    strict
}

/// `kind name version` of every pin, in report order.
fn pins(report: &ScanReport) -> Vec<String> {
    report.pins.iter().map(describe).collect()
}

fn describe(pin: &Pin) -> String {
    format!(
        "{} {} {}",
        pin.kind.as_str(),
        pin.name,
        pin.version.as_deref().unwrap_or("-")
    )
}

/// Moves `name` to `version` under `root` (as `upkeep set` does) and returns the plan's edits
/// applied.
fn set(root: &Path, name: &str, version: &str, from: Option<&str>) -> upkeep_pins::SetPlan {
    let strict = ScanOptions {
        strict: true,
        ..ScanOptions::default()
    };
    let report = scan(root, &strict).expect("scan");
    let request = SetRequest {
        name,
        version,
        from,
        kind: None,
    };
    let plan = plan_set(root, &report, &request).expect("plan");
    EditPlan::new(root, &plan.edits())
        .expect("checked edits")
        .apply()
        .expect("written");
    plan
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).expect("read")
}

// 1. Parse what Terraform parses.

const REPEATED_ANNOTATION: &str = r#"resource "kubernetes_ingress_v1" "app" {
  metadata {
    name = "app"
    annotations = {
      "nginx.ingress.kubernetes.io/proxy-set-header" = "X-Forwarded-Proto: https"
      "nginx.ingress.kubernetes.io/proxy-body-size"  = "0"
      "nginx.ingress.kubernetes.io/proxy-set-header" = "X-Real-IP: $remote_addr"
    }
  }
}

resource "kubernetes_deployment" "app" {
  spec {
    template {
      spec {
        container {
          image = "vaultwarden/server:1.35.4"
        }
      }
    }
  }
}
"#;

#[test]
fn repeated_object_key_does_not_hide_the_files_pins() {
    let (_dir, report) = scan_files(&[("app/main.tf", REPEATED_ANNOTATION)]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(pins(&report), ["image vaultwarden/server 1.35.4"]);
}

#[test]
fn repeated_object_key_is_a_warning_naming_both_lines() {
    let (_dir, report) = scan_files(&[("app/main.tf", REPEATED_ANNOTATION)]);
    let [warning] = report.warnings.as_slice() else {
        panic!("one warning expected: {:?}", report.warnings);
    };
    assert_eq!(warning.kind.as_str(), "duplicate_key");
    assert_eq!((warning.line, warning.column), (5, 7));
    let later = warning.related.as_ref().expect("the later key");
    assert_eq!((later.line, later.column), (7, 7));
    assert!(
        warning
            .message
            .contains("nginx.ingress.kubernetes.io/proxy-set-header"),
        "{}",
        warning.message
    );
}

#[test]
fn repeated_key_in_a_values_object_the_last_value_wins() {
    let src = r#"resource "helm_release" "app" {
  name       = "app"
  repository = "https://charts.example.org"
  chart      = "app"
  version    = "1.0.0"
  values = [yamlencode({
    podLabels = { team = "a" }
    image = {
      repository = "ghcr.io/example/app"
      tag        = "1.0.0"
      tag        = "1.1.0"
    }
    podLabels = { team = "b" }
  })]
}
"#;
    let (dir, report) = scan_files(&[("app/main.tf", src)]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        pins(&report),
        ["helm_chart app 1.0.0", "helm_set ghcr.io/example/app 1.1.0"]
    );
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    set(dir.path(), "ghcr.io/example/app", "1.2.0", None);
    let after = read(dir.path(), "app/main.tf");
    assert_eq!(after, src.replace("\"1.1.0\"", "\"1.2.0\""));
}

#[test]
fn terraform_json_files_are_reported_not_ignored_silently() {
    let src = r#"{
  "resource": {
    "kubernetes_deployment": {
      "app": {
        "spec": [{ "template": [{ "spec": [{ "container": [{ "image": "vaultwarden/server:1.35.4" }] }] }] }]
      }
    }
  }
}
"#;
    let (_dir, report) = scan_files(&[("app/main.tf.json", src)]);
    let found = pins(&report).contains(&"image vaultwarden/server 1.35.4".to_owned());
    let file = Path::new("app/main.tf.json");
    let reported = report.warnings.iter().any(|w| w.file == file)
        || report.errors.iter().any(|e| e.file == file);
    assert!(found || reported, "{report:#?}");
}

// 2. Write the version given.

#[test]
fn set_writes_the_tag_given_even_when_the_scheme_changes() {
    let src = r#"resource "kubernetes_deployment" "a" {
  spec {
    container { image = "ghcr.io/example/one:v1.1.0" }
    container { image = "ghcr.io/example/two:1.7.4" }
    container { image = "postgres:16-alpine" }
  }
}
"#;
    let (dir, _) = scan_files(&[("a/main.tf", src)]);
    set(dir.path(), "ghcr.io/example/one", "3.2", None);
    set(dir.path(), "ghcr.io/example/two", "v1.0.32.0", None);
    set(dir.path(), "postgres", "17", None);
    let expected = src
        .replace(":v1.1.0", ":3.2")
        .replace(":1.7.4", ":v1.0.32.0")
        .replace(":16-alpine", ":17");
    assert_eq!(read(dir.path(), "a/main.tf"), expected);
}

#[test]
fn set_from_matches_with_or_without_v() {
    let src = "locals {\n  one = \"ghcr.io/example/one:v1.1.0\"\n}\nresource \"x\" \"y\" {\n  image = local.one\n}\n";
    let (dir, _) = scan_files(&[("a/main.tf", src)]);
    let plan = set(dir.path(), "ghcr.io/example/one", "1.2.0", Some("1.1.0"));
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        read(dir.path(), "a/main.tf"),
        src.replace("v1.1.0", "1.2.0")
    );
}

#[test]
fn set_to_the_same_tag_in_another_spelling_is_a_change() {
    let src = "resource \"x\" \"y\" {\n  image = \"ghcr.io/example/one:v1.1.0\"\n}\n";
    let (dir, _) = scan_files(&[("a/main.tf", src)]);
    let plan = set(dir.path(), "ghcr.io/example/one", "1.1.0", None);
    assert_eq!(plan.changes.len(), 1);
    assert!(read(dir.path(), "a/main.tf").contains(":1.1.0\""));
    let plan = set(dir.path(), "ghcr.io/example/one", "1.1.0", None);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.unchanged.len(), 1);
}

#[allow(dead_code)]
fn _kinds_used(_: PinKind, _: PinStatus) {}
