//! Writing several files as one change that a crash cannot leave half done, and finishing or
//! undoing, on the next run, a change that a crash interrupted.
//!
//! A write goes: the journal (synced, with its folder), every new content in a temporary file
//! beside its target (synced, with the target's mode and owner, and the folders synced), a
//! check that no target changed meanwhile, `commit` in the journal (synced), the renames, a
//! sync of the folders, and the journal's removal. Killed before `commit`, the next [`recover`]
//! removes the temporary files (every file old); killed after, it renames the remaining ones
//! into place (every file new).
//!
//! The journal lives in the git folder of the work tree (`.git/upkeep/`, never seen by
//! `git status`), or in the root itself when it is not in a work tree. A running write holds a
//! lock on its journal, so a recovery never touches a write that is still going on.

use crate::admit::{RepoFiles, read_named_file};
use crate::error::ScanError;
use crate::journal::{self, COMMIT, Digest, Entry, Journal, digest};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Journal files are named `journal-<id>` in `.git/upkeep/`, `.upkeep-journal-<id>` in a root.
const JOURNAL_IN_GIT: &str = "journal-";
/// See [`JOURNAL_IN_GIT`].
const JOURNAL_IN_ROOT: &str = ".upkeep-journal-";
/// No journal is longer than this (a write of a hundred thousand files).
const MAX_JOURNAL: u64 = 64 * 1024 * 1024;

/// One file to replace.
pub(crate) struct Replacement<'a> {
    /// The file as the caller names it (relative to the root), for messages.
    pub(crate) shown: &'a Path,
    /// Where it is: an absolute path without links.
    pub(crate) target: &'a Path,
    /// What it must hold now.
    pub(crate) before: &'a str,
    /// What it will hold.
    pub(crate) after: &'a str,
}

/// Why a write did not happen.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// A target changed on disk since it was read.
    Changed(PathBuf),
    /// A target has other hard links (how many names it has), which a replaced file would no
    /// longer share.
    HardLinks(PathBuf, u64),
    /// The target's owner (user, group) cannot be given to the new file.
    Owner(PathBuf, u32, u32, io::Error),
    /// A target could not be read.
    Read(ScanError),
    /// I/O failed on a file; the flag says whether every file was left as it was.
    Io(PathBuf, io::Error, bool),
}

