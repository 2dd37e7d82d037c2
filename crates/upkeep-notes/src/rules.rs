//! The rules engine: each rule has an id, a condition and a verdict; evaluating a rule set on
//! an upgrade gives the rules that fired, each with its evidence.

use crate::release::Release;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use thiserror::Error;
use upkeep_pins::{UpdateKind, Version};

/// The breaking-change keywords used when the config gives none.
pub const DEFAULT_KEYWORDS: [&str; 10] = [
    "breaking",
    "migration required",
    "schema change",
    "database migration",
    "manual intervention",
    "action required",
    "removed",
    "deprecated",
    "renamed",
    "incompatible",
];

/// A heading that announces breaking changes, removals or upgrade steps (`## ⚠️ Breaking
/// Changes`, `### Removed`, `**Upgrade notes**`).
pub(crate) static BREAKING_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t]{0,3}(?:#{1,6}[ \t]*|\*\*|__)[^A-Za-z0-9\n]*(?:breaking(?:[ \t]+changes?)?|removed|removals?|upgrade[ \t]+(?:notes?|guide|instructions)|upgrading|migration(?:[ \t]+(?:notes?|guide))?|action[ \t]+required|deprecations?|deprecated)(?-u:\b)",
    )
    .expect("valid regex")
});

/// Security signals: advisories and the word itself.
static SECURITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3}|security)(?-u:\b)")
        .expect("valid regex")
});

/// What a rule decides when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The upgrade needs care: CAUTION.
    Caution,
    /// Worth a line in the review; does not change the risk.
    Note,
}

/// When a rule fires.
#[derive(Debug, Clone)]
pub enum Condition {
    /// The major number goes up.
    MajorBump,
    /// Below 1.0, the minor number goes up (0.x minors break by convention).
    ZeroMinorBump,
    /// Always, for the names the rule applies to (`version_jump_always_step`).
    Always,
    /// One of these words or phrases appears in a release's notes: whole words, any case,
    /// not negated (`non-breaking` does not count).
    Keywords(Regex),
    /// A heading announces breaking changes, removals or upgrade notes.
    BreakingHeading,
    /// A regular expression matches a line of a release's notes.
    Pattern(Regex),
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// A stable id, named in reports and commit messages (`major-bump`).
    pub id: String,
    /// When it fires.
    pub condition: Condition,
    /// What it decides.
    pub verdict: Verdict,
    /// Name patterns (`*` wildcards) of the images or charts it applies to; empty means all.
    pub applies_to: Vec<String>,
}

/// A rule written in the config, compiled by [`RuleSpec::compile`].
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The rule's id.
    pub id: String,
    /// Words or phrases that make it fire.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// A regular expression that makes it fire when it matches a line.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Name patterns it applies to; empty means all.
    #[serde(default)]
    pub images: Vec<String>,
    /// Its verdict; CAUTION by default.
    #[serde(default = "caution")]
    pub verdict: Verdict,
}

fn caution() -> Verdict {
    Verdict::Caution
}

/// A config rule that cannot be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RuleError {
    /// Neither keywords nor a pattern.
    #[error("rule `{0}` has neither `keywords` nor `pattern`, so it can never fire")]
    Empty(String),
    /// The pattern is not a valid regular expression.
    #[error("rule `{id}`: invalid pattern: {source}")]
    Pattern {
        /// The rule's id.
        id: String,
        /// The regex error.
        source: regex::Error,
    },
    /// The keywords make a regex too large to compile (tens of thousands of them).
    #[error("rule `{id}`: the keywords do not compile: {source}")]
    Keywords {
        /// The rule's id (`breaking-keyword` for `breaking_change_keywords`).
        id: String,
        /// The regex error.
        source: regex::Error,
    },
}

impl RuleSpec {
    /// Compiles the rule.
    pub fn compile(&self) -> Result<Rule, RuleError> {
        let condition = match (&self.pattern, self.keywords.is_empty()) {
            (Some(pattern), _) => Condition::Pattern(
                RegexBuilder::new(pattern)
                    .multi_line(true)
                    .build()
                    .map_err(|source| RuleError::Pattern {
                        id: self.id.clone(),
                        source,
                    })?,
            ),
            (None, false) => {
                Condition::Keywords(keyword_regex(&self.keywords).map_err(|source| {
                    RuleError::Keywords {
                        id: self.id.clone(),
                        source,
                    }
                })?)
            }
            (None, true) => return Err(RuleError::Empty(self.id.clone())),
        };
        Ok(Rule {
            id: self.id.clone(),
            condition,
            verdict: self.verdict,
            applies_to: self.images.clone(),
        })
    }
}

