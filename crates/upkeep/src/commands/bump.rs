//! `upkeep bump`: a decided update becomes a reviewed commit on the branch the CI applies.

use crate::args::{BumpArgs, CiMode, Format, VerifyMode};
use crate::config::Config;
use crate::deliver::clock::Clock;
use crate::deliver::deploy::{Delivery, Stages, ci_for, render_stages};
use crate::deliver::git::{Git, TRAILER};
use crate::deliver::hooks;
use crate::deliver::notify::{Level, Notifier};
use crate::deliver::tree_lock::TreeLock;
use crate::deliver::verify::Target;
use crate::output;
use crate::plan::downgrade;
use crate::plan::prepare::{Prepared, Request, prepare};
use crate::plan::review::{PlanReport, render};
use crate::policy::filter::{Update, judge};
use crate::policy::rate_limit::{RateLimit, now};
use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::LazyLock;
use std::time::Duration;
use upkeep_notes::Risk;
use upkeep_pins::{EditPlan, Pin, ScanOptions, SetRequest, plan_set, scan};

/// Markers that make a CI skip a commit; an upgrade commit must be applied.
static CI_SKIP: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\[\s*(?:ci[ _-]?skip|skip[ _-]?ci|no[ _-]?ci|skip actions)\s*\]|\*\*\*NO_CI\*\*\*",
    )
    .expect("valid regex")
});

/// One commit made.
#[derive(Debug, Serialize)]
struct Committed {
    version: String,
    sha: String,
    pushed: bool,
}

/// The final report.
#[derive(Debug, Serialize)]
struct BumpReport {
    outcome: &'static str,
    name: String,
    stack: String,
    old: String,
    new: String,
    risk: Risk,
    steps: Vec<String>,
    commits: Vec<Committed>,
    stages: Vec<crate::deliver::deploy::Stage>,
}

/// Plans, runs the hooks, edits, commits and pushes; prints the report.
pub fn run(args: &BumpArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config_file, &args.path)?;
    let mut stages = Stages::default();
    // Before anything is recorded: refuse a dirty tree or a detached HEAD.
    let state_file = args.path.join(&config.filter.state_file);
    let mut lock = TreeLock::of(&args.path)?;
    let git = match args.dry_run {
        true => None,
        false => {
            lock.acquire()?;
            Some(Git::open(
                &args.path,
                &config.git.remote,
                Some(&state_file),
            )?)
        }
    };
    if let (Some(git), true) = (&git, args.sync) {
        stages.run("sync", || {
            let detail = match git.sync()? {
                Some(tip) => format!("fast-forwarded to {tip}"),
                None => "up to date".to_owned(),
            };
            Ok(((), detail))
        })?;
    }
    let (name, version) = match &args.diun {
        Some(file) => match stages.run("filter", || judge_diun(file, args, &config))? {
            Ok(update) => update,
            Err(reason) => {
                output::print(&format!("skip: {reason}\n"))?;
                return Ok(ExitCode::from(1));
            }
        },
        None => (
            args.name.clone().unwrap_or_default(),
            args.version.clone().unwrap_or_default(),
        ),
    };
    let request = Request {
        root: &args.path,
        name: &name,
        version: &version,
        kind: None,
        cache_dir: None,
        no_cache: false,
        max_wait: 60,
    };
    let prepared = stages.run("plan", || {
        let prepared = prepare(&request, &config)?;
        let detail = match &prepared {
            Prepared::Nothing(why) => why.clone(),
            Prepared::Plan(report) => format!("{} ({})", report.risk, report.reason),
        };
        Ok((prepared, detail))
    })?;
    let report = match prepared {
        Prepared::Nothing(why) => {
            output::print(&format!("{why}\n"))?;
            return Ok(ExitCode::from(1));
        }
        Prepared::Plan(report) => report,
    };
    downgrade::check(&report, args.allow_downgrade)?;
    let Some(git) = git else {
        return dry_run(args, &config, &report, &name);
    };
    let notifier = Notifier::new(config.notify.slack_webhook_url.as_deref());
    let headline = format!(
        "{} {} -> {} ({})",
        report.stack, report.old, report.new, report.risk
    );
    notifier.send(Level::Start, &format!("upkeep: upgrading {headline}"));
    let db_backup = match stages.run("backup", || backup(&config, &report, &args.path)) {
        Ok(line) => line,
        Err(error) => {
            notifier.send(
                Level::Failure,
                &format!("upkeep: {headline}: backup failed, nothing changed: {error:#}"),
            );
            print_report(args, "aborted", &report, Vec::new(), stages)?;
            return Err(error.context("the pre-upgrade backup failed; nothing was edited"));
        }
    };
    let steps = if report.risk == Risk::Caution {
        report.steps.clone()
    } else {
        vec![report.new.clone()]
    };
    let delivery = delivery(args, &config, &git, &report)?;
    let mut commits = Vec::new();
    let mut previous = report.old.clone();
    for step in &steps {
        lock.acquire()?;
        let files = stages.run("edit", || edit(&args.path, &config, &name, step))?;
        let message = message(&report, &previous, step, &db_backup);
        let root = git.root();
        let sha = stages.run("commit", || {
            let paths = repo_paths(&root, &args.path, &files)?;
            let sha = git.commit(&paths, &message, config.git.author().as_ref())?;
            Ok((sha, format!("{sha} ({} file(s))", paths.len())))
        })?;
        let delivered = match delivery.deliver(&mut stages, sha, &mut lock) {
            Ok(delivered) => delivered,
            Err(error) => {
                notifier.send(Level::Failure, &format!("upkeep: {headline}: {error:#}"));
                return Err(error);
            }
        };
        let (sha, failure) = match delivered {
            Ok(sha) => (sha, None),
            Err((sha, why)) => (sha, Some(why)),
        };
        commits.push(Committed {
            version: step.clone(),
            sha: sha.to_string(),
            pushed: !args.no_push,
        });
        if let Some(why) = failure {
            let text = format!("upkeep: {headline}: {step} ({sha}) failed: {why}");
            return match delivery.roll_back(&mut stages, sha, &mut lock)? {
                Ok(revert) => {
                    notifier.send(
                        Level::Failure,
                        &format!("{text}; rolled back with {revert}"),
                    );
                    print_report(args, "rolled_back", &report, commits, stages)?;
                    Ok(ExitCode::from(1))
                }
                Err(why) => {
                    let text = format!("{text}; the rollback failed too ({why}): look now");
                    notifier.send(Level::Critical, &text);
                    print_report(args, "critical", &report, commits, stages)?;
                    Ok(ExitCode::from(2))
                }
            };
        }
        previous = step.clone();
    }
    let shas: Vec<&str> = commits.iter().map(|c| c.sha.as_str()).collect();
    notifier.send(
        Level::Success,
        &format!("upkeep: upgraded {headline}: {}", shas.join(", ")),
    );
    print_report(args, "success", &report, commits, stages)?;
    Ok(ExitCode::SUCCESS)
}

