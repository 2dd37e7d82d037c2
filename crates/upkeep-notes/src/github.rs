//! A polite GitHub API client on reqwest (the workspace's one HTTP stack): conditional
//! requests from an ETag cache, pagination by `Link` headers, and rate limits read from the
//! response headers (wait when the reset is near, stop with a clear message when it is not;
//! never hammer).

use crate::cache::{Cache, CachedResponse};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, IF_NONE_MATCH};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// The public GitHub API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The most pages of releases read from one repository (100 releases each).
const MAX_PAGES: usize = 30;

/// A repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoId {
    /// The owner (user or organisation).
    pub owner: String,
    /// The repository name.
    pub name: String,
}

impl RepoId {
    /// Reads `owner/name`; `None` for anything else.
    pub fn parse(text: &str) -> Option<RepoId> {
        let (owner, name) = text.trim().split_once('/')?;
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (valid(owner) && valid(name)).then(|| RepoId {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// How to reach GitHub.
#[derive(Clone)]
pub struct GitHubOptions {
    /// The API base URL (`GITHUB_API_URL`; tests point it at a local server).
    pub api_url: String,
    /// A token (`GITHUB_TOKEN`); sent only to `api_url`, never printed or logged.
    pub token: Option<String>,
    /// Where responses are cached with their ETags; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// The longest wait for a rate limit to reset before giving up.
    pub max_wait: Duration,
    /// Waits for rate limits on a virtual clock instead of sleeping (tests and rehearsals,
    /// `UPKEEP_VIRTUAL_CLOCK`); [`GitHub::waited`] tells how long was waited.
    pub virtual_time: bool,
}

impl fmt::Debug for GitHubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubOptions")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cache_dir", &self.cache_dir)
            .field("max_wait", &self.max_wait)
            .field("virtual_time", &self.virtual_time)
            .finish()
    }
}

impl Default for GitHubOptions {
    fn default() -> Self {
        GitHubOptions {
            api_url: DEFAULT_API_URL.to_owned(),
            token: None,
            cache_dir: None,
            max_wait: Duration::from_secs(60),
            virtual_time: false,
        }
    }
}

/// Why a request to GitHub failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The API URL is not a URL.
    #[error("invalid GitHub API URL `{0}`")]
    BadUrl(String),
    /// The request did not get an answer.
    #[error("cannot reach {url}: {message}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// An answer other than success or not-found.
    #[error("{url} answered {status}: {message}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// The rate limit is exhausted and resets later than the caller is willing to wait.
    #[error(
        "GitHub rate limit exhausted; it resets in {wait_secs} s (at {reset_epoch} Unix time), more than the {max_wait_secs} s upkeep waits. Set GITHUB_TOKEN for a higher limit, or retry later"
    )]
    RateLimited {
        /// When the limit resets, in seconds since the Unix epoch.
        reset_epoch: u64,
        /// Seconds until then.
        wait_secs: u64,
        /// The longest wait allowed.
        max_wait_secs: u64,
    },
    /// The answer was not what the API documents.
    #[error("{url}: unexpected response: {message}")]
    Decode {
        /// The URL requested.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// A pagination link pointed to another host; following it would send the token there.
    #[error("{url}: refusing to follow a pagination link to another host")]
    ForeignLink {
        /// The link.
        url: String,
    },
}

/// A release as the GitHub API lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct GitHubRelease {
    /// The tag (`v1.2.3`, `grafana-8.5.1`).
    pub tag_name: String,
    /// The title.
    #[serde(default)]
    pub name: Option<String>,
    /// The notes (Markdown).
    #[serde(default)]
    pub body: Option<String>,
    /// A draft.
    #[serde(default)]
    pub draft: bool,
    /// A pre-release.
    #[serde(default)]
    pub prerelease: bool,
    /// The release page.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A text file read from a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// Its path in the repository.
    pub path: String,
    /// Its text.
    pub text: String,
    /// The API URL it was read from.
    pub url: String,
}

/// An entry of a repository folder, as the contents API lists it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ContentEntry {
    /// The file or folder name.
    pub name: String,
    /// Its path in the repository.
    pub path: String,
    /// `file`, `dir`, `symlink` or `submodule`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Progress of a paginated listing: pages read so far and, when known, how many there are.
