//! Verification after a deploy: for the risk's window, rounds of checks — the service's URLs
//! answer with a passing code, its pods are ready and do not restart, and no new alert fires
//! for its namespace. Only what is known is checked: a URL comes from `verify.urls`, else the
//! cluster's Ingress rules for the namespace, else a literal ingress host in the stack, never
//! from a module input. A check that cannot run is reported as skipped, never as passed; when
//! none can run the verdict is `Skipped`, which rolls nothing back.

use crate::config::VerifyConfig;
use crate::deliver::clock::Clock;
use crate::deliver::cluster::Cluster;
use crate::deliver::gates::Prometheus;
use crate::deliver::stack;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "lowercase")]
pub enum Check {
    /// It passed.
    Passed(String),
    /// It failed.
    Failed(String),
    /// It could not run.
    Skipped(String),
}

/// The verdict of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every round passed (skipped checks aside, and at least one check ran).
    Passed,
    /// Two rounds in a row failed, or the last one did.
    Failed,
    /// No check could run.
    Skipped,
}

/// What verification found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The verdict.
    pub verdict: Verdict,
    /// Rounds run.
    pub rounds: usize,
    /// The checks of the last round (or of the first failing pair's second round).
    pub checks: Vec<(String, Check)>,
}

impl Verification {
    /// The failing checks, `name: detail` each.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|(name, check)| match check {
                Check::Failed(detail) => Some(format!("{name}: {detail}")),
                _ => None,
            })
            .collect()
    }
}

/// What to check for one stack.
pub struct Target {
    /// The URL `verify.urls` gives the stack.
    pub configured: Option<String>,
    /// URLs of the literal ingress hosts in the stack's files.
    pub literal: Vec<String>,
    /// The namespace of its pods.
    pub namespace: String,
    /// A label selector for its pods.
    pub selector: Option<String>,
}

impl Target {
    /// The target of the stack in `dir` (relative to `root`), named `stack`.
    pub fn of(root: &Path, dir: &Path, stack: &str, config: &VerifyConfig) -> Target {
        Target {
            configured: config.urls.get(stack).cloned(),
            literal: stack::ingress_urls(root, dir),
            namespace: stack::namespace(root, dir, stack),
            selector: config.selectors.get(stack).cloned(),
        }
    }

    /// The URLs to check and where they come from: `verify.urls`, else the Ingress rules of
    /// the namespace in the cluster, else the stack's literal ingress hosts; or why none is
    /// known.
    fn urls(&self, cluster: Option<&Cluster>) -> Result<(Vec<String>, &'static str), String> {
        if let Some(url) = &self.configured {
            return Ok((vec![url.clone()], "verify.urls"));
        }
        let from_cluster = cluster.map(|cluster| cluster.ingress_urls(&self.namespace));
        if let Some(Ok(urls)) = &from_cluster
            && !urls.is_empty()
        {
            return Ok((urls.clone(), "the namespace's Ingress"));
        }
        if !self.literal.is_empty() {
            return Ok((self.literal.clone(), "the stack's kubernetes_ingress_v1"));
        }
        let cluster = match from_cluster {
            None => "no cluster access".to_owned(),
            Some(Ok(_)) => format!("no Ingress in namespace {}", self.namespace),
            Some(Err(error)) => format!("ingresses unreadable ({error:#})"),
        };
        Err(format!(
            "no URL known ({cluster}, no literal ingress host in the stack, no verify.urls entry)"
        ))
    }
}

/// Where verification looks.
pub struct Sources<'a> {
    /// The cluster, when reachable.
    pub cluster: Option<&'a Cluster>,
    /// Prometheus, when configured.
    pub prometheus: Option<&'a Prometheus>,
}

/// Runs rounds of checks every `interval_seconds` for `window`.
pub fn verify(
    target: &Target,
    config: &VerifyConfig,
    window: Duration,
    clock: &Clock,
    sources: &Sources<'_>,
) -> Verification {
    let http = crate::tls::blocking_client()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .ok();
    let urls = target.urls(sources.cluster);
    let baseline = sources.prometheus.map(|p| {
        p.firing()
            .map(|alerts| alerts.into_iter().map(|a| a.key()).collect::<BTreeSet<_>>())
    });
    let end = clock.elapsed() + window;
    let mut restarts: HashMap<String, i32> = HashMap::new();
    let (mut rounds, mut failed_in_a_row, mut ran) = (0, 0, false);
    loop {
        rounds += 1;
        let checks = vec![
            ("http".to_owned(), http_check(http.as_ref(), &urls, config)),
            (
                "pods".to_owned(),
                pods_check(target, sources.cluster, &mut restarts),
            ),
            (
                "alerts".to_owned(),
                alerts_check(target, sources.prometheus, baseline.as_ref()),
            ),
        ];
        ran |= checks.iter().any(|(_, c)| !matches!(c, Check::Skipped(_)));
        let failed = checks.iter().any(|(_, c)| matches!(c, Check::Failed(_)));
        failed_in_a_row = if failed { failed_in_a_row + 1 } else { 0 };
        let last = clock.elapsed() + Duration::from_secs(config.interval_seconds) > end;
        if failed_in_a_row >= 2 || (failed && last) {
            return Verification {
                verdict: Verdict::Failed,
                rounds,
                checks,
            };
        }
        if last {
            let verdict = if ran {
                Verdict::Passed
            } else {
                Verdict::Skipped
            };
            return Verification {
                verdict,
                rounds,
                checks,
            };
        }
        clock.sleep(Duration::from_secs(config.interval_seconds));
    }
}

