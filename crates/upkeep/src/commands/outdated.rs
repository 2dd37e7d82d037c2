//! `upkeep outdated`: which pins (images, charts, providers, modules) have newer versions
//! where they are published.

use crate::args::{Emit, Format, OutdatedArgs};
use crate::commands::scan::scan_paths;
use crate::config::Config;
use crate::detect::http_retry::{Cause, HttpError};
use crate::detect::lookup::{Lookup, Sources, cut_to_prefix};
use crate::output;
use crate::policy::skip::skip_reason;
use anyhow::Context;
use indicatif::ProgressBar;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use upkeep_pins::{CandidatePolicy, Pin, PinKind, Updates, canonical_image_name, choose_updates};

/// One outdated pin, as printed with `--format json`.
#[derive(Serialize)]
struct Update<'a> {
    #[serde(flatten)]
    pin: &'a Pin,
    current: &'a str,
    patch: Option<String>,
    minor: Option<String>,
    major: Option<String>,
    /// The registry host or chart repository asked.
    source: String,
}

/// A pin whose versions could not be listed.
#[derive(Serialize)]
struct LookupError<'a> {
    /// The pin's kind and name, and where it is.
    kind: &'static str,
    name: &'a str,
    file: &'a Path,
    line: usize,
    #[serde(flatten)]
    failure: &'a Failure,
}

/// Why a listing failed: the host asked, the cause in a word, and the whole message.
#[derive(Debug, Clone, Serialize)]
struct Failure {
    host: String,
    cause: Cause,
    message: String,
}

impl Failure {
    /// From the error of a listing; `source` names the host when the error does not.
    fn of(error: &anyhow::Error, source: &str) -> Failure {
        let http = error.chain().find_map(|e| e.downcast_ref::<HttpError>());
        Failure {
            host: http.map_or_else(|| source.to_owned(), |http| http.host.clone()),
            cause: http.map_or(Cause::Other, |http| http.cause),
            message: format!("{error:#}"),
        }
    }
}

/// The JSON report.
#[derive(Serialize)]
struct Report<'a> {
    updates: Vec<Update<'a>>,
    /// `name: reason` of pins skipped by the config.
    skipped: Vec<String>,
    /// Pins whose versions could not be listed: a registry down, offline, refused.
    errors: Vec<LookupError<'a>>,
    /// `kind name: why` of pins that cannot be checked (ranges, charts without a repository).
    unchecked: Vec<String>,
}

/// Queries the registries and prints what is outdated.
pub fn run(args: &OutdatedArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let start = args.paths.first().map_or(Path::new("."), PathBuf::as_path);
    let (config, _) = Config::load(config_file, start)?;
    let report = scan_paths(&args.paths, &config.scan_options())?;
    let kinds: Vec<PinKind> = args.kind.iter().copied().map(PinKind::from).collect();
    let pins: Vec<&Pin> = report
        .pins
        .iter()
        .filter(|pin| kinds.is_empty() || kinds.contains(&pin.kind))
        .collect();
    let mut skipped = Vec::new();
    let mut unchecked = Vec::new();
    let mut checked = Vec::new();
    for pin in pins {
        if let Some(why) = skip_reason(&config, &pin.canonical) {
            skipped.push(format!("{}: {why}", pin.name));
            continue;
        }
        match Lookup::of(pin) {
            Ok(lookup) => checked.push((pin, lookup)),
            Err(why) => unchecked.push(format!("{} {}: {why}", pin.kind.as_str(), pin.name)),
        }
    }
    skipped.dedup();
    unchecked.dedup();
    let sources = Sources::new(&config, args.no_cache)?;
    let wanted: BTreeSet<Lookup> = checked.iter().map(|(_, lookup)| lookup.clone()).collect();
    let versions = fetch_all(&sources, wanted, args.concurrency.max(1));
    let mut updates = Vec::new();
    let mut errors = Vec::new();
    for (pin, lookup) in checked {
        let list = match &versions[&lookup] {
            Ok(list) => list,
            Err(failure) => {
                errors.push(LookupError {
                    kind: pin.kind.as_str(),
                    name: &pin.name,
                    file: &pin.file,
                    line: pin.line,
                    failure,
                });
                continue;
            }
        };
        let current = pin.version.as_deref().unwrap_or_default();
        let list = if lookup.compares_by_prefix() {
            cut_to_prefix(current, list.clone())
        } else {
            list.clone()
        };
        let Updates {
            patch,
            minor,
            major,
        } = choose_updates(current, &list, &policy(&config, &pin.canonical)?);
        if patch.is_some() || minor.is_some() || major.is_some() {
            updates.push(Update {
                pin,
                current,
                patch,
                minor,
                major,
                source: lookup.source().to_owned(),
            });
        }
    }
    errors.dedup_by(|a, b| a.name == b.name && a.file == b.file && a.line == b.line);
    let outdated = !updates.is_empty();
    let failed = errors.len();
    match (args.emit, args.format) {
        (Some(Emit::Diun), _) => {
            output::print(&diun_lines(&updates))?;
            // Standard output feeds `bump --diun`; what could not be checked goes beside it.
            if failed > 0 {
                let mut text = error_lines(&errors);
                text.push_str(&format!(
                    "{failed} lookup(s) failed: those pins were not checked\n"
                ));
                let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
            }
        }
        (None, Format::Json) => output::print_json(&Report {
            updates,
            skipped,
            errors,
            unchecked,
        })?,
        (None, Format::Human) => output::print(&table(&updates, &skipped, &errors, &unchecked))?,
    }
    // A failed lookup is an error whatever else was found: "nothing outdated" would be a guess.
    Ok(match (failed, outdated) {
        (1.., _) => ExitCode::from(2),
        (0, true) => ExitCode::from(1),
        (0, false) => ExitCode::SUCCESS,
    })
}

