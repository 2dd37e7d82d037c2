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

/// Serves the contents API listing of `folder` (`""` for the root) of `repo` in GitHub's
/// shape; `entries` are `(name, type)`.
async fn serve_listing(server: &MockServer, repo: &str, folder: &str, entries: &[(&str, &str)]) {
    let listing: Vec<serde_json::Value> = entries
        .iter()
        .map(|(name, kind)| {
            let path = if folder.is_empty() {
                (*name).to_owned()
            } else {
                format!("{folder}/{name}")
            };
            serde_json::json!({
                "name": name,
                "path": path,
                "sha": "9b0e2f4c1d3a5e7f9b1c3d5e7f9a1b3c5d7e9f1a",
                "size": if *kind == "file" { 48017 } else { 0 },
                "url": format!("{}/repos/{repo}/contents/{path}?ref=main", server.uri()),
                "html_url": format!("https://github.com/{repo}/blob/main/{path}"),
                "download_url": if *kind == "file" {
                    serde_json::Value::String(format!("https://raw.githubusercontent.com/{repo}/main/{path}"))
                } else {
                    serde_json::Value::Null
                },
                "type": kind,
            })
        })
        .collect();
    let at = if folder.is_empty() {
        format!("/repos/{repo}/contents")
    } else {
        format!("/repos/{repo}/contents/{folder}")
    };
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(json(serde_json::to_string(&listing).expect("JSON")))
        .mount(server)
        .await;
}

/// Serves a repository (found) with these releases.
async fn serve_repo(server: &MockServer, repo: &str, releases: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repo}")))
        .respond_with(json(format!(
            r#"{{"full_name":"{repo}","default_branch":"main"}}"#
        )))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repo}/releases")))
        .respond_with(json(releases.to_string()))
        .mount(server)
        .await;
}

/// Serves a file of `repo` raw.
async fn serve_file(server: &MockServer, repo: &str, file: &str, text: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repo}/contents/{file}")))
        .respond_with(ResponseTemplate::new(200).set_body_string(text))
        .mount(server)
        .await;
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
    serve_listing(
        &server,
        "jimmidyson/configmap-reload",
        "",
        &[
            ("CHANGELOG.md", "file"),
            ("Dockerfile", "file"),
            ("internal", "dir"),
        ],
    )
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

/// A repository of its own: `files` are `(path, text)`; the config's `registries` point every
/// registry at the test server, so nothing leaves the machine.
fn repo_with(server: &MockServer, config: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (file, text) in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folders");
        std::fs::write(path, text).expect("write");
    }
    let registries = format!(
        "registries:\n  docker.io: {{ url: \"{0}\" }}\n  ghcr.io: {{ url: \"{0}\" }}\n",
        server.uri()
    );
    std::fs::write(
        dir.path().join(".upkeep.yaml"),
        format!("{config}{registries}"),
    )
    .expect("config");
    dir
}

