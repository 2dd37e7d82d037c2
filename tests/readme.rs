//! The README's examples are run, so that its output cannot drift from the binary's:
//!
//! - every ```` ```console ```` block by trycmd, from the repository root (`...` stands for
//!   any lines, `[..]` for the rest of a line; after a reviewed change of output,
//!   `TRYCMD=overwrite cargo test -p upkeep --test readme` rewrites the blocks);
//! - the `plan` example, which needs GitHub, against the reviewed snapshot of the test that
//!   serves GitHub's API locally;
//! - the `bump` example against a real bump of a clone with a bare remote;
//! - the Dockerfile's image name is the one the README's examples run.

mod common;

use std::path::PathBuf;

/// The repository root.
fn root() -> PathBuf {
    common::repo_root().canonicalize().expect("repository root")
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The text of the first fenced block of language `lang` whose first line starts with
/// `first`, without its fences.
fn block(readme: &str, lang: &str, first: &str) -> String {
    let fence = format!("```{lang}\n");
    let mut rest = readme;
    while let Some(at) = rest.find(&fence) {
        let body = &rest[at + fence.len()..];
        let end = body.find("\n```").expect("a closed block");
        if body.starts_with(first) {
            return body[..=end].to_owned();
        }
        rest = &body[end..];
    }
    panic!("README has no ```{lang} block starting with {first:?}");
}

#[test]
fn console_examples_print_what_the_readme_shows() {
    // trycmd runs each command in the current directory: the README's paths start at the
    // repository root. This is the only test here that depends on the current directory.
    std::env::set_current_dir(root()).expect("cd to the repository root");
    trycmd::TestCases::new()
        .register_bin("upkeep", std::path::Path::new(env!("CARGO_BIN_EXE_upkeep")))
        .env("NO_COLOR", "1")
        .case(root().join("README.md"));
}

#[test]
fn the_plan_example_is_the_reviewed_snapshot() {
    let example = block(&readme(), "text", "$ upkeep plan ");
    let shown = example.split_once('\n').expect("a command line").1;
    let snapshot =
        std::fs::read_to_string(root().join("tests/snapshots/plan__plan_immich_human.snap"))
            .expect("the plan snapshot");
    // An insta snapshot: a `---` header, then the output.
    let output = snapshot.splitn(3, "---\n").nth(2).expect("snapshot body");
    // The README's editor strips trailing spaces, and an indented `...` reads better there.
    let tidy = |text: &str| -> String {
        text.lines()
            .map(|line| match line.trim() {
                "..." => "...",
                _ => line.trim_end(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    snapbox::assert_data_eq!(tidy(output), snapbox::Data::text(tidy(shown)));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bump_example_is_what_a_bump_prints() {
    let example = block(&readme(), "text", "$ upkeep bump ");
    let (command, shown) = example.split_once('\n').expect("a command line");
    let args: Vec<&str> = command
        .trim_start_matches("$ upkeep ")
        .split_whitespace()
        .collect();
    let server = common::github_and_slack().await;
    let dir = tempfile::tempdir().unwrap();
    let (_remote, clone) = common::remote_and_clone(dir.path(), |_| {});
    common::git(&clone, &["config", "user.name", "Ops Bot"]);
    common::git(&clone, &["config", "user.email", "ops@example.org"]);
    let output = common::upkeep(&clone)
        .args(&args)
        .env("GITHUB_API_URL", server.uri())
        .env_remove("SLACK_WEBHOOK_URL")
        .env("XDG_CACHE_HOME", clone.join(".git/test-cache"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("UPKEEP_CONFIG")
        .output()
        .expect("bump runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    snapbox::assert_data_eq!(printed, snapbox::Data::text(shown.to_owned()));
}

#[test]
fn the_readme_runs_the_image_the_dockerfile_builds() {
    let readme = readme();
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let image = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("# image: "))
        .expect("the Dockerfile names its image in a `# image:` comment")
        .trim();
    assert!(
        image.ends_with(&format!(":{}", env!("CARGO_PKG_VERSION"))),
        "{image} is tagged with the package version"
    );
    let uses = readme.matches(image).count();
    assert!(
        uses >= 3,
        "the plugin, cron and Deployment examples run {image}; found {uses}"
    );
    assert!(
        !readme.contains("example.invalid"),
        "no placeholder URLs in the README"
    );
}
