//! `upkeep lint`: the repository's policy on pins, as rules with ids, default severities and
//! messages that say how to fix what they find.

pub mod baseline;
pub mod location;
pub mod render;

use crate::config::{LintConfig, Severity};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use upkeep_pins::{
    DEFAULT_MAX_FILE_SIZE, Pin, PinKind, PinStatus, RepoFiles, ScanReport, WarningKind,
};

/// Tags that name a moving target rather than a release.
const MUTABLE_TAGS: [&str; 12] = [
    "main", "master", "stable", "edge", "nightly", "dev", "develop", "rolling", "release",
    "current", "canary", "unstable",
];

/// One lint rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Its id, as used in config and ignore comments.
    pub id: &'static str,
    /// Its severity unless the config says otherwise.
    pub severity: Severity,
    /// What it checks, in one line.
    pub summary: &'static str,
    /// How to fix what it finds.
    pub help: &'static str,
}

/// Every rule, in report order.
pub const RULES: [Rule; 10] = [
    Rule {
        id: "parse-error",
        severity: Severity::Error,
        summary: "A file does not parse; its pins cannot be read or edited.",
        help: "Fix the syntax error; `terraform fmt` or a YAML linter points at the same place.",
    },
    Rule {
        id: "unpinned-image",
        severity: Severity::Error,
        summary: "An image has neither a tag nor a digest.",
        help: "Pin a release tag (`name:1.2.3`) so every upgrade is a reviewed commit.",
    },
    Rule {
        id: "latest-tag",
        severity: Severity::Error,
        summary: "An image uses the moving `latest` tag.",
        help: "Pin the release `latest` points to today (`name:1.2.3`); upkeep will keep it current.",
    },
    Rule {
        id: "mutable-tag",
        severity: Severity::Warning,
        summary: "An image uses a branch-like tag (`main`, `stable`, `edge`, …) that moves.",
        help: "Pin a release tag; a moving tag changes what runs without a commit.",
    },
    Rule {
        id: "drifted-pin",
        severity: Severity::Warning,
        summary: "The same image, chart, provider or module is pinned at different versions in different stacks.",
        help: "Move the stacks to one version (`upkeep set NAME VERSION`), or ignore with the reason they differ.",
    },
    Rule {
        id: "ignored-by-terraform",
        severity: Severity::Warning,
        summary: "`lifecycle { ignore_changes }` covers the pin, so changing it in Terraform rolls nothing out.",
        help: "Remove the image from `ignore_changes`, or ignore this finding if another tool rolls it out.",
    },
    Rule {
        id: "digest-mismatch-risk",
        severity: Severity::Warning,
        summary: "A tag is pinned together with a digest; the digest goes stale when the tag is bumped.",
        help: "Drop the digest, or update it with every tag bump (`upkeep set` warns when it does not).",
    },
    Rule {
        id: "unresolved-version",
        severity: Severity::Warning,
        summary: "A version comes from an expression upkeep cannot evaluate, so it cannot be checked or bumped.",
        help: "Put the version in a variable default, a local or a literal.",
    },
    Rule {
        id: "duplicate-key",
        severity: Severity::Error,
        summary: "An object sets the same key twice; Terraform keeps the last value and silently ignores the first.",
        help: "Delete the entry that is ignored, or merge the two values into one entry.",
    },
    Rule {
        id: "unpinned-chart",
        severity: Severity::Error,
        summary: "A `helm_release` has no `version`, so every apply installs the newest chart.",
        help: "Pin the chart version installed today (`version = \"1.2.3\"`) so every upgrade is a reviewed commit.",
    },
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule's id.
    pub rule: &'static str,
    /// Its severity, after the config.
    pub severity: Severity,
    /// The file, as the scan reports it.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Characters to underline from the column.
    #[serde(skip)]
    pub width: usize,
    /// What is wrong here.
    pub message: String,
    /// How to fix it.
    pub help: &'static str,
    /// The pin it is about (its canonical name), if any: with the rule and the file, what
    /// identifies the finding when lines move (baselines, SARIF fingerprints).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// Checks a scan report: every enabled rule, then the ignore comments in the files (read
/// through `sources`).
pub fn check(report: &ScanReport, config: &LintConfig, sources: &mut Sources) -> Vec<Finding> {
    let mut findings = Vec::new();
    // An encrypted file (git-crypt, locked) cannot be checked: skipped, not a finding.
    let checkable = report
        .errors
        .iter()
        .filter(|error| error.kind != upkeep_pins::ErrorKind::Encrypted);
    for error in checkable {
        findings.push(finding(
            "parse-error",
            &error.file,
            error.line,
            error.column,
            1,
            error.message.clone(),
        ));
    }
    for warning in &report.warnings {
        if warning.kind == WarningKind::DuplicateKey {
            findings.push(finding(
                "duplicate-key",
                &warning.file,
                warning.line,
                warning.column,
                1,
                warning.message.clone(),
            ));
        }
    }
    for pin in &report.pins {
        findings.extend(pin_findings(pin));
    }
    findings.extend(drift(&report.pins));
    findings.retain(|finding| {
        !config.disable.iter().any(|id| id == finding.rule)
            && !sources.ignores(&finding.file, finding.line, finding.rule)
    });
    for finding in &mut findings {
        if let Some(severity) = config.severity.get(finding.rule) {
            finding.severity = *severity;
        }
    }
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule))
    });
    findings
}

