//! A client of the OCI / Docker Registry HTTP API v2, enough to list an image's tags: the
//! anonymous bearer-token flow of Docker Hub, ghcr.io, lscr.io and quay.io, registries that
//! ask for Basic credentials, `Link` pagination, retries with backoff on 429 and 5xx honouring
//! `Retry-After`, and the hosts the config redirects. Credentials are per host (see
//! [`credentials`]).

mod credentials;
mod labels;

use crate::config::Registry as RegistryConfig;
use crate::detect::http_retry::{Cause, Http, HttpError};
use anyhow::{Context, anyhow, bail};
use credentials::{Credential, Credentials};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The client; shared by the worker threads of `outdated`.
pub struct Registries {
    http: Http,
    hosts: BTreeMap<String, RegistryConfig>,
    credentials: Credentials,
    /// Bearer tokens by `realm?service&scope`.
    tokens: Mutex<BTreeMap<String, String>>,
}

impl Registries {
    /// A client over `http`; `hosts` maps a registry host as written in images to where to
    /// reach it.
    pub fn new(
        hosts: &BTreeMap<String, RegistryConfig>,
        http: &Http,
    ) -> anyhow::Result<Registries> {
        Ok(Registries {
            http: http.clone(),
            hosts: hosts.clone(),
            credentials: Credentials::load()?,
            tokens: Mutex::new(BTreeMap::new()),
        })
    }

    /// The API base URL and repository of a canonical image name
    /// (`docker.io/library/postgres` → `https://registry-1.docker.io`, `library/postgres`).
    fn locate(&self, canonical: &str) -> anyhow::Result<Located> {
        let (host, repository) = canonical
            .split_once('/')
            .ok_or_else(|| anyhow!("`{canonical}` has no registry host"))?;
        let base =
            RegistryConfig::configured_base(&self.hosts, host).unwrap_or_else(|| match host {
                "docker.io" => "https://registry-1.docker.io".to_owned(),
                _ => format!("https://{host}"),
            });
        Ok(Located {
            host: host.to_owned(),
            base,
            repository: repository.to_owned(),
        })
    }

