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
    ///
    /// Asked of every folder and every file upkeep reads, on the thread every folder's scan
    /// waits for: folders are compared as text, and each folder's rules are given `rel` below
    /// that folder (what [`Gitignore::matched`] would strip from a full path), so nothing is
    /// allocated unless a folder's rules must be loaded.
    pub(crate) fn is_ignored(&self, rel: &Path, is_dir: bool) -> bool {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        // The walk is depth first: rules of folders that are not above `rel` are not needed
        // again (if they were, they would be read again), so only one branch's rules are
        // kept — memory stays flat however many folders the tree has.
        while loaded
            .last()
            .is_some_and(|(dir, _)| below(rel, dir).is_none())
        {
            loaded.pop();
        }
        // The folders above `rel` not loaded yet (only its own, in a depth-first walk), the
        // shallowest first.
        let parent = rel.parent().unwrap_or(Path::new(""));
        if loaded
            .last()
            .is_none_or(|(last, _)| last.as_path() != parent)
        {
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
        }
        for (dir, rules) in loaded.iter().rev() {
            let (Some(rules), Some(below)) = (rules, below(rel, dir)) else {
                continue;
            };
            if let Some(decided) = decide(rules, below, is_dir) {
                return decided;
            }
        }
        if self.above.is_empty() {
            return false;
        }
        let path = self.files.canonical_root().join(rel);
        self.above
            .iter()
            .find_map(|rules| decide(rules, &path, is_dir))
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

/// `rel` below folder `dir` (both relative to the root), compared as text: `None` when `rel`
/// is not inside `dir`; `rel` itself when `dir` is the root, the empty path. Given to `dir`'s
/// rules, a path relative to their folder is matched as [`Gitignore::matched`] matches the
/// full path it would strip to that.
fn below<'a>(rel: &'a Path, dir: &Path) -> Option<&'a Path> {
    let dir = dir.as_os_str();
    if dir.is_empty() {
        return Some(rel);
    }
    let rest = rel
        .as_os_str()
        .as_encoded_bytes()
        .strip_prefix(dir.as_encoded_bytes())?;
    match rest.first() {
        None => Some(Path::new("")),
        // Cut after the separator, an ASCII byte, so the rest is a whole string.
        Some(&byte) if std::path::is_separator(char::from(byte)) => match rel.to_str() {
            Some(text) => Some(Path::new(&text[dir.len() + 1..])),
            None => rel.strip_prefix(dir).ok(),
        },
        Some(_) => None,
    }
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

#[cfg(test)]
mod tests {
    use super::{IgnoreRules, decide, folder_rules};
    use crate::admit::RepoFiles;
    use std::path::{Path, PathBuf};

    /// Every path of a tree below `root`, relative to it, depth first with each folder's
    /// entries sorted, as the walk meets them; with whether each is a folder.
    fn depth_first(root: &Path, rel: &Path, out: &mut Vec<(PathBuf, bool)>) {
        let mut names: Vec<_> = std::fs::read_dir(root.join(rel))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        for name in names {
            let path = rel.join(name);
            let is_dir = root.join(&path).is_dir();
            out.push((path.clone(), is_dir));
            if is_dir {
                depth_first(root, &path, out);
            }
        }
    }

    /// Whether `rel` is ignored, decided as the rules were asked before they were given
    /// paths below their folder: every folder above it, deepest first, matching the full path.
    fn ignored_by_full_paths(files: &RepoFiles, rel: &Path, is_dir: bool) -> bool {
        let path = files.canonical_root().join(rel);
        rel.ancestors()
            .skip(1)
            .filter_map(|dir| folder_rules(files, dir, 1 << 20, drop))
            .find_map(|rules| decide(&rules, &path, is_dir))
            .unwrap_or(false)
    }

    #[test]
    fn paths_below_each_folder_are_judged_as_full_paths_were() {
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        let files = [
            (
                ".gitignore",
                "/build/\n*.generated.tf\nstacks/old*\n**/cache/\n!keep.generated.tf\ntmp\n",
            ),
            (
                "stacks/.gitignore",
                "app/secret.tf\n/top.tf\n*.bak\n!important.bak\n",
            ),
            ("stacks/app/.upkeepignore", "main.tf\nvalues/\n"),
            ("stacks/app/.gitignore", "!main.tf\nlocal.*\n"),
            ("stacks/app-two/.gitignore", "*\n!*.tf\n"),
            ("stacks/app/values/deep/.gitignore", "!x.yaml\n"),
        ];
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        for path in [
            "build/main.tf",
            "keep.generated.tf",
            "a.generated.tf",
            "tmp/x.tf",
            "x/tmp",
            "stacks/top.tf",
            "stacks/app/top.tf",
            "stacks/app/secret.tf",
            "stacks/app/main.tf",
            "stacks/app/local.tf",
            "stacks/app/values/deep/x.yaml",
            "stacks/app/values/y.yaml",
            "stacks/app/a.bak",
            "stacks/app/important.bak",
            "stacks/app-two/main.tf",
            "stacks/app-two/values.yaml",
            "stacks/appendix/main.tf",
            "stacks/old-app/main.tf",
            "stacks/cache/x.tf",
            "modules/cache/y.tf",
            "modules/ünïcode/cache.tf",
            "modules/app/build/main.tf",
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let files = RepoFiles::new(root).unwrap();
        let rules = IgnoreRules::new(files.clone(), 1 << 20);
        let mut paths = Vec::new();
        depth_first(root, Path::new(""), &mut paths);
        let mut ignored = 0;
        for (rel, is_dir) in &paths {
            let expected = ignored_by_full_paths(&files, rel, *is_dir);
            assert_eq!(
                rules.is_ignored(rel, *is_dir),
                expected,
                "{}",
                rel.display()
            );
            ignored += usize::from(expected);
        }
        // The tree is made to exercise both answers at every depth.
        assert!(
            ignored >= 12 && paths.len() - ignored >= 12,
            "{ignored} of {}",
            paths.len()
        );
    }
}
