//! `upkeep rollback` reverts upkeep's own upgrade commits, and only what still needs
//! reverting: a person's commit is refused (unless `--any-commit`), an upgrade already reverted
//! is reported as such, and no run ever makes an empty commit. Real git repositories with a
//! bare remote, a local server playing GitHub and Slack.

mod common;

use common::{git, github_and_slack, remote_and_clone, upkeep};
use std::path::{Path, PathBuf};
use wiremock::MockServer;

struct Repos {
    _dir: tempfile::TempDir,
    remote: PathBuf,
    clone: PathBuf,
}

fn repos() -> Repos {
    let dir = tempfile::tempdir().unwrap();
    let (remote, clone) = remote_and_clone(dir.path(), |_| {});
    git(&clone, &["config", "user.name", "Ops Bot"]);
    git(&clone, &["config", "user.email", "ops@example.org"]);
    Repos {
        _dir: dir,
        remote,
        clone,
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(server: &MockServer, dir: &Path, args: &[&str]) -> Run {
    let output = upkeep(dir)
        .args(args)
        .env("GITHUB_API_URL", server.uri())
        .env("SLACK_WEBHOOK_URL", format!("{}/slack/hook", server.uri()))
        .env("XDG_CACHE_HOME", dir.join(".git/test-cache"))
        .env("HOME", dir.join(".git/test-home"))
        .env("UPKEEP_VIRTUAL_CLOCK", "1")
        .env_remove("GITHUB_TOKEN")
        .env_remove("UPKEEP_CONFIG")
        .env_remove("KUBECONFIG")
        .env_remove("WOODPECKER_SERVER")
        .env_remove("WOODPECKER_TOKEN")
        .output()
        .expect("run upkeep");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Bumps vaultwarden to 1.36.0 and pushes; the upgrade commit's SHA.
fn upgrade(server: &MockServer, repos: &Repos) -> String {
    let bump = run(
        server,
        &repos.clone,
        &[
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
            "--format",
            "json",
        ],
    );
    assert_eq!(bump.code, 0, "{}{}", bump.stdout, bump.stderr);
    let report: serde_json::Value = serde_json::from_str(&bump.stdout).unwrap();
    report["commits"][0]["sha"].as_str().unwrap().to_owned()
}

/// A person edits `file` in the clone, commits and pushes; the commit's SHA.
fn push_by_hand(
    repos: &Repos,
    file: &str,
    edit: impl FnOnce(String) -> String,
    subject: &str,
) -> String {
    let path = repos.clone.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    git(&repos.clone, &["commit", "-q", "-am", subject]);
    git(&repos.clone, &["push", "-q", "origin", "main"]);
    git(&repos.clone, &["rev-parse", "HEAD"]).trim().to_owned()
}

/// Every commit of the remote's `main` that changes nothing (`abc1234 subject`).
fn empty_commits(repo: &Path, branch: &str) -> Vec<String> {
    git(repo, &["rev-list", branch])
        .lines()
        .filter(|sha| {
            git(repo, &["diff-tree", "--no-commit-id", "-r", "--root", sha])
                .trim()
                .is_empty()
        })
        .map(|sha| {
            git(repo, &["log", "-1", "--format=%h %s", sha])
                .trim()
                .to_owned()
        })
        .collect()
}

/// `rollback SHA` with CI and verification off.
fn rollback(server: &MockServer, repos: &Repos, sha: &str, extra: &[&str]) -> Run {
    let mut args = vec!["rollback", sha, "--ci", "none", "--verify", "none"];
    args.extend(extra);
    run(server, &repos.clone, &args)
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_refuses_a_commit_upkeep_did_not_make() {
    let server = github_and_slack().await;
    let repos = repos();
    let theirs = push_by_hand(
        &repos,
        "stacks/vaultwarden/main.tf",
        |text| text.replace("vaultwarden/server:1.35.4", "vaultwarden/server:1.35.5"),
        "vaultwarden 1.35.5 by hand",
    );
    let refused = rollback(&server, &repos, &theirs, &[]);
    assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "{} vaultwarden 1.35.5 by hand is not an upgrade commit of upkeep's",
            &theirs[..7]
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains(&format!("git revert {}", &theirs[..7]))
            && refused.stderr.contains("--any-commit"),
        "{}",
        refused.stderr
    );
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]).trim(), theirs);
    assert_eq!(git(&repos.clone, &["rev-parse", "HEAD"]).trim(), theirs);
    assert!(common::slack_messages(&server).await.is_empty());

    // A revert of an upkeep commit is not an upgrade either: rolling it back is a bump.
    let upgrade = upgrade(&server, &repos);
    let first = rollback(&server, &repos, &upgrade, &["--format", "json"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let report: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    let revert = report["revert"].as_str().unwrap().to_owned();
    let again = rollback(&server, &repos, &revert, &[]);
    assert_eq!(again.code, 2, "{}{}", again.stdout, again.stderr);
    assert!(
        again
            .stderr
            .contains("is not an upgrade commit of upkeep's"),
        "{}",
        again.stderr
    );

    // Deliberately: the person's commit is reverted, and the revert is pushed.
    let forced = rollback(
        &server,
        &repos,
        &theirs,
        &["--any-commit", "--format", "json"],
    );
    assert_eq!(forced.code, 0, "{}{}", forced.stdout, forced.stderr);
    let report: serde_json::Value = serde_json::from_str(&forced.stdout).unwrap();
    assert_eq!(report["outcome"], "rolled_back");
    assert_eq!(
        git(&repos.remote, &["rev-parse", "main"]).trim(),
        report["revert"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rolling_back_an_already_reverted_upgrade_commits_nothing_and_exits_1() {
    let server = github_and_slack().await;
    let repos = repos();
    let upgrade = upgrade(&server, &repos);
    let first = rollback(&server, &repos, &upgrade, &["--format", "json"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let report: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    let revert = report["revert"].as_str().unwrap().to_owned();
    let tip = git(&repos.remote, &["rev-parse", "main"]);

    let second = rollback(&server, &repos, &upgrade, &[]);
    assert_eq!(second.code, 1, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains(&format!(
            "{} is already reverted by {}",
            &upgrade[..7],
            &revert[..7]
        )),
        "{}",
        second.stdout
    );
    let json = rollback(&server, &repos, &upgrade, &["--format", "json"]);
    assert_eq!(json.code, 1, "{}{}", json.stdout, json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["outcome"], "already_reverted");
    assert_eq!(report["revert"], revert.as_str());
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]), tip);
    assert_eq!(git(&repos.clone, &["rev-parse", "HEAD"]), tip);
    assert_eq!(empty_commits(&repos.remote, "main"), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn rolling_back_an_upgrade_undone_by_hand_commits_nothing_and_exits_1() {
    let server = github_and_slack().await;
    let repos = repos();
    let upgrade = upgrade(&server, &repos);
    // Someone put the old version back by hand, in a commit of their own words.
    let tip = push_by_hand(
        &repos,
        "stacks/vaultwarden/main.tf",
        |text| text.replace("vaultwarden/server:1.36.0", "vaultwarden/server:1.35.4"),
        "vaultwarden: back to 1.35.4, the admin page broke",
    );
    let again = rollback(&server, &repos, &upgrade, &[]);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains(&format!(
            "reverting {} changes nothing: what it changed is already undone",
            &upgrade[..7]
        )),
        "{}",
        again.stdout
    );
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]).trim(), tip);
    assert_eq!(git(&repos.clone, &["rev-parse", "HEAD"]).trim(), tip);
    assert!(git(&repos.clone, &["status", "--porcelain"]).is_empty());
    assert_eq!(empty_commits(&repos.remote, "main"), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unpushed_upkeep_commit_already_upstream_is_dropped_not_replayed_empty() {
    let server = github_and_slack().await;
    let repos = repos();
    let local = run(
        &server,
        &repos.clone,
        &["bump", "vaultwarden/server", "1.36.0", "--no-push"],
    );
    assert_eq!(local.code, 0, "{}{}", local.stdout, local.stderr);
    // Meanwhile someone pushes the same change by hand.
    let other = repos.clone.with_file_name("other");
    git(
        repos.clone.parent().unwrap(),
        &[
            "clone",
            "-q",
            repos.remote.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    let main_tf = other.join("stacks/vaultwarden/main.tf");
    let text = std::fs::read_to_string(&main_tf).unwrap();
    std::fs::write(
        &main_tf,
        text.replace("vaultwarden/server:1.35.4", "vaultwarden/server:1.36.0"),
    )
    .unwrap();
    git(&other, &["commit", "-q", "-am", "vaultwarden 1.36.0"]);
    git(&other, &["push", "-q", "origin", "main"]);
    let theirs = git(&other, &["rev-parse", "HEAD"]);

    let next = run(
        &server,
        &repos.clone,
        &[
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
        ],
    );
    assert_eq!(next.code, 1, "{}{}", next.stdout, next.stderr);
    assert_eq!(git(&repos.clone, &["rev-parse", "HEAD"]), theirs);
    assert_eq!(empty_commits(&repos.clone, "HEAD"), Vec::<String>::new());
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]), theirs);
}
