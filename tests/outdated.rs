//! End-to-end tests of `upkeep outdated` against a local server speaking the registry API
//! with the headers the big registries send: the anonymous token flow, `Link` pagination,
//! and a slow registry for the concurrency bound.

mod common;

use common::upkeep;
use std::path::Path;
use wiremock::matchers::{header, method, path, path_regex, query_param};
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
    let output = upkeep(dir)
        .arg("outdated")
        .args(args)
        .env_remove("UPKEEP_CONFIG")
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

#[tokio::test(flavor = "multi_thread")]
async fn one_hundred_fifty_images_on_a_slow_registry_take_under_two_seconds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v2/example/app-[0-9]+/tags/list$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_millis(50))
                .set_body_string(r#"{"tags":["1.0.0","1.0.1","1.1.0"]}"#),
        )
        .mount(&server)
        .await;
    let images: Vec<String> = (0..150).map(|i| format!("example/app-{i}:1.0.0")).collect();
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let dir = repo(&refs, &server);
    let started = std::time::Instant::now();
    let (code, out) = outdated(dir.path(), &["--format", "json"]);
    let elapsed = started.elapsed();
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["updates"].as_array().unwrap().len(), 150);
    assert!(elapsed.as_millis() < 2000, "{elapsed:?}");
    // Eight in flight: 150 × 50 ms ≥ 0.9 s; one at a time would be 7.5 s.
    assert!(elapsed.as_millis() >= 900, "{elapsed:?}");
}
