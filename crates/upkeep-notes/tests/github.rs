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
        source_label: None,
    }
}

/// Serves the contents API listing of `folder` (`""` for the root) of `repo`, in GitHub's
/// shape: `entries` are `(name, type)`.
async fn serve_listing(server: &MockServer, repo: &str, folder: &str, entries: &[(&str, &str)]) {
    let listing: Vec<serde_json::Value> = entries
        .iter()
        .map(|(name, kind)| {
            let path = if folder.is_empty() {
                (*name).to_owned()
            } else {
                format!("{folder}/{name}")
            };
            serde_json::json!({
                "name": name,
                "path": path,
                "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
                "size": if *kind == "file" { 5362 } else { 0 },
                "url": format!("{}/repos/{repo}/contents/{path}?ref=main", server.uri()),
                "html_url": format!("https://github.com/{repo}/blob/main/{path}"),
                "git_url": format!("{}/repos/{repo}/git/blobs/3d21ec53a331a6f037a91c368710b99387d012c1", server.uri()),
                "download_url": if *kind == "file" { serde_json::Value::String(format!("https://raw.githubusercontent.com/{repo}/main/{path}")) } else { serde_json::Value::Null },
                "type": kind,
                "_links": {"self": format!("{}/repos/{repo}/contents/{path}?ref=main", server.uri())}
            })
        })
        .collect();
    let at = if folder.is_empty() {
        format!("/repos/{repo}/contents")
    } else {
        format!("/repos/{repo}/contents/{folder}")
    };
    Mock::given(method("GET"))
        .and(path(at))
        .and(header("accept", "application/vnd.github+json"))
        .respond_with(json(serde_json::to_string(&listing).unwrap()))
        .mount(server)
        .await;
}

/// Serves a file of `repo` raw, as the contents API does for `application/vnd.github.raw+json`.
async fn serve_file(server: &MockServer, repo: &str, file: &str, text: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repo}/contents/{file}")))
        .and(header("accept", "application/vnd.github.raw+json"))
        .respond_with(ResponseTemplate::new(200).set_body_string(text))
        .mount(server)
        .await;
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
        &v("v2.7.4"),
        &v("v2.8.1"),
    )
    .await
    .unwrap();
    assert_eq!(notes.origin().as_deref(), Some("releases"));
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
    serve_listing(
        &server,
        "jimmidyson/configmap-reload",
        "",
        &[
            ("CHANGELOG.md", "file"),
            ("Dockerfile", "file"),
            ("cmd", "dir"),
        ],
    )
    .await;
    serve_file(
        &server,
        "jimmidyson/configmap-reload",
        "CHANGELOG.md",
        &fixture("configmap-reload-CHANGELOG.md"),
    )
    .await;
    let github = client(&server, None);
    let notes = fetch_notes(
        &github,
        &repo("jimmidyson/configmap-reload"),
        &image("ghcr.io/jimmidyson/configmap-reload"),
        &v("v0.14.0"),
        &v("v0.15.0"),
    )
    .await
    .unwrap();
    assert_eq!(notes.origin().as_deref(), Some("CHANGELOG.md"));
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
        sources: Vec::new(),
    };
    let notes = fetch_notes(
        &github,
        &repo("grafana/helm-charts"),
        &chart,
        &v("8.5.10"),
        &v("8.6.0"),
    )
    .await
    .unwrap();
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

#[tokio::test]
async fn a_changelog_kept_in_docs_is_found_by_listing_the_repository() {
    let server = MockServer::start().await;
    let repo_name = "docuvault/docuvault";
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repo_name}/releases")))
        .respond_with(json("[]".to_owned()))
        .mount(&server)
        .await;
    serve_listing(
        &server,
        repo_name,
        "",
        &[("README.md", "file"), ("docs", "dir"), ("src", "dir")],
    )
    .await;
    serve_listing(
        &server,
        repo_name,
        "docs",
        &[
            ("index.md", "file"),
            ("changelog.md", "file"),
            ("setup.md", "file"),
        ],
    )
    .await;
    serve_file(
        &server,
        repo_name,
        "docs/changelog.md",
        "# Changelog\n\n## docuvault 2.20.14\n\n### Bug Fixes\n\n- Fix: keep the upload queue after a restart\n\n## docuvault 2.20.13\n\n### Breaking Changes\n\n- `PAPERLESS_DBENGINE` is removed; the engine is read from the URL\n",
    )
    .await;
    let notes = fetch_notes(
        &client(&server, None),
        &repo(repo_name),
        &image("ghcr.io/docuvault/docuvault"),
        &v("2.20.12"),
        &v("2.20.14"),
    )
    .await
    .unwrap();
    assert_eq!(notes.origin().as_deref(), Some("docs/changelog.md"));
    let chosen = crossed(&notes.releases, &v("2.20.12"), &v("2.20.14"));
    assert_eq!(chosen.len(), 2);
    assert!(chosen[0].notes.contains("is removed"));
}

