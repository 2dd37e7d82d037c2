//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use upkeep_pins::PinKind;

/// Keep the version pins of a Terraform/Helm infrastructure repo current, safely.
///
/// Exit codes: 0 ok, 1 findings or nothing to do, 2 usage or runtime error.
#[derive(Debug, Parser)]
#[command(name = "upkeep", version, about, long_about)]
pub struct Cli {
    /// The config file [default: the nearest .upkeep.yaml at or above the folder worked on;
    /// UPKEEP_CONFIG also names one].
    #[arg(long, global = true, value_name = "FILE", env = "PLUGIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log only errors and draw no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log more: -v what happens, -vv requests and other crates' warnings, -vvv everything
    /// [default: warnings; RUST_LOG applies when neither -q nor -v is given].
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// How much to log.
    pub fn verbosity(&self) -> crate::output::terminal::Verbosity {
        use crate::output::terminal::Verbosity;
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Default,
            (false, n) => Verbosity::Verbose(n),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every version pin: image tags (hardcoded, via variables and locals), Helm chart
    /// versions, provider and module versions, Helm `set`/values image tags.
    ///
    /// Exits 0 when every file was read, 1 when some files could not be read or parsed
    /// (they are listed under errors and left out), 2 when the scan could not run.
    Scan(ScanArgs),
    /// Move every pin of NAME to VERSION, changing only the version bytes.
    ///
    /// NAME is an image in any equivalent spelling (`alpine`, `docker.io/library/alpine`), a
    /// chart name or `repository/chart`, a provider source or a module source. The old
    /// version's style is kept: a `v` prefix and a variant suffix such as `-alpine`.
    /// All files are written or none. Exits 0 when pins moved (or would, with --dry-run),
    /// 1 when nothing matched or everything is already at VERSION, 2 on error.
    Set(SetArgs),
    /// Read the release notes between the pinned version of NAME and VERSION, decide the
    /// risk (SAFE, CAUTION or UNKNOWN) with its evidence, and print the step plan and the
    /// draft commit message. Writes nothing.
    ///
    /// The notes come from the GitHub repository of NAME: the config's overrides, else the
    /// registry's naming convention (ghcr.io/ORG/REPO, docker.io/ORG/REPO,
    /// lscr.io/linuxserver/APP, quay.io/ORG/REPO, charts on ORG.github.io/REPO). Set
    /// GITHUB_TOKEN for a higher rate limit and GITHUB_API_URL for another API server.
    /// Responses are cached with their ETags, so a second run only makes conditional
    /// requests. Exits 0 with a plan, 1 when no pin of NAME needs to move, 2 on error.
    Plan(PlanArgs),
    /// Check the pins against the repository's policy: unpinned and moving tags, drift between
    /// stacks, pins Terraform ignores, stale digests, unresolvable versions, files that do
    /// not parse.
    ///
    /// Silence one finding with a comment on its line or the line above:
    /// `# upkeep:ignore <rule-id> <reason>`; disable a rule or change its severity in the
    /// config's `lint:` section. Given files (as pre-commit passes them), each file's whole
    /// module folder is read so variables resolve, and only findings in those files are
    /// reported. With --baseline, only findings not recorded by --write-baseline are
    /// reported. SARIF locations are relative to the repository root (the folder holding
    /// `.git`). As a Woodpecker plugin, PLUGIN_PATH, PLUGIN_FORMAT, PLUGIN_STRICT,
    /// PLUGIN_CONFIG, PLUGIN_BASELINE and PLUGIN_OUTPUT are read.
    /// Exits 1 when a finding has error severity, else 0; 2 when lint could not run.
    Lint(LintArgs),
    /// Decide whether a detected update (a DIUN notification) should be acted on: prints
    /// `accept` or `skip: <reason>`.
    ///
    /// Accepted: status `new` or `update`; a real tag (not empty or `latest`); an image not
    /// skipped by the config; pinned somewhere in the repository; newer than a pin and of the
    /// same shape (same suffix, same number of parts); within the rate limit (the config's
    /// `filter.max_updates` per `filter.window_hours`, counted in `filter.state_file` under
    /// a file lock, so concurrent runs neither lose nor double-count). Exits 0 accept, 1 skip,
    /// 2 error.
    Filter(FilterArgs),
    /// Validate or print the config.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Upgrade NAME to VERSION as a reviewed commit: git (fetch, compare) → plan (risk,
    /// steps) → preflight → gates → DB backup → edit → commit → push → CI → verify. Each
    /// stage is reported with its duration.
    ///
    /// Refuses a dirty working tree, a detached HEAD, and local commits that are not
    /// upkeep's own (listed); fast-forwards a branch that is merely behind. Preflight checks
    /// the remote, CI (Woodpecker: the repository resolves, the token is accepted), Slack,
    /// Kubernetes and Prometheus settings and the backup before any edit; one failure stops
    /// with nothing changed (exit 2). A firing alert or a stack still soaking stops with
    /// `gated` (exit 1). A DB-backed stack is backed up first (a Job from its backup
    /// CronJob), or refused unless --no-backup. Only upkeep's own commits are pushed, never
    /// forced; when someone pushed first they are replayed onto the new tip (at most 3
    /// times). A CAUTION plan with steps makes one commit per step. On failed CI or
    /// verification the upgrade is reverted, or held when its notes mention database
    /// migrations (`rollback.on_migration`). With `--diun`, the update is first judged as
    /// `upkeep filter` does. Exits 0 on success, 1 when there is nothing to do, the update is
    /// skipped or gated, or it was rolled back; 2 on error, a held or failed rollback.
    Bump(BumpArgs),
    /// Revert exactly the upgrade commit SHA (even with commits on top), push the revert,
    /// wait for CI and verify. The same git rules as bump: fetch first, refuse local commits
    /// that are not upkeep's, push only upkeep's own. Exits 0 when the revert is healthy, 2
    /// when it is not (CRITICAL) or on error.
    Rollback(RollbackArgs),
    /// Ask where each pin is published which versions are newer: image and OCI chart tags
    /// from registries, Helm repository indexes, the Terraform registry for providers and
    /// modules, git tags for git modules. Reports the newest patch, minor and major of the
    /// same shape as the pin (same `v`, same variant, same number of parts; no pre-release
    /// unless pinned to one).
    ///
    /// Pins the config skips are listed, not queried; ranges are listed as unchecked. Registries are reached as written (`docker.io` through
    /// registry-1.docker.io) unless the config's `registries:` redirects them; tokens are
    /// fetched as the registry asks, with credentials for that host only (environment, then
    /// Docker's config.json). A lookup that fails (a status, DNS, TLS, a refused connection,
    /// a timeout) is listed with its host and cause, on standard error with `--emit diun`. A
    /// host that cannot be connected to is asked once, not retried, and its pins share one
    /// line (each is still listed in JSON). Exits 2 when a lookup failed or on error, else 1 when something is outdated, 0 when
    /// nothing is.
    Outdated(OutdatedArgs),
    /// Run the webhook service: DIUN notifications and `/bump` requests become jobs in a
    /// SQLite queue, run as `upkeep bump` with bounded concurrency.
    ///
    /// Endpoints: `POST /webhook/diun` (either DIUN shape; the filter, coalescing and rate
    /// limit apply), `POST /bump` (`{"name", "version"}`), `GET /jobs`, `GET /jobs/{id}`
    /// (these four need `Authorization: Bearer <token>`), `GET /healthz`, `GET /metrics`
    /// (Prometheus). Tokens come from `UPKEEP_SERVE_TOKENS` (comma-separated) or
    /// `--token-file`, never from the config. A job is stored before its 202 is sent. On
    /// start, jobs a crash left running are marked `interrupted` and reported, not re-run
    /// (their bump may have pushed half-way). SIGTERM stops intake, lets running jobs finish
    /// for `--grace` seconds, and leaves queued jobs for the next start. Prints
    /// `listening on ADDRESS` once ready.
    Serve(ServeArgs),
}

/// Arguments of `upkeep serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one (the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDRESS")]
    pub listen: std::net::SocketAddr,
    /// The repository the bumps edit: a clone on the branch the CI applies.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub path: PathBuf,
    /// The job database [default: $XDG_STATE_HOME/upkeep/serve.sqlite3, else
    /// ~/.local/state/upkeep/serve.sqlite3].
    #[arg(long, env = "UPKEEP_SERVE_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Jobs running at once; more are queued.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub concurrency: usize,
    /// A file of bearer tokens, one per line (`#` comments).
    #[arg(long, env = "UPKEEP_SERVE_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Seconds running jobs may take to finish after SIGTERM; past it they are stopped and
    /// marked `interrupted`.
    #[arg(long, default_value_t = 25, value_name = "SECONDS")]
    pub grace: u64,
    /// Run this program per job instead of `upkeep bump`, as
    /// `PROGRAM NAME VERSION --path DIR --format json` (for a wrapper script, or a stub in
    /// tests).
    #[arg(long, value_name = "PROGRAM")]
    pub bump_command: Option<PathBuf>,
    /// Connections open at once, at most. At the cap, a new connection closes the oldest one
    /// that is not inside a request (a slow or idle client), so probes still get in. Lowered
    /// to fit the open-file limit (`ulimit -n`) with room for the database and the bumps.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (also the idle time allowed between
    /// requests on a kept-alive connection); then the connection is closed.
    #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds a client has to send a request's body; then it gets 408.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Seconds a job whose bump was gated (a firing alert, a stack within its soak time) waits
    /// before it runs again; it stays `queued` meanwhile, with `outcome: gated` and its log.
    #[arg(long, default_value_t = 300, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub gate_retry: u64,
}

