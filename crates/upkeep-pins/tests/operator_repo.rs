//! What the pin engine got wrong on a first operator's real homelab repository: each test is
//! one shape of that repository, written here in our own words and named after what broke.
//! Each scan runs twice, by outline and strictly, and both must find the same pins.

mod common;

use common::{read, scan_both, scan_files, users};
use std::path::Path;
use upkeep_pins::{
    ErrorKind, Pin, PinKind, PinStatus, ScanOptions, ScanReport, SetError, VersionError, scan,
};

/// `kind name version file:line` of every pin, in report order.
fn pins(report: &ScanReport) -> Vec<String> {
    report
        .pins
        .iter()
        .map(|pin| {
            format!(
                "{} {} {} {}:{}",
                pin.kind.as_str(),
                pin.name,
                pin.version.as_deref().unwrap_or("-"),
                pin.file.display(),
                pin.line
            )
        })
        .collect()
}

/// `file:line` of each place a pin overrides.
fn shadows(pin: &Pin) -> Vec<String> {
    pin.shadows
        .iter()
        .map(|place| format!("{}:{}", place.file.display(), place.line))
        .collect()
}

/// Plans `set name version` on a strict scan of `root`.
fn plan(root: &Path, name: &str, version: &str) -> Result<upkeep_pins::SetPlan, SetError> {
    common::plan(root, name, version, None)
}

/// Moves `name` to `version` under `root` as `upkeep set` does.
fn set(root: &Path, name: &str, version: &str) -> upkeep_pins::SetPlan {
    common::set(root, name, version, None)
}

// 1. Arguments given to a local module are followed.

const BUDGET_CALLS: &str = r#"module "alice" {
  source     = "./factory"
  name       = "alice"
  server_tag = "26.8.1"
  api_tag    = "26.8.1"
}

module "bob" {
  source     = "./factory"
  name       = "bob"
  server_tag = "26.8.1"
  api_tag    = "26.8.1"
}

module "carol" {
  source = "./factory"
  name   = "carol"
  # no api_tag: this instance runs the factory's default
  server_tag = "26.8.1"
}
"#;

const BUDGET_FACTORY: &str = r#"variable "name" {}
variable "server_tag" {
  default = "latest"
}
variable "api_tag" {
  type    = string
  default = "26.7.0"
}

resource "kubernetes_deployment" "server" {
  spec {
    template {
      spec {
        container {
          image = "example/budget-server:${var.server_tag}"
        }
        container {
          image = "example/budget-api:${var.api_tag}"
        }
        container {
          image = "alpine:3.20"
        }
      }
    }
  }
}
"#;

#[test]
fn a_module_argument_is_the_pin_not_the_default_every_caller_overrides() {
    let (_dir, report) = scan_files(&[
        ("stacks/budget/main.tf", BUDGET_CALLS.as_bytes()),
        ("stacks/budget/factory/main.tf", BUDGET_FACTORY.as_bytes()),
    ]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        pins(&report),
        [
            // carol passes no api_tag: for that instance the default is what runs
            "image example/budget-api 26.7.0 stacks/budget/factory/main.tf:7",
            "image alpine 3.20 stacks/budget/factory/main.tf:21",
            "image example/budget-server 26.8.1 stacks/budget/main.tf:4",
            "image example/budget-api 26.8.1 stacks/budget/main.tf:5",
            "image example/budget-server 26.8.1 stacks/budget/main.tf:11",
            "image example/budget-api 26.8.1 stacks/budget/main.tf:12",
            "image example/budget-server 26.8.1 stacks/budget/main.tf:19",
        ]
    );
    let alice = &report.pins[2];
    assert_eq!(alice.via.as_deref(), Some("var.server_tag"));
    assert_eq!(users(alice), ["stacks/budget/factory/main.tf:15"]);
    assert_eq!(shadows(alice), ["stacks/budget/factory/main.tf:3"]);
    assert!(
        report
            .pins
            .iter()
            .all(|pin| pin.status == PinStatus::Pinned),
        "the `latest` default every caller overrides is no pin: {:#?}",
        pins(&report)
    );
}

