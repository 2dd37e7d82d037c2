//! The pre-upgrade database backup, made natively from the user's own settings:
//! `db_backed_services.<stack>` says how the stack's database is backed up —
//! `shared: true` with `type: postgresql` → a Job from the CronJob that
//! `backup_infrastructure.postgresql` names (`cronjob_name`, `namespace`); `dedicated: true` →
//! the backup CronJob in the stack's namespace; `backup_cronjob: NAME` (with
//! `backup_namespace`, else the stack's namespace) → that CronJob, whatever else the entry
//! says. The Job is made as `kubectl create job --from=cronjob/…` makes it, named
//! `pre-upgrade-<stack>-<epoch>`, and waited for. `hooks.pre_upgrade` commands run after it,
//! and are the backup when the entry names no CronJob. A DB-backed stack whose backup cannot
//! be made is refused, unless `--no-backup` says to go on without one.

use crate::config::{BackupConfig, Config, Hook};
use crate::deliver::clock::Clock;
use crate::deliver::cluster::{Cluster, JobState};
use crate::deliver::hooks;
use crate::deliver::verify::Check;
use anyhow::bail;
use serde::Serialize;
use std::time::Duration;

/// How often the backup Job is polled.
const POLL: Duration = Duration::from_secs(5);

/// Where the backup comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The stack is not DB-backed.
    NotDbBacked,
    /// `--no-backup` was given for a DB-backed stack.
    Declined,
    /// A Job from this CronJob.
    CronJob {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A Job from the one backup CronJob of this namespace (`dedicated: true`).
    FindIn(String),
    /// Only the `hooks.pre_upgrade` commands.
    Hooks,
    /// DB-backed, and nothing says how to back it up (why).
    Unknown(String),
}

/// The backup a bump of one stack makes.
#[derive(Debug, Clone)]
pub struct Backup {
    stack: String,
    namespace: String,
    /// Where it comes from.
    pub source: Source,
    hooks: Vec<Hook>,
    settings: BackupConfig,
}

/// A backup made.
#[derive(Debug, Clone, Serialize)]
pub struct Made {
    /// The commit's `DB backup:` text.
    pub line: String,
    /// `namespace/name` of the Job, if one ran.
    pub job: Option<String>,
    /// The end of its log.
    pub log: String,
}

impl Backup {
    /// The backup of `stack` (pods in `namespace`) as the config describes it.
    pub fn of(config: &Config, stack: &str, namespace: &str, no_backup: bool) -> Backup {
        let hooks = config.hooks.pre_upgrade.clone();
        let source = match config.db_backed_services.service(stack) {
            None => Source::NotDbBacked,
            Some(_) if no_backup => Source::Declined,
            Some(service) if service.backup_cronjob.is_some() => Source::CronJob {
                namespace: service
                    .backup_namespace
                    .unwrap_or_else(|| namespace.to_owned()),
                name: service.backup_cronjob.unwrap_or_default(),
            },
            Some(service) if service.shared => {
                let kind = service.kind.as_deref().unwrap_or_default();
                let entry = &config.backup_infrastructure[kind];
                match (entry["namespace"].as_str(), entry["cronjob_name"].as_str()) {
                    (Some(ns), Some(name)) if !kind.is_empty() => Source::CronJob {
                        namespace: ns.to_owned(),
                        name: name.to_owned(),
                    },
                    _ if kind.is_empty() => Source::Unknown(
                        "`shared: true` needs the database `type` (the key of backup_infrastructure)".to_owned(),
                    ),
                    _ => Source::Unknown(format!(
                        "backup_infrastructure.{kind} has no `cronjob_name` and `namespace`"
                    )),
                }
            }
            Some(service) if service.dedicated => Source::FindIn(namespace.to_owned()),
            Some(_) if !hooks.is_empty() => Source::Hooks,
            Some(_) => Source::Unknown(
                "DB-backed, but its db_backed_services entry names no backup (`shared` with `type`, `dedicated`, `backup_cronjob`) and no hooks.pre_upgrade is configured".to_owned(),
            ),
        };
        Backup {
            stack: stack.to_owned(),
            namespace: namespace.to_owned(),
            source,
            hooks,
            settings: config.backup.clone(),
        }
    }

    /// Whether a Kubernetes cluster is needed.
    pub fn needs_cluster(&self) -> bool {
        matches!(self.source, Source::CronJob { .. } | Source::FindIn(_))
    }

    /// What will happen, in the commit's words (for `plan` and `--dry-run`).
    pub fn describe(&self) -> String {
        let hooks = match (self.hooks.len(), &self.source) {
            (_, Source::NotDbBacked | Source::Declined | Source::Unknown(_)) | (0, _) => {
                String::new()
            }
            (n, _) => format!(", then {n} pre_upgrade hook(s)"),
        };
        match &self.source {
            Source::NotDbBacked => "no (not DB-backed)".to_owned(),
            Source::Declined => "skipped (--no-backup)".to_owned(),
            Source::CronJob { namespace, name } => {
                format!("yes (a Job from CronJob {namespace}/{name}{hooks})")
            }
            Source::FindIn(namespace) => {
                format!("yes (a Job from the backup CronJob of namespace {namespace}{hooks})")
            }
            Source::Hooks => format!("yes ({} pre_upgrade hook(s))", self.hooks.len()),
            Source::Unknown(why) => format!("cannot be made: {why}"),
        }
    }