fn http_check(
    http: Option<&reqwest::blocking::Client>,
    urls: &Result<(Vec<String>, &'static str), String>,
    config: &VerifyConfig,
) -> Check {
    let (urls, source) = match urls {
        Ok(found) => found,
        Err(why) => return Check::Skipped(why.clone()),
    };
    let Some(http) = http else {
        return Check::Skipped("no HTTP client".to_owned());
    };
    let mut answers = Vec::new();
    for url in urls {
        match http.get(url).send() {
            Ok(response) if config.pass_codes.contains(&response.status().as_u16()) => {
                answers.push(format!("{url} answered {}", response.status().as_u16()));
            }
            Ok(response) => {
                return Check::Failed(format!("{url} answered {}", response.status().as_u16()));
            }
            Err(error) if error.is_timeout() => {
                return Check::Failed(format!("{url} timed out"));
            }
            Err(error) => return Check::Failed(format!("{url}: {}", error.without_url())),
        }
    }
    Check::Passed(format!("{} (from {source})", answers.join(", ")))
}

fn pods_check(
    target: &Target,
    cluster: Option<&Cluster>,
    restarts: &mut HashMap<String, i32>,
) -> Check {
    let Some(cluster) = cluster else {
        return Check::Skipped("no cluster access (no kubeconfig, not in a cluster)".to_owned());
    };
    let (pods, containers) = match cluster.containers(&target.namespace, target.selector.as_deref())
    {
        Ok(found) => found,
        Err(error) => return Check::Skipped(format!("{error:#}")),
    };
    if pods == 0 {
        return Check::Failed(format!("no pods in namespace {}", target.namespace));
    }
    for container in &containers {
        if let Some(reason) = &container.waiting
            && reason.ends_with("BackOff")
        {
            return Check::Failed(format!("{} is in {reason}", container.name));
        }
        if !container.ready {
            return Check::Failed(format!("{} is not ready", container.name));
        }
        let first = *restarts
            .entry(container.name.clone())
            .or_insert(container.restarts);
        if container.restarts > first {
            return Check::Failed(format!(
                "container {} restarted ({first} -> {})",
                container.name, container.restarts
            ));
        }
    }
    Check::Passed(format!("{pods} pod(s) ready in {}", target.namespace))
}

fn alerts_check(
    target: &Target,
    prometheus: Option<&Prometheus>,
    baseline: Option<&anyhow::Result<BTreeSet<String>>>,
) -> Check {
    let (Some(prometheus), Some(baseline)) = (prometheus, baseline) else {
        return Check::Skipped("no gates.prometheus_url".to_owned());
    };
    let Ok(baseline) = baseline else {
        return Check::Skipped("Prometheus did not answer at the start".to_owned());
    };
    match prometheus.firing() {
        Ok(alerts) => {
            let new: Vec<String> = alerts
                .iter()
                .filter(|alert| alert.namespace.as_deref() == Some(target.namespace.as_str()))
                .filter(|alert| !baseline.contains(&alert.key()))
                .map(|alert| alert.name.clone())
                .collect();
            if new.is_empty() {
                Check::Passed(format!("no new alert for namespace {}", target.namespace))
            } else {
                Check::Failed(format!(
                    "new alert(s) firing in {}: {}",
                    target.namespace,
                    new.join(", ")
                ))
            }
        }
        Err(error) => Check::Skipped(format!("{error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::{Target, Verdict, verify};
    use crate::config::VerifyConfig;
    use crate::deliver::clock::Clock;
    use std::cell::Cell;
    use std::time::Duration;

    #[test]
    fn the_namespace_and_the_literal_ingress_host_come_from_the_stack() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("fixtures/homelab"))
            .find(|dir| dir.is_dir())
            .expect("the fixtures");
        let config = VerifyConfig::default();
        let immich = Target::of(
            &root,
            std::path::Path::new("stacks/immich"),
            "immich",
            &config,
        );
        assert_eq!(immich.namespace, "immich");
        let vaultwarden = Target::of(
            &root,
            std::path::Path::new("stacks/vaultwarden"),
            "vaultwarden",
            &config,
        );
        assert_eq!(vaultwarden.literal, ["http://vault.home.arpa"]);
        assert_eq!(
            vaultwarden.urls(None).unwrap(),
            (
                vec!["http://vault.home.arpa".to_owned()],
                "the stack's kubernetes_ingress_v1"
            )
        );
        let configured = VerifyConfig {
            urls: [(
                "vaultwarden".to_owned(),
                "https://vault.example.org/alive".to_owned(),
            )]
            .into(),
            ..VerifyConfig::default()
        };
        let vaultwarden = Target::of(
            &root,
            std::path::Path::new("stacks/vaultwarden"),
            "vaultwarden",
            &configured,
        );
        assert_eq!(
            vaultwarden.urls(None).unwrap().0,
            ["https://vault.example.org/alive"],
            "the operator's word wins"
        );
        let authentik = Target::of(
            &root,
            std::path::Path::new("stacks/authentik"),
            "authentik",
            &config,
        );
        let why = authentik.urls(None).unwrap_err();
        assert!(why.starts_with("no URL known (no cluster access"), "{why}");
    }

    #[test]
    fn checks_that_cannot_run_make_a_skipped_verification_not_a_passed_one() {
        let config = VerifyConfig::default();
        let target = Target {
            configured: None,
            literal: Vec::new(),
            namespace: "vaultwarden".to_owned(),
            selector: None,
        };
        let clock = Clock::Virtual(Cell::new(Duration::ZERO));
        let sources = super::Sources {
            cluster: None,
            prometheus: None,
        };
        let verification = verify(&target, &config, Duration::from_secs(120), &clock, &sources);
        assert_eq!(verification.verdict, Verdict::Skipped);
        assert_eq!(
            verification.rounds, 9,
            "every 15 s for 2 minutes, on the virtual clock"
        );
        assert_eq!(clock.elapsed(), Duration::from_secs(120));
    }
}
