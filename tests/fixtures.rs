//! Guarantees checked on every fixture: lossless round trips, all-or-nothing writes, and
//! reviewed snapshots of the scan output.

mod common;

use common::{fixture_copy, fixtures, upkeep};
use std::path::Path;
use upkeep_pins::{Edit, EditError, EditPlan, Pin, ScanOptions, scan};

fn scan_pins(root: &Path) -> Vec<Pin> {
    scan(root, &ScanOptions::default()).expect("scan").pins
}

/// The hardcoded `vaultwarden/server:1.35.4` pin of the fixtures.
fn vaultwarden(root: &Path) -> Pin {
    let pins = scan_pins(root);
    pins.into_iter()
        .find(|p| p.name == "vaultwarden/server")
        .expect("vaultwarden pin")
}

fn read(root: &Path, file: &Path) -> String {
    std::fs::read_to_string(root.join(file)).expect("read")
}

#[test]
fn empty_edit_set_changes_nothing_and_scanning_writes_nothing() {
    let repo = fixture_copy();
    let before = scan_pins(repo.path());
    let plan = EditPlan::new(repo.path(), &[]).expect("empty plan");
    assert!(plan.changes().is_empty());
    plan.apply().expect("apply nothing");
    assert_eq!(scan_pins(repo.path()), before);
    for pin in &before {
        assert_eq!(read(repo.path(), &pin.file), read(&fixtures(), &pin.file));
    }
}

#[test]
fn every_pin_round_trips_and_only_its_token_bytes_change() {
    let repo = fixture_copy();
    let root = repo.path();
    let pins: Vec<Pin> = scan_pins(root)
        .into_iter()
        .filter(Pin::is_settable)
        .collect();
    assert!(
        pins.len() >= 40,
        "expected the fixtures to hold at least 40 settable pins, got {}",
        pins.len()
    );
    for pin in pins {
        let original = read(root, &pin.file);
        let raw = &original[pin.span.clone()];
        let version = pin.version.clone().expect("settable pin has a version");
        let temporary = "99.99.99-roundtrip";
        let forward = Edit {
            file: pin.file.clone(),
            span: pin.span.clone(),
            old: version.clone(),
            new: temporary.into(),
        };
        let plan = EditPlan::new(root, &[forward])
            .unwrap_or_else(|e| panic!("{}:{}: {e}", pin.file.display(), pin.line));
        let after = &plan.changes()[0].after;
        assert_eq!(
            &after[..pin.span.start],
            &original[..pin.span.start],
            "{}: bytes before the token",
            pin.file.display()
        );
        assert_eq!(
            &after[pin.span.start + temporary.len()..],
            &original[pin.span.end..],
            "{}: bytes after the token",
            pin.file.display()
        );
        plan.apply().expect("apply forward");

        let moved = pin.span.start..pin.span.start + temporary.len();
        let back = Edit {
            file: pin.file.clone(),
            span: moved,
            old: temporary.into(),
            new: version.clone(),
        };
        EditPlan::new(root, &[back])
            .expect("plan back")
            .apply()
            .expect("apply back");
        let restored = read(root, &pin.file);
        if raw == version {
            assert_eq!(
                restored,
                original,
                "{}:{}: set and back gives the original bytes",
                pin.file.display(),
                pin.line
            );
        } else {
            // An escaped token (`v0.107.\u0035\u0035`) comes back in plain form; nothing else moves.
            let expected = format!(
                "{}{version}{}",
                &original[..pin.span.start],
                &original[pin.span.end..]
            );
            assert_eq!(restored, expected, "{}:{}", pin.file.display(), pin.line);
        }
    }
}

