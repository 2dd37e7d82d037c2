//! The review a reviewer reads: the plan report of `upkeep plan` and the draft commit message
//! of DESIGN.md.

use crate::plan::rollout::{IgnoredPlace, Rollout};
use serde::Serialize;
use std::fmt::Write;
use upkeep_notes::{
    CrossReference, Decision, Finding, Highlight, Release, Resolution, Risk, Verdict,
};
use upkeep_pins::Pin;

/// Everything `upkeep plan` found, as printed with `--format json`.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    /// The name asked for.
    pub name: String,
    /// The stack(s) holding the pins.
    pub stack: String,
    /// The version pinned now (the lowest, when pins differ).
    pub old: String,
    /// The version asked for.
    pub new: String,
    /// Whether `new` is older than a pin it moves (see `plan::downgrade`).
    pub downgrade: bool,
    /// SAFE, CAUTION or UNKNOWN.
    pub risk: Risk,
    /// The deciding rule, or why no rule decided.
    pub reason: String,
    /// The rules that fired, each with its evidence.
    pub rules: Vec<RuleOutput>,
    /// Security fixes and the like.
    pub highlights: Vec<Highlight>,
    /// The versions the notes cover (crossed by the upgrade).
    pub releases: Vec<String>,
    /// The versions the upgrade passes through, ending at `new`.
    pub steps: Vec<String>,
    /// The repository the notes come from, or `null`.
    pub source: Option<String>,
    /// How the source was found, and what was tried.
    pub resolution: Resolution,
    /// `releases`, the changelog file, `releases + CHANGELOG.md (versions read there)`, or
    /// `null` when no notes were found.
    pub notes_origin: Option<String>,
    /// Why no release notes cover the upgrade (no source, a changelog without recognisable
    /// version headings, nothing published), or `null` when some do.
    pub notes_missing: Option<String>,
    /// Identifiers of breaking lines, and whether this stack uses them.
    pub cross_references: Vec<CrossReference>,
    /// The pins that would move, as `scan` reports them.
    pub pins: Vec<Pin>,
    /// Whether Terraform rolls the new version out somewhere: `false` when a
    /// `lifecycle.ignore_changes` covers every place that moves (see `plan::rollout`).
    pub rolls_out: bool,
    /// The places that move but that Terraform will not roll out.
    pub ignored_by_terraform: Vec<IgnoredPlace>,
    /// Whether the stack's database is backed up first, in the commit's words.
    pub db_backup: String,
    /// Releases crossed whose notes mention database or schema migrations.
    pub migrations: Vec<String>,
    /// The draft commit message.
    pub commit_message: String,
    /// Why the edit would be refused (a file it depends on does not parse); absent when it
    /// would not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_refused: Option<String>,
    /// The move to `new`, planned on the same scan as `pins` (strict for the name, see
    /// `Config::scan_options_for_edit_of`), for the edit that carries it out.
    #[serde(skip)]
    pub set: upkeep_pins::SetPlan,
}

/// A rule that fired, for output.
#[derive(Debug, Serialize)]
pub struct RuleOutput {
    /// The rule's id.
    pub id: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// Where it fired.
    pub evidence: Vec<upkeep_notes::Evidence>,
}

impl From<&Finding> for RuleOutput {
    fn from(finding: &Finding) -> RuleOutput {
        RuleOutput {
            id: finding.rule.clone(),
            verdict: finding.verdict,
            evidence: finding.evidence.clone(),
        }
    }
}

/// What the commit message is made of.
pub struct MessageParts<'a> {
    /// The stack(s).
    pub stack: &'a str,
    /// Old and new versions.
    pub old: &'a str,
    /// The target.
    pub new: &'a str,
    /// Releases crossed.
    pub releases: &'a [Release],
    /// The notes' repository.
    pub source: Option<&'a str>,
    /// Why no release notes cover the upgrade, when none do.
    pub missing: Option<&'a str>,
    /// Highlights.
    pub highlights: &'a [Highlight],
    /// The decision.
    pub decision: &'a Decision,
    /// Rules that fired.
    pub findings: &'a [Finding],
    /// The DB backup line.
    pub db_backup: &'a str,
    /// Config changes applied with the upgrade.
    pub config_changes: &'a [String],
    /// Cross-references (those used by the stack are flagged).
    pub cross_references: &'a [CrossReference],
    /// Places that move but that Terraform will not roll out (flagged).
    pub ignored: &'a [IgnoredPlace],
}

/// The upgrade commit message of DESIGN.md.
pub fn commit_message(parts: &MessageParts<'_>) -> String {
    let mut message = format!(
        "upgrade: {} {} -> {}\n\n",
        parts.stack, parts.old, parts.new
    );
    let _ = writeln!(message, "Changelog summary: {}", summary(parts));
    let _ = writeln!(
        message,
        "Risk: {} ({})",
        parts.decision.risk, parts.decision.reason
    );
    let breaking = breaking_changes(parts.findings);
    list_line(&mut message, "Breaking changes", &breaking);
    let _ = writeln!(message, "DB backup: {}", parts.db_backup);
    list_line(&mut message, "Config changes applied", parts.config_changes);
    let ignored = parts.ignored.iter().map(IgnoredPlace::flag);
    let flagged: Vec<String> = ignored
        .chain(
            parts
                .cross_references
                .iter()
                .filter(|reference| !reference.used_at.is_empty())
                .map(|reference| {
                    format!(
                        "{} ({} notes line {}; used at {})",
                        reference.identifier,
                        reference.release,
                        reference.line,
                        reference.used_at.join(", ")
                    )
                }),
        )
        .collect();
    list_line(&mut message, "Flagged for manual review", &flagged);
    if parts.decision.steps.len() > 1 {
        let _ = writeln!(message, "Steps: {}", parts.decision.steps.join(" -> "));
    }
    message
}

