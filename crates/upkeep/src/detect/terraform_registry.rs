//! Versions of Terraform providers and modules, by the registry protocol: service discovery
//! (`/.well-known/terraform.json`), then `<providers.v1><namespace>/<type>/versions` and
//! `<modules.v1><namespace>/<name>/<system>/versions`.

use crate::config::Registry as RegistryConfig;
use crate::detect::http_retry::{Cause, Http, HttpError};
use anyhow::{anyhow, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The host Terraform assumes when a source names none.
const DEFAULT_HOST: &str = "registry.terraform.io";

/// The registry client; shared by the worker threads of `outdated`.
pub struct TerraformRegistry {
    http: Http,
    /// Base URL of the default registry (`terraform_registry_url`, else registry.terraform.io).
    default_base: String,
    /// Other hosts redirected by the config's `registries:`.
    hosts: BTreeMap<String, RegistryConfig>,
    /// Discovered service URLs by base URL.
    services: Mutex<BTreeMap<String, Services>>,
}

/// The answer of service discovery.
#[derive(Debug, Clone, Deserialize)]
struct Services {
    #[serde(rename = "providers.v1")]
    providers: Option<String>,
    #[serde(rename = "modules.v1")]
    modules: Option<String>,
}

/// What is listed.
#[derive(Debug, Clone, Copy)]
enum Service {
    Providers,
    Modules,
}

impl TerraformRegistry {
    /// A client over `http`; `default_base` replaces `https://registry.terraform.io`.
    pub fn new(
        default_base: Option<&str>,
        hosts: &BTreeMap<String, RegistryConfig>,
        http: &Http,
    ) -> anyhow::Result<TerraformRegistry> {
        Ok(TerraformRegistry {
            http: http.clone(),
            default_base: default_base
                .unwrap_or("https://registry.terraform.io")
                .trim_end_matches('/')
                .to_owned(),
            hosts: hosts.clone(),
            services: Mutex::new(BTreeMap::new()),
        })
    }

    /// Versions of a provider, by canonical name (`registry.terraform.io/hashicorp/helm`).
    pub fn provider_versions(&self, canonical: &str) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Answer {
            versions: Vec<Version>,
        }
        let (base, path) = self.split(canonical, 2)?;
        let url = self.service_url(&base, Service::Providers)? + &path + "/versions";
        let answer: Answer = self.get_json(&url)?;
        Ok(answer.versions.into_iter().map(|v| v.version).collect())
    }

    /// Versions of a module, by canonical name
    /// (`registry.terraform.io/terraform-aws-modules/vpc/aws`).
    pub fn module_versions(&self, canonical: &str) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Answer {
            modules: Vec<Module>,
        }
        #[derive(Deserialize)]
        struct Module {
            versions: Vec<Version>,
        }
        let (base, path) = self.split(canonical, 3)?;
        let url = self.service_url(&base, Service::Modules)? + &path + "/versions";
        let answer: Answer = self.get_json(&url)?;
        Ok(answer
            .modules
            .into_iter()
            .flat_map(|m| m.versions)
            .map(|v| v.version)
            .collect())
    }

    /// The base URL of the registry holding `canonical` and the address inside it, which
    /// must have `parts` segments.
    fn split(&self, canonical: &str, parts: usize) -> anyhow::Result<(String, String)> {
        let (host, address) = canonical
            .split_once('/')
            .ok_or_else(|| anyhow!("`{canonical}` has no registry host"))?;
        if address.split('/').count() != parts || address.split('/').any(str::is_empty) {
            bail!("`{canonical}` is not a registry address");
        }
        let base =
            RegistryConfig::configured_base(&self.hosts, host).unwrap_or_else(|| match host {
                DEFAULT_HOST => self.default_base.clone(),
                _ => format!("https://{host}"),
            });
        Ok((base, address.to_owned()))
    }

    /// The URL of a service at `base`, discovered once per base. A registry without a
    /// discovery document is assumed to serve the usual paths.
    fn service_url(&self, base: &str, service: Service) -> anyhow::Result<String> {
        let known = self
            .services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(base)
            .cloned();
        let services = match known {
            Some(services) => services,
            None => {
                let url = format!("{base}/.well-known/terraform.json");
                let response = self.http.get(&url, |r| r)?;
                let services = if response.status() == reqwest::StatusCode::NOT_FOUND {
                    Services {
                        providers: Some("/v1/providers/".to_owned()),
                        modules: Some("/v1/modules/".to_owned()),
                    }
                } else if response.status().is_success() {
                    response.json().map_err(|e| {
                        HttpError::other(
                            &url,
                            Cause::Answer,
                            format!("{url} is not a discovery document: {e}"),
                        )
                    })?
                } else {
                    return Err(HttpError::status(&url, response.status()).into());
                };
                self.services
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(base.to_owned(), services.clone());
                services
            }
        };
        let (path, name) = match service {
            Service::Providers => (services.providers, "providers.v1"),
            Service::Modules => (services.modules, "modules.v1"),
        };
        let path = path.ok_or_else(|| anyhow!("{base} offers no {name} service"))?;
        let joined = if path.starts_with("http://") || path.starts_with("https://") {
            path
        } else {
            format!("{base}/{}", path.trim_start_matches('/'))
        };
        Ok(if joined.ends_with('/') {
            joined
        } else {
            joined + "/"
        })
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let response = self.http.get(url, |r| r)?;
        let status = response.status();
        if !status.is_success() {
            return Err(HttpError::status(url, status).into());
        }
        response.json().map_err(|e| {
            HttpError::other(
                url,
                Cause::Answer,
                format!("{url} did not answer the registry's JSON: {e}"),
            )
            .into()
        })
    }
}

/// One version in a list.
#[derive(Deserialize)]
struct Version {
    version: String,
}