fn finding(
    id: &'static str,
    file: &Path,
    line: usize,
    column: usize,
    width: usize,
    message: String,
) -> Finding {
    let rule = rule(id).expect("a known rule");
    Finding {
        rule: id,
        severity: rule.severity,
        file: file.to_owned(),
        line,
        column,
        width: width.max(1),
        message,
        help: rule.help,
        pin: None,
    }
}

/// The findings about one pin on its own.
fn pin_findings(pin: &Pin) -> Vec<Finding> {
    let width = pin.version.as_deref().map_or(1, |v| v.chars().count());
    let at = |id, message| Finding {
        pin: Some(pin.canonical.clone()),
        ..finding(id, &pin.file, pin.line, pin.column, width, message)
    };
    let mut found = Vec::new();
    let name = &pin.name;
    match pin.status {
        PinStatus::Untagged => found.push(at(
            "unpinned-image",
            format!("image `{name}` has no tag or digest"),
        )),
        PinStatus::Unpinned => found.push(at(
            "unpinned-chart",
            format!("chart `{name}` has no version: every apply installs the newest"),
        )),
        PinStatus::Latest => found.push(at(
            "latest-tag",
            format!("image `{name}` uses the moving tag `latest`"),
        )),
        PinStatus::Unresolved => found.push(at(
            "unresolved-version",
            format!(
                "the version comes from `{}`, which cannot be evaluated statically",
                shortened(pin.expression.as_deref().unwrap_or(name))
            ),
        )),
        PinStatus::Pinned if is_image(pin.kind) => {
            if let Some(tag) = pin.version.as_deref()
                && MUTABLE_TAGS.contains(&tag.to_ascii_lowercase().as_str())
            {
                found.push(at(
                    "mutable-tag",
                    format!("image `{name}` uses the moving tag `{tag}`"),
                ));
            }
            if pin.digest.is_some() {
                found.push(at(
                    "digest-mismatch-risk",
                    format!("image `{name}` pins a tag and a digest; bumping the tag leaves the digest stale"),
                ));
            }
        }
        _ => {}
    }
    if pin.ignored_by_terraform {
        found.push(at(
            "ignored-by-terraform",
            format!("`lifecycle.ignore_changes` covers `{name}`: Terraform will not roll out a new version"),
        ));
    }
    found
}

