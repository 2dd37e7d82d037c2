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

/// Serves the image `repo:tag` the way ghcr.io does: a bearer-token challenge, a
/// multi-platform OCI index (amd64, arm64 and a build attestation), the amd64 manifest, and
/// its config blob carrying `labels`.
async fn serve_image(server: &MockServer, repo: &str, tag: &str, labels: serde_json::Value) {
    let token = "djE6aW1taWNoLWFwcC9pbW1pY2gtc2VydmVyOjE3NjQ1NzY0MDA=";
    let challenge = format!(
        "Bearer realm=\"{}/token\",service=\"ghcr.io\",scope=\"repository:{repo}:pull\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(query_param("scope", format!("repository:{repo}:pull")))
        .respond_with(json(format!(r#"{{"token":"{token}"}}"#)))
        .mount(server)
        .await;
    let (index, amd64, arm64, attestation, config) = (
        "sha256:0d1f6b2c8a4e5f7091a3b5c7d9e1f20314253647586970a1b2c3d4e5f6071829",
        "sha256:1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
        "sha256:2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a",
        "sha256:3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b",
        "sha256:4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c",
    );
    let authorized = format!("Bearer {token}");
    let manifests = |reference: &str| format!("/v2/{repo}/manifests/{reference}");
    for at in [
        manifests(tag),
        manifests(amd64),
        format!("/v2/{repo}/blobs/{config}"),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(
                ResponseTemplate::new(401)
                    .insert_header("www-authenticate", challenge.as_str())
                    .set_body_string(r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#),
            )
            .with_priority(5)
            .mount(server)
            .await;
    }
    let index_body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64, "size": 2045,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm64, "size": 2045,
             "platform": {"architecture": "arm64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": attestation, "size": 839,
             "annotations": {"vnd.docker.reference.digest": amd64, "vnd.docker.reference.type": "attestation-manifest"},
             "platform": {"architecture": "unknown", "os": "unknown"}}
        ]
    });
    Mock::given(method("GET"))
        .and(path(manifests(tag)))
        .and(header("authorization", authorized.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/vnd.oci.image.index.v1+json")
                .insert_header("docker-content-digest", index)
                .set_body_string(index_body.to_string()),
        )
        .with_priority(1)
        .mount(server)
        .await;
    let manifest_body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 7843},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "size": 29153594}
        ]
    });
    Mock::given(method("GET"))
        .and(path(manifests(amd64)))
        .and(header("authorization", authorized.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/vnd.oci.image.manifest.v1+json")
                .set_body_string(manifest_body.to_string()),
        )
        .with_priority(1)
        .mount(server)
        .await;
    let config_body = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"],
            "Entrypoint": ["tini", "--", "/bin/bash", "-c"],
            "Cmd": ["start.sh"],
            "WorkingDir": "/usr/src/app",
            "Labels": labels
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"]}
    });
    Mock::given(method("GET"))
        .and(path(format!("/v2/{repo}/blobs/{config}")))
        .and(header("authorization", authorized.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/octet-stream")
                .set_body_string(config_body.to_string()),
        )
        .with_priority(1)
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
    serve_image(
        &server,
        "immich-app/immich-server",
        "v2.7.4",
        serde_json::json!({
            "org.opencontainers.image.created": "2026-03-02T14:11:09.512Z",
            "org.opencontainers.image.description": "High performance self-hosted photo and video management solution",
            "org.opencontainers.image.licenses": "AGPL-3.0",
            "org.opencontainers.image.revision": "8e3f1d2c4b5a69788796a5b4c3d2e1f0a9b8c7d6",
            "org.opencontainers.image.source": "https://github.com/immich-app/immich",
            "org.opencontainers.image.title": "immich",
            "org.opencontainers.image.url": "https://github.com/immich-app/immich",
            "org.opencontainers.image.version": "v2.7.4"
        }),
    )
    .await;
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

/// The registries the fixture's images name, redirected to the test server (config text).
fn registries(server: &MockServer) -> String {
    let mut text = String::from("registries:\n");
    for host in [
        "docker.io",
        "ghcr.io",
        "quay.io",
        "lscr.io",
        "10.0.20.10:5000",
        "docker.n8n.io",
    ] {
        text.push_str(&format!("  \"{host}\": {{ url: \"{}\" }}\n", server.uri()));
    }
    text
}

/// Runs `upkeep plan` on the fixture repository, with its config plus `registries` that point
/// at the test server (nothing leaves the machine).
fn plan(server: &MockServer, cache: &Path, args: &[&str]) -> Run {
    let config = cache.join("upkeep.yaml");
    let fixture_config =
        std::fs::read_to_string(fixtures().join(".upkeep.yaml")).expect("fixture config");
    std::fs::write(&config, format!("{fixture_config}\n{}", registries(server))).expect("config");
    let output = upkeep(&fixtures())
        .arg("plan")
        .args(args)
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("XDG_CACHE_HOME", cache)
        .env("RUST_LOG", "trace")
        .env("UPKEEP_CONFIG", &config)
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
    std::fs::write(
        dir.path().join(".upkeep.yaml"),
        format!("{config}{}", registries(server)),
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
    let authorization = |r: &wiremock::Request| {
        r.headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (github, registry): (Vec<_>, Vec<_>) = requests
        .iter()
        .partition(|r| r.url.path().starts_with("/repos/"));
    assert!(github.iter().all(|r| authorization(r).ends_with(TOKEN)));
    assert!(!registry.is_empty(), "the image's label was read");
    assert!(
        registry.iter().all(|r| !authorization(r).contains(TOKEN)),
        "the GitHub token never goes to a registry"
    );
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

/// A Helm chart `index.yaml` at `/{folder}/index.yaml`, as `helm repo index` writes it.
async fn serve_chart_index(server: &MockServer, folder: &str, entries: &str) {
    let index = format!(
        "apiVersion: v1\nentries:\n{entries}generated: \"2026-11-20T10:00:00.000000000Z\"\n"
    );
    Mock::given(method("GET"))
        .and(path(format!("/{folder}/index.yaml")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/yaml")
                .insert_header("etag", "\"5f2c9e1a\"")
                .set_body_string(index),
        )
        .mount(server)
        .await;
}

/// A `helm_release` of `chart` at `version` from the repository at `repository`.
fn helm_release(chart: &str, repository: &str, version: &str) -> String {
    format!(
        "resource \"helm_release\" \"{chart}\" {{\n  name       = \"{chart}\"\n  namespace  = \"{chart}\"\n  repository = \"{repository}\"\n  chart      = \"{chart}\"\n  version    = \"{version}\"\n}}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chart_reads_only_its_own_tags_of_a_shared_chart_repository() {
    let server = github().await;
    let charts = format!("{}/grafana-charts", server.uri());
    // The chart's sources name the app's repository and the charts' repository.
    serve_chart_index(
        &server,
        "grafana-charts",
        "  grafana:\n  - apiVersion: v2\n    appVersion: 11.3.1\n    name: grafana\n    sources:\n    - https://github.com/grafana/grafana\n    - https://github.com/grafana/helm-charts\n    version: 8.6.0\n  - apiVersion: v2\n    appVersion: 11.3.0\n    name: grafana\n    version: 8.5.12\n",
    )
    .await;
    let repo = repo_with(
        &server,
        "",
        &[(
            "stacks/grafana/main.tf",
            &helm_release("grafana", &charts, "8.5.1"),
        )],
    );
    let (_keep, cache) = cache();
    let run = plan_in(
        repo.path(),
        &server,
        &cache,
        &["grafana", "8.6.0", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["source"], "grafana/helm-charts");
    assert_eq!(report["resolution"]["how"], "the chart's sources");
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
async fn chart_changes_annotations_of_every_version_crossed_are_read() {
    let server = github().await;
    let charts = format!("{}/authentik-charts", server.uri());
    serve_chart_index(
        &server,
        "authentik-charts",
        "  authentik:\n  - annotations:\n      artifacthub.io/changes: |\n        - kind: removed\n          description: The bundled PostgreSQL subchart; set `authentik.postgresql.host` to your own server\n        - kind: added\n          description: Worker autoscaling\n      artifacthub.io/license: MIT\n    apiVersion: v2\n    appVersion: 2025.12.0\n    name: authentik\n    sources:\n    - https://goauthentik.io\n    - https://github.com/goauthentik/authentik\n    - https://github.com/goauthentik/helm\n    version: 2025.12.0\n  - annotations:\n      artifacthub.io/changes: |\n        - kind: fixed\n          description: Worker readiness probe\n        - kind: security\n          description: Bump the server image for CVE-2025-64521\n    apiVersion: v2\n    appVersion: 2025.10.2\n    name: authentik\n    version: 2025.10.2\n  - apiVersion: v2\n    appVersion: 2025.10.1\n    name: authentik\n    version: 2025.10.1\n",
    )
    .await;
    // The chart repository exists on GitHub but publishes neither releases nor a changelog.
    serve_repo(&server, "goauthentik/helm", serde_json::json!([])).await;
    serve_listing(
        &server,
        "goauthentik/helm",
        "",
        &[("charts", "dir"), ("README.md", "file")],
    )
    .await;
    let repo = repo_with(
        &server,
        "",
        &[(
            "stacks/authentik/main.tf",
            &helm_release("authentik", &charts, "2025.10.1"),
        )],
    );
    let (_keep, cache) = cache();
    let run = plan_in(
        repo.path(),
        &server,
        &cache,
        &["authentik", "2025.12.0", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["source"], "goauthentik/helm", "{}", run.stdout);
    assert_eq!(
        report["notes_origin"],
        "chart index (artifacthub.io/changes)"
    );
    assert_eq!(
        report["releases"],
        serde_json::json!(["2025.10.2", "2025.12.0"])
    );
    assert_eq!(report["risk"], "CAUTION");
    assert_eq!(report["reason"], "breaking-keyword");
    let evidence = &report["rules"][0]["evidence"][0];
    assert_eq!(evidence["release"], "2025.12.0");
    assert!(
        evidence["text"]
            .as_str()
            .unwrap()
            .starts_with("- removed: The bundled PostgreSQL subchart"),
        "{evidence}"
    );
    assert_eq!(report["highlights"][0]["release"], "2025.10.2");
    let tried = report["resolution"]["tried"][0].as_str().unwrap();
    assert_eq!(
        tried,
        format!("chart index {charts}/index.yaml: 3 versions, 2 with artifacthub.io/changes")
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
    let github_requests = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/repos/"))
        .count();
    assert_eq!(
        github_requests, 0,
        "no GitHub request for a private registry's image"
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
    // The registry is offline too.
    let config = cache.join("upkeep.yaml");
    std::fs::write(
        &config,
        format!("registries:\n  ghcr.io: {{ url: \"{url}\" }}\n"),
    )
    .expect("config");
    let output = upkeep(&fixtures())
        .args(["plan", "ghcr.io/immich-app/immich-server", "v2.8.1"])
        .env("GITHUB_API_URL", &url)
        .env("XDG_CACHE_HOME", &cache)
        .env("UPKEEP_CONFIG", &config)
        .env_remove("RUST_LOG")
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

#[tokio::test(flavor = "multi_thread")]
async fn the_source_is_read_from_the_images_oci_label_before_conventions() {
    // `docker.n8n.io/n8nio/n8n`: no registry convention names its repository; the image does.
    let server = github().await;
    serve_image(
        &server,
        "n8nio/n8n",
        "1.72.1",
        serde_json::json!({
            "org.opencontainers.image.title": "n8n",
            "org.opencontainers.image.description": "Workflow Automation Tool",
            "org.opencontainers.image.source": "https://github.com/n8n-io/n8n",
            "org.opencontainers.image.url": "https://n8n.io",
            "org.opencontainers.image.version": "1.72.1"
        }),
    )
    .await;
    let release = |tag: &str, body: &str| {
        serde_json::json!({"tag_name": tag, "name": tag, "draft": false, "prerelease": false, "body": body,
            "html_url": format!("https://github.com/n8n-io/n8n/releases/tag/{tag}")})
    };
    serve_repo(
        &server,
        "n8n-io/n8n",
        serde_json::json!([
            release("n8n@1.73.0", "### Bug Fixes\n\n* **core:** Keep webhook paths case-sensitive ([#12011](https://github.com/n8n-io/n8n/issues/12011))\n\n### Features\n\n* **editor:** Show the workflow history in the sidebar ([#11954](https://github.com/n8n-io/n8n/issues/11954))"),
            release("n8n@1.72.1", "### Bug Fixes\n\n* **core:** Fix the task runner restart loop"),
        ]),
    )
    .await;
    let (_keep, cache) = cache();
    let run = plan(
        &server,
        &cache,
        &["docker.n8n.io/n8nio/n8n", "1.73.0", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["source"], "n8n-io/n8n", "{}", run.stdout);
    assert_eq!(
        report["resolution"]["how"],
        "OCI label org.opencontainers.image.source of docker.n8n.io/n8nio/n8n:1.72.1"
    );
    assert_eq!(report["releases"], serde_json::json!(["1.73.0"]));
    assert_eq!(report["risk"], "SAFE");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_says_the_edit_is_refused_when_a_file_of_the_stack_does_not_parse() {
    let server = github().await;
    let (_keep, cache) = cache();
    // The pin itself reads fine; a block beside it, which can hold no pin, does not parse:
    // Terraform would refuse the module, and the edit refuses to touch it.
    let repo = repo_with(
        &server,
        "",
        &[
            (
                "stacks/tools/main.tf",
                "resource \"kubernetes_deployment\" \"tools\" {\n  spec {\n    image = \"10.0.20.10:5000/infra/tools:1.2.0\"\n  }\n}\n",
            ),
            (
                "stacks/tools/config.tf",
                "resource \"kubernetes_config_map\" \"tools\" {\n  data = {\n    MODE = \"a\" +\n  }\n}\n",
            ),
        ],
    );
    let args = ["10.0.20.10:5000/infra/tools", "1.3.0", "--format", "json"];
    let run = plan_in(repo.path(), &server, &cache, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let refused = report["edit_refused"].as_str().unwrap_or_default();
    assert!(refused.contains("stacks/tools/config.tf:3:"), "{refused}");
    let human = plan_in(repo.path(), &server, &cache, &args[..2]);
    assert!(
        human.stdout.contains("The edit is refused: ") && human.stdout.contains("config.tf:3:"),
        "{}",
        human.stdout
    );
    // The only pin of the name sits in a file that does not parse: nothing is found to move,
    // and the plan says why it may be so.
    let hidden = repo_with(
        &server,
        "",
        &[(
            "stacks/tools/main.tf",
            "resource \"kubernetes_deployment\" \"tools\" {\n  image = \"10.0.20.10:5000/infra/tools:1.2.0\"\n  replicas = = 1\n}\n",
        )],
    );
    let nothing = plan_in(hidden.path(), &server, &cache, &args[..2]);
    assert_eq!(nothing.code, 1, "{}", nothing.stderr);
    assert!(
        nothing
            .stdout
            .contains("no pin of `10.0.20.10:5000/infra/tools` found")
            && nothing.stdout.contains("stacks/tools/main.tf:3:"),
        "{}",
        nothing.stdout
    );
    let fine = plan(
        &server,
        &cache,
        &["vaultwarden/server", "1.36.0", "--format", "json"],
    );
    let fine: serde_json::Value = serde_json::from_str(&fine.stdout).expect("JSON");
    assert!(fine.get("edit_refused").is_none(), "{fine}");
}