#[test]
fn set_moves_every_call_site_and_leaves_the_overridden_default() {
    let (dir, _) = scan_files(&[
        ("stacks/budget/main.tf", BUDGET_CALLS.as_bytes()),
        ("stacks/budget/factory/main.tf", BUDGET_FACTORY.as_bytes()),
    ]);
    let plan = set(dir.path(), "example/budget-server", "26.9.0");
    assert_eq!(plan.changes.len(), 3);
    assert_eq!(
        read(dir.path(), "stacks/budget/main.tf"),
        BUDGET_CALLS.replace("server_tag = \"26.8.1\"", "server_tag = \"26.9.0\"")
    );
    assert_eq!(
        read(dir.path(), "stacks/budget/factory/main.tf"),
        BUDGET_FACTORY
    );
}

const POSTER_ROOT: &str = r#"variable "image_tag" {
  type    = string
  default = "latest"
}

module "poster" {
  source    = "./modules/poster"
  image_tag = var.image_tag
}
"#;

const POSTER_INPUTS: &str = r#"include "root" {
  path = find_in_parent_folders()
}

inputs = {
  # bump per deploy: an 8-character git SHA
  image_tag = "da5b4191"
}
"#;

const POSTER_VARIABLES: &str = r#"variable "image_tag" {
  type    = string
  default = "latest"
}
"#;

const POSTER_MAIN: &str = r#"locals {
  image = "ghcr.io/example/poster:${var.image_tag}"
}

resource "kubernetes_deployment" "poster" {
  spec {
    template {
      spec {
        container {
          image = local.image
        }
      }
    }
  }
}
"#;

fn poster() -> [(&'static str, &'static [u8]); 4] {
    [
        ("stacks/poster/main.tf", POSTER_ROOT.as_bytes()),
        ("stacks/poster/terragrunt.hcl", POSTER_INPUTS.as_bytes()),
        (
            "stacks/poster/modules/poster/variables.tf",
            POSTER_VARIABLES.as_bytes(),
        ),
        (
            "stacks/poster/modules/poster/main.tf",
            POSTER_MAIN.as_bytes(),
        ),
    ]
}

#[test]
fn a_module_argument_that_is_a_variable_follows_to_terragrunt_inputs() {
    let (dir, report) = scan_files(&poster());
    assert_eq!(
        pins(&report),
        ["image ghcr.io/example/poster da5b4191 stacks/poster/terragrunt.hcl:7"]
    );
    let poster = &report.pins[0];
    assert_eq!(poster.status, PinStatus::Pinned);
    assert_eq!(poster.via.as_deref(), Some("var.image_tag"));
    assert_eq!(users(poster), ["stacks/poster/modules/poster/main.tf:10"]);
    assert_eq!(
        shadows(poster),
        [
            "stacks/poster/main.tf:3",
            "stacks/poster/modules/poster/variables.tf:3"
        ]
    );
    set(dir.path(), "ghcr.io/example/poster", "0c1d2e3f");
    assert_eq!(
        read(dir.path(), "stacks/poster/terragrunt.hcl"),
        POSTER_INPUTS.replace("da5b4191", "0c1d2e3f")
    );
}

#[test]
fn a_shared_module_called_from_two_stacks_is_pinned_in_each() {
    let call = |tag: &str| {
        format!("module \"app\" {{\n  source = \"../../modules/app\"\n  tag    = \"{tag}\"\n}}\n")
    };
    let module = "variable \"tag\" {}\n\nresource \"kubernetes_deployment\" \"app\" {\n  spec {\n    container {\n      image = \"ghcr.io/example/app:${var.tag}\"\n    }\n  }\n}\n";
    let (one, two) = (call("1.4.0"), call("1.5.0"));
    let (dir, report) = scan_files(&[
        ("stacks/one/main.tf", one.as_bytes()),
        ("stacks/two/main.tf", two.as_bytes()),
        ("modules/app/main.tf", module.as_bytes()),
    ]);
    // The module lies in another branch of the tree, scanned before its callers: it reports
    // what it holds itself (no default here, so unresolved), each caller what it passes.
    assert_eq!(
        pins(&report),
        [
            "image ghcr.io/example/app - modules/app/main.tf:6",
            "image ghcr.io/example/app 1.4.0 stacks/one/main.tf:3",
            "image ghcr.io/example/app 1.5.0 stacks/two/main.tf:3",
        ]
    );
    assert_eq!(users(&report.pins[1]), ["modules/app/main.tf:6"]);
    // Which callers a module hears of never depends on the order the threads scan in.
    for threads in 1..=4 {
        for _ in 0..5 {
            let options = ScanOptions {
                threads: Some(threads),
                ..ScanOptions::default()
            };
            let again = scan(dir.path(), &options).expect("scan");
            assert_eq!(again.pins, report.pins, "{threads} threads");
        }
    }
    // Scanning one stack alone cannot read the module outside it: nothing is guessed.
    let alone = scan_both(&dir.path().join("stacks/one"));
    assert!(alone.pins.is_empty(), "{:#?}", alone.pins);
}

