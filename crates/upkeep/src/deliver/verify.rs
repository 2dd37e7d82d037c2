//! Verification after a deploy: for the risk's window, rounds of checks — the service's URL
//! answers with a passing code, its pods are ready and do not restart. A check that cannot run
//! (no URL known, no kubectl, no cluster access) is reported as skipped, never as passed.

use crate::config::VerifyConfig;
use crate::deliver::clock::Clock;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
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

/// What to check for one stack.
pub struct Target {
    /// The URL to request, if known.
    pub url: Option<String>,
    /// The namespace of its pods.
    pub namespace: String,
    /// A label selector for its pods.
    pub selector: Option<String>,
}

impl Target {
    /// The target of the stack in `dir` (relative to `root`), named `stack`.
    pub fn of(root: &Path, dir: &Path, stack: &str, config: &VerifyConfig) -> Target {
        let texts = tf_texts(root, dir);
        static HOST: LazyLock<regex::Regex> = LazyLock::new(|| {
            regex::Regex::new(r#"(?m)^\s*host\s*=\s*"([A-Za-z0-9.-]+)""#).expect("valid regex")
        });
        // The stack's own `kubernetes_namespace` first, else a literal `namespace = "…"`.
        static NAMESPACE: LazyLock<regex::Regex> = LazyLock::new(|| {
            regex::Regex::new(
                r#"resource\s+"kubernetes_namespace"\s+"[^"]*"\s*\{[^}]*?\bname\s*=\s*"([^"$]+)"|(?m)^\s*namespace\s*=\s*"([^"$]+)""#,
            )
            .expect("valid regex")
        });
        let first = |regex: &regex::Regex| {
            texts.iter().find_map(|text| {
                let captures = regex.captures(text)?;
                let found = captures.get(1).or_else(|| captures.get(2))?;
                Some(found.as_str().to_owned())
            })
        };
        Target {
            url: config
                .urls
                .get(stack)
                .cloned()
                .or_else(|| first(&HOST).map(|host| format!("https://{host}"))),
            namespace: first(&NAMESPACE).unwrap_or_else(|| stack.to_owned()),
            selector: config.selectors.get(stack).cloned(),
        }
    }
}

fn tf_texts(root: &Path, dir: &Path) -> Vec<String> {
    let Ok(repo) = upkeep_pins::RepoFiles::new(root) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "tf"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(root).ok()?;
            repo.read_text(rel, upkeep_pins::DEFAULT_MAX_FILE_SIZE).ok()
        })
        .collect()
}

/// Runs rounds of checks every `interval_seconds` for `window`.
pub fn verify(
    target: &Target,
    config: &VerifyConfig,
    window: Duration,
    clock: &Clock,
) -> Verification {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .ok();
    let end = clock.elapsed() + window;
    let mut restarts: HashMap<String, u64> = HashMap::new();
    let (mut rounds, mut failed_in_a_row, mut ran) = (0, 0, false);
    loop {
        rounds += 1;
        let checks = vec![
            ("http".to_owned(), http_check(http.as_ref(), target, config)),
            (
                "pods".to_owned(),
                pods_check(target, &config.kubectl, &mut restarts),
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
    target: &Target,
    config: &VerifyConfig,
) -> Check {
    let Some(url) = &target.url else {
        return Check::Skipped("no URL: set verify.urls for the stack".to_owned());
    };
    let Some(http) = http else {
        return Check::Skipped("no HTTP client".to_owned());
    };
    match http.get(url).send() {
        Ok(response) if config.pass_codes.contains(&response.status().as_u16()) => {
            Check::Passed(format!("{url} answered {}", response.status().as_u16()))
        }
        Ok(response) => Check::Failed(format!("{url} answered {}", response.status().as_u16())),
        Err(error) => Check::Failed(format!("{url}: {}", error.without_url())),
    }
}

#[derive(serde::Deserialize)]
struct PodList {
    items: Vec<serde_json::Value>,
}

fn pods_check(target: &Target, kubectl: &str, restarts: &mut HashMap<String, u64>) -> Check {
    let mut command = std::process::Command::new(kubectl);
    command
        .args(["get", "pods", "-n", &target.namespace, "-o", "json"])
        .env_clear()
        .envs(crate::child_env::of(crate::child_env::Child::Tool));
    if let Some(selector) = &target.selector {
        command.args(["-l", selector]);
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(error) => return Check::Skipped(format!("kubectl cannot run: {error}")),
    };
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        let last = message.trim().lines().last().unwrap_or_default();
        return Check::Skipped(format!("kubectl failed: {last}"));
    }
    let Ok(pods) = serde_json::from_slice::<PodList>(&output.stdout) else {
        return Check::Skipped("kubectl printed no pod list".to_owned());
    };
    if pods.items.is_empty() {
        return Check::Failed(format!("no pods in namespace {}", target.namespace));
    }
    for pod in &pods.items {
        let name = pod["metadata"]["name"].as_str().unwrap_or("?");
        let statuses = pod["status"]["containerStatuses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for status in &statuses {
            if let Some(reason) = status["state"]["waiting"]["reason"].as_str()
                && reason == "CrashLoopBackOff"
            {
                return Check::Failed(format!("pod {name} is in CrashLoopBackOff"));
            }
            if !status["ready"].as_bool().unwrap_or(false) {
                return Check::Failed(format!("pod {name} is not ready"));
            }
            let container = format!("{name}/{}", status["name"].as_str().unwrap_or("?"));
            let count = status["restartCount"].as_u64().unwrap_or(0);
            let first = *restarts.entry(container.clone()).or_insert(count);
            if count > first {
                return Check::Failed(format!(
                    "container {container} restarted ({first} -> {count})"
                ));
            }
        }
    }
    Check::Passed(format!(
        "{} pod(s) ready in {}",
        pods.items.len(),
        target.namespace
    ))
}

#[cfg(test)]
mod tests {
    use super::{Target, Verdict, verify};
    use crate::config::VerifyConfig;
    use crate::deliver::clock::Clock;
    use std::cell::Cell;
    use std::time::Duration;

    #[test]
    fn the_namespace_and_host_come_from_the_stack() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/homelab");
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
        assert_eq!(vaultwarden.url.as_deref(), Some("https://vault.home.arpa"));
    }

    #[test]
    fn checks_that_cannot_run_make_a_skipped_verification_not_a_passed_one() {
        let config = VerifyConfig {
            kubectl: "/nonexistent/kubectl".to_owned(),
            ..VerifyConfig::default()
        };
        let target = Target {
            url: None,
            namespace: "vaultwarden".to_owned(),
            selector: None,
        };
        let clock = Clock::Virtual(Cell::new(Duration::ZERO));
        let verification = verify(&target, &config, Duration::from_secs(120), &clock);
        assert_eq!(verification.verdict, Verdict::Skipped);
        assert_eq!(
            verification.rounds, 9,
            "every 15 s for 2 minutes, on the virtual clock"
        );
        assert_eq!(clock.elapsed(), Duration::from_secs(120));
    }
}
