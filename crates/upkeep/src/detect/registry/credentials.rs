//! Registry credentials, per host: from the environment (`UPKEEP_REGISTRY_USERNAME` and
//! `UPKEEP_REGISTRY_PASSWORD`, for the hosts listed in `UPKEEP_REGISTRY_HOSTS`), else from
//! Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
//! `auths`, then `credHelpers` / `credsStore` through `docker-credential-<helper> get`.
//!
//! Credentials are only ever looked up for the host an image names, so one registry's
//! password is never sent to another.

use crate::child_env::{self, Child};
use anyhow::{Context, anyhow};
use base64::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// A user name and password (or token).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name.
    pub username: String,
    /// The password or access token.
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Docker's `config.json`, the parts that hold credentials.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Where credentials come from; built once per run.
#[derive(Debug, Default)]
pub struct Credentials {
    /// The environment's credential and the hosts it is for.
    env: Option<(Vec<String>, Credential)>,
    docker: DockerConfig,
    /// What the credential helpers answered, by host.
    asked: Mutex<BTreeMap<String, Option<Credential>>>,
}

impl Credentials {
    /// Reads the environment and Docker's config file. A config file that cannot be read is
    /// an error naming it: silently going anonymous would hide a typo.
    pub fn load() -> anyhow::Result<Credentials> {
        let env = match (
            std::env::var("UPKEEP_REGISTRY_USERNAME"),
            std::env::var("UPKEEP_REGISTRY_PASSWORD"),
        ) {
            (Ok(username), Ok(password)) => {
                let hosts: Vec<String> = std::env::var("UPKEEP_REGISTRY_HOSTS")
                    .unwrap_or_default()
                    .split(',')
                    .map(|host| host.trim().to_owned())
                    .filter(|host| !host.is_empty())
                    .collect();
                if hosts.is_empty() {
                    anyhow::bail!(
                        "UPKEEP_REGISTRY_USERNAME is set but UPKEEP_REGISTRY_HOSTS is not: name the registry hosts the credential is for"
                    );
                }
                Some((hosts, Credential { username, password }))
            }
            _ => None,
        };
        let docker = match docker_config_path() {
            Some(path) if path.exists() => read_docker_config(&path)?,
            _ => DockerConfig::default(),
        };
        Ok(Credentials {
            env,
            docker,
            asked: Mutex::default(),
        })
    }

    /// The credential for a registry host as written in images (`ghcr.io`, `docker.io`,
    /// `registry.lan:5000`), if any.
    pub fn for_host(&self, host: &str) -> anyhow::Result<Option<Credential>> {
        if let Some((hosts, credential)) = &self.env
            && hosts.iter().any(|h| h == host)
        {
            return Ok(Some(credential.clone()));
        }
        let keys = docker_keys(host);
        for key in &keys {
            if let Some(entry) = self
                .docker
                .auths
                .iter()
                .find(|(name, _)| normalize_key(name) == *key)
                .map(|(_, entry)| entry)
                && let Some(credential) = decode_entry(entry)?
            {
                return Ok(Some(credential));
            }
        }
        let helper = keys
            .iter()
            .find_map(|key| self.docker.cred_helpers.get(key.as_str()))
            .or(self.docker.creds_store.as_ref());
        let Some(helper) = helper else {
            return Ok(None);
        };
        // One helper run per host and run, however many images the host serves.
        let mut asked = self.asked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = asked.get(host) {
            return Ok(known.clone());
        }
        let credential = ask_helper(helper, &keys[0])?;
        asked.insert(host.to_owned(), credential.clone());
        Ok(credential)
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

fn read_docker_config(path: &Path) -> anyhow::Result<DockerConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// The keys Docker files a host under: Docker Hub is `https://index.docker.io/v1/`.
fn docker_keys(host: &str) -> Vec<String> {
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => vec![
            "https://index.docker.io/v1/".to_owned(),
            "index.docker.io".to_owned(),
            "docker.io".to_owned(),
        ],
        _ => vec![host.to_owned()],
    }
}

/// `https://ghcr.io/v2/` and `ghcr.io` name the same host; Docker Hub's key stays whole.
fn normalize_key(key: &str) -> String {
    if key == "https://index.docker.io/v1/" {
        return key.to_owned();
    }
    let bare = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    bare.split('/').next().unwrap_or(bare).to_owned()
}

fn decode_entry(entry: &AuthEntry) -> anyhow::Result<Option<Credential>> {
    if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
        return Ok(Some(Credential {
            username: username.clone(),
            password: password.clone(),
        }));
    }
    let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .context("an `auth` entry of the Docker config is not base64")?;
    let text = String::from_utf8(bytes)
        .context("an `auth` entry of the Docker config is not UTF-8 after decoding")?;
    let (username, password) = text
        .split_once(':')
        .ok_or_else(|| anyhow!("an `auth` entry of the Docker config is not `user:password`"))?;
    Ok(Some(Credential {
        username: username.to_owned(),
        password: password.to_owned(),
    }))
}

