//! End-to-end tests of `upkeep outdated` against a local server speaking the registry API
//! with the headers the big registries send: the anonymous token flow, `Link` pagination,
//! Basic credentials from Docker's config, a slow registry for the concurrency bound, Helm
//! repository indexes (cached with their ETag), OCI charts, and the Terraform registry
//! protocol for providers and modules.

mod common;

use common::{git, upkeep};
use std::path::Path;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn repo(images: &[&str], server: &MockServer) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stacks/app");
    std::fs::create_dir_all(&stack).unwrap();
    let containers: String = images
        .iter()
        .enumerate()
        .map(|(i, image)| format!("        container {{\n          name  = \"c{i}\"\n          image = \"{image}\"\n        }}\n"))
        .collect();
    std::fs::write(
        stack.join("main.tf"),
        format!("resource \"kubernetes_deployment\" \"app\" {{\n  spec {{\n    template {{\n      spec {{\n{containers}      }}\n    }}\n  }}\n}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".upkeep.yaml"),
        format!("registries:\n  docker.io: {{ url: \"{0}\" }}\n  ghcr.io: {{ url: \"{0}\" }}\nskip_categories: [databases]\n", server.uri()),
    )
    .unwrap();
    dir
}

fn outdated(dir: &Path, args: &[&str]) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    outdated_at_home(dir, home.path(), args)
}

