//! `upkeep serve` over real loopback HTTP, as a child process: the HTTP contract (auth, body
//! cap, bad JSON, unknown routes, metrics), the intake rules (both DIUN shapes, coalescing,
//! the filter, the rate limit), a real bump end to end (a bare remote, a local GitHub), a
//! load test (2,000 deliveries from 50 clients), and a crash test (kill -9 mid-run).
//!
//! Except for the end-to-end test, jobs run a stub instead of `upkeep bump` (`--bump-command`):
//! it sleeps the seconds it was written with, or waits until the test opens its gate, and
//! reports success with a fake SHA. Its settings are in its own text, not its environment:
//! the service passes a bump only the environment a bump needs.

mod common;

use common::{git, github_and_slack, remote_and_clone};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "serve-test-token-5f0c2a9e7b1d4c3a";

/// Taken by the tests that load the machine (thousands of connections or deliveries), so
/// that they do not run at the same time and skew each other's figures.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    /// More `serve` arguments.
    args: Vec<String>,
    /// The service's limit of open files (`ulimit -n`), when it must be lower than ours.
    file_limit: Option<u32>,
}

impl Setup {
    /// In `dir`: the five-image repository with its limit, a job database, and the stub
    /// bump sleeping `sleep` seconds.
    fn stubbed(dir: &Path, max_updates: u32, concurrency: usize, sleep: &str) -> Setup {
        Setup {
            repo: repo(dir, max_updates),
            db: dir.join("jobs.sqlite3"),
            stub: Some(stub(dir, sleep)),
            concurrency,
            env: Vec::new(),
            args: Vec::new(),
            file_limit: None,
        }
    }

    /// The same, with more `serve` arguments.
    fn with_args(mut self, args: &[&str]) -> Setup {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }
}

fn start(setup: &Setup) -> Server {
    let log = setup
        .db
        .with_extension(format!("{}.log", std::process::id()));
    let mut command = match setup.file_limit {
        Some(limit) => {
            let mut shell = Command::new("sh");
            shell
                .arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(env!("CARGO_BIN_EXE_upkeep"));
            shell
        }
        None => Command::new(env!("CARGO_BIN_EXE_upkeep")),
    };
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--path"])
        .arg(&setup.repo)
        .arg("--db")
        .arg(&setup.db)
        .args(["--concurrency", &setup.concurrency.to_string()])
        .args(&setup.args)
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

/// A stand-in for `upkeep bump`: writes its environment to `env-<job id>` beside it, sleeps
/// `sleep` seconds and reports success. When the folder
/// `gates` exists beside it, it first waits until the test creates `gates/<job id>` or
/// `gates/all` (and gives up after two minutes, so no stub outlives its test).
fn stub(dir: &Path, sleep: &str) -> PathBuf {
    let path = dir.join("stub-bump");
    std::fs::write(
        &path,
        format!(
            r#"#!/bin/sh
gates="$(dirname "$0")/gates"
if [ -d "$gates" ]; then
  waited=0
  until [ -e "$gates/$UPKEEP_JOB_ID" ] || [ -e "$gates/all" ]; do
    [ "$waited" -lt 2400 ] || exit 3
    sleep 0.05
    waited=$((waited + 1))
  done
fi
env > "$(dirname "$0")/env-$UPKEEP_JOB_ID"
sleep {sleep}
printf '{{"outcome":"success","name":"%s","new":"%s","commits":[{{"version":"%s","sha":"stub-%s","pushed":true}}],"stages":[{{"name":"stub","ok":true}}]}}\n' "$1" "$2" "$2" "$UPKEEP_JOB_ID"
"#
        ),
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
            args: Vec::new(),
            file_limit: None,
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

#[test]
fn names_with_bidi_controls_are_refused_and_a_long_name_is_refused_for_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&Setup::stubbed(dir.path(), 100, 1, "0"));
    let bump = |name: &str, version: &str| {
        call(
            &server,
            "POST",
            "/bump",
            Some(TOKEN),
            &serde_json::json!({"name": name, "version": version}).to_string(),
        )
    };
    // U+202E (RIGHT-TO-LEFT OVERRIDE) makes `app-0\u{202e}0.2.1` display as `app-01.2.0`.
    for (name, version, says) in [
        ("ghcr.io/example/app-0\u{202e}", "1.1.0", "U+202E"),
        ("ghcr.io/example/app-0", "1.1.0\u{2066}", "U+2066"),
        ("ghcr.io/example/\u{200b}app-0", "1.1.0", "U+200B"),
        ("ghcr.io/example/app-0", "1.1.0\u{7f}", "U+007F"),
    ] {
        let answer = bump(name, version);
        assert_eq!(answer.status, 400, "{name:?} {version:?}: {}", answer.text);
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.contains(says), "{error}");
    }
    let diun = call(
        &server,
        "POST",
        "/webhook/diun",
        Some(TOKEN),
        &webhook("ghcr.io/example/app-0\u{202e}", "1.1.0"),
    );
    assert_eq!(diun.status, 400, "{}", diun.text);
    assert!(diun.text.contains("U+202E"), "{}", diun.text);
    let flat_tag = call(
        &server,
        "POST",
        "/webhook/diun",
        Some(TOKEN),
        &flat("ghcr.io/example/app-0", "1.1.0\u{202e}"),
    );
    assert_eq!(flat_tag.status, 400, "{}", flat_tag.text);

    // A 60 KB name fits the body limit; it is refused for its length, and not echoed back.
    let long = format!("ghcr.io/example/{}", "a".repeat(60 * 1024));
    let answer = bump(&long, "1.1.0");
    assert_eq!(answer.status, 400, "{}", answer.text);
    let error = answer.body["error"].as_str().unwrap();
    assert!(error.contains("61456 bytes"), "{error}");
    assert!(!error.contains("space"), "{error}");
    assert!(error.len() < 300, "{error}");
    assert!(jobs(&server).is_empty());
}

