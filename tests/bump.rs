//! End-to-end tests of `upkeep bump` and `upkeep rollback` with real git repositories: a bare
//! repository as the remote, clones of the fixtures, a local server playing GitHub and Slack.

mod common;

use common::{git, github_and_slack, remote_and_clone, slack_messages, upkeep};
use std::path::{Path, PathBuf};
use wiremock::MockServer;

/// A bare remote holding the fixtures on `main`, and a clone of it to bump in.
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

fn bump(server: &MockServer, dir: &Path, args: &[&str]) -> Run {
    let output = bump_command(server, dir, args).output().expect("run bump");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// `upkeep bump ARGS` in `dir`, against `server` for GitHub and Slack, with nothing of the
/// caller's environment that a bump reads.
fn bump_command(server: &MockServer, dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut command = upkeep(dir);
    command
        .arg("bump")
        .args(args)
        .env("GITHUB_API_URL", server.uri())
        .env("SLACK_WEBHOOK_URL", format!("{}/slack/hook", server.uri()))
        .env("XDG_CACHE_HOME", dir.join(".git/test-cache"))
        .env("HOME", dir.join(".git/test-home"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("UPKEEP_CONFIG")
        .env_remove("KUBECONFIG")
        .env_remove("WOODPECKER_SERVER");
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn a_safe_bump_pushes_exactly_the_version_lines_with_the_review_message() {
    let server = github_and_slack().await;
    let repos = repos();
    let started = std::time::Instant::now();
    let run = bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0", "--format", "json"],
    );
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["outcome"], "success");
    let sha = report["commits"][0]["sha"].as_str().unwrap().to_owned();
    assert_eq!(
        git(&repos.remote, &["rev-parse", "main"]).trim(),
        sha,
        "pushed"
    );
    let diff = git(&repos.remote, &["show", "--format=", "-U0", &sha]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert_eq!(changed.len(), 2, "{diff}");
    assert!(
        changed[0].starts_with('-') && changed[0].contains("vaultwarden/server:1.35.4"),
        "{diff}"
    );
    assert!(
        changed[1].starts_with('+') && changed[1].contains("vaultwarden/server:1.36.0"),
        "{diff}"
    );
    let message = git(&repos.remote, &["log", "-1", "--format=%B", &sha]);
    for field in [
        "upgrade: vaultwarden 1.35.4 -> 1.36.0\n\n",
        "Changelog summary: 2 releases from dani-garcia/vaultwarden (1.35.5, 1.36.0)",
        "Risk: SAFE (no rule fired)",
        "Breaking changes: none",
        "DB backup: no (not DB-backed)",
        "Config changes applied: none",
        "Flagged for manual review: none",
        "Co-Authored-By: upkeep",
    ] {
        assert!(message.contains(field), "missing {field:?} in\n{message}");
    }
    assert!(!message.to_lowercase().contains("ci skip"));
    assert_eq!(
        git(&repos.remote, &["log", "-1", "--format=%an <%ae>", &sha]).trim(),
        "Ops Bot <ops@example.org>"
    );
    assert!(
        git(&repos.clone, &["status", "--porcelain"]).is_empty(),
        "nothing left over"
    );
    let slack = slack_messages(&server).await;
    assert_eq!(slack.len(), 2, "{slack:?}");
    assert!(
        slack[1].contains("vaultwarden 1.35.4 -> 1.36.0 (SAFE)") && slack[1].contains(&sha),
        "{slack:?}"
    );
    assert!(elapsed.as_secs() < 10, "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_that_lost_the_race_is_rebased_and_retried() {
    let server = github_and_slack().await;
    let repos = repos();
    // Someone pushes an unrelated commit after our clone.
    let other = repos.clone.parent().unwrap().join("other");
    git(
        repos.clone.parent().unwrap(),
        &[
            "clone",
            "-q",
            repos.remote.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    std::fs::write(
        other.join("stacks/n8n/NOTES.md"),
        "Webhook URL moved to n8n.home.arpa.\n",
    )
    .unwrap();
    git(&other, &["add", "-A"]);
    git(&other, &["commit", "-q", "-m", "docs: n8n notes"]);
    git(&other, &["push", "-q", "origin", "main"]);
    let run = bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let log = git(&repos.remote, &["log", "--format=%s", "-3", "main"]);
    let subjects: Vec<&str> = log.lines().collect();
    assert_eq!(
        subjects,
        [
            "upgrade: vaultwarden 1.35.4 -> 1.36.0",
            "docs: n8n notes",
            "infrastructure"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_plans_against_the_remote_tip_not_a_stale_checkout() {
    let server = github_and_slack().await;
    let repos = repos();
    // Someone else upgrades vaultwarden and pushes; our checkout does not know yet.
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
    git(&other, &["config", "user.name", "Someone Else"]);
    git(&other, &["config", "user.email", "else@example.org"]);
    let main_tf = other.join("stacks/vaultwarden/main.tf");
    let text = std::fs::read_to_string(&main_tf).unwrap();
    assert!(text.contains("vaultwarden/server:1.35.4"));
    std::fs::write(
        &main_tf,
        text.replace("vaultwarden/server:1.35.4", "vaultwarden/server:1.36.0"),
    )
    .unwrap();
    git(
        &other,
        &["commit", "-q", "-am", "vaultwarden 1.36.0 by hand"],
    );
    git(&other, &["push", "-q", "origin", "main"]);
    let pushed = git(&other, &["rev-parse", "HEAD"]);

    let run = bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0", "--sync"],
    );
    assert_eq!(
        run.code, 1,
        "nothing to do once synced: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        git(&repos.clone, &["rev-parse", "HEAD"]),
        pushed,
        "fast-forwarded"
    );
    assert_eq!(
        git(&repos.remote, &["rev-parse", "main"]),
        pushed,
        "nothing pushed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_is_made_while_git_fetches_from_a_remote_far_away() {
    let server = github_and_slack().await;
    let repos = repos();
    // GitHub marks when the plan asks it about vaultwarden; an ssh remote whose fetch does
    // not start before that mark: a bump that fetched first would wait the whole 30 s here
    // and log that it did. Run by git, which passes GIT_SSH_COMMAND on.
    let mark = repos.clone.with_file_name("asked-github");
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/repos/dani-garcia/vaultwarden"))
        .respond_with(Marking(mark.clone()))
        .with_priority(1)
        .mount(&server)
        .await;
    let log = repos.clone.with_file_name("ssh.log");
    let ssh = repos.clone.with_file_name("slow-ssh");
    std::fs::write(
        &ssh,
        format!(
            r#"#!/bin/sh
[ "$1" = -G ] && exit 0
while [ $# -gt 2 ]; do shift; done
i=0
while [ ! -e '{mark}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
if [ $i -lt 600 ]; then echo "planning: $2" >> '{log}'; else echo "waited alone: $2" >> '{log}'; fi
exec sh -c "$2"
"#,
            mark = mark.display(),
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let url = format!("ssh://far-away{}", repos.remote.display());
    git(&repos.clone, &["remote", "set-url", "origin", &url]);

    let ssh_command = ssh.to_str().unwrap();
    let run = bump_with(
        &server,
        &repos.clone,
        &[
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
        ],
        &[("GIT_SSH_COMMAND", ssh_command)],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let log = std::fs::read_to_string(&log).unwrap();
    let first = log.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("planning: git-upload-pack"),
        "the fetch ran alone: {log}"
    );
    assert_eq!(
        git(&repos.remote, &["rev-parse", "main"]),
        git(&repos.clone, &["rev-parse", "HEAD"]),
        "pushed through the same remote"
    );
}

/// GitHub's answer about vaultwarden, leaving a mark at the path it holds when asked.
struct Marking(PathBuf);

impl wiremock::Respond for Marking {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        std::fs::write(&self.0, "").unwrap();
        wiremock::ResponseTemplate::new(200)
            .set_body_string(r#"{"full_name":"dani-garcia/vaultwarden"}"#)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dirty_tree_or_a_detached_head_is_refused() {
    let server = github_and_slack().await;
    let repos = repos();
    std::fs::write(repos.clone.join("stacks/vaultwarden/scratch.txt"), "wip\n").unwrap();
    let run = bump(&server, &repos.clone, &["vaultwarden/server", "1.36.0"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("the working tree has changes") && run.stderr.contains("scratch.txt"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(repos.clone.join("stacks/vaultwarden/scratch.txt")).unwrap();
    git(&repos.clone, &["checkout", "-q", "--detach"]);
    let run = bump(&server, &repos.clone, &["vaultwarden/server", "1.36.0"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("HEAD is detached"), "{}", run.stderr);
    assert_eq!(
        git(&repos.remote, &["log", "--format=%s", "main"]).trim(),
        "infrastructure"
    );
}

/// Changes in the working tree are refused before the branch moves, before anything is
/// fetched and before GitHub is asked, whatever the remote does.
#[tokio::test(flavor = "multi_thread")]
async fn a_dirty_tree_is_refused_before_anything_is_fetched_or_asked() {
    let server = github_and_slack().await;
    let repos = repos();
    let before = git(&repos.clone, &["rev-parse", "HEAD"]);
    push_from_elsewhere(&repos, "NOTES.md", "moved on\n", "docs");
    let edited = repos.clone.join("stacks/vaultwarden/main.tf");
    let wip = std::fs::read_to_string(&edited).unwrap() + "# wip\n";
    std::fs::write(&edited, &wip).unwrap();
    let refused = |run: &Run| {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("the working tree has changes")
                && run.stderr.contains("stacks/vaultwarden/main.tf"),
            "{}",
            run.stderr
        );
    };
    // The remote moved on.
    refused(&bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
    ));
    assert_eq!(git(&repos.clone, &["rev-parse", "HEAD"]), before);
    assert_eq!(git(&repos.clone, &["rev-parse", "origin/main"]), before);
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), wip);
    assert!(!repos.clone.join("NOTES.md").exists());
    assert!(server.received_requests().await.unwrap().is_empty());
    // The remote cannot be reached.
    git(
        &repos.clone,
        &["remote", "set-url", "origin", "/nonexistent/remote.git"],
    );
    refused(&bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
    ));
    // There is no such remote.
    git(&repos.clone, &["remote", "rename", "origin", "upstream"]);
    refused(&bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), wip);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_backup_hook_stops_before_any_edit() {
    let server = github_and_slack().await;
    let repos = repos();
    let config = std::fs::read_to_string(repos.clone.join(".upkeep.yaml")).unwrap();
    let config = config.replace(
        "db_backed_services:\n",
        "db_backed_services:\n  vaultwarden: {}\n",
    ) + "hooks:\n  pre_upgrade:\n    - command: [\"sh\", \"-c\", \"echo backup of {stack} in {namespace} refused >&2; exit 3\"]\n";
    std::fs::write(repos.clone.join(".upkeep.yaml"), config).unwrap();
    git(&repos.clone, &["commit", "-q", "-am", "backup hook"]);
    git(&repos.clone, &["push", "-q", "origin", "main"]);
    let run = bump(&server, &repos.clone, &["vaultwarden/server", "1.36.0"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("backup") && run.stderr.contains("refused"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("backup of vaultwarden in vaultwarden refused"),
        "placeholders: {}",
        run.stderr
    );
    assert!(
        git(&repos.clone, &["status", "--porcelain"]).is_empty(),
        "nothing edited"
    );
    assert_eq!(
        git(&repos.clone, &["log", "--format=%s", "-1"]).trim(),
        "backup hook",
        "no commit"
    );
    let slack = slack_messages(&server).await;
    assert!(
        slack.iter().any(|m| m.contains("backup failed")),
        "{slack:?}"
    );
}

/// Secrets a bump's environment holds, which no hook may see unless its config lists them.
const SECRETS: [(&str, &str); 6] = [
    ("GITHUB_TOKEN", "ghp_hookleak0000000000000000000000000000"),
    ("GIT_TOKEN", "git-token-hookleak-5e1f"),
    ("WOODPECKER_TOKEN", "wp-token-hookleak-77aa"),
    ("UPKEEP_REGISTRY_PASSWORD", "registry-password-hookleak"),
    ("UPKEEP_SERVE_TOKENS", "serve-token-hookleak-0123456789"),
    ("AWS_SECRET_ACCESS_KEY", "aws-secret-hookleak"),
];

/// Runs a bump of vaultwarden (DB-backed) whose pre-upgrade hooks are `hooks` (YAML list
/// items), with the secrets and `PGHOST` in the environment.
fn bump_with_hooks(server: &MockServer, repos: &Repos, hooks: &str) -> Run {
    let config = std::fs::read_to_string(repos.clone.join(".upkeep.yaml")).unwrap();
    let config = config.replace(
        "db_backed_services:\n",
        // No CronJob named: the hooks are the backup.
        "db_backed_services:\n  vaultwarden: {}\n",
    ) + "hooks:\n  pre_upgrade:\n"
        + hooks;
    std::fs::write(repos.clone.join(".upkeep.yaml"), config).unwrap();
    git(&repos.clone, &["commit", "-q", "-am", "backup hooks"]);
    // The settings are the operator's commit, on the remote before the bump (forced by the
    // test only, to start its second case afresh).
    git(&repos.clone, &["push", "-q", "--force", "origin", "main"]);
    let mut command = upkeep(&repos.clone);
    command
        .args(["bump", "vaultwarden/server", "1.36.0", "--no-push"])
        .env("GITHUB_API_URL", server.uri())
        .env("SLACK_WEBHOOK_URL", format!("{}/slack/hook", server.uri()))
        .env("XDG_CACHE_HOME", repos.clone.join(".git/test-cache"))
        .env("PGHOST", "db.home.arpa")
        .env_remove("UPKEEP_CONFIG");
    for (name, value) in SECRETS {
        command.env(name, value);
    }
    let output = command.output().expect("run bump");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hooks_get_only_the_environment_their_config_lists() {
    let server = github_and_slack().await;
    let repos = repos();
    let dumps = tempfile::tempdir().unwrap();
    let plain = dumps.path().join("plain.env");
    let listed = dumps.path().join("listed.env");
    let run = bump_with_hooks(
        &server,
        &repos,
        &format!(
            "    - command: [\"sh\", \"-c\", \"env > {}\"]\n",
            plain.display()
        ),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let env = std::fs::read_to_string(&plain).unwrap();
    for (name, value) in SECRETS {
        assert!(!env.contains(value), "{name} reached the hook:\n{env}");
    }
    assert!(!env.contains("db.home.arpa"), "not listed: {env}");
    assert!(!env.contains("SLACK_WEBHOOK_URL"), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    assert!(env.lines().any(|l| l.starts_with("HOME=")), "{env}");

    // A hook's `env:` passes the names it lists, and nothing more.
    git(&repos.clone, &["reset", "-q", "--hard", "HEAD~2"]);
    let run = bump_with_hooks(
        &server,
        &repos,
        &format!(
            "    - command: [\"sh\", \"-c\", \"env > {}\"]\n      env: [PGHOST, AWS_SECRET_ACCESS_KEY]\n",
            listed.display()
        ),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let env = std::fs::read_to_string(&listed).unwrap();
    assert!(env.contains("PGHOST=db.home.arpa\n"), "{env}");
    assert!(
        env.contains("AWS_SECRET_ACCESS_KEY=aws-secret-hookleak\n"),
        "{env}"
    );
    assert!(!env.contains("ghp_hookleak"), "{env}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bump_to_an_older_version_is_a_downgrade_refused_without_allow_downgrade() {
    let server = github_and_slack().await;
    let repos = repos();
    // vaultwarden is pinned at 1.35.4.
    let run = bump(&server, &repos.clone, &["vaultwarden/server", "1.35.0"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("downgrade"), "{}", run.stderr);
    assert!(run.stderr.contains("--allow-downgrade"), "{}", run.stderr);
    assert!(run.stderr.contains("1.35.4 -> 1.35.0"), "{}", run.stderr);
    assert!(git(&repos.clone, &["status", "--porcelain"]).is_empty());
    assert_eq!(
        git(&repos.remote, &["log", "--format=%s", "main"]).trim(),
        "infrastructure",
        "nothing committed or pushed"
    );

    // The plan says so too, and rates it CAUTION: what a newer release migrated may not run
    // backwards.
    let plan = upkeep(&repos.clone)
        .args(["plan", "vaultwarden/server", "1.35.0", "--format", "json"])
        .env("GITHUB_API_URL", server.uri())
        .env("XDG_CACHE_HOME", repos.clone.join(".git/test-cache"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(report["risk"], "CAUTION", "{report}");
    assert_eq!(report["reason"], "downgrade", "{report}");
    assert_eq!(report["downgrade"], true, "{report}");
    assert!(
        report["commit_message"]
            .as_str()
            .unwrap()
            .starts_with("downgrade: vaultwarden 1.35.4 -> 1.35.0\n"),
        "{report}"
    );

    let run = bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.35.0", "--allow-downgrade"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let message = git(&repos.remote, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.starts_with("downgrade: vaultwarden 1.35.4 -> 1.35.0\n"),
        "{message}"
    );
    assert!(message.contains("Risk: CAUTION (downgrade)"), "{message}");
    assert!(!message.contains("upgrade:"), "{message}");
    assert!(!message.contains("SAFE"), "{message}");

    // An upgrade is not held to the flag.
    let run = bump(&server, &repos.clone, &["vaultwarden/server", "1.36.0"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_shows_everything_and_touches_nothing() {
    let server = github_and_slack().await;
    let repos = repos();
    let run = bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0", "--dry-run"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("-          image = \"vaultwarden/server:1.35.4\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  upgrade: vaultwarden 1.35.4 -> 1.36.0"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("dry run: nothing was written"));
    assert!(git(&repos.clone, &["status", "--porcelain"]).is_empty());
    assert_eq!(
        git(&repos.remote, &["log", "--format=%s", "main"]).trim(),
        "infrastructure"
    );
    assert!(
        slack_messages(&server).await.is_empty(),
        "a dry run notifies nobody"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_reverts_exactly_the_upgrade_even_with_commits_on_top() {
    let server = github_and_slack().await;
    let repos = repos();
    let run = bump(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0", "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let sha = report["commits"][0]["sha"].as_str().unwrap().to_owned();
    std::fs::write(repos.clone.join("stacks/n8n/NOTES.md"), "later work\n").unwrap();
    git(&repos.clone, &["add", "-A"]);
    git(&repos.clone, &["commit", "-q", "-m", "later work"]);
    git(&repos.clone, &["push", "-q", "origin", "main"]);
    let output = upkeep(&repos.clone)
        .args(["rollback", &sha[..10]])
        .env("SLACK_WEBHOOK_URL", format!("{}/slack/hook", server.uri()))
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let log = git(&repos.remote, &["log", "--format=%s", "-3", "main"]);
    assert_eq!(
        log.lines().next().unwrap(),
        "Revert \"upgrade: vaultwarden 1.35.4 -> 1.36.0\""
    );
    let main_tf = std::fs::read_to_string(repos.clone.join("stacks/vaultwarden/main.tf")).unwrap();
    assert!(main_tf.contains("vaultwarden/server:1.35.4"));
    assert!(
        repos.clone.join("stacks/n8n/NOTES.md").exists(),
        "later work kept"
    );
    assert!(
        git(&repos.remote, &["log", "-1", "--format=%B", "main"])
            .contains(&format!("This reverts commit {sha}."))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caution_upgrade_steps_through_one_commit_per_step() {
    let server = github_and_slack().await;
    let repos = repos();
    let run = bump(
        &server,
        &repos.clone,
        &[
            "ghcr.io/immich-app/immich-server",
            "v2.8.1",
            "--format",
            "json",
            "--no-backup",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["risk"], "CAUTION");
    assert_eq!(report["steps"], serde_json::json!(["v2.8.0", "v2.8.1"]));
    let log = git(&repos.remote, &["log", "--format=%s", "-3", "main"]);
    let subjects: Vec<&str> = log.lines().collect();
    assert_eq!(
        subjects,
        [
            "upgrade: immich v2.8.0 -> v2.8.1",
            "upgrade: immich v2.7.4 -> v2.8.0",
            "infrastructure"
        ]
    );
    let message = git(&repos.remote, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains("DB backup: skipped (--no-backup)"),
        "{message}"
    );
    assert!(
        message.contains("Flagged for manual review: REDIS_HOSTNAME"),
        "{message}"
    );
    let variables =
        std::fs::read_to_string(repos.clone.join("stacks/immich/variables.tf")).unwrap();
    assert!(variables.contains("\"v2.8.1\""), "{variables}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_diun_notification_is_judged_then_bumped() {
    let server = github_and_slack().await;
    let repos = repos();
    let payload = repos.clone.join(".git/diun.json");
    std::fs::write(&payload, r#"{"diun_version":"4.29.0","status":"update","provider":"kubernetes","image":"docker.io/vaultwarden/server:1.36.0","hub_link":"https://hub.docker.com/r/vaultwarden/server","platform":"linux/amd64"}"#).unwrap();
    let run = bump(
        &server,
        &repos.clone,
        &["--diun", payload.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let stages: Vec<&str> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages[..3],
        ["git", "filter", "plan"],
        "judged before planning"
    );
    assert_eq!(
        git(&repos.remote, &["log", "-1", "--format=%s", "main"]).trim(),
        "upgrade: vaultwarden 1.35.4 -> 1.36.0"
    );
    std::fs::write(
        &payload,
        r#"{"status":"update","image":"docker.io/vaultwarden/server:latest"}"#,
    )
    .unwrap();
    let skipped = bump(
        &server,
        &repos.clone,
        &["--diun", payload.to_str().unwrap()],
    );
    assert_eq!(skipped.code, 1);
    assert!(
        skipped.stdout.starts_with("skip: tag `latest`"),
        "{}",
        skipped.stdout
    );
}

/// Runs `upkeep bump` with extra environment variables.
fn bump_with(server: &MockServer, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = upkeep(dir);
    command
        .arg("bump")
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
        .env_remove("WOODPECKER_TOKEN");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run bump");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Someone else pushes a commit touching `file` to the remote.
fn push_from_elsewhere(repos: &Repos, file: &str, text: &str, subject: &str) -> String {
    let other = repos.clone.with_file_name("elsewhere");
    if !other.exists() {
        git(
            repos.clone.parent().unwrap(),
            &[
                "clone",
                "-q",
                repos.remote.to_str().unwrap(),
                other.to_str().unwrap(),
            ],
        );
    }
    git(&other, &["pull", "-q", "--ff-only"]);
    std::fs::write(other.join(file), text).unwrap();
    git(&other, &["add", "-A"]);
    git(&other, &["commit", "-q", "-m", subject]);
    git(&other, &["push", "-q", "origin", "main"]);
    git(&other, &["rev-parse", "HEAD"]).trim().to_owned()
}

/// Commits `file` in the clone, as an operator would, without pushing.
fn commit_locally(repos: &Repos, file: &str, text: &str, subject: &str) -> String {
    std::fs::write(repos.clone.join(file), text).unwrap();
    git(&repos.clone, &["add", "-A"]);
    git(&repos.clone, &["commit", "-q", "-m", subject]);
    git(&repos.clone, &["rev-parse", "HEAD"]).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_refuses_local_unpushed_commits_when_the_remote_moved() {
    let server = github_and_slack().await;
    let repos = repos();
    let local = commit_locally(
        &repos,
        "stacks/n8n/NOTES.md",
        "work in progress\n",
        "local unpushed work",
    );
    let theirs = push_from_elsewhere(&repos, "stacks/gitea/NOTES.md", "x\n", "gitea notes");
    let run = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
        &[],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{} local unpushed work", &local[..7])),
        "the local commit is listed: {}",
        run.stderr
    );
    assert_eq!(
        git(&repos.clone, &["rev-parse", "HEAD"]).trim(),
        local,
        "the local commit is still the branch's tip"
    );
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]).trim(), theirs);
    assert!(git(&repos.clone, &["status", "--porcelain"]).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_never_pushes_a_local_wip_commit() {
    let server = github_and_slack().await;
    let repos = repos();
    let before = git(&repos.remote, &["rev-parse", "main"]);
    let wip = commit_locally(&repos, "stacks/n8n/NOTES.md", "half done\n", "WIP");
    let run = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
        &[],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!("{} WIP", &wip[..7])),
        "{}",
        run.stderr
    );
    assert_eq!(
        git(&repos.remote, &["rev-parse", "main"]),
        before,
        "nothing pushed"
    );
    assert_eq!(git(&repos.clone, &["rev-parse", "HEAD"]).trim(), wip);
    assert!(
        slack_messages(&server).await.is_empty(),
        "refused before anything started"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_push_commit_is_pushed_deliberately_by_the_next_bump() {
    let server = github_and_slack().await;
    let repos = repos();
    let first = bump_with(
        &server,
        &repos.clone,
        &[
            "vaultwarden/server",
            "1.35.5",
            "--no-push",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let kept = git(&repos.clone, &["rev-parse", "HEAD"]).trim().to_owned();
    // Someone else pushes meanwhile: the earlier commit is replayed, not lost.
    push_from_elsewhere(&repos, "stacks/gitea/NOTES.md", "x\n", "gitea notes");
    let second = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
        &[],
    );
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("1 earlier upkeep commit")
            && second
                .stdout
                .contains("upgrade: vaultwarden 1.35.4 -> 1.35.5"),
        "the bump says it pushes the earlier commit: {}",
        second.stdout
    );
    let log = git(&repos.remote, &["log", "--format=%s", "-4", "main"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "upgrade: vaultwarden 1.35.5 -> 1.36.0",
            "upgrade: vaultwarden 1.35.4 -> 1.35.5",
            "gitea notes",
            "infrastructure"
        ]
    );
    assert_ne!(
        git(&repos.remote, &["rev-parse", "main~1"]).trim(),
        kept,
        "replayed onto the new tip"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_made_while_fetching_is_made_again_when_upkeeps_commits_are_replayed() {
    let server = github_and_slack().await;
    let repos = repos();
    let first = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.35.5", "--no-push"],
        &[],
    );
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    // Someone else moves immich to v2.8.0 meanwhile: the plan made beside the fetch read
    // v2.7.4 (a CAUTION step through v2.8.0); on the replayed tree it is one step.
    let variables = "stacks/immich/variables.tf";
    let text = std::fs::read_to_string(repos.clone.join(variables)).unwrap();
    assert!(text.contains("\"v2.7.4\""));
    push_from_elsewhere(
        &repos,
        variables,
        &text.replace("\"v2.7.4\"", "\"v2.8.0\""),
        "immich v2.8.0 by hand",
    );
    let second = bump_with(
        &server,
        &repos.clone,
        &[
            "ghcr.io/immich-app/immich-server",
            "v2.8.1",
            "--format",
            "json",
            "--no-backup",
        ],
        &[],
    );
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    let report: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(report["old"], "v2.8.0", "{report}");
    assert_eq!(report["steps"], serde_json::json!(["v2.8.1"]), "{report}");
    let log = git(&repos.remote, &["log", "--format=%s", "-4", "main"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "upgrade: immich v2.8.0 -> v2.8.1",
            "upgrade: vaultwarden 1.35.4 -> 1.35.5",
            "immich v2.8.0 by hand",
            "infrastructure"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_push_replays_only_upkeeps_commit_and_resets_nothing_away() {
    let server = github_and_slack().await;
    let repos = repos();
    // A pre-push hook that lets another push land first, once: the remote moves between
    // upkeep's fetch and its push.
    let hook = repos.clone.join(".git/hooks/pre-push");
    let other = repos.clone.with_file_name("racer");
    git(
        repos.clone.parent().unwrap(),
        &[
            "clone",
            "-q",
            repos.remote.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nif [ ! -e '{flag}' ]; then touch '{flag}'; cd '{other}' && echo raced > stacks/gitea/NOTES.md && git add -A && git -c user.name=R -c user.email=r@example.org commit -q -m 'raced ahead' && git push -q origin main; fi\nexit 0\n",
            flag = repos.clone.join(".git/raced").display(),
            other = other.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let log = git(&repos.remote, &["log", "--format=%s", "-3", "main"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "upgrade: vaultwarden 1.35.4 -> 1.36.0",
            "raced ahead",
            "infrastructure"
        ]
    );
    assert_eq!(
        git(&repos.clone, &["rev-parse", "HEAD"]),
        git(&repos.remote, &["rev-parse", "main"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_with_a_woodpecker_server_but_no_repo_stops_before_any_commit() {
    let server = github_and_slack().await;
    let repos = repos();
    let before = git(&repos.clone, &["rev-parse", "HEAD"]);
    let run = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0", "--verify", "none"],
        &[
            ("WOODPECKER_SERVER", &server.uri()),
            ("WOODPECKER_TOKEN", "wp-secret-token-123"),
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("woodpecker.repo"),
        "says what is missing: {}",
        run.stderr
    );
    assert_eq!(
        git(&repos.clone, &["rev-parse", "HEAD"]),
        before,
        "no commit"
    );
    assert_eq!(
        git(&repos.remote, &["rev-parse", "main"]),
        before,
        "nothing pushed"
    );
    assert!(git(&repos.clone, &["status", "--porcelain"]).is_empty());
    assert!(!run.stderr.contains("wp-secret-token-123"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_stops_before_any_commit_when_woodpecker_rejects_the_token() {
    let server = github_and_slack().await;
    wiremock::Mock::given(wiremock::matchers::path_regex("^/api/"))
        .respond_with(wiremock::ResponseTemplate::new(401).set_body_string("token is expired\n"))
        .mount(&server)
        .await;
    let repos = repos();
    let config = std::fs::read_to_string(repos.clone.join(".upkeep.yaml")).unwrap()
        + "woodpecker:\n  repo: homelab/infrastructure\n";
    std::fs::write(repos.clone.join(".upkeep.yaml"), config).unwrap();
    git(&repos.clone, &["commit", "-q", "-am", "ci settings"]);
    git(&repos.clone, &["push", "-q", "origin", "main"]);
    let before = git(&repos.clone, &["rev-parse", "HEAD"]);
    let run = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0", "--verify", "none"],
        &[
            ("WOODPECKER_SERVER", &server.uri()),
            ("WOODPECKER_TOKEN", "wp-secret-token-123"),
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert_eq!(
        git(&repos.clone, &["rev-parse", "HEAD"]),
        before,
        "no commit"
    );
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]), before);
    assert!(!run.stderr.contains("wp-secret-token-123"));
}

/// The real git program on PATH.
fn real_git() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join("git"))
        .find(|path| path.is_file())
        .expect("git on PATH")
}

#[tokio::test(flavor = "multi_thread")]
async fn git_children_get_no_secrets_and_the_token_only_through_a_helper() {
    let server = github_and_slack().await;
    let repos = repos();
    // A git in front of the real one that records what upkeep hands it.
    let bin = repos.clone.with_file_name("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = repos.clone.with_file_name("git-calls.log");
    let wrapper = bin.join("git");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n{{ echo \"ARGS: $*\"; env; echo ---; }} >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_git().display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
        &[
            ("PATH", &path),
            ("GIT_TOKEN", "ghp-test-git-token-789"),
            ("WOODPECKER_TOKEN", "wp-secret-token-123"),
            ("UPKEEP_SERVE_TOKENS", "serve-secret-token-0123456789"),
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains(" fetch ") && calls.contains(" push "),
        "{calls}"
    );
    for secret in [
        "SLACK_WEBHOOK_URL",
        "WOODPECKER_TOKEN",
        "wp-secret-token-123",
        "UPKEEP_SERVE_TOKENS",
        "GITHUB_API_URL",
    ] {
        assert!(!calls.contains(secret), "{secret} reached git:\n{calls}");
    }
    assert!(
        calls.contains("GIT_TOKEN=ghp-test-git-token-789"),
        "{calls}"
    );
    assert!(
        calls.contains("GIT_CONFIG_KEY_1=credential.helper"),
        "{calls}"
    );
    assert!(
        calls
            .lines()
            .filter(|l| l.starts_with("ARGS: "))
            .all(|l| !l.contains("ghp-test-git-token-789")),
        "never on the command line: {calls}"
    );
    assert!(!run.stdout.contains("ghp-test") && !run.stderr.contains("ghp-test"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_amended_upkeep_commit_is_no_longer_upkeeps_and_is_not_pushed() {
    let server = github_and_slack().await;
    let repos = repos();
    let before = git(&repos.remote, &["rev-parse", "main"]);
    let first = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.35.5", "--no-push"],
        &[],
    );
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    // Someone slips a change of their own into upkeep's commit.
    std::fs::write(repos.clone.join("stacks/n8n/NOTES.md"), "mine\n").unwrap();
    git(&repos.clone, &["add", "-A"]);
    git(&repos.clone, &["commit", "-q", "--amend", "--no-edit"]);
    let second = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0"],
        &[],
    );
    assert_eq!(second.code, 2, "{}{}", second.stdout, second.stderr);
    assert!(
        second
            .stderr
            .contains("upgrade: vaultwarden 1.35.4 -> 1.35.5"),
        "listed as not upkeep's: {}",
        second.stderr
    );
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_refuses_local_work_and_reports_json() {
    let server = github_and_slack().await;
    let repos = repos();
    let run = bump_with(
        &server,
        &repos.clone,
        &["vaultwarden/server", "1.36.0", "--format", "json"],
        &[],
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let sha = report["commits"][0]["sha"].as_str().unwrap().to_owned();
    let local = commit_locally(&repos, "stacks/n8n/NOTES.md", "draft\n", "draft notes");
    let rollback = |dir: &Path| {
        upkeep(dir)
            .args(["rollback", &sha, "--format", "json"])
            .env("HOME", dir.join(".git/test-home"))
            .env_remove("UPKEEP_CONFIG")
            .env_remove("SLACK_WEBHOOK_URL")
            .env_remove("KUBECONFIG")
            .env_remove("WOODPECKER_SERVER")
            .output()
            .unwrap()
    };
    let refused = rollback(&repos.clone);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("{} draft notes", &local[..7])),
        "{stderr}"
    );
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]).trim(), sha);
    git(&repos.clone, &["reset", "-q", "--hard", "HEAD~1"]);
    let done = rollback(&repos.clone);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["outcome"], "rolled_back");
    assert_eq!(report["reverted"], sha.as_str());
    let revert = report["revert"].as_str().unwrap();
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]).trim(), revert);
    assert!(
        report["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "push")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_stops_before_any_change_when_a_file_it_edits_does_not_parse_strictly() {
    let server = github_and_slack().await;
    let dir = tempfile::tempdir().unwrap();
    // A syntax error where no pin can be: the fast scan of `plan` reads past it, the strict
    // scan of the edit does not.
    let (remote, clone) = remote_and_clone(dir.path(), |seed| {
        std::fs::write(
            seed.join("stacks/vaultwarden/config.tf"),
            "resource \"kubernetes_config_map\" \"vaultwarden\" {\n  data = {\n    \"SIGNUPS_ALLOWED\" = \"false\" +\n  }\n}\n",
        )
        .unwrap();
    });
    let before = git(&remote, &["rev-parse", "main"]);
    let run = bump(
        &server,
        &clone,
        &[
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("preflight failed; nothing was changed")
            && run.stderr.contains("edit: ")
            && run.stderr.contains("stacks/vaultwarden/config.tf"),
        "{}",
        run.stderr
    );
    assert!(
        slack_messages(&server).await.is_empty(),
        "stopped before the first notification"
    );
    assert_eq!(git(&remote, &["rev-parse", "main"]), before);
    assert!(git(&clone, &["status", "--porcelain"]).is_empty());
}

/// A webhook that answers the first notification only once `remote`'s `main` has moved from
/// `before` (or after a minute), and every later one at once; returns the texts received and
/// whether `main` had moved when the first was answered.
fn slow_first_webhook(
    remote: PathBuf,
    before: String,
) -> (String, std::thread::JoinHandle<(Vec<String>, bool)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/slack/hook", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let (mut texts, mut moved) = (Vec::new(), false);
        // The start and the success of one bump.
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            texts.push(json["text"].as_str().unwrap().to_owned());
            if texts.len() == 1 {
                for _ in 0..600 {
                    moved = git(&remote, &["rev-parse", "main"]) != before;
                    if moved {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
            let mut stream = reader.into_inner();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
        (texts, moved)
    });
    (url, thread)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_webhook_does_not_hold_the_bump_up_and_hears_of_it_in_order() {
    let server = github_and_slack().await;
    let repos = repos();
    let before = git(&repos.remote, &["rev-parse", "main"]);
    let (url, webhook) = slow_first_webhook(repos.remote.clone(), before.clone());
    let args = [
        "vaultwarden/server",
        "1.36.0",
        "--ci",
        "none",
        "--verify",
        "none",
    ];
    let output = bump_command(&server, &repos.clone, &args)
        .env("SLACK_WEBHOOK_URL", &url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let (texts, moved) = webhook.join().unwrap();
    // The commit was pushed while the start was still on its way, and the start was
    // delivered (a bump waiting for the answer would have given up after 10 s, and said so).
    assert!(moved, "{texts:?}");
    assert!(!stderr.contains("not delivered"), "{stderr}");
    assert!(texts[0].contains("upgrading vaultwarden"), "{texts:?}");
    assert!(texts[1].contains("upgraded vaultwarden"), "{texts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_changed_after_the_edit_was_checked_is_not_overwritten() {
    let server = github_and_slack().await;
    let repos = repos();
    let main_tf = repos.clone.join("stacks/vaultwarden/main.tf");
    // The backup (a hook) runs between the preflight, which checked the edit on the file as it
    // was, and the edit: it changes that file.
    let run = bump_with_hooks(
        &server,
        &repos,
        &format!(
            "    - command: [\"sh\", \"-c\", \"printf '# restored from backup\\\\n' >> {}\"]\n",
            main_tf.display()
        ),
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("stacks/vaultwarden/main.tf") && run.stderr.contains("changed"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&main_tf).unwrap();
    assert!(text.contains("vaultwarden/server:1.35.4"), "{text}");
    assert!(
        text.ends_with("# restored from backup\n"),
        "the hook's line stays: {text}"
    );
    assert_eq!(
        git(&repos.clone, &["log", "-1", "--format=%s"]).trim(),
        "backup hooks",
        "nothing committed"
    );
    // Slack heard the upgrade start, and hears that it stopped.
    let slack = slack_messages(&server).await;
    assert_eq!(slack.len(), 2, "{slack:?}");
    assert!(
        slack[1].contains("vaultwarden") && slack[1].contains("changed on disk"),
        "{slack:?}"
    );
}