/// One piece of evidence: where a rule saw what made it fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The release whose notes hold it, or `None` for a rule on the versions themselves.
    pub release: Option<String>,
    /// The 1-based line in that release's notes.
    pub line: Option<usize>,
    /// The line, trimmed (or what the versions say).
    pub text: String,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's id.
    pub rule: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// Everything that made it fire, in release order.
    pub evidence: Vec<Evidence>,
}

/// A line worth showing the reviewer that decides nothing (a security fix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Highlight {
    /// The kind of highlight (`security`).
    pub kind: &'static str,
    /// The release.
    pub release: String,
    /// The 1-based line in its notes.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
}

/// What an upgrade is, for the rules.
#[derive(Debug, Clone, Copy)]
pub struct Upgrade<'a> {
    /// The names of what is upgraded, any of which a rule's `applies_to` may match
    /// (`ghcr.io/immich-app/immich-server`, `immich-app/immich-server`).
    pub names: &'a [String],
    /// The stacks (folders) holding its pins (`immich`): `version_jump_always_step` names
    /// stacks as well as images.
    pub stacks: &'a [String],
    /// The version now.
    pub old: &'a Version,
    /// The version wanted.
    pub new: &'a Version,
    /// The releases crossed, in version order.
    pub releases: &'a [Release],
}

/// The rules that fired on an upgrade, and its highlights.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// Findings in rule order.
    pub findings: Vec<Finding>,
    /// Security lines and the like.
    pub highlights: Vec<Highlight>,
}

/// An ordered set of rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The built-in rules: `major-bump`, `zero-minor-bump`, `breaking-keyword` (with these
    /// keywords, or [`DEFAULT_KEYWORDS`] when empty), `breaking-heading`, and `always-step`
    /// for the names in `always_step`. Fails only when the keywords are too many to compile.
    pub fn builtin(keywords: &[String], always_step: &[String]) -> Result<RuleSet, RuleError> {
        let keywords = if keywords.is_empty() {
            DEFAULT_KEYWORDS.iter().map(|k| (*k).to_owned()).collect()
        } else {
            keywords.to_vec()
        };
        let rule = |id: &str, condition| Rule {
            id: id.to_owned(),
            condition,
            verdict: Verdict::Caution,
            applies_to: Vec::new(),
        };
        let mut rules = vec![
            rule("major-bump", Condition::MajorBump),
            rule("zero-minor-bump", Condition::ZeroMinorBump),
            rule(
                "breaking-keyword",
                Condition::Keywords(keyword_regex(&keywords).map_err(|source| {
                    RuleError::Keywords {
                        id: "breaking-keyword".to_owned(),
                        source,
                    }
                })?),
            ),
            rule("breaking-heading", Condition::BreakingHeading),
        ];
        if !always_step.is_empty() {
            rules.push(Rule {
                applies_to: always_step.to_vec(),
                ..rule("always-step", Condition::Always)
            });
        }
        Ok(RuleSet { rules })
    }

    /// Adds rules after the existing ones.
    pub fn extend(&mut self, rules: impl IntoIterator<Item = Rule>) {
        self.rules.extend(rules);
    }

    /// The rules, in evaluation order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Evaluates every rule that applies to the upgrade.
    pub fn evaluate(&self, upgrade: &Upgrade<'_>) -> Evaluation {
        let findings = self
            .rules
            .iter()
            .filter(|rule| applies(rule, upgrade))
            .filter_map(|rule| {
                let evidence = evidence(rule, upgrade);
                (!evidence.is_empty()).then(|| Finding {
                    rule: rule.id.clone(),
                    verdict: rule.verdict,
                    evidence,
                })
            })
            .collect();
        let highlights = upgrade
            .releases
            .iter()
            .flat_map(|release| {
                matching_lines(&SECURITY, &release.notes).map(|(line, text)| Highlight {
                    kind: "security",
                    release: release.version.as_str().to_owned(),
                    line,
                    text,
                })
            })
            .collect();
        Evaluation {
            findings,
            highlights,
        }
    }
}

fn applies(rule: &Rule, upgrade: &Upgrade<'_>) -> bool {
    rule.applies_to.is_empty() || matched_entry(rule, upgrade).is_some()
}

