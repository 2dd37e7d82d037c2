//! `upkeep rollback SHA`: revert exactly one upgrade commit, push the revert, wait for CI and
//! verify; a revert that does not deliver is a CRITICAL notification.

use crate::args::{CiMode, RollbackArgs, VerifyMode};
use crate::config::Config;
use crate::deliver::clock::Clock;
use crate::deliver::deploy::{Delivery, Stages, ci_for, render_stages};
use crate::deliver::git::Git;
use crate::deliver::notify::{Level, Notifier};
use crate::deliver::tree_lock::TreeLock;
use crate::deliver::verify::Target;
use crate::output;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Reverts, commits, delivers, and reports each stage.
pub fn run(args: &RollbackArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config_file, &args.path)?;
    let mut lock = TreeLock::of(&args.path)?;
    lock.acquire()?;
    let git = Git::open(&args.path, &config.git.remote, None)?;
    let sha = git
        .resolve(&args.sha)
        .with_context(|| format!("`{}` is not a commit of this repository", args.sha))?;
    let verify_on = match args.verify {
        Some(mode) => mode == VerifyMode::On,
        None => config.verify.enabled,
    };
    let stack_dir = git
        .changed_files(sha)?
        .first()
        .and_then(|file| file.parent())
        .map(Path::to_owned);
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
        ci: ci_for(args.ci.map(|mode| mode == CiMode::Woodpecker), &config)?,
        verify,
        author: config.git.author(),
        clock: Clock::from_env(),
    };
    let mut stages = Stages::default();
    let notifier = Notifier::new(config.notify.slack_webhook_url.as_deref());
    let outcome = delivery.roll_back(&mut stages, sha, &mut lock)?;
    let text = render_stages(&stages.0);
    match outcome {
        Ok(revert) => {
            notifier.send(
                Level::Failure,
                &format!("upkeep rollback: reverted {sha} with {revert}"),
            );
            output::print(&format!("rolled back {sha} with {revert}\n{text}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            notifier.send(
                Level::Critical,
                &format!("upkeep rollback of {sha} did not deliver: {why}: look now"),
            );
            output::print(&format!("rollback of {sha} did not deliver: {why}\n{text}"))?;
            Ok(ExitCode::from(2))
        }
    }
}