#[test]
fn a_module_argument_passed_down_two_levels_is_pinned_at_the_top() {
    let top = "module \"outer\" {\n  source = \"./outer\"\n  tag    = \"3.1.0\"\n}\n";
    let outer = "variable \"tag\" {\n  default = \"1.0.0\"\n}\n\nmodule \"inner\" {\n  source = \"./inner\"\n  tag    = var.tag\n}\n";
    let inner = "variable \"tag\" {}\n\nresource \"kubernetes_deployment\" \"x\" {\n  spec {\n    container {\n      image = \"example/inner:${var.tag}\"\n    }\n  }\n}\n";
    let (_dir, report) = scan_files(&[
        ("app/main.tf", top.as_bytes()),
        ("app/outer/main.tf", outer.as_bytes()),
        ("app/outer/inner/main.tf", inner.as_bytes()),
    ]);
    assert_eq!(pins(&report), ["image example/inner 3.1.0 app/main.tf:3"]);
    assert_eq!(users(&report.pins[0]), ["app/outer/inner/main.tf:6"]);
    assert_eq!(shadows(&report.pins[0]), ["app/outer/main.tf:2"]);
}

#[test]
fn an_argument_to_a_module_that_cannot_be_read_is_reported_as_before() {
    let main = "module \"app\" {\n  source    = \"./missing\"\n  image     = \"ghcr.io/example/app:2.0.0\"\n}\n";
    let (_dir, report) = scan_files(&[("a/main.tf", main.as_bytes())]);
    assert_eq!(
        pins(&report),
        ["image ghcr.io/example/app 2.0.0 a/main.tf:3"]
    );
}

// 2. Helm releases without a version float to the newest chart.

const UNVERSIONED_RELEASES: &str = r#"resource "helm_release" "descheduler" {
  name       = "descheduler"
  repository = "https://kubernetes-sigs.github.io/descheduler/"
  chart      = "descheduler"
}

resource "helm_release" "local" {
  name  = "local"
  chart = "${path.module}/chart"
}

resource "helm_release" "pinned" {
  name       = "reloader"
  repository = "https://stakater.github.io/stakater-charts"
  chart      = "reloader"
  version    = "2.2.3"
}
"#;

#[test]
fn a_helm_release_without_version_is_an_unpinned_chart() {
    let (dir, report) = scan_files(&[("charts/main.tf", UNVERSIONED_RELEASES.as_bytes())]);
    assert_eq!(
        pins(&report),
        [
            "helm_chart descheduler - charts/main.tf:4",
            "helm_chart reloader 2.2.3 charts/main.tf:16",
        ]
    );
    let descheduler = &report.pins[0];
    assert_eq!(descheduler.status, PinStatus::Unpinned);
    assert!(!descheduler.is_settable());
    assert_eq!(
        descheduler.repository.as_deref(),
        Some("https://kubernetes-sigs.github.io/descheduler/")
    );
    assert_eq!(
        descheduler.canonical,
        "kubernetes-sigs.github.io/descheduler/descheduler"
    );
    let plan = plan(dir.path(), "descheduler", "0.33.0").expect("plan");
    assert!(plan.changes.is_empty());
    assert_eq!(plan.skipped.len(), 1);
}

// 3. No false pins.