#[test]
fn a_multi_file_edit_writes_all_files_or_none() {
    let repo = fixture_copy();
    let root = repo.path();
    let pins = scan_pins(root);
    let pick = |name: &str| {
        pins.iter()
            .find(|p| p.name == name && p.is_settable())
            .expect(name)
            .clone()
    };
    let (first, second) = (pick("vaultwarden/server"), pick("pihole/pihole"));
    let edit = |pin: &Pin| Edit {
        file: pin.file.clone(),
        span: pin.span.clone(),
        old: pin.version.clone().unwrap(),
        new: "9.9.9".into(),
    };
    let plan = EditPlan::new(root, &[edit(&first), edit(&second)]).expect("plan");
    assert_eq!(plan.changes().len(), 2);
    // Someone edits the second file after the plan was made: nothing may be written.
    let path = root.join(&second.file);
    let mut text = read(root, &second.file);
    text.push_str("\n# edited meanwhile\n");
    std::fs::write(&path, &text).unwrap();
    let error = plan
        .apply()
        .expect_err("a changed file must stop the write");
    assert!(matches!(error, EditError::Changed { .. }), "{error}");
    assert_eq!(
        read(root, &first.file),
        read(&fixtures(), &first.file),
        "the first file was written"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join(first.file.parent().unwrap()))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".upkeep-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn overlapping_and_stale_edits_are_refused() {
    let repo = fixture_copy();
    let root = repo.path();
    let pin = vaultwarden(root);
    let edit = |span: std::ops::Range<usize>, old: &str| Edit {
        file: pin.file.clone(),
        span,
        old: old.into(),
        new: "2.0.0".into(),
    };
    let overlap = EditPlan::new(
        root,
        &[
            edit(pin.span.clone(), "1.35.4"),
            edit(pin.span.start + 1..pin.span.end, "35.4"),
        ],
    );
    assert!(matches!(overlap, Err(EditError::Overlap { .. })));
    let stale = EditPlan::new(root, &[edit(pin.span.clone(), "1.35.3")]);
    assert!(
        matches!(
            stale,
            Err(EditError::Stale {
                line: 45,
                column: 39,
                ..
            })
        ),
        "{stale:?}"
    );
}

#[test]
fn an_edit_that_would_break_the_file_is_refused() {
    let repo = fixture_copy();
    let root = repo.path();
    let pin = vaultwarden(root);
    let broken = Edit {
        file: pin.file.clone(),
        span: pin.span.clone(),
        old: "1.35.4".into(),
        new: "1\"".into(),
    };
    assert!(matches!(
        EditPlan::new(root, &[broken]),
        Err(EditError::WouldBreak(_))
    ));
}

#[test]
fn scan_json_snapshot() {
    let output = upkeep(&fixtures())
        .args(["scan", "--format", "json"])
        .output()
        .unwrap();
    insta::assert_snapshot!("scan_json", String::from_utf8(output.stdout).unwrap());
}

#[test]
fn scan_table_snapshot() {
    let output = upkeep(&fixtures()).args(["scan"]).output().unwrap();
    insta::assert_snapshot!("scan_table", String::from_utf8(output.stdout).unwrap());
}

/// Tricky shapes for the outline: a one-line block, heredocs that mention images, dynamic
/// blocks, comments between items, images deep in manifests, templates with nested quotes.
const TRICKY: &str = r#"
resource "kubernetes_deployment" "a" {
  spec {
    template {
      spec {
        container { image = "a/one:1.0" }
      }
    }
  }
}