pub type Progress = dyn Fn(usize, Option<usize>) + Send + Sync;

/// The client.
pub struct GitHub {
    http: reqwest::Client,
    /// The API's origin (scheme, host, port); requests and links elsewhere are refused.
    origin: Url,
    /// The API base URL without a trailing slash.
    base: String,
    /// `Bearer <token>`, marked sensitive so it is never logged.
    authorization: Option<HeaderValue>,
    cache: Option<Cache>,
    max_wait: Duration,
    /// The time waited so far on the virtual clock, when waits are virtual.
    virtual_waited: Option<Mutex<Duration>>,
    /// The last rate-limit state seen: remaining requests and reset time.
    limit: Mutex<Option<(u64, u64)>>,
    progress: Option<Box<Progress>>,
}

impl fmt::Debug for GitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHub").field("base", &self.base).finish()
    }
}

enum Answer {
    Found {
        body: String,
        /// The next page of a list.
        next: Option<String>,
        /// How many pages the list has, when known.
        pages: Option<usize>,
    },
    NotFound,
}

impl GitHub {
    /// A client for these options. Requests run on the caller's Tokio runtime.
    pub fn new(options: &GitHubOptions) -> Result<GitHub, FetchError> {
        let base = options.api_url.trim_end_matches('/').to_owned();
        let bad_url = || FetchError::BadUrl(options.api_url.clone());
        let origin = Url::parse(&base).map_err(|_| bad_url())?;
        if !matches!(origin.scheme(), "http" | "https") || origin.host_str().is_none() {
            return Err(bad_url());
        }
        let authorization = match &options.token {
            Some(token) => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                        FetchError::Transport {
                            url: base.clone(),
                            message: "GITHUB_TOKEN holds characters an HTTP header cannot carry"
                                .to_owned(),
                        }
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        // reqwest is built without a TLS provider of its own (one TLS library in the
        // workspace): ring becomes the process's rustls provider unless one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut http = reqwest::Client::builder()
            .user_agent(concat!("upkeep/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30));
        if origin.scheme() == "http" {
            // A plain-HTTP API (a mirror in the cluster, a test server): no certificate is
            // trusted, so the system's CA store is not loaded for nothing.
            http = http.tls_certs_only(Vec::new());
        }
        let http = http.build().map_err(|error| FetchError::Transport {
            url: base.clone(),
            message: cause(&error),
        })?;
        Ok(GitHub {
            http,
            origin,
            base,
            authorization,
            cache: options.cache_dir.as_deref().map(Cache::new),
            max_wait: options.max_wait,
            virtual_waited: options.virtual_time.then(|| Mutex::new(Duration::ZERO)),
            limit: Mutex::new(None),
            progress: None,
        })
    }

    /// Reports the progress of paginated listings to `progress`.
    pub fn with_progress(mut self, progress: Box<Progress>) -> GitHub {
        self.progress = Some(progress);
        self
    }

    /// How long this client has waited for rate limits on the virtual clock (zero when it
    /// waits in real time).
    pub fn waited(&self) -> Duration {
        self.virtual_waited
            .as_ref()
            .map_or(Duration::ZERO, |waited| {
                *waited.lock().unwrap_or_else(|e| e.into_inner())
            })
    }

    /// Whether the repository exists (and is visible).
    pub async fn repo_exists(&self, repo: &RepoId) -> Result<bool, FetchError> {
        let url = format!("{}/repos/{repo}", self.base);
        Ok(matches!(self.get(&url, false).await?, Answer::Found { .. }))
    }

    /// Every release of the repository, following pagination (at most 3,000).
    pub async fn releases(&self, repo: &RepoId) -> Result<Vec<GitHubRelease>, FetchError> {
        let mut url = Some(format!("{}/repos/{repo}/releases?per_page=100", self.base));
        let mut releases = Vec::new();
        let mut page = 0;
        let mut total = None;
        while let Some(current) = url.take() {
            page += 1;
            let Answer::Found { body, next, pages } = self.get(&current, false).await? else {
                break;
            };
            let mut listed: Vec<GitHubRelease> =
                serde_json::from_str(&body).map_err(|error| FetchError::Decode {
                    url: current.clone(),
                    message: error.to_string(),
                })?;
            releases.append(&mut listed);
            if let Some(progress) = &self.progress {
                total = pages.or(total);
                progress(page, total);
            }
            if page >= MAX_PAGES {
                tracing::warn!(%repo, pages = page, "stopped listing releases after {MAX_PAGES} pages");
                break;
            }
            url = next;
        }
        Ok(releases)
    }

    /// The entries of a folder of the repository (`""` for the root), or `None` when there
    /// is no such folder.
    pub async fn list(
        &self,
        repo: &RepoId,
        folder: &str,
    ) -> Result<Option<Vec<ContentEntry>>, FetchError> {
        let folder = folder.trim_matches('/');
        let url = if folder.is_empty() {
            format!("{}/repos/{repo}/contents", self.base)
        } else {
            format!("{}/repos/{repo}/contents/{folder}", self.base)
        };
        let Answer::Found { body, .. } = self.get(&url, false).await? else {
            return Ok(None);
        };
        match serde_json::from_str::<Vec<ContentEntry>>(&body) {
            Ok(entries) => Ok(Some(entries)),
            // A file's path answers with one object: that is no folder.
            Err(_) if body.trim_start().starts_with('{') => Ok(None),
            Err(error) => Err(FetchError::Decode {
                url,
                message: error.to_string(),
            }),
        }
    }

    /// A text file of the repository, or `None` when it does not exist.
    pub async fn file(&self, repo: &RepoId, path: &str) -> Result<Option<RepoFile>, FetchError> {
        let url = format!("{}/repos/{repo}/contents/{path}", self.base);
        Ok(match self.get(&url, true).await? {
            Answer::Found { body, .. } => Some(RepoFile {
                path: path.to_owned(),
                text: body,
                url,
            }),
            Answer::NotFound => None,
        })
    }

    /// Whether `url` is on the API's origin (same scheme, host and port).
    fn on_origin(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|url| {
            url.scheme() == self.origin.scheme()
                && url.host_str() == self.origin.host_str()
                && url.port_or_known_default() == self.origin.port_or_known_default()
        })
    }

    /// GETs `url` (raw file content when `raw`), conditionally when cached, waiting out or
    /// refusing rate limits.
    async fn get(&self, url: &str, raw: bool) -> Result<Answer, FetchError> {
        if !self.on_origin(url) {
            return Err(FetchError::ForeignLink {
                url: url.to_owned(),
            });
        }
        let key = if raw {
            format!("{url}#raw")
        } else {
            url.to_owned()
        };
        let cached = self.cache.as_ref().and_then(|cache| cache.get(&key));
        let transport = |error: reqwest::Error| FetchError::Transport {
            url: url.to_owned(),
            message: cause(&error),
        };
        for _attempt in 0..3 {
            self.wait_for_reset().await?;
            let accept = if raw {
                "application/vnd.github.raw+json"
            } else {
                "application/vnd.github+json"
            };
            let mut request = self
                .http
                .get(url)
                .header(ACCEPT, accept)
                .header("x-github-api-version", "2022-11-28");
            if let Some(authorization) = &self.authorization {
                request = request.header(AUTHORIZATION, authorization.clone());
            }
            if let Some(etag) = cached
                .as_ref()
                .and_then(|c| HeaderValue::from_str(&c.etag).ok())
            {
                request = request.header(IF_NONE_MATCH, etag);
            }
            let response = request.send().await.map_err(transport)?;
            let status = response.status();
            let headers = response.headers().clone();
            self.note_limit(&headers);
            tracing::debug!(url, status = status.as_u16(), "GitHub request");
            if status == StatusCode::NOT_MODIFIED
                && let Some(entry) = &cached
            {
                return Ok(Answer::Found {
                    body: entry.body.clone(),
                    next: entry.next.clone(),
                    pages: entry.pages,
                });
            }
            if let Some(wait) = self.rate_limited(status, &headers) {
                self.wait_or_refuse(wait).await?;
                continue;
            }
            let body = response.text().await.map_err(transport)?;
            if status == StatusCode::NOT_FOUND {
                return Ok(Answer::NotFound);
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status: status.as_u16(),
                    message: github_message(&body),
                });
            }
            let next = link(&headers, "next");
            let pages = link(&headers, "last").and_then(|last| page_number(&last));
            if let (Some(cache), Some(etag)) = (&self.cache, header(&headers, "etag")) {
                cache.put(&CachedResponse {
                    url: key.clone(),
                    etag: etag.to_owned(),
                    body: body.clone(),
                    next: next.clone(),
                    pages,
                });
            }
            return Ok(Answer::Found { body, next, pages });
        }
        Err(FetchError::Status {
            url: url.to_owned(),
            status: 429,
            message: "still rate limited after waiting".to_owned(),
        })
    }

