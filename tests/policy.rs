//! End-to-end tests of the policy commands: `upkeep filter` (every skip reason, both DIUN
//! payload shapes, the rate limit under concurrency and over time), `upkeep config`, and
//! skipped images in `scan`.

mod common;

use common::{fixture_copy, fixtures, upkeep};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn webhook(status: &str, image: &str) -> String {
    format!(
        r#"{{"diun_version":"4.29.0","hostname":"diun-0","status":"{status}","provider":"kubernetes","image":"{image}","hub_link":"https://hub.docker.com/","mime_type":"application/vnd.oci.image.index.v1+json","digest":"sha256:0f5c8a1d1b0e2f4c7d9e3a6b8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d","created":"2026-11-02T19:12:03Z","platform":"linux/amd64","metadata":{{"pod_namespace":"default"}}}}"#
    )
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `upkeep filter -` in `repo` with `payload` on standard input at time `now`.
fn filter(repo: &Path, payload: &str, now: u64) -> Run {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("upkeep"))
        .args(["filter", "--path"])
        .arg(repo)
        .arg("-")
        .env("UPKEEP_NOW", now.to_string())
        .env_remove("UPKEEP_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn filter");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

const NOW: u64 = 1_795_000_000;

fn repo_with_config(config: &str) -> tempfile::TempDir {
    let repo = fixture_copy();
    std::fs::write(repo.path().join(".upkeep.yaml"), config).unwrap();
    repo
}

#[test]
fn every_skip_reason_in_one_table() {
    let repo = repo_with_config(
        "skip_image_patterns: ['*/gethomepage/*']\nskip_categories: [databases]\nfilter:\n  max_updates: 100\n",
    );
    let cases = [
        (
            webhook("unchange", "docker.io/vaultwarden/server:1.36.0"),
            "status `unchange`",
        ),
        (
            webhook("update", "docker.io/vaultwarden/server:latest"),
            "tag `latest` is not a release",
        ),
        (
            webhook("update", "docker.io/vaultwarden/server"),
            "tag `` is not a release",
        ),
        (
            webhook("update", "ghcr.io/gethomepage/homepage:v1.3.0"),
            "matches skip pattern `*/gethomepage/*`",
        ),
        (
            webhook("update", "docker.io/library/postgres:17.2-alpine"),
            "in skip category `databases`",
        ),
        (
            webhook("new", "docker.io/example/not-here:1.0.0"),
            "is not pinned to a version in this repository",
        ),
        (
            webhook("update", "docker.io/vaultwarden/server:1.35.0"),
            "`1.35.0` is not newer than the pinned `1.35.4`",
        ),
        (
            webhook("update", "docker.io/vaultwarden/server:1.36.0-alpine"),
            "another shape than the pinned `1.35.4`",
        ),
        (
            webhook("update", "docker.io/vaultwarden/server:1.36"),
            "another shape than the pinned `1.35.4`",
        ),
        (
            webhook("update", "docker.io/vaultwarden/server:1.36.0-rc.1"),
            "is a pre-release",
        ),
    ];
    for (payload, reason) in &cases {
        let run = filter(repo.path(), payload, NOW);
        assert_eq!(run.code, 1, "{reason}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.starts_with("skip: ") && run.stdout.contains(reason),
            "{reason}: {}",
            run.stdout
        );
    }
    let accepted = filter(
        repo.path(),
        &webhook("update", "vaultwarden/server:1.36.0"),
        NOW,
    );
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    assert!(
        accepted.stdout.starts_with("accept: "),
        "{}",
        accepted.stdout
    );
    assert!(
        accepted.stdout.contains("stacks/vaultwarden/main.tf"),
        "{}",
        accepted.stdout
    );
}

#[test]
fn the_flat_payload_shape_is_read_too() {
    let repo = fixture_copy();
    let flat = r#"{"diun_entry_status":"update","diun_entry_image":"docker.io/gitea/gitea","diun_entry_imagetag":"1.22.7-rootless","diun_entry_hublink":"https://hub.docker.com/r/gitea/gitea","diun_entry_provider":"kubernetes"}"#;
    let run = filter(repo.path(), flat, NOW);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn the_rate_limit_counts_every_concurrent_run_exactly_once() {
    let repo = repo_with_config("filter:\n  max_updates: 3\n  window_hours: 6\n");
    // Six runs started together, each for a different newer tag: exactly three get in.
    let payloads: Vec<String> = (5..11)
        .map(|patch| {
            webhook(
                "update",
                &format!("docker.io/vaultwarden/server:1.35.{patch}"),
            )
        })
        .collect();
    let handles: Vec<_> = payloads
        .into_iter()
        .map(|payload| {
            let path = repo.path().to_owned();
            std::thread::spawn(move || filter(&path, &payload, NOW))
        })
        .collect();
    let codes: Vec<i32> = handles
        .into_iter()
        .map(|h| h.join().unwrap().code)
        .collect();
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 3, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 1).count(), 3, "{codes:?}");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.path().join(".upkeep/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        state["accepted"].as_array().unwrap().len(),
        3,
        "no lost or double count"
    );
    let refused = filter(
        repo.path(),
        &webhook("update", "docker.io/vaultwarden/server:1.36.0"),
        NOW + 60,
    );
    assert!(
        refused
            .stdout
            .contains("rate limit: 3 update(s) accepted in the last 6 h"),
        "{}",
        refused.stdout
    );
}

