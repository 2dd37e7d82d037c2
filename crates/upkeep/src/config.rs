//! The repository's `.upkeep.yaml` (or the JSON shape of an `upgrade-config.json`): named by
//! `--config` or `UPKEEP_CONFIG`, else found by walking up from the folder being worked on.
//! Unknown keys are errors that name the key and its line: a typo must not silently disable
//! a rule.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use upkeep_notes::{Overrides, RuleSet, RuleSpec};

/// The config file's name at the repository root.
pub const FILE_NAME: &str = ".upkeep.yaml";

/// The settings upkeep reads. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Image name → `owner/repo` whose releases are its notes.
    pub github_repo_overrides: BTreeMap<String, String>,
    /// Chart name (or `repository/chart`) → `owner/repo`.
    pub helm_chart_repo_overrides: BTreeMap<String, String>,
    /// Stacks whose database is backed up before an upgrade.
    pub db_backed_services: DbBackedServices,
    /// How backups run (the `upgrade-config.json` shape, kept as written for `bump`).
    pub backup_infrastructure: serde_json::Value,
    /// Images or charts (`*` patterns) whose upgrades always step through each minor line.
    pub version_jump_always_step: Vec<String>,
    /// Normalized image names (`*` patterns) that are never bumped.
    pub skip_image_patterns: Vec<String>,
    /// Kinds of images that are never bumped.
    pub skip_categories: Vec<SkipCategory>,
    /// Registry hosts whose images are built here (the `custom_images` category); hosts with
    /// a port, an IP address, or a `.lan`/`.local`/`.internal`/`.home.arpa` name count too.
    pub custom_image_registries: Vec<String>,
    /// Detection settings of an `upgrade-config.json`, kept as written.
    pub auto_detect_rules: serde_json::Value,
    /// Words that mark a breaking change in release notes; the built-in list when empty.
    pub breaking_change_keywords: Vec<String>,
    /// Extra risk rules (`id`, `keywords` or `pattern`, `images`, `verdict`).
    pub rules: Vec<RuleSpec>,
    /// GitHub API base URL (the `GITHUB_API_URL` environment variable wins).
    pub github_api_url: Option<String>,
    /// Registry host as written in images → where to reach it.
    pub registries: BTreeMap<String, Registry>,
    /// Terraform registry base URL for providers and modules.
    pub terraform_registry_url: Option<String>,
    /// Image → the versions `outdated` may propose (a semver range, `<2`).
    pub allowed_versions: BTreeMap<String, String>,
    /// Image → tags `outdated` never proposes (`*` wildcards).
    pub ignore_versions: BTreeMap<String, Vec<String>>,
    /// `upkeep lint` settings.
    pub lint: LintConfig,
    /// `upkeep filter` settings.
    pub filter: FilterConfig,
    /// Where and as whom `bump` commits and pushes.
    pub git: GitConfig,
    /// Commands run before an upgrade.
    pub hooks: HooksConfig,
    /// Notifications.
    pub notify: NotifyConfig,
    /// The CI that applies pushed commits.
    pub woodpecker: WoodpeckerConfig,
    /// Checks after a deploy.
    pub verify: VerifyConfig,
    /// Paths no command reads: gitignore patterns relative to the config file's folder
    /// (`vendor/`, `legacy/**`), as in a `.upkeepignore` file.
    pub exclude: Vec<String>,
    /// The folder of the config file read, which `exclude` patterns are relative to.
    #[serde(skip)]
    pub dir: Option<PathBuf>,
    /// The pre-upgrade database backup.
    pub backup: BackupConfig,
    /// What must hold before a bump starts (firing alerts, soak time).
    pub gates: GatesConfig,
    /// What a failed upgrade does.
    pub rollback: RollbackConfig,
}

/// `backup:` settings of the native pre-upgrade backup (a Job from the backup CronJob).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Seconds to wait for the backup Job to complete; past it the bump aborts.
    pub timeout_seconds: u64,
    /// Lines of the backup's log kept for the report.
    pub log_lines: i64,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            timeout_seconds: 300,
            log_lines: 20,
        }
    }
}

