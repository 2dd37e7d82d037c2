//! The GitHub client and source resolution against a local server that plays the GitHub API
//! with recorded-style payloads from `fixtures/github`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use upkeep_notes::{
    FetchError, GitHub, GitHubOptions, Overrides, RepoId, Subject, crossed, fetch_notes, resolve,
};
use upkeep_pins::Version;
use wiremock::matchers::{header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/github")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn client(server: &MockServer, cache: Option<PathBuf>) -> GitHub {
    GitHub::new(&GitHubOptions {
        api_url: server.uri(),
        token: None,
        cache_dir: cache,
        max_wait: Duration::from_secs(3),
        virtual_time: true,
    })
    .expect("client")
}

fn json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json; charset=utf-8")
        .set_body_string(body)
}

fn repo(text: &str) -> RepoId {
    RepoId::parse(text).expect("owner/name")
}

fn v(text: &str) -> Version {
    Version::parse(text).expect("version")
}

fn image(canonical: &str) -> Subject {
    Subject::Image {
        canonical: canonical.to_owned(),
    }
}

async fn serve_immich(server: &MockServer) {
    let next = format!(
        "<{0}/repos/immich-app/immich/releases?per_page=100&page=2>; rel=\"next\", <{0}/repos/immich-app/immich/releases?per_page=100&page=2>; rel=\"last\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich/releases"))
        .and(query_param("page", "2"))
        .respond_with(json(fixture("immich-releases-page-2.json")))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich/releases"))
        .respond_with(
            json(fixture("immich-releases-page-1.json")).insert_header("link", next.as_str()),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn paginated_releases_are_read_whole_and_crossed_by_version() {
    let server = MockServer::start().await;
    serve_immich(&server).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let github = client(&server, None).with_progress(Box::new(move |page, pages| {
        record.lock().unwrap().push((page, pages));
    }));
    let notes = fetch_notes(
        &github,
        &repo("immich-app/immich"),
        &image("ghcr.io/immich-app/immich-server"),
        &v("v2.8.1"),
    )
    .await
    .unwrap()
    .expect("notes");
    assert_eq!(notes.origin, "releases");
    assert_eq!(notes.releases.len(), 6, "two pages, the draft left out");
    let chosen = crossed(&notes.releases, &v("v2.7.4"), &v("v2.8.1"));
    let tags: Vec<&str> = chosen.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(
        tags,
        ["v2.7.5", "v2.8.0", "v2.8.1"],
        "no pre-release, no draft"
    );
    let to_rc = crossed(&notes.releases, &v("v2.8.1"), &v("v2.9.0-rc.1"));
    assert_eq!(to_rc.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(*seen.lock().unwrap(), [(1, Some(2)), (2, Some(2))]);
}

#[tokio::test]
async fn a_missing_repository_resolves_after_stripping_the_component_suffix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich-server"))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/repos#get-a-repository","status":"404"}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/immich-app/immich"))
        .respond_with(json(fixture("immich-repo.json")))
        .mount(&server)
        .await;
    let github = client(&server, None);
    let resolution = resolve(
        &github,
        &image("ghcr.io/immich-app/immich-server"),
        &Overrides::default(),
    )
    .await
    .unwrap();
    assert_eq!(resolution.repo.as_deref(), Some("immich-app/immich"));
    assert_eq!(
        resolution.tried,
        [
            "immich-app/immich-server: not found",
            "immich-app/immich: found"
        ]
    );
    // Nothing exists: the source is unknown, not invented.
    let unknown = resolve(
        &github,
        &image("ghcr.io/nobody/nothing-server"),
        &Overrides::default(),
    )
    .await
    .unwrap();
    assert_eq!(unknown.repo, None);
    assert_eq!(unknown.tried.len(), 2);
}

#[tokio::test]
async fn a_repository_without_releases_is_read_from_its_changelog() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/jimmidyson/configmap-reload/releases"))
        .respond_with(json("[]".to_owned()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/jimmidyson/configmap-reload/contents/CHANGELOG.md",
        ))
        .and(header("accept", "application/vnd.github.raw+json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(fixture("configmap-reload-CHANGELOG.md")),
        )
        .mount(&server)
        .await;
    let github = client(&server, None);
    let notes = fetch_notes(
        &github,
        &repo("jimmidyson/configmap-reload"),
        &image("ghcr.io/jimmidyson/configmap-reload"),
        &v("v0.15.0"),
    )
    .await
    .unwrap()
    .expect("notes");
    assert_eq!(notes.origin, "CHANGELOG.md");
    let chosen = crossed(&notes.releases, &v("v0.14.0"), &v("v0.15.0"));
    let versions: Vec<&str> = chosen.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["v0.14.1", "v0.15.0"]);
    assert!(chosen[1].notes.contains("`--volume-dir` flag is renamed"));
}