resource "kubernetes_config_map" "b" {
  data = {
    "conf.yaml" = <<-EOT
      image: not/a-pin:1.0
      braces: { [ (
    EOT
  }
}

resource "kubernetes_deployment" "c" {
  /* a block comment { with braces */
  spec {
    template {
      spec {
        dynamic "container" {
          for_each = var.sidecars
          content {
            name  = container.key
            image = "b/two:${lookup(var.tags, "two", "2.0")}" # trailing comment
          }
        }
        container {
          image = "c/three:3.0" // other comment style
        }
      }
    }
  }
  lifecycle {
    ignore_changes = all
  }
}

resource "kubernetes_manifest" "d" {
  manifest = {
    spec = { template = { spec = { containers = [{ name = "x", image = "d/four:4.0" }] } } }
  }
}

resource "kubernetes_service" "e" {
  metadata { name = "no-pins-here" }
  spec {
    port {
      port = 80
    }
  }
}

output "image" {
  value = "e/five:5.0"
}

terraform {
  backend "s3" {
    bucket = "state"
  }
  required_providers {
    legacy = "~> 1.2"
    modern = {
      source  = "example/modern"
      version = "2.0.0"
    }
  }
}

module "app" {
  source  = "example/app/kubernetes"
  version = "0.3.0"
  image   = "f/six:6.0"
  settings {
    sidecar_image = "g/seven:7.0"
  }
}

resource "helm_release" "h" {
  name       = "h"
  repository = "https://charts.example.org"
  chart      = "h"
  version    = "1.0.0"
  set = [
    { name = "image.repository", value = "h/eight" },
    { name = "image.tag", value = "8.0" },
  ]
  values = [yamlencode({ worker = { image = { repository = "h/nine", tag = "9.0" } } })]
  lifecycle {
    ignore_changes = [version, set]
  }
}

variable "tag" { default = "10.0" }
variable "registry" { default = "registry.lan:5000" }
locals {
  img = { tag = "11.0" }
}

resource "kubernetes_deployment" "templates" {
  spec {
    template {
      spec {
        container { image = "t/ten:${var.tag}" }
        container { image = "t/eleven:${local.img.tag}-cuda" }
        container { image = "t/spaced:${ var.tag }" }
        container { image = "t/escaped:$${var.tag}" }
        container { image = "t/dashed:${var.tag-x}" }
        container { image = "${var.registry}/t/indexed:${local.img["tag"]}" }
        container { image = "t/data:${data.x.tag}" }
      }
    }
  }
}

resource "helm_release" "templated" {
  repository = "oci://${var.registry}/charts"
  chart      = "templated"
  version    = "${var.tag}"
  image      = "top/level-image:12.0"
  values = [jsonencode({ "app" : { image : { repository : "j/son", tag : "13.0" } } }), yamlencode({
    # a comment between entries
    sidecars = [
      { name = "a", image = "k/list:14.0" },
      {
        name  = "b"
        image = var.use_b ? "k/then:15.0" : "k/else:16.0"
      },
    ]
    "quoted.key" = { image = { tag = "17.0" } }
    spaced       = { repository = "d/spaced" , tag = "18.0" , }
    numbered     = { replicas = 1, image = "q/after-number:23.0" }
    looped       = { for name, tag in var.tags : name => { image = "l/${name}:${tag}" } }
    listed       = [for tag in var.tags : { image = "m/list:${tag}" }]
    expanded     = concat([{ image = "n/one:20.0" }], var.more...)
    heredoc      = <<-EOT
      image: not/a-pin:1.0
    EOT
    paren        = ({ image = "o/paren:21.0" })
    nested       = lookup({ image = "p/call:22.0" }, "image", "x")
  })]
}

terraform {
  required_providers {
    multi = {
      source  = "example/multi"
      version = ">= 1.0.0, < 2.0.0"
    }
    one_line = { source = "example/one", version = "3.0.0" }
    colon    = { "source" : "example/colon", "version" : "4.0.0" }
    templated = {
      source  = "example/${var.ns}"
      version = var.provider_version
    }
    legacy_var = var.legacy_version
  }
}
"#;

#[test]
fn outline_and_full_parse_find_the_same_pins() {
    let tricky = tempfile::tempdir().unwrap();
    std::fs::write(tricky.path().join("main.tf"), TRICKY).unwrap();
    for root in [fixtures().as_path(), tricky.path()] {
        let fast = scan(root, &ScanOptions::default()).unwrap();
        let strict = scan(
            root,
            &ScanOptions {
                strict: true,
                ..ScanOptions::default()
            },
        )
        .unwrap();
        assert_eq!(fast, strict, "{}", root.display());
    }
    let pins = scan_pins(tricky.path());
    let versions: Vec<_> = pins.iter().filter_map(|p| p.version.as_deref()).collect();
    assert_eq!(
        versions,
        [
            "1.0",
            "3.0",
            "4.0",
            "1.2",
            "2.0.0",
            "0.3.0",
            "6.0",
            "7.0",
            "1.0.0",
            "8.0",
            "9.0",
            "10.0",
            "11.0",
            "${var.tag}",
            "12.0",
            "13.0",
            "14.0",
            "17.0",
            "18.0",
            "23.0",
            "20.0",
            "21.0",
            "22.0",
            ">= 1.0.0, < 2.0.0",
            "3.0.0",
            "4.0.0"
        ],
        "{pins:#?}"
    );
    let ignored: Vec<_> = pins
        .iter()
        .filter(|p| p.ignored_by_terraform)
        .filter_map(|p| p.version.as_deref())
        .collect();
    assert_eq!(
        ignored,
        ["3.0", "1.0.0", "8.0"],
        "ignore_changes covers c/three, the chart version and set"
    );
    assert!(
        pins.iter()
            .any(|p| p.status == upkeep_pins::PinStatus::Unresolved && p.name == "b/two")
    );
    assert!(
        pins.iter()
            .filter(|p| p.name == "c/three")
            .all(|p| p.ignored_by_terraform)
    );
}
