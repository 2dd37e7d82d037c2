//! `upkeep bump`: a decided update becomes a reviewed commit on the branch the CI applies.

use super::set::edit_failed;
use crate::args::{BumpArgs, CiMode, Format, VerifyMode};
use crate::config::{Config, OnMigration};
use crate::deliver::backup::{Backup, Made, Source};
use crate::deliver::clock::Clock;
use crate::deliver::cluster::Cluster;
use crate::deliver::deploy::{Delivery, Done, Stages, ci_for, render_stages};
use crate::deliver::gates::{self, Prometheus};
use crate::deliver::git::{Aligned, Git, TRAILER};
use crate::deliver::notify::{Level, Notifier};
use crate::deliver::preflight::{self, Preflight};
use crate::deliver::tree_lock::TreeLock;
use crate::deliver::verify::{Check, Target};
use crate::deliver::woodpecker::Woodpecker;
use crate::output;
use crate::plan::downgrade;
use crate::plan::prepare::{Prepared, Request, prepare};
use crate::plan::review::{PlanReport, render};
use crate::plan::rollout::{IgnoredPlace, Rollout};
use crate::policy::filter::{Update, judge};
use crate::policy::rate_limit::{RateLimit, now};
use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use upkeep_notes::Risk;
use upkeep_pins::{EditPlan, Pin, SetError, SetPlan, SetRequest, Version, plan_set, scan};

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

/// One preflight check, as reported.
#[derive(Debug, Serialize)]
struct Checked {
    name: &'static str,
    #[serde(flatten)]
    check: Check,
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
    /// Whether Terraform rolls the bump out somewhere (see `plan::rollout`).
    rolls_out: bool,
    /// The places that move but that Terraform will not roll out.
    ignored_by_terraform: Vec<IgnoredPlace>,
    commits: Vec<Committed>,
    preflight: Vec<Checked>,
    gated: Vec<String>,
    backup: Option<Made>,
    stages: Vec<crate::deliver::deploy::Stage>,
}

/// What the report is made of, gathered as the bump goes.
#[derive(Default)]
struct Progress {
    stages: Stages,
    preflight: Preflight,
    gated: Vec<String>,
    backup: Option<Made>,
    commits: Vec<Committed>,
}

/// What a bump needs beyond the plan, connected and checked in preflight.
struct Resources {
    ci: anyhow::Result<Option<Woodpecker>>,
    cluster: anyhow::Result<Option<Cluster>>,
    prometheus: anyhow::Result<Option<Prometheus>>,
    notifier: Notifier,
    backup: Backup,
    verify_on: bool,
    /// Why verification is skipped although it was asked for.
    verify_skipped: Option<&'static str>,
}

impl Resources {
    fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref().ok().and_then(Option::as_ref)
    }

    fn prometheus(&self) -> Option<&Prometheus> {
        self.prometheus.as_ref().ok().and_then(Option::as_ref)
    }
}