/// `error: NAME: MESSAGE` per failed lookup, except that the pins of a host that could not
/// be reached (DNS, refused, TLS, no connection, a connect timeout: one failure, reused for
/// the host's other lookups, so the same message) share one line: `error: MESSAGE; N pins
/// not checked`. Lines keep the order of their first pin.
fn error_lines(errors: &[LookupError<'_>]) -> String {
    let unreachable = |failure: &Failure| {
        matches!(
            failure.cause,
            Cause::Dns | Cause::Refused | Cause::Tls | Cause::Connect | Cause::Timeout
        )
    };
    let mut lines: Vec<(&LookupError<'_>, usize)> = Vec::new();
    for error in errors {
        let same_host = lines.iter_mut().find(|(first, _)| {
            unreachable(error.failure)
                && first.failure.host == error.failure.host
                && first.failure.message == error.failure.message
        });
        match same_host {
            Some((_, count)) => *count += 1,
            None => lines.push((error, 1)),
        }
    }
    lines
        .into_iter()
        .map(|(error, count)| match count {
            1 => format!("error: {}: {}\n", error.name, error.failure.message),
            n => format!("error: {}; {n} pins not checked\n", error.failure.message),
        })
        .collect()
}

/// The candidate policy of one pin: its `allowed_versions` and `ignore_versions`.
fn policy(config: &Config, canonical: &str) -> anyhow::Result<CandidatePolicy> {
    let find = |key: &String| canonical_image_name(key) == canonical || key == canonical;
    let allowed =
        match config.allowed_versions.iter().find(|(key, _)| find(key)) {
            Some((key, range)) => Some(semver::VersionReq::parse(range).with_context(|| {
                format!("allowed_versions.{key}: `{range}` is not a semver range")
            })?),
            None => None,
        };
    let ignore = config
        .ignore_versions
        .iter()
        .find(|(key, _)| find(key))
        .map(|(_, patterns)| patterns.clone())
        .unwrap_or_default();
    Ok(CandidatePolicy { allowed, ignore })
}

type Fetched = BTreeMap<Lookup, Result<Vec<String>, Failure>>;

/// Lists the versions of every lookup, `concurrency` requests at a time, with a progress bar
/// on a terminal.
fn fetch_all(sources: &Sources, lookups: BTreeSet<Lookup>, concurrency: usize) -> Fetched {
    let bar = ProgressBar::new(lookups.len() as u64);
    if lookups.len() < 10 || !crate::output::terminal::progress_allowed() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let queue = Mutex::new(lookups.into_iter());
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some(lookup) = next else { break };
                    let versions = sources
                        .versions(&lookup)
                        .map_err(|e| Failure::of(&e, lookup.source()));
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(lookup, versions);
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn newest(update: &Update<'_>) -> Option<String> {
    update
        .major
        .clone()
        .or_else(|| update.minor.clone())
        .or_else(|| update.patch.clone())
}

/// One DIUN webhook object per line, for image pins only: DIUN speaks of images, and a
/// chart, provider or module written as one would be misread downstream.
fn diun_lines(updates: &[Update<'_>]) -> String {
    let mut out = String::new();
    let images = updates.iter().filter(|update| {
        matches!(
            update.pin.kind,
            PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage
        )
    });
    for update in images {
        let Some(tag) = newest(update) else { continue };
        let object = serde_json::json!({
            "diun_version": concat!("upkeep-", env!("CARGO_PKG_VERSION")),
            "status": "update",
            "provider": "upkeep",
            "image": format!("{}:{tag}", update.pin.canonical),
            "metadata": {
                "current": update.current,
                "file": update.pin.file,
                "line": update.pin.line,
            },
        });
        out.push_str(&object.to_string());
        out.push('\n');
    }
    out
}

fn table(
    updates: &[Update<'_>],
    skipped: &[String],
    errors: &[LookupError<'_>],
    unchecked: &[String],
) -> String {
    use std::fmt::Write;
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let mut rows = vec![[
        "PIN".to_owned(),
        "CURRENT".to_owned(),
        "PATCH".to_owned(),
        "MINOR".to_owned(),
        "MAJOR".to_owned(),
        "SOURCE".to_owned(),
        "WHERE".to_owned(),
    ]];
    for update in updates {
        let pin = update.pin;
        rows.push([
            pin.name.clone(),
            update.current.to_owned(),
            dash(&update.patch),
            dash(&update.minor),
            dash(&update.major),
            update.source.clone(),
            format!("{}:{}", pin.file.display(), pin.line),
        ]);
    }
    let mut widths = [0; 7];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if !updates.is_empty() {
        for row in &rows {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(widths) {
                let _ = write!(line, "{cell:width$}  ");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    for line in skipped {
        let _ = writeln!(out, "skipped: {line}");
    }
    for line in unchecked {
        let _ = writeln!(out, "unchecked: {line}");
    }
    out.push_str(&error_lines(errors));
    match errors.len() {
        0 => {
            let _ = writeln!(out, "{} outdated pin(s)", updates.len());
        }
        failed => {
            let _ = writeln!(
                out,
                "{} outdated pin(s); {failed} lookup(s) failed: those pins were not checked",
                updates.len()
            );
        }
    }
    out
}