/// The alerts that never block a bump, by default: always firing, or about nodes.
pub const DEFAULT_IGNORED_ALERTS: &str =
    "^(Watchdog|RebootRequired|KuredNodeWasNotDrained|InfoInhibitor)$";

/// `gates:` settings: a bump starts only when the cluster is quiet and the stack has soaked.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatesConfig {
    /// Prometheus base URL (its `/api/v1/alerts` is read); no alert gate when unset.
    pub prometheus_url: Option<String>,
    /// Alert names (a regex) that never block a bump.
    pub ignore_alerts: String,
    /// Minutes after a stack's last upgrade commit before it may be bumped again (0: off).
    pub soak_minutes: u64,
}

impl Default for GatesConfig {
    fn default() -> Self {
        GatesConfig {
            prometheus_url: None,
            ignore_alerts: DEFAULT_IGNORED_ALERTS.to_owned(),
            soak_minutes: 0,
        }
    }
}

/// `rollback:` settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RollbackConfig {
    /// On a failed verification of a DB-backed stack whose notes mention migrations.
    pub on_migration: OnMigration,
}

/// What to do when an upgrade that ran database migrations fails verification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMigration {
    /// No revert: the old version may not run on the migrated schema. A CRITICAL alert
    /// names the backup and the failing checks; a person decides.
    #[default]
    Hold,
    /// Revert as for any other upgrade.
    Revert,
}

/// `woodpecker:` settings; the token comes from `WOODPECKER_TOKEN` only.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WoodpeckerConfig {
    /// The server URL (`WOODPECKER_SERVER` wins). With one, `bump` waits for CI by default.
    pub server: Option<String>,
    /// The repository (`owner/name`), looked up for its id.
    pub repo: Option<String>,
    /// The repository id, when known (skips the lookup).
    pub repo_id: Option<u64>,
    /// Minutes to wait for the pipeline of a pushed commit.
    pub timeout_minutes: u64,
}

impl Default for WoodpeckerConfig {
    fn default() -> Self {
        WoodpeckerConfig {
            server: None,
            repo: None,
            repo_id: None,
            timeout_minutes: 15,
        }
    }
}

/// `verify:` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// Verify after each deploy by default (`--verify on`).
    pub enabled: bool,
    /// Minutes of checks after a SAFE or UNKNOWN upgrade.
    pub safe_minutes: u64,
    /// Minutes of checks after a CAUTION upgrade.
    pub caution_minutes: u64,
    /// Seconds between rounds of checks.
    pub interval_seconds: u64,
    /// HTTP status codes that pass.
    pub pass_codes: Vec<u16>,
    /// Stack → URL to check; else the stack's ingress host over HTTPS.
    pub urls: BTreeMap<String, String>,
    /// Stack → pod label selector (`app=immich-server`); else every pod of the namespace.
    pub selectors: BTreeMap<String, String>,
    /// Gone: pods are read from the Kubernetes API. Accepted, ignored, warned about.
    #[serde(skip_serializing)]
    pub kubectl: Option<serde::de::IgnoredAny>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            enabled: false,
            safe_minutes: 2,
            caution_minutes: 10,
            interval_seconds: 15,
            pass_codes: vec![200, 301, 302, 401],
            urls: BTreeMap::new(),
            selectors: BTreeMap::new(),
            kubectl: None,
        }
    }
}

/// `git:` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitConfig {
    /// The remote pushed to.
    pub remote: String,
    /// The commit author's name; git's `user.name` when unset.
    pub author_name: Option<String>,
    /// The commit author's email; git's `user.email` when unset.
    pub author_email: Option<String>,
}

impl Default for GitConfig {
    fn default() -> Self {
        GitConfig {
            remote: "origin".to_owned(),
            author_name: None,
            author_email: None,
        }
    }
}