#[tokio::test]
async fn chart_tags_of_other_charts_in_the_repository_are_left_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/grafana/helm-charts/releases"))
        .respond_with(json(fixture("grafana-helm-charts-releases.json")))
        .mount(&server)
        .await;
    let github = client(&server, None);
    let chart = Subject::Chart {
        name: "grafana".to_owned(),
        repository: Some("https://grafana.github.io/helm-charts".to_owned()),
    };
    let notes = fetch_notes(&github, &repo("grafana/helm-charts"), &chart, &v("8.6.0"))
        .await
        .unwrap()
        .expect("notes");
    let tags: Vec<&str> = notes.releases.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["grafana-8.6.0", "grafana-8.5.12", "grafana-8.5.11"]);
}

#[tokio::test]
async fn a_rate_limit_far_from_reset_stops_with_a_clear_message() {
    let server = MockServer::start().await;
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-limit", "60")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_string(r#"{"message":"API rate limit exceeded for 203.0.113.7.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}"#),
        )
        .mount(&server)
        .await;
    let github = client(&server, None);
    let error = github
        .releases(&repo("immich-app/immich"))
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::RateLimited { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("rate limit") && message.contains("GITHUB_TOKEN"),
        "{message}"
    );
    // One request, not a retry loop.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_rate_limit_that_resets_soon_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden/releases"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_string(r#"{"message":"You have exceeded a secondary rate limit."}"#),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden/releases"))
        .respond_with(json(fixture("vaultwarden-releases.json")))
        .mount(&server)
        .await;
    let github = client(&server, None);
    let releases = github
        .releases(&repo("dani-garcia/vaultwarden"))
        .await
        .unwrap();
    assert_eq!(releases.len(), 3);
    assert_eq!(
        github.waited(),
        Duration::from_secs(1),
        "waited for retry-after"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_second_run_makes_conditional_requests_only() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden/releases"))
        .and(header("if-none-match", "W/\"5f2c9e\""))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", "W/\"5f2c9e\""))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/dani-garcia/vaultwarden/releases"))
        .respond_with(
            json(fixture("vaultwarden-releases.json")).insert_header("etag", "W/\"5f2c9e\""),
        )
        .mount(&server)
        .await;
    let cache = tempfile::tempdir().unwrap();
    let first = client(&server, Some(cache.path().to_owned()))
        .releases(&repo("dani-garcia/vaultwarden"))
        .await
        .unwrap();
    let second = client(&server, Some(cache.path().to_owned()))
        .releases(&repo("dani-garcia/vaultwarden"))
        .await
        .unwrap();
    assert_eq!(first.len(), second.len());
    assert_eq!(second[0].tag_name, "1.36.0");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(!requests[0].headers.contains_key("if-none-match"));
    assert_eq!(requests[1].headers["if-none-match"], "W/\"5f2c9e\"");
}

#[tokio::test]
async fn the_token_is_sent_to_the_api_and_shown_nowhere() {
    let secret = "ghp_upkeepTestToken0123456789abcdef";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(500).set_body_string(r#"{"message":"Server Error"}"#))
        .mount(&server)
        .await;
    let options = GitHubOptions {
        api_url: server.uri(),
        token: Some(secret.to_owned()),
        cache_dir: None,
        max_wait: Duration::from_secs(1),
        virtual_time: true,
    };
    let github = GitHub::new(&options).unwrap();
    let error = github.releases(&repo("a/b")).await.unwrap_err();
    let requests = server.received_requests().await.unwrap();
    let sent = requests[0].headers["authorization"].to_str().unwrap();
    assert!(
        sent.ends_with(secret),
        "the token authenticates the request"
    );
    for shown in [
        format!("{error}"),
        format!("{error:?}"),
        format!("{options:?}"),
        format!("{github:?}"),
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn pagination_links_to_another_host_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json("[]".to_owned()).insert_header(
            "link",
            "<https://attacker.example/steal?page=2>; rel=\"next\"",
        ))
        .mount(&server)
        .await;
    let error = client(&server, None)
        .releases(&repo("a/b"))
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::ForeignLink { .. }), "{error:?}");
}

#[tokio::test]
async fn pagination_links_to_another_port_of_the_same_host_are_not_followed() {
    // `http://127.0.0.1:4321` is a prefix of `http://127.0.0.1:43210`: a prefix test would
    // send the token to whatever listens there.
    let server = MockServer::start().await;
    let elsewhere = format!("{}0/repos/a/b/releases?page=2", server.uri());
    Mock::given(method("GET"))
        .respond_with(
            json("[]".to_owned())
                .insert_header("link", format!("<{elsewhere}>; rel=\"next\"").as_str()),
        )
        .mount(&server)
        .await;
    let error = client(&server, None)
        .releases(&repo("a/b"))
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::ForeignLink { .. }), "{error:?}");
}
