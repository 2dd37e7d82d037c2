//! `upkeep scan`: list every pin.

use crate::args::{Format, ScanArgs};
use crate::config::Config;
use crate::output;
use crate::output::streamed::PinsWriter;
use crate::policy::skip::skip_reason;
use anyhow::{Context, bail};
use serde::Serialize;
use std::io::{BufWriter, ErrorKind, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use upkeep_pins::{Pin, ScanError, ScanOptions, ScanReport, ScanWarning, scan, scan_each};

/// Scans the paths and prints the report, with the pins the config skips marked.
pub fn run(args: &ScanArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let start = args.paths.first().map_or(Path::new("."), PathBuf::as_path);
    let (config, _) = Config::load(config_file, start)?;
    let options = ScanOptions {
        max_file_size: args.max_file_size,
        strict: args.strict,
        ..config.scan_options()
    };
    if let (Format::Json, [dir]) = (args.format, args.paths.as_slice())
        && dir.is_dir()
    {
        let rest = stream_json(dir, &options, &config)?;
        strict_note(&rest, args.strict);
        return Ok(exit_code(&rest, args.strict));
    }
    let report = scan_paths(&args.paths, &options)?;
    let skipped: Vec<Option<String>> = report
        .pins
        .iter()
        .map(|pin| skip_reason(&config, &pin.canonical))
        .collect();
    match args.format {
        Format::Json => output::print_json(&ScanOutput {
            pins: report
                .pins
                .iter()
                .zip(&skipped)
                .map(|(pin, skipped)| PinOutput { pin, skipped })
                .collect(),
            errors: &report.errors,
            warnings: &report.warnings,
        })?,
        Format::Human => output::print(&output::table::render(&report, &skipped))?,
    }
    strict_note(&report, args.strict);
    Ok(exit_code(&report, args.strict))
}

/// Says on standard error why a strict scan with warnings only fails.
fn strict_note(report: &ScanReport, strict: bool) {
    if strict && report.errors.is_empty() && !report.warnings.is_empty() {
        tracing::warn!(
            "--strict: {} warning(s) fail the scan (without --strict they are reported only)",
            report.warnings.len()
        );
    }
}

/// 1 when files could not be read or parsed; a warning (a repeated key, a file that is not
/// what its name says) fails only a strict scan.
fn exit_code(report: &ScanReport, strict: bool) -> ExitCode {
    if !report.errors.is_empty() || (strict && !report.warnings.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `scan --format json DIR`: each pin is written as soon as its place in the report is known,
/// so memory does not grow with the number of pins. Returns the errors and warnings.
fn stream_json(dir: &Path, options: &ScanOptions, config: &Config) -> anyhow::Result<ScanReport> {
    let stdout = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut writer = PinsWriter::begin(stdout)?;
    let mut failed = None;
    let rest = scan_each(dir, options, |pin| {
        let skipped = skip_reason(config, &pin.canonical);
        match writer.pin(&PinOutput {
            pin: &pin,
            skipped: &skipped,
        }) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => {
                failed = Some(error);
                ControlFlow::Break(())
            }
        }
    })
    .with_context(|| format!("cannot scan {}", dir.display()))?;
    let finished = match failed {
        Some(error) => Err(error),
        None => writer
            .finish(&Rest {
                errors: &rest.errors,
                warnings: &rest.warnings,
            })
            .and_then(|mut stdout| stdout.flush()),
    };
    match finished {
        // `upkeep scan | head`: the reader left; what it read is all it wanted.
        Err(error) if error.kind() != ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(rest),
    }
}

/// What follows the pins in `scan --format json`, as [`ScanOutput`] has it.
#[derive(Serialize)]
struct Rest<'a> {
    errors: &'a [ScanError],
    warnings: &'a [ScanWarning],
}

/// The folder the paths of a [`scan_paths`] report are relative to.
pub(crate) fn report_base(paths: &[PathBuf]) -> PathBuf {
    match paths {
        [only] if only.is_dir() => only.clone(),
        _ => PathBuf::from("."),
    }
}

/// The folders [`scan_paths`] scans, relative to [`report_base`] (the empty path is the base
/// itself), so that a report's files can be read again as the scan read them.
pub(crate) fn scan_roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    if matches!(paths, [only] if only.is_dir()) {
        return vec![PathBuf::new()];
    }
    paths
        .iter()
        .map(|path| {
            let root = if path.is_dir() {
                path.as_path()
            } else {
                path.parent().unwrap_or(Path::new(""))
            };
            if root == Path::new(".") {
                PathBuf::new()
            } else {
                root.to_path_buf()
            }
        })
        .collect()
}

/// The JSON shape of `scan --format json`: the report, with each pin the config skips
/// carrying `skipped` (the reason).
#[derive(Serialize)]
struct ScanOutput<'a> {
    pins: Vec<PinOutput<'a>>,
    errors: &'a [ScanError],
    warnings: &'a [ScanWarning],
}

#[derive(Serialize)]
struct PinOutput<'a> {
    #[serde(flatten)]
    pin: &'a Pin,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: &'a Option<String>,
}

/// Scans each path. One directory gives paths relative to it; several paths, or files, give
/// paths relative to the current directory so that they stay distinct. For a file, its whole
/// module folder is read (so variables resolve) and only what touches the file is kept.
pub(crate) fn scan_paths(paths: &[PathBuf], options: &ScanOptions) -> anyhow::Result<ScanReport> {
    let single_dir = matches!(paths, [only] if only.is_dir());
    let mut merged = ScanReport::default();
    for path in paths {
        let (root, only) = if path.is_dir() {
            (path.clone(), None)
        } else if path.exists() {
            // A file named on the command line is one upkeep reads, and a file at all: not a
            // device (`/dev/zero`), a fifo or something with another extension, which would
            // otherwise scan its whole folder and report nothing.
            if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
                bail!("{}: not a regular file", path.display());
            }
            if !upkeep_pins::reads_file_named(path) {
                bail!(
                    "{}: not a file upkeep reads (.tf, .tfvars, .hcl, .tf.json, .yaml/.yml, .tpl/.tftpl)",
                    path.display()
                );
            }
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
            report.warnings.retain(|warning| &warning.file == file);
        }
        if !single_dir && root != Path::new(".") {
            rebase(&mut report, &root);
        }
        merged.pins.extend(report.pins);
        merged.errors.extend(report.errors);
        merged.warnings.extend(report.warnings);
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
        merged
            .warnings
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        merged.warnings.dedup();
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
    for warning in &mut report.warnings {
        warning.file = root.join(&warning.file);
        if let Some(place) = &mut warning.related {
            place.file = root.join(&place.file);
        }
    }
}