impl GitConfig {
    /// The configured author, when both name and email are set.
    pub fn author(&self) -> Option<(String, String)> {
        Some((self.author_name.clone()?, self.author_email.clone()?))
    }
}

/// `hooks:` settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HooksConfig {
    /// Run, in order, before a DB-backed stack is upgraded; a failure aborts the bump.
    pub pre_upgrade: Vec<Hook>,
}

/// One command, as an argument array (never a shell string). `{stack}`, `{namespace}` and
/// `{epoch}` in an argument are replaced.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Seconds before it is killed and counted as failed.
    #[serde(default = "default_hook_timeout")]
    pub timeout_seconds: u64,
    /// Environment variables passed to it by name, besides PATH, HOME, the locale and the
    /// cluster's (see `child_env`); no other variable of upkeep's reaches it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
}

fn default_hook_timeout() -> u64 {
    900
}

/// `notify:` settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// A Slack-compatible incoming webhook; `SLACK_WEBHOOK_URL` wins. Better kept in the
    /// environment: it is a secret.
    pub slack_webhook_url: Option<String>,
}

/// Kinds of images a config can skip as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipCategory {
    /// Database servers (postgres, mysql, mariadb, mongo, redis, valkey, …): upgraded by hand.
    Databases,
    /// Images built here (see `custom_image_registries`).
    CustomImages,
    /// Cluster infrastructure (`registry.k8s.io`, cilium, flux, cert-manager, metallb, …).
    Infrastructure,
}

/// A registry endpoint.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Registry {
    /// Base URL of its API.
    pub url: Option<String>,
    /// Plain HTTP or unverified TLS.
    pub insecure: bool,
}

impl Registry {
    /// The base URL `registries:` gives `host` (its `url`, or `http://host` when insecure),
    /// or `None` when the config says nothing of it.
    pub fn configured_base(hosts: &BTreeMap<String, Registry>, host: &str) -> Option<String> {
        match hosts.get(host)? {
            Registry { url: Some(url), .. } => Some(url.trim_end_matches('/').to_owned()),
            Registry { insecure: true, .. } => Some(format!("http://{host}")),
            _ => None,
        }
    }
}

/// `lint:` settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LintConfig {
    /// Rule ids that are not checked.
    pub disable: Vec<String>,
    /// Rule id → severity, replacing the default.
    pub severity: BTreeMap<String, Severity>,
}

/// How serious a lint finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Note,
    /// Should be fixed.
    Warning,
    /// Fails the lint (exit 1).
    Error,
}

/// `filter:` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilterConfig {
    /// Updates accepted per window, at most.
    pub max_updates: u32,
    /// The window, in hours.
    pub window_hours: u64,
    /// Where accepted updates are recorded, relative to the repository root.
    pub state_file: PathBuf,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            max_updates: 5,
            window_hours: 6,
            state_file: PathBuf::from(".upkeep/state.json"),
        }
    }
}

/// `db_backed_services`: a list of stack names, or a map from stack name to its backup
/// details (the `upgrade-config.json` shape).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum DbBackedServices {
    /// Stack names.
    Names(Vec<String>),
    /// Stack name → details.
    Detailed(BTreeMap<String, DbService>),
}

impl Default for DbBackedServices {
    fn default() -> Self {
        DbBackedServices::Names(Vec::new())
    }
}

