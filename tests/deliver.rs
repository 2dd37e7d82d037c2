//! End-to-end tests of what happens after the push: a local server plays Woodpecker (the
//! pipeline of the pushed commit appears after a few polls), the service, Slack, and the
//! Kubernetes API (reached through a kubeconfig the test writes) with its pods. They answer
//! from what the bare remote holds, as a real
//! CI and cluster would. Waits run on the virtual clock, so a 2-minute verification takes
//! milliseconds.

mod common;

use common::{git, payload, remote_and_clone, slack_messages, upkeep};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What the remote's `main` holds now: its SHA and whether it is a revert.
fn remote_head(remote: &Path) -> (String, bool) {
    let line = git(remote, &["log", "-1", "--format=%H %s", "main"]);
    let (sha, subject) = line.trim().split_once(' ').unwrap();
    (sha.to_owned(), subject.starts_with("Revert"))
}

/// How the fake CI and service behave for an upgrade commit and for a revert.
#[derive(Clone, Copy)]
struct World {
    ci_passes_upgrade: bool,
    ci_passes_revert: bool,
    service_healthy_after_upgrade: bool,
}

/// Woodpecker: no pipeline for the pushed SHA on the first two polls, then running, then
/// the outcome the world says.
struct Pipelines {
    remote: PathBuf,
    world: World,
    polls: Arc<AtomicUsize>,
}

impl Respond for Pipelines {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let poll = self.polls.fetch_add(1, Ordering::SeqCst);
        let (sha, revert) = remote_head(&self.remote);
        let passes = if revert {
            self.world.ci_passes_revert
        } else {
            self.world.ci_passes_upgrade
        };
        let status = match poll % 4 {
            0 | 1 => return ResponseTemplate::new(200).set_body_string(r#"[{"number":41,"status":"success","commit":"0000000000000000000000000000000000000000","event":"push","branch":"main"}]"#),
            2 => "running",
            _ if passes => "success",
            _ => "failure",
        };
        let body = format!(
            r#"[{{"number":42,"status":"{status}","commit":"{sha}","event":"push","branch":"main","author":"ops"}},{{"number":41,"status":"success","commit":"0000000000000000000000000000000000000000","event":"push","branch":"main"}}]"#
        );
        ResponseTemplate::new(200).set_body_string(body)
    }
}

/// The service: healthy before the upgrade and after a revert; after the upgrade as the
/// world says.
struct Service {
    remote: PathBuf,
    world: World,
}

impl Respond for Service {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let (_, revert) = remote_head(&self.remote);
        if revert || self.world.service_healthy_after_upgrade {
            ResponseTemplate::new(200).set_body_string("ok")
        } else {
            ResponseTemplate::new(502).set_body_string("Bad Gateway")
        }
    }
}

/// The Kubernetes API's pod list for vaultwarden: what runs depends on what the remote holds.
struct Pods {
    remote: PathBuf,
    crash_after_upgrade: bool,
}

impl Respond for Pods {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let subject = git(&self.remote, &["log", "-1", "--format=%s", "main"]);
        let list = if self.crash_after_upgrade && subject.starts_with("upgrade") {
            common::cluster::pod_list(
                "vaultwarden",
                &[(
                    "vaultwarden-7c9d5f6b4-q8zrt",
                    false,
                    4,
                    Some("CrashLoopBackOff"),
                )],
            )
        } else {
            common::cluster::pod_list(
                "vaultwarden",
                &[("vaultwarden-6f7d9c8b5-x2kqp", true, 0, None)],
            )
        };
        ResponseTemplate::new(200).set_body_json(list)
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    remote: PathBuf,
    clone: PathBuf,
    bin: PathBuf,
    server: MockServer,
    polls: Arc<AtomicUsize>,
}