/// Fetches and compares, plans, checks everything, backs up, then edits, commits and
/// delivers each step; prints the report.
pub fn run(args: &BumpArgs, config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config_file, &args.path)?;
    let mut progress = Progress::default();
    let state_file = args.path.join(&config.filter.state_file);
    let mut lock = TreeLock::of(&args.path)?;
    // A bump of a named version plans while git fetches (see [`align_and_plan`]); a DIUN
    // update is judged on the aligned tree, as the judgement counts against the rate limit.
    let given = args.diun.is_none().then(|| {
        (
            args.name.clone().unwrap_or_default(),
            args.version.clone().unwrap_or_default(),
        )
    });
    // Before anything is read: a clean tree on a branch; in line with the remote before
    // anything read is used.
    let (git, git_check, planned) = if args.dry_run {
        let (git, check) = preflight::git_standing(&args.path, &config.git.remote, &state_file);
        (git, check, None)
    } else {
        lock.acquire()?;
        // A multi-file edit killed mid-way is finished or undone, and its debris removed,
        // before the tree is judged clean.
        crate::deliver::recover::tree(&args.path)?;
        let git = Git::open(&args.path, &config.git.remote, Some(&state_file))?;
        let early = given
            .as_ref()
            .map(|(name, version)| request(&args.path, name, version));
        let (aligned, planned) = align_and_plan(&git, early.as_ref(), &config, &mut progress)?;
        let detail = aligned.describe();
        if let (Aligned::Own(lines), Format::Human) = (&aligned, args.format) {
            output::print(&format!(
                "{} earlier upkeep commit(s), not yet pushed, go out with this push:\n  {}\n",
                lines.len(),
                lines.join("\n  ")
            ))?;
        }
        (Some(git), Check::Passed(detail), planned)
    };
    let (name, version) = match (&args.diun, given) {
        (Some(file), _) => match progress
            .stages
            .run("filter", || judge_diun(file, args, &config))?
        {
            Ok(update) => update,
            Err(reason) => {
                output::print(&format!("skip: {reason}\n"))?;
                return Ok(ExitCode::from(1));
            }
        },
        (None, given) => given.unwrap_or_default(),
    };
    let prepared = match planned {
        Some(done) => progress.stages.record("plan", done)?,
        None => {
            let request = request(&args.path, &name, &version);
            progress.stages.run("plan", || plan(&request, &config))?
        }
    };
    let report = match prepared {
        Prepared::Nothing(why) => {
            output::print(&format!("{why}\n"))?;
            return Ok(ExitCode::from(1));
        }
        Prepared::Plan(report) => report,
    };
    downgrade::check(&report, args.allow_downgrade)?;
    let rollout = Rollout::of(&report.pins);
    if !rollout.rolls_out() && !args.even_if_ignored && !args.dry_run {
        print_report(args, "not_rolled_out", &report, progress)?;
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{}", rollout.refusal(&name));
        }
        return Ok(ExitCode::from(1));
    }
    if let (Some(warning), true, Format::Human) =
        (rollout.warning(), rollout.rolls_out(), args.format)
    {
        output::print(&format!("{warning}\n"))?;
    }
    // Everything the run needs, checked before any change.
    progress.preflight.add("git", git_check);
    let mut resources = resources(args, &config, &report);
    preflight(args, &mut resources, &mut progress.preflight);
    let (edit_check, checked_edit) = writable(&args.path, &report);
    progress.preflight.add("edit", edit_check);
    let alerts = match resources.prometheus() {
        Some(prometheus) => match prometheus.firing() {
            Ok(alerts) => Some(alerts),
            Err(error) => {
                progress
                    .preflight
                    .add("alerts", Check::Failed(format!("{error:#}")));
                None
            }
        },
        None => None,
    };
    let failures = progress.preflight.failures();
    let summary = progress.preflight.summary();
    progress.stages.run("preflight", || Ok(((), summary)))?;
    progress.gated = gates::evaluate(
        &config.gates,
        alerts.as_deref(),
        git.as_ref(),
        &report.stack,
    )?;
    if args.dry_run {
        return dry_run(args, &report, checked_edit.as_ref(), &resources, &progress);
    }
    let Some(git) = git else {
        bail!("no repository");
    };
    if !failures.is_empty() {
        print_report(args, "aborted", &report, progress)?;
        bail!(
            "preflight failed; nothing was changed:\n  {}",
            failures.join("\n  ")
        );
    }
    if !progress.gated.is_empty() {
        let gated = progress.gated.join(", ");
        progress
            .stages
            .run("gates", || Ok(((), format!("gated: {gated}"))))?;
        print_report(args, "gated", &report, progress)?;
        #[allow(clippy::print_stderr)]
        {
            eprintln!("gated: {gated}; nothing was changed");
        }
        return Ok(ExitCode::from(1));
    }
    progress
        .stages
        .run("gates", || Ok(((), "open".to_owned())))?;
    let notifier = &resources.notifier;
    let headline = format!(
        "{} {} -> {} ({})",
        report.stack, report.old, report.new, report.risk
    );
    notifier.send(Level::Start, &format!("upkeep: upgrading {headline}"));
    let clock = Clock::from_env();
    let made = progress.stages.run("backup", || {
        let made = resources.backup.run(resources.cluster(), &clock, now())?;
        let last = made.log.trim_end().lines().last().unwrap_or_default();
        let detail = match last {
            "" => made.line.clone(),
            last => format!("{}; log: {last}", made.line),
        };
        Ok((made, detail))
    });
    let made = match made {
        Ok(made) => made,
        Err(error) => {
            notifier.send(
                Level::Failure,
                &format!("upkeep: {headline}: backup failed, nothing changed: {error:#}"),
            );
            print_report(args, "aborted", &report, progress)?;
            return Err(error.context("the pre-upgrade backup failed; nothing was edited"));
        }
    };
    progress.backup = Some(made.clone());
    let steps = if report.risk == Risk::Caution {
        report.steps.clone()
    } else {
        vec![report.new.clone()]
    };
    let delivery = delivery(args, &config, &git, &report, &resources, clock);
    let db_backed = resources.backup.source != Source::NotDbBacked;
    let mut previous = report.old.clone();
    // The first step writes the edit checked in preflight, when it goes to the same version:
    // the files it rewrites are compared with what was read then before they are replaced
    // (see `EditPlan::apply`). Each later step is planned on the tree the one before left.
    let mut checked_edit = checked_edit.filter(|_| steps.first() == Some(&report.new));
    for step in &steps {
        // Whoever heard that the upgrade started hears how it failed.
        let failed = |error: anyhow::Error| {
            notifier.send(Level::Failure, &format!("upkeep: {headline}: {error:#}"));
            error
        };
        lock.acquire().map_err(failed)?;
        let files = progress
            .stages
            .run("edit", || match checked_edit.take() {
                Some(edits) => write(&edits, report.set.changes.len(), step),
                None => edit(&args.path, &config, &name, step),
            })
            .map_err(failed)?;
        let message = message(&report, &previous, step, &made.line, db_backed);
        let root = git.root();
        let sha = progress
            .stages
            .run("commit", || {
                let paths = repo_paths(&root, &args.path, &files)?;
                let sha = git.commit(&paths, &message, config.git.author().as_ref())?;
                Ok((sha, format!("{sha} ({} file(s))", paths.len())))
            })
            .map_err(failed)?;
        let delivered = delivery
            .deliver(&mut progress.stages, sha, &mut lock)
            .map_err(failed)?;
        let (sha, failure) = match delivered {
            Ok(sha) => (sha, None),
            Err((sha, why)) => (sha, Some(why)),
        };
        progress.commits.push(Committed {
            version: step.clone(),
            sha: sha.to_string(),
            pushed: !args.no_push,
        });
        if let Some(why) = failure {
            let text = format!("upkeep: {headline}: {step} ({sha}) failed: {why}");
            let migrations = migrations_in(&report, &previous, step);
            let hold = db_backed
                && !migrations.is_empty()
                && config.rollback.on_migration == OnMigration::Hold;
            if hold {
                let backup = made.job.as_deref().map_or_else(
                    || format!("no backup Job ({})", made.line),
                    |job| format!("backup Job {job}"),
                );
                let detail = format!(
                    "not reverted: the notes of {} mention database migrations, which may have run; the old version may not start on the migrated database. Roll forward, or restore from the {backup}",
                    migrations.join(", ")
                );
                notifier.send(Level::Critical, &format!("{text}; {detail}: look now"));
                progress.stages.run("hold", || Ok(((), detail)))?;
                print_report(args, "held", &report, progress)?;
                return Ok(ExitCode::from(2));
            }
            let rolled_back = delivery
                .roll_back(&mut progress.stages, sha, &mut lock)
                .map_err(|error| {
                    let why = format!("{text}; the rollback could not run ({error:#}): look now");
                    notifier.send(Level::Critical, &why);
                    error
                })?;
            return match rolled_back {
                Ok(revert) => {
                    notifier.send(
                        Level::Failure,
                        &format!("{text}; rolled back with {revert}"),
                    );
                    print_report(args, "rolled_back", &report, progress)?;
                    Ok(ExitCode::from(1))
                }
                Err(why) => {
                    let text = format!("{text}; the rollback failed too ({why}): look now");
                    notifier.send(Level::Critical, &text);
                    print_report(args, "critical", &report, progress)?;
                    Ok(ExitCode::from(2))
                }
            };
        }
        previous = step.clone();
    }
    let shas: Vec<&str> = progress.commits.iter().map(|c| c.sha.as_str()).collect();
    notifier.send(
        Level::Success,
        &format!("upkeep: upgraded {headline}: {}", shas.join(", ")),
    );
    print_report(args, "success", &report, progress)?;
    Ok(ExitCode::SUCCESS)
}