/// How a stack's database is backed up, in the keys of the user's `upgrade-config.json`.
/// Unknown keys are errors, as everywhere in the config: a typo never disables a backup.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbService {
    /// The database kind (`postgresql`, `mysql`…), the key of `backup_infrastructure`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The database's name (said in the report; the backup Job decides what it dumps).
    #[serde(alias = "database", skip_serializing_if = "Option::is_none")]
    pub db_name: Option<String>,
    /// On the shared server of its kind: backed up by `backup_infrastructure.<type>`'s
    /// CronJob.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
    /// Its own server: backed up by the backup CronJob in the stack's namespace (or the one
    /// `backup_cronjob` names).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dedicated: bool,
    /// The backup CronJob a Job is made from; it wins over `shared` and `dedicated`.
    #[serde(alias = "backup_job", skip_serializing_if = "Option::is_none")]
    pub backup_cronjob: Option<String>,
    /// The namespace of `backup_cronjob` (default: the stack's namespace).
    #[serde(alias = "namespace", skip_serializing_if = "Option::is_none")]
    pub backup_namespace: Option<String>,
    /// Free text for people (shown by `config show`, otherwise unused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl DbBackedServices {
    /// The entry of a DB-backed stack (a default one for the list form).
    pub fn service(&self, stack: &str) -> Option<DbService> {
        match self {
            DbBackedServices::Names(names) => {
                names.iter().any(|n| n == stack).then(DbService::default)
            }
            DbBackedServices::Detailed(map) => map.get(stack).cloned(),
        }
    }
}

/// No config file is larger than this.
pub const MAX_CONFIG_SIZE: u64 = 4 * 1024 * 1024;

impl Config {
    /// Loads the config: `explicit` (`--config`), else `UPKEEP_CONFIG`, else the nearest
    /// `.upkeep.yaml` at or above `start`, else defaults. Returns the file read, if any.
    pub fn load(
        explicit: Option<&Path>,
        start: &Path,
    ) -> anyhow::Result<(Config, Option<PathBuf>)> {
        let (path, found) = match (explicit, std::env::var_os("UPKEEP_CONFIG")) {
            (Some(path), _) => (Some(path.to_owned()), false),
            (None, Some(path)) if !path.is_empty() => (Some(PathBuf::from(path)), false),
            _ => (find_upward(start), true),
        };
        let Some(path) = path else {
            return Ok((Config::default(), None));
        };
        let mut config = Config::read(&path, found)?;
        config.dir = path.parent().map(Path::to_path_buf);
        Ok((config, Some(path)))
    }

    /// Reads and checks one config file: one `found` in a repository is read only if it stays
    /// in its folder (not a link out of it); one named by the operator may be anywhere. Neither
    /// may be a fifo, a device or a kernel file, nor larger than [`MAX_CONFIG_SIZE`].
    fn read(path: &Path, found: bool) -> anyhow::Result<Config> {
        let bytes = match (found, path.parent(), path.file_name()) {
            (true, Some(folder), Some(name)) => upkeep_pins::RepoFiles::new(folder)
                .with_context(|| format!("cannot read config {}", path.display()))?
                .read(Path::new(name), MAX_CONFIG_SIZE),
            _ => upkeep_pins::read_named_file(path, MAX_CONFIG_SIZE),
        }
        .map_err(|error| {
            anyhow::anyhow!("cannot read config {}: {}", path.display(), error.message)
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("config {} is not UTF-8 text", path.display()))?;
        let config = Config::parse_named(&text, &path.display().to_string())?;
        if config.verify.kubectl.is_some() {
            tracing::warn!(
                "{}: `verify.kubectl` is ignored: upkeep reads pods from the Kubernetes API (KUBECONFIG or the in-cluster service account); remove the key",
                path.display()
            );
        }
        regex::Regex::new(&config.gates.ignore_alerts).with_context(|| {
            format!(
                "in {}: `gates.ignore_alerts` is not a regex",
                path.display()
            )
        })?;
        config
            .check_rules()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(config)
    }

    /// Reads config text (YAML, or JSON, which is YAML).
    #[cfg(test)]
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        Config::parse_named(text, FILE_NAME)
    }

