//! Planning one update: find the pins, resolve the notes' source, read the notes between the
//! pinned and the wanted version, decide the risk with its evidence, and draft the review.

use crate::config::Config;
use crate::detect::chart_index::ChartIndexes;
use crate::detect::http_retry::Http;
use crate::detect::registry::Registries;
use crate::dirs::default_cache_dir;
use crate::plan::downgrade;
use crate::plan::review::{MessageParts, PlanReport, RuleOutput, commit_message};
use crate::plan::rollout::Rollout;
use anyhow::{Context, anyhow};
use indicatif::ProgressBar;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use upkeep_notes::{
    Cache, ChartVersion, DEFAULT_API_URL, GitHub, GitHubOptions, Notes, Overrides, Release, RepoId,
    Resolution, Subject, Upgrade, breaking_lines, chart_releases, cross_reference, crossed, decide,
    fetch_notes, resolve,
};
use upkeep_pins::{
    Pin, PinKind, PinStatus, SetError, SetPlan, SetRequest, SkipReason, Version, in_style_of,
    plan_set, scan,
};

/// The OCI label naming the repository an image is built from.
const SOURCE_LABEL: &str = "org.opencontainers.image.source";

/// Extensions of the stack files searched by the config cross-reference.
const STACK_FILE_EXTENSIONS: [&str; 7] = ["tf", "tfvars", "hcl", "yaml", "yml", "tpl", "json"];

/// What to plan.
pub struct Request<'a> {
    /// The repository root.
    pub root: &'a Path,
    /// Image, chart, provider or module.
    pub name: &'a str,
    /// The target version.
    pub version: &'a str,
    /// Only pins of this kind.
    pub kind: Option<PinKind>,
    /// Response cache folder (default when `None`).
    pub cache_dir: Option<PathBuf>,
    /// No response cache.
    pub no_cache: bool,
    /// Longest rate-limit wait, in seconds.
    pub max_wait: u64,
}

/// The outcome of planning.
pub enum Prepared {
    /// No pin needs to move, and why.
    Nothing(String),
    /// The plan.
    Plan(Box<PlanReport>),
}

