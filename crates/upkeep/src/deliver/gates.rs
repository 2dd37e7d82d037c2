//! Upgrade gates: a bump starts only on a quiet cluster and a stack that has soaked. Firing
//! alerts come from Prometheus (`/api/v1/alerts`); those matching `gates.ignore_alerts`
//! (always-firing or node-maintenance alerts) do not count. A stack upgraded less than
//! `gates.soak_minutes` ago (its last `upgrade: <stack> …` commit) is not bumped again yet.

use crate::config::GatesConfig;
use crate::deliver::git::Git;
use anyhow::{Context, anyhow};
use serde::Deserialize;
use std::time::Duration;

/// A Prometheus server.
pub struct Prometheus {
    url: String,
    http: reqwest::blocking::Client,
}

/// A firing alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// `alertname`.
    pub name: String,
    /// Its `namespace` label, if any.
    pub namespace: Option<String>,
}

impl Alert {
    /// `name` or `name (namespace)`.
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{} ({namespace})", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    data: AlertData,
}

#[derive(Deserialize)]
struct AlertData {
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
struct RawAlert {
    labels: std::collections::BTreeMap<String, String>,
    state: String,
}

impl Prometheus {
    /// The server `gates.prometheus_url` names; `None` when unset, an error when it is not
    /// an http(s) URL.
    pub fn from_config(config: &GatesConfig) -> anyhow::Result<Option<Prometheus>> {
        let Some(url) = &config.prometheus_url else {
            return Ok(None);
        };
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| anyhow!("`gates.prometheus_url` is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(anyhow!("`gates.prometheus_url` must be http or https"));
        }
        Ok(Some(Prometheus {
            url: url.trim_end_matches('/').to_owned(),
            http: crate::tls::blocking_client_for(url)
                .timeout(Duration::from_secs(15))
                .build()?,
        }))
    }

    /// The alerts firing now.
    pub fn firing(&self) -> anyhow::Result<Vec<Alert>> {
        let url = format!("{}/api/v1/alerts", self.url);
        let response = self
            .http
            .get(&url)
            .send()
            .map_err(|e| anyhow!("Prometheus did not answer: {}", e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(anyhow!("Prometheus answered {status} for /api/v1/alerts"));
        }
        let answer: Answer = response
            .json()
            .context("unexpected answer from Prometheus /api/v1/alerts")?;
        Ok(answer
            .data
            .alerts
            .into_iter()
            .filter(|alert| alert.state == "firing")
            .map(|alert| Alert {
                name: alert.labels.get("alertname").cloned().unwrap_or_default(),
                namespace: alert.labels.get("namespace").cloned(),
            })
            .collect())
    }
}

/// The firing alerts that block a bump: those whose name `ignore` does not match, once each.
pub fn blocking(alerts: &[Alert], ignore: &regex::Regex) -> Vec<String> {
    let mut keys: Vec<String> = alerts
        .iter()
        .filter(|alert| !ignore.is_match(&alert.name))
        .map(Alert::key)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Why a bump of `stack` may not start now: blocking firing `alerts` (when Prometheus was
/// asked), or the stack still soaking after its last upgrade commit in `git`. Empty: go.
pub fn evaluate(
    config: &GatesConfig,
    alerts: Option<&[Alert]>,
    git: Option<&Git>,
    stack: &str,
) -> anyhow::Result<Vec<String>> {
    let mut gated = Vec::new();
    if let Some(alerts) = alerts {
        let ignore = regex::Regex::new(&config.ignore_alerts)
            .context("`gates.ignore_alerts` is not a regex")?;
        let blocking = blocking(alerts, &ignore);
        if !blocking.is_empty() {
            gated.push(format!("firing alerts: {}", blocking.join(", ")));
        }
    }
    if let (Some(git), minutes @ 1..) = (git, config.soak_minutes) {
        let last = git.last_with_subject(&format!("upgrade: {stack} "), 5_000)?;
        let now = i64::try_from(crate::policy::rate_limit::now()).unwrap_or(i64::MAX);
        if let Some(why) = soaking(last, now, minutes) {
            gated.push(why);
        }
    }
    Ok(gated)
}

/// Why the stack is still soaking: its last upgrade commit was made `age` seconds ago,
/// less than `minutes`. `None` when it may be bumped.
pub fn soaking(last_upgrade: Option<(String, i64)>, now: i64, minutes: u64) -> Option<String> {
    let (commit, time) = last_upgrade?;
    let age = now.saturating_sub(time).max(0);
    let window = i64::try_from(minutes.saturating_mul(60)).unwrap_or(i64::MAX);
    (age < window).then(|| {
        format!(
            "soak: {commit} was {} minute(s) ago; gates.soak_minutes is {minutes}",
            age / 60
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{Alert, blocking, soaking};
    use crate::config::DEFAULT_IGNORED_ALERTS;

    #[test]
    fn ignored_alerts_never_block_and_the_rest_do_once_each() {
        let ignore = regex::Regex::new(DEFAULT_IGNORED_ALERTS).unwrap();
        let alert = |name: &str, namespace: Option<&str>| Alert {
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
        };
        let alerts = [
            alert("Watchdog", None),
            alert("RebootRequired", None),
            alert("KubePodCrashLooping", Some("immich")),
            alert("KubePodCrashLooping", Some("immich")),
            alert("WatchdogX", None),
        ];
        assert_eq!(
            blocking(&alerts, &ignore),
            ["KubePodCrashLooping (immich)", "WatchdogX"]
        );
    }

    #[test]
    fn a_stack_soaks_for_the_configured_minutes_after_its_last_upgrade() {
        let last = Some(("abc1234 upgrade: immich v2.7.4 -> v2.8.0".to_owned(), 1_000));
        assert!(soaking(last.clone(), 1_000 + 59 * 60, 60).is_some());
        assert!(soaking(last.clone(), 1_000 + 60 * 60, 60).is_none());
        assert!(soaking(last, 1_000, 0).is_none(), "0 is off");
        assert!(soaking(None, 1_000, 60).is_none());
    }
}
