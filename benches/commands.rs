//! Whole-process benchmarks of the `upkeep` binary, one per target of issue 16 that a library
//! bench cannot show (start-up, output, the command's own checks):
//!
//! - `process/scan-empty-folder`: start-up and an empty scan (target: at most 5 ms);
//! - `process/scan-4mb`, `process/scan-strict-4mb`, `process/set-4mb`: `set` moving one image
//!   across the 4 MB corpus (a fresh copy each time) against the strict scan it starts with
//!   (target: set at most 1.3 times scan --strict);
//! - `process/bump-safe-local`: a SAFE bump committed and pushed to a local bare remote,
//!   `--ci none --verify none`, release notes and Slack served by a local server (target: at
//!   most 30 ms).
//!
//! `scan` against ripgrep is `scripts/bench-vs-rg DIR`; peak memory is in the README.

#![allow(clippy::print_stderr)] // a benchmark reports what it built

mod corpus;

use corpus::{corpus, workspace};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test, built with the bench profile.
fn upkeep() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_upkeep"));
    command
        .env_remove("UPKEEP_CONFIG")
        .env_remove("GITHUB_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `command` and fails the bench when it exits with a code not in `ok`.
fn run(command: &mut Command, ok: &[i32]) -> Output {
    let output = command.output().expect("upkeep runs");
    assert!(
        output.status.code().is_some_and(|code| ok.contains(&code)),
        "{command:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn bench_scan_and_set(c: &mut Criterion) {
    let empty = tempfile::tempdir().expect("temp dir");
    let (dir, _, files) = corpus("4mb", 13, 16);
    eprintln!("4 MB corpus: {files} files at {}", dir.display());
    let mut group = c.benchmark_group("process");
    group.sample_size(30);
    group.bench_function("scan-empty-folder", |b| {
        b.iter(|| run(upkeep().arg("scan").arg(empty.path()), &[0]))
    });
    group.sample_size(20);
    group.bench_function("scan-4mb", |b| {
        b.iter(|| run(upkeep().args(["scan", "--format", "json"]).arg(&dir), &[0]))
    });
    group.bench_function("scan-strict-4mb", |b| {
        let args = ["scan", "--strict", "--format", "json"];
        b.iter(|| run(upkeep().args(args).arg(&dir), &[0]))
    });
    group.bench_function("set-4mb", |b| {
        b.iter_batched(
            || {
                let copy = tempfile::tempdir().expect("temp dir");
                copy_dir(&dir, copy.path());
                copy
            },
            |copy| {
                let args = ["set", "vaultwarden/server", "1.36.0", "--path"];
                run(upkeep().args(args).arg(copy.path()), &[0]);
                copy
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Answers GitHub's release requests for vaultwarden and Slack's webhook, as the end-to-end
/// tests' server does, one request per connection.
fn serve_github_and_slack() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let releases =
        std::fs::read_to_string(workspace().join("fixtures/github/vaultwarden-releases.json"))
            .expect("release payload");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split('?').next().unwrap_or(path);
            let (status, body) = match path {
                "/repos/dani-garcia/vaultwarden" => (
                    "200 OK",
                    r#"{"full_name":"dani-garcia/vaultwarden"}"#.to_owned(),
                ),
                "/repos/dani-garcia/vaultwarden/releases" => ("200 OK", releases.clone()),
                "/slack/hook" => ("200 OK", "ok".to_owned()),
                _ => ("404 Not Found", r#"{"message":"Not Found"}"#.to_owned()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ops Bot")
        .env("GIT_AUTHOR_EMAIL", "ops@example.org")
        .env("GIT_COMMITTER_NAME", "Ops Bot")
        .env("GIT_COMMITTER_EMAIL", "ops@example.org")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {output:?}");
}

/// A bare repository holding the fixtures on `main`, made once and copied for each run.
fn pristine_remote(dir: &Path) -> PathBuf {
    let seed = dir.join("seed");
    let remote = dir.join("remote.git");
    copy_dir(&workspace().join("fixtures/homelab"), &seed);
    git(dir, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
    git(&seed, &["init", "-q", "-b", "main"]);
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "infrastructure"]);
    git(
        &seed,
        &["push", "-q", remote.to_str().expect("utf-8"), "main"],
    );
    remote
}

fn bench_bump(c: &mut Criterion) {
    let server = serve_github_and_slack();
    let work = tempfile::tempdir().expect("temp dir");
    let pristine = pristine_remote(work.path());
    let mut group = c.benchmark_group("process");
    group.sample_size(20);
    group.bench_function("bump-safe-local", |b| {
        b.iter_batched(
            || {
                let run = tempfile::tempdir().expect("temp dir");
                let remote = run.path().join("remote.git");
                copy_dir(&pristine, &remote);
                let remote = remote.to_str().expect("utf-8").to_owned();
                git(run.path(), &["clone", "-q", &remote, "clone"]);
                let clone = run.path().join("clone");
                git(&clone, &["config", "user.name", "Ops Bot"]);
                git(&clone, &["config", "user.email", "ops@example.org"]);
                (run, clone)
            },
            |(run, clone)| {
                let args = ["bump", "vaultwarden/server", "1.36.0", "--ci", "none"];
                run_bump(
                    upkeep().args(args).args(["--verify", "none"]),
                    &clone,
                    &server,
                );
                run
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn run_bump(command: &mut Command, clone: &Path, server: &str) {
    command
        .current_dir(clone)
        .env("GITHUB_API_URL", server)
        .env("SLACK_WEBHOOK_URL", format!("{server}/slack/hook"))
        .env("XDG_CACHE_HOME", clone.join(".git/bench-cache"));
    run(command, &[0]);
}

criterion_group!(benches, bench_scan_and_set, bench_bump);
criterion_main!(benches);