/// Arguments of `upkeep outdated`.
#[derive(Debug, Args)]
pub struct OutdatedArgs {
    /// Directories or files to check.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Instead of the report, print one DIUN-shaped JSON object per outdated pin (its newest
    /// candidate), for `upkeep outdated --emit diun | upkeep bump --diun -`.
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// Registry requests in flight at most.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Only pins of these kinds (repeat or separate with commas); all kinds by default.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub kind: Vec<KindArg>,
    /// Fetch Helm repository indexes in full instead of revalidating the cached copy
    /// [cache: $XDG_CACHE_HOME/upkeep/charts, else ~/.cache/upkeep/charts].
    #[arg(long)]
    pub no_cache: bool,
}

/// `--emit` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// DIUN webhook JSON, one object per line.
    Diun,
}

/// Arguments of `upkeep bump`.
#[derive(Debug, Args)]
pub struct BumpArgs {
    /// Image, chart, provider or module to upgrade.
    #[arg(required_unless_present = "diun")]
    pub name: Option<String>,
    /// The version to upgrade to.
    #[arg(required_unless_present = "diun")]
    pub version: Option<String>,
    /// Take NAME and VERSION from a DIUN notification (a file, or `-` for standard input).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["name", "version"])]
    pub diun: Option<PathBuf>,
    /// The repository root.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub path: PathBuf,
    /// Commit but do not push.
    #[arg(long)]
    pub no_push: bool,
    /// Print the plan, the diff and the commit message; touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Kept for compatibility: every bump now fetches first, fast-forwards a branch that is
    /// merely behind, and refuses local commits that are not upkeep's own.
    #[arg(long, hide = true)]
    pub sync: bool,
    /// Upgrade a DB-backed stack without backing up its database first (the commit says
    /// `DB backup: skipped (--no-backup)`). Without it, a backup that cannot be made stops
    /// the bump before any edit.
    #[arg(long)]
    pub no_backup: bool,
    /// Wait for CI after each push [default: woodpecker when a Woodpecker server is
    /// configured, else none].
    #[arg(long, value_enum)]
    pub ci: Option<CiMode>,
    /// Verify the service after each deploy [default: on when `verify.enabled`].
    #[arg(long, value_enum)]
    pub verify: Option<VerifyMode>,
    /// Output format of the final report.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Accept a VERSION older than the pinned one. A downgrade is rated CAUTION and its
    /// commit is titled `downgrade:`; without this flag it is refused before anything changes.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Commit a bump although a `lifecycle { ignore_changes }` covers every place it moves
    /// (Keel updates those images): Terraform will not roll it out, so nothing is verified.
    /// Without this flag such a bump stops before any change (exit 1).
    #[arg(long)]
    pub even_if_ignored: bool,
}

