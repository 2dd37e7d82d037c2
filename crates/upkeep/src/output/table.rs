//! The human table of `upkeep scan`: one section per stack (module folder).

use std::collections::BTreeMap;
use std::fmt::Write;
use upkeep_pins::{Pin, PinKind, PinStatus, ScanReport};

/// Renders the report as aligned columns grouped by stack, then the errors and a summary.
pub fn render(report: &ScanReport, skipped: &[Option<String>]) -> String {
    let mut stacks: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, pin) in report.pins.iter().enumerate() {
        let stack = pin.stack().display().to_string();
        stacks.entry(stack).or_default().push(index);
    }
    let rows: Vec<[String; 5]> = report
        .pins
        .iter()
        .zip(skipped.iter().chain(std::iter::repeat(&None)))
        .map(|(pin, skipped)| row(pin, skipped.as_deref()))
        .collect();
    let mut widths = [4, 4, 7, 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (stack, indices) in &stacks {
        let title = if stack.is_empty() {
            "."
        } else {
            stack.as_str()
        };
        let _ = writeln!(out, "{title}");
        for &index in indices {
            let [kind, name, version, place, notes] = &rows[index];
            let line = format!(
                "  {kind:<k$}  {name:<n$}  {version:<v$}  {place:<p$}  {notes}",
                k = widths[0],
                n = widths[1],
                v = widths[2],
                p = widths[3],
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out.push('\n');
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "errors (files left out of the scan):");
        for error in &report.errors {
            let _ = writeln!(out, "  {error}");
        }
        out.push('\n');
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "warnings:");
        for warning in &report.warnings {
            let _ = writeln!(out, "  {warning}");
        }
        out.push('\n');
    }
    let settable = report.pins.iter().filter(|pin| pin.is_settable()).count();
    let pins = count(report.pins.len(), "pin");
    let (stacks, errors) = (
        count(stacks.len(), "stack"),
        count(report.errors.len(), "error"),
    );
    let warnings = match report.warnings.len() {
        0 => String::new(),
        n => format!(", {}", count(n, "warning")),
    };
    let _ = writeln!(
        out,
        "{pins} in {stacks} ({settable} settable), {errors}{warnings}"
    );
    out
}

/// `1 pin`, `2 pins`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The cells of one pin: kind, name, version, place, notes.
fn row(pin: &Pin, skipped: Option<&str>) -> [String; 5] {
    let version = match (pin.status, &pin.version) {
        (PinStatus::Untagged, _) => "(untagged)".to_owned(),
        (PinStatus::DigestOnly, _) => "(digest)".to_owned(),
        (PinStatus::Unresolved, _) => "(unresolved)".to_owned(),
        (_, Some(version)) => match &pin.constraint {
            Some(op) if pin.status == PinStatus::Pinned => format!("{op} {version}"),
            _ => version.clone(),
        },
        (_, None) => "-".to_owned(),
    };
    let place = format!("{}:{}:{}", file_name(&pin.file), pin.line, pin.column);
    [
        pin.kind.as_str().to_owned(),
        shorten(&pin.name),
        version,
        place,
        notes(pin)
            .into_iter()
            .chain(skipped.map(|why| format!("skipped by config: {why}")))
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

/// Names longer than this are cut in the table (JSON has them whole).
const MAX_NAME: usize = 60;

fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME {
        return name.to_owned();
    }
    let cut: String = name.chars().take(MAX_NAME - 1).collect();
    format!("{cut}…")
}

/// A user's file as the table shows it: its name when it is in the pin's folder, else its
/// path (a module that a call passes the version to).
fn user_file(pin: &Pin, file: &std::path::Path) -> String {
    if file.parent() == pin.file.parent() {
        file_name(file)
    } else {
        file.display().to_string()
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// What a reader should know about a pin beyond its version.
fn notes(pin: &Pin) -> Vec<String> {
    let mut notes = Vec::new();
    match pin.status {
        PinStatus::Latest => notes.push("moving tag `latest`: never bumped".to_owned()),
        PinStatus::Untagged => notes.push("no tag: never bumped".to_owned()),
        PinStatus::DigestOnly => notes.push("pinned by digest only".to_owned()),
        PinStatus::Range => notes.push("version range: not rewritten".to_owned()),
        PinStatus::Unpinned => {
            notes.push("no version: Helm installs the newest chart on every apply".to_owned())
        }
        PinStatus::Unresolved => notes.push("version cannot be evaluated statically".to_owned()),
        PinStatus::Unnamed => {
            notes.push("no image named next to the tag: never matched by name".to_owned())
        }
        PinStatus::Pinned => {}
    }
    if let Some(expression) = &pin.expression {
        notes.push(format!("expression: {}", shorten(expression)));
    }
    if let Some(via) = &pin.via {
        notes.push(format!("via {via}"));
    }
    if pin.users.len() > 1 {
        // Where each user is; what it resolves to when it is another image than the pin's.
        let mut users: Vec<String> = pin
            .users
            .iter()
            .map(|user| {
                let at = format!("{}:{}", user_file(pin, &user.file), user.line);
                if user.canonical == pin.canonical {
                    at
                } else {
                    format!("{at} ({})", user.resolved)
                }
            })
            .collect();
        users.dedup();
        notes.push(format!("{} users: {}", users.len(), users.join(", ")));
    } else if let Some(user) = pin.users.first().filter(|user| user.file != pin.file) {
        notes.push(format!(
            "used in {}:{}",
            user_file(pin, &user.file),
            user.line
        ));
    } else if pin.users.is_empty()
        && matches!(
            pin.kind,
            PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage
        )
    {
        notes.push("defined here, used nowhere in its module".to_owned());
    }
    if pin.digest.is_some() && pin.status == PinStatus::Pinned {
        notes.push("tag+digest: the digest goes stale on a tag bump".to_owned());
    }
    if pin.ignored_by_terraform {
        notes.push("lifecycle.ignore_changes: Terraform will not roll it out".to_owned());
    }
    for place in &pin.shadows {
        notes.push(format!("overrides {}:{}", place.file.display(), place.line));
    }
    if !pin.linked.is_empty() {
        let places: Vec<String> = pin
            .linked
            .iter()
            .map(|linked| format!("{}:{}", file_name(&linked.file), linked.line))
            .collect();
        notes.push(format!("linked: {}", places.join(", ")));
    }
    notes
}