/// Runs `upkeep outdated` with `home` holding the response cache and Docker's config;
/// returns the exit code and stdout followed by stderr.
fn outdated_at_home(dir: &Path, home: &Path, args: &[&str]) -> (i32, String) {
    let output = upkeep(dir)
        .arg("outdated")
        .args(args)
        .env_remove("UPKEEP_CONFIG")
        .env_remove("UPKEEP_REGISTRY_USERNAME")
        .env("GITHUB_TOKEN", "ghp_outdated0000000000000000000000000000")
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("DOCKER_CONFIG", home.join("docker"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                home.join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap() + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_flow_and_pagination_of_a_real_registry() {
    let server = MockServer::start().await;
    let challenge = format!(
        "Bearer realm=\"{}/token\",service=\"registry.docker.io\",scope=\"repository:vaultwarden/server:pull\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(query_param("service", "registry.docker.io"))
        .and(query_param("scope", "repository:vaultwarden/server:pull"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"token":"anon-7f3c","access_token":"anon-7f3c","expires_in":300,"issued_at":"2026-11-21T08:00:00Z"}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/vaultwarden/server/tags/list"))
        .and(header("authorization", "Bearer anon-7f3c"))
        .and(query_param("last", "1.35.4"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"name":"vaultwarden/server","tags":["1.35.5","1.36.0","alpine","latest"]}"#,
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/vaultwarden/server/tags/list"))
        .and(header("authorization", "Bearer anon-7f3c"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    "</v2/vaultwarden/server/tags/list?last=1.35.4&n=1000>; rel=\"next\"",
                )
                .set_body_string(r#"{"name":"vaultwarden/server","tags":["1.35.3","1.35.4"]}"#),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/vaultwarden/server/tags/list"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", challenge.as_str())
                .set_body_string(
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                ),
        )
        .with_priority(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/immich-app/immich-server/tags/list"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"name":"immich-app/immich-server","tags":["v2.7.4","v2.7.5","v2.8.0","v3.0.0-rc.1","release"]}"#))
        .mount(&server)
        .await;
    let dir = repo(
        &[
            "vaultwarden/server:1.35.4",
            "ghcr.io/immich-app/immich-server:v2.7.4",
            "postgres:16.6",
        ],
        &server,
    );
    let (code, out) = outdated(dir.path(), &["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let picks: Vec<(
        String,
        serde_json::Value,
        serde_json::Value,
        serde_json::Value,
    )> = report["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_owned(),
                u["patch"].clone(),
                u["minor"].clone(),
                u["major"].clone(),
            )
        })
        .collect();
    assert_eq!(
        picks,
        [
            (
                "vaultwarden/server".to_owned(),
                "1.35.5".into(),
                "1.36.0".into(),
                serde_json::Value::Null
            ),
            (
                "ghcr.io/immich-app/immich-server".to_owned(),
                "v2.7.5".into(),
                "v2.8.0".into(),
                serde_json::Value::Null
            ),
        ]
    );
    assert_eq!(
        report["skipped"],
        serde_json::json!(["postgres: in skip category `databases`"])
    );
    let (_, diun) = outdated(dir.path(), &["--emit", "diun"]);
    let first: serde_json::Value = serde_json::from_str(diun.lines().next().unwrap()).unwrap();
    assert_eq!(first["image"], "docker.io/vaultwarden/server:1.36.0");
    assert_eq!(first["status"], "update");
}

/// A registry answering every tag list with `1.0.0, 1.0.1, 1.1.0`. It answers the very first
/// request at once (upkeep asks a host once before it asks in parallel, to learn it is up),
/// then holds the next requests until `batch` of them are in flight at once (or a minute
/// passed), and counts the most it ever had in flight. The count it reports does not depend
/// on how fast the machine is.
fn batching_registry(batch: usize) -> (String, std::sync::Arc<std::sync::Mutex<usize>>) {
    use std::io::{Read, Write};
    use std::sync::{Arc, Condvar, Mutex};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    // (in flight, most in flight, released, the first request answered)
    let state = Arc::new((Mutex::new((0usize, 0usize, false, false)), Condvar::new()));
    let most = Arc::new(Mutex::new(0));
    let reported = most.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let state = state.clone();
            let most = most.clone();
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buffer = [0; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = r#"{"tags":["1.0.0","1.0.1","1.1.0"]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let (lock, released) = &*state;
                let mut guard = lock.lock().unwrap();
                if !guard.3 {
                    guard.3 = true;
                    drop(guard);
                    let _ = stream.write_all(answer.as_bytes());
                    return;
                }
                guard.0 += 1;
                guard.1 = guard.1.max(guard.0);
                *most.lock().unwrap() = guard.1;
                if guard.0 >= batch {
                    guard.2 = true;
                    released.notify_all();
                }
                let (mut guard, _) = released
                    .wait_timeout_while(guard, std::time::Duration::from_secs(60), |s| !s.2)
                    .unwrap();
                // Only the first batch waits, even when it never fills.
                guard.2 = true;
                guard.0 -= 1;
                drop(guard);
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    (uri, reported)
}

#[test]
fn one_hundred_fifty_images_are_looked_up_eight_at_a_time() {
    let (uri, most) = batching_registry(8);
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stacks/app");
    std::fs::create_dir_all(&stack).unwrap();
    let containers: String = (0..150)
        .map(|i| format!("        container {{\n          name  = \"c{i}\"\n          image = \"example/app-{i}:1.0.0\"\n        }}\n"))
        .collect();
    std::fs::write(
        stack.join("main.tf"),
        format!("resource \"kubernetes_deployment\" \"app\" {{\n  spec {{\n    template {{\n      spec {{\n{containers}      }}\n    }}\n  }}\n}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".upkeep.yaml"),
        format!("registries:\n  docker.io: {{ url: \"{uri}\" }}\n"),
    )
    .unwrap();
    let (code, out) = outdated(dir.path(), &["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["updates"].as_array().unwrap().len(), 150);
    // `--concurrency` is 8: the registry saw eight requests at once, and never more.
    assert_eq!(*most.lock().unwrap(), 8);
}

/// Writes `main.tf` and `.upkeep.yaml` into a new repository.
fn stack(main_tf: &str, config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stacks/platform");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(stack.join("main.tf"), main_tf).unwrap();
    std::fs::write(dir.path().join(".upkeep.yaml"), config).unwrap();
    dir
}

fn json_body(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_string(body)
}

const INDEX: &str = r#"apiVersion: v1
entries:
  grafana:
  - apiVersion: v2
    appVersion: 12.0.1
    created: "2026-11-18T09:12:44.1Z"
    description: The leading tool for querying and visualizing time series and metrics.
    digest: 4b8c3f0e9a8d
    name: grafana
    type: application
    urls:
    - https://github.com/grafana/helm-charts/releases/download/grafana-9.0.0/grafana-9.0.0.tgz
    version: 9.0.0
  - apiVersion: v2
    appVersion: 11.4.0
    name: grafana
    version: 8.6.2
  - apiVersion: v2
    appVersion: 11.3.1
    name: grafana
    version: 8.5.2
  - apiVersion: v2
    name: grafana
    version: 8.5.1
  - apiVersion: v2
    name: grafana
    version: 9.1.0-beta.1
  loki:
  - apiVersion: v2
    name: loki
    version: 6.18.0
generated: "2026-11-20T10:00:00.000000000Z"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn charts_providers_and_modules_are_checked_and_indexes_revalidated() {
    let server = MockServer::start().await;
    // A git repository of modules, tagged as releases are.
    let work = tempfile::tempdir().unwrap();
    let modules = work.path().join("modules.git");
    let seed = work.path().join("seed");
    std::fs::create_dir_all(seed.join("modules/zone")).unwrap();
    std::fs::write(seed.join("modules/zone/main.tf"), "variable \"zone\" {}\n").unwrap();
    git(&seed, &["init", "-q", "-b", "main"]);
    git(
        &seed,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "zone",
        ],
    );
    for tag in ["v1.4.2", "v1.4.3", "v1.5.0", "v2.0.0-rc.1", "nightly"] {
        git(&seed, &["tag", "-a", tag, "-m", tag]);
    }
    git(
        work.path(),
        &[
            "clone",
            "-q",
            "--bare",
            seed.to_str().unwrap(),
            modules.to_str().unwrap(),
        ],
    );
    Mock::given(method("GET"))
        .and(path("/charts/index.yaml"))
        .and(header("if-none-match", "\"idx-41\""))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", "\"idx-41\""))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/charts/index.yaml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"idx-41\"")
                .insert_header("content-type", "application/x-yaml")
                .set_body_string(INDEX),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/woodpecker-ci/helm/woodpecker/tags/list"))
        .respond_with(json_body(
            r#"{"name":"woodpecker-ci/helm/woodpecker","tags":["3.4.2","3.4.3","3.5.0","sha256-1f2e3d.sig"]}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/terraform.json"))
        .respond_with(json_body(
            r#"{"modules.v1":"/v1/modules/","providers.v1":"/v1/providers/","login.v1":{"client":"terraform-cli"}}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/providers/hashicorp/kubernetes/versions"))
        .respond_with(json_body(
            r#"{"id":"hashicorp/kubernetes","versions":[{"version":"2.35.0","protocols":["5.0"],"platforms":[{"os":"linux","arch":"amd64"}]},{"version":"2.35.1","protocols":["5.0"],"platforms":[]},{"version":"2.38.0","protocols":["5.0"],"platforms":[]},{"version":"3.0.1","protocols":["5.0"],"platforms":[]}],"warnings":null}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/modules/bpg/virtual-machine/proxmox/versions"))
        .respond_with(json_body(
            r#"{"modules":[{"source":"bpg/virtual-machine/proxmox","versions":[{"version":"0.9.1","root":{},"submodules":[]},{"version":"0.9.3","root":{},"submodules":[]},{"version":"0.10.0","root":{},"submodules":[]}]}]}"#,
        ))
        .mount(&server)
        .await;
    let main_tf = format!(
        r#"terraform {{
  required_providers {{
    kubernetes = {{
      source  = "hashicorp/kubernetes"
      version = "~> 2.35"
    }}
    cloudflare = {{
      source  = "cloudflare/cloudflare"
      version = ">= 4.40, < 5.0"
    }}
  }}
}}

resource "helm_release" "grafana" {{
  name       = "grafana"
  repository = "{0}/charts"
  chart      = "grafana"
  version    = "8.5.1"
}}

resource "helm_release" "woodpecker" {{
  name       = "woodpecker"
  repository = "oci://ghcr.io/woodpecker-ci/helm"
  chart      = "woodpecker"
  version    = "3.4.2"
}}

module "vm" {{
  source  = "bpg/virtual-machine/proxmox"
  version = "0.9.1"
}}

module "dns" {{
  source = "git::file://{1}//modules/zone?ref=v1.4.2"
}}
"#,
        server.uri(),
        modules.display()
    );
    let config = format!(
        "registries:\n  ghcr.io: {{ url: \"{0}\" }}\nterraform_registry_url: \"{0}\"\n",
        server.uri()
    );
    let dir = stack(&main_tf, &config);
    let home = tempfile::tempdir().unwrap();
    let (code, out) = outdated_at_home(dir.path(), home.path(), &["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let modules_url = format!("file://{}", modules.display());
    let picks: Vec<String> = report["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{} {} {} → {} {} {} ({})",
                u["kind"].as_str().unwrap(),
                u["name"].as_str().unwrap(),
                u["current"].as_str().unwrap(),
                u["patch"],
                u["minor"],
                u["major"],
                u["source"].as_str().unwrap()
            )
        })
        .collect();
    let here = server.uri();
    assert_eq!(
        picks,
        [
            "provider hashicorp/kubernetes 2.35 → null \"2.38\" \"3.0\" (registry.terraform.io)".to_owned(),
            format!("helm_chart grafana 8.5.1 → \"8.5.2\" \"8.6.2\" \"9.0.0\" ({here}/charts)"),
            "helm_chart woodpecker 3.4.2 → \"3.4.3\" \"3.5.0\" null (ghcr.io)".to_owned(),
            "module bpg/virtual-machine/proxmox 0.9.1 → \"0.9.3\" \"0.10.0\" null (registry.terraform.io)".to_owned(),
            format!("module git::{modules_url}//modules/zone v1.4.2 → \"v1.4.3\" \"v1.5.0\" null ({modules_url})"),
        ],
        "{out}"
    );
    let unchecked = report["unchecked"].to_string();
    assert!(
        unchecked.contains("provider cloudflare/cloudflare: not one version (range)"),
        "{unchecked}"
    );

    // A second run revalidates the cached index: same answer, and the server saw the ETag.
    let (code, again) = outdated_at_home(dir.path(), home.path(), &["--format", "json"]);
    assert_eq!(code, 1, "{again}");
    assert_eq!(again, out);
    let conditional = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/charts/index.yaml")
        .map(|r| r.headers.get("if-none-match").is_some())
        .collect::<Vec<_>>();
    assert_eq!(conditional, [false, true]);

    // `--kind` narrows the check; the human table names its columns.
    let (code, table) = outdated_at_home(dir.path(), home.path(), &["--kind", "provider"]);
    assert_eq!(code, 1, "{table}");
    assert!(table.starts_with("PIN "), "{table}");
    assert!(table.contains("hashicorp/kubernetes  2.35"), "{table}");
    assert!(!table.contains("grafana"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn docker_config_credentials_go_to_their_own_host_only() {
    let server = MockServer::start().await;
    // registry.lan:5000 asks for Basic credentials; "ci-robot:hunter22" in base64.
    Mock::given(method("GET"))
        .and(path("/v2/home/backup/tags/list"))
        .and(header("authorization", "Basic Y2ktcm9ib3Q6aHVudGVyMjI="))
        .respond_with(json_body(
            r#"{"name":"home/backup","tags":["1.2.0","1.3.0"]}"#,
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/home/backup/tags/list"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Basic realm=\"Registry Realm\""),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let realm = format!("{}/token", server.uri());
    Mock::given(method("GET"))
        .and(path("/v2/linuxserver/syncthing/tags/list"))
        .and(header("authorization", "Bearer anon"))
        .respond_with(json_body(r#"{"tags":["1.27.0","1.27.1"]}"#))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/linuxserver/syncthing/tags/list"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{realm}\",service=\"ghcr.io\",scope=\"repository:linuxserver/syncthing:pull\"").as_str(),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(json_body(r#"{"token":"anon"}"#))
        .mount(&server)
        .await;
    let main_tf = "resource \"kubernetes_cron_job_v1\" \"backup\" {\n  spec {\n    job_template {\n      spec {\n        template {\n          spec {\n            container {\n              name  = \"backup\"\n              image = \"registry.lan:5000/home/backup:1.2.0\"\n            }\n            container {\n              name  = \"sync\"\n              image = \"ghcr.io/linuxserver/syncthing:1.27.0\"\n            }\n          }\n        }\n      }\n    }\n  }\n}\n";
    let config = format!(
        "registries:\n  registry.lan:5000: {{ url: \"{0}\" }}\n  ghcr.io: {{ url: \"{0}\" }}\n",
        server.uri()
    );
    let dir = stack(main_tf, &config);
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("docker")).unwrap();
    std::fs::write(
        home.path().join("docker/config.json"),
        r#"{"auths":{"registry.lan:5000":{"auth":"Y2ktcm9ib3Q6aHVudGVyMjI="}},"credsStore":"upkeep-test-no-such-helper"}"#,
    )
    .unwrap();
    let (code, out) = outdated_at_home(dir.path(), home.path(), &["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let (json, logs) = out.split_at(out.rfind("}\n").unwrap() + 2);
    assert!(
        logs.contains("docker-credential-upkeep-test-no-such-helper"),
        "{logs}"
    );
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(report["errors"], serde_json::json!([]), "{out}");
    let minors: Vec<&str> = report["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["minor"].as_str().or(u["patch"].as_str()).unwrap())
        .collect();
    assert_eq!(minors, ["1.3.0", "1.27.1"]);
    assert!(!out.contains("hunter22"));
    // The token endpoint of the other host never saw the LAN registry's credential.
    let requests = server.received_requests().await.unwrap();
    let token_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/token")
        .collect();
    assert_eq!(token_requests.len(), 1);
    assert!(token_requests[0].headers.get("authorization").is_none());

    // A credential helper (`docker-credential-<name> get`, the server on stdin) works too.
    std::fs::create_dir_all(home.path().join("bin")).unwrap();
    let helper = home.path().join("bin/docker-credential-homelab");
    std::fs::write(
        &helper,
        "#!/bin/sh\nread server\necho \"$1 $server\" >> \"$(dirname \"$0\")/asked\"\nenv > \"$(dirname \"$0\")/env\"\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"ci-robot\",\"Secret\":\"hunter22\"}' \"$server\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        home.path().join("docker/config.json"),
        r#"{"credHelpers":{"registry.lan:5000":"homelab"}}"#,
    )
    .unwrap();
    let (code, out) = outdated_at_home(dir.path(), home.path(), &["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"errors\": []"), "{out}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("bin/asked")).unwrap(),
        "get registry.lan:5000\n",
        "asked once, for its own host only"
    );
    // The helper runs with the environment, less upkeep's own secrets.
    let env = std::fs::read_to_string(home.path().join("bin/env")).unwrap();
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    assert!(
        !env.contains("ghp_outdated"),
        "GITHUB_TOKEN reached the helper: {env}"
    );

    // Without the config file the LAN registry is an error that says why.
    std::fs::remove_file(home.path().join("docker/config.json")).unwrap();
    let (_, out) = outdated_at_home(dir.path(), home.path(), &["--format", "json"]);
    assert!(
        out.contains("asks for credentials and none are configured"),
        "{out}"
    );
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_lookups_are_listed_in_every_format_with_host_and_cause_and_exit_2() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/example/private/tags/list"))
        .respond_with(ResponseTemplate::new(403).set_body_string(
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/example/app/tags/list"))
        .respond_with(json_body(
            r#"{"name":"example/app","tags":["1.0.0","1.1.0"]}"#,
        ))
        .mount(&server)
        .await;
    let port = server.address().port();
    let closed = closed_port();
    let main_tf = r#"variable "mirror_registry" {
  type = string
}

resource "kubernetes_deployment" "apps" {
  spec {
    template {
      spec {
        container {
          name  = "ok"
          image = "registry.example.org/example/app:1.0.0"
        }
        container {
          name  = "denied"
          image = "registry.example.org/example/private:1.0.0"
        }
        container {
          name  = "refused"
          image = "refused.example.org/example/app:1.0.0"
        }
        container {
          name  = "tls"
          image = "tls.example.org/example/app:1.0.0"
        }
        container {
          name  = "dns"
          image = "registry.nowhere.invalid/example/app:1.0.0"
        }
        container {
          name  = "mirror"
          image = "${var.mirror_registry}/library/nginx:1.27.3"
        }
      }
    }
  }
}
"#;
    let config = format!(
        "registries:\n  registry.example.org: {{ url: \"{}\" }}\n  refused.example.org: {{ url: \"http://127.0.0.1:{}\" }}\n  tls.example.org: {{ url: \"https://127.0.0.1:{port}\" }}\n",
        server.uri(),
        closed
    );
    let dir = stack(main_tf, &config);

    let (code, out) = outdated(dir.path(), &["--format", "json"]);
    assert_eq!(code, 2, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["updates"].as_array().unwrap().len(), 1, "{out}");
    let errors: Vec<(String, String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["host"].as_str().unwrap().to_owned(),
                e["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let here = format!("127.0.0.1:{port}");
    let expected = [
        (
            "registry.example.org/example/private",
            here.as_str(),
            "status",
        ),
        (
            "refused.example.org/example/app",
            &format!("127.0.0.1:{closed}"),
            "refused",
        ),
        ("tls.example.org/example/app", here.as_str(), "tls"),
        (
            "registry.nowhere.invalid/example/app",
            "registry.nowhere.invalid",
            "dns",
        ),
    ]
    .map(|(name, host, cause)| (name.to_owned(), host.to_owned(), cause.to_owned()));
    assert_eq!(errors, expected, "{out}");
    let messages = report["errors"].to_string();
    assert!(messages.contains("answered 403 Forbidden"), "{messages}");
    assert!(messages.contains("connection refused"), "{messages}");
    assert!(messages.contains("TLS"), "{messages}");
    assert!(messages.contains("DNS"), "{messages}");
    let unchecked = report["unchecked"].to_string();
    assert!(
        unchecked.contains("the registry host is an expression (`${var.mirror_registry}`)"),
        "{unchecked}"
    );
    let asked: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(!asked.iter().any(|p| p.contains("nginx")), "{asked:?}");

    let (code, table) = outdated(dir.path(), &[]);
    assert_eq!(code, 2, "{table}");
    assert!(
        table.contains("error: registry.nowhere.invalid/example/app: registry.nowhere.invalid: DNS lookup failed"),
        "{table}"
    );
    assert!(
        table.contains("1 outdated pin(s); 4 lookup(s) failed"),
        "{table}"
    );

    // `--emit diun` prints the update on stdout and the errors on stderr.
    let home = tempfile::tempdir().unwrap();
    let output = common::upkeep(dir.path())
        .args(["outdated", "--emit", "diun"])
        .env_remove("UPKEEP_CONFIG")
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("DOCKER_CONFIG", home.path().join("docker"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("registry.example.org/example/app:1.1.0"),
        "{stdout}"
    );
    assert!(
        stderr.contains("registry.nowhere.invalid: DNS lookup failed"),
        "{stderr}"
    );
    assert!(stderr.contains("4 lookup(s) failed"), "{stderr}");

    // Every lookup failing is not "nothing outdated".
    let offline = stack(
        "resource \"kubernetes_deployment\" \"a\" {\n  spec {\n    template {\n      spec {\n        container {\n          name  = \"a\"\n          image = \"registry.nowhere.invalid/example/app:1.0.0\"\n        }\n      }\n    }\n  }\n}\n",
        "",
    );
    let (code, table) = outdated(offline.path(), &[]);
    assert_eq!(code, 2, "{table}");
    assert!(
        table.contains("0 outdated pin(s); 1 lookup(s) failed"),
        "{table}"
    );
}

/// A port where every connection is answered in plain HTTP, so an HTTPS client's handshake
/// fails; counts the connections made.
fn plain_http_where_tls_is_expected() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut hello = [0; 1024];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    });
    (port, connections)
}

#[test]
fn a_host_that_cannot_be_reached_is_tried_once_and_reported_once() {
    let (tls_port, connections) = plain_http_where_tls_is_expected();
    let closed = closed_port();
    let mut containers = String::new();
    for i in 0..12 {
        containers.push_str(&format!(
            "        container {{\n          name  = \"tls{i}\"\n          image = \"tls.example.org/example/app{i}:1.0.{i}\"\n        }}\n"
        ));
    }
    for i in 0..3 {
        containers.push_str(&format!(
            "        container {{\n          name  = \"refused{i}\"\n          image = \"refused.example.org/example/app{i}:2.0.{i}\"\n        }}\n"
        ));
    }
    let main_tf = format!(
        "resource \"kubernetes_deployment\" \"apps\" {{\n  spec {{\n    template {{\n      spec {{\n{containers}      }}\n    }}\n  }}\n}}\n"
    );
    let config = format!(
        "registries:\n  tls.example.org: {{ url: \"https://127.0.0.1:{tls_port}\" }}\n  refused.example.org: {{ url: \"http://127.0.0.1:{closed}\" }}\n"
    );
    let dir = stack(&main_tf, &config);

    let (code, table) = outdated(dir.path(), &[]);
    assert_eq!(code, 2, "{table}");
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the host that failed its handshake is asked once: {table}"
    );
    let errors: Vec<&str> = table.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 2, "one line per host: {table}");
    assert!(
        errors.iter().any(|line| line.starts_with(&format!(
            "error: 127.0.0.1:{tls_port}: TLS handshake failed ("
        )) && line.ends_with("; 12 pins not checked")),
        "{table}"
    );
    assert!(
        errors.contains(
            &format!("error: 127.0.0.1:{closed}: connection refused; 3 pins not checked").as_str()
        ),
        "{table}"
    );
    assert!(
        table.contains("0 outdated pin(s); 15 lookup(s) failed"),
        "{table}"
    );

    // Every pin is still listed in JSON, with the host's failure.
    let (code, out) = outdated(dir.path(), &["--format", "json"]);
    assert_eq!(code, 2, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 15, "{out}");
    let tls: Vec<&serde_json::Value> = errors.iter().filter(|e| e["cause"] == "tls").collect();
    assert_eq!(tls.len(), 12, "{out}");
    assert!(
        tls.iter()
            .all(|e| e["host"] == format!("127.0.0.1:{tls_port}").as_str()),
        "{out}"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "once per run"
    );
}
