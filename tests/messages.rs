//! What upkeep says when something does not go as asked: a notification that failed says
//! why (never the webhook, a secret), an error says each thing once, a pin that cannot move
//! says why, and `-v` says what a scan read and left out.

mod common;

use common::{fixture_copy, git, github_and_slack, remote_and_clone, upkeep};
use std::path::Path;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The secret part of a Slack webhook URL, as Slack issues them.
const WEBHOOK_SECRET: &str = "T0A1B2C3D/B0E4F5G6H/kX9vQ2mZ7rT4pL8sN3wY6uJ1";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = upkeep(dir);
    command
        .args(args)
        .env("XDG_CACHE_HOME", dir.join(".git/test-cache"))
        .env("HOME", dir.join(".git/test-home"))
        .env("UPKEEP_VIRTUAL_CLOCK", "1")
        .env_remove("RUST_LOG")
        .env_remove("GITHUB_TOKEN")
        .env_remove("UPKEEP_CONFIG")
        .env_remove("KUBECONFIG")
        .env_remove("WOODPECKER_SERVER")
        .env_remove("WOODPECKER_TOKEN")
        .env_remove("SLACK_WEBHOOK_URL");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A loopback port where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_notification_says_its_cause_and_never_the_webhook() {
    let github = github_and_slack().await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/services/{WEBHOOK_SECRET}")))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal_error"))
        .mount(&slack)
        .await;
    let refused = format!(
        "http://127.0.0.1:{}/services/{WEBHOOK_SECRET}",
        closed_port()
    );
    let failing = format!("{}/services/{WEBHOOK_SECRET}", slack.uri());
    for (webhook, cause) in [
        (refused.as_str(), "connection refused"),
        (failing.as_str(), "answered 500 Internal Server Error"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (_, clone) = remote_and_clone(dir.path(), |_| {});
        let bump = run(
            &clone,
            &[
                "bump",
                "vaultwarden/server",
                "1.36.0",
                "--ci",
                "none",
                "--verify",
                "none",
            ],
            &[
                ("GITHUB_API_URL", &github.uri()),
                ("SLACK_WEBHOOK_URL", webhook),
            ],
        );
        assert_eq!(
            bump.code, 0,
            "a notification never stops a bump: {}",
            bump.stderr
        );
        let warnings: Vec<&str> = bump
            .stderr
            .lines()
            .filter(|line| line.contains("notification not delivered"))
            .collect();
        assert_eq!(warnings.len(), 2, "start and success: {}", bump.stderr);
        assert!(
            warnings.iter().all(|line| line.contains(cause)),
            "{cause}: {}",
            bump.stderr
        );
        let said = format!("{}{}", bump.stdout, bump.stderr);
        assert!(!said.contains("kX9vQ2mZ7rT4pL8sN3wY6uJ1"), "{said}");
        assert!(!said.contains("/services/"), "{said}");
    }
}

#[test]
fn a_refused_hard_linked_file_says_nothing_was_written_once() {
    let repo = fixture_copy();
    let main_tf = repo.path().join("stacks/vaultwarden/main.tf");
    std::fs::hard_link(&main_tf, repo.path().join("vaultwarden-main.tf.orig")).unwrap();
    let set = run(repo.path(), &["set", "vaultwarden/server", "1.36.0"], &[]);
    assert_eq!(set.code, 2, "{}{}", set.stdout, set.stderr);
    assert!(set.stderr.contains("has 2 hard links"), "{}", set.stderr);
    assert_eq!(
        set.stderr.matches("nothing").count(),
        1,
        "said once: {}",
        set.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bump_refused_by_a_hard_link_says_nothing_was_written_once() {
    let github = github_and_slack().await;
    let dir = tempfile::tempdir().unwrap();
    let (remote, clone) = remote_and_clone(dir.path(), |seed| {
        std::fs::write(seed.join(".gitignore"), "*.orig\n").unwrap();
    });
    std::fs::hard_link(
        clone.join("stacks/vaultwarden/main.tf"),
        clone.join("vaultwarden-main.tf.orig"),
    )
    .unwrap();
    let before = git(&remote, &["rev-parse", "main"]);
    let bump = run(
        &clone,
        &[
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
        ],
        &[("GITHUB_API_URL", &github.uri())],
    );
    assert_eq!(bump.code, 2, "{}{}", bump.stdout, bump.stderr);
    let error = bump
        .stderr
        .lines()
        .find(|line| line.starts_with("upkeep: error: "))
        .unwrap_or_default();
    assert!(error.contains("has 2 hard links"), "{}", bump.stderr);
    assert_eq!(error.matches("nothing").count(), 1, "{error}");
    assert_eq!(git(&remote, &["rev-parse", "main"]), before);
}

#[test]
fn an_unknown_config_key_lists_the_known_keys_once() {
    let dir = tempfile::tempdir().unwrap();
    for (config, known) in [
        ("verify:\n  windows: 10\n", "safe_minutes"),
        ("notifications: {}\n", "db_backed_services"),
    ] {
        std::fs::write(dir.path().join(".upkeep.yaml"), config).unwrap();
        let scan = run(dir.path(), &["scan"], &[]);
        assert_eq!(scan.code, 2, "{}", scan.stderr);
        assert_eq!(
            scan.stderr.matches(known).count(),
            1,
            "the keys are listed once:\n{}",
            scan.stderr
        );
        assert!(scan.stderr.contains(".upkeep.yaml:"), "{}", scan.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_of_a_name_pinned_only_at_latest_says_it_is_latest() {
    let github = github_and_slack().await;
    let repo = fixture_copy();
    common::offline_registries(repo.path());
    let main_tf = repo.path().join("stacks/vaultwarden/main.tf");
    let text = std::fs::read_to_string(&main_tf).unwrap();
    std::fs::write(
        &main_tf,
        text.replace("vaultwarden/server:1.35.4", "vaultwarden/server:latest"),
    )
    .unwrap();
    let plan = run(
        repo.path(),
        &["plan", "vaultwarden/server", "1.35.8"],
        &[("GITHUB_API_URL", &github.uri())],
    );
    assert_eq!(plan.code, 1, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(
            "no pin of `vaultwarden/server` can move to 1.35.8:\n  stacks/vaultwarden/main.tf:"
        ) && plan
            .stdout
            .contains(": at `latest`, which upkeep reports and never bumps; pin a version first"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("needs to move"), "{}", plan.stdout);
}

#[test]
fn verbose_scan_and_lint_say_what_they_read_and_left_out() {
    let repo = fixture_copy();
    std::fs::write(repo.path().join(".upkeepignore"), "stacks/media/\n").unwrap();
    std::fs::write(
        repo.path().join("stacks/vaultwarden/NOTES.md"),
        "admin page\n",
    )
    .unwrap();
    for command in ["scan", "lint"] {
        let quiet = run(repo.path(), &[command], &[]);
        assert!(quiet.stderr.is_empty(), "{command}: {}", quiet.stderr);
        let info = run(repo.path(), &["-v", command], &[]);
        assert!(
            info.stderr.contains("INFO") && info.stderr.contains("files read"),
            "{command} -v: {}",
            info.stderr
        );
        let debug = run(repo.path(), &["-vv", command], &[]);
        for said in [
            "read stacks/vaultwarden/main.tf",
            "left out stacks/media: .gitignore or .upkeepignore",
            "left out stacks/vaultwarden/NOTES.md: not a file type upkeep reads",
        ] {
            assert!(
                debug.stderr.contains(said),
                "{command} -vv: {said}:\n{}",
                debug.stderr
            );
        }
    }
}