/// Longest expression quoted in a message, in characters.
const MAX_QUOTED: usize = 200;

/// An expression on one line, cut to [`MAX_QUOTED`] characters.
fn shortened(expression: &str) -> String {
    let line = expression.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_QUOTED {
        return line;
    }
    let cut: String = line.chars().take(MAX_QUOTED - 1).collect();
    format!("{cut}…")
}

fn is_image(kind: PinKind) -> bool {
    matches!(
        kind,
        PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage
    )
}

/// Other places named in a drift message, at most.
const DRIFT_EXAMPLES: usize = 3;

/// Pins of the same thing at different versions in different stacks: each is reported with
/// where the other versions are (the first few, and how many more). Linear in the number of
/// pins per thing: a repo with the same image in a thousand stacks stays fast.
fn drift(pins: &[Pin]) -> Vec<Finding> {
    /// One version of one thing: its pins with their stacks, and how many per stack.
    #[derive(Default)]
    struct Bucket<'a> {
        pins: Vec<(&'a Pin, PathBuf)>,
        per_stack: HashMap<PathBuf, usize>,
    }
    let mut groups: BTreeMap<(bool, &str), BTreeMap<String, Bucket>> = BTreeMap::new();
    for pin in pins.iter().filter(|pin| pin.status == PinStatus::Pinned) {
        let version = pin.version.as_deref().unwrap_or_default();
        let normalized = version
            .strip_prefix(['v', 'V'])
            .unwrap_or(version)
            .to_owned();
        let bucket = groups
            .entry((is_image(pin.kind), pin.canonical.as_str()))
            .or_default()
            .entry(normalized)
            .or_default();
        let stack = pin.stack();
        *bucket.per_stack.entry(stack.clone()).or_default() += 1;
        bucket.pins.push((pin, stack));
    }
    let mut findings = Vec::new();
    for versions in groups.values().filter(|versions| versions.len() > 1) {
        for (version, bucket) in versions {
            let others = || versions.iter().filter(move |(other, _)| *other != version);
            for (pin, stack) in &bucket.pins {
                let count: usize = others()
                    .map(|(_, other)| {
                        other.pins.len() - other.per_stack.get(stack).copied().unwrap_or(0)
                    })
                    .sum();
                if count == 0 {
                    continue;
                }
                let mut places: Vec<String> = others()
                    .flat_map(|(_, other)| &other.pins)
                    .filter(|(_, other_stack)| other_stack != stack)
                    .take(DRIFT_EXAMPLES)
                    .map(|(other, _)| {
                        let at = other.version.as_deref().unwrap_or("?");
                        format!("{at} in {}:{}", other.file.display(), other.line)
                    })
                    .collect();
                if count > DRIFT_EXAMPLES {
                    places.push(format!("{} more", count - DRIFT_EXAMPLES));
                }
                let written = pin.version.as_deref().unwrap_or_default();
                findings.push(Finding {
                    pin: Some(pin.canonical.clone()),
                    ..finding(
                        "drifted-pin",
                        &pin.file,
                        pin.line,
                        pin.column,
                        written.chars().count(),
                        format!(
                            "`{}` is pinned at {written} here but at {}",
                            pin.name,
                            places.join(", ")
                        ),
                    )
                });
            }
        }
    }
    findings
}

/// The files findings point into, each read once, split into lines only when a line is
/// asked for. A file is read only as the scan would read it (see [`RepoFiles`]): a link out of
/// the scanned folder, a fifo or an oversized file is never read, so never quoted.
pub struct Sources {
    base: PathBuf,
    /// The scanned folders, relative to `base`, longest first.
    roots: Vec<PathBuf>,
    repos: HashMap<PathBuf, Option<RepoFiles>>,
    files: HashMap<PathBuf, SourceFile>,
}

/// One file's text (none if it may not be read) and, once needed, where its lines start.
#[derive(Default)]
struct SourceFile {
    text: Option<String>,
    starts: Option<Vec<usize>>,
}

