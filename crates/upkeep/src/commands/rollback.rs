//! `upkeep rollback SHA`: revert exactly one upgrade commit and push the revert.

use crate::args::RollbackArgs;
use crate::config::Config;
use crate::git::Git;
use crate::notify::{Level, Notifier};
use crate::output;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

/// Reverts, commits and pushes.
pub fn run(args: &RollbackArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config_file, &args.path)?;
    let git = Git::open(&args.path, &config.git.remote)?;
    let sha = git
        .resolve(&args.sha)
        .with_context(|| format!("`{}` is not a commit of this repository", args.sha))?;
    let revert = git.revert(sha, config.git.author().as_ref())?;
    let pushed = if args.no_push {
        None
    } else {
        Some(git.push(revert)?)
    };
    let notifier = Notifier::new(config.notify.slack_webhook_url.as_deref());
    let text = match pushed {
        Some(pushed) => format!(
            "reverted {sha} with {pushed}, pushed to {}/{}",
            config.git.remote,
            git.branch()
        ),
        None => format!("reverted {sha} with {revert} (not pushed)"),
    };
    notifier.send(Level::Failure, &format!("upkeep rollback: {text}"));
    output::print(&format!("{text}\n"))?;
    Ok(ExitCode::SUCCESS)
}