/// Runs `docker-credential-<helper> get` with the server on stdin. A helper that knows no
/// credential for the server answers non-zero: that is "anonymous", not an error.
fn ask_helper(helper: &str, server: &str) -> anyhow::Result<Option<Credential>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let program = format!("docker-credential-{helper}");
    let mut child = match Command::new(&program)
        .arg("get")
        .env_clear()
        .envs(child_env::of(Child::Tool))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!(%program, %error, "cannot run the Docker credential helper; going anonymous");
            });
            return Ok(None);
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(server.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Ok(None);
    }
    let answer: Answer = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{program} answered something that is not its JSON"))?;
    Ok(Some(Credential {
        username: answer.username,
        password: answer.secret,
    }))
}

#[cfg(test)]
mod tests {
    use super::{AuthEntry, Credentials, DockerConfig, decode_entry, normalize_key};

    fn docker(json: &str) -> Credentials {
        Credentials {
            env: None,
            docker: serde_json::from_str::<DockerConfig>(json).unwrap(),
            asked: Default::default(),
        }
    }

    #[test]
    fn auths_are_found_by_host_and_decoded() {
        // "robot:s3cret" and "hub-user:hub-pass", base64.
        let credentials = docker(
            r#"{"auths":{"https://ghcr.io/v2/":{"auth":"cm9ib3Q6czNjcmV0"},
                "https://index.docker.io/v1/":{"auth":"aHViLXVzZXI6aHViLXBhc3M="},
                "registry.lan:5000":{"username":"ci","password":"pw"}}}"#,
        );
        let ghcr = credentials.for_host("ghcr.io").unwrap().unwrap();
        assert_eq!(
            (ghcr.username.as_str(), ghcr.password.as_str()),
            ("robot", "s3cret")
        );
        let hub = credentials.for_host("docker.io").unwrap().unwrap();
        assert_eq!(hub.username, "hub-user");
        let lan = credentials.for_host("registry.lan:5000").unwrap().unwrap();
        assert_eq!(lan.password, "pw");
        assert_eq!(credentials.for_host("quay.io").unwrap(), None);
        assert!(!format!("{ghcr:?}").contains("s3cret"));
    }

    #[test]
    fn a_missing_helper_means_anonymous() {
        let credentials = docker(r#"{"credHelpers":{"ghcr.io":"upkeep-test-no-such-helper"}}"#);
        assert_eq!(credentials.for_host("ghcr.io").unwrap(), None);
    }

    #[test]
    fn broken_entries_are_errors() {
        let entry = AuthEntry {
            auth: Some("%%%".to_owned()),
            ..AuthEntry::default()
        };
        assert!(decode_entry(&entry).is_err());
        assert_eq!(
            normalize_key("https://registry.lan:5000/v2/"),
            "registry.lan:5000"
        );
    }
}
