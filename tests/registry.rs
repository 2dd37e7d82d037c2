//! `upkeep outdated` against a real registry: Debian's `docker-registry` (the CNCF
//! distribution registry) started on loopback with htpasswd authentication, images and an
//! OCI Helm chart pushed to it over the registry API, and credentials read from a Docker
//! `config.json`.
//!
//! This registry (distribution 2.8) answers a tag list in one page whatever `n` asks;
//! pagination is proven against the mock in `tests/outdated.rs`, with Docker Hub's headers.
//!
//! `.ci/run` installs the registry and sets `UPKEEP_REQUIRE_REGISTRY=1`, so there a missing
//! binary fails the test; elsewhere the test says it is skipped.

mod common;

use common::upkeep;
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "upkeep-ci";
const PASSWORD: &str = "pull-only-test-password";
/// bcrypt of `PASSWORD`, as `htpasswd -B` writes it.
const HTPASSWD_HASH: &str = "$2b$05$1CWwVWc0ivD9dh0HFa4EduaVUvA7jOu5.w8COBblXZj6Z6YaMF39m";
/// base64 of `USER:PASSWORD`, as `docker login` writes it.
const DOCKER_AUTH: &str = "dXBrZWVwLWNpOnB1bGwtb25seS10ZXN0LXBhc3N3b3Jk";

/// The registry process; killed when dropped.
struct Registry {
    child: Child,
    address: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[expect(
    clippy::print_stderr,
    reason = "a skipped test must say so where cargo test shows it"
)]
fn registry_binary() -> Option<PathBuf> {
    let path = std::env::var_os("UPKEEP_DOCKER_REGISTRY")
        .map_or_else(|| PathBuf::from("/usr/bin/docker-registry"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("UPKEEP_REQUIRE_REGISTRY").as_deref() != Ok("1"),
        "UPKEEP_REQUIRE_REGISTRY=1 but {} does not exist (apt-get install docker-registry)",
        path.display()
    );
    eprintln!(
        "skipped: {} not found; install Debian's docker-registry to run this test",
        path.display()
    );
    None
}

fn start_registry(binary: &Path, dir: &Path) -> Registry {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    std::fs::write(dir.join("htpasswd"), format!("{USER}:{HTPASSWD_HASH}\n")).unwrap();
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {data}\nhttp:\n  addr: {address}\nauth:\n  htpasswd:\n    realm: homelab-registry\n    path: {htpasswd}\n",
        data = dir.join("data").display(),
        htpasswd = dir.join("htpasswd").display(),
    );
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let log = std::fs::File::create(dir.join("registry.log")).unwrap();
    let child = Command::new(binary)
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let registry = Registry { child, address };
    let http = common::http();
    let started = Instant::now();
    loop {
        let answer = http
            .get(format!("http://{}/v2/", registry.address))
            .send()
            .map(|r| r.status().as_u16());
        if matches!(answer, Ok(401)) {
            return registry;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the registry did not start: {:?}\n{}",
            answer,
            std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pushes small artefacts over the registry API, as `docker push` / `helm push` do.
struct Pusher {
    http: reqwest::blocking::Client,
    base: String,
}

impl Pusher {
    fn blob(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = format!("sha256:{:x}", Sha256::digest(bytes));
        let started = self
            .http
            .post(format!("{}/v2/{repository}/blobs/uploads/", self.base))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .unwrap();
        assert_eq!(started.status(), 202, "{:?}", started.text());
        let location = started.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let done = self
            .http
            .put(format!("{location}{separator}digest={digest}"))
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .unwrap();
        assert_eq!(done.status(), 201, "{:?}", done.text());
        digest
    }

    /// Pushes one manifest under every tag; `chart` makes it a Helm chart artefact.
    fn push(&self, repository: &str, tags: &[&str], chart: bool) {
        let (config_type, layer_type, config, layer) = if chart {
            (
                "application/vnd.cncf.helm.config.v1+json",
                "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                format!(r#"{{"name":"{repository}","version":"0.0.0","apiVersion":"v2"}}"#),
                format!("chart {repository}"),
            )
        } else {
            (
                "application/vnd.oci.image.config.v1+json",
                "application/vnd.oci.image.layer.v1.tar+gzip",
                r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#.to_owned(),
                format!("layer of {repository}"),
            )
        };
        let config_digest = self.blob(repository, config.as_bytes());
        let layer_digest = self.blob(repository, layer.as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer.len()}],
        })
        .to_string();
        for tag in tags {
            let answer = self
                .http
                .put(format!("{}/v2/{repository}/manifests/{tag}", self.base))
                .basic_auth(USER, Some(PASSWORD))
                .header("content-type", "application/vnd.oci.image.manifest.v1+json")
                .body(manifest.clone())
                .send()
                .unwrap();
            assert_eq!(answer.status(), 201, "{tag}: {:?}", answer.text());
        }
    }
}

#[test]
fn outdated_reads_a_real_registry_with_credentials_from_docker_config() {
    let Some(binary) = registry_binary() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let registry = start_registry(&binary, work.path());
    let host = registry.address.clone();
    let pusher = Pusher {
        http: common::http(),
        base: format!("http://{host}"),
    };
    pusher.push(
        "homelab/paperless",
        &[
            "2.13.4",
            "2.13.5",
            "2.14.0",
            "3.0.0",
            "3.1.0-rc.1",
            "latest",
        ],
        false,
    );
    pusher.push(
        "homelab/whisper",
        &[
            "v1.7.0-cuda",
            "v1.7.2-cuda",
            "v1.8.0-cuda",
            "v1.8.0",
            "v1.7.2",
        ],
        false,
    );
    pusher.push("charts/backup-operator", &["0.3.0", "0.3.1", "0.4.0"], true);

    let repo = work.path().join("repo");
    let stack = repo.join("stacks/media");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("main.tf"),
        format!(
            r#"resource "kubernetes_deployment" "media" {{
  spec {{
    template {{
      spec {{
        container {{
          name  = "paperless"
          image = "{host}/homelab/paperless:2.13.4"
        }}
        container {{
          name  = "whisper"
          image = "{host}/homelab/whisper:v1.7.0-cuda"
        }}
      }}
    }}
  }}
}}

resource "helm_release" "backup" {{
  name       = "backup-operator"
  repository = "oci://{host}/charts"
  chart      = "backup-operator"
  version    = "0.3.0"
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        repo.join(".upkeep.yaml"),
        format!("registries:\n  \"{host}\": {{ insecure: true }}\n"),
    )
    .unwrap();
    let docker = work.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{DOCKER_AUTH}"}}}}}}"#),
    )
    .unwrap();

