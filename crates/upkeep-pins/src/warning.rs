//! What a scan notices without stopping: an object key Terraform reads twice, a file whose
//! content is not what its name says.

use crate::pin::Place;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Something a scan noticed that does not make it fail (`scan --strict` fails on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanWarning {
    /// The file, relative to the scanned root.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// What was noticed.
    pub kind: WarningKind,
    /// A one-line explanation.
    pub message: String,
    /// Another place the warning is about (the key that wins over a repeated one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<Place>,
}

impl fmt::Display for ScanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// The kinds of [`ScanWarning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningKind {
    /// An object constructor sets a key twice; Terraform keeps the last value and ignores
    /// this one. The file is read as Terraform reads it.
    DuplicateKey,
    /// The file's content is not what its extension says (a `.yaml` holding a shell template,
    /// Prometheus text under `.yml`); it is left out of the scan.
    UnexpectedContent,
}

impl WarningKind {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::DuplicateKey => "duplicate_key",
            WarningKind::UnexpectedContent => "unexpected_content",
        }
    }
}