/// Finds the pins, reads the notes, decides the risk and drafts the review.
pub fn prepare(request: &Request<'_>, config: &Config) -> anyhow::Result<Prepared> {
    let rules = config.rule_set()?;
    // Strict where the edit of the name needs it, so that a bump edits on this very scan.
    let mut report = scan(request.root, &config.scan_options_for_edit_of(request.name))
        .with_context(|| format!("cannot scan {}", request.root.display()))?;
    let set_request = SetRequest {
        name: request.name,
        version: request.version,
        from: None,
        kind: request.kind,
    };
    let (set, edit_refused) = match plan_set(request.root, &report, &set_request) {
        Ok(set) => (set, None),
        // The review is still made, of the pins found; the edit is refused (a bump's
        // preflight stops on it).
        Err(SetError::BrokenFiles { name, files }) => {
            let list: Vec<String> = files.iter().map(ToString::to_string).collect();
            let refusal = format!(
                "files that may hold `{name}` or that the edit reads do not parse: {}",
                list.join("; ")
            );
            report.errors.clear();
            (
                plan_set(request.root, &report, &set_request)?,
                Some(refusal),
            )
        }
        Err(error) => return Err(error.into()),
    };
    if set.changes.is_empty() {
        // A file that does not parse may hold the pins that would move.
        let why = nothing_moves(request, &set);
        return Ok(Prepared::Nothing(match &edit_refused {
            Some(refused) => format!("{why}; {refused}"),
            None => why,
        }));
    }
    let pins: Vec<Pin> = set
        .changes
        .iter()
        .map(|change| change.pin.clone())
        .collect();
    let new = Version::parse(request.version)
        .ok_or_else(|| anyhow!("`{}` is not a version upkeep can order", request.version))?;
    let old = pins
        .iter()
        .filter_map(|pin| pin.version.as_deref().and_then(Version::parse))
        .min()
        .ok_or_else(|| {
            anyhow!(
                "the pins of `{}` hold no version upkeep can order",
                request.name
            )
        })?;
    // What the artifact says of itself, read before GitHub (blocking clients, no runtime).
    let mut looked_up = Vec::new();
    let chart = chart_index(&pins[0], &new, request.no_cache, &mut looked_up);
    let sources = chart
        .as_ref()
        .map(|chart| chart.sources.clone())
        .unwrap_or_default();
    let mut subject = subject_of(&pins[0], sources);
    let overrides = config.overrides();
    if let Subject::Image { source_label, .. } = &mut subject
        && !overrides.covers(&Subject::Image {
            canonical: pins[0].canonical.clone(),
            source_label: None,
        })
    {
        *source_label = image_source_label(&pins[0], config, &mut looked_up);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let _context = runtime.enter();
    let github = github_client(request, config)?;
    let (mut resolution, mut notes) =
        runtime.block_on(gather(&github, &subject, &overrides, &old, &new))?;
    looked_up.append(&mut resolution.tried);
    resolution.tried = looked_up;
    if let Some(chart) = &chart {
        notes.add_chart_changes(chart_releases(&chart.versions, &chart.url));
    }
    let source_label = resolution.repo.clone().or_else(|| {
        let chart = chart
            .as_ref()
            .filter(|_| !notes.from_chart_index.is_empty())?;
        Some(format!("the chart index {}", chart.url))
    });
    let releases = crossed(&notes.releases, &old, &new);
    let missing = releases
        .is_empty()
        .then(|| match resolution.repo.as_deref() {
            None => format!("no release notes found ({})", resolution.how),
            Some(repo) if notes.releases.is_empty() => notes.missing(repo),
            Some(repo) => format!(
                "no release notes between {} and {} in {repo}",
                old.as_str(),
                new.as_str()
            ),
        });
    let names = [pins[0].canonical.clone(), pins[0].name.clone()];
    let stack_dirs: BTreeSet<PathBuf> = pins.iter().map(Pin::stack).collect();
    let stack_names: Vec<String> = stack_dirs
        .iter()
        .filter_map(|dir| dir.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let mut evaluation = rules.evaluate(&Upgrade {
        names: &names,
        stacks: &stack_names,
        old: &old,
        new: &new,
        releases: &releases,
    });
    // Going back is decided first: no release note outweighs it.
    let downgrade = downgrade::finding(&pins, &new);
    let is_downgrade = downgrade.is_some();
    evaluation.findings.splice(0..0, downgrade);
    let mut decision = decide(&evaluation, &releases, &old, &new, missing.as_deref());
    // `set` writes a version verbatim: the steps taken from release tags are written in the
    // pin's own style (`v` prefix, variant); the last step is the version asked for.
    if let Some((_, between)) = decision.steps.split_last_mut() {
        for step in between {
            *step = in_style_of(old.as_str(), step);
        }
    }
    let files = stack_files(request.root, &stack_dirs);
    let cross_references = cross_reference(&breaking_lines(&releases, &evaluation), &files);
    let stack = stack_names.join(", ");
    let namespace = stack_dirs.first().map_or_else(
        || stack.clone(),
        |dir| crate::deliver::stack::namespace(request.root, dir, &stack),
    );
    let db_backup =
        crate::deliver::backup::Backup::of(config, &stack, &namespace, false).describe();
    let migrations = crate::deliver::migrations::releases_with_migrations(&releases);
    let rollout = Rollout::of(&pins);
    let message = commit_message(&MessageParts {
        stack: &stack,
        old: old.as_str(),
        new: new.as_str(),
        releases: &releases,
        source: source_label.as_deref(),
        missing: missing.as_deref(),
        highlights: &evaluation.highlights,
        decision: &decision,
        findings: &evaluation.findings,
        db_backup: &db_backup,
        config_changes: &[],
        cross_references: &cross_references,
        ignored: &rollout.ignored,
    });
    let message = match is_downgrade {
        true => downgrade::retitle(&message),
        false => message,
    };
    Ok(Prepared::Plan(Box::new(PlanReport {
        name: request.name.to_owned(),
        stack,
        old: old.as_str().to_owned(),
        new: new.as_str().to_owned(),
        downgrade: is_downgrade,
        risk: decision.risk,
        reason: decision.reason.clone(),
        rules: evaluation.findings.iter().map(RuleOutput::from).collect(),
        highlights: evaluation.highlights.clone(),
        releases: versions(&releases),
        steps: decision.steps.clone(),
        source: resolution.repo.clone(),
        resolution,
        notes_origin: notes.origin(),
        notes_missing: missing,
        cross_references,
        pins,
        rolls_out: rollout.rolls_out(),
        ignored_by_terraform: rollout.ignored,
        db_backup,
        migrations,
        commit_message: message,
        edit_refused,
        set,
    })))
}

/// Why no pin of the name moves: none found, every one already at the version, or each
/// place that cannot move (a `latest` tag, a range, an expression) with its reason.
fn nothing_moves(request: &Request<'_>, set: &SetPlan) -> String {
    let (name, version) = (request.name, request.version);
    if set.unchanged.is_empty() && set.skipped.is_empty() {
        return format!("no pin of `{name}` found");
    }
    if set.skipped.is_empty() {
        return format!("no pin of `{name}` needs to move: every one is already at {version}");
    }
    let at = |pin: &Pin| format!("{}:{}:{}", pin.file.display(), pin.line, pin.column);
    let mut lines: Vec<String> = set
        .skipped
        .iter()
        .map(|(pin, reason)| format!("  {}: {}", at(pin), cannot_move(pin, reason)))
        .collect();
    lines.extend(
        set.unchanged
            .iter()
            .map(|pin| format!("  {}: already at {version}", at(pin))),
    );
    format!(
        "no pin of `{name}` can move to {version}:\n{}",
        lines.join("\n")
    )
}

/// Why a pin of the name cannot move.
fn cannot_move(pin: &Pin, reason: &SkipReason) -> String {
    let never = "which upkeep reports and never bumps; pin a version first";
    match reason {
        SkipReason::NotSettable(PinStatus::Latest) => format!("at `latest`, {never}"),
        SkipReason::NotSettable(PinStatus::Untagged) => format!("untagged, {never}"),
        SkipReason::NotSettable(PinStatus::DigestOnly) => {
            "pinned by digest only: there is no tag to move".to_owned()
        }
        SkipReason::NotSettable(PinStatus::Range) => format!(
            "a version range (`{}`), not one version: not rewritten",
            pin.version.as_deref().unwrap_or("?")
        ),
        SkipReason::NotSettable(PinStatus::Unresolved) => format!(
            "the version is an expression upkeep cannot evaluate (`{}`)",
            pin.expression.as_deref().unwrap_or("?")
        ),
        SkipReason::NotSettable(PinStatus::Unnamed) => {
            "a tag with no image named next to it: not matched by name".to_owned()
        }
        _ => format!("at {}, left as is", pin.version.as_deref().unwrap_or("?")),
    }
}

/// Resolves the source and fetches its notes.
async fn gather(
    github: &GitHub,
    subject: &Subject,
    overrides: &Overrides,
    old: &Version,
    new: &Version,
) -> anyhow::Result<(Resolution, Notes)> {
    let resolution = resolve(github, subject, overrides).await?;
    let Some(repo) = resolution.repo.as_deref().and_then(RepoId::parse) else {
        return Ok((resolution, Notes::default()));
    };
    let notes = fetch_notes(github, &repo, subject, old, new)
        .await
        .with_context(|| format!("cannot read the release notes of {repo}"))?;
    Ok((resolution, notes))
}

/// The GitHub client: `GITHUB_API_URL` (else the config's, else the public API),
/// `GITHUB_TOKEN`, the response cache and a progress bar for long listings.
fn github_client(request: &Request<'_>, config: &Config) -> anyhow::Result<GitHub> {
    let api_url = std::env::var("GITHUB_API_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .or_else(|| config.github_api_url.clone())
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let token = std::env::var("GITHUB_TOKEN").ok().filter(|t| !t.is_empty());
    let cache_dir = if request.no_cache {
        None
    } else {
        request
            .cache_dir
            .clone()
            .or_else(|| default_cache_dir("github"))
    };
    let github = GitHub::new(&GitHubOptions {
        api_url,
        token,
        cache_dir,
        max_wait: Duration::from_secs(request.max_wait),
        virtual_time: std::env::var_os("UPKEEP_VIRTUAL_CLOCK")
            .is_some_and(|value| !value.is_empty() && value != "0"),
    })?;
    let bar = ProgressBar::hidden();
    Ok(github.with_progress(Box::new(move |page, pages| {
        // A bar only when the listing is long enough to be worth one; hidden when standard
        // error is not a terminal.
        if page == 2 && crate::output::terminal::progress_allowed() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_message("reading release pages");
        }
        if let Some(pages) = pages {
            bar.set_length(pages as u64);
        }
        bar.set_position(page as u64);
        if pages.is_some_and(|pages| page >= pages) {
            bar.finish_and_clear();
        }
    })))
}

/// A chart's versions as its repository index lists them.
struct ChartIndex {
    /// The index URL.
    url: String,
    /// Every version, with its changes annotation.
    versions: Vec<ChartVersion>,
    /// The `sources` of the target version (else of the newest listed).
    sources: Vec<String>,
}

/// The index entries of a chart pin served from a classic repository (`https://…`); `None`
/// for anything else, or when the index cannot be read (said in `looked_up`: the notes are
/// then read without it).
fn chart_index(
    pin: &Pin,
    new: &Version,
    no_cache: bool,
    looked_up: &mut Vec<String>,
) -> Option<ChartIndex> {
    let repository = pin
        .repository
        .as_deref()
        .filter(|_| pin.kind == PinKind::HelmChart)?;
    if !(repository.starts_with("https://") || repository.starts_with("http://")) {
        return None;
    }
    let url = format!("{}/index.yaml", repository.trim_end_matches('/'));
    let cache = (!no_cache)
        .then(|| default_cache_dir("charts"))
        .flatten()
        .map(|dir| Cache::new(&dir));
    let read = Http::new()
        .and_then(|http| ChartIndexes::new(cache, &http))
        .and_then(|indexes| indexes.entries(repository, &pin.name));
    let versions = match read {
        Ok(versions) => versions,
        Err(error) => {
            looked_up.push(format!("chart index {url}: skipped ({error:#})"));
            return None;
        }
    };
    let with_changes = versions.iter().filter(|v| v.changes.is_some()).count();
    looked_up.push(format!(
        "chart index {url}: {} versions, {with_changes} with artifacthub.io/changes",
        versions.len()
    ));
    let sources = versions
        .iter()
        .find(|entry| Version::parse(&entry.version).is_some_and(|v| v == *new))
        .or(versions.first())
        .map(|entry| entry.sources.clone())
        .unwrap_or_default();
    Some(ChartIndex {
        url,
        versions,
        sources,
    })
}

/// The label `org.opencontainers.image.source` of the image a pin holds now, read from its
/// registry (said in `looked_up`, found or not); `None` when it has none or the registry
/// cannot be read (then the source is resolved without it).
fn image_source_label(
    pin: &Pin,
    config: &Config,
    looked_up: &mut Vec<String>,
) -> Option<(String, String)> {
    let reference = pin
        .users
        .iter()
        .find(|user| user.canonical == pin.canonical)
        .map(|user| user.resolved.clone())
        .unwrap_or_else(|| format!("{}:{}", pin.canonical, pin.version.as_deref().unwrap_or("")));
    let tag = image_tag(&reference)?;
    let image = format!("{}:{tag}", pin.canonical);
    let said = |what: String| format!("image label {SOURCE_LABEL} of {image}: {what}");
    let labels = Http::new()
        .and_then(|http| Registries::new(&config.registries, &http))
        .and_then(|r| r.labels(&pin.canonical, tag));
    match labels {
        Ok(labels) => match labels.get(SOURCE_LABEL) {
            Some(source) => {
                looked_up.push(said(source.clone()));
                Some((source.clone(), image))
            }
            None => {
                looked_up.push(said("none".to_owned()));
                None
            }
        },
        Err(error) => {
            looked_up.push(said(format!("skipped ({error:#})")));
            None
        }
    }
}

/// The tag of an image reference (`ghcr.io/x/y:v1.2-cuda@sha256:…` → `v1.2-cuda`).
fn image_tag(reference: &str) -> Option<&str> {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last.rsplit_once(':')?;
    (!tag.is_empty()).then_some(tag)
}

/// What the notes are looked up for; `sources` are a chart's, from its index.
fn subject_of(pin: &Pin, sources: Vec<String>) -> Subject {
    match pin.kind {
        PinKind::HelmChart => Subject::Chart {
            name: pin.name.clone(),
            repository: pin.repository.clone(),
            sources,
        },
        PinKind::Provider => Subject::Provider {
            source: pin.name.clone(),
        },
        // An artifact is named by its source, as a module is (`github.com/org/plugin`).
        PinKind::Module | PinKind::Artifact => Subject::Module {
            source: pin.name.clone(),
        },
        _ => Subject::Image {
            canonical: pin.canonical.clone(),
            source_label: None,
        },
    }
}

/// The text files directly in the stack folders, `(path relative to root, content)`.
fn stack_files(root: &Path, dirs: &BTreeSet<PathBuf>) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let Ok(repo) = upkeep_pins::RepoFiles::new(root) else {
        return files;
    };
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| {
                path.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| STACK_FILE_EXTENSIONS.contains(&e))
            })
            .collect();
        paths.sort();
        for path in paths {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let Ok(text) = repo.read_text(relative, upkeep_pins::DEFAULT_MAX_FILE_SIZE) else {
                continue;
            };
            files.push((relative.display().to_string(), text));
        }
    }
    files
}

fn versions(releases: &[Release]) -> Vec<String> {
    releases
        .iter()
        .map(|release| release.version.as_str().to_owned())
        .collect()
}