async fn setup(world: World, pods_crash_after_upgrade: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    let (remote, clone) = remote_and_clone(dir.path(), |seed| {
        let config = std::fs::read_to_string(seed.join(".upkeep.yaml")).unwrap()
            + &format!(
                "woodpecker:\n  server: {0}\n  repo: homelab/infrastructure\nverify:\n  enabled: true\n  urls: {{ vaultwarden: \"{0}/alive\" }}\n",
                server.uri()
            );
        std::fs::write(seed.join(".upkeep.yaml"), config).unwrap();
    });
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // The cluster: vaultwarden's pods ready, or crash-looping while the upgrade (not a
    // revert) is live.
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/vaultwarden/pods"))
        .respond_with(Pods {
            remote: remote.clone(),
            crash_after_upgrade: pods_crash_after_upgrade,
        })
        .mount(&server)
        .await;
    let releases = payload("vaultwarden-releases.json");
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden/releases"))
        .respond_with(ResponseTemplate::new(200).set_body_string(releases))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/repos/lookup/homelab/infrastructure"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"id":7,"full_name":"homelab/infrastructure","forge_remote_id":"12","active":true}"#,
        ))
        .mount(&server)
        .await;
    let polls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/api/repos/7/pipelines"))
        .respond_with(Pipelines {
            remote: remote.clone(),
            world,
            polls: polls.clone(),
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/alive"))
        .respond_with(Service {
            remote: remote.clone(),
            world,
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/slack/hook"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    Setup {
        _dir: dir,
        remote,
        clone,
        bin,
        server,
        polls,
    }
}

struct Run {
    code: i32,
    report: serde_json::Value,
    stderr: String,
}

fn run_bump(setup: &Setup) -> Run {
    let output = upkeep(&setup.clone)
        .args(["bump", "vaultwarden/server", "1.36.0", "--format", "json"])
        .env(
            "KUBECONFIG",
            common::cluster::kubeconfig(&setup.bin, &setup.server.uri()),
        )
        .env("HOME", setup.bin.join("home"))
        .env("GITHUB_API_URL", setup.server.uri())
        .env("WOODPECKER_TOKEN", "wp-secret-token-123")
        .env(
            "SLACK_WEBHOOK_URL",
            format!("{}/slack/hook", setup.server.uri()),
        )
        .env("UPKEEP_VIRTUAL_CLOCK", "1")
        .env("XDG_CACHE_HOME", setup.clone.join(".git/test-cache"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("UPKEEP_CONFIG")
        .env_remove("WOODPECKER_SERVER")
        .output()
        .expect("run bump");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let report =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("JSON report: {stdout}{stderr}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        report,
        stderr,
    }
}

fn stage<'a>(report: &'a serde_json::Value, name: &str) -> Vec<&'a str> {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == name)
        .map(|s| s["detail"].as_str().unwrap())
        .collect()
}

const HEALTHY: World = World {
    ci_passes_upgrade: true,
    ci_passes_revert: true,
    service_healthy_after_upgrade: true,
};

#[tokio::test(flavor = "multi_thread")]
async fn ci_is_awaited_and_the_service_verified_before_success() {
    let setup = setup(HEALTHY, false).await;
    let run = run_bump(&setup);
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    assert_eq!(run.report["outcome"], "success");
    assert_eq!(stage(&run.report, "ci"), ["pipeline #42 passed"]);
    let verify = stage(&run.report, "verify");
    assert!(
        verify[0].starts_with("Passed after 9 round(s)"),
        "{verify:?}"
    );
    assert!(
        setup.polls.load(Ordering::SeqCst) >= 4,
        "the pipeline appeared after a few polls"
    );
    let messages = slack_messages(&setup.server).await;
    assert!(
        messages
            .last()
            .unwrap()
            .contains("upgraded vaultwarden 1.35.4 -> 1.36.0 (SAFE)"),
        "{messages:?}"
    );
    let requests = setup.server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .filter(|r| r.url.path().starts_with("/api/repos"))
            .all(|r| r.headers["authorization"] == "Bearer wp-secret-token-123")
    );
    assert!(
        !run.stderr.contains("wp-secret-token-123")
            && !run.report.to_string().contains("wp-secret-token-123")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_pipeline_is_rolled_back_with_a_pushed_revert() {
    let setup = setup(
        World {
            ci_passes_upgrade: false,
            ..HEALTHY
        },
        false,
    )
    .await;
    let run = run_bump(&setup);
    assert_eq!(run.code, 1, "{:#}", run.report);
    assert_eq!(run.report["outcome"], "rolled_back");
    let upgrade = run.report["commits"][0]["sha"].as_str().unwrap();
    let (head, revert) = remote_head(&setup.remote);
    assert!(revert, "the revert is pushed");
    assert!(
        git(&setup.remote, &["log", "-1", "--format=%B", &head])
            .contains(&format!("This reverts commit {upgrade}."))
    );
    let messages = slack_messages(&setup.server).await;
    assert!(
        messages
            .iter()
            .any(|m| m.contains("failed: CI") && m.contains("rolled back")),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_verification_is_reverted_reverified_and_reported() {
    let setup = setup(
        World {
            service_healthy_after_upgrade: false,
            ..HEALTHY
        },
        true,
    )
    .await;
    let run = run_bump(&setup);
    assert_eq!(run.code, 1, "{:#}", run.report);
    assert_eq!(run.report["outcome"], "rolled_back");
    let verifications = stage(&run.report, "verify");
    assert_eq!(verifications.len(), 2, "the upgrade, then the revert");
    assert!(
        verifications[0].starts_with("Failed")
            && verifications[0].contains("502")
            && verifications[0].contains("CrashLoopBackOff"),
        "{verifications:?}"
    );
    assert!(verifications[1].starts_with("Passed"), "{verifications:?}");
    assert!(remote_head(&setup.remote).1);
    let messages = slack_messages(&setup.server).await;
    assert!(
        messages
            .last()
            .unwrap()
            .contains("failed: verification failed (http: ")
            && messages.last().unwrap().contains("rolled back with"),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_that_fails_too_is_critical() {
    let setup = setup(
        World {
            ci_passes_upgrade: false,
            ci_passes_revert: false,
            ..HEALTHY
        },
        false,
    )
    .await;
    let run = run_bump(&setup);
    assert_eq!(run.code, 2, "{:#}", run.report);
    assert_eq!(run.report["outcome"], "critical");
    let messages = slack_messages(&setup.server).await;
    assert!(
        messages.last().unwrap().contains("CRITICAL")
            && messages.last().unwrap().contains("rollback failed too"),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_that_cannot_run_is_reported_skipped_not_passed() {
    let setup = setup(HEALTHY, false).await;
    let empty = setup.bin.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = upkeep(&setup.clone)
        .args([
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--format",
            "json",
            "--ci",
            "none",
        ])
        .env("HOME", &empty)
        .env_remove("KUBECONFIG")
        .env("GITHUB_API_URL", setup.server.uri())
        .env("UPKEEP_VIRTUAL_CLOCK", "1")
        .env("XDG_CACHE_HOME", setup.clone.join(".git/test-cache"))
        .env_remove("UPKEEP_CONFIG")
        .env_remove("SLACK_WEBHOOK_URL")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let verify = stage(&report, "verify");
    assert!(verify[0].contains("http: Passed"), "{verify:?}");
    assert!(
        verify[0].contains("pods: Skipped(\"no cluster access"),
        "{verify:?}"
    );
    assert!(stage(&report, "ci").is_empty(), "--ci none");
}

/// A seed edit: the user's own backup settings (`upgrade-config.json` shapes) for vaultwarden,
/// a stack on the shared PostgreSQL whose backup is the CronJob `dbaas/postgresql-backup`.
fn shared_postgres_backup(seed: &Path) {
    let config = std::fs::read_to_string(seed.join(".upkeep.yaml"))
        .unwrap()
        .replace(
            "db_backed_services:\n",
            "db_backed_services:\n  vaultwarden: { type: postgresql, shared: true, database: vaultwarden }\n",
        )
        + "backup_infrastructure:\n  postgresql: { cronjob_name: postgresql-backup, namespace: dbaas }\n  mysql: { cronjob_name: mysql-backup, namespace: dbaas }\n";
    std::fs::write(seed.join(".upkeep.yaml"), config).unwrap();
}

/// A stack as the real ones are written: the ingress comes from a module that turns a bare
/// `host = "headscale"` into `headscale.<domain>`.
fn headscale_stack(seed: &Path) {
    let dir = seed.join("stacks/headscale");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("main.tf"),
        r#"resource "kubernetes_namespace" "headscale" {
  metadata {
    name = "headscale"
  }
}

resource "kubernetes_deployment" "headscale" {
  metadata {
    name      = "headscale"
    namespace = kubernetes_namespace.headscale.metadata[0].name
  }
  spec {
    template {
      spec {
        container {
          name  = "headscale"
          image = "headscale/headscale:0.26.0"
        }
      }
    }
  }
}

module "ingress" {
  source    = "../../modules/ingress"
  name      = "headscale"
  namespace = kubernetes_namespace.headscale.metadata[0].name
  host      = "headscale"
  port      = 8080
}
"#,
    )
    .unwrap();
}

struct Plain {
    _dir: tempfile::TempDir,
    root: PathBuf,
    remote: PathBuf,
    clone: PathBuf,
    server: MockServer,
}

/// A clone (after `edit` of the seed), and one local server playing GitHub, Slack, the
/// Kubernetes API and Prometheus; the caller mounts what the scenario needs.
async fn plain(edit: impl FnOnce(&Path)) -> Plain {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    let (remote, clone) = remote_and_clone(dir.path(), edit);
    git(&clone, &["config", "user.name", "Ops Bot"]);
    git(&clone, &["config", "user.email", "ops@example.org"]);
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden/releases"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(payload("vaultwarden-releases.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/slack/hook"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    Plain {
        root: dir.path().to_owned(),
        _dir: dir,
        remote,
        clone,
        server,
    }
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn report(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|_| panic!("JSON report: {}{}", self.stdout, self.stderr))
    }
}

/// Runs upkeep in the clone with the test server for every service; `kube` writes a
/// kubeconfig pointing at it.
fn run_upkeep(setup: &Plain, args: &[&str], kube: bool, env: &[(&str, &str)]) -> Ran {
    let mut command = upkeep(&setup.clone);
    command
        .args(args)
        .env("GITHUB_API_URL", setup.server.uri())
        .env(
            "SLACK_WEBHOOK_URL",
            format!("{}/slack/hook", setup.server.uri()),
        )
        .env("UPKEEP_VIRTUAL_CLOCK", "1")
        .env("XDG_CACHE_HOME", setup.root.join("cache"))
        .env("HOME", setup.root.join("home"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("UPKEEP_CONFIG")
        .env_remove("WOODPECKER_SERVER")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBECONFIG");
    if kube {
        command.env(
            "KUBECONFIG",
            common::cluster::kubeconfig(&setup.root, &setup.server.uri()),
        );
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run upkeep");
    Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_never_requests_a_url_made_from_a_module_input() {
    let setup = plain(headscale_stack).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/headscale/pods"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(common::cluster::pod_list(
                "headscale",
                &[("headscale-5d8f7c9b6-m4x2q", true, 0, None)],
            )),
        )
        .mount(&setup.server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/apis/networking.k8s.io/v1/namespaces/headscale/ingresses",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(common::cluster::ingress_list("headscale", &[])),
        )
        .mount(&setup.server)
        .await;
    let run = run_upkeep(
        &setup,
        &[
            "bump",
            "headscale/headscale",
            "0.26.1",
            "--ci",
            "none",
            "--verify",
            "on",
            "--format",
            "json",
        ],
        true,
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "success");
    let verify = stage(&report, "verify");
    assert!(
        !verify[0].contains("https://headscale"),
        "no URL is invented from a module input: {verify:?}"
    );
    assert!(verify[0].contains("no URL"), "{verify:?}");
    assert!(verify[0].contains("1 pod(s) ready"), "{verify:?}");
    let messages = slack_messages(&setup.server).await;
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("CRITICAL") || m.contains("rolled back")),
        "{messages:?}"
    );
    assert!(!remote_head(&setup.remote).1, "not reverted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verification_where_no_check_can_run_is_skipped_and_not_rolled_back() {
    let setup = plain(headscale_stack).await;
    let run = run_upkeep(
        &setup,
        &[
            "bump",
            "headscale/headscale",
            "0.26.1",
            "--ci",
            "none",
            "--verify",
            "on",
            "--format",
            "json",
        ],
        false,
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "success");
    let verify = stage(&report, "verify");
    assert!(verify[0].starts_with("Skipped"), "{verify:?}");
    assert!(!remote_head(&setup.remote).1, "not reverted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_db_backed_stack_is_backed_up_by_a_job_from_the_shared_cronjob() {
    let setup = plain(shared_postgres_backup).await;
    let polls = common::cluster::mount_backup(
        &setup.server,
        "dbaas",
        "postgresql-backup",
        common::cluster::JobRun::Succeeds,
    )
    .await;
    let run = run_upkeep(
        &setup,
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
        true,
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let message = git(&setup.remote, &["log", "-1", "--format=%B", "main"]);
    let line = message
        .lines()
        .find(|l| l.starts_with("DB backup: "))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.starts_with("DB backup: yes (job: dbaas/pre-upgrade-vaultwarden-"),
        "{message}"
    );
    assert!(polls.load(Ordering::SeqCst) >= 3, "waited for completion");
    let created =
        common::cluster::requests_to(&setup.server, "/apis/batch/v1/namespaces/dbaas/jobs").await;
    let post: Vec<_> = created
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(post.len(), 1, "one job created");
    let job: serde_json::Value = serde_json::from_slice(&post[0].body).unwrap();
    assert_eq!(
        job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(
        job["metadata"]["ownerReferences"][0]["name"],
        "postgresql-backup"
    );
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "10.0.20.10:5000/infra/db-backup:2026.2.5",
        "the CronJob's jobTemplate"
    );
    let name = job["metadata"]["name"].as_str().unwrap();
    assert!(
        name.starts_with("pre-upgrade-vaultwarden-") && name.len() <= 63,
        "{name}"
    );
    let report = run.report();
    let backup = stage(&report, "backup");
    assert!(
        backup[0].contains("wrote s3://backups/db/vaultwarden"),
        "log tail kept: {backup:?}"
    );
    let auth: Vec<String> = common::cluster::requests_to(&setup.server, "/apis/")
        .await
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert!(
        auth.iter().all(|a| a == "Bearer k8s-secret-token-456"),
        "{auth:?}"
    );
    assert!(
        !run.stdout.contains("k8s-secret-token-456")
            && !run.stderr.contains("k8s-secret-token-456")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_db_backed_stack_that_cannot_be_backed_up_is_refused_unless_no_backup() {
    let setup = plain(shared_postgres_backup).await;
    let before = git(&setup.clone, &["rev-parse", "HEAD"]);
    // No cluster access at all: the backup cannot be made.
    let run = run_upkeep(
        &setup,
        &[
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
        ],
        false,
        &[],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("--no-backup"),
        "says how to go on: {}",
        run.stderr
    );
    assert_eq!(git(&setup.clone, &["rev-parse", "HEAD"]), before);
    assert_eq!(git(&setup.remote, &["rev-parse", "main"]), before);
    assert!(git(&setup.clone, &["status", "--porcelain"]).is_empty());
    let run = run_upkeep(
        &setup,
        &[
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
            "--no-backup",
        ],
        false,
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let message = git(&setup.remote, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains("DB backup: skipped (--no-backup)"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_backup_job_aborts_before_any_edit_and_alerts() {
    let setup = plain(shared_postgres_backup).await;
    common::cluster::mount_backup(
        &setup.server,
        "dbaas",
        "postgresql-backup",
        common::cluster::JobRun::Fails,
    )
    .await;
    let before = git(&setup.clone, &["rev-parse", "HEAD"]);
    let run = run_upkeep(
        &setup,
        &[
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
        ],
        true,
        &[],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("BackoffLimitExceeded") || run.stderr.contains("backoff limit"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("password authentication failed"),
        "the log tail: {}",
        run.stderr
    );
    assert_eq!(git(&setup.clone, &["rev-parse", "HEAD"]), before);
    assert_eq!(git(&setup.remote, &["rev-parse", "main"]), before);
    assert!(git(&setup.clone, &["status", "--porcelain"]).is_empty());
    let messages = slack_messages(&setup.server).await;
    assert!(
        messages.iter().any(|m| m.contains("backup failed")),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_job_that_never_ends_times_out_on_the_clock_and_aborts() {
    let setup = plain(shared_postgres_backup).await;
    common::cluster::mount_backup(
        &setup.server,
        "dbaas",
        "postgresql-backup",
        common::cluster::JobRun::Hangs,
    )
    .await;
    let before = git(&setup.clone, &["rev-parse", "HEAD"]);
    let run = run_upkeep(
        &setup,
        &[
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "none",
        ],
        true,
        &[],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("300 s"), "{}", run.stderr);
    assert_eq!(git(&setup.remote, &["rev-parse", "main"]), before);
    assert!(git(&setup.clone, &["status", "--porcelain"]).is_empty());
}

/// Mounts GitHub's answers for immich (its repository and releases) on `server`.
async fn mount_immich_notes(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich"))
        .respond_with(ResponseTemplate::new(200).set_body_string(payload("immich-repo.json")))
        .mount(server)
        .await;
    let mut releases: Vec<serde_json::Value> =
        serde_json::from_str(&payload("immich-releases-page-1.json")).unwrap();
    releases.extend(
        serde_json::from_str::<Vec<serde_json::Value>>(&payload("immich-releases-page-2.json"))
            .unwrap(),
    );
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich/releases"))
        .respond_with(ResponseTemplate::new(200).set_body_json(releases))
        .mount(server)
        .await;
}

/// Prometheus answering a different list of firing alerts on each request (the last one
/// repeats).
struct AlertsOverTime {
    answers: Vec<serde_json::Value>,
    calls: Arc<AtomicUsize>,
}

impl Respond for AlertsOverTime {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = &self.answers[call.min(self.answers.len() - 1)];
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

fn alerts(firing: &[(&str, &str)]) -> serde_json::Value {
    let alerts: Vec<serde_json::Value> = firing
        .iter()
        .map(|(name, namespace)| {
            serde_json::json!({"labels": {"alertname": name, "namespace": namespace, "severity": "warning"},
                "annotations": {"summary": "firing"}, "state": "firing",
                "activeAt": "2026-11-21T09:02:00Z", "value": "1e+00"})
        })
        .collect();
    serde_json::json!({"status": "success", "data": {"alerts": alerts}})
}

/// A seed edit: Prometheus at the test server, and a soak time.
fn with_gates(server: String, soak_minutes: u64) -> impl FnOnce(&Path) {
    move |seed: &Path| {
        let config = std::fs::read_to_string(seed.join(".upkeep.yaml")).unwrap()
            + &format!("gates:\n  prometheus_url: {server}\n  soak_minutes: {soak_minutes}\n");
        std::fs::write(seed.join(".upkeep.yaml"), config).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_firing_alert_gates_the_bump_with_nothing_changed() {
    let prometheus = MockServer::start().await;
    common::cluster::mount_alerts(
        &prometheus,
        &[("Watchdog", None), ("KubePodCrashLooping", Some("immich"))],
    )
    .await;
    let setup = plain(with_gates(prometheus.uri(), 0)).await;
    let before = git(&setup.clone, &["rev-parse", "HEAD"]);
    let run = run_upkeep(
        &setup,
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
        false,
        &[],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "gated");
    assert_eq!(
        report["gated"],
        serde_json::json!(["firing alerts: KubePodCrashLooping (immich)"]),
        "Watchdog is ignored"
    );
    assert!(
        run.stderr
            .contains("gated: firing alerts: KubePodCrashLooping (immich)"),
        "{}",
        run.stderr
    );
    assert_eq!(git(&setup.clone, &["rev-parse", "HEAD"]), before);
    assert_eq!(git(&setup.remote, &["rev-parse", "main"]), before);
    assert!(
        slack_messages(&setup.server).await.is_empty(),
        "nothing started"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_ignored_alerts_firing_let_the_bump_through() {
    let prometheus = MockServer::start().await;
    common::cluster::mount_alerts(
        &prometheus,
        &[
            ("Watchdog", None),
            ("RebootRequired", None),
            ("InfoInhibitor", None),
        ],
    )
    .await;
    let setup = plain(with_gates(prometheus.uri(), 0)).await;
    let run = run_upkeep(
        &setup,
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
        false,
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(stage(&run.report(), "gates"), ["open"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_upgraded_within_its_soak_time_is_gated() {
    let prometheus = MockServer::start().await;
    common::cluster::mount_alerts(&prometheus, &[]).await;
    let setup = plain(with_gates(prometheus.uri(), 60)).await;
    let args = |version: &'static str| -> Vec<&'static str> {
        vec![
            "bump",
            "vaultwarden/server",
            version,
            "--ci",
            "none",
            "--verify",
            "none",
            "--format",
            "json",
        ]
    };
    let first = run_upkeep(&setup, &args("1.35.5"), false, &[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let second = run_upkeep(&setup, &args("1.36.0"), false, &[]);
    assert_eq!(second.code, 1, "{}{}", second.stdout, second.stderr);
    let report = second.report();
    assert_eq!(report["outcome"], "gated");
    let why = report["gated"][0].as_str().unwrap();
    assert!(
        why.starts_with("soak: ") && why.contains("upgrade: vaultwarden 1.35.4 -> 1.35.5"),
        "{why}"
    );
    assert_eq!(
        git(&setup.remote, &["log", "-1", "--format=%s", "main"]).trim(),
        "upgrade: vaultwarden 1.35.4 -> 1.35.5"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_alert_for_the_namespace_during_verification_fails_it() {
    let prometheus = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/api/v1/alerts"))
        .respond_with(AlertsOverTime {
            // The gate and the verification's baseline see a quiet cluster (Watchdog always
            // fires); then the upgraded service starts failing its probes, and a job of
            // another namespace fails. After the revert it is quiet again.
            answers: vec![
                alerts(&[("Watchdog", "monitoring")]),
                alerts(&[("Watchdog", "monitoring")]),
                alerts(&[
                    ("Watchdog", "monitoring"),
                    ("KubeDeploymentReplicasMismatch", "vaultwarden"),
                    ("KubeJobFailed", "media"),
                ]),
                alerts(&[
                    ("Watchdog", "monitoring"),
                    ("KubeDeploymentReplicasMismatch", "vaultwarden"),
                    ("KubeJobFailed", "media"),
                ]),
                alerts(&[("Watchdog", "monitoring")]),
            ],
            calls: calls.clone(),
        })
        .mount(&prometheus)
        .await;
    let setup = plain(with_gates(prometheus.uri(), 0)).await;
    Mock::given(method("GET"))
        .and(path("/alive"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&setup.server)
        .await;
    append_config(
        &setup,
        &format!(
            "verify:\n  urls: {{ vaultwarden: \"{}/alive\" }}\n",
            setup.server.uri()
        ),
    );
    let run = run_upkeep(
        &setup,
        &[
            "bump",
            "vaultwarden/server",
            "1.36.0",
            "--ci",
            "none",
            "--verify",
            "on",
            "--format",
            "json",
        ],
        false,
        &[],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "rolled_back");
    let verify = stage(&report, "verify");
    assert!(
        verify[0].starts_with("Failed")
            && verify[0]
                .contains("new alert(s) firing in vaultwarden: KubeDeploymentReplicasMismatch"),
        "{verify:?}"
    );
    assert!(
        !verify[0].contains("KubeJobFailed"),
        "alerts of other namespaces do not count"
    );
}

/// Appends `text` to the clone's config, commits and pushes it, as an operator would.
fn append_config(setup: &Plain, text: &str) {
    let file = setup.clone.join(".upkeep.yaml");
    let config = std::fs::read_to_string(&file).unwrap() + text;
    std::fs::write(&file, config).unwrap();
    git(&setup.clone, &["commit", "-q", "-am", "upkeep settings"]);
    git(&setup.clone, &["push", "-q", "origin", "main"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_upgrade_that_ran_migrations_is_held_not_reverted() {
    let setup = plain(|_| {}).await;
    mount_immich_notes(&setup.server).await;
    common::cluster::mount_backup(
        &setup.server,
        "immich",
        "immich-db-backup",
        common::cluster::JobRun::Succeeds,
    )
    .await;
    Mock::given(method("GET"))
        .and(path(
            "/apis/networking.k8s.io/v1/namespaces/immich/ingresses",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(common::cluster::ingress_list("immich", &[])),
        )
        .mount(&setup.server)
        .await;
    let run = run_upkeep(
        &setup,
        &[
            "bump",
            "ghcr.io/immich-app/immich-server",
            "v2.8.1",
            "--ci",
            "none",
            "--verify",
            "on",
            "--format",
            "json",
        ],
        true,
        &[],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "held");
    let (head, revert) = remote_head(&setup.remote);
    assert!(!revert, "no blind revert");
    let message = git(&setup.remote, &["log", "-1", "--format=%B", &head]);
    assert!(
        message.contains("Rollback: may not be safe: migrations in v2.8.0"),
        "{message}"
    );
    assert!(
        message.contains("DB backup: yes (job: immich/pre-upgrade-immich-"),
        "{message}"
    );
    let messages = slack_messages(&setup.server).await;
    let critical = messages.last().unwrap();
    assert!(
        critical.contains("CRITICAL")
            && critical.contains("backup Job immich/pre-upgrade-immich-")
            && critical.contains("is not ready"),
        "names the backup and the failing check: {messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_says_exactly_which_backup_will_be_made_and_makes_none() {
    let setup = plain(shared_postgres_backup).await;
    common::cluster::mount_backup(
        &setup.server,
        "dbaas",
        "postgresql-backup",
        common::cluster::JobRun::Succeeds,
    )
    .await;
    let run = run_upkeep(
        &setup,
        &["bump", "vaultwarden/server", "1.36.0", "--dry-run"],
        true,
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for line in [
        "Preflight:",
        "  git        ok      `origin` answers, main at ",
        "  backup     ok      yes (a Job from CronJob dbaas/postgresql-backup)",
        "DB backup: yes (a Job from CronJob dbaas/postgresql-backup)",
        "  DB backup: yes (a Job from CronJob dbaas/postgresql-backup)",
        "dry run: nothing was written, committed or pushed",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    let created =
        common::cluster::requests_to(&setup.server, "/apis/batch/v1/namespaces/dbaas/jobs").await;
    assert!(created.is_empty(), "no Job in a dry run");
    let plan = run_upkeep(
        &setup,
        &["plan", "vaultwarden/server", "1.36.0"],
        false,
        &[],
    );
    assert!(
        plan.stdout
            .contains("DB backup: yes (a Job from CronJob dbaas/postgresql-backup)"),
        "plan says the same: {}",
        plan.stdout
    );
}