    /// Preflight: whether the backup can be made, without making it. Finds the CronJob of a
    /// `dedicated` database.
    pub fn check(&mut self, cluster: Option<&Cluster>) -> Check {
        let refuse = |why: String| {
            Check::Failed(format!(
                "the backup of DB-backed {} cannot be made: {why}; pass --no-backup to upgrade without one",
                self.stack
            ))
        };
        match &self.source {
            Source::NotDbBacked | Source::Declined => Check::Skipped(self.describe()),
            Source::Hooks => Check::Passed(self.describe()),
            Source::Unknown(why) => refuse(why.clone()),
            Source::CronJob { .. } | Source::FindIn(_) => {
                let Some(cluster) = cluster else {
                    return refuse(
                        "no cluster access (no kubeconfig, not in a cluster)".to_owned(),
                    );
                };
                if let Source::FindIn(namespace) = &self.source {
                    let names = match cluster.cronjob_names(namespace) {
                        Ok(names) => names,
                        Err(error) => return refuse(format!("{error:#}")),
                    };
                    let backups: Vec<&String> =
                        names.iter().filter(|n| n.contains("backup")).collect();
                    match backups.as_slice() {
                        [one] => {
                            self.source = Source::CronJob {
                                namespace: namespace.clone(),
                                name: (*one).clone(),
                            };
                        }
                        [] => {
                            return refuse(format!(
                                "namespace {namespace} has no CronJob named *backup*"
                            ));
                        }
                        many => {
                            let list: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                            return refuse(format!(
                                "namespace {namespace} has several backup CronJobs ({}); name one with `backup_cronjob`",
                                list.join(", ")
                            ));
                        }
                    }
                }
                let Source::CronJob { namespace, name } = &self.source else {
                    return refuse("no CronJob".to_owned());
                };
                match cluster.cronjob(namespace, name) {
                    Ok(Some(_)) => Check::Passed(self.describe()),
                    Ok(None) => refuse(format!("CronJob {namespace}/{name} does not exist")),
                    Err(error) => refuse(format!("{error:#}")),
                }
            }
        }
    }

    /// Makes the backup: the Job, waited for on `clock` up to `backup.timeout_seconds`,
    /// then the hooks. An error says what failed, with the end of the Job's log.
    pub fn run(
        &self,
        cluster: Option<&Cluster>,
        clock: &Clock,
        epoch: u64,
    ) -> anyhow::Result<Made> {
        let mut made = match &self.source {
            Source::NotDbBacked | Source::Declined => {
                return Ok(Made {
                    line: self.describe(),
                    job: None,
                    log: String::new(),
                });
            }
            Source::Unknown(why) => bail!("the backup cannot be made: {why}"),
            Source::FindIn(namespace) => {
                bail!("the backup CronJob of namespace {namespace} was not looked up")
            }
            Source::Hooks => Made {
                line: String::new(),
                job: None,
                log: String::new(),
            },
            Source::CronJob { namespace, name } => {
                let Some(cluster) = cluster else {
                    bail!("the backup cannot be made: no cluster access");
                };
                self.job(cluster, namespace, name, clock, epoch)?
            }
        };
        if !self.hooks.is_empty() {
            let runs = hooks::run_all(&self.hooks, &self.stack, &self.namespace, epoch);
            if let Some(run) = runs.iter().find(|run| !run.ok) {
                bail!("`{}` failed: {}", run.command.join(" "), run.detail);
            }
            let seconds: f64 = runs.iter().map(|run| run.seconds).sum();
            made.line = match &made.job {
                Some(job) => format!("yes (job: {job}; {} hook(s), {seconds:.1} s)", runs.len()),
                None => format!("yes ({} hook(s), {seconds:.1} s)", runs.len()),
            };
        }
        Ok(made)
    }

    fn job(
        &self,
        cluster: &Cluster,
        namespace: &str,
        cronjob: &str,
        clock: &Clock,
        epoch: u64,
    ) -> anyhow::Result<Made> {
        let Some(template) = cluster.cronjob(namespace, cronjob)? else {
            bail!("CronJob {namespace}/{cronjob} does not exist");
        };
        let name = job_name(&self.stack, epoch);
        cluster.create_job_from(&template, &name)?;
        let timeout = Duration::from_secs(self.settings.timeout_seconds);
        let deadline = clock.elapsed() + timeout;
        let log = || {
            cluster
                .job_log(namespace, &name, self.settings.log_lines)
                .unwrap_or_else(|error| format!("(no log: {error:#})"))
        };
        loop {
            match cluster.job_state(namespace, &name)? {
                JobState::Succeeded => break,
                JobState::Failed(why) => bail!(
                    "backup Job {namespace}/{name} failed: {why}\nits log ends:\n{}",
                    log().trim_end()
                ),
                JobState::Running => {}
            }
            if clock.elapsed() >= deadline {
                bail!(
                    "backup Job {namespace}/{name} did not complete within {} s\nits log ends:\n{}",
                    timeout.as_secs(),
                    log().trim_end()
                );
            }
            clock.sleep(POLL);
        }
        let job = format!("{namespace}/{name}");
        Ok(Made {
            line: format!("yes (job: {job})"),
            job: Some(job),
            log: log(),
        })
    }
}