#[test]
fn the_window_rolls_over_and_a_reset_clears_it() {
    let repo = repo_with_config("filter:\n  max_updates: 1\n  window_hours: 6\n");
    let update = webhook("update", "docker.io/vaultwarden/server:1.36.0");
    assert_eq!(filter(repo.path(), &update, NOW).code, 0);
    assert_eq!(
        filter(repo.path(), &update, NOW + 3600).code,
        1,
        "within the window"
    );
    assert_eq!(
        filter(repo.path(), &update, NOW + 6 * 3600 + 1).code,
        0,
        "the window rolled over"
    );
    assert_eq!(filter(repo.path(), &update, NOW + 6 * 3600 + 2).code, 1);
    let reset = upkeep(repo.path())
        .args(["filter", "--reset-rate-limit", "--path", "."])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    assert!(reset.status.success());
    assert_eq!(
        filter(repo.path(), &update, NOW + 6 * 3600 + 3).code,
        0,
        "reset"
    );
}

#[test]
fn scan_shows_why_an_image_is_skipped() {
    let repo = repo_with_config("skip_categories: [databases, custom_images]\n");
    let output = upkeep(repo.path())
        .args(["scan", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let skipped: Vec<(&str, &str)> = report["pins"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|pin| Some((pin["name"].as_str()?, pin["skipped"].as_str()?)))
        .collect();
    assert!(
        skipped.contains(&("docker.io/library/postgres", "in skip category `databases`")),
        "{skipped:?}"
    );
    assert!(
        skipped.contains(&(
            "10.0.20.10:5000/infra/restic-backup",
            "in skip category `custom_images`"
        )),
        "{skipped:?}"
    );
    assert!(
        !skipped
            .iter()
            .any(|(name, _)| name.contains("postgres-exporter")),
        "{skipped:?}"
    );
    let table = upkeep(repo.path()).arg("scan").output().unwrap();
    assert!(
        String::from_utf8_lossy(&table.stdout)
            .contains("skipped by config: in skip category `databases`")
    );
}

#[test]
fn config_check_names_the_unknown_key_and_show_prints_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("upgrade-config.json");
    std::fs::write(
        &file,
        "{\n  \"github_repo_overrides\": {},\n  \"skip_image_paterns\": [\"*postgres*\"]\n}\n",
    )
    .unwrap();
    let check = upkeep(dir.path())
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("skip_image_paterns") && stderr.contains("upgrade-config.json:3:3"),
        "{stderr}"
    );
    let valid = upkeep(&fixtures())
        .args(["config", "check"])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    assert!(String::from_utf8_lossy(&valid.stdout).contains(".upkeep.yaml: valid"));
    let show = upkeep(&fixtures())
        .args(["config", "show", "--format", "json"])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(config["filter"]["max_updates"], 5, "defaults are shown");
    assert_eq!(
        config["github_repo_overrides"]["vaultwarden/server"],
        "dani-garcia/vaultwarden"
    );
}

#[test]
fn config_check_warns_about_every_entry_that_matches_nothing() {
    // The user's own `upgrade-config.json`, in the shape it has always had: stacks by name,
    // chart overrides keyed by the chart repository's URL.
    let repo = fixture_copy();
    let file = repo.path().join("upgrade-config.json");
    std::fs::write(
        &file,
        r#"{
  "github_repo_overrides": {
    "vaultwarden/server": "dani-garcia/vaultwarden",
    "ghcr.io/linkwarden/linkwarden": "linkwarden/linkwarden",
    "ghcr.io/immich-app/immich-machine-learning": "immich-app/immich"
  },
  "helm_chart_repo_overrides": {
    "https://charts.goauthentik.io": "goauthentik/authentik",
    "https://charts.bitnami.com/bitnami": "bitnami/charts"
  },
  "db_backed_services": {
    "immich": {"backup_job": "immich-db-backup"},
    "paperles": {"backup_job": "paperless-db-backup"}
  },
  "version_jump_always_step": ["authentik", "nextcloud", "immich", "jellyfn"],
  "skip_image_patterns": ["*postgres*", "vaultwarden/*"]
}
"#,
    )
    .unwrap();
    let check = upkeep(repo.path())
        .args(["config", "check", "upgrade-config.json"])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        check.status.code(),
        Some(0),
        "warnings do not fail: {stdout}"
    );
    let warnings: Vec<&str> = stdout.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(
        warnings,
        [
            "upgrade-config.json:4: warning: github_repo_overrides: `ghcr.io/linkwarden/linkwarden` matches no image in .",
            "upgrade-config.json:9: warning: helm_chart_repo_overrides: `https://charts.bitnami.com/bitnami` matches no chart by name, repository URL or repository/chart in .",
            "upgrade-config.json:13: warning: db_backed_services: `paperles` matches no stack in .",
            "upgrade-config.json:15: warning: version_jump_always_step: `jellyfn` matches no stack, image or chart in .",
        ],
        "{stdout}"
    );
}

#[test]
fn config_check_of_a_file_kept_in_a_subfolder_compares_with_the_whole_repository() {
    // The user keeps `upgrade-config.json` under `.claude/reference/`: its entries name the
    // repository's stacks, not that folder's (which holds none).
    let repo = fixture_copy();
    common::git(repo.path(), &["init", "-q"]);
    let folder = repo.path().join(".claude/reference");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("upgrade-config.json"),
        "{\n  \"version_jump_always_step\": [\n    \"immich\",\n    \"nextcloud\",\n    \"jellyfn\"\n  ]\n}\n",
    )
    .unwrap();
    let check = upkeep(repo.path())
        .args(["config", "check", ".claude/reference/upgrade-config.json"])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{stdout}");
    let warnings: Vec<&str> = stdout.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(
        warnings,
        [
            ".claude/reference/upgrade-config.json:5: warning: version_jump_always_step: `jellyfn` matches no stack, image or chart in ."
        ],
        "{stdout}"
    );
}
