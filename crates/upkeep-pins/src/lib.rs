//! Find and rewrite the version pins of a Terraform/Helm infrastructure repository, losslessly.
//!
//! A *pin* is one place where a version is written: an image tag in a `.tf` file (hardcoded,
//! or in a `variable` default or a `local` that images use), a `helm_release` chart version,
//! a `required_providers` or `module` version, a Helm `set`/`yamlencode` image tag, or an
//! image tag in a Helm values YAML file or `.tpl` template.
//!
//! Parsers only *locate*: [`scan`] reports each pin with the byte span of its version token.
//! Changing a version is an [`Edit`] of those bytes and nothing else; an [`EditPlan`] checks a
//! set of edits (no overlap, the files still hold what was scanned, the result parses and
//! reads back the new versions) before [`EditPlan::apply`] writes all files or none.
//!
//! ```no_run
//! use upkeep_pins::{EditPlan, ScanOptions, SetRequest, plan_set, scan};
//! use std::path::Path;
//!
//! let root = Path::new("fixtures/homelab");
//! let report = scan(root, &ScanOptions::default())?;
//! let request = SetRequest { name: "vaultwarden/server", version: "1.36.0", from: None, kind: None };
//! let plan = plan_set(root, &report, &request)?;
//! EditPlan::new(root, &plan.edits())?.apply()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod canonical;
mod edit;
mod error;
mod hcl;
mod image;
mod location;
mod module;
mod ordered;
mod pin;
mod scan;
mod select;
mod site;
mod version;
mod yaml;

pub use edit::{Edit, EditError, EditPlan, FileChange};
pub use error::{ErrorKind, ScanError};
pub use image::{ImageRef, canonical_image_name};
pub use location::LineIndex;
pub use pin::{Pin, PinKind, PinStatus, PinUser, Place};
pub use scan::{DEFAULT_MAX_FILE_SIZE, ScanOptions, ScanReport, scan, scan_each};
pub use select::{Change, SetError, SetPlan, SetRequest, SkipReason, plan_set};
pub use version::{
    CandidatePolicy, UpdateKind, Updates, Version, VersionError, choose_updates, retarget,
    same_version,
};

/// Parses HCL text and reports whether it is valid: `Ok(())` or the 1-based line and column
/// of the first error with the parser's message. Exposed for fuzzing and for callers that
/// want to check a file before handing it to a tool.
pub fn check_hcl(text: &str) -> Result<(), (usize, usize, String)> {
    hcl::parse(text, hcl::Flavor::Terraform, true)
        .map(drop)
        .map_err(|error| {
            let (line, column) = LineIndex::new(text).line_col(error.offset);
            (line, column, error.message)
        })
}

/// Parses YAML text the way values files are scanned, with the same error shape as
/// [`check_hcl`].
pub fn check_yaml(text: &str) -> Result<(), (usize, usize, String)> {
    yaml::parse(text, true).map(drop).map_err(|error| {
        let (line, column) = LineIndex::new(text).line_col(error.offset);
        (line, column, error.message)
    })
}