/// `pre-upgrade-<stack>-<epoch>`, a valid Job name (lowercase alphanumerics and `-`, at most
/// 63 characters, so its pods' `job-name` label fits too): the stack part is cut to fit.
pub fn job_name(stack: &str, epoch: u64) -> String {
    let suffix = format!("-{epoch}");
    let room = 63 - "pre-upgrade-".len() - suffix.len();
    let mut middle: String = stack
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    middle.truncate(room);
    let middle = middle.trim_matches('-');
    let middle = if middle.is_empty() { "stack" } else { middle };
    format!("pre-upgrade-{middle}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::{Backup, Source, job_name};
    use crate::config::Config;

    #[test]
    fn job_names_are_valid_and_fit_in_63_characters() {
        assert_eq!(
            job_name("immich", 1_795_000_000),
            "pre-upgrade-immich-1795000000"
        );
        let long = job_name(&"Home_Assistant.".repeat(10), 1_795_000_000);
        assert!(long.len() <= 63, "{long}");
        assert!(
            long.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(!long.contains("--1795"), "{long}");
    }

    #[test]
    fn the_users_backup_settings_name_the_cronjob() {
        let config = Config::parse(
            r#"{
  "db_backed_services": {
    "vaultwarden": {"type": "postgresql", "shared": true},
    "nextcloud": {"type": "mysql", "shared": true},
    "immich": {"type": "postgresql", "dedicated": true},
    "paperless": {"backup_job": "paperless-db-backup"},
    "gitea": {"type": "sqlite", "shared": true},
    "n8n": {}
  },
  "backup_infrastructure": {
    "postgresql": {"cronjob_name": "postgresql-backup", "namespace": "dbaas"},
    "mysql": {"cronjob_name": "mysql-backup", "namespace": "dbaas"}
  }
}"#,
        )
        .unwrap();
        let source = |stack: &str, no_backup| Backup::of(&config, stack, stack, no_backup).source;
        let cronjob = |namespace: &str, name: &str| Source::CronJob {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        assert_eq!(
            source("vaultwarden", false),
            cronjob("dbaas", "postgresql-backup")
        );
        assert_eq!(source("nextcloud", false), cronjob("dbaas", "mysql-backup"));
        assert_eq!(source("immich", false), Source::FindIn("immich".to_owned()));
        assert_eq!(
            source("paperless", false),
            cronjob("paperless", "paperless-db-backup")
        );
        assert!(
            matches!(source("gitea", false), Source::Unknown(why) if why.contains("backup_infrastructure.sqlite"))
        );
        assert!(matches!(source("n8n", false), Source::Unknown(_)));
        assert_eq!(source("vaultwarden", true), Source::Declined);
        assert_eq!(source("grafana", false), Source::NotDbBacked);
        assert_eq!(
            Backup::of(&config, "vaultwarden", "vaultwarden", false).describe(),
            "yes (a Job from CronJob dbaas/postgresql-backup)"
        );
    }

    #[test]
    fn every_key_of_the_users_entries_is_read_and_a_typo_is_an_error() {
        // The entries as the user's upgrade-config.json writes them.
        let config = Config::parse(
            r#"{
  "db_backed_services": {
    "immich": { "type": "postgresql", "db_name": "immich", "dedicated": true, "backup_cronjob": "postgresql-backup", "backup_namespace": "immich" },
    "authentik": { "type": "postgresql", "dedicated": true, "notes": "Uses PgBouncer, managed by Helm chart" },
    "monitoring": { "type": "mysql", "db_name": "monitoring", "shared": true, "notes": "Grafana backend" }
  },
  "backup_infrastructure": {
    "mysql": {"cronjob_name": "mysql-backup", "namespace": "dbaas"}
  }
}"#,
        )
        .unwrap();
        let source = |stack: &str| Backup::of(&config, stack, stack, false).source;
        assert_eq!(
            source("immich"),
            Source::CronJob {
                namespace: "immich".to_owned(),
                name: "postgresql-backup".to_owned()
            },
            "the named CronJob wins over the search of a dedicated stack's namespace"
        );
        assert_eq!(source("authentik"), Source::FindIn("authentik".to_owned()));
        assert_eq!(
            source("monitoring"),
            Source::CronJob {
                namespace: "dbaas".to_owned(),
                name: "mysql-backup".to_owned()
            }
        );
        let typo = Config::parse(
            r#"{"db_backed_services": {"immich": {"dedicated": true, "backup_cronjbo": "x"}}}"#,
        )
        .unwrap_err();
        assert!(format!("{typo:#}").contains("backup_cronjbo"), "{typo:#}");
    }
}