/// Writes every replacement or none (see the module's documentation).
pub(crate) fn write_all(files: &RepoFiles, replacements: &[Replacement]) -> Result<(), WriteError> {
    let mut targets = Vec::with_capacity(replacements.len());
    for replacement in replacements {
        let metadata = std::fs::symlink_metadata(replacement.target)
            .map_err(|e| WriteError::Io(replacement.shown.to_path_buf(), e, true))?;
        if metadata.nlink() > 1 {
            return Err(WriteError::HardLinks(
                replacement.shown.to_path_buf(),
                metadata.nlink(),
            ));
        }
        targets.push(metadata);
    }
    let place = JournalPlace::of(files.canonical_root());
    let id = unique_id();
    let entries: Vec<Entry> = replacements
        .iter()
        .enumerate()
        .map(|(n, r)| Entry {
            target: r.target.to_path_buf(),
            temp: OsString::from(format!(
                "{}{id}-{n}{}",
                journal::TEMP_PREFIX,
                journal::TEMP_SUFFIX
            )),
            old: digest(r.before.as_bytes()),
            new: digest(r.after.as_bytes()),
        })
        .collect();
    let shown = |n: usize| replacements[n].shown.to_path_buf();
    let io_at = |path: &Path| {
        let path = path.to_path_buf();
        move |error| WriteError::Io(path, error, true)
    };
    let journal_path = place.dir.join(format!("{}{id}", place.prefix));
    std::fs::create_dir_all(&place.dir).map_err(io_at(&place.dir))?;
    let mut journal = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&journal_path)
        .map_err(io_at(&journal_path))?;
    // Unlocked only by closing (or by the process ending).
    journal.lock().map_err(io_at(&journal_path))?;
    let undo = |created: usize| {
        for entry in &entries[..created] {
            let _ = std::fs::remove_file(entry.temp_path());
        }
        let _ = std::fs::remove_file(&journal_path);
    };
    let written = journal
        .write_all(&journal::encode(&entries))
        .and_then(|()| journal.sync_all())
        .and_then(|()| sync_dir(&place.dir));
    if let Err(error) = written {
        undo(0);
        return Err(WriteError::Io(journal_path.clone(), error, true));
    }
    checkpoint();
    for (n, (entry, replacement)) in entries.iter().zip(replacements).enumerate() {
        if let Err(error) = stage(entry, replacement.after, &targets[n], &shown(n)) {
            undo(n + 1);
            return Err(error);
        }
        checkpoint();
    }
    // The temporary files' names must be on disk before the commit says they hold the files.
    let dirs: BTreeSet<&Path> = entries.iter().filter_map(|e| e.target.parent()).collect();
    for dir in &dirs {
        if let Err(error) = sync_dir(dir) {
            undo(entries.len());
            return Err(WriteError::Io(dir.to_path_buf(), error, true));
        }
    }
    for (n, replacement) in replacements.iter().enumerate() {
        let current = match files.read_text(replacement.shown, u64::MAX) {
            Ok(current) => current,
            Err(error) => {
                undo(entries.len());
                return Err(WriteError::Read(error));
            }
        };
        if current != replacement.before {
            undo(entries.len());
            return Err(WriteError::Changed(shown(n)));
        }
    }
    if let Err(error) = journal.write_all(COMMIT).and_then(|()| journal.sync_all()) {
        undo(entries.len());
        return Err(WriteError::Io(journal_path.clone(), error, true));
    }
    checkpoint();
    for (n, entry) in entries.iter().enumerate() {
        if let Err(error) = std::fs::rename(entry.temp_path(), &entry.target) {
            let restored = restore(&entries[..n], replacements);
            if restored {
                undo(entries.len());
            }
            return Err(WriteError::Io(shown(n), error, restored));
        }
        checkpoint();
    }
    // The renames must be on disk before the journal that could finish them is gone.
    for dir in dirs {
        sync_dir(dir).map_err(|error| WriteError::Io(dir.to_path_buf(), error, false))?;
    }
    checkpoint();
    std::fs::remove_file(&journal_path).map_err(|e| WriteError::Io(journal_path, e, false))?;
    Ok(())
}

/// Writes `content` to the entry's temporary file, created beside its target with the
/// target's mode and owner, and synced.
fn stage(
    entry: &Entry,
    content: &str,
    target: &std::fs::Metadata,
    shown: &Path,
) -> Result<(), WriteError> {
    let path = entry.temp_path();
    let io_error = |error| WriteError::Io(shown.to_path_buf(), error, true);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io_error)?;
    if let Err(error) = std::os::unix::fs::fchown(&file, Some(target.uid()), Some(target.gid())) {
        let kept = file
            .metadata()
            .is_ok_and(|m| (m.uid(), m.gid()) == (target.uid(), target.gid()));
        if !kept {
            return Err(WriteError::Owner(
                shown.to_path_buf(),
                target.uid(),
                target.gid(),
                error,
            ));
        }
    }
    file.write_all(content.as_bytes()).map_err(io_error)?;
    file.set_permissions(target.permissions())
        .map_err(io_error)?;
    file.sync_all().map_err(io_error)
}

/// Puts the old content back into the files already replaced, each by its own rename.
/// Returns whether all were restored.
fn restore(done: &[Entry], replacements: &[Replacement]) -> bool {
    done.iter().zip(replacements).all(|(entry, replacement)| {
        let Ok(metadata) = std::fs::metadata(&entry.target) else {
            return false;
        };
        let back = Entry {
            temp: OsString::from(format!(
                "{}{}-restore{}",
                journal::TEMP_PREFIX,
                unique_id(),
                journal::TEMP_SUFFIX
            )),
            ..entry.clone()
        };
        stage(&back, replacement.before, &metadata, replacement.shown).is_ok()
            && std::fs::rename(back.temp_path(), &entry.target).is_ok()
    })
}

/// Where the journals of a root are kept.
struct JournalPlace {
    dir: PathBuf,
    prefix: &'static str,
    /// The folder no target of a journal here may leave.
    top: PathBuf,
}

