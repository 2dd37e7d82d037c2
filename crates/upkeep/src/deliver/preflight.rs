//! Preflight: everything a bump or rollback will need, checked before anything changes — the
//! remote answers and the branch is in line with it, CI can be followed, the Slack,
//! Kubernetes and Prometheus settings are usable, the backup can be made. One failed check
//! stops the run with nothing changed; `--dry-run` prints the same list.

use crate::deliver::cluster::Cluster;
use crate::deliver::gates::Prometheus;
use crate::deliver::git::Git;
use crate::deliver::remote;
use crate::deliver::verify::Check;
use crate::deliver::woodpecker::Woodpecker;
use anyhow::bail;
use std::fmt::Write;
use std::path::Path;

/// The checks made, in order.
#[derive(Debug, Default)]
pub struct Preflight(pub Vec<(&'static str, Check)>);

impl Preflight {
    /// Records one check.
    pub fn add(&mut self, name: &'static str, check: Check) {
        self.0.push((name, check));
    }

    /// The failed checks, `name: why` each.
    pub fn failures(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|(name, check)| match check {
                Check::Failed(why) => Some(format!("{name}: {why}")),
                _ => None,
            })
            .collect()
    }

    /// One line per check.
    pub fn render(&self) -> String {
        let mut out = String::from("Preflight:\n");
        for (name, check) in &self.0 {
            let (word, detail) = match check {
                Check::Passed(detail) => ("ok", detail),
                Check::Failed(detail) => ("FAILED", detail),
                Check::Skipped(detail) => ("skipped", detail),
            };
            let _ = writeln!(out, "  {name:<10} {word:<7} {detail}");
        }
        out
    }

    /// The stage's one-line detail.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(name, check)| {
                let word = match check {
                    Check::Passed(_) => "ok",
                    Check::Failed(_) => "FAILED",
                    Check::Skipped(_) => "skipped",
                };
                format!("{name} {word}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The `git` check of `--dry-run`: the repository, and whether a bump could start from it — a clean tree
/// on a branch, a remote that answers (`ls-remote`), no local commits but upkeep's own —
/// without fetching or changing anything.
pub fn git_standing(path: &Path, remote_name: &str, state_file: &Path) -> (Option<Git>, Check) {
    let git = match Git::discover(path, remote_name) {
        Ok(git) => git,
        Err(error) => return (None, Check::Failed(format!("{error:#}"))),
    };
    let check = (|| {
        let dirty = git.changes_except(Some(state_file))?;
        if !dirty.is_empty() {
            bail!(
                "the working tree has changes; a bump would refuse to start:\n  {}",
                dirty.join("\n  ")
            );
        }
        let branch = format!("refs/heads/{}", git.branch());
        let refs = remote::ls_remote(Some(&git.root()), git.remote(), &[&branch])?;
        let Some((tip, _)) = refs.iter().find(|(_, name)| *name == branch) else {
            bail!("`{}` has no branch `{}`", git.remote(), git.branch());
        };
        Ok(format!(
            "`{}` answers, {} at {:.7}; {}",
            git.remote(),
            git.branch(),
            tip,
            git.standing(tip)?
        ))
    })();
    let check = match check {
        Ok(detail) => Check::Passed(detail),
        Err(error) => Check::Failed(format!("{error:#}")),
    };
    (Some(git), check)
}

/// The CI check: `ci` is what the flags and config chose.
pub fn ci(ci: &anyhow::Result<Option<Woodpecker>>, flag_none: bool) -> Check {
    match ci {
        Ok(Some(woodpecker)) => match woodpecker.check() {
            Ok(found) => Check::Passed(format!("Woodpecker: {found}")),
            Err(error) => Check::Failed(format!("{error:#}")),
        },
        Ok(None) if flag_none => Check::Skipped("--ci none".to_owned()),
        Ok(None) => Check::Skipped("no Woodpecker server configured".to_owned()),
        Err(error) => Check::Failed(format!("{error:#}")),
    }
}

/// The Kubernetes check: connection settings usable (nothing is asked of the cluster here;
/// the backup check and verification do that).
pub fn kubernetes(cluster: &anyhow::Result<Option<Cluster>>, needed: bool) -> Check {
    match cluster {
        Ok(Some(cluster)) => Check::Passed(format!("API server {}", cluster.server)),
        Ok(None) if needed => Check::Skipped(
            "no kubeconfig and not in a cluster: pod and ingress checks cannot run".to_owned(),
        ),
        Ok(None) => Check::Skipped("not needed".to_owned()),
        Err(error) => Check::Failed(format!("{error:#}")),
    }
}

/// The Prometheus check: the URL parses (the gate itself asks for alerts).
pub fn prometheus(prometheus: &anyhow::Result<Option<Prometheus>>) -> Check {
    match prometheus {
        Ok(Some(_)) => Check::Passed("gates.prometheus_url set".to_owned()),
        Ok(None) => Check::Skipped("no gates.prometheus_url: no alert gate".to_owned()),
        Err(error) => Check::Failed(format!("{error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::Preflight;
    use crate::deliver::verify::Check;

    #[test]
    fn a_failed_check_is_listed_and_rendered() {
        let mut preflight = Preflight::default();
        preflight.add("remote", Check::Passed("main at abc1234".to_owned()));
        preflight.add("ci", Check::Failed("Woodpecker answered 401".to_owned()));
        preflight.add("slack", Check::Skipped("no webhook".to_owned()));
        assert_eq!(preflight.failures(), ["ci: Woodpecker answered 401"]);
        assert_eq!(preflight.summary(), "remote ok, ci FAILED, slack skipped");
        assert!(
            preflight
                .render()
                .contains("  ci         FAILED  Woodpecker answered 401\n")
        );
    }
}
