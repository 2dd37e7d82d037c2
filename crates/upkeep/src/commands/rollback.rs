//! `upkeep rollback SHA`: revert exactly one upgrade commit, push the revert, wait for CI and
//! verify; a revert that does not deliver is a CRITICAL notification. The same git rules as
//! `bump`: fetch and compare first, push only upkeep's own commits. Only upkeep's own upgrade
//! commits are rolled back (others with `--any-commit`), and only when reverting changes
//! something: an upgrade already reverted, or undone by hand, is reported and nothing is
//! committed.

use crate::args::{CiMode, Format, RollbackArgs, VerifyMode};
use crate::config::Config;
use crate::deliver::clock::Clock;
use crate::deliver::cluster::Cluster;
use crate::deliver::deploy::{Delivery, Stage, Stages, ci_for, render_stages};
use crate::deliver::gates::Prometheus;
use crate::deliver::git::Git;
use crate::deliver::notify::{Level, Notifier};
use crate::deliver::preflight::{self, Preflight};
use crate::deliver::tree_lock::TreeLock;
use crate::deliver::verify::{Check, Target};
use crate::output;
use anyhow::{Context, bail};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// The report of a rollback.
#[derive(Debug, Serialize)]
struct RollbackReport {
    /// `rolled_back`, `critical`, `aborted`, or `already_reverted` (nothing to revert).
    outcome: &'static str,
    /// The commit reverted.
    reverted: String,
    /// The revert commit, once made (for `already_reverted`, the commit that reverted it,
    /// when one says so).
    revert: Option<String>,
    /// Why the revert did not deliver, or why there was nothing to revert.
    reason: Option<String>,
    preflight: Vec<(&'static str, Check)>,
    stages: Vec<Stage>,
}

/// Fetches and compares, checks, reverts, commits, delivers, and reports each stage.
pub fn run(args: &RollbackArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config_file, &args.path)?;
    let mut lock = TreeLock::of(&args.path)?;
    lock.acquire()?;
    let git = Git::open(&args.path, &config.git.remote, None)?;
    let mut stages = Stages::default();
    let aligned = stages.run("git", || {
        let aligned = git.align()?;
        let detail = aligned.describe();
        Ok((aligned, detail))
    })?;
    let sha = git
        .resolve(&args.sha)
        .with_context(|| format!("`{}` is not a commit of this repository", args.sha))?;
    if !git.contains(sha) {
        bail!(
            "{sha} is not on `{}`; nothing to revert there",
            git.branch()
        );
    }
    if !args.any_commit && !git.is_own_upgrade(sha) {
        let subject = git.subject(sha)?;
        bail!(
            "{sha:.7} {subject} is not an upgrade commit of upkeep's (titled `upgrade:` or `downgrade:`, with its Upkeep-Change trailer intact); upkeep rolls back only its own upgrades and pushes only its own commits. Revert it yourself with `git revert {sha:.7}`, or pass --any-commit to have upkeep revert and push it"
        );
    }
    if git.revert_changes_nothing(sha)? {
        let (revert, reason) = match git.reverted_by(sha)? {
            Some(by) => (
                Some(by.to_string()),
                format!(
                    "{sha:.7} is already reverted by {by:.7} ({})",
                    git.subject(by)?
                ),
            ),
            None => (
                None,
                format!("reverting {sha:.7} changes nothing: what it changed is already undone"),
            ),
        };
        let report = RollbackReport {
            outcome: "already_reverted",
            reverted: sha.to_string(),
            revert,
            reason: Some(format!("{reason}; nothing was committed")),
            preflight: Vec::new(),
            stages: stages.0,
        };
        print(args, &report)?;
        return Ok(ExitCode::from(1));
    }
    let verify_on = !args.no_push
        && match args.verify {
            Some(mode) => mode == VerifyMode::On,
            None => config.verify.enabled,
        };
    let stack_dir = git
        .changed_files(sha)?
        .first()
        .and_then(|file| file.parent())
        .map(Path::to_owned);
    let ci = match args.no_push {
        true => Ok(None),
        false => ci_for(args.ci.map(|mode| mode == CiMode::Woodpecker), &config),
    };
    let cluster = match verify_on {
        true => Cluster::connect(),
        false => Ok(None),
    };
    let prometheus = Prometheus::from_config(&config.gates);
    let notifier = Notifier::new(config.notify.slack_webhook_url.as_deref());
    let mut checks = Preflight::default();
    checks.add("git", Check::Passed(aligned.describe()));
    checks.add(
        "ci",
        match args.no_push {
            true => Check::Skipped("--no-push".to_owned()),
            false => preflight::ci(&ci, args.ci == Some(CiMode::None)),
        },
    );
    checks.add("slack", notifier.check());
    checks.add("kubernetes", preflight::kubernetes(&cluster, verify_on));
    checks.add("prometheus", preflight::prometheus(&prometheus));
    let failures = checks.failures();
    let summary = checks.summary();
    stages.run("preflight", || Ok(((), summary)))?;
    let mut report = RollbackReport {
        outcome: "aborted",
        reverted: sha.to_string(),
        revert: None,
        reason: None,
        preflight: checks.0,
        stages: Vec::new(),
    };
    if !failures.is_empty() {
        report.stages = stages.0;
        print(args, &report)?;
        bail!(
            "preflight failed; nothing was changed:\n  {}",
            failures.join("\n  ")
        );
    }
    let verify = match &stack_dir {
        Some(dir) if verify_on => {
            let stack = dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            Some((
                Target::of(&git.root(), dir, &stack, &config.verify),
                config.verify.clone(),
                Duration::from_secs(config.verify.safe_minutes * 60),
            ))
        }
        _ => None,
    };
    let delivery = Delivery {
        git: &git,
        no_push: args.no_push,
        ci: ci.as_ref().ok().and_then(Option::as_ref),
        verify,
        author: config.git.author(),
        clock: Clock::from_env(),
        cluster: cluster.as_ref().ok().and_then(Option::as_ref),
        prometheus: prometheus.as_ref().ok().and_then(Option::as_ref),
    };
    let outcome = delivery.roll_back(&mut stages, sha, &mut lock)?;
    report.stages = stages.0;
    match outcome {
        Ok(revert) => {
            notifier.send(
                Level::Failure,
                &format!("upkeep rollback: reverted {sha} with {revert}"),
            );
            report.outcome = "rolled_back";
            report.revert = Some(revert.to_string());
            print(args, &report)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            notifier.send(
                Level::Critical,
                &format!("upkeep rollback of {sha} did not deliver: {why}: look now"),
            );
            report.outcome = "critical";
            report.reason = Some(why);
            print(args, &report)?;
            Ok(ExitCode::from(2))
        }
    }
}

fn print(args: &RollbackArgs, report: &RollbackReport) -> anyhow::Result<()> {
    match args.format {
        Format::Json => output::print_json(report),
        Format::Human => {
            let head = match (report.outcome, &report.revert, &report.reason) {
                ("rolled_back", Some(revert), _) => {
                    format!("rolled back {} with {revert}", report.reverted)
                }
                ("critical", _, Some(why)) => {
                    format!("rollback of {} did not deliver: {why}", report.reverted)
                }
                ("already_reverted", _, Some(why)) => why.clone(),
                _ => format!("rollback of {}: {}", report.reverted, report.outcome),
            };
            output::print(&format!("{head}\n{}", render_stages(&report.stages)))
        }
    }
}