/// The edit check: every file the bump rewrites can be rewritten (no hard link, an owner
/// this user can keep, the edited file parses), so a refusal stops the run before the
/// backup and the first notification, not after. Checked on the plan's own move, planned on a
/// scan strict for the name (a file the edit depends on that does not parse refused it
/// there); the checked edit, which the first step writes.
fn writable(root: &Path, report: &PlanReport) -> (Check, Option<EditPlan>) {
    if let Some(refused) = &report.edit_refused {
        return (Check::Failed(refused.clone()), None);
    }
    match EditPlan::new(root, &report.set.edits()) {
        Ok(edits) => {
            let detail = format!(
                "{} pin(s) in {} file(s) can be rewritten",
                report.set.changes.len(),
                edits.changes().len()
            );
            (Check::Passed(detail), Some(edits))
        }
        Err(error) => (Check::Failed(format!("{error:#}")), None),
    }
}

/// A refused edit plan, naming each file that does not parse.
fn broken_files(error: SetError) -> anyhow::Error {
    match error {
        SetError::BrokenFiles { files, .. } => {
            let files: Vec<String> = files.iter().map(ToString::to_string).collect();
            anyhow!(
                "files the edit reads do not parse (a strict scan): {}",
                files.join("; ")
            )
        }
        error => error.into(),
    }
}

