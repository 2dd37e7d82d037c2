//! Find and rewrite the version pins of a Terraform/Helm infrastructure repository, losslessly.
//!
//! A *pin* is one place where a version is written: an image tag in a `.tf` or `.tf.json`
//! file (hardcoded, split over sibling keys such as `image_repository` + `image_tag`, or in a
//! `variable` default or a `local` that images use), a `helm_release` chart version, a
//! `required_providers` or `module` version, a Helm `set`/`yamlencode` image tag, an image tag
//! in a Helm values YAML file or template, or the `version` of an object naming something
//! versioned (`{ moduleName, version }`). String literals of the same file that name a pin at
//! its version are its *linked* strings, and move with it.
//!
//! Parsers only *locate*: [`scan`] reports each pin with the byte span of its version token.
//! Changing a version is an [`Edit`] of those bytes and nothing else; an [`EditPlan`] checks a
//! set of edits (no overlap, the files still hold what was scanned, the result parses and
//! reads back the new versions) before [`EditPlan::apply`] writes all files or none — also
//! when the process is killed on the way: [`recover`], run before the next edit, finishes or
//! undoes a write a crash interrupted.
//!
//! Every file is read through [`RepoFiles`]: one decision (inside the root once links are
//! resolved, a regular file, within the size limit) for every reader, in this crate and in
//! the binary.
//!
//! ```no_run
//! use upkeep_pins::{EditPlan, ScanOptions, SetRequest, plan_set, recover, scan};
//! use std::path::Path;
//!
//! let root = Path::new("fixtures/homelab");
//! recover(root)?;
//! let report = scan(root, &ScanOptions::default())?;
//! let request = SetRequest { name: "vaultwarden/server", version: "1.36.0", from: None, kind: None };
//! let plan = plan_set(root, &report, &request)?;
//! EditPlan::new(root, &plan.edits())?.apply()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod admit;
mod bytes;
mod calls;
mod canonical;
mod climbs;
mod edit;
mod error;
mod fast_hash;
mod hcl;
mod ignore_files;
mod image;
mod journal;
mod location;
mod mention;
mod module;
mod ordered;
mod pin;
mod read_ahead;
mod scan;
mod select;
mod shapes;
mod signal;
mod site;
mod split_once;
mod strictness;
mod transaction;
mod version;
mod warning;
mod yaml;

pub use admit::{RepoFiles, read_named_file};
pub use edit::{Edit, EditError, EditPlan, FileChange};
pub use error::{ErrorKind, ScanError};
pub use image::{ImageRef, canonical_image_name};
pub use journal::check_journal;
pub use location::LineIndex;
pub use pin::{Linked, Pin, PinKind, PinStatus, PinUser, Place};
pub use scan::{DEFAULT_MAX_FILE_SIZE, ScanOptions, ScanReport, reads_file_named, scan, scan_each};
pub use select::{Change, SetError, SetPlan, SetRequest, SkipReason, plan_set};
pub use transaction::{Recovery, recover};
pub use version::{
    CandidatePolicy, ShapeChange, UpdateKind, Updates, Version, VersionError, choose_updates,
    in_style_of, retarget, same_version, shape_changes,
};
pub use warning::{ScanWarning, WarningKind};

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