    /// Every tag of the image, following pagination.
    pub fn tags(&self, canonical: &str) -> anyhow::Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let located = self.locate(canonical)?;
        let Located {
            base, repository, ..
        } = &located;
        let mut url = Some(format!("{base}/v2/{repository}/tags/list?n=1000"));
        let mut tags = Vec::new();
        let mut pages = 0;
        while let Some(current) = url.take() {
            pages += 1;
            if pages > 50 {
                bail!("{canonical}: more than 50 pages of tags");
            }
            let response = self.get(&current, &located)?;
            let next = response
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .map(|link| {
                    if link.starts_with('/') {
                        format!("{base}{link}")
                    } else {
                        link
                    }
                });
            let list: TagList = response.json().map_err(|e| {
                HttpError::other(
                    &current,
                    Cause::Answer,
                    format!("the tag list is not JSON ({current}): {e}"),
                )
            })?;
            tags.extend(list.tags.unwrap_or_default());
            url = next;
        }
        Ok(tags)
    }

    /// GET with the registry's authentication dance and retries.
    fn get(&self, url: &str, located: &Located) -> anyhow::Result<reqwest::blocking::Response> {
        self.get_accepting(url, located, None)
    }

    /// [`Registries::get`] with an `Accept` header (the manifest media types asked for).
    fn get_accepting(
        &self,
        url: &str,
        located: &Located,
        accept: Option<&str>,
    ) -> anyhow::Result<reqwest::blocking::Response> {
        let mut auth: Option<Auth> = None;
        loop {
            let response = self.http.get(url, |request| {
                let request = match accept {
                    Some(accept) => request.header("accept", accept),
                    None => request,
                };
                match &auth {
                    Some(Auth::Bearer(token)) => request.bearer_auth(token),
                    Some(Auth::Basic(credential)) => {
                        request.basic_auth(&credential.username, Some(&credential.password))
                    }
                    None => request,
                }
            })?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == reqwest::StatusCode::UNAUTHORIZED && auth.is_none() {
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        HttpError::other(
                            url,
                            Cause::Auth,
                            "answered 401 Unauthorized without a WWW-Authenticate challenge",
                        )
                    })?;
                let credential = self.credentials.for_host(&located.host)?;
                auth = Some(if challenge.trim_start().starts_with("Basic") {
                    Auth::Basic(credential.ok_or_else(|| {
                        HttpError::other(
                            url,
                            Cause::Auth,
                            format!(
                                "{} asks for credentials and none are configured for it",
                                located.host
                            ),
                        )
                    })?)
                } else {
                    Auth::Bearer(self.token(&challenge, &located.repository, credential)?)
                });
                continue;
            }
            return Err(HttpError::status(url, status).into());
        }
    }

    /// A bearer token for the challenge `Bearer realm="…",service="…",scope="…"`.
    fn token(
        &self,
        challenge: &str,
        repository: &str,
        credential: Option<Credential>,
    ) -> anyhow::Result<String> {
        let params = challenge_params(challenge)?;
        let realm = params
            .get("realm")
            .ok_or_else(|| anyhow!("no realm in `{challenge}`"))?;
        let scope = params
            .get("scope")
            .cloned()
            .unwrap_or_else(|| format!("repository:{repository}:pull"));
        let mut query = vec![("scope", scope)];
        if let Some(service) = params.get("service") {
            query.push(("service", service.clone()));
        }
        let who = credential.as_ref().map(|c| c.username.as_str());
        let key = format!("{realm}?{query:?}&{who:?}");
        if let Some(token) = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(token.clone());
        }
        let url = reqwest::Url::parse_with_params(realm, &query)
            .with_context(|| format!("`{realm}` is not a URL"))?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer = self
            .http
            .get(url.as_str(), |request| match &credential {
                Some(c) => request.basic_auth(&c.username, Some(&c.password)),
                None => request,
            })
            .map_err(|e| e.context(format!("cannot get a registry token from {realm}")))?;
        if !answer.status().is_success() {
            let refused = HttpError::status(url.as_str(), answer.status());
            return Err(HttpError {
                cause: Cause::Auth,
                detail: format!("the token service {}", refused.detail),
                ..refused
            }
            .into());
        }
        let answer: Token = answer.json().map_err(|e| {
            HttpError::other(
                url.as_str(),
                Cause::Answer,
                format!("the token answer of {realm} is not JSON: {e}"),
            )
        })?;
        let token = answer
            .token
            .or(answer.access_token)
            .ok_or_else(|| anyhow!("{realm} gave no token"))?;
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, token.clone());
        Ok(token)
    }
}

/// Where an image's tags are asked for.
struct Located {
    /// The registry host as written in the image (`docker.io`); credentials are looked up by it.
    host: String,
    /// The API base URL.
    base: String,
    /// The repository path (`library/postgres`).
    repository: String,
}

/// How a request authenticates.
enum Auth {
    Bearer(String),
    Basic(Credential),
}

/// The parameters of a `Bearer a="b",c="d"` challenge.
fn challenge_params(challenge: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let rest = challenge
        .trim()
        .strip_prefix("Bearer ")
        .ok_or_else(|| anyhow!("unsupported registry challenge `{challenge}`"))?;
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let after = after.trim_start();
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted
                    .find('"')
                    .ok_or_else(|| anyhow!("unclosed quote in `{challenge}`"))?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        params.insert(
            key.trim().trim_start_matches(',').trim().to_owned(),
            value.to_owned(),
        );
        rest = tail.trim_start_matches([',', ' ']);
    }
    Ok(params)
}

/// The `rel="next"` target of a `Link` header.
fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::{challenge_params, next_link};

    #[test]
    fn challenges_of_the_big_registries_are_read() {
        let hub = challenge_params(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/postgres:pull""#).unwrap();
        assert_eq!(hub["realm"], "https://auth.docker.io/token");
        assert_eq!(hub["service"], "registry.docker.io");
        assert_eq!(hub["scope"], "repository:library/postgres:pull");
        let ghcr = challenge_params(r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:immich-app/immich-server:pull""#).unwrap();
        assert_eq!(ghcr["service"], "ghcr.io");
        assert!(challenge_params("Basic realm=\"x\"").is_err());
    }

    #[test]
    fn next_links_are_found() {
        assert_eq!(
            next_link(r#"</v2/library/postgres/tags/list?last=16.4&n=1000>; rel="next""#)
                .as_deref(),
            Some("/v2/library/postgres/tags/list?last=16.4&n=1000")
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="prev""#), None);
    }
}
