//! `upkeep lint`: check the pins against the repository's policy.

use crate::args::{LintArgs, LintFormat};
use crate::commands::scan::{report_base, scan_paths, scan_roots};
use crate::config::{Config, Severity};
use crate::output;
use crate::policy::lint::{Sources, check, render};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use upkeep_pins::ScanOptions;

/// Lints the paths and prints the findings.
pub fn run(args: &LintArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let start = args.paths.first().map_or(Path::new("."), PathBuf::as_path);
    let (config, _) = Config::load(config_file, start)?;
    let options = ScanOptions {
        strict: args.strict,
        ..config.scan_options()
    };
    let report = scan_paths(&args.paths, &options)?;
    let base = report_base(&args.paths);
    let mut sources = Sources::new(&base, &scan_roots(&args.paths));
    let findings = check(&report, &config.lint, &mut sources);
    match args.format {
        LintFormat::Human => {
            output::print(&render::human(&findings, &mut sources))?;
        }
        LintFormat::Json => output::print_json(&render::json(&findings))?,
        LintFormat::Sarif => output::print_json(&render::sarif(&findings))?,
    }
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
