//! Edits as values, checked before anything is written, and written all-or-nothing.

use crate::admit::RepoFiles;
use crate::error::ScanError;
use crate::hcl::unescape;
use crate::location::LineIndex;
use crate::scan::{FileType, Reach, ScanOptions, scan_with, syntax_error};
use crate::transaction::{Replacement, WriteError, write_all};
use std::collections::{BTreeMap, HashMap};
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
    /// The file has other hard links; replacing it would leave them with the old content.
    #[error("{file} has {links} hard links, which a rewrite would split into copies that drift apart; nothing written (make it one file, or a symbolic link)", file = .file.display())]
    HardLinks {
        /// The file.
        file: PathBuf,
        /// How many names it has.
        links: u64,
    },
    /// The file's owner cannot be given to the rewritten file by this user.
    #[error("{file} is owned by {uid}:{gid}, which this user cannot give to the rewritten file ({source}); nothing written (run as its owner, or change its owner)", file = .file.display())]
    Owner {
        /// The file.
        file: PathBuf,
        /// Its owner's user id.
        uid: u32,
        /// Its group id.
        gid: u32,
        /// Why the owner could not be set.
        source: std::io::Error,
    },
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
    /// File relative to the root: where the edited file is, every symbolic link resolved (an
    /// edit made through a link changes the file it leads to).
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
    files: RepoFiles,
    changes: Vec<FileChange>,
    /// Where each changed file is: an absolute path without links.
    targets: Vec<PathBuf>,
    /// Each distinct edit: file, start of the new token after all edits, new token.
    placed: Vec<(PathBuf, usize, String)>,
}

impl EditPlan {
    /// Checks `edits` against the files under `root` and computes the new contents. Edits
    /// of files that are one file (symbolic links to it, or the file and links to it) are
    /// applied to that file once.
    pub fn new(root: &Path, edits: &[Edit]) -> Result<EditPlan, EditError> {
        let files = RepoFiles::new(root).map_err(EditError::Rescan)?;
        let mut by_target: BTreeMap<PathBuf, Vec<&Edit>> = BTreeMap::new();
        for edit in edits {
            by_target
                .entry(files.resolve(&edit.file)?)
                .or_default()
                .push(edit);
        }
        let mut changes = Vec::with_capacity(by_target.len());
        let mut targets = Vec::with_capacity(by_target.len());
        let mut placed = Vec::with_capacity(edits.len());
        for (target, mut edits) in by_target {
            let file = target
                .strip_prefix(files.canonical_root())
                .unwrap_or(&target)
                .to_path_buf();
            edits.sort_by_key(|edit| (edit.span.start, edit.span.end));
            edits.dedup_by(|a, b| a.span == b.span && a.new == b.new);
            for pair in edits.windows(2) {
                if pair[1].span.start < pair[0].span.end {
                    let (first, second) = (pair[0].span.clone(), pair[1].span.clone());
                    return Err(EditError::Overlap {
                        file,
                        first,
                        second,
                    });
                }
            }
            let before = files.read_text(&file, u64::MAX)?;
            let after = apply(&file, &before, &edits)?;
            let mut delta = 0isize;
            for edit in &edits {
                placed.push((
                    edit.file.clone(),
                    edit.span.start.saturating_add_signed(delta),
                    edit.new.clone(),
                ));
                delta += edit.new.len() as isize - edit.span.len() as isize;
            }
            changes.push(FileChange {
                file,
                before,
                after,
            });
            targets.push(target);
        }
        let plan = EditPlan {
            root: root.to_path_buf(),
            files,
            changes,
            targets,
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
            .targets
            .iter()
            .zip(&self.changes)
            .map(|(target, c)| (target.clone(), c.after.clone()))
            .collect();
        let strict = ScanOptions {
            strict: true,
            ..ScanOptions::default()
        };
        let report =
            scan_with(&self.root, &strict, &overlay, Reach::Overlaid).map_err(EditError::Rescan)?;
        for (file, start, new) in &self.placed {
            // A pin's token, or a string linked to a pin, now at the new version.
            let found = report.pins.iter().any(|pin| {
                pin.version.as_deref() == Some(new.as_str())
                    && ((&pin.file == file && pin.span.start == *start)
                        || pin
                            .linked
                            .iter()
                            .any(|linked| &linked.file == file && linked.span.start == *start))
            });
            if !found {
                let text = self
                    .files
                    .resolve(file)
                    .ok()
                    .and_then(|target| self.targets.iter().position(|t| *t == target))
                    .map_or("", |n| self.changes[n].after.as_str());
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

    /// Writes every changed file, or none, even if the process is killed on the way: the
    /// next [`recover`](crate::recover) finishes or undoes a write a crash interrupted. Each
    /// new content goes to a temporary file beside the file (with its mode and owner), each
    /// file is checked to be unchanged on disk, then all are renamed into place. A symbolic
    /// link stays a link: the file it leads to is rewritten.
    pub fn apply(&self) -> Result<(), EditError> {
        let replacements: Vec<Replacement> = self
            .changes
            .iter()
            .zip(&self.targets)
            .map(|(change, target)| Replacement {
                shown: &change.file,
                target,
                before: &change.before,
                after: &change.after,
            })
            .collect();
        write_all(&self.files, &replacements).map_err(|error| match error {
            WriteError::Changed(file) => EditError::Changed { file },
            WriteError::HardLinks(file, links) => EditError::HardLinks { file, links },
            WriteError::Owner(file, uid, gid, source) => EditError::Owner {
                file,
                uid,
                gid,
                source,
            },
            WriteError::Read(error) => EditError::Read(error),
            WriteError::Io(file, source, restored) => EditError::Write {
                file,
                source,
                restored,
            },
        })
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
