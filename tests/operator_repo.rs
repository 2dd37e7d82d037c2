//! What a first operator ran into with the binary on a real homelab repository: `set`'s
//! version checks and warnings, lint rules on the shapes the pin engine now understands.
//! Every repository here is written by the test, in the shapes that repository uses.

mod common;

use common::upkeep;
use std::path::Path;

/// A fresh folder holding `files`.
fn repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let output = upkeep(dir)
        .args(args)
        .env_remove("UPKEEP_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run upkeep");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `rule file:line` of every lint finding.
fn findings(dir: &Path) -> Vec<String> {
    let lint = run(dir, &["lint", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&lint.stdout).expect("JSON");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                f["rule"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"]
            )
        })
        .collect()
}

const CHART_AND_IMAGE: &str = r#"resource "helm_release" "immich" {
  repository = "https://immich-app.github.io/immich-charts"
  chart      = "immich"
  version    = "0.9.3"
}

resource "kubernetes_deployment" "a" {
  spec {
    container {
      image = "postgres:16-alpine"
    }
  }
}
"#;

#[test]
fn set_warns_when_the_new_version_is_shaped_unlike_the_pin() {
    let dir = repo(&[("a/main.tf", CHART_AND_IMAGE.as_bytes())]);
    let chart = run(dir.path(), &["set", "immich", "v2.3.1"]);
    assert_eq!(chart.code, 0, "{}", chart.stderr);
    assert!(
        chart.stderr.contains("immich 0.9.3 -> v2.3.1")
            && chart.stderr.contains("adds a `v` prefix"),
        "{}",
        chart.stderr
    );
    let image = run(dir.path(), &["set", "postgres", "17"]);
    assert_eq!(image.code, 0, "{}", image.stderr);
    assert!(
        image.stderr.contains("drops the variant `-alpine`"),
        "{}",
        image.stderr
    );
    let same_shape = run(dir.path(), &["set", "postgres", "18"]);
    assert_eq!(same_shape.code, 0, "{}", same_shape.stderr);
    assert!(!same_shape.stderr.contains("WARN"), "{}", same_shape.stderr);
    // Written as given.
    let text = std::fs::read_to_string(dir.path().join("a/main.tf")).unwrap();
    assert!(text.contains("version    = \"v2.3.1\"") && text.contains("\"postgres:18\""));
}

#[test]
fn set_refuses_a_version_that_cannot_be_a_tag() {
    let dir = repo(&[("a/main.tf", CHART_AND_IMAGE.as_bytes())]);
    let huge = "9".repeat(300);
    for (name, version) in [("postgres", huge.as_str()), ("immich", "banana")] {
        let refused = run(dir.path(), &["set", name, version]);
        assert_eq!(refused.code, 2, "{name} {version}: {}", refused.stderr);
        assert!(refused.stderr.len() < 400, "{}", refused.stderr);
    }
    let text = std::fs::read_to_string(dir.path().join("a/main.tf")).unwrap();
    assert_eq!(text, CHART_AND_IMAGE);
}

const UNVERSIONED: &str = r#"resource "helm_release" "reloader" {
  name       = "reloader"
  repository = "https://stakater.github.io/stakater-charts"
  chart      = "reloader"
}

resource "helm_release" "quiet" {
  name       = "quiet"
  repository = "https://stakater.github.io/stakater-charts"
  # upkeep:ignore unpinned-chart installed by hand
  chart      = "quiet"
}
"#;

#[test]
fn lint_reports_a_helm_release_without_version() {
    let dir = repo(&[("reloader/main.tf", UNVERSIONED.as_bytes())]);
    assert_eq!(findings(dir.path()), ["unpinned-chart reloader/main.tf:4"]);
    let lint = run(dir.path(), &["lint"]);
    assert_eq!(lint.code, 1, "{}", lint.stdout);
    assert!(lint.stdout.contains("reloader"), "{}", lint.stdout);
}

#[test]
fn lint_does_not_call_a_default_every_caller_overrides_latest() {
    let call = "module \"a\" {\n  source = \"./factory\"\n  tag    = \"26.8.1\"\n}\n";
    let factory = "variable \"tag\" {\n  default = \"latest\"\n}\n\nresource \"kubernetes_deployment\" \"x\" {\n  spec {\n    container {\n      image = \"example/app:${var.tag}\"\n    }\n  }\n}\n";
    let dir = repo(&[
        ("stack/main.tf", call.as_bytes()),
        ("stack/factory/main.tf", factory.as_bytes()),
    ]);
    assert_eq!(findings(dir.path()), Vec::<String>::new());
}

#[test]
fn lint_prints_no_multi_line_expression() {
    let policy = "resource \"kubernetes_manifest\" \"p\" {\n  manifest = {\n    image = join(\" | \", [\n      \"docker.io/*\",\n      \"ghcr.io/*\",\n    ])\n  }\n}\n\nresource \"kubernetes_deployment\" \"x\" {\n  spec {\n    container {\n      image = lookup(\n        var.images,\n        \"app\",\n      )\n    }\n  }\n}\n";
    let dir = repo(&[("kyverno/main.tf", policy.as_bytes())]);
    assert_eq!(
        findings(dir.path()),
        ["unresolved-version kyverno/main.tf:13"]
    );
    let lint = run(dir.path(), &["lint"]);
    let message = lint
        .stdout
        .lines()
        .find(|line| line.contains("cannot be evaluated"))
        .expect("the finding");
    assert!(
        message.contains("lookup( var.images, \"app\", )"),
        "{message}"
    );
}

#[test]
fn lint_skips_a_file_git_crypt_keeps_encrypted() {
    let mut encrypted = b"\0GITCRYPT\0".to_vec();
    encrypted.extend([0xf2, 0x91, 0x07, 0x4c, 0xaa, 0x00, 0x13, 0xfe]);
    let main = "resource \"x\" \"y\" {\n  image = \"example/app:1.0.0\"\n}\n";
    let dir = repo(&[
        ("app/main.tf", main.as_bytes()),
        ("app/terraform.tfvars", &encrypted),
    ]);
    assert_eq!(findings(dir.path()), Vec::<String>::new());
    let scan = run(dir.path(), &["scan"]);
    assert!(
        scan.stdout.contains("git-crypt") || scan.stderr.contains("git-crypt"),
        "{}{}",
        scan.stdout,
        scan.stderr
    );
    assert!(!scan.stdout.contains("UTF-8") && !scan.stderr.contains("UTF-8"));
    // Its values are unknown, so `set` in that module stops, and says how to go on.
    let set = run(dir.path(), &["set", "example/app", "1.1.0", "--path", "."]);
    assert_eq!(set.code, 2, "{}", set.stderr);
    assert!(set.stderr.contains("git-crypt unlock"), "{}", set.stderr);
    assert!(!set.stderr.contains("do not parse"), "{}", set.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/main.tf")).expect("read"),
        main
    );
}