    let started = Instant::now();
    let output = upkeep(&repo)
        .args(["outdated", "--format", "json"])
        .env("DOCKER_CONFIG", &docker)
        .env("XDG_CACHE_HOME", work.path().join("cache"))
        .env_remove("UPKEEP_REGISTRY_USERNAME")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["errors"], serde_json::json!([]), "{stdout}");
    let picks: Vec<String> = report["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{} {} → {} {} {}",
                u["name"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches(&format!("{host}/")),
                u["current"].as_str().unwrap(),
                u["patch"],
                u["minor"],
                u["major"]
            )
        })
        .collect();
    assert_eq!(
        picks,
        [
            r#"homelab/paperless 2.13.4 → "2.13.5" "2.14.0" "3.0.0""#,
            r#"homelab/whisper v1.7.0-cuda → "v1.7.2-cuda" "v1.8.0-cuda" null"#,
            r#"backup-operator 0.3.0 → "0.3.1" "0.4.0" null"#,
        ]
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");

    // Without credentials the registry's Basic challenge is reported, not guessed around.
    std::fs::remove_file(docker.join("config.json")).unwrap();
    let output = upkeep(&repo)
        .args(["outdated", "--format", "json"])
        .env("DOCKER_CONFIG", &docker)
        .env("XDG_CACHE_HOME", work.path().join("cache"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["errors"].as_array().unwrap().len(), 3, "{report}");
    for error in report["errors"].as_array().unwrap() {
        assert_eq!(error["cause"], "auth", "{error}");
        assert_eq!(error["host"], host.as_str(), "{error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("asks for credentials"),
            "{error}"
        );
    }
}
