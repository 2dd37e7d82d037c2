//! Problems found while reading files: each names the file and a 1-based line and column.

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// A file upkeep could not read or parse. The file is left out of the scan and never edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanError {
    /// The file, relative to the scanned root.
    pub file: PathBuf,
    /// 1-based line of the problem (1 for problems with the whole file).
    pub line: usize,
    /// 1-based column of the problem (1 for problems with the whole file).
    pub column: usize,
    /// What went wrong.
    pub kind: ErrorKind,
    /// A one-line explanation, e.g. the parser's message.
    pub message: String,
}

impl ScanError {
    /// A problem with the whole file, located at its start.
    pub(crate) fn whole_file(file: PathBuf, kind: ErrorKind, message: String) -> Self {
        ScanError {
            file,
            line: 1,
            column: 1,
            kind,
            message,
        }
    }
}

impl fmt::Display for ScanError {
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

impl std::error::Error for ScanError {}

/// The kinds of [`ScanError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// HCL or YAML syntax the parser rejects.
    Syntax,
    /// The file is not valid UTF-8; the location is the first invalid byte.
    NotUtf8,
    /// The file is encrypted (git-crypt): its values are unknown until it is decrypted.
    Encrypted,
    /// The file is larger than the configured limit.
    TooLarge,
    /// A symbolic link that resolves outside the scanned root; it is not followed.
    OutsideRoot,
    /// A fifo, device, socket, directory or kernel file where a file was expected; not read.
    SpecialFile,
    /// The file could not be read.
    Io,
}
