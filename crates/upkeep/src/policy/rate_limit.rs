//! The rate limit of `upkeep filter`: accepted updates recorded in a small JSON state file,
//! read and written under an exclusive file lock so that concurrent runs (two DIUN
//! notifications at once) neither lose nor double-count an update.

use crate::config::FilterConfig;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The state file's content.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// Accepted updates, oldest first.
    accepted: Vec<Accepted>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Accepted {
    /// When, in seconds since the Unix epoch.
    at: u64,
    /// What (`image tag`).
    update: String,
}

/// The rate limit of one repository.
pub struct RateLimit {
    state: PathBuf,
    lock: PathBuf,
    max: u32,
    window_secs: u64,
}

/// Seconds since the Unix epoch; `UPKEEP_NOW` overrides it (for tests and replays).
pub fn now() -> u64 {
    std::env::var("UPKEEP_NOW")
        .ok()
        .and_then(|now| now.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs())
        })
}

impl RateLimit {
    /// The limit of the repository at `root`.
    pub fn new(root: &Path, config: &FilterConfig) -> RateLimit {
        let state = root.join(&config.state_file);
        let mut lock = state.clone().into_os_string();
        lock.push(".lock");
        RateLimit {
            state,
            lock: PathBuf::from(lock),
            max: config.max_updates,
            window_secs: config.window_hours * 3600,
        }
    }

    /// Records `update` at `now` when fewer than the maximum were accepted in the window
    /// before it; otherwise says when the next slot opens.
    pub fn admit(&self, update: &str, now: u64) -> anyhow::Result<Result<(), String>> {
        let _lock = self.lock()?;
        let mut state = self.read()?;
        let start = now.saturating_sub(self.window_secs);
        state.accepted.retain(|accepted| accepted.at > start);
        if state.accepted.len() >= self.max as usize {
            let oldest = state.accepted.first().map_or(now, |a| a.at);
            let wait = (oldest + self.window_secs).saturating_sub(now);
            return Ok(Err(format!(
                "rate limit: {} update(s) accepted in the last {} h; the next is allowed in {} min",
                state.accepted.len(),
                self.window_secs / 3600,
                wait.div_ceil(60)
            )));
        }
        state.accepted.push(Accepted {
            at: now,
            update: update.to_owned(),
        });
        self.write(&state)?;
        Ok(Ok(()))
    }

    /// Forgets every accepted update.
    pub fn reset(&self) -> anyhow::Result<()> {
        let _lock = self.lock()?;
        self.write(&State::default())
    }

    /// Takes the exclusive lock, blocking until other runs release it.
    fn lock(&self) -> anyhow::Result<File> {
        if let Some(dir) = self.lock.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .with_context(|| format!("cannot open {}", self.lock.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", self.lock.display()))?;
        Ok(file)
    }

    fn read(&self) -> anyhow::Result<State> {
        match std::fs::read_to_string(&self.state) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a state file; `upkeep filter --reset-rate-limit` starts a new one",
                    self.state.display()
                )
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(error) => {
                Err(error).with_context(|| format!("cannot read {}", self.state.display()))
            }
        }
    }

    /// Writes the state through a temporary file and a rename, so a crash leaves the old or
    /// the new state, never half of one.
    fn write(&self, state: &State) -> anyhow::Result<()> {
        let temp = self.state.with_extension("json.tmp");
        let mut file =
            File::create(&temp).with_context(|| format!("cannot write {}", temp.display()))?;
        file.write_all(&serde_json::to_vec_pretty(state)?)?;
        file.sync_all()?;
        std::fs::rename(&temp, &self.state)
            .with_context(|| format!("cannot write {}", self.state.display()))?;
        Ok(())
    }
}