    /// Remembers the rate-limit headers of a response.
    fn note_limit(&self, headers: &HeaderMap) {
        let remaining = header(headers, "x-ratelimit-remaining").and_then(|v| v.parse().ok());
        let reset = header(headers, "x-ratelimit-reset").and_then(|v| v.parse().ok());
        if let (Some(remaining), Some(reset)) = (remaining, reset) {
            *self.limit.lock().unwrap_or_else(|e| e.into_inner()) = Some((remaining, reset));
        }
    }

    /// Now, in seconds since the Unix epoch, on this client's clock.
    fn now(&self) -> u64 {
        now() + self.waited().as_secs()
    }

    /// Seconds to wait when a response is a rate-limit refusal (primary: no requests
    /// remaining; secondary: `retry-after`), else `None`.
    fn rate_limited(&self, status: StatusCode, headers: &HeaderMap) -> Option<u64> {
        if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        if let Some(retry_after) = header(headers, "retry-after").and_then(|v| v.parse().ok()) {
            return Some(retry_after);
        }
        let remaining: Option<u64> =
            header(headers, "x-ratelimit-remaining").and_then(|v| v.parse().ok());
        let reset: Option<u64> = header(headers, "x-ratelimit-reset").and_then(|v| v.parse().ok());
        match (remaining, reset) {
            (Some(0), Some(reset)) => Some(reset.saturating_sub(self.now())),
            _ => None,
        }
    }

