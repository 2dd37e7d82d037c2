//! Bumps that Terraform would not roll out: a `lifecycle { ignore_changes }` covers the image
//! (Keel updates it in the cluster). `plan` flags every such place, in the report, the JSON
//! and the commit's `Flagged for manual review:`; `bump` refuses when nothing it moves would
//! roll out (unless `--even-if-ignored`), and says which places are ignored when only some
//! are. Real git repositories with a bare remote, a local server playing GitHub and Slack.

mod common;

use common::{fixture_copy, git, github_and_slack, offline_registries, remote_and_clone, upkeep};
use std::path::{Path, PathBuf};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Home Assistant as the fixture pins it (Terraform ignores its image) and the release after.
const HOME_ASSISTANT: &str = "ghcr.io/home-assistant/home-assistant";
const NEXT_HOME_ASSISTANT: &str = "2025.11.4";

/// A stack whose one tag feeds an init container Terraform updates and a main container Keel
/// updates (only `container[0].image` is ignored), as a migration init container needs.
const MEALIE_TF: &str = r#"locals {
  image     = "ghcr.io/mealie-recipes/mealie"
  image_tag = "v2.8.0"
}

resource "kubernetes_deployment" "mealie" {
  metadata {
    name      = "mealie"
    namespace = "mealie"
  }
  spec {
    selector {
      match_labels = { app = "mealie" }
    }
    template {
      metadata {
        labels = { app = "mealie" }
      }
      spec {
        init_container {
          name    = "migrate"
          image   = "${local.image}:${local.image_tag}"
          command = ["python", "-m", "mealie.db.init_db"]
        }
        container {
          name  = "mealie"
          image = "${local.image}:${local.image_tag}"
        }
      }
    }
  }
  lifecycle {
    ignore_changes = [
      spec[0].template[0].spec[0].container[0].image, # Keel moves the main container
    ]
  }
}
"#;

/// The seed's config gains where Home Assistant's notes are.
fn with_home_assistant_notes(seed: &Path) {
    let config = seed.join(".upkeep.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "github_repo_overrides:\n",
            "github_repo_overrides:\n  ghcr.io/home-assistant/home-assistant: home-assistant/core\n",
        ),
    )
    .unwrap();
    let mealie = seed.join("stacks/mealie");
    std::fs::create_dir_all(&mealie).unwrap();
    std::fs::write(mealie.join("main.tf"), MEALIE_TF).unwrap();
}

/// GitHub and Slack, with Home Assistant's repository and its patch release.
async fn server() -> MockServer {
    let server = github_and_slack().await;
    Mock::given(method("GET"))
        .and(path("/repos/home-assistant/core"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"full_name":"home-assistant/core","default_branch":"dev"}"#),
        )
        .mount(&server)
        .await;
    let releases = serde_json::json!([{
        "tag_name": "2025.11.4",
        "name": "2025.11.4",
        "draft": false,
        "prerelease": false,
        "published_at": "2025-12-05T19:02:11Z",
        "html_url": "https://github.com/home-assistant/core/releases/tag/2025.11.4",
        "body": "- Fix Z-Wave lock state after a restart (@zwave-dev - #157201)\n- Bump aiohomekit to 3.2.20 (@hk-dev - #157233)\n- Handle a missing forecast in the Met.no integration (@met-dev - #157250)\n"
    }]);
    Mock::given(method("GET"))
        .and(path("/repos/home-assistant/core/releases"))
        .respond_with(ResponseTemplate::new(200).set_body_string(releases.to_string()))
        .mount(&server)
        .await;
    server
}

struct Repos {
    _dir: tempfile::TempDir,
    remote: PathBuf,
    clone: PathBuf,
}

