//! `upkeep set`: move every pin of a name to a version.

use crate::args::{Format, SetArgs};
use crate::config::Config;
use crate::output;
use anyhow::Context;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use upkeep_pins::{
    EditError, EditPlan, ErrorKind, Pin, SetError, SetPlan, SetRequest, SkipReason, plan_set, scan,
};

/// Plans the move, prints it, and writes it unless `--dry-run`.
pub fn run(args: &SetArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    if !args.dry_run {
        crate::deliver::recover::tree(&args.path)?;
    }
    let (config, _) = Config::load(config_file, &args.path)?;
    // A file that does not parse and may hold the name, or sits in a folder the edit touches,
    // must stop the edit: those are parsed strictly (see `ScanOptions::strict_for`).
    let report = scan(&args.path, &config.scan_options_for_edit_of(&args.name))
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
            let mut message = format!(
                "not touching anything: these files may hold `{name}` but could not be read:\n"
            );
            for error in &files {
                let _ = writeln!(message, "  {}", error);
            }
            let encrypted = files.iter().any(|e| e.kind == ErrorKind::Encrypted);
            message.push_str(if encrypted {
                "fix them (`git-crypt unlock` for encrypted ones) and run again; nothing was written"
            } else {
                "fix them and run again; nothing was written"
            });
            anyhow::bail!(message);
        }
        Err(error) => return Err(error.into()),
    };
    warn_of_shape_changes(&plan);
    let edits = EditPlan::new(&args.path, &plan.edits())
        .map_err(|error| edit_failed(error, "the edit was refused; nothing was written"))?;
    let written = !args.dry_run && !plan.changes.is_empty();
    if written {
        edits
            .apply()
            .map_err(|error| edit_failed(error, "nothing was written"))?;
    }
    match args.format {
        Format::Json => output::print_json(&SetOutput::new(&plan, written, args.from.as_deref()))?,
        Format::Human => output::print(&human(args, &plan, &edits, written))?,
    }
    Ok(if plan.changes.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// An edit that was refused or failed, saying once what became of the files: in the
/// error's own words when it says it (a hard link, an owner, a file changed meanwhile, files
/// that could not all be restored), else with `context` (which says it) in front.
pub(crate) fn edit_failed(error: EditError, context: &'static str) -> anyhow::Error {
    match error {
        EditError::HardLinks { .. }
        | EditError::Owner { .. }
        | EditError::Changed { .. }
        | EditError::Write {
            restored: false, ..
        } => error.into(),
        error => anyhow::Error::new(error).context(context),
    }
}

/// Says on standard error when the new version is shaped unlike the pin's (a `v` added or
/// dropped, another number of parts, a variant suffix lost): `set` writes it as given, which
/// is right when upstream changed its scheme and wrong when the user meant another thing
/// (the app's version onto its chart). Once per pinned version.
fn warn_of_shape_changes(plan: &SetPlan) {
    let mut said = std::collections::BTreeSet::new();
    for change in &plan.changes {
        let old = change.pin.version.as_deref().unwrap_or_default();
        let changes = upkeep_pins::shape_changes(old, &change.new);
        if changes.is_empty() || !said.insert(old) {
            continue;
        }
        let changes: Vec<String> = changes.iter().map(ToString::to_string).collect();
        tracing::warn!(
            "{}: {} {old} -> {}: the new version {}; written as given",
            place(&change.pin),
            change.pin.name,
            change.new,
            changes.join(", ")
        );
    }
}

/// `file:line:column` of a pin's version token.
fn place(pin: &Pin) -> String {
    format!("{}:{}:{}", pin.file.display(), pin.line, pin.column)
}

/// Why a pin was skipped, in words.
fn skip_reason(reason: &SkipReason, pin: &Pin, from: Option<&str>) -> String {
    match reason {
        SkipReason::OtherVersion => format!(
            "at {}, not {}",
            pin.version.as_deref().unwrap_or("?"),
            from.unwrap_or("?")
        ),
        SkipReason::NotSettable(status) => format!("{status:?} pin, not rewritten").to_lowercase(),
        _ => "skipped".to_owned(),
    }
}

fn human(args: &SetArgs, plan: &SetPlan, edits: &EditPlan, written: bool) -> String {
    let mut out = String::new();
    if args.dry_run && !plan.changes.is_empty() {
        out.push_str(&output::diff::unified(edits.changes()));
        out.push('\n');
    }
    for change in &plan.changes {
        let pin = &change.pin;
        let old = pin.version.as_deref().unwrap_or_default();
        let via = pin
            .via
            .as_deref()
            .map(|via| format!(" (via {via})"))
            .unwrap_or_default();
        let (kind, name, new) = (pin.kind.as_str(), &pin.name, &change.new);
        let _ = writeln!(out, "{}: {kind} {name} {old} -> {new}{via}", place(pin));
        for other in &change.also_moves {
            let _ = writeln!(out, "    also moves: {other}");
        }
        for linked in &pin.linked {
            let (file, line, column) = (linked.file.display(), linked.line, linked.column);
            let _ = writeln!(out, "    linked: {file}:{line}:{column}: {}", linked.text);
        }
        if pin.ignored_by_terraform {
            out.push_str(
                "    warning: lifecycle.ignore_changes covers it; Terraform will not roll it out\n",
            );
        }
        if pin.digest.is_some() {
            out.push_str("    warning: a digest is pinned next to the tag and is now stale; update or drop it\n");
        }
        for shadow in &pin.shadows {
            let (file, line, column) = (shadow.file.display(), shadow.line, shadow.column);
            let _ = writeln!(
                out,
                "    note: overrides {file}:{line}:{column}, left as is"
            );
        }
    }
    for pin in &plan.unchanged {
        let _ = writeln!(out, "{}: already at {}", place(pin), args.version);
    }
    for (pin, reason) in &plan.skipped {
        let why = skip_reason(reason, pin, args.from.as_deref());
        let _ = writeln!(out, "{}: skipped {}: {why}", place(pin), pin.name);
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    linked: Vec<upkeep_pins::Linked>,
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
    message: String,
}

impl SetOutput {
    fn new(plan: &SetPlan, written: bool, from: Option<&str>) -> SetOutput {
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
                    linked: change.pin.linked.clone(),
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
                    message: skip_reason(reason, pin, from),
                })
                .collect(),
        }
    }
}