/// Runs `upkeep plan` in `repo` against the test server.
fn plan_in(repo: &Path, server: &MockServer, cache: &Path, args: &[&str]) -> Run {
    let output = upkeep(repo)
        .arg("plan")
        .args(args)
        .env("GITHUB_API_URL", server.uri())
        .env("XDG_CACHE_HOME", cache)
        .env_remove("GITHUB_TOKEN")
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

#[tokio::test(flavor = "multi_thread")]
async fn plan_reads_a_changelog_in_docs_with_a_word_before_each_version() {
    let server = github().await;
    let repo = "paperless-ngx/paperless-ngx";
    serve_repo(&server, repo, serde_json::json!([])).await;
    serve_listing(
        &server,
        repo,
        "",
        &[("README.md", "file"), ("docs", "dir"), ("src", "dir")],
    )
    .await;
    serve_listing(
        &server,
        repo,
        "docs",
        &[("changelog.md", "file"), ("setup.md", "file")],
    )
    .await;
    serve_file(
        &server,
        repo,
        "docs/changelog.md",
        "# Changelog\n\n## paperless-ngx 2.15.0\n\n### Breaking Changes\n\n- `PAPERLESS_CONSUMER_POLLING` is renamed to `PAPERLESS_CONSUMER_POLLING_INTERVAL`\n\n### Features\n\n- Feature: workflow triggers on schedule\n\n## paperless-ngx 2.14.8\n\n### Bug Fixes\n\n- Fix: mail rule ordering\n\n## paperless-ngx 2.14.7\n\n- Fix: thumbnails of encrypted PDFs\n",
    )
    .await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &[
            "ghcr.io/paperless-ngx/paperless-ngx",
            "2.15.0",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["notes_origin"], "docs/changelog.md");
    assert_eq!(report["releases"], serde_json::json!(["2.14.8", "2.15.0"]));
    assert_eq!(report["risk"], "CAUTION");
    assert_eq!(report["rules"][0]["evidence"][0]["release"], "2.15.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_reads_the_changelog_where_releases_point_to_it() {
    let server = github().await;
    let repo = "open-webui/open-webui";
    let release = |tag: &str, body: &str| {
        serde_json::json!({"tag_name": tag, "name": tag, "draft": false, "prerelease": false, "body": body,
            "html_url": format!("https://github.com/open-webui/open-webui/releases/tag/{tag}")})
    };
    serve_repo(
        &server,
        repo,
        serde_json::json!([
            release("v0.5.8", "See the [CHANGELOG](https://github.com/open-webui/open-webui/blob/main/CHANGELOG.md) for the full list of changes."),
            release("v0.5.7", "See the [CHANGELOG](https://github.com/open-webui/open-webui/blob/main/CHANGELOG.md) for the full list of changes."),
        ]),
    )
    .await;
    serve_listing(
        &server,
        repo,
        "",
        &[("CHANGELOG.md", "file"), ("backend", "dir")],
    )
    .await;
    serve_file(
        &server,
        repo,
        "CHANGELOG.md",
        "# Changelog\n\n## [0.5.8] - 2025-01-20\n\n### Changed\n\n- The `ENABLE_OLLAMA_API` setting is deprecated; set `OLLAMA_BASE_URLS` instead.\n\n## [0.5.7] - 2025-01-18\n\n### Fixed\n\n- Chat export keeps code blocks.\n",
    )
    .await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &[
            "ghcr.io/open-webui/open-webui",
            "v0.5.8",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["notes_origin"], "releases + CHANGELOG.md (v0.5.8)");
    assert_eq!(
        report["risk"], "CAUTION",
        "the deprecation is in the changelog, not the release"
    );
    assert_eq!(report["reason"], "breaking-keyword");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_says_a_notes_file_was_read_but_no_version_heading_was_recognised() {
    let server = github().await;
    let repo = "gitea/gitea";
    serve_repo(&server, repo, serde_json::json!([])).await;
    serve_listing(
        &server,
        repo,
        "",
        &[("CHANGELOG.md", "file"), ("cmd", "dir")],
    )
    .await;
    serve_file(
        &server,
        repo,
        "CHANGELOG.md",
        "# Changelog\n\nThis file moved: the changes of each release are published on the blog.\n",
    )
    .await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &["gitea/gitea", "1.22.7", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let said = "notes file read but no version headings recognised (CHANGELOG.md) in gitea/gitea";
    assert_eq!(report["risk"], "UNKNOWN");
    assert_eq!(report["reason"], said);
    assert_eq!(report["notes_missing"], said);
    let message = report["commit_message"].as_str().expect("message");
    assert!(
        message.contains(&format!("Changelog summary: {said}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("Risk: UNKNOWN ({said})")),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_finds_a_changelog_named_and_placed_as_real_projects_do() {
    let server = github().await;
    let repo = "ekofr/pihole-exporter";
    serve_repo(&server, repo, serde_json::json!([])).await;
    serve_listing(
        &server,
        repo,
        "",
        &[("README.md", "file"), ("main.go", "file"), ("misc", "dir")],
    )
    .await;
    serve_listing(
        &server,
        repo,
        "misc",
        &[("CHANGELOG", "file"), ("grafana.json", "file")],
    )
    .await;
    serve_file(
        &server,
        repo,
        "misc/CHANGELOG",
        "v1.0.2 (2025-02-10)\n===================\n\n* Export the number of blocked domains per client\n\nv1.0.1 (2024-11-02)\n===================\n\n* Fix the TLS verification flag\n",
    )
    .await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &["ekofr/pihole-exporter", "v1.0.2", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["notes_origin"], "misc/CHANGELOG");
    assert_eq!(report["releases"], serde_json::json!(["v1.0.2"]));
    assert_eq!(report["risk"], "SAFE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_listed_in_version_jump_always_step_steps() {
    // `upgrade-config.json` lists stacks, not images: `immich` is the stack's folder.
    let server = github().await;
    let repo = repo_with(
        &server,
        "version_jump_always_step: [authentik, nextcloud, immich]\n",
        &[(
            "stacks/immich/main.tf",
            "resource \"kubernetes_deployment\" \"server\" {\n  spec {\n    template {\n      spec {\n        container {\n          name  = \"server\"\n          image = \"ghcr.io/immich-app/immich-server:v2.7.4\"\n        }\n      }\n    }\n  }\n}\n",
        )],
    );
    let (_keep, cache) = cache();
    let run = plan_in(
        repo.path(),
        &server,
        &cache,
        &[
            "ghcr.io/immich-app/immich-server",
            "v2.7.5",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["risk"], "CAUTION", "{}", run.stdout);
    assert_eq!(report["reason"], "always-step");
    assert_eq!(
        report["rules"][0]["evidence"][0]["text"],
        "`immich` is listed in version_jump_always_step"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chart_override_keyed_by_the_chart_repository_url_is_used() {
    let server = github().await;
    let charts = format!("{}/charts", server.uri());
    serve_repo(
        &server,
        "goauthentik/helm",
        serde_json::json!([
            {"tag_name": "authentik-2025.10.2", "name": "authentik-2025.10.2", "draft": false, "prerelease": false,
             "body": "## What's Changed\n* fix(authentik): worker probes use the new health endpoint by @dev in #402",
             "html_url": "https://github.com/goauthentik/helm/releases/tag/authentik-2025.10.2"}
        ]),
    )
    .await;
    let repo = repo_with(
        &server,
        &format!("helm_chart_repo_overrides:\n  \"{charts}\": goauthentik/helm\n"),
        &[(
            "stacks/authentik/main.tf",
            &format!(
                "resource \"helm_release\" \"authentik\" {{\n  name       = \"authentik\"\n  repository = \"{charts}\"\n  chart      = \"authentik\"\n  version    = \"2025.10.1\"\n}}\n"
            ),
        )],
    );
    let (_keep, cache) = cache();
    let run = plan_in(
        repo.path(),
        &server,
        &cache,
        &["authentik", "2025.10.2", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["source"], "goauthentik/helm", "{}", run.stdout);
    assert_eq!(
        report["resolution"]["how"],
        format!("override for {charts}")
    );
    assert_eq!(report["releases"], serde_json::json!(["2025.10.2"]));
    assert_eq!(report["risk"], "SAFE");
}
