//! A polite GitHub API client on octocrab: conditional requests from an ETag cache,
//! pagination by `Link` headers, and rate limits read from the response headers (wait when
//! the reset is near, stop with a clear message when it is not; never hammer).

use crate::cache::{Cache, CachedResponse};
use http::header::{ACCEPT, HeaderMap, HeaderValue, IF_NONE_MATCH};
use http::{StatusCode, Uri};
use octocrab::Octocrab;
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
}

impl fmt::Debug for GitHubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubOptions")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cache_dir", &self.cache_dir)
            .field("max_wait", &self.max_wait)
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

/// Progress of a paginated listing: pages read so far and, when known, how many there are.
pub type Progress = dyn Fn(usize, Option<usize>) + Send + Sync;

/// The client.
pub struct GitHub {
    crab: Octocrab,
    /// Scheme and authority of the API; requests and links elsewhere are refused.
    origin: String,
    /// The API base URL without a trailing slash.
    base: String,
    cache: Option<Cache>,
    max_wait: Duration,
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
    /// A client for these options. Must be called within a Tokio runtime (the HTTP stack
    /// spawns its worker there).
    pub fn new(options: &GitHubOptions) -> Result<GitHub, FetchError> {
        let base = options.api_url.trim_end_matches('/').to_owned();
        let uri: Uri = base
            .parse()
            .map_err(|_| FetchError::BadUrl(options.api_url.clone()))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(FetchError::BadUrl(options.api_url.clone()));
        };
        let origin = format!("{scheme}://{authority}");
        let mut builder = Octocrab::builder()
            .base_uri(base.as_str())
            .map_err(|_| FetchError::BadUrl(options.api_url.clone()))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)));
        if let Some(token) = &options.token {
            builder = builder.personal_token(token.clone());
        }
        let crab = builder.build().map_err(|error| FetchError::Transport {
            url: base.clone(),
            message: error.to_string(),
        })?;
        Ok(GitHub {
            crab,
            origin,
            base,
            cache: options.cache_dir.as_deref().map(Cache::new),
            max_wait: options.max_wait,
            limit: Mutex::new(None),
            progress: None,
        })
    }

    /// Reports the progress of paginated listings to `progress`.
    pub fn with_progress(mut self, progress: Box<Progress>) -> GitHub {
        self.progress = Some(progress);
        self
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

    /// The first of the changelog files `paths` the repository has, as text.
    pub async fn changelog(
        &self,
        repo: &RepoId,
        paths: &[&str],
    ) -> Result<Option<RepoFile>, FetchError> {
        for path in paths {
            let url = format!("{}/repos/{repo}/contents/{path}", self.base);
            if let Answer::Found { body, .. } = self.get(&url, true).await? {
                return Ok(Some(RepoFile {
                    path: (*path).to_owned(),
                    text: body,
                    url,
                }));
            }
        }
        Ok(None)
    }

    /// GETs `url` (raw file content when `raw`), conditionally when cached, waiting out or
    /// refusing rate limits.
    async fn get(&self, url: &str, raw: bool) -> Result<Answer, FetchError> {
        if !url.starts_with(&self.origin) {
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
        for _attempt in 0..3 {
            self.wait_for_reset().await?;
            let mut headers = HeaderMap::new();
            let accept = if raw {
                "application/vnd.github.raw+json"
            } else {
                "application/vnd.github+json"
            };
            headers.insert(ACCEPT, HeaderValue::from_static(accept));
            headers.insert(
                "x-github-api-version",
                HeaderValue::from_static("2022-11-28"),
            );
            if let Some(etag) = cached
                .as_ref()
                .and_then(|c| HeaderValue::from_str(&c.etag).ok())
            {
                headers.insert(IF_NONE_MATCH, etag);
            }
            let response = self
                .crab
                ._get_with_headers(url, Some(headers))
                .await
                .map_err(|error| FetchError::Transport {
                    url: url.to_owned(),
                    message: error.to_string(),
                })?;
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
            if let Some(wait) = rate_limited(status, &headers) {
                self.wait_or_refuse(wait).await?;
                continue;
            }
            let body = self.crab.body_to_string(response).await.map_err(|error| {
                FetchError::Transport {
                    url: url.to_owned(),
                    message: error.to_string(),
                }
            })?;
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

    /// Before a request: when the last response said no requests remain, waits for the reset
    /// or refuses.
    async fn wait_for_reset(&self) -> Result<(), FetchError> {
        let limit = *self.limit.lock().unwrap_or_else(|e| e.into_inner());
        match limit {
            Some((0, reset)) if reset > now() => self.wait_or_refuse(reset - now()).await,
            _ => Ok(()),
        }
    }

    /// Waits `wait_secs` if that is within the allowed wait, else returns the error saying
    /// when the limit resets.
    async fn wait_or_refuse(&self, wait_secs: u64) -> Result<(), FetchError> {
        if wait_secs > self.max_wait.as_secs() {
            return Err(FetchError::RateLimited {
                reset_epoch: now() + wait_secs,
                wait_secs,
                max_wait_secs: self.max_wait.as_secs(),
            });
        }
        tracing::info!(
            wait_secs,
            "GitHub rate limit reached; waiting for the reset"
        );
        tokio::time::sleep(Duration::from_secs(wait_secs)).await;
        *self.limit.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Seconds to wait when a response is a rate-limit refusal (primary: no requests remaining;
/// secondary: `retry-after`), else `None`.
fn rate_limited(status: StatusCode, headers: &HeaderMap) -> Option<u64> {
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
        (Some(0), Some(reset)) => Some(reset.saturating_sub(now())),
        _ => None,
    }
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