/// Arguments of `upkeep rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The upgrade commit to revert: one upkeep made (`upgrade:` or `downgrade:`, its
    /// `Upkeep-Change` trailer intact).
    pub sha: String,
    /// The repository root.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub path: PathBuf,
    /// Commit the revert but do not push it.
    #[arg(long)]
    pub no_push: bool,
    /// Wait for CI after the push [default: as for bump].
    #[arg(long, value_enum)]
    pub ci: Option<CiMode>,
    /// Verify the service after the deploy [default: as for bump].
    #[arg(long, value_enum)]
    pub verify: Option<VerifyMode>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Revert SHA although it is not one of upkeep's upgrade commits (a person's commit, a
    /// revert). Without it such a commit is refused (exit 2): revert it with `git revert`.
    /// With it, the revert is upkeep's own and is pushed like one.
    #[arg(long)]
    pub any_commit: bool,
}

/// `--ci`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiMode {
    /// Wait for the Woodpecker pipeline of the pushed commit.
    Woodpecker,
    /// Do not wait.
    None,
}

/// `--verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyMode {
    /// Check the service's URL and pods for the risk's window.
    On,
    /// Do not verify.
    None,
}

/// Arguments of `upkeep lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Directories or files to check.
    #[arg(default_value = ".", env = "PLUGIN_PATH", value_delimiter = ',')]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human, env = "PLUGIN_FORMAT")]
    pub format: LintFormat,
    /// Parse every byte of every file, so that `parse-error` covers syntax errors where no
    /// pin can be (slower; the default reports errors where pins may be).
    #[arg(long, env = "PLUGIN_STRICT", value_parser = clap::builder::BoolishValueParser::new())]
    pub strict: bool,
    /// Write the report to FILE instead of standard output (any format).
    #[arg(long, short, value_name = "FILE", env = "PLUGIN_OUTPUT")]
    pub output: Option<PathBuf>,
    /// Report only findings not recorded in this baseline (written by --write-baseline).
    /// Findings are matched by rule, file and pin, not by line, so edits that move a known
    /// finding do not make it new.
    #[arg(long, value_name = "FILE", env = "PLUGIN_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Record today's findings in FILE (paths relative to the repository root) and exit 0;
    /// commit it and pass it to --baseline.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
}