/// How this bump's commits are delivered: CI and verification from the flags or config,
/// the verification window from the risk.
fn delivery<'a>(
    args: &BumpArgs,
    config: &Config,
    git: &'a Git,
    report: &PlanReport,
) -> anyhow::Result<Delivery<'a>> {
    let verify_on = match args.verify {
        Some(mode) => mode == VerifyMode::On,
        None => config.verify.enabled,
    };
    let minutes = if report.risk == Risk::Caution {
        config.verify.caution_minutes
    } else {
        config.verify.safe_minutes
    };
    let verify = match report.pins.first() {
        Some(pin) if verify_on => Some((
            Target::of(&args.path, &pin.stack(), &report.stack, &config.verify),
            config.verify.clone(),
            Duration::from_secs(minutes * 60),
        )),
        _ => None,
    };
    Ok(Delivery {
        git,
        no_push: args.no_push,
        ci: ci_for(args.ci.map(|mode| mode == CiMode::Woodpecker), config)?,
        verify,
        author: config.git.author(),
        clock: Clock::from_env(),
    })
}

/// An update's image and tag, or why it is skipped.
type Judged = Result<(String, String), String>;

/// With `--diun`: the update's image and tag, or why it is skipped (the filter's rules).
fn judge_diun(file: &Path, args: &BumpArgs, config: &Config) -> anyhow::Result<(Judged, String)> {
    let text = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let update = Update::parse(&text)?;
    let report = scan(&args.path, &config.scan_options())?;
    let verdict = match judge(&update, config, &report.pins) {
        Err(skip) => Err(skip.reason),
        Ok(_) if args.dry_run => Ok(()),
        Ok(_) => RateLimit::new(&args.path, &config.filter)
            .admit(&format!("{} {}", update.image, update.tag), now())?,
    };
    let detail = match &verdict {
        Ok(()) => format!("accept {}:{}", update.image, update.tag),
        Err(reason) => format!("skip: {reason}"),
    };
    Ok((verdict.map(|()| (update.image, update.tag)), detail))
}

/// Runs the pre-upgrade hooks of a DB-backed stack; the commit's `DB backup:` line.
fn backup(config: &Config, report: &PlanReport, root: &Path) -> anyhow::Result<(String, String)> {
    let Some(job) = config.db_backed_services.backup_of(&report.stack) else {
        let line = "no (not DB-backed)".to_owned();
        return Ok((line.clone(), line));
    };
    if config.hooks.pre_upgrade.is_empty() {
        let line = "skipped (DB-backed, but no pre_upgrade hook is configured)".to_owned();
        return Ok((line.clone(), line));
    }
    let dir = report.pins.first().map(Pin::stack).unwrap_or_default();
    let namespace = Target::of(root, &dir, &report.stack, &config.verify).namespace;
    let runs = hooks::run_all(&config.hooks.pre_upgrade, &report.stack, &namespace, now());
    let failed = runs.iter().find(|run| !run.ok);
    if let Some(run) = failed {
        bail!("`{}` failed: {}", run.command.join(" "), run.detail);
    }
    let seconds: f64 = runs.iter().map(|run| run.seconds).sum();
    let line = match job {
        Some(job) => format!("yes (job: {job}, {} hook(s), {seconds:.1} s)", runs.len()),
        None => format!("yes ({} hook(s), {seconds:.1} s)", runs.len()),
    };
    Ok((line.clone(), line))
}

