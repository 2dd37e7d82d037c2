//! Lint output: for people (with the source line and a caret), JSON, and SARIF 2.1.0.

use super::{Finding, RULES, Sources};
use crate::config::Severity;
use serde::Serialize;
use serde_json::{Value, json};
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

/// A SARIF 2.1.0 log with one run: every rule in the driver, every finding a result.
pub fn sarif(findings: &[Finding]) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": { "text": rule.summary },
                "help": { "text": rule.help },
                "defaultConfiguration": { "level": severity_word(rule.severity) },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|finding| {
            let index = RULES
                .iter()
                .position(|rule| rule.id == finding.rule)
                .unwrap_or(0);
            let uri = finding.file.to_string_lossy().replace('\\', "/");
            json!({
                "ruleId": finding.rule,
                "ruleIndex": index,
                "level": severity_word(finding.severity),
                "message": { "text": format!("{} ({})", finding.message, finding.help) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" },
                        "region": {
                            "startLine": finding.line,
                            "startColumn": finding.column,
                            "endColumn": finding.column + finding.width,
                        },
                    },
                }],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "upkeep",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://example.invalid/upkeep",
                    "rules": rules,
                },
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}
