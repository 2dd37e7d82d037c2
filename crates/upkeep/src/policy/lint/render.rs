//! Lint output: for people (with the source line and a caret), JSON, and SARIF 2.1.0.

use super::baseline::Key;
use super::location::{RepoRoot, folder_uri, uri_path};
use super::{Finding, RULES, Sources};
use crate::config::Severity;
use serde::Serialize;
use serde_json::{Value, json};
use serde_sarif::sarif;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// `file:line:col: severity[rule]: message`, the source line, a caret under the column and
/// the fix; then a summary line.
pub fn human(findings: &[Finding], sources: &mut Sources) -> String {
    let mut out = String::new();
    for finding in findings {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}]: {}",
            finding.file.display(),
            finding.line,
            finding.column,
            severity_word(finding.severity),
            finding.rule,
            finding.message
        );
        if let Some(text) = sources.line(&finding.file, finding.line) {
            let number = finding.line.to_string();
            let pad = " ".repeat(number.len());
            let indent: String = text
                .chars()
                .take(finding.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{number} | {text}");
            let _ = writeln!(out, "{pad} | {indent}{}", "^".repeat(finding.width));
        }
        let _ = writeln!(out, "  = help: {}", finding.help);
    }
    let counts = Counts::of(findings);
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} note(s)",
        counts.errors, counts.warnings, counts.notes
    );
    out
}

/// Findings per severity.
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Note findings.
    pub notes: usize,
}

impl Counts {
    /// Counts the findings.
    pub fn of(findings: &[Finding]) -> Counts {
        let mut counts = Counts::default();
        for finding in findings {
            match finding.severity {
                Severity::Error => counts.errors += 1,
                Severity::Warning => counts.warnings += 1,
                Severity::Note => counts.notes += 1,
            }
        }
        counts
    }
}

/// The JSON shape: `{"findings": [...], "summary": {...}}`.
pub fn json(findings: &[Finding]) -> Value {
    json!({ "findings": findings, "summary": Counts::of(findings) })
}

/// A SARIF 2.1.0 log with one run, as GitHub code scanning and other dashboards read it:
/// every rule in the driver (with its full description and help), every finding a result
/// whose location is relative to the repository root (`%SRCROOT%`, given in
/// `originalUriBaseIds`), with a fingerprint that survives line moves.
pub fn sarif(findings: &[Finding], root: &RepoRoot) -> sarif::Sarif {
    let rules: Vec<sarif::ReportingDescriptor> = RULES
        .iter()
        .map(|rule| {
            let silence = format!(
                "Silence one finding with `# upkeep:ignore {} <reason>` on its line or the line above; switch the rule off or change its severity in `.upkeep.yaml` (`lint.disable`, `lint.severity`).",
                rule.id
            );
            sarif::ReportingDescriptor::builder()
                .id(rule.id)
                .name(rule.id)
                .short_description(message_string(rule.summary, None))
                .full_description(message_string(
                    &format!(
                        "{} Default severity: {}.",
                        rule.summary,
                        severity_word(rule.severity)
                    ),
                    None,
                ))
                .help(message_string(
                    &format!("{} {silence}", rule.help),
                    Some(&format!("{}\n\n{silence}", rule.help)),
                ))
                .default_configuration(
                    sarif::ReportingConfiguration::builder()
                        .level(json!(severity_word(rule.severity)))
                        .build(),
                )
                .build()
        })
        .collect();
    let mut seen: BTreeMap<Key, usize> = BTreeMap::new();
    let results: Vec<sarif::Result> = findings
        .iter()
        .map(|finding| {
            let index = RULES
                .iter()
                .position(|rule| rule.id == finding.rule)
                .unwrap_or(0);
            let key = Key::of(finding, root);
            let occurrence = seen.entry(key.clone()).or_default();
            *occurrence += 1;
            let fingerprint = Sha256::digest(
                format!("{}\0{}\0{}\0{occurrence}", key.rule, key.file, key.pin).as_bytes(),
            );
            let artifact = match root.relative(&finding.file) {
                Some(relative) => sarif::ArtifactLocation::builder()
                    .uri(uri_path(&relative))
                    .uri_base_id(SRCROOT)
                    .build(),
                None => sarif::ArtifactLocation::builder()
                    .uri(format!(
                        "file://{}",
                        uri_path(&root.absolute(&finding.file).to_string_lossy())
                    ))
                    .build(),
            };
            sarif::Result::builder()
                .rule_id(finding.rule)
                .rule_index(index as i64)
                .level(sarif_level(finding.severity))
                .message(
                    sarif::Message::builder()
                        .text(format!("{} ({})", finding.message, finding.help))
                        .build(),
                )
                .locations(vec![
                    sarif::Location::builder()
                        .physical_location(
                            sarif::PhysicalLocation::builder()
                                .artifact_location(artifact)
                                .region(
                                    sarif::Region::builder()
                                        .start_line(finding.line as i64)
                                        .start_column(finding.column as i64)
                                        .end_column((finding.column + finding.width) as i64)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                ])
                .partial_fingerprints(BTreeMap::from([(
                    "upkeepFinding/v1".to_owned(),
                    hex(&fingerprint),
                )]))
                .build()
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("upkeep")
        .version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .original_uri_base_ids(BTreeMap::from([(
            SRCROOT.to_owned(),
            sarif::ArtifactLocation::builder()
                .uri(folder_uri(&root.root))
                .build(),
        )]))
        .column_kind(json!("unicodeCodePoints"))
        .results(results)
        .build();
    sarif::Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// The base id results' locations are relative to: the repository root.
const SRCROOT: &str = "%SRCROOT%";

/// The schema a SARIF log names.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn message_string(text: &str, markdown: Option<&str>) -> sarif::MultiformatMessageString {
    match markdown {
        Some(markdown) => sarif::MultiformatMessageString::builder()
            .text(text)
            .markdown(markdown)
            .build(),
        None => sarif::MultiformatMessageString::builder()
            .text(text)
            .build(),
    }
}

fn sarif_level(severity: Severity) -> sarif::ResultLevel {
    match severity {
        Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
        Severity::Note => sarif::ResultLevel::Note,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
