//! Joins the files of one module directory and turns their sites into pins.
//!
//! A value is resolved to text made of *segments*, each remembering where its bytes came from
//! (a literal of some file, reached through some reference) or that it could not be evaluated.
//! The version part of a resolved reference is then traced back to the one literal that holds
//! it: that literal is the token `set` rewrites.

mod resolved;
mod scope;
mod sites;

use crate::location::LineIndex;
use crate::pin::{Pin, PinKind, PinStatus, PinUser, Place};
use crate::site::{FileFacts, Value};
use resolved::{Resolved, Token};
use scope::Scope;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How many references a value may pass through; deeper chains are reported as unresolved
/// (this also stops reference cycles).
const MAX_REFERENCE_DEPTH: usize = 16;

/// A parsed file of a unit.
pub(crate) struct SourceFile {
    /// Path relative to the scanned root.
    pub rel: PathBuf,
    /// The file's text.
    pub text: String,
    /// What the parser found.
    pub facts: FileFacts,
}

/// Resolves every site of the files of one module directory (with the values files that
/// belong to it) into pins. `dir` is the module directory relative to the scanned root.
pub(crate) fn resolve(dir: &Path, files: &[SourceFile]) -> Vec<Pin> {
    let scope = Scope::new(dir, files);
    let mut pins: Vec<Pin> = Vec::new();
    let mut by_token: HashMap<(usize, usize), usize> = HashMap::new();
    let mut lines: HashMap<usize, LineIndex<'_>> = HashMap::new();
    for (index, file) in files.iter().enumerate() {
        let template = scope.templates.get(&file.rel).copied();
        for site in &file.facts.sites {
            let Some(found) = scope.pin(index, site, template) else {
                continue;
            };
            let mut place = |file: usize, offset: usize| {
                let lines = lines
                    .entry(file)
                    .or_insert_with(|| LineIndex::new(&files[file].text));
                lines.line_col(offset)
            };
            let (user_line, user_column) = place(index, site.value.span.start);
            let user = PinUser {
                file: file.rel.clone(),
                line: user_line,
                column: user_column,
                reference: unquote(&site.value.source).to_owned(),
                resolved: found.resolved,
                canonical: found.canonical.clone(),
                ignored_by_terraform: site.ignored,
            };
            if let Some(&existing) = found
                .token
                .as_ref()
                .and_then(|t| by_token.get(&(t.file, t.span.start)))
            {
                let pin: &mut Pin = &mut pins[existing];
                pin.ignored_by_terraform |= user.ignored_by_terraform;
                pin.users.push(user);
                continue;
            }
            let (file_index, span, via, shadows) = match &found.token {
                Some(token) => (
                    token.file,
                    token.span.clone(),
                    token.via.clone(),
                    token.shadows.clone(),
                ),
                None => (index, site.value.span.clone(), None, Vec::new()),
            };
            let (line, column) = place(file_index, span.start);
            let shadows = shadows
                .into_iter()
                .map(|(file, offset)| {
                    let (line, column) = place(file, offset);
                    Place {
                        file: files[file].rel.clone(),
                        line,
                        column,
                    }
                })
                .collect();
            if found.token.is_some() {
                by_token.insert((file_index, span.start), pins.len());
            }
            pins.push(Pin {
                kind: found.kind,
                name: found.name,
                canonical: found.canonical,
                version: found.version,
                status: found.status,
                file: files[file_index].rel.clone(),
                line,
                column,
                span,
                via: via.map(|r| r.display()),
                users: vec![user],
                digest: found.digest,
                constraint: found.constraint,
                expression: found.expression,
                repository: found.repository,
                ignored_by_terraform: site.ignored,
                shadows,
            });
        }
    }
    pins
}

/// A site turned into pin material, before locations become lines and columns.
struct Found {
    kind: PinKind,
    name: String,
    canonical: String,
    version: Option<String>,
    status: PinStatus,
    token: Option<Token>,
    resolved: String,
    digest: Option<String>,
    constraint: Option<String>,
    expression: Option<String>,
    repository: Option<String>,
}

impl Found {
    fn new(kind: PinKind, name: String, canonical: String, resolved: &Resolved<'_>) -> Found {
        Found {
            kind,
            name,
            canonical,
            version: None,
            status: PinStatus::Unresolved,
            token: None,
            resolved: resolved.text.clone(),
            digest: None,
            constraint: None,
            expression: None,
            repository: None,
        }
    }

    /// Fills in the version from the resolved `range`, or marks the pin unresolved.
    fn with_version(
        mut self,
        resolved: &Resolved<'_>,
        range: Range<usize>,
        source: &Value,
    ) -> Found {
        match resolved.token(range) {
            Some(token) => {
                self.status = if token.text.eq_ignore_ascii_case("latest") {
                    PinStatus::Latest
                } else {
                    PinStatus::Pinned
                };
                self.version = Some(token.text.clone());
                self.token = Some(token);
            }
            None => {
                self.status = PinStatus::Unresolved;
                self.expression = Some(unquote(&source.source).to_owned());
            }
        }
        self
    }
}

/// `"text"` → `text`: the source of a string expression without its quotes.
fn unquote(source: &str) -> &str {
    source
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(source)
}

/// Lexically normalizes `a/./b/../c` to `a/c`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