const KYVERNO_POLICY: &str = r#"resource "kubernetes_manifest" "allowed_registries" {
  manifest = {
    spec = {
      rules = [{
        validate = {
          pattern = {
            spec = {
              containers = [{
                image = join(" | ", [
                  # explicit registries
                  "docker.io/*", "ghcr.io/*", "quay.io/*",
                  # the local pull-through cache
                  "10.0.20.10:5000/*",
                ])
              }]
            }
          }
        }
      }]
    }
  }
}

resource "kubernetes_manifest" "wildcard" {
  manifest = {
    spec = {
      image = "ghcr.io/*"
      other = { image = "?*" }
    }
  }
}

resource "kubernetes_deployment" "built" {
  spec {
    container {
      image = format("%s:%s", var.repository, var.tag)
    }
    container {
      image = jsonencode({ a = 1 })
    }
  }
}
"#;

#[test]
fn a_joined_pattern_list_is_not_an_image() {
    let (_dir, report) = scan_files(&[("kyverno/main.tf", KYVERNO_POLICY.as_bytes())]);
    assert_eq!(
        pins(&report),
        [r#"image format("%s:%s", var.repository, var.tag) - kyverno/main.tf:36"#]
    );
    for pin in &report.pins {
        assert!(!pin.name.contains('\n'), "{:?}", pin.name);
        assert!(
            pin.expression.as_deref().is_none_or(|e| !e.contains('\n')),
            "{:?}",
            pin.expression
        );
    }
}

// 4. A values tag without a repository is named by the release that renders it.

const IMMICH_RELEASE: &str = r#"resource "helm_release" "immich" {
  name       = "immich"
  repository = "https://immich-app.github.io/immich-charts"
  chart      = "immich"
  version    = "0.9.3"
  values     = [templatefile("${path.module}/chart_values.tpl", { password = var.password })]
}

variable "password" {}
"#;

const IMMICH_VALUES: &str = r#"# shared by every immich component
image:
  tag: v1.143.1

server:
  image:
    repository: ghcr.io/immich-app/immich-server
env:
  DB_PASSWORD: "${password}"
"#;

#[test]
fn a_values_tag_without_repository_is_named_by_its_chart_and_settable() {
    let (dir, report) = scan_files(&[
        ("immich/main.tf", IMMICH_RELEASE.as_bytes()),
        ("immich/chart_values.tpl", IMMICH_VALUES.as_bytes()),
    ]);
    assert_eq!(
        pins(&report),
        [
            "values_image immich[image.tag] v1.143.1 immich/chart_values.tpl:3",
            "helm_chart immich 0.9.3 immich/main.tf:5",
        ]
    );
    let tag = &report.pins[0];
    assert_eq!(tag.status, PinStatus::Pinned);
    assert_eq!(
        tag.canonical,
        "immich-app.github.io/immich-charts/immich[image.tag]"
    );
    // The name cannot be read as an image, so it never matches one.
    assert!(upkeep_pins::ImageRef::parse(&tag.name).is_none());
    set(dir.path(), "immich[image.tag]", "v2.0.0");
    assert_eq!(
        read(dir.path(), "immich/chart_values.tpl"),
        IMMICH_VALUES.replace("v1.143.1", "v2.0.0")
    );
    // The chart's full name works too, and the chart itself is a separate pin.
    let plan = plan(
        dir.path(),
        "immich-app.github.io/immich-charts/immich[image.tag]",
        "v2.1.0",
    )
    .expect("plan");
    assert_eq!(plan.changes.len(), 1);
    let plan = plan_chart(dir.path());
    assert_eq!(plan.changes[0].pin.kind, PinKind::HelmChart);
}

/// The shape of the user's history: the values tag is `${version}`, fed by the variable
/// that also tags the machine-learning image, so both are one pin (one token).
const IMMICH_SHARED: &str = r#"variable "immich_version" {
  default = "v2.4.1"
}

resource "helm_release" "immich" {
  name       = "immich"
  repository = "https://immich-app.github.io/immich-charts"
  chart      = "immich"
  version    = "0.9.3"
  values     = [templatefile("${path.module}/chart_values.tpl", { version = var.immich_version })]
}