/// Output formats of `upkeep lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// `file:line:col: severity[rule]: message`, the source line and a caret.
    Human,
    /// One JSON object on standard output.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// Arguments of `upkeep filter`.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// The DIUN notification (webhook JSON, or the flat `diun_entry_*` shape); `-` reads
    /// standard input.
    #[arg(default_value = "-", value_name = "FILE")]
    pub payload: PathBuf,
    /// The repository root.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub path: PathBuf,
    /// Forget the updates accepted so far (the rate limit starts over), then exit.
    #[arg(long)]
    pub reset_rate_limit: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// `upkeep config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config file: exits 0 when valid, 2 with the problem and its line otherwise.
    ///
    /// A valid config is also compared with the repository: every entry that matches nothing
    /// (a stack, image or chart that is not there, a chart override keyed the way no chart
    /// is served) gets a warning with its line, so a dead section shows up. Warnings do not
    /// change the exit code.
    Check {
        /// The file [default: the one upkeep would use].
        file: Option<PathBuf>,
        /// The repository the entries are compared with [default: the config file's folder].
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
    },
    /// Print the effective config, defaults included (YAML, or JSON with --format json).
    Show {
        /// The repository root the config is looked up from.
        #[arg(long, default_value = ".", value_name = "DIR")]
        path: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

/// Arguments of `upkeep plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Image, chart, provider or module to upgrade.
    pub name: String,
    /// The version to upgrade to.
    pub version: String,
    /// The repository root.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub path: PathBuf,
    /// Only pins of this kind.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Where GitHub responses are cached [default: $XDG_CACHE_HOME/upkeep/github, else
    /// ~/.cache/upkeep/github].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the response cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// The longest wait, in seconds, for a GitHub rate limit to reset; past it, stop.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub max_wait: u64,
}

/// Arguments of `upkeep scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directories or files to scan. Pins are reported for a file's whole module folder
    /// (so variables resolve) but only those touching the file are listed.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Files larger than this many bytes are reported and not read.
    #[arg(long, default_value_t = upkeep_pins::DEFAULT_MAX_FILE_SIZE, value_name = "BYTES")]
    pub max_file_size: u64,
    /// Parse every byte of every file, so that a syntax error anywhere is reported. By
    /// default only the parts of a Terraform file that can hold pins are parsed (the rest is
    /// outlined lexically): the same pins, several times faster.
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `upkeep set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Image, chart, provider or module to move.
    pub name: String,
    /// The new version.
    pub version: String,
    /// Only move pins currently at this version (`v` prefix optional).
    #[arg(long, value_name = "OLD")]
    pub from: Option<String>,
    /// The repository root to work in.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub path: PathBuf,
    /// Print the diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only pins of this kind (when NAME is both, say, an image and a provider).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: tables and diffs.
    Human,
    /// One JSON object on standard output.
    Json,
}

/// Pin kinds as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum KindArg {
    /// Container images in Terraform.
    Image,
    /// `helm_release` chart versions.
    HelmChart,
    /// `required_providers` versions.
    Provider,
    /// Module versions and `?ref=` sources.
    Module,
    /// Helm `set` / `yamlencode` image tags.
    HelmSet,
    /// Image tags in Helm values YAML.
    ValuesImage,
    /// Versions of objects that name something versioned (`{ moduleName, version }`).
    Artifact,
}

impl From<KindArg> for PinKind {
    fn from(kind: KindArg) -> PinKind {
        match kind {
            KindArg::Image => PinKind::Image,
            KindArg::HelmChart => PinKind::HelmChart,
            KindArg::Provider => PinKind::Provider,
            KindArg::Module => PinKind::Module,
            KindArg::HelmSet => PinKind::HelmSet,
            KindArg::ValuesImage => PinKind::ValuesImage,
            KindArg::Artifact => PinKind::Artifact,
        }
    }
}