impl JournalPlace {
    /// `.git/upkeep/` of the work tree that holds `root`, else `root` itself.
    fn of(root: &Path) -> JournalPlace {
        for dir in root.ancestors() {
            let dot_git = dir.join(".git");
            let git_dir = match std::fs::symlink_metadata(&dot_git) {
                Ok(meta) if meta.is_dir() => Some(dot_git),
                // A linked work tree or submodule: `.git` is a file `gitdir: <path>`.
                Ok(meta) if meta.is_file() => read_named_file(&dot_git, 4096)
                    .ok()
                    .and_then(|bytes| {
                        let text = String::from_utf8(bytes).ok()?;
                        let path = text.strip_prefix("gitdir:")?.trim();
                        Some(dir.join(path))
                    })
                    .filter(|path| path.is_dir()),
                _ => None,
            };
            if let Some(git_dir) = git_dir {
                return JournalPlace {
                    dir: git_dir.join("upkeep"),
                    prefix: JOURNAL_IN_GIT,
                    top: dir.to_path_buf(),
                };
            }
        }
        JournalPlace {
            dir: root.to_path_buf(),
            prefix: JOURNAL_IN_ROOT,
            top: root.to_path_buf(),
        }
    }
}

/// What [`recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Files an interrupted write had committed to and that now hold their new content.
    pub completed: Vec<PathBuf>,
    /// Interrupted writes that had not committed and were undone (their journals).
    pub undone: Vec<PathBuf>,
    /// Temporary files of upkeep that were removed.
    pub removed: Vec<PathBuf>,
    /// Files left as they are, and why: they changed since the write was interrupted, or the
    /// new content was lost. Each says what a person should check.
    pub conflicts: Vec<String>,
}

impl Recovery {
    /// Whether nothing needed doing.
    pub fn is_empty(&self) -> bool {
        self == &Recovery::default()
    }
}

/// Finishes or undoes every write under `root` that a crash interrupted, and removes the
/// temporary files such writes (and older upkeep versions) left, so that every file holds
/// either its old or its new content and no temporary file remains.
///
/// Run it before anything that checks the tree for changes. Writes still going on (in another
/// process) are left alone.
pub fn recover(root: &Path) -> io::Result<Recovery> {
    let root = root.canonicalize()?;
    let place = JournalPlace::of(&root);
    let mut report = Recovery::default();
    let mut live: BTreeSet<PathBuf> = BTreeSet::new();
    let journals = match std::fs::read_dir(&place.dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .as_encoded_bytes()
                    .starts_with(place.prefix.as_bytes())
            })
            .map(|e| e.path())
            .collect(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error),
    };
    for path in journals {
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            // A write in progress: its temporary files are its own.
            if let Ok(journal) = read_journal(&path) {
                live.extend(journal.entries.iter().map(Entry::temp_path));
            }
            continue;
        }
        recover_one(&path, &place.top, &mut report)?;
        std::fs::remove_file(&path)?;
        drop(file);
    }
    sweep(&root, &live, &mut report)?;
    Ok(report)
}

fn read_journal(path: &Path) -> Result<Journal, String> {
    let bytes = read_named_file(path, MAX_JOURNAL).map_err(|e| e.message)?;
    journal::parse(&bytes)
}

/// Finishes (committed) or undoes (not committed) the write of one journal.
fn recover_one(path: &Path, top: &Path, report: &mut Recovery) -> io::Result<()> {
    let Ok(journal) = read_journal(path) else {
        // Unreadable: cut short before any temporary file existed; the sweep removes strays.
        report.undone.push(path.to_path_buf());
        return Ok(());
    };
    let mut dirs = BTreeSet::new();
    for entry in &journal.entries {
        if !entry.target.starts_with(top) {
            report.conflicts.push(format!(
                "{}: named by journal {} but outside {}; left alone",
                entry.target.display(),
                path.display(),
                top.display()
            ));
            continue;
        }
        let temp = entry.temp_path();
        let temp_content = content_digest(&temp);
        let target_content = content_digest(&entry.target);
        if !journal.committed {
            remove_temp(&temp, report)?;
            continue;
        }
        match (temp_content, target_content) {
            (Some(t), Some(old)) if t == entry.new && old == entry.old => {
                std::fs::rename(&temp, &entry.target)?;
                report.completed.push(entry.target.clone());
                dirs.insert(entry.target.parent().map(Path::to_path_buf));
            }
            (_, Some(now)) if now == entry.new => remove_temp(&temp, report)?,
            _ => {
                let why = if temp_content.is_some_and(|t| t != entry.new) {
                    "its new content was not written in full"
                } else if temp_content.is_none() && target_content == Some(entry.old) {
                    "its new content was removed before the write could finish"
                } else {
                    "it changed since the write was interrupted"
                };
                report.conflicts.push(format!(
                    "{}: left as it is: {why}; check it against the other files of that change",
                    entry.target.display()
                ));
                remove_temp(&temp, report)?;
            }
        }
    }
    if !journal.committed {
        report.undone.push(path.to_path_buf());
    }
    for dir in dirs.into_iter().flatten() {
        sync_dir(&dir)?;
    }
    Ok(())
}

