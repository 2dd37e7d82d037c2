//! The fast paths must never change the result: whenever a file parses as a whole, scanning it
//! in the default mode (Terraform outlined, YAML block scalar and large collection bodies left
//! unread) finds exactly the pins of a strict scan. The input is tried as a Terraform file, as
//! a values file, and as a `terragrunt.hcl` and a `.tfvars` file beside a module whose pins
//! come from variables. A values file that does not parse is a warning when it looks like
//! something else (Prometheus text, a template), so that counts as not parsing too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upkeep_pins::{ScanOptions, WarningKind, scan};

/// A module whose pins come from variables, for the input tried as their assignments.
const USES_VARIABLES: &str = r#"variable "image" {}
variable "images" {}
variable "tag" {}
resource "kubernetes_deployment" "a" {
  image = var.image
  b     = { image = var.images.app, tag = var.tag }
}
"#;

fuzz_target!(|data: &[u8]| {
    for name in ["main.tf", "values.yaml", "terragrunt.hcl", "terraform.tfvars"] {
        same_pins(name, data);
    }
});

fn same_pins(name: &str, data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(name), data).expect("write input");
    if matches!(name, "terragrunt.hcl" | "terraform.tfvars") {
        std::fs::write(dir.path().join("main.tf"), USES_VARIABLES).expect("write module");
    }
    let fast = scan(dir.path(), &ScanOptions { threads: Some(1), ..ScanOptions::default() }).expect("scan");
    let strict = ScanOptions { threads: Some(1), strict: true, ..ScanOptions::default() };
    let strict = scan(dir.path(), &strict).expect("scan");
    let parsed = strict.errors.is_empty()
        && !strict.warnings.iter().any(|w| w.kind == WarningKind::UnexpectedContent);
    if parsed {
        assert_eq!(fast.pins, strict.pins);
    }
}
