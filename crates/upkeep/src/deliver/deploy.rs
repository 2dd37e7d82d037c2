//! Delivering a commit: push, wait for CI, verify; and rolling back a commit that does not
//! deliver. Shared by `bump` and `rollback`; each step is a timed stage of the report.

use crate::config::{Config, VerifyConfig};
use crate::deliver::clock::Clock;
use crate::deliver::cluster::Cluster;
use crate::deliver::gates::Prometheus;
use crate::deliver::git::Git;
use crate::deliver::tree_lock::TreeLock;
use crate::deliver::verify::{Sources, Target, Verdict, verify};
use crate::deliver::woodpecker::{CiOutcome, Woodpecker};
use git2::Oid;
use serde::Serialize;
use std::time::{Duration, Instant};

/// One stage of a pipeline, as reported.
#[derive(Debug, Serialize)]
pub struct Stage {
    /// What ran.
    pub name: &'static str,
    /// How long it took (wall time).
    pub seconds: f64,
    /// What it did or why it failed.
    pub detail: String,
}

/// The stages run so far.
#[derive(Debug, Default)]
pub struct Stages(pub Vec<Stage>);

/// One line per stage: name, duration, what it did.
pub fn render_stages(stages: &[Stage]) -> String {
    stages
        .iter()
        .map(|stage| {
            format!(
                "  {:<9} {:>7.3} s  {}\n",
                stage.name, stage.seconds, stage.detail
            )
        })
        .collect()
}

impl Stages {
    /// Runs `work` as stage `name`, recording its duration and what it says.
    pub fn run<T>(
        &mut self,
        name: &'static str,
        work: impl FnOnce() -> anyhow::Result<(T, String)>,
    ) -> anyhow::Result<T> {
        self.record(name, Done::after(Duration::ZERO, work))
    }

    /// Records `done` as stage `name`: its duration and what it says.
    pub fn record<T>(&mut self, name: &'static str, done: Done<T>) -> anyhow::Result<T> {
        let Done { result, seconds } = done;
        let detail = match &result {
            Ok((_, detail)) => detail.clone(),
            Err(error) => format!("failed: {error:#}"),
        };
        tracing::info!(stage = name, seconds, %detail, "stage");
        self.0.push(Stage {
            name,
            seconds,
            detail,
        });
        result.map(|(value, _)| value)
    }
}

/// A stage's work, done (perhaps ahead of its turn, beside another stage) and timed, to be
/// recorded by [`Stages::record`].
pub struct Done<T> {
    result: anyhow::Result<(T, String)>,
    seconds: f64,
}

impl<T> Done<T> {
    /// Does `work`, timed, counting `earlier` too: the time of a step of the stage that ran
    /// before this call (on another thread, beside another stage).
    pub fn after(earlier: Duration, work: impl FnOnce() -> anyhow::Result<(T, String)>) -> Done<T> {
        let started = Instant::now();
        let result = work();
        Done {
            result,
            seconds: (earlier + started.elapsed()).as_secs_f64(),
        }
    }
}

/// How to deliver: where to push, which CI to wait for, what to verify.
pub struct Delivery<'a> {
    /// The working copy.
    pub git: &'a Git,
    /// Commit without pushing (then no CI and no verification either).
    pub no_push: bool,
    /// The CI to wait for, if any.
    pub ci: Option<&'a Woodpecker>,
    /// What to verify and for how long, if anything.
    pub verify: Option<(Target, VerifyConfig, Duration)>,
    /// The commit author, if configured.
    pub author: Option<(String, String)>,
    /// Time for the waits.
    pub clock: Clock,
    /// The cluster verification reads, when reachable.
    pub cluster: Option<&'a Cluster>,
    /// Prometheus, for new alerts during verification.
    pub prometheus: Option<&'a Prometheus>,
}

impl Delivery<'_> {
    /// Pushes `sha`, waits for CI and verifies. `Ok(Ok(sha))` with the pushed SHA (a rebase
    /// may change it) when all is well, `Ok(Err((sha, why)))` when CI or verification failed.
    /// `lock` is held on entry and given back once the push is done.
    pub fn deliver(
        &self,
        stages: &mut Stages,
        sha: Oid,
        lock: &mut TreeLock,
    ) -> anyhow::Result<Result<Oid, (Oid, String)>> {
        if self.no_push {
            lock.release();
            return Ok(Ok(sha));
        }
        let sha = stages.run("push", || {
            let pushed = self.git.push()?;
            let detail = match pushed.commits.as_slice() {
                [_] | [] => format!("{} to {}", pushed.sha, self.git.branch()),
                many => format!(
                    "{} to {} with {} commits: {}",
                    pushed.sha,
                    self.git.branch(),
                    many.len(),
                    many.join("; ")
                ),
            };
            Ok((pushed.sha, detail))
        })?;
        lock.release();
        if let Some(ci) = self.ci {
            let outcome = stages.run("ci", || {
                let outcome = ci.wait(&sha.to_string(), &self.clock)?;
                let detail = match &outcome {
                    CiOutcome::Success(number) => format!("pipeline #{number} passed"),
                    CiOutcome::Failed(number, status) => format!("pipeline #{number}: {status}"),
                    CiOutcome::TimedOut => "no pipeline ended in time".to_owned(),
                };
                Ok((outcome, detail))
            })?;
            if !matches!(outcome, CiOutcome::Success(_)) {
                return Ok(Err((sha, format!("CI: {outcome:?}"))));
            }
        }
        if let Some((target, config, window)) = &self.verify {
            let verification = stages.run("verify", || {
                let sources = Sources {
                    cluster: self.cluster,
                    prometheus: self.prometheus,
                };
                let verification = verify(target, config, *window, &self.clock, &sources);
                let checks: Vec<String> = verification
                    .checks
                    .iter()
                    .map(|(name, check)| format!("{name}: {check:?}"))
                    .collect();
                let detail = format!(
                    "{:?} after {} round(s); {}",
                    verification.verdict,
                    verification.rounds,
                    checks.join("; ")
                );
                Ok((verification, detail))
            })?;
            if verification.verdict == Verdict::Failed {
                return Ok(Err((
                    sha,
                    format!(
                        "verification failed ({})",
                        verification.failures().join("; ")
                    ),
                )));
            }
        }
        Ok(Ok(sha))
    }

    /// Reverts `sha` and delivers the revert: `Ok(Ok(revert))` when the revert is healthy,
    /// `Ok(Err(why))` when it is not (someone must look now).
    pub fn roll_back(
        &self,
        stages: &mut Stages,
        sha: Oid,
        lock: &mut TreeLock,
    ) -> anyhow::Result<Result<Oid, String>> {
        lock.acquire()?;
        let revert = stages.run("revert", || {
            let revert = self.git.revert(sha, self.author.as_ref())?;
            Ok((revert, format!("{revert} reverts {sha}")))
        })?;
        Ok(match self.deliver(stages, revert, lock)? {
            Ok(pushed) => Ok(pushed),
            Err((_, why)) => Err(why),
        })
    }
}

/// Whether to wait for CI: the flag, else when a Woodpecker server is configured.
pub fn ci_for(flag: Option<bool>, config: &Config) -> anyhow::Result<Option<Woodpecker>> {
    match flag {
        Some(false) => Ok(None),
        Some(true) => Woodpecker::from_config(&config.woodpecker)?
            .map(Some)
            .ok_or_else(|| {
                anyhow::anyhow!("--ci woodpecker needs WOODPECKER_SERVER or `woodpecker.server`")
            }),
        None => Woodpecker::from_config(&config.woodpecker),
    }
}
