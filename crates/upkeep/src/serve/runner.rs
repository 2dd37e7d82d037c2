//! The workers: each takes the oldest queued job, runs its bump as a child process
//! (`upkeep bump NAME VERSION --path REPO --format json`), and records how it ended. At most
//! `--concurrency` run at once; bumps in one checkout take turns at the working tree through
//! its tree lock, and wait for CI and verification side by side. A bump gets the environment
//! a bump uses, never the service's tokens (see [`crate::child_env`]).

use crate::child_env::{self, Child};
use crate::serve::App;
use crate::serve::store::{Outcome, Status};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The outcome word of a bump that a gate stopped before any change.
const GATED: &str = "gated";

/// The end of a job's output kept in the database.
const LOG_LIMIT: usize = 64 * 1024;

/// How a job's bump is started.
#[derive(Debug, Clone)]
pub struct BumpCommand {
    /// The program.
    pub program: PathBuf,
    /// Arguments before `NAME VERSION --path REPO --format json` (`bump --sync` for upkeep
    /// itself: a long-lived checkout is brought to the remote's tip before each job).
    pub prefix: Vec<String>,
    /// The repository the bumps edit.
    pub repo: PathBuf,
    /// The config file given to `serve`, passed on.
    pub config: Option<PathBuf>,
    /// Environment variables the bump's hooks list, passed on with what a bump uses.
    pub hook_env: Vec<String>,
}

