//! Turns at a working tree: an exclusive file lock in the repository's git directory, held
//! while upkeep reads and edits the files, commits, pushes or reverts, and released while it
//! waits for CI and verification. Two bumps in one checkout (`upkeep serve` runs several at
//! once, a developer may run one beside it) so never see each other's half-made change.

use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The lock of one repository; taken and given back as a bump goes.
pub struct TreeLock {
    path: PathBuf,
    held: Option<File>,
}

impl TreeLock {
    /// The lock of the repository holding `path` (not yet taken).
    pub fn of(path: &Path) -> anyhow::Result<TreeLock> {
        let repo = git2::Repository::discover(path)
            .with_context(|| format!("{} is not in a git repository", path.display()))?;
        Ok(TreeLock {
            path: repo.path().join("upkeep-tree.lock"),
            held: None,
        })
    }

    /// Takes the lock, waiting for whoever holds it; does nothing when already held.
    pub fn acquire(&mut self) -> anyhow::Result<()> {
        if self.held.is_some() {
            return Ok(());
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", self.path.display()))?;
        self.held = Some(file);
        Ok(())
    }

    /// Gives the lock back (closing the file releases it).
    pub fn release(&mut self) {
        self.held = None;
    }
}

#[cfg(test)]
mod tests {
    use super::TreeLock;
    use std::time::{Duration, Instant};

    #[test]
    fn a_second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        let mut first = TreeLock::of(dir.path()).unwrap();
        first.acquire().unwrap();
        first.acquire().unwrap();
        let path = dir.path().to_owned();
        let started = Instant::now();
        let waiter = std::thread::spawn(move || {
            let mut second = TreeLock::of(&path).unwrap();
            second.acquire().unwrap();
            Instant::now()
        });
        std::thread::sleep(Duration::from_millis(200));
        first.release();
        let got_it = waiter.join().unwrap();
        assert!(got_it.duration_since(started) >= Duration::from_millis(200));
    }
}
