//! `upkeep set`: move every pin of a name to a version.

use crate::args::{Format, SetArgs};
use crate::output;
use anyhow::Context;
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use upkeep_pins::{
    EditPlan, ScanOptions, SetError, SetPlan, SetRequest, SkipReason, plan_set, scan,
};

/// Plans the move, prints it, and writes it unless `--dry-run`.
pub fn run(args: &SetArgs) -> anyhow::Result<ExitCode> {
    let report = scan(&args.path, &ScanOptions::default())
        .with_context(|| format!("cannot scan {}", args.path.display()))?;
    let request = SetRequest {
        name: &args.name,
        version: &args.version,
        from: args.from.as_deref(),
        kind: args.kind.map(Into::into),
    };
    let plan = match plan_set(&args.path, &report, &request) {
        Ok(plan) => plan,
        Err(SetError::BrokenFiles { name, files }) => {
            let mut message =
                format!("not touching anything: these files may hold `{name}` but do not parse:\n");
            for error in &files {
                let _ = writeln!(message, "  {}", error);
            }
            message.push_str("fix them and run again; nothing was written");
            anyhow::bail!(message);
        }
        Err(error) => return Err(error.into()),
    };
    let edits = EditPlan::new(&args.path, &plan.edits())
        .context("the edit was refused; nothing was written")?;
    let written = !args.dry_run && !plan.changes.is_empty();
    if written {
        edits.apply().context("nothing was written")?;
    }
    let text = match args.format {
        Format::Json => output::json(&SetOutput::new(&plan, written))?,
        Format::Human => human(args, &plan, &edits, written),
    };
    output::print(&text)?;
    Ok(if plan.changes.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn human(args: &SetArgs, plan: &SetPlan, edits: &EditPlan, written: bool) -> String {
    let mut out = String::new();
    if args.dry_run && !plan.changes.is_empty() {
        out.push_str(&output::diff::unified(edits.changes()));
        out.push('\n');
    }
    for change in &plan.changes {
        let pin = &change.pin;
        let via = pin
            .via
            .as_deref()
            .map(|via| format!(" (via {via})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}:{}:{}: {} {} {} -> {}{via}",
            pin.file.display(),
            pin.line,
            pin.column,
            pin.kind.as_str(),
            pin.name,
            pin.version.as_deref().unwrap_or_default(),
            change.new,
        );
        for other in &change.also_moves {
            let _ = writeln!(out, "    also moves: {other}");
        }
        if pin.ignored_by_terraform {
            let _ = writeln!(
                out,
                "    warning: lifecycle.ignore_changes covers it; Terraform will not roll it out"
            );
        }
        if pin.digest.is_some() {
            let _ = writeln!(
                out,
                "    warning: a digest is pinned next to the tag and is now stale; update or drop it"
            );
        }
        for place in &pin.shadows {
            let _ = writeln!(
                out,
                "    note: overrides {}:{}:{}, left as is",
                place.file.display(),
                place.line,
                place.column
            );
        }
    }
    for pin in &plan.unchanged {
        let _ = writeln!(
            out,
            "{}:{}:{}: already at {}",
            pin.file.display(),
            pin.line,
            pin.column,
            args.version
        );
    }
    for (pin, reason) in &plan.skipped {
        let why = match reason {
            SkipReason::OtherVersion => format!(
                "at {}, not {}",
                pin.version.as_deref().unwrap_or("?"),
                args.from.as_deref().unwrap_or("?")
            ),
            SkipReason::NotSettable(status) => {
                format!("{status:?} pin, not rewritten").to_lowercase()
            }
            _ => "skipped".to_owned(),
        };
        let _ = writeln!(
            out,
            "{}:{}:{}: skipped {}: {why}",
            pin.file.display(),
            pin.line,
            pin.column,
            pin.name
        );
    }
    let files = edits.changes().len();
    let summary = match (plan.changes.len(), written) {
        (0, _) if plan.unchanged.is_empty() && plan.skipped.is_empty() => {
            format!("no pin of `{}` found", args.name)
        }
        (0, _) => "nothing to change".to_owned(),
        (n, true) => format!("{n} pin(s) moved in {files} file(s)"),
        (n, false) => format!("dry run: {n} pin(s) would move in {files} file(s); nothing written"),
    };
    let _ = writeln!(out, "{summary}");
    out
}

/// The JSON shape of `set --format json`.
#[derive(Serialize)]
struct SetOutput {
    written: bool,
    changes: Vec<ChangeOutput>,
    unchanged: Vec<Location>,
    skipped: Vec<SkippedOutput>,
}

#[derive(Serialize)]
struct ChangeOutput {
    #[serde(flatten)]
    at: Location,
    kind: &'static str,
    name: String,
    old: String,
    new: String,
    via: Option<String>,
    also_moves: Vec<String>,
}

#[derive(Serialize)]
struct Location {
    file: PathBuf,
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct SkippedOutput {
    #[serde(flatten)]
    at: Location,
    name: String,
    reason: String,
}

impl SetOutput {
    fn new(plan: &SetPlan, written: bool) -> SetOutput {
        let at = |pin: &upkeep_pins::Pin| Location {
            file: pin.file.clone(),
            line: pin.line,
            column: pin.column,
        };
        SetOutput {
            written,
            changes: plan
                .changes
                .iter()
                .map(|change| ChangeOutput {
                    at: at(&change.pin),
                    kind: change.pin.kind.as_str(),
                    name: change.pin.name.clone(),
                    old: change.pin.version.clone().unwrap_or_default(),
                    new: change.new.clone(),
                    via: change.pin.via.clone(),
                    also_moves: change.also_moves.clone(),
                })
                .collect(),
            unchanged: plan.unchanged.iter().map(at).collect(),
            skipped: plan
                .skipped
                .iter()
                .map(|(pin, reason)| SkippedOutput {
                    at: at(pin),
                    name: pin.name.clone(),
                    reason: match reason {
                        SkipReason::OtherVersion => "other_version".to_owned(),
                        SkipReason::NotSettable(status) => format!("{status:?}").to_lowercase(),
                        _ => "skipped".to_owned(),
                    },
                })
                .collect(),
        }
    }
}