    /// Before a request: when the last response said no requests remain, waits for the reset
    /// or refuses.
    async fn wait_for_reset(&self) -> Result<(), FetchError> {
        let limit = *self.limit.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.now();
        match limit {
            Some((0, reset)) if reset > now => self.wait_or_refuse(reset - now).await,
            _ => Ok(()),
        }
    }

    /// Waits `wait_secs` if that is within the allowed wait, else returns the error saying
    /// when the limit resets.
    async fn wait_or_refuse(&self, wait_secs: u64) -> Result<(), FetchError> {
        if wait_secs > self.max_wait.as_secs() {
            return Err(FetchError::RateLimited {
                reset_epoch: self.now() + wait_secs,
                wait_secs,
                max_wait_secs: self.max_wait.as_secs(),
            });
        }
        tracing::info!(
            wait_secs,
            "GitHub rate limit reached; waiting for the reset"
        );
        match &self.virtual_waited {
            Some(waited) => {
                *waited.lock().unwrap_or_else(|e| e.into_inner()) += Duration::from_secs(wait_secs);
            }
            None => tokio::time::sleep(Duration::from_secs(wait_secs)).await,
        }
        *self.limit.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}

/// Why a request got no answer, in a few words and once: `timed out`, or the innermost
/// cause (`Connection refused (os error 111)`). The caller names the URL.
fn cause(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The URL of `rel` in a `Link` header.
fn link(headers: &HeaderMap, rel: &str) -> Option<String> {
    let value = header(headers, "link")?;
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let wanted = format!("rel=\"{rel}\"");
        params
            .split(';')
            .any(|param| param.trim() == wanted)
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// The `page` parameter of a pagination URL.
fn page_number(url: &str) -> Option<usize> {
    url.split(['?', '&'])
        .find_map(|param| param.strip_prefix("page="))?
        .parse()
        .ok()
}

/// GitHub's `message` field of an error body, or the start of the body.
fn github_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    serde_json::from_str::<Message>(body)
        .map(|m| m.message)
        .unwrap_or_else(|_| body.chars().take(200).collect())
}
