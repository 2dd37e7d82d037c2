//! `upkeep scan`: list every pin.

use crate::args::{Format, ScanArgs};
use crate::output;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use upkeep_pins::{ScanOptions, ScanReport, scan};

/// Scans the paths and prints the report.
pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let options = ScanOptions {
        max_file_size: args.max_file_size,
        strict: args.strict,
        ..ScanOptions::default()
    };
    let report = scan_paths(&args.paths, &options)?;
    match args.format {
        Format::Json => output::print_json(&report)?,
        Format::Human => output::print(&output::table::render(&report))?,
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Scans each path. One directory gives paths relative to it; several paths, or files, give
/// paths relative to the current directory so that they stay distinct.
fn scan_paths(paths: &[PathBuf], options: &ScanOptions) -> anyhow::Result<ScanReport> {
    let single_dir = matches!(paths, [only] if only.is_dir());
    let mut merged = ScanReport::default();
    for path in paths {
        let (root, only) = if path.is_dir() {
            (path.clone(), None)
        } else if path.exists() {
            let root = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            (root.to_path_buf(), path.file_name().map(PathBuf::from))
        } else {
            bail!("{}: no such file or directory", path.display());
        };
        let mut report =
            scan(&root, options).with_context(|| format!("cannot scan {}", root.display()))?;
        if let Some(file) = &only {
            report
                .pins
                .retain(|pin| &pin.file == file || pin.users.iter().any(|user| &user.file == file));
            report.errors.retain(|error| &error.file == file);
        }
        if !single_dir && root != Path::new(".") {
            rebase(&mut report, &root);
        }
        merged.pins.extend(report.pins);
        merged.errors.extend(report.errors);
    }
    if paths.len() > 1 {
        // Each report is sorted; several may overlap (a folder and a file in it).
        merged
            .pins
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        merged
            .pins
            .dedup_by(|a, b| a.file == b.file && a.span == b.span);
        merged
            .errors
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        merged.errors.dedup();
    }
    Ok(merged)
}

/// Prefixes every path of `report` with `root`.
fn rebase(report: &mut ScanReport, root: &Path) {
    for pin in &mut report.pins {
        pin.file = root.join(&pin.file);
        for user in &mut pin.users {
            user.file = root.join(&user.file);
        }
        for place in &mut pin.shadows {
            place.file = root.join(&place.file);
        }
    }
    for error in &mut report.errors {
        error.file = root.join(&error.file);
    }
}
