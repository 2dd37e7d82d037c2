//! End-to-end tests of `upkeep plan` against a local server playing the GitHub API.

mod common;

use common::{fixtures, payload, upkeep};
use std::path::{Path, PathBuf};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghp_planTestTokenDoNotLeak0123456789";

fn json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json; charset=utf-8")
        .set_body_string(body)
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_string(r#"{"message":"Not Found","status":"404"}"#)
}

/// A GitHub API with the immich, vaultwarden and configmap-reload repositories.
async fn github() -> MockServer {
    let server = MockServer::start().await;
    let repo = |owner: &str, name: &str| {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{owner}/{name}")))
            .respond_with(json(payload("immich-repo.json")))
    };
    repo("immich-app", "immich").mount(&server).await;
    repo("dani-garcia", "vaultwarden").mount(&server).await;
    repo("jimmidyson", "configmap-reload").mount(&server).await;
    repo("grafana", "helm-charts").mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/repos/grafana/helm-charts/releases"))
        .respond_with(json(payload("grafana-helm-charts-releases.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich-server"))
        .respond_with(not_found())
        .mount(&server)
        .await;
    let next = format!(
        "<{0}/repos/immich-app/immich/releases?per_page=100&page=2>; rel=\"next\", <{0}/repos/immich-app/immich/releases?per_page=100&page=2>; rel=\"last\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich/releases"))
        .and(query_param("page", "2"))
        .respond_with(json(payload("immich-releases-page-2.json")))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich/releases"))
        .respond_with(
            json(payload("immich-releases-page-1.json"))
                .insert_header("link", next.as_str())
                .insert_header("etag", "W/\"immich-page-1\""),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden/releases"))
        .respond_with(json(payload("vaultwarden-releases.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/jimmidyson/configmap-reload/releases"))
        .respond_with(json("[]".to_owned()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/jimmidyson/configmap-reload/contents/CHANGELOG.md",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(payload("configmap-reload-CHANGELOG.md")),
        )
        .mount(&server)
        .await;
    server
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn plan(server: &MockServer, cache: &Path, args: &[&str]) -> Run {
    let output = upkeep(&fixtures())
        .arg("plan")
        .args(args)
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("XDG_CACHE_HOME", cache)
        .env("RUST_LOG", "trace")
        .env_remove("UPKEEP_CONFIG")
        .output()
        .expect("run plan");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("utf-8"),
        stderr: String::from_utf8(output.stderr).expect("utf-8"),
    }
}

fn cache() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_owned();
    (dir, path)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_breaking_minor_release_is_caution_with_evidence_and_steps() {
    let server = github().await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &[
            "ghcr.io/immich-app/immich-server",
            "v2.8.1",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["risk"], "CAUTION");
    assert_eq!(report["reason"], "breaking-keyword");
    assert_eq!(report["source"], "immich-app/immich");
    assert_eq!(
        report["releases"],
        serde_json::json!(["v2.7.5", "v2.8.0", "v2.8.1"])
    );
    assert_eq!(report["steps"], serde_json::json!(["v2.8.0", "v2.8.1"]));
    assert_eq!(report["pins"][0]["file"], "stacks/immich/variables.tf");
    insta::assert_json_snapshot!("plan_immich_json", report);
    // Runs as a whole, logs included, never show the token.
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    assert!(run.stderr.contains("GitHub request"), "trace logs were on");
    let requests = server.received_requests().await.expect("recorded");
    assert!(requests.iter().all(|r| {
        r.headers["authorization"]
            .to_str()
            .unwrap()
            .ends_with(TOKEN)
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_human_report_shows_decision_evidence_and_draft_commit() {
    let server = github().await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &["ghcr.io/immich-app/immich-server", "v2.8.1"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("plan_immich_human", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_minor_upgrade_found_by_override_is_safe() {
    let server = github().await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &["vaultwarden/server", "1.36.0", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["risk"], "SAFE");
    assert_eq!(
        report["resolution"]["how"],
        "override for vaultwarden/server"
    );
    assert_eq!(report["releases"], serde_json::json!(["1.35.5", "1.36.0"]));
    assert_eq!(report["steps"], serde_json::json!(["1.36.0"]));
    let message = report["commit_message"].as_str().unwrap();
    assert!(
        message.starts_with("upgrade: vaultwarden 1.35.4 -> 1.36.0\n\n"),
        "{message}"
    );
    assert!(message.contains("Risk: SAFE (no rule fired)"), "{message}");
    assert!(
        message.contains("DB backup: no (not DB-backed)"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changelog_only_repository_flags_a_renamed_flag_we_use() {
    let server = github().await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &[
            "ghcr.io/jimmidyson/configmap-reload",
            "v0.15.0",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["notes_origin"], "CHANGELOG.md");
    assert_eq!(report["risk"], "CAUTION");
    let reference = &report["cross_references"][0];
    assert_eq!(reference["identifier"], "--volume-dir");
    assert_eq!(
        reference["used_at"],
        serde_json::json!(["stacks/monitoring/main.tf:29"])
    );
    assert!(
        report["commit_message"]
            .as_str()
            .unwrap()
            .contains("Flagged for manual review: --volume-dir (v0.15.0 notes line 2; used at stacks/monitoring/main.tf:29)")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chart_reads_only_its_own_tags_of_a_shared_chart_repository() {
    let server = github().await;
    let (_keep, cache) = cache();
    let run = plan(&server, &cache, &["grafana", "8.6.0", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["source"], "grafana/helm-charts");
    assert_eq!(
        report["releases"],
        serde_json::json!(["8.5.11", "8.5.12", "8.6.0"])
    );
    assert_eq!(
        report["risk"], "SAFE",
        "the loki chart's breaking note is not grafana's"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_source_the_risk_is_unknown_and_nothing_is_invented() {
    let server = github().await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &[
            "10.0.20.10:5000/infra/restic-backup",
            "2026.2.5",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["risk"], "UNKNOWN");
    assert_eq!(report["source"], serde_json::Value::Null);
    assert_eq!(report["releases"], serde_json::json!([]));
    assert!(report["commit_message"].as_str().unwrap().contains(
        "Changelog summary: no release notes found (no override and no naming convention applies)"
    ));
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no request for a private registry"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_plan_only_makes_conditional_requests_for_cached_pages() {
    let server = github().await;
    let (_keep, cache) = cache();
    let args = [
        "ghcr.io/immich-app/immich-server",
        "v2.8.1",
        "--format",
        "json",
    ];
    let first = plan(&server, &cache, &args);
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich/releases"))
        .and(header("if-none-match", "W/\"immich-page-1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    let second = plan(&server, &cache, &args);
    assert_eq!(first.stdout, second.stdout, "same report from the cache");
    let conditional = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.headers.contains_key("if-none-match"))
        .count();
    assert_eq!(
        conditional, 1,
        "the page with an ETag was asked conditionally"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_to_plan_exits_1_and_a_bad_version_exits_2() {
    let server = github().await;
    let (_keep, cache) = cache();
    let none = plan(&server, &cache, &["example/not-pinned", "1.0.0"]);
    assert_eq!(none.code, 1);
    assert!(none.stdout.contains("no pin of `example/not-pinned` found"));
    let same = plan(&server, &cache, &["vaultwarden/server", "1.35.4"]);
    assert_eq!(same.code, 1);
    let bad = plan(&server, &cache, &["vaultwarden/server", "main"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("not a version"), "{}", bad.stderr);
}

#[test]
fn plan_offline_prints_its_error_once() {
    // A port nothing listens on: the connection is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let (_keep, cache) = cache();
    let output = upkeep(&fixtures())
        .args(["plan", "ghcr.io/immich-app/immich-server", "v2.8.1"])
        .env("GITHUB_API_URL", &url)
        .env("XDG_CACHE_HOME", &cache)
        .env_remove("RUST_LOG")
        .env_remove("UPKEEP_CONFIG")
        .output()
        .expect("run plan");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error, said once:\n{stderr}");
    assert!(
        lines[0].starts_with("upkeep: error: ") && lines[0].contains(&url),
        "{stderr}"
    );
    assert_eq!(
        lines[0].matches("refused").count(),
        1,
        "the cause once, not repeated by each layer: {stderr}"
    );
}