/// The first `(pattern, name)` of the rule's list that matches the upgrade: its names, and
/// for `always-step` (whose config entries name stacks too) its stacks.
fn matched_entry<'a>(rule: &'a Rule, upgrade: &Upgrade<'a>) -> Option<(&'a str, &'a str)> {
    let stacks: &[String] = if matches!(rule.condition, Condition::Always) {
        upgrade.stacks
    } else {
        &[]
    };
    rule.applies_to.iter().find_map(|pattern| {
        upgrade
            .names
            .iter()
            .chain(stacks)
            .find(|name| glob_matches(pattern, name))
            .map(|name| (pattern.as_str(), name.as_str()))
    })
}

/// What makes `rule` fire on `upgrade`; empty when it does not.
fn evidence(rule: &Rule, upgrade: &Upgrade<'_>) -> Vec<Evidence> {
    let (old, new) = (upgrade.old, upgrade.new);
    let on_versions = |text: String| {
        vec![Evidence {
            release: Some(new.as_str().to_owned()),
            line: None,
            text,
        }]
    };
    match &rule.condition {
        Condition::MajorBump if new.change_from(old) == UpdateKind::Major && new > old => {
            on_versions(format!("major version {} -> {}", old.major(), new.major()))
        }
        Condition::ZeroMinorBump
            if old.major() == 0 && new.major() == 0 && new.minor() > old.minor() =>
        {
            on_versions(format!(
                "0.x minor version {} -> {}",
                old.minor(),
                new.minor()
            ))
        }
        Condition::Always => on_versions(match matched_entry(rule, upgrade) {
            Some((pattern, name)) if pattern == name => {
                format!("`{name}` is listed in version_jump_always_step")
            }
            Some((pattern, name)) => {
                format!("`{name}` matches `{pattern}` in version_jump_always_step")
            }
            None => "listed in version_jump_always_step".to_owned(),
        }),
        Condition::Keywords(regex) => in_notes(upgrade.releases, |notes| {
            let empty = empty_statements(notes);
            regex
                .find_iter(notes)
                .filter(|found| !negated(&notes[..found.start()]))
                .map(|found| found.start())
                .filter(|&at| !empty.contains(&line_start(notes, at)))
                .collect()
        }),
        Condition::BreakingHeading => in_notes(upgrade.releases, |notes| {
            let empty = empty_statements(notes);
            BREAKING_HEADING
                .find_iter(notes)
                .map(|m| m.start())
                .filter(|&at| !empty.contains(&line_start(notes, at)))
                .collect()
        }),
        Condition::Pattern(regex) => in_notes(upgrade.releases, |notes| {
            regex.find_iter(notes).map(|m| m.start()).collect()
        }),
        _ => Vec::new(),
    }
}

/// The byte offset where the line holding `at` starts.
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Lines that say nothing happened, after bullets and emphasis: `*Nothing*`, `- None`,
/// `N/A`, `No deprecations in this release.`
fn says_nothing(line: &str) -> bool {
    let text = line
        .trim()
        .trim_start_matches(['-', '*', '+', '•'])
        .trim()
        .trim_matches(['*', '_', '`', '.', ' ', '(', ')'])
        .to_ascii_lowercase();
    matches!(
        text.as_str(),
        "nothing" | "none" | "n/a" | "na" | "-" | "—" | "nothing yet" | "none yet" | "no changes"
    ) || (text.starts_with("no ") && text.ends_with(" in this release"))
}

/// A line that starts bold (`**Breaking changes:** none`): the bold label and what follows.
fn bold_start(line: &str) -> Option<(&str, &str)> {
    let inner = line.trim().strip_prefix("**")?;
    let (label, after) = inner.split_once("**")?;
    Some((label, after.trim()))
}

/// Whether a line is a heading (Markdown `#`, or a line bold as a whole) and its label.
fn heading_text(line: &str) -> Option<&str> {
    if let Some(rest) = line.trim().strip_prefix('#') {
        return Some(rest.trim_start_matches('#').trim());
    }
    let (label, after) = bold_start(line)?;
    matches!(after, "" | ":").then_some(label)
}