#[test]
fn a_bump_request_and_a_diun_delivery_of_one_image_coalesce() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::stubbed(dir.path(), 100, 1, "0");
    std::fs::write(
        setup.repo.join("stacks/apps/vaultwarden.tf"),
        "resource \"kubernetes_deployment\" \"vaultwarden\" {\n  spec {\n    template {\n      spec {\n        container {\n          name  = \"vaultwarden\"\n          image = \"vaultwarden/server:1.35.4\"\n        }\n      }\n    }\n  }\n}\n\nresource \"helm_release\" \"grafana\" {\n  name       = \"grafana\"\n  repository = \"https://grafana.github.io/helm-charts\"\n  chart      = \"grafana\"\n  version    = \"8.5.1\"\n}\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("gates")).unwrap();
    let server = start(&setup);
    let bump = |name: &str, version: &str| {
        call(
            &server,
            "POST",
            "/bump",
            Some(TOKEN),
            &serde_json::json!({"name": name, "version": version}).to_string(),
        )
    };
    let first = bump("vaultwarden/server", "1.36.0");
    assert_eq!(first.body["status"], "accepted", "{}", first.text);
    let id = first.body["job"].clone();
    let diun = call(
        &server,
        "POST",
        "/webhook/diun",
        Some(TOKEN),
        &webhook("docker.io/vaultwarden/server", "1.36.0"),
    );
    assert_eq!(
        (diun.body["status"].as_str(), &diun.body["job"]),
        (Some("coalesced"), &id),
        "{}",
        diun.text
    );
    for spelling in [
        "index.docker.io/vaultwarden/server",
        "docker.io/vaultwarden/server",
    ] {
        let again = bump(spelling, "1.36.0");
        assert_eq!(
            (again.body["status"].as_str(), &again.body["job"]),
            (Some("coalesced"), &id),
            "{spelling}: {}",
            again.text
        );
    }
    // A chart is not an image: `grafana` is not `docker.io/library/grafana`.
    let chart = bump("grafana", "9.0.0");
    assert_eq!(chart.body["status"], "accepted", "{}", chart.text);
    // A name the repository does not pin is kept as written; its bump will say so.
    let unknown = bump("example/not-here", "1.0.0");
    assert_eq!(unknown.body["status"], "accepted", "{}", unknown.text);
    let names: Vec<(String, i64)> = jobs(&server)
        .iter()
        .map(|j| {
            (
                j["name"].as_str().unwrap().to_owned(),
                j["deliveries"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        names.contains(&("docker.io/vaultwarden/server".to_owned(), 4)),
        "{names:?}"
    );
    assert!(names.contains(&("grafana".to_owned(), 1)), "{names:?}");
    assert!(
        names.contains(&("example/not-here".to_owned(), 1)),
        "{names:?}"
    );
    std::fs::write(dir.path().join("gates/all"), "").unwrap();
    wait_until_final(&server, Duration::from_secs(30));
}

#[test]
fn bump_processes_get_the_tokens_a_bump_uses_and_never_serve_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::stubbed(dir.path(), 100, 1, "0");
    std::fs::write(
        setup.repo.join(".upkeep.yaml"),
        "filter:\n  max_updates: 100\nhooks:\n  pre_upgrade:\n    - command: [\"pg-backup\", \"{stack}\"]\n      env: [PGPASSWORD]\n",
    )
    .unwrap();
    let passed = [
        ("GITHUB_TOKEN", "ghp_servechild000000000000000000000000000"),
        ("GIT_TOKEN", "git-token-servechild"),
        ("WOODPECKER_TOKEN", "wp-token-servechild"),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.example/services/T0/B0/servechild",
        ),
        ("PGPASSWORD", "pg-password-for-the-hook"),
        // The bump's plan reads the image's source label from the registry.
        ("UPKEEP_REGISTRY_USERNAME", "registry-user-servechild"),
        ("UPKEEP_REGISTRY_PASSWORD", "registry-password-servechild"),
    ];
    let withheld = [("AWS_SECRET_ACCESS_KEY", "aws-secret-servechild")];
    setup.env = passed
        .iter()
        .chain(&withheld)
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect();
    setup
        .env
        .push(("UPKEEP_REGISTRY_HOSTS", "registry.lan:5000".to_owned()));
    let server = start(&setup);
    let answer = call(
        &server,
        "POST",
        "/webhook/diun",
        Some(TOKEN),
        &webhook("ghcr.io/example/app-0", "1.1.0"),
    );
    assert_eq!(answer.body["status"], "accepted", "{}", answer.text);
    wait_until_final(&server, Duration::from_secs(30));
    let env = std::fs::read_to_string(dir.path().join("env-1")).unwrap();
    for (name, value) in passed {
        assert!(
            env.contains(&format!("{name}={value}\n")),
            "{name} missing:\n{env}"
        );
    }
    for (name, value) in withheld {
        assert!(!env.contains(value), "{name} reached the bump:\n{env}");
    }
    assert!(
        !env.contains(TOKEN),
        "UPKEEP_SERVE_TOKENS reached the bump:\n{env}"
    );
    assert!(env.contains("UPKEEP_JOB_ID=1\n"), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
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
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
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
    // The figures are reported, not asserted: on a busy shared machine they say more about
    // the neighbours than about the service.
}

/// `(succeeded, running, queued)` counts of the jobs.
fn live_counts(jobs: &[serde_json::Value]) -> (usize, usize, usize) {
    let count = |status: &str| jobs.iter().filter(|j| j["status"] == status).count();
    (count("succeeded"), count("running"), count("queued"))
}

/// Polls `/jobs` until `done` holds; the state it waits for is stable once reached, so a slow
/// machine only makes the wait longer.
fn wait_for_jobs(
    server: &Server,
    within: Duration,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let started = Instant::now();
    loop {
        let jobs = jobs(server);
        if done(&jobs) {
            return jobs;
        }
        assert!(
            started.elapsed() < within,
            "not reached after {within:?}: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn after_kill_9_every_accepted_job_still_exists_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::stubbed(dir.path(), 100_000, 10, "0");
    // Every stub waits at its gate: the test, not the clock, decides which jobs end.
    let gates = dir.path().join("gates");
    std::fs::create_dir(&gates).unwrap();
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
    // Jobs 1-5 may finish; ten workers then hold jobs 6-15 at their gates; 85 wait.
    for id in 1..=5 {
        std::fs::write(gates.join(id.to_string()), "").unwrap();
    }
    let mid_run = wait_for_jobs(&server, Duration::from_secs(60), |jobs| {
        live_counts(jobs) == (5, 10, 85)
    });
    let running_ids: Vec<i64> = mid_run
        .iter()
        .filter(|j| j["status"] == "running")
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    drop(server); // SIGKILL
    let before = statuses(&setup.db);
    assert_eq!(before.len(), 100);
    let count = |status: &str| before.iter().filter(|(_, s)| s == status).count();
    assert_eq!(
        (count("succeeded"), count("running"), count("queued")),
        (5, 10, 85),
        "killed mid-run: {before:?}"
    );

    // The restarted service runs the queue; the orphaned stubs of the killed one end too.
    std::fs::write(gates.join("all"), "").unwrap();
    let server = start(&setup);
    let jobs = wait_until_final(&server, Duration::from_secs(120));
    assert_eq!(jobs.len(), 100);
    let mut ids: Vec<i64> = jobs.iter().map(|j| j["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, accepted);
    let mut interrupted: Vec<i64> = jobs
        .iter()
        .filter(|j| j["status"] == "interrupted")
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    interrupted.sort_unstable();
    let mut running_ids = running_ids;
    running_ids.sort_unstable();
    assert_eq!(
        interrupted, running_ids,
        "the running ones are reported, not re-run"
    );
    let succeeded = jobs.iter().filter(|j| j["status"] == "succeeded").count();
    assert_eq!(succeeded, 90);
    let detail = call(
        &server,
        "GET",
        &format!("/jobs/{}", interrupted[0]),
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
    let setup = Setup::stubbed(dir.path(), 100, 1, "0");
    let gates = dir.path().join("gates");
    std::fs::create_dir(&gates).unwrap();
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
    // Job 1 runs, held at its gate; job 2 waits for the one worker.
    wait_for_jobs(&server, Duration::from_secs(30), |jobs| {
        live_counts(jobs) == (0, 1, 1)
    });
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Only once the service says it is stopping may job 1 end: its worker then takes no other.
    let started = Instant::now();
    while !std::fs::read_to_string(&server.log)
        .unwrap_or_default()
        .contains("stopping: no new requests")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no stop logged"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(gates.join("1"), "").unwrap();
    let status = server.child.wait().unwrap();
    assert!(status.success(), "a clean stop: {status:?}");
    assert_eq!(
        statuses(&setup.db),
        [(1, "succeeded".to_owned()), (2, "queued".to_owned())],
        "the running job finished; the queued one waits for the next start"
    );
    std::fs::write(gates.join("all"), "").unwrap();
    let server = start(&setup);
    let jobs = wait_until_final(&server, Duration::from_secs(30));
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"), "{jobs:?}");
}

/// The `host:port` the service listens on.
fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// A slow client: the start of a request, then nothing.
fn half_sent(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"POST /webhook/diun HTTP/1.1\r\nHost: upkeep\r\nX-Slow: ")
        .unwrap();
    stream
}

/// How long a `GET /healthz` on a new connection takes to answer `ok`, or why it did not
/// (within `limit`).
fn healthz(address: &str, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&address.parse().unwrap(), limit)
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(limit)).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: upkeep\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("read after {:?}: {e}", started.elapsed()))?;
    match answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n") {
        true => Ok(started.elapsed()),
        false => Err(format!("answer: {answer:?}")),
    }
}

/// Whether the service closed `stream` (an end of file, maybe after an answer), waiting at
/// most `limit`.
fn closed_by_server(mut stream: &TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// Whether the service has closed `stream` already (without waiting).
fn already_closed(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut buffer = [0; 64];
    let closed = match stream.read(&mut buffer) {
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

/// Polls `/metrics` until `series` reaches `at_least`.
fn wait_for_metric(server: &Server, series: &str, at_least: f64, within: Duration) -> f64 {
    let started = Instant::now();
    loop {
        let value = metric(&call(server, "GET", "/metrics", None, "").text, series);
        if value >= at_least {
            return value;
        }
        assert!(
            started.elapsed() < within,
            "{series} is {value} after {within:?}, not {at_least}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_connection_that_stops_mid_headers_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        start(&Setup::stubbed(dir.path(), 100, 1, "0").with_args(&["--header-timeout", "1"]));
    let at = address(&server);
    let sent = Instant::now();
    let slow: Vec<TcpStream> = (0..20).map(|_| half_sent(&at)).collect();
    for stream in &slow {
        assert!(
            closed_by_server(stream, Duration::from_secs(60)),
            "still open after {:?}",
            sent.elapsed()
        );
    }
    assert!(
        sent.elapsed() >= Duration::from_secs(1),
        "not before the timeout"
    );
    let metrics = call(&server, "GET", "/metrics", None, "").text;
    assert_eq!(
        metric(
            &metrics,
            "upkeep_http_connections_closed_total{reason=\"header_timeout\"}"
        ),
        20.0
    );
    assert!(healthz(&at, Duration::from_secs(10)).is_ok());
}

#[test]
fn a_body_that_stops_mid_way_gets_408_after_the_body_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        start(&Setup::stubbed(dir.path(), 100, 1, "0").with_args(&["--body-timeout", "1"]));
    let mut stream = TcpStream::connect(address(&server)).unwrap();
    stream
        .write_all(
            format!(
                "POST /webhook/diun HTTP/1.1\r\nHost: upkeep\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"status\": \"upd"
            )
            .as_bytes(),
        )
        .unwrap();
    let sent = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "{answer:?} after {:?}",
        sent.elapsed()
    );
    assert!(
        answer.contains("the request body did not arrive within 1 s"),
        "{answer}"
    );
    assert!(sent.elapsed() >= Duration::from_secs(1));
    assert!(jobs(&server).is_empty());
}

#[test]
fn at_the_connection_cap_the_oldest_idle_connections_make_room_for_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&Setup::stubbed(dir.path(), 100, 1, "0").with_args(&[
        "--max-connections",
        "50",
        "--header-timeout",
        "600",
    ]));
    let at = address(&server);
    let slow: Vec<TcpStream> = (0..200).map(|_| half_sent(&at)).collect();
    for _ in 0..10 {
        healthz(&at, Duration::from_secs(10)).expect("healthz answers at the cap");
    }
    let metrics = call(&server, "GET", "/metrics", None, "").text;
    assert!(
        metric(&metrics, "upkeep_http_connections_open") <= 50.0,
        "{metrics}"
    );
    // Waited for on the slow connections themselves: polling `/metrics` opens a connection
    // each time, and on a loaded machine enough of them would evict the newest slow one too.
    let started = Instant::now();
    let closed = loop {
        let closed = slow.iter().filter(|s| already_closed(s)).count();
        if closed >= 150 || started.elapsed() > Duration::from_secs(60) {
            break closed;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(closed >= 150, "{closed} closed");
    // The oldest went first (the server admits in the order it accepts, which is the order
    // they connected): the 11 connections made since (healthz, metrics) cannot have reached
    // the newest.
    assert!(!already_closed(slow.last().unwrap()), "the newest stays");
    let metrics = call(&server, "GET", "/metrics", None, "").text;
    assert!(
        metric(
            &metrics,
            "upkeep_http_connections_closed_total{reason=\"evicted\"}"
        ) >= 150.0,
        "{metrics}"
    );
}

#[test]
fn half_sent_headers_beyond_the_file_limit_do_not_starve_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::stubbed(dir.path(), 100, 1, "0");
    // 21,000 slow clients against 20,000 files, scaled down: 1,500 against 512.
    setup.file_limit = Some(512);
    let server = start(&setup);
    let at = address(&server);
    let _slow: Vec<TcpStream> = (0..1_500).map(|_| half_sent(&at)).collect();
    for _ in 0..10 {
        healthz(&at, Duration::from_secs(10)).expect("healthz answers");
    }
    let metrics = call(&server, "GET", "/metrics", None, "").text;
    assert!(
        metric(&metrics, "upkeep_http_connections_open") <= 512.0,
        "{metrics}"
    );
    let logs = std::fs::read_to_string(&server.log).unwrap();
    assert!(logs.contains("--max-connections lowered"), "{logs}");
}

#[test]
#[expect(
    clippy::print_stderr,
    reason = "the load figures are the test's report"
)]
fn healthz_answers_while_seven_thousand_half_sent_headers_are_open() {
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    // 7,000 sockets here, 7,000 in the service, and the other tests' beside them.
    let files = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line["Max open files".len()..]
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        });
    assert!(
        files.is_none_or(|files| files >= 10_000),
        "this test needs `ulimit -n` of 10000 or more, not {files:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = start(&Setup::stubbed(dir.path(), 100, 1, "0").with_args(&[
        "--max-connections",
        "7500",
        "--header-timeout",
        "600",
    ]));
    let at = address(&server);
    let started = Instant::now();
    let slow: Vec<TcpStream> = (0..7_000).map(|_| half_sent(&at)).collect();
    let opened = started.elapsed();
    let open = wait_for_metric(
        &server,
        "upkeep_http_connections_open",
        7_000.0,
        Duration::from_secs(120),
    );
    let mut latencies: Vec<Duration> = (0..50)
        .map(|_| healthz(&at, Duration::from_secs(10)).expect("healthz answers"))
        .collect();
    latencies.sort();
    let still_open = slow.iter().filter(|s| !already_closed(s)).count();
    assert_eq!(still_open, 7_000, "none was dropped to make room");
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap_or_default();
    let rss = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: ?");
    eprintln!(
        "slow clients: 7000 half-sent headers opened in {opened:?}, {open} connections open, service {rss}; /healthz on a new connection: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().unwrap()
    );
}