resource "kubernetes_deployment" "ml" {
  spec {
    container {
      image = "ghcr.io/immich-app/immich-machine-learning:${var.immich_version}-cuda"
    }
  }
}
"#;

#[test]
fn a_values_tag_sharing_its_variable_with_an_image_is_settable_by_its_chart_name() {
    let values = "image:\n  tag: ${version}\n";
    let (dir, _) = scan_files(&[
        ("immich/main.tf", IMMICH_SHARED.as_bytes()),
        ("immich/chart_values.tpl", values.as_bytes()),
    ]);
    let moved = set(dir.path(), "immich[image.tag]", "v2.5.0");
    assert_eq!(moved.changes.len(), 1);
    // What else the token feeds is named, with where it is.
    assert_eq!(
        moved.changes[0].also_moves,
        ["ghcr.io/immich-app/immich-machine-learning:v2.4.1-cuda (immich/main.tf:16)"]
    );
    assert_eq!(
        read(dir.path(), "immich/main.tf"),
        IMMICH_SHARED.replace("\"v2.4.1\"", "\"v2.5.0\"")
    );
    // Asked by the image's name, the chart's tag is what also moves.
    let by_image = plan(
        dir.path(),
        "ghcr.io/immich-app/immich-machine-learning",
        "v2.6.0",
    )
    .expect("plan");
    assert_eq!(
        by_image.changes[0].also_moves,
        ["immich[image.tag] v2.5.0 (immich/chart_values.tpl:2)"]
    );
}

fn plan_chart(root: &Path) -> upkeep_pins::SetPlan {
    plan(root, "immich", "0.10.0").expect("plan")
}

#[test]
fn a_helm_set_tag_without_repository_is_named_by_its_chart() {
    let src = r#"resource "helm_release" "vpa" {
  name       = "vpa"
  repository = "https://charts.fairwinds.com/stable"
  chart      = "vpa"
  version    = "4.10.2"
  set {
    name  = "recommender.image.tag"
    value = "1.5.0"
  }
}
"#;
    let (dir, report) = scan_files(&[("vpa/main.tf", src.as_bytes())]);
    assert_eq!(
        pins(&report),
        [
            "helm_chart vpa 4.10.2 vpa/main.tf:5",
            "helm_set vpa[recommender.image.tag] 1.5.0 vpa/main.tf:8",
        ]
    );
    set(dir.path(), "vpa[recommender.image.tag]", "1.6.0");
    assert_eq!(
        read(dir.path(), "vpa/main.tf"),
        src.replace("\"1.5.0\"", "\"1.6.0\"")
    );
}

// 5. Noise.

#[test]
fn an_orphaned_template_raises_no_unresolved_pin() {
    let main = r#"# resource "helm_release" "immich" {
#   chart   = "immich"
#   values  = [templatefile("${path.module}/chart_values.tpl", { version = var.immich_version })]
# }
variable "immich_version" {
  default = "v2.7.4"
}
"#;
    let values = "image:\n  tag: ${version}\n";
    let (_dir, report) = scan_files(&[
        ("immich/main.tf", main.as_bytes()),
        ("immich/chart_values.tpl", values.as_bytes()),
    ]);
    assert!(
        report
            .pins
            .iter()
            .all(|pin| pin.status != PinStatus::Unresolved),
        "{:#?}",
        report.pins
    );
}

#[test]
fn an_unresolved_values_tag_is_reported_once() {
    let main = r#"resource "helm_release" "nextcloud" {
  name       = "nextcloud"
  repository = "https://nextcloud.github.io/helm/"
  chart      = "nextcloud"
  version    = "8.8.1"
  values     = [templatefile("${path.module}/chart_values.yaml", { image_tag = local.live_tag })]
}

locals {
  live_tag = try(data.kubernetes_resource.live.object.spec.tag, var.floor)
}
"#;
    let values = "image:\n  flavor: apache\n  tag: \"${image_tag}\"\n";
    let (_dir, report) = scan_files(&[
        ("nextcloud/main.tf", main.as_bytes()),
        ("nextcloud/chart_values.yaml", values.as_bytes()),
    ]);
    let unresolved: Vec<&Pin> = report
        .pins
        .iter()
        .filter(|pin| pin.status == PinStatus::Unresolved)
        .collect();
    assert_eq!(unresolved.len(), 1, "{:#?}", report.pins);
    assert_eq!(unresolved[0].name, "nextcloud[image.tag]");
}

