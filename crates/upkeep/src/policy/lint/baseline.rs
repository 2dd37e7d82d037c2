//! A lint baseline: the findings a repository already had when it adopted a rule, so that
//! the pre-commit hook reports only new ones. A finding is known by its rule, its file
//! (relative to the repository root) and its pin, never by its line: editing a file above a
//! known finding does not make it new. Equal keys are counted, so a second `:latest` image
//! in the same file is new even though the first is known.

use super::Finding;
use super::location::RepoRoot;
use anyhow::bail;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// No baseline is larger than this (a finding is a few hundred bytes: 64 MiB is ~200,000).
const MAX_BASELINE_SIZE: u64 = 64 * 1024 * 1024;

/// The version of the file format.
const FORMAT: u32 = 1;

/// What identifies a finding across edits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    /// The rule's id.
    pub rule: String,
    /// The file, relative to the repository root, `/`-separated.
    pub file: String,
    /// The pin's canonical name; empty for a finding about the whole file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pin: String,
}

impl Key {
    /// The key of a finding.
    pub fn of(finding: &Finding, root: &RepoRoot) -> Key {
        Key {
            rule: finding.rule.to_owned(),
            file: root
                .relative(&finding.file)
                .unwrap_or_else(|| root.absolute(&finding.file).display().to_string()),
            pin: finding.pin.clone().unwrap_or_default(),
        }
    }
}

/// One line of the file: a key and how many findings have it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(flatten)]
    key: Key,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    count: usize,
}

fn one() -> usize {
    1
}

fn is_one(count: &usize) -> bool {
    *count == 1
}

/// The file as written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    upkeep_lint_baseline: u32,
    findings: Vec<Entry>,
}

/// Known findings, counted per key.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    counts: BTreeMap<Key, usize>,
}

/// What applying a baseline left.
#[derive(Debug)]
pub struct Applied {
    /// The findings not in the baseline.
    pub new: Vec<Finding>,
    /// Findings the baseline knew, and hid.
    pub known: usize,
    /// Baseline entries of the files linted that are no longer found (fixed, or moved to
    /// another file or pin).
    pub gone: usize,
}

impl Baseline {
    /// Today's findings.
    pub fn of(findings: &[Finding], root: &RepoRoot) -> Baseline {
        let mut counts = BTreeMap::new();
        for finding in findings {
            *counts.entry(Key::of(finding, root)).or_default() += 1;
        }
        Baseline { counts }
    }

    /// The number of findings recorded.
    pub fn len(&self) -> usize {
        self.counts.values().sum()
    }

    /// The file's text: sorted, one entry per key, stable across runs.
    pub fn to_json(&self) -> String {
        let file = File {
            upkeep_lint_baseline: FORMAT,
            findings: self
                .counts
                .iter()
                .map(|(key, count)| Entry {
                    key: key.clone(),
                    count: *count,
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a baseline file.
    pub fn read(path: &Path) -> anyhow::Result<Baseline> {
        // Read as a named file is: a fifo, a device or a kernel file is refused, and a
        // baseline larger than a config could reasonably be is not read whole.
        let bytes = upkeep_pins::read_named_file(path, MAX_BASELINE_SIZE).map_err(|error| {
            anyhow::anyhow!(
                "cannot read the baseline {}: {}",
                path.display(),
                error.message
            )
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("the baseline {} is not UTF-8 text", path.display()))?;
        let file: File = serde_json::from_str(&text).map_err(|error| {
            anyhow::anyhow!(
                "{}:{}:{}: not a lint baseline: {error}",
                path.display(),
                error.line(),
                error.column()
            )
        })?;
        if file.upkeep_lint_baseline != FORMAT {
            bail!(
                "{}: baseline format {} is not known (this upkeep writes {FORMAT})",
                path.display(),
                file.upkeep_lint_baseline
            );
        }
        let mut counts = BTreeMap::new();
        for entry in file.findings {
            *counts.entry(entry.key).or_default() += entry.count;
        }
        Ok(Baseline { counts })
    }

    /// Keeps the findings the baseline does not know. Of several findings with one key, the
    /// first (in report order) are the known ones. `scope` holds the paths linted (relative
    /// to the root; empty: the whole repository): only their entries can be gone, since
    /// pre-commit lints a few files and the others' entries were not looked for.
    pub fn apply(&self, findings: Vec<Finding>, root: &RepoRoot, scope: &[String]) -> Applied {
        let mut left = self.counts.clone();
        let mut new = Vec::new();
        let mut known = 0;
        for finding in findings {
            match left.get_mut(&Key::of(&finding, root)) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    known += 1;
                }
                _ => new.push(finding),
            }
        }
        let linted = |file: &str| {
            scope.iter().any(|path| {
                path.is_empty()
                    || file == path
                    || file
                        .strip_prefix(path.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        };
        Applied {
            new,
            known,
            gone: left
                .iter()
                .filter(|(key, _)| linted(&key.file))
                .map(|(_, count)| count)
                .sum(),
        }
    }
}