    /// Reads config text from the file `name`; an error says `name:line:column`, then shows
    /// the line with a caret.
    pub fn parse_named(text: &str, name: &str) -> anyhow::Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_saphyr::from_str(text).map_err(|error| {
            // The parser's own rendering names the source and shows the line with a caret;
            // its first line (`error: line L column C: message`) becomes `name:L:C: message`.
            let shown = error.render_with_options(serde_saphyr::render_options! {
                source_name: Some(name),
            });
            let (first, snippet) = shown.split_once('\n').unwrap_or((&shown, ""));
            let message = first.strip_prefix("error: ").unwrap_or(first);
            let message = message
                .split_once(": ")
                .filter(|(prefix, _)| prefix.starts_with("line "))
                .map_or(message, |(_, rest)| rest);
            // The caret's label repeats the message (an unknown key's list of known keys):
            // the first line says it, the caret only points.
            let snippet: Vec<&str> = snippet
                .lines()
                .map(|line| line.strip_suffix(message).map_or(line, str::trim_end))
                .collect();
            let snippet = snippet.join("\n");
            match error.location() {
                Some(at) if at.line() > 0 => {
                    anyhow::anyhow!("{name}:{}:{}: {message}\n{snippet}", at.line(), at.column())
                }
                _ => anyhow::anyhow!("{name}: {message}\n{snippet}"),
            }
        })
    }

    /// How to scan the repository: the default options with the config's `exclude` patterns.
    pub fn scan_options(&self) -> upkeep_pins::ScanOptions {
        upkeep_pins::ScanOptions {
            exclude: self.exclude.clone(),
            exclude_base: self.dir.clone(),
            ..upkeep_pins::ScanOptions::default()
        }
    }

    /// [`Config::scan_options`] for a scan that an edit of `name` is planned on: the files it
    /// depends on are parsed strictly, so one that does not parse stops the edit.
    pub fn scan_options_for_edit_of(&self, name: &str) -> upkeep_pins::ScanOptions {
        upkeep_pins::ScanOptions {
            strict_for: Some(name.to_owned()),
            ..self.scan_options()
        }
    }

    /// Whether [`Config::rule_set`] can be built: the configured rules compile, and so do the
    /// configured keywords (tens of thousands of them would not). The default keywords always
    /// do, and are not compiled here: that costs 1.5 ms of every run.
    fn check_rules(&self) -> anyhow::Result<()> {
        if !self.breaking_change_keywords.is_empty() {
            RuleSet::builtin(&self.breaking_change_keywords, &[])?;
        }
        for spec in &self.rules {
            spec.compile()?;
        }
        Ok(())
    }

    /// The rule set: built-in rules with the configured keywords and always-step list, then
    /// the configured rules.
    pub fn rule_set(&self) -> anyhow::Result<RuleSet> {
        let mut rules = RuleSet::builtin(
            &self.breaking_change_keywords,
            &self.version_jump_always_step,
        )?;
        for spec in &self.rules {
            rules.extend([spec.compile()?]);
        }
        Ok(rules)
    }

    /// The source overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            images: self.github_repo_overrides.clone(),
            charts: self.helm_chart_repo_overrides.clone(),
        }
    }
}