#[test]
fn users_are_the_references_not_the_pins_own_token() {
    let (_dir, report) = scan_files(&poster());
    let poster = &report.pins[0];
    assert!(
        poster
            .users
            .iter()
            .all(|user| user.canonical == poster.canonical),
        "{:#?}",
        poster.users
    );
    let chart = "resource \"helm_release\" \"a\" {\n  chart      = \"grafana\"\n  repository = \"https://grafana.github.io/helm-charts\"\n  version    = \"8.5.1\"\n}\n";
    let (_dir, report) = scan_files(&[("a/main.tf", chart.as_bytes())]);
    assert!(report.pins[0].users.is_empty(), "{:#?}", report.pins[0]);
    // Nor is the `chart` attribute of a release without a version a user of its pin.
    let unpinned = chart.replace("  version    = \"8.5.1\"\n", "");
    let (_dir, report) = scan_files(&[("a/main.tf", unpinned.as_bytes())]);
    assert_eq!(report.pins[0].status, PinStatus::Unpinned);
    assert!(report.pins[0].users.is_empty(), "{:#?}", report.pins[0]);
}

// 6. Hidden folders.

#[test]
fn hidden_folders_are_scanned_except_tool_caches() {
    let pipeline = "steps:\n  - name: test\n    image: golang:1.24.5\n";
    let cached = "resource \"x\" \"y\" {\n  image = \"example/cached:1.0.0\"\n}\n";
    let (_dir, report) = scan_files(&[
        (".woodpecker/test.yml", pipeline.as_bytes()),
        (".gitlab-ci.yml", pipeline.as_bytes()),
        (".git/hooks/x.yml", pipeline.as_bytes()),
        ("a/.terraform/modules/m/main.tf", cached.as_bytes()),
        ("a/.terragrunt-cache/abc/main.tf", cached.as_bytes()),
    ]);
    assert_eq!(
        pins(&report),
        [
            "values_image golang 1.24.5 .gitlab-ci.yml:3",
            "values_image golang 1.24.5 .woodpecker/test.yml:3",
        ]
    );
}

// 7. git-crypt.

#[test]
fn a_git_crypt_encrypted_file_is_reported_as_encrypted() {
    let mut encrypted = b"\0GITCRYPT\0".to_vec();
    encrypted.extend([0xf2, 0x91, 0x07, 0x4c, 0xaa, 0x00, 0x13, 0xfe, 0x80, 0x7f]);
    let main = "variable \"tag\" {\n  default = \"1.0.0\"\n}\nresource \"x\" \"y\" {\n  image = \"example/app:${var.tag}\"\n}\n";
    let (dir, report) = scan_files(&[
        ("app/main.tf", main.as_bytes()),
        ("app/terraform.tfvars", &encrypted),
    ]);
    let [error] = report.errors.as_slice() else {
        panic!("one error expected: {:#?}", report.errors);
    };
    assert_eq!(error.kind, ErrorKind::Encrypted);
    assert!(error.message.contains("git-crypt"), "{}", error.message);
    assert!(!error.message.contains("UTF-8"), "{}", error.message);
    // Its values are unknown, so nothing in that module is moved.
    assert!(matches!(
        plan(dir.path(), "example/app", "1.1.0"),
        Err(SetError::BrokenFiles { .. })
    ));
}

// 8. `set` refuses what cannot be a tag or version.

#[test]
fn set_refuses_what_cannot_be_a_tag_or_version() {
    let main = r#"resource "helm_release" "immich" {
  repository = "https://immich-app.github.io/immich-charts"
  chart      = "immich"
  version    = "0.9.3"
}