fn content_digest(path: &Path) -> Option<Digest> {
    read_named_file(path, u64::MAX)
        .ok()
        .map(|bytes| digest(&bytes))
}

fn remove_temp(path: &Path, report: &mut Recovery) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            report.removed.push(path.to_path_buf());
            Ok(())
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Removes upkeep's temporary files under `root` (in the folders a scan enters, not following
/// links) that no running write owns.
fn sweep(root: &Path, live: &BTreeSet<PathBuf>, report: &mut Recovery) -> io::Result<()> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !crate::scan::is_skipped_dir(&name) {
                    stack.push(entry.path());
                }
            } else if kind.is_file()
                && journal::is_temp_name(&name)
                && !live.contains(&entry.path())
            {
                remove_temp(&entry.path(), report)?;
            }
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A name part no other write, in this process or another, is using.
fn unique_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("{:016x}", hasher.finish())
}

/// A point where a crash leaves a state [`recover`] must handle; tests stop the process here.
fn checkpoint() {
    #[cfg(test)]
    tests::crash_if_asked();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Checkpoints to pass before the process aborts; 0: never.
    static CRASH_AT: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn crash_if_asked() {
        let left = CRASH_AT.load(Ordering::SeqCst);
        if left == 1 {
            // As abrupt as SIGKILL: no destructor, no buffered output, no cleanup.
            std::process::abort();
        }
        if left > 1 {
            CRASH_AT.store(left - 1, Ordering::SeqCst);
        }
    }

    const FILES: usize = 4;

    fn old(n: usize) -> String {
        format!("image = \"app{n}:1.0.0\"\n")
    }

    fn new(n: usize) -> String {
        format!("image = \"app{n}:1.0.1\" # moved\n")
    }

    fn setup(root: &Path) -> Vec<PathBuf> {
        std::fs::create_dir(root.join(".git")).unwrap();
        (0..FILES)
            .map(|n| {
                let dir = root.join(format!("stack{n}"));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("main.tf"), old(n)).unwrap();
                dir.join("main.tf").canonicalize().unwrap()
            })
            .collect()
    }

    fn write_new(root: &Path, targets: &[PathBuf]) {
        let files = RepoFiles::new(root).unwrap();
        let (before, after): (Vec<String>, Vec<String>) =
            (0..FILES).map(|n| (old(n), new(n))).unzip();
        let shown: Vec<PathBuf> = (0..FILES)
            .map(|n| PathBuf::from(format!("stack{n}/main.tf")))
            .collect();
        let replacements: Vec<Replacement> = (0..FILES)
            .map(|n| Replacement {
                shown: &shown[n],
                target: &targets[n],
                before: &before[n],
                after: &after[n],
            })
            .collect();
        write_all(&files, &replacements).unwrap();
    }

    /// Every file under `root` outside `.git`, and every journal.
    fn debris(root: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.file_type().unwrap().is_dir() {
                    stack.push(entry.path());
                } else if name.starts_with(".upkeep-") || name.starts_with("journal-") {
                    found.push(entry.path());
                }
            }
        }
        found
    }

    /// Run in a child process: writes the files of `UPKEEP_CRASH_DIR`, aborting at checkpoint
    /// `UPKEEP_CRASH_AT`.
    #[test]
    fn crash_child() {
        let (Some(dir), Some(at)) = (
            std::env::var_os("UPKEEP_CRASH_DIR"),
            std::env::var("UPKEEP_CRASH_AT").ok(),
        ) else {
            return;
        };
        let root = PathBuf::from(dir);
        let targets: Vec<PathBuf> = (0..FILES)
            .map(|n| {
                root.join(format!("stack{n}/main.tf"))
                    .canonicalize()
                    .unwrap()
            })
            .collect();
        CRASH_AT.store(at.parse().unwrap(), Ordering::SeqCst);
        write_new(&root, &targets);
    }

    #[test]
    fn a_write_killed_at_any_step_is_finished_or_undone_by_the_next_run() {
        let exe = std::env::current_exe().unwrap();
        let mut outcomes = BTreeSet::new();
        for at in 1.. {
            let root = tempfile::tempdir().unwrap();
            let targets = setup(root.path());
            let status = std::process::Command::new(&exe)
                .args(["--exact", "transaction::tests::crash_child", "--nocapture"])
                .env("UPKEEP_CRASH_DIR", root.path())
                .env("UPKEEP_CRASH_AT", at.to_string())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            if status.success() {
                assert!(at > FILES * 2 + 3, "finished at checkpoint {at}");
                break;
            }
            let report = recover(root.path()).unwrap();
            let contents: Vec<String> = targets
                .iter()
                .map(|t| std::fs::read_to_string(t).unwrap())
                .collect();
            let all_old = (0..FILES).all(|n| contents[n] == old(n));
            let all_new = (0..FILES).all(|n| contents[n] == new(n));
            assert!(all_old || all_new, "crash at {at}: {contents:?}");
            assert!(report.conflicts.is_empty(), "{report:?}");
            assert_eq!(debris(root.path()), Vec::<PathBuf>::new(), "crash at {at}");
            outcomes.insert(all_new);
            assert!(recover(root.path()).unwrap().is_empty(), "crash at {at}");
        }
        assert_eq!(
            outcomes.len(),
            2,
            "crashes both before and after the commit"
        );
    }

    #[test]
    fn a_committed_write_does_not_overwrite_a_file_changed_since_the_crash() {
        let root = tempfile::tempdir().unwrap();
        let targets = setup(root.path());
        let place = JournalPlace::of(&root.path().canonicalize().unwrap());
        std::fs::create_dir_all(&place.dir).unwrap();
        let entries: Vec<Entry> = (0..2)
            .map(|n| Entry {
                target: targets[n].clone(),
                temp: OsString::from(format!(".upkeep-t-{n}.tmp")),
                old: digest(old(n).as_bytes()),
                new: digest(new(n).as_bytes()),
            })
            .collect();
        for (n, entry) in entries.iter().enumerate() {
            std::fs::write(entry.temp_path(), new(n)).unwrap();
        }
        let mut bytes = journal::encode(&entries);
        bytes.extend_from_slice(COMMIT);
        std::fs::write(place.dir.join("journal-t"), bytes).unwrap();
        std::fs::write(&targets[1], "edited by hand\n").unwrap();
        let report = recover(root.path()).unwrap();
        assert_eq!(report.completed, [targets[0].clone()]);
        assert_eq!(report.conflicts.len(), 1, "{report:?}");
        assert_eq!(std::fs::read_to_string(&targets[0]).unwrap(), new(0));
        assert_eq!(
            std::fs::read_to_string(&targets[1]).unwrap(),
            "edited by hand\n"
        );
        assert_eq!(debris(root.path()), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_write_still_running_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let targets = setup(root.path());
        let place = JournalPlace::of(&root.path().canonicalize().unwrap());
        std::fs::create_dir_all(&place.dir).unwrap();
        let entry = Entry {
            target: targets[0].clone(),
            temp: OsString::from(".upkeep-live-0.tmp"),
            old: digest(old(0).as_bytes()),
            new: digest(new(0).as_bytes()),
        };
        std::fs::write(entry.temp_path(), new(0)).unwrap();
        let path = place.dir.join("journal-live");
        std::fs::write(&path, journal::encode(std::slice::from_ref(&entry))).unwrap();
        let held = File::open(&path).unwrap();
        held.lock().unwrap();
        std::fs::write(root.path().join("stack1/.upkeep-Zz9Yy8.tmp"), "stray").unwrap();
        let report = recover(root.path()).unwrap();
        assert!(entry.temp_path().exists() && path.exists());
        assert_eq!(
            report.removed,
            [root
                .path()
                .canonicalize()
                .unwrap()
                .join("stack1/.upkeep-Zz9Yy8.tmp")]
        );
        drop(held);
        let report = recover(root.path()).unwrap();
        assert_eq!(report.undone, std::slice::from_ref(&path));
        assert!(!entry.temp_path().exists() && !path.exists());
    }
}