impl SourceFile {
    fn line(&mut self, line: usize) -> Option<&str> {
        let text = self.text.as_deref()?;
        let starts = self.starts.get_or_insert_with(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
                .collect()
        });
        let start = *starts.get(line.checked_sub(1)?)?;
        let end = starts.get(line).map_or(text.len(), |next| next - 1);
        let line = text.get(start..end)?;
        Some(line.trim_end_matches('\r').trim_start_matches('\u{feff}'))
    }
}

impl Sources {
    /// Files are named relative to `base` and read as scans of `roots` (folders relative to
    /// `base`; the empty path is `base` itself) read them.
    pub fn new(base: &Path, roots: &[PathBuf]) -> Sources {
        let mut roots = roots.to_vec();
        roots.sort_by_key(|root| std::cmp::Reverse(root.components().count()));
        Sources {
            base: base.to_owned(),
            roots,
            repos: HashMap::new(),
            files: HashMap::new(),
        }
    }

    fn file(&mut self, file: &Path) -> &mut SourceFile {
        let (base, roots, repos) = (&self.base, &self.roots, &mut self.repos);
        self.files.entry(file.to_owned()).or_insert_with(|| {
            let text = roots
                .iter()
                .find(|root| file.starts_with(root))
                .and_then(|root| {
                    let repo = repos
                        .entry(root.clone())
                        .or_insert_with(|| RepoFiles::new(&base.join(root)).ok())
                        .as_ref()?;
                    let rel = file.strip_prefix(root).ok()?;
                    repo.read(rel, DEFAULT_MAX_FILE_SIZE).ok()
                })
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
            SourceFile { text, starts: None }
        })
    }

    /// Line `line` (1-based) of `file`, if readable.
    pub fn line(&mut self, file: &Path, line: usize) -> Option<&str> {
        self.file(file).line(line)
    }

    /// Whether an `upkeep:ignore <rule>` comment on the line or the line above silences it.
    fn ignores(&mut self, file: &Path, line: usize, rule: &str) -> bool {
        let source = self.file(file);
        let text = source.text.as_deref().unwrap_or_default();
        if memchr::memmem::find(text.as_bytes(), b"upkeep:ignore").is_none() {
            return false;
        }
        [line, line.saturating_sub(1)]
            .into_iter()
            .filter(|&n| n > 0)
            .any(|n| {
                source
                    .line(n)
                    .is_some_and(|text| ignore_comment_names(text, rule))
            })
    }
}

/// Whether `text` has a comment `# upkeep:ignore <rule> …` (or `//`) naming `rule`.
fn ignore_comment_names(text: &str, rule: &str) -> bool {
    let Some(at) = text.find("upkeep:ignore") else {
        return false;
    };
    let before = text[..at].trim_end();
    let in_comment = before.ends_with('#') || before.ends_with("//");
    in_comment
        && text[at + "upkeep:ignore".len()..]
            .split_whitespace()
            .next()
            .is_some_and(|named| named.split(',').any(|id| id == rule))
}

#[cfg(test)]
mod tests {
    use super::ignore_comment_names;

    #[test]
    fn ignore_comments_name_their_rule() {
        assert!(ignore_comment_names(
            "  image = \"x:latest\" # upkeep:ignore latest-tag demo only",
            "latest-tag"
        ));
        assert!(ignore_comment_names(
            "# upkeep:ignore latest-tag,mutable-tag pinned by digest upstream",
            "mutable-tag"
        ));
        assert!(ignore_comment_names(
            "// upkeep:ignore drifted-pin canary",
            "drifted-pin"
        ));
        assert!(!ignore_comment_names(
            "# upkeep:ignore mutable-tag",
            "latest-tag"
        ));
        assert!(!ignore_comment_names(
            "image = \"upkeep:ignore latest-tag\"",
            "latest-tag"
        ));
    }
}