/// The nearest `.upkeep.yaml` in `start` (or its folder, for a file) or a parent folder.
fn find_upward(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::{Config, SkipCategory};

    #[test]
    fn the_json_shape_of_upgrade_config_loads_with_every_field() {
        let config = Config::parse(
            r#"{
  "github_repo_overrides": {"vaultwarden/server": "dani-garcia/vaultwarden"},
  "helm_chart_repo_overrides": {"authentik": "goauthentik/helm"},
  "db_backed_services": {"immich": {"backup_job": "immich-db-backup", "namespace": "immich", "database": "immich"}},
  "backup_infrastructure": {"namespace": "backup", "cronjob_template": "db-backup-{stack}"},
  "version_jump_always_step": ["ghcr.io/nextcloud/*"],
  "skip_image_patterns": ["*postgres*", "registry.k8s.io/*"],
  "breaking_change_keywords": ["breaking", "migration"],
  "auto_detect_rules": {"github_from_ghcr": true, "strip_suffixes": ["-server", "-backend", "-app"]}
}"#,
        )
        .unwrap();
        assert_eq!(config.github_repo_overrides.len(), 1);
        assert_eq!(
            config
                .db_backed_services
                .service("immich")
                .and_then(|s| s.backup_cronjob),
            Some("immich-db-backup".to_owned())
        );
        assert!(config.db_backed_services.service("vaultwarden").is_none());
        assert_eq!(config.skip_image_patterns.len(), 2);
        assert_eq!(config.backup_infrastructure["namespace"], "backup");
    }

    #[test]
    fn yaml_with_rules_categories_and_lint_settings_loads() {
        let config = Config::parse(
            "db_backed_services: [immich, paperless]\nskip_categories: [databases, custom_images]\nlint:\n  disable: [mutable-tag]\nrules:\n  - id: pg-major\n    pattern: '(?i)postgres(ql)? 1[5-8]'\n    verdict: note\n",
        )
        .unwrap();
        assert!(config.db_backed_services.service("paperless").is_some());
        assert_eq!(
            config.skip_categories,
            [SkipCategory::Databases, SkipCategory::CustomImages]
        );
        assert_eq!(config.lint.disable, ["mutable-tag"]);
        let rules = config.rule_set().unwrap();
        assert!(rules.rules().iter().any(|rule| rule.id == "pg-major"));
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_key_and_its_line() {
        let error = Config::parse("skip_image_patterns: []\nskip_imag_patterns: ['*']\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("skip_imag_patterns"), "{error}");
        assert!(error.contains(".upkeep.yaml:2:1"), "{error}");
        let nested = Config::parse("lint:\n  disabled: [latest-tag]\n")
            .unwrap_err()
            .to_string();
        assert!(
            nested.contains("disabled") && nested.contains(".upkeep.yaml:2:3"),
            "{nested}"
        );
    }

    #[test]
    fn the_readme_example_documents_every_key_and_parses() {
        let readme = include_str!("../../../README.md");
        let section = &readme[readme.find("## Config").expect("a Config section")..];
        let start = section.find("```yaml\n").expect("an example") + "```yaml\n".len();
        let example = &section[start..start + section[start..].find("```").expect("closed")];
        let config = Config::parse(example).unwrap_or_else(|e| panic!("{e:#}"));
        let shown = serde_json::to_value(&config).unwrap();
        for key in shown.as_object().unwrap().keys() {
            assert!(
                example.contains(&format!("{key}:")),
                "README example lacks `{key}`"
            );
        }
    }

    #[test]
    fn the_old_verify_kubectl_key_is_accepted_and_ignored() {
        let config = Config::parse("verify:\n  kubectl: /usr/local/bin/kubectl\n").unwrap();
        assert!(config.verify.kubectl.is_some());
        let shown = serde_json::to_value(&config).unwrap();
        assert!(
            shown["verify"].get("kubectl").is_none(),
            "not shown as a setting"
        );
    }

    #[test]
    fn a_rule_that_does_not_compile_is_refused_when_the_config_is_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".upkeep.yaml");
        let rule = "rules:\n  - id: {id}\n    {condition}\n";
        for (condition, refused) in [
            ("pattern: 'postgres (1[5-8]'", Some("invalid pattern")),
            ("keywords: []", Some("pg")),
            ("keywords: ['a (b']", None),
        ] {
            let text = rule.replace("{id}", "pg").replace("{condition}", condition);
            std::fs::write(&file, text).unwrap();
            let loaded = Config::load(Some(&file), dir.path());
            match refused {
                Some(why) => {
                    let Err(error) = loaded else {
                        panic!("{condition}: loaded");
                    };
                    let error = format!("{error:#}");
                    assert!(
                        error.contains(".upkeep.yaml") && error.contains(why),
                        "{error}"
                    );
                }
                None => assert!(loaded.is_ok(), "{condition}: {:?}", loaded.err()),
            }
        }
    }

    #[test]
    fn a_wrong_type_names_its_place() {
        let error = Config::parse("version_jump_always_step: 3\n").unwrap_err();
        assert!(error.to_string().contains(".upkeep.yaml:1:27"), "{error}");
    }
}
