//! Moves every settable pin of a repository to a temporary version and back, as `upkeep set`
//! does (the plan for one name, with `--from`, checked and written all or nothing), and checks
//! that every file comes back byte-identical. Used by `scripts/corpus-check` on real
//! repositories.
//!
//! ```text
//! cargo run --release -p upkeep-pins --example round_trip -- REPO
//! ```
//!
//! Prints one line per name and version that did not come back, then a summary; exits 1 when
//! one did not, 2 when the repository cannot be read. It writes to the files of REPO (and puts
//! them back): run it on a copy.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use upkeep_pins::{Edit, EditPlan, ScanOptions, SetRequest, plan_set, scan};

/// The version every pin moves to and back from.
const TEMPORARY: &str = "99.99.99-upkeep-round-trip";

fn main() -> ExitCode {
    let Some(root) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: round_trip REPO");
        return ExitCode::from(2);
    };
    match run(&root) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("round_trip: {error}");
            ExitCode::from(2)
        }
    }
}

/// Moves each name and version there and back; whether every file came back.
fn run(root: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    let strict = ScanOptions {
        strict: true,
        ..ScanOptions::default()
    };
    let report = scan(root, &strict)?;
    let moves: BTreeSet<(upkeep_pins::PinKind, String, String)> = report
        .pins
        .iter()
        .filter(|pin| pin.is_settable())
        .filter_map(|pin| Some((pin.kind, pin.name.clone(), pin.version.clone()?)))
        .collect();
    let (mut moved, mut failed, mut refused) = (0usize, 0usize, 0usize);
    for (kind, name, version) in &moves {
        let request = SetRequest {
            name,
            version: TEMPORARY,
            from: Some(version),
            kind: Some(*kind),
        };
        let plan = match plan_set(root, &report, &request) {
            Ok(plan) if !plan.changes.is_empty() => plan,
            Ok(_) => continue,
            Err(error) => {
                // A name that matches across kinds or a broken file in the way: what `set`
                // refuses is not a failed round trip.
                println!("refused {} {name} {version}: {error}", kind.as_str());
                refused += 1;
                continue;
            }
        };
        let forward = plan.edits();
        let originals = contents(root, &forward)?;
        let outcome = there_and_back(root, &forward);
        let expected = plain(&originals, &forward);
        let back_home = contents(root, &forward)? == expected;
        if outcome.is_err() || expected != originals {
            restore(root, &originals)?;
        }
        match outcome {
            Ok(()) if back_home => moved += 1,
            Ok(()) => {
                println!(
                    "CHANGED {} {name} {version}: files differ after the round trip",
                    kind.as_str()
                );
                failed += 1;
            }
            Err(error) => {
                println!("FAILED {} {name} {version}: {error}", kind.as_str());
                failed += 1;
            }
        }
    }
    println!(
        "round trip: {moved} name/version pair(s) moved and back byte-identical (escaped tokens in plain form, as set writes them), {failed} failed, {refused} refused by set"
    );
    Ok(failed == 0)
}

/// Applies `forward`, then the edits that put each token back. A token written with escape
/// sequences (`v0.107.\u0035\u0035`) comes back in plain form, as `set` writes it.
fn there_and_back(root: &Path, forward: &[Edit]) -> Result<(), Box<dyn std::error::Error>> {
    EditPlan::new(root, forward)?.apply()?;
    let mut back = Vec::with_capacity(forward.len());
    for (file, edits) in by_file(forward) {
        let mut shift = 0isize;
        for edit in edits {
            let start = edit.span.start.saturating_add_signed(shift);
            back.push(Edit {
                file: file.to_path_buf(),
                span: start..start + edit.new.len(),
                old: edit.new.clone(),
                new: edit.old.clone(),
            });
            shift += edit.new.len() as isize - edit.span.len() as isize;
        }
    }
    EditPlan::new(root, &back)?.apply()?;
    Ok(())
}

/// The edits of each file, by position, once each.
fn by_file(edits: &[Edit]) -> BTreeMap<&Path, Vec<&Edit>> {
    let mut files: BTreeMap<&Path, Vec<&Edit>> = BTreeMap::new();
    for edit in edits {
        files.entry(&edit.file).or_default().push(edit);
    }
    for edits in files.values_mut() {
        edits.sort_by_key(|edit| edit.span.start);
        edits.dedup_by(|a, b| a.span == b.span);
    }
    files
}

/// What the files should hold after a round trip: the originals, with each escaped token in
/// plain form.
fn plain(originals: &BTreeMap<PathBuf, Vec<u8>>, edits: &[Edit]) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut expected = originals.clone();
    for (file, edits) in by_file(edits) {
        let Some(bytes) = expected.get_mut(file) else {
            continue;
        };
        for edit in edits.iter().rev() {
            if bytes[edit.span.clone()] != *edit.old.as_bytes() {
                bytes.splice(edit.span.clone(), edit.old.bytes());
            }
        }
    }
    expected
}

/// The current content of every file `edits` touch.
fn contents(
    root: &Path,
    edits: &[Edit],
) -> Result<BTreeMap<PathBuf, Vec<u8>>, Box<dyn std::error::Error>> {
    let mut files = BTreeMap::new();
    for edit in edits {
        if !files.contains_key(&edit.file) {
            files.insert(edit.file.clone(), std::fs::read(root.join(&edit.file))?);
        }
    }
    Ok(files)
}

/// Writes the saved contents back after a failed round trip.
fn restore(
    root: &Path,
    originals: &BTreeMap<PathBuf, Vec<u8>>,
) -> Result<(), Box<dyn std::error::Error>> {
    for (file, bytes) in originals {
        std::fs::write(root.join(file), bytes)?;
    }
    Ok(())
}
