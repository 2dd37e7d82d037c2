//! `.gitignore` and `.upkeepignore` files, read through [`RepoFiles`] like every other file: one
//! that is a link out of the repository, a fifo or `/dev/zero` is reported, not read (the
//! `ignore` crate's own reader would follow it, block on it or read it forever).
//!
//! `.upkeepignore` has `.gitignore`'s syntax and leaves files out of upkeep only; in one folder
//! its patterns come after the `.gitignore`'s, so they win.
//!
//! Git's rules: the patterns of a folder's `.gitignore` apply below it, a deeper file's
//! patterns win over a shallower one's, and `!pattern` takes a path back. Above the root being
//! read, the `.gitignore` files up to the top of its git work tree apply too.

use crate::admit::RepoFiles;
use crate::error::ScanError;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The names of the files read in every folder, in the order their patterns apply.
const FILE_NAMES: [&str; 2] = [".gitignore", ".upkeepignore"];

/// Whether `name` is one of the ignore files read in every folder.
pub(crate) fn is_ignore_file(name: &std::ffi::OsStr) -> bool {
    FILE_NAMES.iter().any(|file| name == *file)
}

/// The ignore rules of one tree, loaded as the walk meets each folder.
pub(crate) struct IgnoreRules {
    files: RepoFiles,
    max_size: u64,
    /// Rules of the folders above the root, deepest first.
    above: Vec<Gitignore>,
    /// Rules per folder relative to the root (`None`: the folder has none), for the folders
    /// above the entry the walk is at, the root first: each is the parent of the next.
    loaded: Mutex<Vec<(PathBuf, Option<Gitignore>)>>,
    errors: Mutex<Vec<ScanError>>,
}

impl IgnoreRules {
    /// The rules for a walk of `files`' root, reading no file over `max_size` bytes.
    pub(crate) fn new(files: RepoFiles, max_size: u64) -> IgnoreRules {
        let above = rules_above(files.canonical_root(), max_size);
        IgnoreRules {
            files,
            max_size,
            above,
            loaded: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// Whether `rel` (relative to the root; a folder if `is_dir`) is ignored.
    pub(crate) fn is_ignored(&self, rel: &Path, is_dir: bool) -> bool {
        // Built only when some rules apply.
        let mut path: Option<PathBuf> = None;
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        // The walk is depth first: rules of folders that are not above `rel` are not needed
        // again (if they were, they would be read again), so only one branch's rules are
        // kept — memory stays flat however many folders the tree has.
        while loaded.last().is_some_and(|(dir, _)| !rel.starts_with(dir)) {
            loaded.pop();
        }
        // The folders above `rel` not loaded yet (only its own, in a depth-first walk), the
        // shallowest first.
        let known = loaded.len();
        let missing: Vec<&Path> = rel
            .ancestors()
            .skip(1)
            .take_while(|dir| loaded[..known].last().is_none_or(|(last, _)| dir != last))
            .collect();
        for dir in missing.into_iter().rev() {
            let rules = self.load(dir);
            loaded.push((dir.to_path_buf(), rules));
        }
        for (_, rules) in loaded.iter().rev() {
            if let Some(rules) = rules {
                let path = path.get_or_insert_with(|| self.files.canonical_root().join(rel));
                if let Some(decided) = decide(rules, path, is_dir) {
                    return decided;
                }
            }
        }
        if self.above.is_empty() {
            return false;
        }
        let path = path.get_or_insert_with(|| self.files.canonical_root().join(rel));
        self.above
            .iter()
            .find_map(|rules| decide(rules, path, is_dir))
            .unwrap_or(false)
    }

    /// The `.gitignore` files that could not be read so far.
    pub(crate) fn take_errors(&self) -> Vec<ScanError> {
        std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The rules of folder `dir` (relative to the root).
    fn load(&self, dir: &Path) -> Option<Gitignore> {
        folder_rules(&self.files, dir, self.max_size, |error| {
            self.errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(error);
        })
    }
}

/// The rules of folder `dir` of `files` (relative to its root): its `.gitignore`, then its
/// `.upkeepignore`; a file that may not be read is given to `refused`.
fn folder_rules(
    files: &RepoFiles,
    dir: &Path,
    max_size: u64,
    mut refused: impl FnMut(ScanError),
) -> Option<Gitignore> {
    let mut text = Vec::new();
    // One path for both names: nearly every folder has neither file.
    let mut path = files.canonical_root().join(dir);
    for name in FILE_NAMES {
        path.push(name);
        let absent = std::fs::symlink_metadata(&path).is_err();
        path.pop();
        if absent {
            continue;
        }
        let rel = dir.join(name);
        match files.read(&rel, max_size) {
            Ok(bytes) => {
                text.extend_from_slice(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes));
                text.push(b'\n');
            }
            Err(error) => refused(error),
        }
    }
    (!text.is_empty())
        .then(|| compile(&files.canonical_root().join(dir), &text))
        .flatten()
}

/// `Some(true)` if `rules` ignore `path`, `Some(false)` if they take it back, `None` if they
/// say nothing about it.
fn decide(rules: &Gitignore, path: &Path, is_dir: bool) -> Option<bool> {
    let matched = rules.matched(path, is_dir);
    (!matched.is_none()).then(|| matched.is_ignore())
}

/// The rules of a `.gitignore` of folder `dir`; lines that are not valid patterns are skipped,
/// as git does.
fn compile(dir: &Path, bytes: &[u8]) -> Option<Gitignore> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut builder = GitignoreBuilder::new(dir);
    for line in text.lines() {
        let _ = builder.add_line(None, line);
    }
    builder.build().ok().filter(|rules| !rules.is_empty())
}

/// The rules of the folders above `root` up to the top of its git work tree, deepest first;
/// none when `root` is not in a work tree.
fn rules_above(root: &Path, max_size: u64) -> Vec<Gitignore> {
    let Some(top) = root.ancestors().find(|dir| dir.join(".git").exists()) else {
        return Vec::new();
    };
    let Ok(files) = RepoFiles::new(top) else {
        return Vec::new();
    };
    root.ancestors()
        .skip(1)
        .take_while(|dir| dir.starts_with(top))
        .filter_map(|dir| folder_rules(&files, dir.strip_prefix(top).ok()?, max_size, drop))
        .collect()
}
