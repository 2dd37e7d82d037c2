//! Waiting for the Woodpecker pipeline of a pushed commit: found by its SHA, polled with
//! backoff until it ends or the timeout passes. The token (`WOODPECKER_TOKEN`) is sent as a
//! bearer token and never printed.

use crate::config::WoodpeckerConfig;
use crate::deliver::clock::Clock;
use anyhow::{Context, anyhow};
use serde::Deserialize;
use std::time::Duration;

/// How a pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiOutcome {
    /// It passed.
    Success(u64),
    /// It failed, errored, was killed or declined.
    Failed(u64, String),
    /// No pipeline ended (or appeared) in time.
    TimedOut,
}

/// A Woodpecker server.
pub struct Woodpecker {
    server: String,
    token: Option<String>,
    repo: Option<String>,
    repo_id: Option<u64>,
    timeout: Duration,
    http: reqwest::blocking::Client,
}

#[derive(Deserialize)]
struct Pipeline {
    number: u64,
    status: String,
    commit: String,
}

#[derive(Deserialize)]
struct Repo {
    id: u64,
}

impl Woodpecker {
    /// The server from `WOODPECKER_SERVER` or the config; `None` when neither names one.
    pub fn from_config(config: &WoodpeckerConfig) -> anyhow::Result<Option<Woodpecker>> {
        let server = std::env::var("WOODPECKER_SERVER")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| config.server.clone());
        let Some(server) = server else {
            return Ok(None);
        };
        Ok(Some(Woodpecker {
            server: server.trim_end_matches('/').to_owned(),
            token: std::env::var("WOODPECKER_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
            repo: config.repo.clone(),
            repo_id: config.repo_id,
            timeout: Duration::from_secs(config.timeout_minutes * 60),
            http: crate::tls::blocking_client_for(&server)
                .timeout(Duration::from_secs(30))
                .build()?,
        }))
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let mut request = self.http.get(format!("{}{path}", self.server));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().map_err(|e| {
            anyhow!(
                "cannot reach Woodpecker at {}{path}: {}",
                self.server,
                e.without_url()
            )
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(anyhow!(
                "Woodpecker answered {status} for {path}: WOODPECKER_TOKEN is {}",
                if self.token.is_some() {
                    "not accepted"
                } else {
                    "not set"
                }
            ));
        }
        if !status.is_success() {
            return Err(anyhow!("Woodpecker answered {status} for {path}"));
        }
        response
            .json()
            .with_context(|| format!("unexpected Woodpecker answer for {path}"))
    }

    fn repo_id(&self) -> anyhow::Result<u64> {
        if let Some(id) = self.repo_id {
            return Ok(id);
        }
        let repo = self
            .repo
            .as_deref()
            .ok_or_else(|| {
                anyhow!(
                    "a Woodpecker server is set but not the repository: set `woodpecker.repo` (owner/name) or `woodpecker.repo_id`, or pass --ci none"
                )
            })?;
        Ok(self.get::<Repo>(&format!("/api/repos/lookup/{repo}"))?.id)
    }

    /// Preflight: the repository resolves and an authenticated request for its pipelines
    /// succeeds, so a pushed commit can be followed. What was found, or why CI is unusable.
    pub fn check(&self) -> anyhow::Result<String> {
        if self.token.is_none() {
            return Err(anyhow!(
                "WOODPECKER_TOKEN is not set; upkeep cannot follow the pipeline of its push"
            ));
        }
        let id = self.repo_id()?;
        let _: Vec<serde_json::Value> =
            self.get(&format!("/api/repos/{id}/pipelines?perPage=1"))?;
        let name = self
            .repo
            .as_deref()
            .map_or_else(|| format!("repo {id}"), |repo| format!("{repo} (id {id})"));
        Ok(format!("{name} at {}", self.server))
    }

    /// Waits for the pipeline of commit `sha` to end: polls every 5 s at first, then less
    /// often (up to 30 s), until it ends or the timeout passes.
    pub fn wait(&self, sha: &str, clock: &Clock) -> anyhow::Result<CiOutcome> {
        let id = self.repo_id()?;
        let deadline = clock.elapsed() + self.timeout;
        let mut interval = Duration::from_secs(5);
        loop {
            let pipelines: Vec<Pipeline> =
                self.get(&format!("/api/repos/{id}/pipelines?perPage=50"))?;
            if let Some(pipeline) = pipelines.iter().find(|p| p.commit == sha) {
                match pipeline.status.as_str() {
                    "success" => return Ok(CiOutcome::Success(pipeline.number)),
                    "failure" | "error" | "killed" | "declined" => {
                        return Ok(CiOutcome::Failed(pipeline.number, pipeline.status.clone()));
                    }
                    _ => {}
                }
            }
            if clock.elapsed() + interval > deadline {
                return Ok(CiOutcome::TimedOut);
            }
            clock.sleep(interval);
            interval = (interval * 3 / 2).min(Duration::from_secs(30));
        }
    }
}