/// What a heading line answers itself after a colon (`### Breaking changes: none`,
/// `**Removed:** nothing`).
fn heading_answer(line: &str) -> Option<&str> {
    if let Some(text) = heading_text(line) {
        return text.split_once(':').map(|(_, answer)| answer);
    }
    let (label, after) = bold_start(line)?;
    label
        .trim_end()
        .ends_with(':')
        .then_some(after)
        .or_else(|| after.strip_prefix(':'))
}

/// Whether a heading is a section label (`Removed`, `⚠️ Breaking changes`,
/// `Deprecations:`) rather than a sentence that is itself the news.
fn is_label(text: &str) -> bool {
    let label = text.split(':').next().unwrap_or(text);
    label
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .count()
        <= 3
}

/// The start offsets of lines that announce something but say nothing: a heading whose
/// section (up to the next heading) holds only blank lines and "nothing" lines, a heading
/// that says `none` itself (`**Breaking changes:** none`), and the "nothing" lines. A
/// project that writes every Keep-a-Changelog section in every release (`### Removed` +
/// `* *Nothing*`) announces no removal.
fn empty_statements(notes: &str) -> Vec<usize> {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in notes.split('\n') {
        lines.push((offset, line));
        offset += line.len() + 1;
    }
    let mut empty = Vec::new();
    for (index, &(start, line)) in lines.iter().enumerate() {
        // `**Breaking changes:** none`: the heading answers itself.
        if says_nothing(line) || heading_answer(line).is_some_and(says_nothing) {
            empty.push(start);
            continue;
        }
        let Some(text) = heading_text(line) else {
            continue;
        };
        if !is_label(text) {
            continue;
        }
        let section = lines[index + 1..]
            .iter()
            .take_while(|(_, next)| heading_text(next).is_none());
        if section
            .clone()
            .all(|(_, next)| next.trim().is_empty() || says_nothing(next))
        {
            empty.push(start);
        }
    }
    empty
}

/// Evidence at the lines of every release's notes where `find` reports a match (one per line).
fn in_notes(releases: &[Release], find: impl Fn(&str) -> Vec<usize>) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    for release in releases {
        let mut last_line = 0;
        for (line, text) in lines_at(&release.notes, find(&release.notes)) {
            if line != last_line {
                evidence.push(Evidence {
                    release: Some(release.version.as_str().to_owned()),
                    line: Some(line),
                    text,
                });
                last_line = line;
            }
        }
    }
    evidence
}

/// The 1-based line number and trimmed text of each byte offset (offsets ascending).
fn lines_at(text: &str, offsets: Vec<usize>) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut line = 1;
    let mut counted = 0;
    offsets.into_iter().map(move |offset| {
        line += memchr_count(&text.as_bytes()[counted..offset]);
        counted = offset;
        let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        (line, clip(text[start..end].trim()))
    })
}

fn memchr_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Lines of `notes` where `regex` matches, one entry per line.
fn matching_lines<'a>(
    regex: &'a Regex,
    notes: &'a str,
) -> impl Iterator<Item = (usize, String)> + 'a {
    let offsets: Vec<usize> = regex.find_iter(notes).map(|m| m.start()).collect();
    let mut last = 0;
    lines_at(notes, offsets).filter(move |(line, _)| {
        let new = *line != last;
        last = *line;
        new
    })
}

/// A line as evidence: at most 200 characters.
fn clip(line: &str) -> String {
    match line.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

/// Whether the text just before a keyword negates it (`non-breaking`, `no breaking changes`,
/// `not deprecated`).
fn negated(before: &str) -> bool {
    let tail: String = before
        .chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<String>()
        .to_ascii_lowercase();
    ["non-", "non ", "no ", "not ", "without "]
        .iter()
        .any(|negation| tail.ends_with(negation))
}

/// A case-insensitive regex matching any of the keywords as whole words, spaces inside a
/// keyword matching any run of blanks; an error when they are too many to compile.
fn keyword_regex(keywords: &[String]) -> Result<Regex, regex::Error> {
    let alternatives: Vec<String> = keywords
        .iter()
        .map(|keyword| {
            keyword
                .split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+")
        })
        .filter(|alternative| !alternative.is_empty())
        .collect();
    if alternatives.is_empty() {
        return Regex::new(r"[^\s\S]");
    }
    // ASCII word boundaries keep the regex on its fast automaton whatever the notes contain.
    RegexBuilder::new(&format!(r"(?-u:\b)(?:{})(?-u:\b)", alternatives.join("|")))
        .case_insensitive(true)
        .build()
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}
