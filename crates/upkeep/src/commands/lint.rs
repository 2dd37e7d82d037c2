//! `upkeep lint`: check the pins against the repository's policy.

use crate::args::{LintArgs, LintFormat};
use crate::commands::scan::{report_base, scan_paths, scan_roots};
use crate::config::{Config, Severity};
use crate::output;
use crate::policy::lint::baseline::Baseline;
use crate::policy::lint::location::RepoRoot;
use crate::policy::lint::{Sources, check, render};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use upkeep_pins::ScanOptions;

/// Lints the paths and prints the findings (those not in the baseline, with one).
pub fn run(args: &LintArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let start = args.paths.first().map_or(Path::new("."), PathBuf::as_path);
    let (config, _) = Config::load(config_file, start)?;
    // Read before scanning: a baseline that cannot be read stops the run before any work.
    let baseline = args.baseline.as_deref().map(Baseline::read).transpose()?;
    let options = ScanOptions {
        strict: args.strict,
        ..config.scan_options()
    };
    let report = scan_paths(&args.paths, &options)?;
    let base = report_base(&args.paths);
    let root = RepoRoot::find(&base, start);
    let mut sources = Sources::new(&base, &scan_roots(&args.paths));
    let mut findings = check(&report, &config.lint, &mut sources);
    if let Some(path) = &args.write_baseline {
        let recorded = Baseline::of(&findings, &root);
        std::fs::write(path, recorded.to_json())
            .with_context(|| format!("cannot write the baseline {}", path.display()))?;
        output::print(&format!(
            "{}: recorded {} finding(s); pass it to `upkeep lint --baseline`\n",
            path.display(),
            recorded.len()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut note = None;
    if let Some(baseline) = &baseline {
        let scope: Vec<String> = args.paths.iter().filter_map(|p| root.given(p)).collect();
        let applied = baseline.apply(findings, &root, &scope);
        findings = applied.new;
        note = Some(format!(
            "baseline: {} known finding(s) not shown{}\n",
            applied.known,
            match applied.gone {
                0 => String::new(),
                gone => format!(
                    "; {gone} no longer found (rewrite it with --write-baseline to drop them)"
                ),
            }
        ));
    }
    let target = args.output.as_deref();
    match args.format {
        LintFormat::Human => {
            let mut text = render::human(&findings, &mut sources);
            text.push_str(note.as_deref().unwrap_or_default());
            output::emit(target, &text)?;
        }
        LintFormat::Json => output::emit_json(target, &render::json(&findings))?,
        LintFormat::Sarif => output::emit_json(target, &render::sarif(&findings, &root))?,
    }
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
