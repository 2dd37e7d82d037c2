//! `upkeep outdated`: which image pins have newer versions in their registries.

use crate::args::{Emit, Format, OutdatedArgs};
use crate::commands::scan::scan_paths;
use crate::config::Config;
use crate::output;
use crate::policy::skip_reason;
use crate::registry::Registries;
use anyhow::Context;
use indicatif::ProgressBar;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use upkeep_pins::{
    CandidatePolicy, Pin, PinKind, PinStatus, ScanOptions, Updates, canonical_image_name,
    choose_updates,
};

/// One outdated pin, as printed with `--format json`.
#[derive(Serialize)]
struct Update<'a> {
    #[serde(flatten)]
    pin: &'a Pin,
    current: &'a str,
    patch: Option<String>,
    minor: Option<String>,
    major: Option<String>,
}

/// The JSON report.
#[derive(Serialize)]
struct Report<'a> {
    updates: Vec<Update<'a>>,
    /// `name: reason` of images skipped by the config.
    skipped: Vec<String>,
    /// `name: problem` of images whose registry could not answer.
    errors: Vec<String>,
    /// Pins of kinds not checked yet (charts, providers, modules).
    unchecked: Vec<String>,
}

/// Queries the registries and prints what is outdated.
pub fn run(args: &OutdatedArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let start = args.paths.first().map_or(Path::new("."), PathBuf::as_path);
    let (config, _) = Config::load(config_file, start)?;
    let report = scan_paths(&args.paths, &ScanOptions::default())?;
    let images = |pin: &&Pin| {
        matches!(
            pin.kind,
            PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage
        ) && pin.status == PinStatus::Pinned
    };
    let mut skipped = Vec::new();
    let mut wanted = BTreeSet::new();
    for pin in report.pins.iter().filter(images) {
        match skip_reason(&config, &pin.canonical) {
            Some(why) => skipped.push(format!("{}: {why}", pin.name)),
            None => {
                wanted.insert(pin.canonical.clone());
            }
        }
    }
    skipped.dedup();
    let tags = fetch_all(&config, wanted, args.concurrency.max(1))?;
    let mut updates = Vec::new();
    let mut errors = Vec::new();
    for pin in report.pins.iter().filter(images) {
        let Some(result) = tags.get(&pin.canonical) else {
            continue;
        };
        let list = match result {
            Ok(list) => list,
            Err(error) => {
                errors.push(format!("{}: {error}", pin.name));
                continue;
            }
        };
        let current = pin.version.as_deref().unwrap_or_default();
        let Updates {
            patch,
            minor,
            major,
        } = choose_updates(current, list, &policy(&config, &pin.canonical)?);
        if patch.is_some() || minor.is_some() || major.is_some() {
            updates.push(Update {
                pin,
                current,
                patch,
                minor,
                major,
            });
        }
    }
    errors.dedup();
    let unchecked: Vec<String> = report
        .pins
        .iter()
        .filter(|pin| {
            matches!(
                pin.kind,
                PinKind::HelmChart | PinKind::Provider | PinKind::Module
            )
        })
        .map(|pin| format!("{} {}", pin.kind.as_str(), pin.name))
        .collect();
    let outdated = !updates.is_empty();
    match (args.emit, args.format) {
        (Some(Emit::Diun), _) => output::print(&diun_lines(&updates))?,
        (None, Format::Json) => output::print_json(&Report {
            updates,
            skipped,
            errors,
            unchecked,
        })?,
        (None, Format::Human) => output::print(&table(&updates, &skipped, &errors))?,
    }
    Ok(if outdated {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The candidate policy of one image: its `allowed_versions` and `ignore_versions`.
fn policy(config: &Config, canonical: &str) -> anyhow::Result<CandidatePolicy> {
    let find = |key: &String| canonical_image_name(key) == canonical;
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

type Fetched = BTreeMap<String, Result<Vec<String>, String>>;

/// Lists the tags of every image, `concurrency` requests at a time, with a progress bar on
/// a terminal.
fn fetch_all(
    config: &Config,
    images: BTreeSet<String>,
    concurrency: usize,
) -> anyhow::Result<Fetched> {
    let registries = Registries::new(&config.registries)?;
    let bar = ProgressBar::new(images.len() as u64);
    if images.len() < 10 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let queue = Mutex::new(images.into_iter());
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some(image) = next else { break };
                    let tags = registries.tags(&image).map_err(|e| format!("{e:#}"));
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(image, tags);
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    Ok(results.into_inner().unwrap_or_else(|e| e.into_inner()))
}

fn newest(update: &Update<'_>) -> Option<String> {
    update
        .major
        .clone()
        .or_else(|| update.minor.clone())
        .or_else(|| update.patch.clone())
}

/// One DIUN webhook object per line.
fn diun_lines(updates: &[Update<'_>]) -> String {
    let mut out = String::new();
    for update in updates {
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

fn table(updates: &[Update<'_>], skipped: &[String], errors: &[String]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    for update in updates {
        let pin = update.pin;
        let _ = writeln!(
            out,
            "{}:{}  {}  {}  patch {}  minor {}  major {}",
            pin.file.display(),
            pin.line,
            pin.name,
            update.current,
            dash(&update.patch),
            dash(&update.minor),
            dash(&update.major)
        );
    }
    for line in skipped {
        let _ = writeln!(out, "skipped: {line}");
    }
    for line in errors {
        let _ = writeln!(out, "error: {line}");
    }
    let _ = writeln!(out, "{} outdated pin(s)", updates.len());
    out
}