/// Moves every pin of `name` to `version`; the files written, relative to `root`.
fn edit(
    root: &Path,
    config: &Config,
    name: &str,
    version: &str,
) -> anyhow::Result<(Vec<PathBuf>, String)> {
    let strict = ScanOptions {
        strict: true,
        ..config.scan_options()
    };
    let report = scan(root, &strict)?;
    let request = SetRequest {
        name,
        version,
        from: None,
        kind: None,
    };
    let plan = plan_set(root, &report, &request)?;
    if plan.changes.is_empty() {
        bail!("no pin of `{name}` moves to {version}");
    }
    let edits =
        EditPlan::new(root, &plan.edits()).context("the edit was refused; nothing was written")?;
    edits.apply().context("nothing was written")?;
    let files: Vec<PathBuf> = edits.changes().iter().map(|c| c.file.clone()).collect();
    let detail = format!(
        "{} pin(s) to {version} in {} file(s)",
        plan.changes.len(),
        files.len()
    );
    Ok((files, detail))
}

/// Paths relative to the repository's root, from paths relative to `root`.
fn repo_paths(repo_root: &Path, root: &Path, files: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let repo_root = std::fs::canonicalize(repo_root)?;
    files
        .iter()
        .map(|file| {
            let absolute = std::fs::canonicalize(root.join(file))?;
            absolute
                .strip_prefix(&repo_root)
                .map(Path::to_owned)
                .map_err(|_| anyhow!("{} is outside the repository", file.display()))
        })
        .collect()
}

/// The commit message of one step: the plan's review with this step's versions, the backup
/// actually made, and the trailer; no CI-skip marker survives.
fn message(report: &PlanReport, from: &str, to: &str, db_backup: &str) -> String {
    let mut lines: Vec<String> = report.commit_message.lines().map(str::to_owned).collect();
    if let Some(first) = lines.first_mut() {
        *first = format!("upgrade: {} {from} -> {to}", report.stack);
        if report.downgrade {
            *first = downgrade::retitle(first);
        }
    }
    for line in &mut lines {
        if line.starts_with("DB backup: ") {
            *line = format!("DB backup: {db_backup}");
        }
    }
    let body = lines.join("\n");
    let body = CI_SKIP.replace_all(&body, "");
    format!("{}\n\n{TRAILER}\n", body.trim_end())
}

fn dry_run(
    args: &BumpArgs,
    config: &Config,
    report: &PlanReport,
    name: &str,
) -> anyhow::Result<ExitCode> {
    let strict = ScanOptions {
        strict: true,
        ..config.scan_options()
    };
    let scanned = scan(&args.path, &strict)?;
    let request = SetRequest {
        name,
        version: &report.new,
        from: None,
        kind: None,
    };
    let plan = plan_set(&args.path, &scanned, &request)?;
    let edits = EditPlan::new(&args.path, &plan.edits())?;
    let message = message(report, &report.old, &report.new, &report.db_backup);
    let text = format!(
        "{}\n{}\nCommit message:\n{}\ndry run: nothing was written, committed or pushed\n",
        render(report),
        output::diff::unified(edits.changes()),
        message
            .lines()
            .map(|line| format!("  {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn print_report(
    args: &BumpArgs,
    outcome: &'static str,
    report: &PlanReport,
    commits: Vec<Committed>,
    stages: Stages,
) -> anyhow::Result<()> {
    let bump = BumpReport {
        outcome,
        name: report.name.clone(),
        stack: report.stack.clone(),
        old: report.old.clone(),
        new: report.new.clone(),
        risk: report.risk,
        steps: report.steps.clone(),
        commits,
        stages: stages.0,
    };
    match args.format {
        Format::Json => output::print_json(&bump),
        Format::Human => {
            let mut text = format!(
                "{} {} -> {}: {outcome} ({})\n",
                bump.stack, bump.old, bump.new, bump.risk
            );
            text.push_str(&render_stages(&bump.stages));
            output::print(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CI_SKIP;

    #[test]
    fn ci_skip_markers_never_survive_in_an_upgrade_commit() {
        let quoted = "Breaking changes: v2.0.0: docs [skip ci] fix; [CI SKIP] release; ***NO_CI*** [ci-skip]";
        let cleaned = CI_SKIP.replace_all(quoted, "");
        assert!(!cleaned.to_lowercase().contains("skip"), "{cleaned}");
        assert!(!cleaned.contains("NO_CI"), "{cleaned}");
    }
}