/// Connects what the run will use: CI, the cluster, Prometheus, Slack; the backup and the
/// verification target of the stack.
fn resources(args: &BumpArgs, config: &Config, report: &PlanReport) -> Resources {
    let verify_asked = !args.no_push
        && match args.verify {
            Some(mode) => mode == VerifyMode::On,
            None => config.verify.enabled,
        };
    // Nothing rolls out (`--even-if-ignored`): a verification would check what did not change.
    let verify_on = verify_asked && report.rolls_out;
    let verify_skipped = (verify_asked && !verify_on).then_some(
        "not needed: Terraform ignores every place this moves (lifecycle.ignore_changes), so nothing rolls out to verify",
    );
    let dir = report.pins.first().map(Pin::stack).unwrap_or_default();
    let target = Target::of(&args.path, &dir, &report.stack, &config.verify);
    let backup = Backup::of(config, &report.stack, &target.namespace, args.no_backup);
    let ci = match args.no_push {
        true => Ok(None),
        false => ci_for(args.ci.map(|mode| mode == CiMode::Woodpecker), config),
    };
    let cluster = match verify_on || backup.needs_cluster() {
        true => Cluster::connect(),
        false => Ok(None),
    };
    Resources {
        ci,
        cluster,
        prometheus: Prometheus::from_config(&config.gates),
        notifier: Notifier::new(config.notify.slack_webhook_url.as_deref()),
        backup,
        verify_on,
        verify_skipped,
    }
}

/// The preflight checks after `git`: CI, Slack, Kubernetes, Prometheus, the backup.
fn preflight(args: &BumpArgs, resources: &mut Resources, preflight: &mut Preflight) {
    let ci = match args.no_push {
        true => Check::Skipped("--no-push".to_owned()),
        false => preflight::ci(&resources.ci, args.ci == Some(CiMode::None)),
    };
    preflight.add("ci", ci);
    preflight.add("slack", resources.notifier.check());
    let needed = resources.verify_on || resources.backup.needs_cluster();
    let kubernetes = match resources.verify_skipped {
        Some(why) if !needed => Check::Skipped(why.to_owned()),
        _ => preflight::kubernetes(&resources.cluster, needed),
    };
    preflight.add("kubernetes", kubernetes);
    preflight.add("prometheus", preflight::prometheus(&resources.prometheus));
    let cluster = resources.cluster.as_ref().ok().and_then(Option::as_ref);
    let backup = resources.backup.check(cluster);
    preflight.add("backup", backup);
}

/// How this bump's commits are delivered: CI and verification as checked in preflight,
/// the verification window from the risk.
fn delivery<'a>(
    args: &BumpArgs,
    config: &Config,
    git: &'a Git,
    report: &PlanReport,
    resources: &'a Resources,
    clock: Clock,
) -> Delivery<'a> {
    let minutes = if report.risk == Risk::Caution {
        config.verify.caution_minutes
    } else {
        config.verify.safe_minutes
    };
    let verify = match report.pins.first() {
        Some(pin) if resources.verify_on => Some((
            Target::of(&args.path, &pin.stack(), &report.stack, &config.verify),
            config.verify.clone(),
            Duration::from_secs(minutes * 60),
        )),
        _ => None,
    };
    Delivery {
        git,
        no_push: args.no_push,
        ci: resources.ci.as_ref().ok().and_then(Option::as_ref),
        verify,
        author: config.git.author(),
        clock,
        cluster: resources.cluster(),
        prometheus: resources.prometheus(),
    }
}

