//! `upkeep serve` over real loopback HTTP, as a child process: the HTTP contract (auth, body
//! cap, bad JSON, unknown routes, metrics), the intake rules (both DIUN shapes, coalescing,
//! the filter, the rate limit), a real bump end to end (a bare remote, a local GitHub), a
//! load test (2,000 deliveries from 50 clients), and a crash test (kill -9 mid-run).
//!
//! Except for the end-to-end test, jobs run a stub instead of `upkeep bump` (`--bump-command`):
//! it sleeps `STUB_SLEEP` seconds and reports success with a fake SHA.

mod common;

use common::{git, github_and_slack, remote_and_clone};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "serve-test-token-5f0c2a9e7b1d4c3a";

/// The service, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start a server.
struct Setup {
    repo: PathBuf,
    db: PathBuf,
    stub: Option<PathBuf>,
    concurrency: usize,
    env: Vec<(&'static str, String)>,
}

impl Setup {
    /// In `dir`: the five-image repository with its limit, a job database, and the stub
    /// bump sleeping `sleep` seconds.
    fn stubbed(dir: &Path, max_updates: u32, concurrency: usize, sleep: &str) -> Setup {
        Setup {
            repo: repo(dir, max_updates),
            db: dir.join("jobs.sqlite3"),
            stub: Some(stub(dir)),
            concurrency,
            env: vec![("STUB_SLEEP", sleep.to_owned())],
        }
    }
}

fn start(setup: &Setup) -> Server {
    let log = setup
        .db
        .with_extension(format!("{}.log", std::process::id()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_upkeep"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--path"])
        .arg(&setup.repo)
        .arg("--db")
        .arg(&setup.db)
        .args(["--concurrency", &setup.concurrency.to_string()])
        .env("UPKEEP_SERVE_TOKENS", TOKEN)
        .env("RUST_LOG", "upkeep=info")
        .env_remove("UPKEEP_CONFIG")
        .env_remove("PLUGIN_CONFIG")
        .env_remove("GITHUB_TOKEN")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    if let Some(stub) = &setup.stub {
        command.arg("--bump-command").arg(stub);
    }
    for (key, value) in &setup.env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| {
            panic!(
                "no address in {line:?}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        })
        .to_owned();
    Server {
        child,
        base: format!("http://{address}"),
        log,
    }
}

/// A repository with five pinned images (`ghcr.io/example/app-N:1.0.0`) and the limit.
fn repo(dir: &Path, max_updates: u32) -> PathBuf {
    let repo = dir.join("repo");
    let stack = repo.join("stacks/apps");
    std::fs::create_dir_all(&stack).unwrap();
    let containers: String = (0..5)
        .map(|i| format!("        container {{\n          name  = \"app-{i}\"\n          image = \"ghcr.io/example/app-{i}:1.0.0\"\n        }}\n"))
        .collect();
    std::fs::write(
        stack.join("main.tf"),
        format!("resource \"kubernetes_deployment\" \"apps\" {{\n  spec {{\n    template {{\n      spec {{\n{containers}      }}\n    }}\n  }}\n}}\n"),
    )
    .unwrap();
    std::fs::write(
        repo.join(".upkeep.yaml"),
        format!("filter:\n  max_updates: {max_updates}\n  window_hours: 6\n"),
    )
    .unwrap();
    repo
}

/// A stand-in for `upkeep bump`.
fn stub(dir: &Path) -> PathBuf {
    let path = dir.join("stub-bump");
    std::fs::write(
        &path,
        "#!/bin/sh\nsleep \"${STUB_SLEEP:-0}\"\nprintf '{\"outcome\":\"success\",\"name\":\"%s\",\"new\":\"%s\",\"commits\":[{\"version\":\"%s\",\"sha\":\"stub-%s\",\"pushed\":true}],\"stages\":[{\"name\":\"stub\",\"ok\":true}]}\\n' \"$1\" \"$2\" \"$2\" \"$UPKEEP_JOB_ID\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// DIUN's webhook notifier shape.
fn webhook(image: &str, tag: &str) -> String {
    serde_json::json!({
        "diun_version": "4.29.0",
        "hostname": "diun-0",
        "status": "update",
        "provider": "kubernetes",
        "image": format!("{image}:{tag}"),
        "hub_link": format!("https://{image}"),
        "mime_type": "application/vnd.oci.image.index.v1+json",
        "digest": "sha256:5c8a1d1b0e2f4c7d9e3a6b8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e",
        "created": "2026-11-20T19:12:03Z",
        "platform": "linux/amd64",
        "metadata": {"ctn_names": "app", "pod_namespace": "apps"}
    })
    .to_string()
}

/// DIUN's script/env notifier shape.
fn flat(image: &str, tag: &str) -> String {
    serde_json::json!({
        "diun_entry_status": "update",
        "diun_entry_image": image,
        "diun_entry_imagetag": tag,
        "diun_entry_provider": "kubernetes"
    })
    .to_string()
}

struct Answer {
    status: u16,
    body: serde_json::Value,
    text: String,
}

fn call(server: &Server, method: &str, path: &str, token: Option<&str>, body: &str) -> Answer {
    let http = common::http();
    let url = format!("{}{path}", server.base);
    let mut request = match method {
        "GET" => http.get(url),
        _ => http.post(url).body(body.to_owned()),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or_default(),
        text,
    }
}

fn jobs(server: &Server) -> Vec<serde_json::Value> {
    call(server, "GET", "/jobs?limit=10000", Some(TOKEN), "").body["jobs"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls `/jobs` until every job is final.
fn wait_until_final(server: &Server, within: Duration) -> Vec<serde_json::Value> {
    let started = Instant::now();
    loop {
        let jobs = jobs(server);
        if jobs
            .iter()
            .all(|job| !matches!(job["status"].as_str(), Some("queued" | "running")))
        {
            return jobs;
        }
        assert!(
            started.elapsed() < within,
            "jobs still live after {within:?}: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `(id, status)` of every job, read from the database directly.
fn statuses(db: &Path) -> Vec<(i64, String)> {
    let database = rusqlite::Connection::open(db).unwrap();
    let mut statement = database
        .prepare("SELECT id, status FROM jobs ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[test]
fn the_http_contract_auth_limits_errors_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&Setup::stubbed(dir.path(), 100, 2, "0"));
    let update = webhook("ghcr.io/example/app-0", "1.1.0");
    for (path, body) in [("/webhook/diun", update.as_str()), ("/bump", "{}")] {
        for token in [None, Some("wrong-token-0123456789abcdef"), Some("")] {
            let answer = call(&server, "POST", path, token, body);
            assert_eq!(answer.status, 401, "{path} {token:?}");
            assert_eq!(answer.text, r#"{"error":"unauthorized"}"#);
        }
    }
    assert_eq!(call(&server, "GET", "/jobs", None, "").status, 401);
    assert_eq!(call(&server, "GET", "/jobs/1", None, "").status, 401);
    let accepted = call(&server, "POST", "/webhook/diun", Some(TOKEN), &update);
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    assert_eq!(accepted.body["status"], "accepted");

    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    assert_eq!(
        call(&server, "POST", "/webhook/diun", Some(TOKEN), &big).status,
        413
    );
    assert_eq!(
        call(&server, "POST", "/webhook/diun", None, &big).status,
        401,
        "the token is checked before the body is read"
    );
    let bad = call(
        &server,
        "POST",
        "/webhook/diun",
        Some(TOKEN),
        "{\"image\": ",
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["error"]
            .as_str()
            .unwrap()
            .contains("not a DIUN notification"),
        "{}",
        bad.text
    );
    let shapeless = call(&server, "POST", "/webhook/diun", Some(TOKEN), "{\"x\": 1}");
    assert_eq!(shapeless.status, 400);
    let missing = call(&server, "POST", "/bump", Some(TOKEN), r#"{"name":"x"}"#);
    assert_eq!(missing.status, 400);
    assert!(missing.text.contains("version"), "{}", missing.text);
    let flag = call(
        &server,
        "POST",
        "/bump",
        Some(TOKEN),
        r#"{"name":"--help","version":"1"}"#,
    );
    assert_eq!(flag.status, 400, "names are never options");
    assert_eq!(call(&server, "GET", "/nope", None, "").status, 404);
    assert_eq!(
        call(&server, "GET", "/jobs/999", Some(TOKEN), "").status,
        404
    );
    assert_eq!(
        call(&server, "GET", "/jobs/abc", Some(TOKEN), "").status,
        404
    );
    assert_eq!(
        call(&server, "GET", "/jobs?status=bogus", Some(TOKEN), "").status,
        400
    );
    let health = call(&server, "GET", "/healthz", None, "");
    assert_eq!((health.status, health.text.as_str()), (200, "ok\n"));

    let jobs = wait_until_final(&server, Duration::from_secs(20));
    assert_eq!(jobs.len(), 1);
    let job = call(&server, "GET", "/jobs/1", Some(TOKEN), "").body;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["commits"], serde_json::json!(["stub-1"]));
    assert_eq!(job["stages"][0]["name"], "stub");
    assert!(
        job["log"]
            .as_str()
            .unwrap()
            .contains("\"outcome\":\"success\"")
    );

    let metrics = call(&server, "GET", "/metrics", None, "").text;
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("upkeep_"), "{line}");
    }
    assert_eq!(metric(&metrics, "upkeep_unauthorized_requests_total"), 9.0);
    assert_eq!(metric(&metrics, "upkeep_jobs_accepted_total"), 1.0);
    assert_eq!(metric(&metrics, "upkeep_jobs{status=\"succeeded\"}"), 1.0);
    assert_eq!(metric(&metrics, "upkeep_jobs{status=\"queued\"}"), 0.0);
    assert_eq!(
        metric(&metrics, "upkeep_jobs_finished_total{status=\"succeeded\"}"),
        1.0
    );
    assert_eq!(metric(&metrics, "upkeep_job_duration_seconds_count"), 1.0);
    let logs = std::fs::read_to_string(&server.log).unwrap();
    assert!(logs.contains("update accepted"), "{logs}");
    assert!(!logs.contains(TOKEN) && !metrics.contains(TOKEN));
}

#[test]
fn both_shapes_coalescing_the_filter_and_the_rate_limit_apply_at_intake() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&Setup::stubbed(dir.path(), 3, 1, "1"));
    let post = |body: String| call(&server, "POST", "/webhook/diun", Some(TOKEN), &body);
    let first = post(webhook("ghcr.io/example/app-0", "1.1.0"));
    assert_eq!(
        (first.status, first.body["status"].as_str()),
        (202, Some("accepted"))
    );
    let again = post(flat("ghcr.io/example/app-0", "1.1.0"));
    assert_eq!(again.status, 202);
    assert_eq!(
        again.body["status"], "coalesced",
        "the other shape, same update"
    );
    assert_eq!(again.body["job"], first.body["job"]);
    let second = post(flat("ghcr.io/example/app-1", "1.2.0"));
    assert_eq!(second.body["status"], "accepted");
    let queued_again = post(webhook("ghcr.io/example/app-1", "1.2.0"));
    assert_eq!(
        queued_again.body["status"], "coalesced",
        "{}",
        queued_again.text
    );

    for (body, rule) in [
        (webhook("ghcr.io/example/unknown", "2.0.0"), "not_pinned"),
        (webhook("ghcr.io/example/app-2", "latest"), "not_a_release"),
        (webhook("ghcr.io/example/app-2", "0.9.0"), "not_newer"),
        (
            serde_json::json!({"status": "unchange", "image": "ghcr.io/example/app-2:1.0.0"})
                .to_string(),
            "status",
        ),
    ] {
        let answer = post(body);
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.body["status"], "skipped");
        assert_eq!(answer.body["rule"], rule, "{}", answer.text);
    }
    let bumped = call(
        &server,
        "POST",
        "/bump",
        Some(TOKEN),
        r#"{"name":"ghcr.io/example/app-3","version":"1.3.0"}"#,
    );
    assert_eq!(bumped.body["status"], "accepted", "{}", bumped.text);
    let limited = post(webhook("ghcr.io/example/app-4", "1.4.0"));
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.body["rule"], "rate_limit");

    let jobs = wait_until_final(&server, Duration::from_secs(30));
    assert_eq!(jobs.len(), 3);
    assert!(
        jobs.iter().all(|job| job["status"] == "succeeded"),
        "{jobs:?}"
    );
    let first = call(&server, "GET", "/jobs/1", Some(TOKEN), "").body;
    assert_eq!(first["deliveries"], 2);
    assert_eq!(first["name"], "ghcr.io/example/app-0");
    assert_eq!(first["source"], "diun");
    let metrics = call(&server, "GET", "/metrics", None, "").text;
    assert_eq!(metric(&metrics, "upkeep_updates_coalesced_total"), 2.0);
    assert_eq!(metric(&metrics, "upkeep_jobs_accepted_total"), 3.0);
    for rule in [
        "not_pinned",
        "not_a_release",
        "not_newer",
        "status",
        "rate_limit",
    ] {
        assert_eq!(
            metric(
                &metrics,
                &format!("upkeep_updates_skipped_total{{reason=\"{rule}\"}}")
            ),
            1.0
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivered_update_becomes_a_pushed_commit() {
    let services = github_and_slack().await;
    let dir = tempfile::tempdir().unwrap();
    let (remote, clone) = remote_and_clone(dir.path(), |_| {});
    git(&clone, &["config", "user.name", "Ops Bot"]);
    git(&clone, &["config", "user.email", "ops@example.org"]);
    let db = dir.path().join("jobs.sqlite3");
    let uri = services.uri();
    let (server, jobs) = tokio::task::spawn_blocking(move || {
        let server = start(&Setup {
            repo: clone.clone(),
            db,
            stub: None,
            concurrency: 2,
            env: vec![
                ("GITHUB_API_URL", uri.clone()),
                ("SLACK_WEBHOOK_URL", format!("{uri}/slack/hook")),
                (
                    "XDG_CACHE_HOME",
                    clone.join(".git/test-cache").display().to_string(),
                ),
            ],
        });
        let diun = call(
            &server,
            "POST",
            "/webhook/diun",
            Some(TOKEN),
            &webhook("docker.io/vaultwarden/server", "1.36.0"),
        );
        assert_eq!(diun.body["status"], "accepted", "{}", diun.text);
        // Runs beside the first, in the same checkout: the tree lock gives them turns.
        let nothing = call(
            &server,
            "POST",
            "/bump",
            Some(TOKEN),
            r#"{"name":"ghcr.io/example/not-here","version":"1.0.0"}"#,
        );
        assert_eq!(nothing.body["status"], "accepted");
        let jobs = wait_until_final(&server, Duration::from_secs(60));
        (server, jobs)
    })
    .await
    .unwrap();
    let vaultwarden = jobs.iter().find(|j| j["id"] == 1).unwrap();
    let job =
        tokio::task::spawn_blocking(move || call(&server, "GET", "/jobs/1", Some(TOKEN), "").body)
            .await
            .unwrap();
    assert_eq!(vaultwarden["status"], "succeeded", "{job}");
    let sha = job["commits"][0].as_str().unwrap();
    assert_eq!(git(&remote, &["rev-parse", "main"]).trim(), sha);
    assert!(
        git(&remote, &["log", "-1", "--format=%B", sha])
            .contains("upgrade: vaultwarden 1.35.4 -> 1.36.0")
    );
    let stages: Vec<&str> = job["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"push"), "{stages:?}");
    let other = jobs.iter().find(|j| j["id"] == 2).unwrap();
    assert_eq!(other["status"], "skipped", "{other}");
}

/// `p`-th percentile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[test]
#[expect(
    clippy::print_stderr,
    reason = "the load figures are the test's report"
)]
fn two_thousand_deliveries_from_fifty_clients_are_all_answered_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::stubbed(dir.path(), 100_000, 10, "0");
    let server = start(&setup);
    let base = server.base.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let answers: Vec<(u16, String, Duration)> = runtime.block_on(async {
        let mut clients = Vec::new();
        for client in 0..50 {
            let base = base.clone();
            clients.push(tokio::spawn(async move {
                let http = common::http_async();
                let mut answers = Vec::new();
                for n in 0..40 {
                    let i = client * 40 + n;
                    // 400 updates per image; the last 50 repeat earlier ones.
                    let image = format!("ghcr.io/example/app-{}", i % 5);
                    let tag = format!("1.1.{}", (i / 5) % 350 + 1);
                    let body = if i % 2 == 0 {
                        webhook(&image, &tag)
                    } else {
                        flat(&image, &tag)
                    };
                    let sent = Instant::now();
                    let response = http
                        .post(format!("{base}/webhook/diun"))
                        .bearer_auth(TOKEN)
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let status = response.status().as_u16();
                    let json: serde_json::Value = response.json().await.unwrap();
                    answers.push((
                        status,
                        json["status"].as_str().unwrap_or_default().to_owned(),
                        sent.elapsed(),
                    ));
                }
                answers
            }));
        }
        let mut all = Vec::new();
        for client in clients {
            all.extend(client.await.unwrap());
        }
        all
    });
    let intake = started.elapsed();
    assert_eq!(answers.len(), 2_000, "every delivery answered");
    let accepted = answers.iter().filter(|a| a.1 == "accepted").count();
    let coalesced = answers.iter().filter(|a| a.1 == "coalesced").count();
    assert!(answers.iter().all(|a| a.0 == 202), "all taken");
    assert_eq!(accepted + coalesced, 2_000);
    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.2).collect();
    latencies.sort();
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    let database = rusqlite::Connection::open(&setup.db).unwrap();
    let (rows, deliveries): (usize, usize) = database
        .query_row("SELECT count(*), sum(deliveries) FROM jobs", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(rows, accepted, "one row per accepted delivery, exactly");
    assert_eq!(
        deliveries, 2_000,
        "coalesced deliveries are counted on their job"
    );
    let jobs = wait_until_final(&server, Duration::from_secs(240));
    assert_eq!(jobs.len(), accepted);
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"));
    eprintln!(
        "load: 2000 deliveries in {intake:?} ({:.0}/s); accepted {accepted}, coalesced {coalesced}; intake p50 {p50:?}, p99 {p99:?}, max {:?}; all jobs final after {:?}",
        2000.0 / intake.as_secs_f64(),
        latencies.last().unwrap(),
        started.elapsed()
    );
    assert!(p99 < Duration::from_secs(2), "p99 {p99:?}");
}

#[test]
fn after_kill_9_every_accepted_job_still_exists_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::stubbed(dir.path(), 100_000, 10, "0.4");
    let server = start(&setup);
    let mut accepted = Vec::new();
    for i in 0..100 {
        let answer = call(
            &server,
            "POST",
            "/webhook/diun",
            Some(TOKEN),
            &flat(
                &format!("ghcr.io/example/app-{}", i % 5),
                &format!("1.2.{}", i / 5 + 1),
            ),
        );
        assert_eq!(answer.body["status"], "accepted", "{}", answer.text);
        accepted.push(answer.body["job"].as_i64().unwrap());
    }
    // Mid-run: some jobs done, some running, most queued.
    let started = Instant::now();
    while !jobs(&server).iter().any(|j| j["status"] == "succeeded") {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server); // SIGKILL
    let before: Vec<String> = statuses(&setup.db).into_iter().map(|(_, s)| s).collect();
    assert_eq!(before.len(), 100);
    let running = before.iter().filter(|s| *s == "running").count();
    assert!(running > 0, "killed mid-run: {before:?}");
    assert!(before.iter().any(|s| s == "queued"), "{before:?}");

    let server = start(&setup);
    let jobs = wait_until_final(&server, Duration::from_secs(60));
    assert_eq!(jobs.len(), 100);
    let mut ids: Vec<i64> = jobs.iter().map(|j| j["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, accepted);
    let interrupted = jobs.iter().filter(|j| j["status"] == "interrupted").count();
    let succeeded = jobs.iter().filter(|j| j["status"] == "succeeded").count();
    assert_eq!(
        interrupted, running,
        "the running ones are reported, not re-run"
    );
    assert_eq!(succeeded + interrupted, 100);
    let one = jobs.iter().find(|j| j["status"] == "interrupted").unwrap();
    let detail = call(
        &server,
        "GET",
        &format!("/jobs/{}", one["id"]),
        Some(TOKEN),
        "",
    );
    assert!(
        detail.body["log"]
            .as_str()
            .unwrap()
            .contains("the server stopped while this job ran")
    );
}

#[test]
fn sigterm_lets_the_running_job_finish_and_keeps_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::stubbed(dir.path(), 100, 1, "1");
    let mut server = start(&setup);
    for image in ["app-0", "app-1"] {
        let answer = call(
            &server,
            "POST",
            "/webhook/diun",
            Some(TOKEN),
            &webhook(&format!("ghcr.io/example/{image}"), "1.1.0"),
        );
        assert_eq!(answer.body["status"], "accepted");
    }
    let started = Instant::now();
    while !jobs(&server).iter().any(|j| j["status"] == "running") {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "a clean stop: {status:?}");
    assert_eq!(
        statuses(&setup.db),
        [(1, "succeeded".to_owned()), (2, "queued".to_owned())],
        "the running job finished; the queued one waits for the next start"
    );
    let server = start(&setup);
    let jobs = wait_until_final(&server, Duration::from_secs(20));
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"), "{jobs:?}");
}