/// Runs jobs until `shutdown` turns true; a running job is finished first.
pub async fn worker(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let store = app.clone();
        let claimed = tokio::task::spawn_blocking(move || store.store.claim(unix_now())).await;
        match claimed {
            Ok(Ok(Some((id, name, version)))) => {
                // More may be queued: wake another idle worker.
                app.wake.notify_one();
                run_job(&app, id, &name, &version).await;
            }
            Ok(Ok(None)) => {
                tokio::select! {
                    () = app.wake.notified() => {}
                    _ = shutdown.changed() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Ok(Err(error)) => {
                tracing::error!(error = %format!("{error:#}"), "cannot take a job from the queue");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => tracing::error!(%error, "the queue task failed"),
        }
    }
}

async fn run_job(app: &Arc<App>, id: i64, name: &str, version: &str) {
    let started = Instant::now();
    tracing::info!(job = id, name, version, "job started");
    let outcome = match bump(&app.bump, id, name, version).await {
        Ok(outcome) => outcome,
        Err(error) => Outcome {
            status: Status::Failed,
            outcome: None,
            stages: serde_json::Value::Array(Vec::new()),
            commits: Vec::new(),
            log: format!("cannot run the bump: {error:#}"),
        },
    };
    let took = started.elapsed();
    // Gated (a firing alert, a stack still soaking): nothing changed; the job waits and runs
    // again later, coalescing the deliveries that arrive meanwhile.
    if outcome.outcome.as_deref() == Some(GATED) {
        let retry = i64::try_from(app.gate_retry.as_secs()).unwrap_or(i64::MAX);
        let not_before = unix_now().saturating_add(retry);
        tracing::info!(job = id, name, version, retry_in = ?app.gate_retry, "job gated; it waits and runs again");
        app.forget_scan();
        let store = app.clone();
        let recorded =
            tokio::task::spawn_blocking(move || store.store.requeue(id, &outcome, not_before))
                .await;
        if !matches!(recorded, Ok(Ok(()))) {
            tracing::error!(
                job = id,
                "cannot put a gated job back in the queue: {recorded:?}"
            );
        }
        return;
    }
    tracing::info!(
        job = id,
        name,
        version,
        status = outcome.status.as_str(),
        ?took,
        "job finished"
    );
    app.metrics.finished(outcome.status, took);
    // The working tree may have moved: the next intake scans again.
    app.forget_scan();
    let store = app.clone();
    let recorded =
        tokio::task::spawn_blocking(move || store.store.finish(id, &outcome, unix_now())).await;
    if !matches!(recorded, Ok(Ok(()))) {
        tracing::error!(job = id, "cannot record the end of a job: {recorded:?}");
    }
}

/// Runs one bump and reads its report.
async fn bump(
    command: &BumpCommand,
    id: i64,
    name: &str,
    version: &str,
) -> anyhow::Result<Outcome> {
    let mut child = tokio::process::Command::new(&command.program);
    child
        .args(&command.prefix)
        .arg(name)
        .arg(version)
        .arg("--path")
        .arg(&command.repo)
        .args(["--format", "json"])
        .env_clear()
        .envs(child_env::of(Child::Bump(&command.hook_env)))
        .env("UPKEEP_JOB_ID", id.to_string())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(config) = &command.config {
        child.env("PLUGIN_CONFIG", config);
    }
    let output = child.output().await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    Ok(read_outcome(output.status.code(), &stdout, &stderr))
}

/// The job's end from the bump's exit code and JSON report.
fn read_outcome(code: Option<i32>, stdout: &str, stderr: &str) -> Outcome {
    let report: Option<serde_json::Value> = serde_json::from_str(stdout.trim()).ok();
    let word = report
        .as_ref()
        .and_then(|r| r["outcome"].as_str())
        .map(str::to_owned);
    let status = match (word.as_deref(), code) {
        (Some("success"), _) => Status::Succeeded,
        (Some("rolled_back"), _) => Status::RolledBack,
        // Terraform ignores every place the update moves (Keel rolls it out): nothing to do.
        (Some("not_rolled_out"), _) => Status::Skipped,
        (Some(_), _) => Status::Failed,
        (None, Some(0)) => Status::Succeeded,
        // `bump` exits 1 when there is nothing to do or its filter skips the update.
        (None, Some(1)) => Status::Skipped,
        (None, _) => Status::Failed,
    };
    let stages = report
        .as_ref()
        .map_or(serde_json::Value::Array(Vec::new()), |r| {
            r["stages"].clone()
        });
    let commits = report
        .as_ref()
        .and_then(|r| r["commits"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["sha"].as_str().map(str::to_owned))
        .collect();
    let mut log = format!("{stdout}{stderr}");
    if let Some(code) = code.filter(|c| *c != 0) {
        log.push_str(&format!("\n(exit {code})"));
    }
    Outcome {
        status,
        outcome: word,
        stages,
        commits,
        log: tail(log, LOG_LIMIT),
    }
}

/// The last `limit` bytes of `text`, cut at a character boundary.
fn tail(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[…]{}", &text[start..])
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    i64::try_from(crate::policy::rate_limit::now()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{read_outcome, tail};
    use crate::serve::store::Status;

    #[test]
    fn outcomes_come_from_the_report_then_the_exit_code() {
        let report = r#"{"outcome":"rolled_back","commits":[{"version":"1.2.0","sha":"abc","pushed":true}],"stages":[{"name":"push"}]}"#;
        let outcome = read_outcome(Some(1), report, "");
        assert_eq!(outcome.status, Status::RolledBack);
        assert_eq!(outcome.commits, ["abc"]);
        assert_eq!(
            read_outcome(
                Some(0),
                r#"{"outcome":"success","commits":[],"stages":[]}"#,
                ""
            )
            .status,
            Status::Succeeded
        );
        assert_eq!(
            read_outcome(Some(2), r#"{"outcome":"critical"}"#, "").status,
            Status::Failed
        );
        assert_eq!(
            read_outcome(Some(1), "nothing to do\n", "").status,
            Status::Skipped
        );
        assert_eq!(read_outcome(Some(2), "", "error").status, Status::Failed);
        assert_eq!(
            read_outcome(Some(1), r#"{"outcome":"not_rolled_out","stages":[]}"#, "").status,
            Status::Skipped
        );
        assert_eq!(read_outcome(None, "", "").status, Status::Failed);
    }

    #[test]
    fn long_logs_keep_their_end() {
        let log = tail("é".repeat(100), 51);
        assert!(log.starts_with("[…]"));
        assert!(log.ends_with('é'));
        assert_eq!(tail("short".to_owned(), 51), "short");
    }
}