/// `Label: none`, `Label: item`, or `Label:` with one `- item` line each.
fn list_line(message: &mut String, label: &str, items: &[String]) {
    match items {
        [] => {
            let _ = writeln!(message, "{label}: none");
        }
        [one] => {
            let _ = writeln!(message, "{label}: {one}");
        }
        many => {
            let _ = writeln!(message, "{label}:");
            for item in many {
                let _ = writeln!(message, "  - {item}");
            }
        }
    }
}

fn summary(parts: &MessageParts<'_>) -> String {
    let (Some(source), None) = (parts.source, parts.missing) else {
        return parts.missing.unwrap_or("no release notes found").to_owned();
    };
    let versions: Vec<&str> = parts.releases.iter().map(|r| r.version.as_str()).collect();
    let count = versions.len();
    let noun = if count == 1 { "release" } else { "releases" };
    let mut summary = format!("{count} {noun} from {source} ({})", versions.join(", "));
    let security: Vec<String> = parts
        .highlights
        .iter()
        .filter(|highlight| !highlight.text.starts_with('#'))
        .map(|highlight| format!("{}: {}", highlight.release, strip_bullet(&highlight.text)))
        .collect();
    if !security.is_empty() {
        let _ = write!(summary, "; security: {}", security.join("; "));
    }
    summary
}

/// The breaking lines of CAUTION rules that fired on notes, once each, as `release: line`.
fn breaking_changes(findings: &[Finding]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for finding in findings.iter().filter(|f| f.verdict == Verdict::Caution) {
        for evidence in finding.evidence.iter().filter(|e| e.line.is_some()) {
            let text = strip_bullet(&evidence.text);
            if text.starts_with('#') {
                continue;
            }
            let line = format!("{}: {text}", evidence.release.as_deref().unwrap_or("?"));
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    lines
}

fn strip_bullet(text: &str) -> &str {
    text.trim_start_matches(['-', '*', ' '])
}

/// The human form of a plan report.
pub fn render(report: &PlanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} -> {} ({})",
        report.name, report.old, report.new, report.stack
    );
    let _ = writeln!(out, "Risk: {} ({})", report.risk, report.reason);
    match &report.source {
        Some(source) => {
            let origin = report
                .notes_origin
                .as_deref()
                .or(report.notes_missing.as_deref())
                .unwrap_or("no notes found");
            let _ = writeln!(
                out,
                "Source: {source} ({}); notes: {origin}",
                report.resolution.how
            );
        }
        None => {
            let _ = writeln!(out, "Source: unknown ({})", report.resolution.how);
        }
    }
    for tried in &report.resolution.tried {
        let _ = writeln!(out, "  tried {tried}");
    }
    let releases = if report.releases.is_empty() {
        "none".to_owned()
    } else {
        report.releases.join(", ")
    };
    let _ = writeln!(out, "Releases crossed: {releases}");
    let _ = writeln!(out, "Steps: {}", report.steps.join(" -> "));
    if !report.rules.is_empty() {
        out.push_str("\nRules fired:\n");
        for rule in &report.rules {
            let verdict = match rule.verdict {
                Verdict::Caution => "CAUTION",
                Verdict::Note => "note",
            };
            let _ = writeln!(out, "  {} ({verdict})", rule.id);
            for evidence in &rule.evidence {
                let at = match (&evidence.release, evidence.line) {
                    (Some(release), Some(line)) => format!("{release} line {line}: "),
                    (Some(release), None) => format!("{release}: "),
                    _ => String::new(),
                };
                let _ = writeln!(out, "    {at}{}", evidence.text);
            }
        }
    }
    if !report.highlights.is_empty() {
        out.push_str("\nHighlights:\n");
        for highlight in &report.highlights {
            let _ = writeln!(
                out,
                "  {} {} line {}: {}",
                highlight.kind, highlight.release, highlight.line, highlight.text
            );
        }
    }
    if !report.cross_references.is_empty() {
        out.push_str("\nConfig cross-reference:\n");
        for reference in &report.cross_references {
            let status = if reference.used_at.is_empty() {
                "not in our config".to_owned()
            } else {
                format!(
                    "flagged for manual review, used at {}",
                    reference.used_at.join(", ")
                )
            };
            let _ = writeln!(
                out,
                "  {} ({} line {}): {status}",
                reference.identifier, reference.release, reference.line
            );
        }
    }
    if let Some(ignored) = Rollout::of(&report.pins).describe() {
        out.push('\n');
        out.push_str(&ignored);
    }
    if let Some(refused) = &report.edit_refused {
        let _ = writeln!(out, "\nThe edit is refused: {refused}");
    }
    out.push_str("\nPins:\n");
    for pin in &report.pins {
        let via = pin
            .via
            .as_deref()
            .map(|via| format!(" via {via}"))
            .unwrap_or_default();
        let users = if pin.users.len() > 1 {
            let references: Vec<&str> = pin.users.iter().map(|u| u.reference.as_str()).collect();
            format!("; moves {}", references.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {}:{}:{}: {} {} {}{via}{users}",
            pin.file.display(),
            pin.line,
            pin.column,
            pin.kind.as_str(),
            pin.name,
            pin.version.as_deref().unwrap_or("?")
        );
    }
    out.push_str("\nDraft commit message:\n");
    for line in report.commit_message.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}