/// An update's image and tag, or why it is skipped.
type Judged = Result<(String, String), String>;

/// What `bump` asks the planner: every pin of `name` in `root`, to `version`.
fn request<'a>(root: &'a Path, name: &'a str, version: &'a str) -> Request<'a> {
    Request {
        root,
        name,
        version,
        kind: None,
        cache_dir: None,
        no_cache: false,
        max_wait: 60,
    }
}

/// The plan stage: the plan, and its risk and reason as the stage's detail.
fn plan(request: &Request<'_>, config: &Config) -> anyhow::Result<(Prepared, String)> {
    let prepared = prepare(request, config)?;
    let detail = match &prepared {
        Prepared::Nothing(why) => why.clone(),
        Prepared::Plan(report) => format!("{} ({})", report.risk, report.reason),
    };
    Ok((prepared, detail))
}

/// The git stage — the branch aligned with the remote ([`Git::align`]) — with, given
/// `early`, the plan made while git fetches: planning reads the working tree, which a fetch
/// leaves alone, and a fetch from a remote far away is mostly waiting, as is the plan for
/// GitHub. The plan is returned only when aligning left HEAD where it was; else it is made
/// again, on the tree it moved to. A failed alignment is the error whatever the plan found
/// (found after the plan's requests: a refusal still changes nothing). The git stage counts
/// the fetch and the comparison, not the plan beside them.
fn align_and_plan(
    git: &Git,
    early: Option<&Request<'_>>,
    config: &Config,
    progress: &mut Progress,
) -> anyhow::Result<(Aligned, Option<Done<Prepared>>)> {
    let head = git.head();
    let job = git.fetch_job();
    let (fetched, fetching_took, planned) = match (&job, &head) {
        (Ok(job), Ok(_)) => std::thread::scope(|scope| {
            let fetching = scope.spawn(|| {
                let started = Instant::now();
                (job.run(), started.elapsed())
            });
            let planned =
                early.map(|request| Done::after(Duration::ZERO, || plan(request, config)));
            let (fetched, took) = fetching
                .join()
                .unwrap_or_else(|_| (Err(anyhow!("the fetch's thread panicked")), Duration::ZERO));
            (fetched, took, planned)
        }),
        _ => (Ok(()), Duration::ZERO, None),
    };
    let (aligned, head) = progress.stages.record(
        "git",
        Done::after(fetching_took, || {
            let head = head?;
            job?;
            fetched?;
            let aligned = git.align_fetched()?;
            let detail = aligned.describe();
            Ok(((aligned, head), detail))
        }),
    )?;
    let planned = planned.filter(|_| git.head().is_ok_and(|now| now == head));
    Ok((aligned, planned))
}

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

/// The move of every pin of `name` to `version`, planned on a scan strict for the name.
fn plan_edit(root: &Path, config: &Config, name: &str, version: &str) -> anyhow::Result<SetPlan> {
    let report = scan(root, &config.scan_options_for_edit_of(name))?;
    let request = SetRequest {
        name,
        version,
        from: None,
        kind: None,
    };
    plan_set(root, &report, &request).map_err(broken_files)
}

/// Moves every pin of `name` to `version`; the files written, relative to `root`.
fn edit(
    root: &Path,
    config: &Config,
    name: &str,
    version: &str,
) -> anyhow::Result<(Vec<PathBuf>, String)> {
    let plan = plan_edit(root, config, name, version)?;
    if plan.changes.is_empty() {
        bail!("no pin of `{name}` moves to {version}");
    }
    let edits = EditPlan::new(root, &plan.edits())
        .map_err(|error| edit_failed(error, "the edit was refused; nothing was written"))?;
    write(&edits, plan.changes.len(), version)
}

