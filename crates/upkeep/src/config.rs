//! The repository's `.upkeep.yaml` (or the JSON shape of an `upgrade-config.json`): found by
//! walking up from the working directory, or named by `UPKEEP_CONFIG`.

use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use upkeep_notes::{Overrides, RuleSet, RuleSpec};

/// The config file's name at the repository root.
pub const FILE_NAME: &str = ".upkeep.yaml";

/// The settings upkeep reads. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Image name → `owner/repo` whose releases are its notes.
    pub github_repo_overrides: BTreeMap<String, String>,
    /// Chart name (or `repository/chart`) → `owner/repo`.
    pub helm_chart_repo_overrides: BTreeMap<String, String>,
    /// Stacks whose database is backed up before an upgrade.
    pub db_backed_services: DbBackedServices,
    /// Images or charts (`*` patterns) whose upgrades always step through each minor line.
    pub version_jump_always_step: Vec<String>,
    /// Words that mark a breaking change in release notes; the built-in list when empty.
    pub breaking_change_keywords: Vec<String>,
    /// Extra rules (`id`, `keywords` or `pattern`, `images`, `verdict`).
    pub rules: Vec<RuleSpec>,
    /// GitHub API base URL (the `GITHUB_API_URL` environment variable wins).
    pub github_api_url: Option<String>,
}

/// `db_backed_services`: a list of stack names, or a map from stack name to its backup
/// details (the `upgrade-config.json` shape).
#[derive(Debug, Clone, Deserialize)]
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

/// How a stack's database is backed up.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DbService {
    /// The backup job's name.
    pub backup_job: Option<String>,
}

impl DbBackedServices {
    /// The backup of a stack: `None` when it is not DB-backed, else its job name if known.
    pub fn backup_of(&self, stack: &str) -> Option<Option<&str>> {
        match self {
            DbBackedServices::Names(names) => names.iter().any(|n| n == stack).then_some(None),
            DbBackedServices::Detailed(map) => map.get(stack).map(|s| s.backup_job.as_deref()),
        }
    }
}

impl Config {
    /// Loads the config that applies to `start`: `UPKEEP_CONFIG` if set, else the nearest
    /// `.upkeep.yaml` at or above `start`, else defaults. Returns the file read, if any.
    pub fn load(start: &Path) -> anyhow::Result<(Config, Option<PathBuf>)> {
        let path = match std::env::var_os("UPKEEP_CONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => find_upward(start),
        };
        let Some(path) = path else {
            return Ok((Config::default(), None));
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let config = Config::parse(&text).with_context(|| format!("in {}", path.display()))?;
        Ok((config, Some(path)))
    }

    /// Reads config text (YAML, or JSON, which is YAML).
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_saphyr::from_str(text).map_err(|error| anyhow::anyhow!("{error}"))
    }

    /// The rule set: built-in rules with the configured keywords and always-step list, then
    /// the configured rules.
    pub fn rule_set(&self) -> anyhow::Result<RuleSet> {
        let mut rules = RuleSet::builtin(
            &self.breaking_change_keywords,
            &self.version_jump_always_step,
        );
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

/// The nearest `.upkeep.yaml` in `start` or a parent folder.
fn find_upward(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn the_json_shape_of_upgrade_config_loads() {
        let config = Config::parse(
            r#"{
  "github_repo_overrides": {"vaultwarden/server": "dani-garcia/vaultwarden"},
  "helm_chart_repo_overrides": {"authentik": "goauthentik/helm"},
  "db_backed_services": {"immich": {"backup_job": "immich-db-backup"}},
  "version_jump_always_step": ["ghcr.io/nextcloud/*"],
  "breaking_change_keywords": ["breaking", "migration"]
}"#,
        )
        .unwrap();
        assert_eq!(config.github_repo_overrides.len(), 1);
        assert_eq!(
            config.db_backed_services.backup_of("immich"),
            Some(Some("immich-db-backup"))
        );
        assert_eq!(config.db_backed_services.backup_of("vaultwarden"), None);
    }

    #[test]
    fn yaml_with_rules_loads_and_compiles() {
        let config = Config::parse(
            "db_backed_services: [immich, paperless]\nrules:\n  - id: pg-major\n    pattern: '(?i)postgres(ql)? 1[5-8]'\n    verdict: note\n",
        )
        .unwrap();
        assert_eq!(config.db_backed_services.backup_of("paperless"), Some(None));
        let rules = config.rule_set().unwrap();
        assert!(rules.rules().iter().any(|rule| rule.id == "pg-major"));
    }

    #[test]
    fn a_wrong_type_names_its_place() {
        let error = Config::parse("version_jump_always_step: 3\n").unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
    }
}