#[tokio::test]
async fn a_release_that_points_to_the_changelog_is_read_from_it() {
    let server = MockServer::start().await;
    let repo_name = "example-org/feedreader";
    let releases = serde_json::json!([
        {"tag_name": "v3.1.0", "name": "v3.1.0", "draft": false, "prerelease": false,
         "body": "See [CHANGELOG.md](https://github.com/example-org/feedreader/blob/main/CHANGELOG.md) for the changes.",
         "html_url": "https://github.com/example-org/feedreader/releases/tag/v3.1.0"},
        {"tag_name": "v3.0.2", "name": "v3.0.2", "draft": false, "prerelease": false,
         "body": "**Full Changelog**: https://github.com/example-org/feedreader/compare/v3.0.1...v3.0.2",
         "html_url": "https://github.com/example-org/feedreader/releases/tag/v3.0.2"},
        {"tag_name": "v3.0.1", "name": "v3.0.1", "draft": false, "prerelease": false,
         "body": "### Fixes\n- Keep the unread counter in sync across devices",
         "html_url": "https://github.com/example-org/feedreader/releases/tag/v3.0.1"}
    ]);
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repo_name}/releases")))
        .respond_with(json(releases.to_string()))
        .mount(&server)
        .await;
    serve_listing(
        &server,
        repo_name,
        "",
        &[("ChangeLog", "file"), ("go.mod", "file")],
    )
    .await;
    serve_file(
        &server,
        repo_name,
        "ChangeLog",
        "Version 3.1.0 (March 2, 2026)\n-----------------------------\n\n* feat(api)!: the `/v1/entries` endpoint is removed, use `/v2/entries`\n\nVersion 3.0.2 (February 10, 2026)\n---------------------------------\n\n* fix: do not refetch feeds on every start\n\nVersion 3.0.1 (January 20, 2026)\n--------------------------------\n\n* fix: counters\n",
    )
    .await;
    let notes = fetch_notes(
        &client(&server, None),
        &repo(repo_name),
        &image("ghcr.io/example-org/feedreader"),
        &v("v3.0.1"),
        &v("v3.1.0"),
    )
    .await
    .unwrap();
    assert_eq!(
        notes.origin().as_deref(),
        Some("releases + ChangeLog (v3.1.0, v3.0.2)")
    );
    let chosen = crossed(&notes.releases, &v("v3.0.1"), &v("v3.1.0"));
    let texts: Vec<&str> = chosen.iter().map(|r| r.notes.as_str()).collect();
    assert_eq!(
        texts,
        [
            "* fix: do not refetch feeds on every start",
            "* feat(api)!: the `/v1/entries` endpoint is removed, use `/v2/entries`"
        ]
    );
    // The release that said enough kept its own notes.
    let kept = notes.releases.iter().find(|r| r.tag == "v3.0.1").unwrap();
    assert!(kept.notes.contains("unread counter"));
}

#[tokio::test]
async fn a_changelog_without_version_headings_is_told_apart_from_no_notes() {
    let server = MockServer::start().await;
    let repo_name = "example-org/kvstore";
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repo_name}/releases")))
        .respond_with(json("[]".to_owned()))
        .mount(&server)
        .await;
    serve_listing(
        &server,
        repo_name,
        "",
        &[("CHANGES", "file"), ("src", "dir")],
    )
    .await;
    serve_file(
        &server,
        repo_name,
        "CHANGES",
        "This file is a placeholder on the development branch.\nRelease notes live on each release branch.\n",
    )
    .await;
    let notes = fetch_notes(
        &client(&server, None),
        &repo(repo_name),
        &image("docker.io/example-org/kvstore"),
        &v("7.2.4"),
        &v("7.2.5"),
    )
    .await
    .unwrap();
    assert!(notes.releases.is_empty());
    assert_eq!(notes.origin(), None);
    assert_eq!(
        notes.missing(repo_name),
        "notes file read but no version headings recognised (CHANGES) in example-org/kvstore"
    );
    let empty = "example-org/empty";
    Mock::given(method("GET"))
        .and(path(format!("/repos/{empty}/releases")))
        .respond_with(json("[]".to_owned()))
        .mount(&server)
        .await;
    serve_listing(&server, empty, "", &[("README.md", "file")]).await;
    let nothing = fetch_notes(
        &client(&server, None),
        &repo(empty),
        &image("docker.io/example-org/empty"),
        &v("1.0.0"),
        &v("1.0.1"),
    )
    .await
    .unwrap();
    assert_eq!(
        nothing.missing(empty),
        "no release notes found in example-org/empty: no releases, no changelog file"
    );
}