/// Writes `edits`, which move `pins` pin(s) to `version`; the files written, relative to the
/// root.
fn write(edits: &EditPlan, pins: usize, version: &str) -> anyhow::Result<(Vec<PathBuf>, String)> {
    edits
        .apply()
        .map_err(|error| edit_failed(error, "nothing was written"))?;
    let files: Vec<PathBuf> = edits.changes().iter().map(|c| c.file.clone()).collect();
    let detail = format!("{pins} pin(s) to {version} in {} file(s)", files.len());
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

/// The releases after `from` up to `to` whose notes mention database migrations.
fn migrations_in(report: &PlanReport, from: &str, to: &str) -> Vec<String> {
    let (Some(from), Some(to)) = (Version::parse(from), Version::parse(to)) else {
        return report.migrations.clone();
    };
    report
        .migrations
        .iter()
        .filter(|release| Version::parse(release).is_some_and(|v| v > from && v <= to))
        .cloned()
        .collect()
}

/// The commit message of one step: the plan's review with this step's versions, the backup
/// actually made, a warning when a revert may not be safe, and the trailer; no CI-skip
/// marker survives.
fn message(report: &PlanReport, from: &str, to: &str, db_backup: &str, db_backed: bool) -> String {
    let mut lines: Vec<String> = report.commit_message.lines().map(str::to_owned).collect();
    if let Some(first) = lines.first_mut() {
        *first = format!("upgrade: {} {from} -> {to}", report.stack);
        if report.downgrade {
            *first = downgrade::retitle(first);
        }
    }
    let mut at = None;
    for (index, line) in lines.iter_mut().enumerate() {
        if line.starts_with("DB backup: ") {
            *line = format!("DB backup: {db_backup}");
            at = Some(index + 1);
        }
    }
    let migrations = migrations_in(report, from, to);
    if db_backed && !migrations.is_empty() {
        let warning = format!(
            "Rollback: may not be safe: migrations in {}",
            migrations.join(", ")
        );
        lines.insert(at.unwrap_or(lines.len()), warning);
    }
    let body = lines.join("\n");
    let body = CI_SKIP.replace_all(&body, "");
    format!("{}\n\n{TRAILER}\n", body.trim_end())
}

/// `--dry-run`: the plan, the preflight, the gates, the backup, the diff and the commit
/// message; nothing is written. Exits 2 when the preflight failed, 1 when gated or when
/// Terraform would roll nothing out (without `--even-if-ignored`).
fn dry_run(
    args: &BumpArgs,
    report: &PlanReport,
    edits: Option<&EditPlan>,
    resources: &Resources,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    let db_backup = resources.backup.describe();
    let db_backed = resources.backup.source != Source::NotDbBacked;
    let message = message(report, &report.old, &report.new, &db_backup, db_backed);
    let gates = match progress.gated.as_slice() {
        [] => "open".to_owned(),
        gated => format!("gated: {}", gated.join(", ")),
    };
    let failures = progress.preflight.failures();
    let stops = !report.rolls_out && !args.even_if_ignored;
    let verdict = match (failures.is_empty(), stops, progress.gated.is_empty()) {
        (false, _, _) => "dry run: the preflight failed, a bump would stop before any change",
        (true, true, _) => {
            "dry run: Terraform ignores every place this moves; a bump would stop before any change (--even-if-ignored to commit it anyway)"
        }
        (true, false, false) => "dry run: gated, a bump would stop before any change",
        (true, false, true) => "dry run: nothing was written, committed or pushed",
    };
    let text = format!(
        "{}\n{}Gates: {gates}\nDB backup: {db_backup}\n\n{}\nCommit message:\n{}\n{verdict}\n",
        render(report),
        progress.preflight.render(),
        edits.map_or_else(
            || "(no diff: the edit check failed)\n".to_owned(),
            |edits| output::diff::unified(edits.changes())
        ),
        message
            .lines()
            .map(|line| format!("  {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    output::print(&text)?;
    Ok(
        match (failures.is_empty(), stops || !progress.gated.is_empty()) {
            (false, _) => ExitCode::from(2),
            (true, true) => ExitCode::from(1),
            (true, false) => ExitCode::SUCCESS,
        },
    )
}

fn print_report(
    args: &BumpArgs,
    outcome: &'static str,
    report: &PlanReport,
    progress: Progress,
) -> anyhow::Result<()> {
    let bump = BumpReport {
        outcome,
        name: report.name.clone(),
        stack: report.stack.clone(),
        old: report.old.clone(),
        new: report.new.clone(),
        risk: report.risk,
        steps: report.steps.clone(),
        rolls_out: report.rolls_out,
        ignored_by_terraform: report.ignored_by_terraform.clone(),
        commits: progress.commits,
        preflight: progress
            .preflight
            .0
            .into_iter()
            .map(|(name, check)| Checked { name, check })
            .collect(),
        gated: progress.gated,
        backup: progress.backup,
        stages: progress.stages.0,
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
