//! Runs the changelog splitter over every file of a folder and prints, per file, how many
//! versions it split, the newest and oldest, and whether the versions order: the check that
//! real changelogs split into their versions (`scripts/changelog-split DIR`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;
use upkeep_notes::{Order, order_of, split_changelog};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: changelog_split DIR");
        return ExitCode::from(2);
    };
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.is_file())
            .collect(),
        Err(error) => {
            eprintln!("{}: {error}", dir.display());
            return ExitCode::from(2);
        }
    };
    paths.sort();
    println!("| file | bytes | versions | newest | oldest | order |");
    println!("|---|---:|---:|---|---|---|");
    let mut failed = 0;
    for path in &paths {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                println!("| {name} | | | | | unreadable: {error} |");
                failed += 1;
                continue;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let releases = split_changelog(&text, None);
        let order = match order_of(&releases) {
            _ if releases.is_empty() => "no version headings",
            _ if releases.len() == 1 => "one version",
            Order::Descending => "newest first",
            Order::Ascending => "oldest first",
            Order::ByLine => "by release line",
            Order::Unordered => "NOT ORDERED",
        };
        let newest = releases.iter().map(|r| &r.version).max();
        let oldest = releases.iter().map(|r| &r.version).min();
        let show =
            |v: Option<&upkeep_pins::Version>| v.map_or("-".to_owned(), |v| v.as_str().to_owned());
        if releases.len() < 2 || order_of(&releases) == Order::Unordered {
            failed += 1;
        }
        println!(
            "| {name} | {} | {} | {} | {} | {order} |",
            bytes.len(),
            releases.len(),
            show(newest),
            show(oldest)
        );
    }
    println!(
        "\n{} files, {failed} not split into ordered versions",
        paths.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