/// A stand-in for a bump stopped by a gate while the file `gate-closed` exists beside it (it
/// reports `gated` and exits 1, as `upkeep bump` does), and succeeding once it is gone. Each
/// run appends a line to `runs`.
fn gated_stub(dir: &Path) -> PathBuf {
    let path = dir.join("gated-bump");
    std::fs::write(
        &path,
        r#"#!/bin/sh
here="$(dirname "$0")"
echo "$UPKEEP_JOB_ID" >> "$here/runs"
if [ -e "$here/gate-closed" ]; then
  printf '{"outcome":"gated","gated":["alert KubePodCrashLooping is firing"],"commits":[],"stages":[]}\n'
  echo "gated: alert KubePodCrashLooping is firing" >&2
  exit 1
fi
printf '{"outcome":"success","commits":[{"version":"%s","sha":"stub-%s","pushed":true}],"stages":[]}\n' "$2" "$UPKEEP_JOB_ID"
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_gated_job_waits_in_the_queue_and_runs_again_until_the_gate_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::stubbed(dir.path(), 100, 1, "0").with_args(&["--gate-retry", "1"]);
    setup.stub = Some(gated_stub(dir.path()));
    std::fs::write(dir.path().join("gate-closed"), "").unwrap();
    let server = start(&setup);
    let update = webhook("ghcr.io/example/app-2", "1.1.0");
    let accepted = call(&server, "POST", "/webhook/diun", Some(TOKEN), &update);
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let id = accepted.body["job"].as_i64().expect("a job id");
    // Twice gated: the job went back to the queue after the first run, and ran again.
    let runs = |dir: &Path| {
        std::fs::read_to_string(dir.join("runs"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let started = Instant::now();
    while runs(dir.path()) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the gated job never ran again"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let job = call(&server, "GET", &format!("/jobs/{id}"), Some(TOKEN), "").body;
    assert!(
        matches!(job["status"].as_str(), Some("queued" | "running")),
        "a gated job is not final: {job}"
    );
    // A second delivery of the same update coalesces onto the waiting job.
    let again = call(&server, "POST", "/webhook/diun", Some(TOKEN), &update);
    assert_eq!(again.body["job"].as_i64(), Some(id), "{}", again.text);
    std::fs::remove_file(dir.path().join("gate-closed")).unwrap();
    let jobs = wait_until_final(&server, Duration::from_secs(120));
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = call(&server, "GET", &format!("/jobs/{id}"), Some(TOKEN), "").body;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["outcome"], "success", "{job}");
    assert_eq!(job["deliveries"], 2, "{job}");
}
