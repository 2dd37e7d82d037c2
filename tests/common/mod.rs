//! Helpers shared by the end-to-end tests: a private copy of the fixture repo and the binary.

#![allow(dead_code)]

pub mod cluster;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The repository root: the nearest folder at or above the package's manifest that holds the
/// fixtures.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("fixtures/homelab").is_dir())
        .expect("the fixtures are in the repository")
        .to_path_buf()
}

/// The bundled example infrastructure repository.
pub fn fixtures() -> PathBuf {
    repo_root().join("fixtures/homelab")
}

/// A stack whose `main.tf` does not parse (a brace never closed), kept apart from the
/// homelab fixtures so that they scan clean; tests lay it over a copy with
/// [`add_broken_stack`].
pub fn broken_stack() -> PathBuf {
    repo_root().join("fixtures/broken/stacks/uptime-kuma")
}

/// Adds the [`broken_stack`] to a repository copy as `stacks/uptime-kuma`.
pub fn add_broken_stack(repo: &Path) {
    copy_dir(&broken_stack(), &repo.join("stacks/uptime-kuma"));
}

/// A temporary copy of the fixture repository that a test may modify.
pub fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixtures(), dir.path());
    dir
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture");
        }
    }
}

/// An HTTP client for a test to talk to local servers (or to serve), with ring as the TLS
/// provider as in the binary (reqwest has none of its own).
pub fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

/// The async flavour of [`http`].
pub fn http_async() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The `upkeep` binary, run in `dir`.
pub fn upkeep(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("upkeep").expect("binary");
    command.current_dir(dir);
    command
}

/// Runs `upkeep scan --format json` in `dir` and returns the parsed report.
pub fn scan_json(dir: &Path) -> serde_json::Value {
    let output = upkeep(dir)
        .args(["scan", "--format", "json"])
        .output()
        .expect("run scan");
    serde_json::from_slice(&output.stdout).expect("scan prints JSON")
}

/// The pin of `kind` at `file:line:column` in a scan report, if any.
pub fn pin_at<'a>(
    report: &'a serde_json::Value,
    kind: &str,
    file: &str,
    line: u64,
    column: u64,
) -> Option<&'a serde_json::Value> {
    report["pins"].as_array()?.iter().find(|pin| {
        pin["kind"] == kind && pin["file"] == file && pin["line"] == line && pin["column"] == column
    })
}

/// Reads a file of the repo as bytes.
pub fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).expect("read file")
}

/// Runs git in `dir` (as a fixed test identity) and returns its output; fails the test if git
/// fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// In `dir`: a bare repository `remote.git` whose `main` holds the fixtures (after `edit`
/// has changed the seed), and a clone of it. Returns `(remote, clone)`.
pub fn remote_and_clone(dir: &Path, edit: impl FnOnce(&Path)) -> (PathBuf, PathBuf) {
    let remote = dir.join("remote.git");
    let seed = dir.join("seed");
    let clone = dir.join("clone");
    git(
        dir,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().unwrap(),
        ],
    );
    copy_dir(&fixtures(), &seed);
    edit(&seed);
    offline_registries(&seed);
    git(&seed, &["init", "-q", "-b", "main"]);
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "infrastructure"]);
    git(
        &seed,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&seed, &["push", "-q", "origin", "main"]);
    git(
        dir,
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    (remote, clone)
}

/// Points the public registries at a closed loopback port in `repo`'s `.upkeep.yaml`, unless
/// the test set `registries:` itself: `plan` reads an image's source label from its registry,
/// and a test never reaches the internet (the lookup fails at once and is reported skipped).
pub fn offline_registries(repo: &Path) {
    let path = repo.join(".upkeep.yaml");
    let mut config = std::fs::read_to_string(&path).unwrap_or_default();
    if config.lines().any(|line| line.starts_with("registries:")) {
        return;
    }
    if !config.is_empty() && !config.ends_with('\n') {
        config.push('\n');
    }
    config.push_str("registries:\n");
    for host in [
        "docker.io",
        "ghcr.io",
        "lscr.io",
        "quay.io",
        "registry.k8s.io",
    ] {
        config.push_str(&format!("  {host}: {{ url: \"http://127.0.0.1:9\" }}\n"));
    }
    std::fs::write(&path, config).expect("write .upkeep.yaml");
}

/// A GitHub API payload from `fixtures/github`.
pub fn payload(name: &str) -> String {
    let path = fixtures().join("../github").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The texts the test server received on its Slack webhook (`/slack/hook`), in order.
pub async fn slack_messages(server: &wiremock::MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/slack/hook")
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// A local server playing GitHub (repositories and releases of vaultwarden and immich) and
/// Slack (`/slack/hook`), for bumps: point `GITHUB_API_URL` and `SLACK_WEBHOOK_URL` at it.
pub async fn github_and_slack() -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/repos/immich-app/immich"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_string(payload("immich-repo.json")),
        )
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/repos/immich-app/immich-server"))
        .respond_with(
            wiremock::ResponseTemplate::new(404).set_body_string(r#"{"message":"Not Found"}"#),
        )
        .mount(&server)
        .await;
    let mut immich: Vec<serde_json::Value> =
        serde_json::from_str(&payload("immich-releases-page-1.json")).unwrap();
    immich.extend(
        serde_json::from_str::<Vec<serde_json::Value>>(&payload("immich-releases-page-2.json"))
            .unwrap(),
    );
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/immich-app/immich/releases",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_string(serde_json::to_string(&immich).unwrap()),
        )
        .mount(&server)
        .await;
    let releases = payload("vaultwarden-releases.json");
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/repos/dani-garcia/vaultwarden"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_string(r#"{"full_name":"dani-garcia/vaultwarden"}"#),
        )
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/dani-garcia/vaultwarden/releases",
        ))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string(releases))
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/slack/hook"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    server
}
