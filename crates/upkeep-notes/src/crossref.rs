//! Config cross-reference: identifiers named in breaking lines (`ENV_VAR_NAMES`,
//! `` `config.keys` ``, `--flags`), looked up in the stack's own files, so the reviewer knows
//! which breaking changes touch this deployment.

use crate::release::Release;
use crate::rules::{BREAKING_HEADING, Evaluation, Verdict};
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

static IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?-u:\b)(?P<env>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?-u:\b)",
        r"|`(?P<key>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+)`",
        r"|(?:^|[\s`(])(?P<flag>--[a-z][a-z0-9-]*[a-z0-9])",
    ))
    .expect("valid regex")
});

/// A line of a release's notes that announces a breaking change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakingLine {
    /// The release.
    pub release: String,
    /// The 1-based line in its notes.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
}

/// An identifier from a breaking line, and where the stack's files use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossReference {
    /// The identifier (`DB_URL`, `server.port`, `--legacy-auth`).
    pub identifier: String,
    /// The release whose notes name it.
    pub release: String,
    /// The 1-based line in those notes.
    pub line: usize,
    /// `file:line` of each stack file that uses it (the first use in each); empty when the
    /// stack does not use it ("not in our config").
    pub used_at: Vec<String>,
}

/// The breaking lines of the crossed releases: the lines where a CAUTION rule fired, and the
/// lines of every section under a breaking-changes heading (up to the next heading).
pub fn breaking_lines(releases: &[Release], evaluation: &Evaluation) -> Vec<BreakingLine> {
    let mut lines = Vec::new();
    for release in releases {
        let version = release.version.as_str();
        let fired = evaluation
            .findings
            .iter()
            .filter(|finding| finding.verdict == Verdict::Caution)
            .flat_map(|finding| &finding.evidence)
            .filter(|evidence| evidence.release.as_deref() == Some(version))
            .filter_map(|evidence| evidence.line);
        let mut numbers: Vec<usize> = fired.collect();
        let mut in_section = false;
        for (index, text) in release.notes.lines().enumerate() {
            if text.trim_start().starts_with('#') || BREAKING_HEADING.is_match(text) {
                in_section = BREAKING_HEADING.is_match(text);
            } else if in_section && !text.trim().is_empty() {
                numbers.push(index + 1);
            }
        }
        numbers.sort_unstable();
        numbers.dedup();
        let notes: Vec<&str> = release.notes.lines().collect();
        lines.extend(numbers.into_iter().filter_map(|line| {
            Some(BreakingLine {
                release: version.to_owned(),
                line,
                text: notes.get(line - 1)?.trim().to_owned(),
            })
        }));
    }
    lines
}

/// Looks up every identifier of the breaking lines in `files` (`(path, content)`), once per
/// identifier (the first line naming it wins).
pub fn cross_reference(lines: &[BreakingLine], files: &[(String, String)]) -> Vec<CrossReference> {
    let mut references: Vec<CrossReference> = Vec::new();
    for line in lines {
        for captures in IDENTIFIER.captures_iter(&line.text) {
            let Some(found) = ["env", "key", "flag"]
                .iter()
                .find_map(|group| captures.name(group))
            else {
                continue;
            };
            let identifier = found.as_str();
            if references.iter().any(|r| r.identifier == identifier) {
                continue;
            }
            let used_at = files
                .iter()
                .filter_map(|(path, content)| {
                    let at = content.find(identifier)?;
                    let line = content[..at].matches('\n').count() + 1;
                    Some(format!("{path}:{line}"))
                })
                .collect();
            references.push(CrossReference {
                identifier: identifier.to_owned(),
                release: line.release.clone(),
                line: line.line,
                used_at,
            });
        }
    }
    references
}
