//! End-to-end tests of the command line's manners: how much it logs (`-q`, `-v`,
//! `RUST_LOG`), no escape codes where no terminal reads them, each error printed once,
//! config errors that name their file, and Woodpecker's boolean settings.

mod common;

use common::{fixtures, upkeep};
use std::path::Path;

/// Standard error of `upkeep ARGS` run in `dir` with `env` set (and the variables that
/// would change what it does removed).
fn stderr_of(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = upkeep(dir);
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("UPKEEP_CONFIG")
        .env_remove("PLUGIN_PATH")
        .env_remove("PLUGIN_FORMAT")
        .env_remove("PLUGIN_STRICT")
        .env_remove("GITHUB_TOKEN");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("runs");
    (
        output.status.code(),
        String::from_utf8(output.stderr).expect("utf-8"),
    )
}

/// A loopback URL where nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn offline_plan_prints_its_error_once() {
    let cache = tempfile::tempdir().unwrap();
    let url = closed_port_url();
    let (code, stderr) = stderr_of(
        &fixtures(),
        &[
            "plan",
            "vaultwarden/server",
            "1.36.0",
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ],
        &[("GITHUB_API_URL", &url)],
    );
    assert_eq!(code, Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error, printed once:\n{stderr}");
    assert!(lines[0].starts_with("upkeep: error: "), "{stderr}");
    assert!(lines[0].contains(&url), "the error says where: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_carry_no_escape_codes_when_stderr_is_not_a_terminal() {
    let github = common::github_and_slack().await;
    let url = github.uri();
    for rust_log in [Some("debug"), None] {
        let mut env = vec![("GITHUB_API_URL", url.as_str())];
        env.extend(rust_log.map(|filter| ("RUST_LOG", filter)));
        let (code, stderr) = stderr_of(
            &fixtures(),
            &["-vv", "plan", "vaultwarden/server", "1.36.0", "--no-cache"],
            &env,
        );
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.contains("DEBUG"), "-vv logs debug lines:\n{stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "no ANSI escapes in a pipe:\n{stderr:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_and_verbose_choose_the_log_level_and_win_over_rust_log() {
    let github = common::github_and_slack().await;
    let url = github.uri();
    let plan = ["plan", "vaultwarden/server", "1.36.0", "--no-cache"];
    let with = |flags: &[&str], rust_log: Option<&str>| {
        let mut args: Vec<&str> = flags.to_vec();
        args.extend(plan);
        let mut env = vec![("GITHUB_API_URL", url.as_str())];
        env.extend(rust_log.map(|filter| ("RUST_LOG", filter)));
        let (code, stderr) = stderr_of(&fixtures(), &args, &env);
        assert_eq!(code, Some(0), "{flags:?}: {stderr}");
        stderr
    };
    let default = with(&[], None);
    assert!(
        !default.contains("DEBUG") && !default.contains("INFO"),
        "{default}"
    );
    let verbose = with(&["-vv"], None);
    assert!(verbose.contains("DEBUG"), "{verbose}");
    let from_env = with(&[], Some("debug"));
    assert!(
        from_env.contains("DEBUG"),
        "RUST_LOG applies without flags: {from_env}"
    );
    let quiet = with(&["--quiet"], Some("debug"));
    assert_eq!(quiet, "", "--quiet wins over RUST_LOG");
    let (code, stderr) = stderr_of(&fixtures(), &["-q", "-v", "scan"], &[]);
    assert_eq!(code, Some(2), "-q and -v contradict each other: {stderr}");
}

#[test]
fn config_errors_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".upkeep.yaml"),
        "lint:\n  disabled: [latest-tag]\n",
    )
    .unwrap();
    for args in [&["lint"][..], &["scan"], &["config", "check"]] {
        let (code, stderr) = stderr_of(dir.path(), args, &[]);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("<input>"), "{args:?}: {stderr}");
        assert!(
            stderr.contains(".upkeep.yaml:2:3: unknown field `disabled`"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("2 |   disabled: [latest-tag]"), "{stderr}");
    }
}

#[test]
fn plugin_strict_accepts_the_booleans_woodpecker_users_write() {
    // A syntax error where no pin can be: only a strict lint reports it.
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stacks/app");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("main.tf"),
        "resource \"kubernetes_service\" \"app\" {\n  spec {\n    port = = 80\n  }\n}\n",
    )
    .unwrap();
    let strict = |value: &str| {
        let output = upkeep(dir.path())
            .args(["lint", "--format", "json"])
            .env_remove("UPKEEP_CONFIG")
            .env_remove("PLUGIN_PATH")
            .env_remove("PLUGIN_FORMAT")
            .env("PLUGIN_STRICT", value)
            .output()
            .unwrap();
        assert_ne!(
            output.status.code(),
            Some(2),
            "PLUGIN_STRICT={value}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("parse-error")
    };
    for yes in ["true", "yes", "1", "on", "TRUE"] {
        assert!(strict(yes), "PLUGIN_STRICT={yes} lints strictly");
    }
    for no in ["false", "no", "0", "off"] {
        assert!(!strict(no), "PLUGIN_STRICT={no} does not");
    }
}
