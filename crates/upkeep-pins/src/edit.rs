//! Edits as values, checked before anything is written, and written all-or-nothing.

use crate::error::ScanError;
use crate::hcl::unescape;
use crate::location::LineIndex;
use crate::scan::{FileType, Reach, ScanOptions, read_text, scan_with, syntax_error};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One replacement: the bytes `span` of `file`, which read `old`, become `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// File relative to the root of the plan.
    pub file: PathBuf,
    /// Byte range of the token in the file.
    pub span: Range<usize>,
    /// The token as the scan read it (escape sequences decoded).
    pub old: String,
    /// The replacement, written verbatim.
    pub new: String,
}

/// Why a set of edits was refused. Nothing has been written when one is returned.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EditError {
    /// Two edits touch overlapping bytes of one file.
    #[error("{file}: edits at bytes {first:?} and {second:?} overlap", file = .file.display())]
    Overlap {
        /// The file.
        file: PathBuf,
        /// The first edit's span.
        first: Range<usize>,
        /// The second edit's span.
        second: Range<usize>,
    },
    /// The file no longer holds the expected token (it changed since the scan).
    #[error("{file}:{line}:{column}: expected `{expected}` but found `{found}`; the file changed since it was scanned", file = .file.display())]
    Stale {
        /// The file.
        file: PathBuf,
        /// 1-based line of the span.
        line: usize,
        /// 1-based column of the span.
        column: usize,
        /// What the edit expected.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// The file changed on disk between planning and writing.
    #[error("{file}: changed on disk since the edit was planned; nothing written", file = .file.display())]
    Changed {
        /// The file.
        file: PathBuf,
    },
    /// The edited file would not parse.
    #[error("the edit would break the file: {0}")]
    WouldBreak(ScanError),
    /// After the edit, the new version does not read back where it was written.
    #[error("{file}:{line}:{column}: after the edit the version does not read back as `{expected}`", file = .file.display())]
    NoReadBack {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The version that was written.
        expected: String,
    },
    /// The tree could not be scanned again to check the edit.
    #[error("re-reading the tree to check the edit failed: {0}")]
    Rescan(std::io::Error),
    /// A file could not be read.
    #[error(transparent)]
    Read(#[from] ScanError),
    /// Writing failed; `restored` says whether every file already replaced was put back.
    #[error("writing {file} failed: {source}{}", if *.restored { "" } else { " (some files could not be restored)" }, file = .file.display())]
    Write {
        /// The file being written.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
        /// Whether the files already replaced were restored to their original content.
        restored: bool,
    },
}

/// The new content of one file.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// File relative to the root.
    pub file: PathBuf,
    /// Content before the edits.
    pub before: String,
    /// Content after the edits.
    pub after: String,
}

/// A checked set of edits under one root: every span holds what the scan read, no two overlap,
/// every edited file still parses and reads back the new versions.
#[derive(Debug, Clone)]
pub struct EditPlan {
    root: PathBuf,
    changes: Vec<FileChange>,
    /// Each distinct edit: file, start of the new token after all edits, new token.
    placed: Vec<(PathBuf, usize, String)>,
}

impl EditPlan {
    /// Checks `edits` against the files under `root` and computes the new contents.
    pub fn new(root: &Path, edits: &[Edit]) -> Result<EditPlan, EditError> {
        let mut by_file: BTreeMap<&Path, Vec<&Edit>> = BTreeMap::new();
        for edit in edits {
            by_file.entry(&edit.file).or_default().push(edit);
        }
        let mut changes = Vec::with_capacity(by_file.len());
        let mut placed = Vec::with_capacity(edits.len());
        for (file, mut edits) in by_file {
            edits.sort_by_key(|edit| (edit.span.start, edit.span.end));
            edits.dedup_by(|a, b| a.span == b.span && a.new == b.new);
            for pair in edits.windows(2) {
                if pair[1].span.start < pair[0].span.end {
                    let (first, second) = (pair[0].span.clone(), pair[1].span.clone());
                    return Err(EditError::Overlap {
                        file: file.to_path_buf(),
                        first,
                        second,
                    });
                }
            }
            let before = read_text(root, file, u64::MAX)?;
            let after = apply(file, &before, &edits)?;
            let mut delta = 0isize;
            for edit in &edits {
                placed.push((
                    file.to_path_buf(),
                    edit.span.start.saturating_add_signed(delta),
                    edit.new.clone(),
                ));
                delta += edit.new.len() as isize - edit.span.len() as isize;
            }
            changes.push(FileChange {
                file: file.to_path_buf(),
                before,
                after,
            });
        }
        let plan = EditPlan {
            root: root.to_path_buf(),
            changes,
            placed,
        };
        plan.check_read_back()?;
        Ok(plan)
    }

    /// The files and their contents before and after.
    pub fn changes(&self) -> &[FileChange] {
        &self.changes
    }

    /// Re-parses every edited file and re-resolves the module folders holding them with the
    /// new contents, to confirm each new version reads back at its place.
    fn check_read_back(&self) -> Result<(), EditError> {
        for change in &self.changes {
            if let Some(Err(error)) =
                FileType::of(&change.file).map(|t| t.parse(&change.after, true))
            {
                return Err(EditError::WouldBreak(syntax_error(
                    &change.file,
                    &change.after,
                    &error,
                )));
            }
        }
        let overlay: HashMap<PathBuf, String> = self
            .changes
            .iter()
            .map(|c| (c.file.clone(), c.after.clone()))
            .collect();
        let strict = ScanOptions {
            strict: true,
            ..ScanOptions::default()
        };
        let report =
            scan_with(&self.root, &strict, &overlay, Reach::Overlaid).map_err(EditError::Rescan)?;
        for (file, start, new) in &self.placed {
            let found = report.pins.iter().any(|pin| {
                &pin.file == file
                    && pin.span.start == *start
                    && pin.version.as_deref() == Some(new.as_str())
            });
            if !found {
                let text = self
                    .changes
                    .iter()
                    .find(|c| &c.file == file)
                    .map_or("", |c| c.after.as_str());
                let (line, column) = LineIndex::new(text).line_col(*start);
                return Err(EditError::NoReadBack {
                    file: file.clone(),
                    line,
                    column,
                    expected: new.clone(),
                });
            }
        }
        Ok(())
    }

    /// Writes every changed file, or none: all new contents go to temporary files in the
    /// same folders first, each is checked to be unchanged on disk, then all are renamed into
    /// place. If a rename fails, the files already replaced are restored.
    pub fn apply(&self) -> Result<(), EditError> {
        let mut staged = Vec::with_capacity(self.changes.len());
        for change in &self.changes {
            let path = self.root.join(&change.file);
            let temp = stage(&path, &change.after).map_err(|source| EditError::Write {
                file: change.file.clone(),
                source,
                restored: true,
            })?;
            staged.push((change, path, temp));
        }
        for (change, _, _) in &staged {
            let current = read_text(&self.root, &change.file, u64::MAX)?;
            if current != change.before {
                return Err(EditError::Changed {
                    file: change.file.clone(),
                });
            }
        }
        let mut done: Vec<(&FileChange, PathBuf)> = Vec::with_capacity(staged.len());
        for (change, path, temp) in staged {
            if let Err(error) = temp.persist(&path) {
                let restored = done
                    .iter()
                    .all(|(change, path)| std::fs::write(path, &change.before).is_ok());
                return Err(EditError::Write {
                    file: change.file.clone(),
                    source: error.error,
                    restored,
                });
            }
            done.push((change, path));
        }
        Ok(())
    }
}

/// Applies sorted, non-overlapping edits to `text`, last first so earlier spans stay valid.
fn apply(file: &Path, text: &str, edits: &[&Edit]) -> Result<String, EditError> {
    let mut out = text.to_owned();
    for edit in edits.iter().rev() {
        let found = text.get(edit.span.clone()).unwrap_or_default();
        if found != edit.old && unescape(found).as_deref() != Some(edit.old.as_str()) {
            let (line, column) = LineIndex::new(text).line_col(edit.span.start);
            return Err(EditError::Stale {
                file: file.to_path_buf(),
                line,
                column,
                expected: edit.old.clone(),
                found: found.to_owned(),
            });
        }
        out.replace_range(edit.span.clone(), &edit.new);
    }
    Ok(out)
}

/// Writes `content` to a temporary file beside `path`, with `path`'s permissions, synced.
fn stage(path: &Path, content: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".upkeep-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(content.as_bytes())?;
    temp.as_file()
        .set_permissions(std::fs::metadata(path)?.permissions())?;
    temp.as_file().sync_all()?;
    Ok(temp)
}