fn repos() -> Repos {
    let dir = tempfile::tempdir().unwrap();
    let (remote, clone) = remote_and_clone(dir.path(), with_home_assistant_notes);
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
        .env_remove("KUBERNETES_SERVICE_HOST")
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

/// The Slack messages the server received.
async fn slack(server: &MockServer) -> Vec<String> {
    common::slack_messages(server).await
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_flags_an_image_terraform_ignores_in_report_json_and_commit() {
    let server = server().await;
    let repo = fixture_copy();
    with_home_assistant_notes(repo.path());
    offline_registries(repo.path());
    let json = run(
        &server,
        repo.path(),
        &[
            "plan",
            HOME_ASSISTANT,
            NEXT_HOME_ASSISTANT,
            "--format",
            "json",
        ],
    );
    assert_eq!(json.code, 0, "{}{}", json.stdout, json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["rolls_out"], false, "{}", json.stdout);
    let ignored = report["ignored_by_terraform"].as_array().unwrap();
    assert_eq!(ignored.len(), 1, "{}", json.stdout);
    assert_eq!(ignored[0]["file"], "stacks/home-assistant/main.tf");
    assert_eq!(ignored[0]["line"], 19);
    assert_eq!(
        ignored[0]["reference"],
        "ghcr.io/home-assistant/home-assistant:2025.11.3"
    );
    let message = report["commit_message"].as_str().unwrap();
    assert!(
        message.contains(
            "Flagged for manual review: stacks/home-assistant/main.tf:19:19: lifecycle.ignore_changes covers ghcr.io/home-assistant/home-assistant:2025.11.3; Terraform will not roll it out"
        ),
        "{message}"
    );

    let human = run(
        &server,
        repo.path(),
        &["plan", HOME_ASSISTANT, NEXT_HOME_ASSISTANT],
    );
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human.stdout.contains(
            "Terraform will not roll this out: lifecycle.ignore_changes covers every place it moves"
        ),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(
            "  stacks/home-assistant/main.tf:19:19: ghcr.io/home-assistant/home-assistant:2025.11.3"
        ),
        "{}",
        human.stdout
    );

    // A pin Terraform rolls out is not flagged.
    let vaultwarden = run(
        &server,
        repo.path(),
        &["plan", "vaultwarden/server", "1.36.0", "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_str(&vaultwarden.stdout).unwrap();
    assert_eq!(report["rolls_out"], true);
    assert_eq!(report["ignored_by_terraform"], serde_json::json!([]));
    assert!(
        report["commit_message"]
            .as_str()
            .unwrap()
            .contains("Flagged for manual review: none")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_refuses_when_terraform_ignores_every_pin_it_moves() {
    let server = server().await;
    let repos = repos();
    let before = git(&repos.remote, &["rev-parse", "main"]);
    let refused = run(
        &server,
        &repos.clone,
        &[
            "bump",
            HOME_ASSISTANT,
            NEXT_HOME_ASSISTANT,
            "--ci",
            "none",
            "--verify",
            "none",
        ],
    );
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        said.contains("Terraform will not roll it out")
            && said.contains("stacks/home-assistant/main.tf:19:19")
            && said.contains("--even-if-ignored")
            && said.contains("nothing was changed"),
        "{said}"
    );
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]), before);
    assert_eq!(git(&repos.clone, &["rev-parse", "HEAD"]), before);
    assert!(git(&repos.clone, &["status", "--porcelain"]).is_empty());
    assert!(slack(&server).await.is_empty(), "nothing started");

    // The dry run says the same and writes nothing.
    let dry = run(
        &server,
        &repos.clone,
        &["bump", HOME_ASSISTANT, NEXT_HOME_ASSISTANT, "--dry-run"],
    );
    assert_eq!(dry.code, 1, "{}{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout.contains(
            "dry run: Terraform ignores every place this moves; a bump would stop before any change (--even-if-ignored to commit it anyway)"
        ),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains(
            "lifecycle.ignore_changes covers ghcr.io/home-assistant/home-assistant:2025.11.3"
        ),
        "{}",
        dry.stdout
    );
    assert!(git(&repos.clone, &["status", "--porcelain"]).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_even_if_ignored_commits_flags_it_and_skips_verification() {
    let server = server().await;
    let repos = repos();
    // Verification is asked for and no cluster is configured: it would fail the preflight,
    // but with nothing rolling out there is nothing to verify.
    let done = run(
        &server,
        &repos.clone,
        &[
            "bump",
            HOME_ASSISTANT,
            NEXT_HOME_ASSISTANT,
            "--ci",
            "none",
            "--verify",
            "on",
            "--even-if-ignored",
            "--format",
            "json",
        ],
    );
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    let report: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(report["outcome"], "success");
    assert_eq!(report["rolls_out"], false);
    let kubernetes = report["preflight"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "kubernetes")
        .unwrap();
    assert_eq!(kubernetes["result"], "skipped", "{kubernetes}");
    assert!(
        kubernetes["detail"]
            .as_str()
            .unwrap()
            .contains("Terraform ignores every place this moves"),
        "{kubernetes}"
    );
    let sha = report["commits"][0]["sha"].as_str().unwrap();
    assert_eq!(git(&repos.remote, &["rev-parse", "main"]).trim(), sha);
    let message = git(&repos.remote, &["log", "-1", "--format=%B", sha]);
    assert!(
        message.contains("Flagged for manual review: stacks/home-assistant/main.tf:19:19: lifecycle.ignore_changes covers ghcr.io/home-assistant/home-assistant:2025.11.3; Terraform will not roll it out"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_says_which_places_terraform_ignores_when_only_some_are() {
    let server = server().await;
    let repos = repos();
    let done = run(
        &server,
        &repos.clone,
        &[
            "bump",
            "ghcr.io/mealie-recipes/mealie",
            "v2.8.1",
            "--ci",
            "none",
            "--verify",
            "none",
        ],
    );
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    assert!(
        done.stdout.contains(
            "warning: Terraform will not roll out 1 of 2 place(s) this moves (lifecycle.ignore_changes): stacks/mealie/main.tf:27:19"
        ),
        "{}",
        done.stdout
    );
    let message = git(&repos.remote, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains("Flagged for manual review: stacks/mealie/main.tf:27:19: lifecycle.ignore_changes covers ghcr.io/mealie-recipes/mealie:v2.8.0; Terraform will not roll it out"),
        "{message}"
    );
    assert!(
        message.starts_with("upgrade: mealie v2.8.0 -> v2.8.1"),
        "{message}"
    );
}