resource "kubernetes_deployment" "a" {
  spec {
    container {
      image = "ghcr.io/example/app:1.2.3"
    }
  }
}
"#;
    let (dir, _) = scan_files(&[("a/main.tf", main.as_bytes())]);
    let huge = "9".repeat(300);
    for (name, version) in [
        ("ghcr.io/example/app", huge.as_str()),
        ("ghcr.io/example/app", "-1.2.4"),
        ("ghcr.io/example/app", ".1.2.4"),
        ("immich", huge.as_str()),
        ("immich", "banana"),
        ("immich", "1..2"),
    ] {
        let refused = plan(dir.path(), name, version);
        assert!(
            matches!(refused, Err(SetError::Version(_))),
            "{name} {version}: {refused:?}"
        );
    }
    for (name, version) in [
        ("ghcr.io/example/app", "1.2.4_build-7"),
        ("ghcr.io/example/app", "sha-0c1d2e3"),
        ("immich", "v2.3.1"),
        ("immich", "0.10.0-rc.1"),
    ] {
        let plan = plan(dir.path(), name, version).expect(version);
        assert_eq!(plan.changes.len(), 1, "{name} {version}");
    }
}

#[test]
fn set_says_when_the_new_version_has_another_shape() {
    use upkeep_pins::shape_changes;
    let said = |old: &str, new: &str| -> Vec<String> {
        shape_changes(old, new)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(said("0.9.3", "v2.3.1"), ["adds a `v` prefix"]);
    assert_eq!(said("v1.1.0", "1.2.0"), ["drops the `v` prefix"]);
    assert_eq!(said("1.2.3", "1.3"), ["has 2 numeric parts, not 3"]);
    assert_eq!(said("16-alpine", "17"), ["drops the variant `-alpine`"]);
    assert!(said("1.2.3", "1.2.4").is_empty());
    assert!(said("16-alpine", "17-alpine").is_empty());
    assert!(said("v2.7.4-cuda", "v2.8.0-cuda").is_empty());
    let _ = VersionError::Empty;
}

#[test]
fn set_takes_a_branch_or_commit_for_a_module_from_a_git_host_shorthand() {
    let main = r#"module "github" {
  source = "github.com/example/terraform-app?ref=v1.2.0"
}

module "bitbucket" {
  source = "bitbucket.org/example/terraform-net?ref=v0.4.0"
}
"#;
    let (dir, _) = scan_files(&[("a/main.tf", main.as_bytes())]);
    for name in [
        "github.com/example/terraform-app",
        "bitbucket.org/example/terraform-net",
    ] {
        for version in ["main", "deadbeef"] {
            let plan = plan(dir.path(), name, version).expect(version);
            assert_eq!(plan.changes.len(), 1, "{name} {version}");
        }
    }
}

#[test]
fn a_default_that_a_caller_elsewhere_in_the_tree_falls_back_to_is_still_a_pin() {
    let module = r#"variable "tag" {
  default = "0.9.0"
}

resource "kubernetes_deployment" "app" {
  spec {
    container {
      image = "ghcr.io/example/app:${var.tag}"
    }
  }
}
"#;
    let a = "module \"app\" {\n  source = \"./m\"\n  tag    = \"1.0.0\"\n}\n";
    // `b` deploys the module too, without setting `tag`: the default is what runs there.
    let b = "module \"app\" {\n  source = \"../a/m\"\n}\n";
    for threads in 1..=3 {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in [("a/main.tf", a), ("a/m/main.tf", module), ("b/main.tf", b)] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let options = ScanOptions {
            threads: Some(threads),
            ..ScanOptions::default()
        };
        let report = upkeep_pins::scan(dir.path(), &options).expect("scan");
        let found: Vec<String> = report
            .pins
            .iter()
            .map(|pin| {
                format!(
                    "{} {} {}:{}",
                    pin.name,
                    pin.version.as_deref().unwrap_or("-"),
                    pin.file.display(),
                    pin.line
                )
            })
            .collect();
        assert!(
            found.contains(&"ghcr.io/example/app 1.0.0 a/main.tf:3".to_owned()),
            "{found:#?}"
        );
        assert!(
            found.contains(&"ghcr.io/example/app 0.9.0 a/m/main.tf:2".to_owned()),
            "{threads} threads: {found:#?}"
        );
    }
}
