//! Where a pin's published versions are listed, and the clients that list them: image and
//! OCI chart tags from registries, classic chart versions from `index.yaml`, providers and
//! modules from the Terraform registry.

use crate::config::Config;
use crate::detect::chart_index::ChartIndexes;
use crate::detect::http_retry::Http;
use crate::detect::registry::Registries;
use crate::detect::terraform_registry::TerraformRegistry;
use crate::dirs::default_cache_dir;
use upkeep_notes::Cache;
use upkeep_pins::{Pin, PinKind, PinStatus};

/// One list of versions to fetch; pins sharing it are fetched once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lookup {
    /// Tags of an image (canonical name).
    Image(String),
    /// Tags of a chart in an OCI registry (canonical name, `host/path/chart`).
    OciChart(String),
    /// A chart in a classic repository.
    Chart {
        /// The repository URL.
        repository: String,
        /// The chart name.
        chart: String,
    },
    /// A provider (canonical name, `host/namespace/type`).
    Provider(String),
    /// A registry module (canonical name, `host/namespace/name/system`).
    Module(String),
    /// Tags of a module's git repository (its URL).
    GitTags(String),
}

impl Lookup {
    /// Where the versions of `pin` are listed, or why it cannot be checked.
    pub fn of(pin: &Pin) -> Result<Lookup, String> {
        if pin.status != PinStatus::Pinned {
            let status = serde_json::to_value(pin.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            return Err(format!("not one version ({status})"));
        }
        if let Some(why) = expression_in_name(pin) {
            return Err(why);
        }
        match pin.kind {
            PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage => {
                Ok(Lookup::Image(pin.canonical.clone()))
            }
            PinKind::HelmChart => match pin.repository.as_deref() {
                Some(repository) if repository.starts_with("oci://") => {
                    Ok(Lookup::OciChart(pin.canonical.clone()))
                }
                Some(repository)
                    if repository.starts_with("https://") || repository.starts_with("http://") =>
                {
                    Ok(Lookup::Chart {
                        repository: repository.to_owned(),
                        chart: pin.name.clone(),
                    })
                }
                _ => Err("a chart without a repository URL".to_owned()),
            },
            PinKind::Provider => Ok(Lookup::Provider(pin.canonical.clone())),
            PinKind::Module => match git_url(&pin.name) {
                Some(url) => Ok(Lookup::GitTags(url)),
                None if pin.canonical.split('/').count() == 4 => {
                    Ok(Lookup::Module(pin.canonical.clone()))
                }
                None => Err("a module source that is neither git nor a registry".to_owned()),
            },
            PinKind::Artifact => Err("no registry is known for this kind of artifact".to_owned()),
        }
    }

    /// Where the versions come from, for the report: a registry host or a repository URL.
    pub fn source(&self) -> &str {
        match self {
            Lookup::Image(name)
            | Lookup::OciChart(name)
            | Lookup::Provider(name)
            | Lookup::Module(name) => name.split('/').next().unwrap_or(name),
            Lookup::Chart { repository, .. } | Lookup::GitTags(repository) => repository,
        }
    }

    /// Whether the pin may name fewer parts than the versions published (`~> 2.35` for
    /// 2.36.1): Terraform constraints do; image tags do not (`16` is not `16.4`).
    pub fn compares_by_prefix(&self) -> bool {
        matches!(self, Lookup::Provider(_) | Lookup::Module(_))
    }
}

/// The clients, built once per run and shared by the worker threads.
pub struct Sources {
    registries: Registries,
    charts: ChartIndexes,
    terraform: TerraformRegistry,
}

impl Sources {
    /// Clients configured by `config`; chart indexes are cached on disk unless `no_cache`.
    pub fn new(config: &Config, no_cache: bool) -> anyhow::Result<Sources> {
        let cache = if no_cache {
            None
        } else {
            default_cache_dir("charts").map(|dir| Cache::new(&dir))
        };
        // One client for all: a host found unreachable is not asked again this run.
        let http = Http::new()?;
        Ok(Sources {
            registries: Registries::new(&config.registries, &http)?,
            charts: ChartIndexes::new(cache, &http)?,
            terraform: TerraformRegistry::new(
                config.terraform_registry_url.as_deref(),
                &config.registries,
                &http,
            )?,
        })
    }

    /// Every published version.
    pub fn versions(&self, lookup: &Lookup) -> anyhow::Result<Vec<String>> {
        match lookup {
            Lookup::Image(name) => self.registries.tags(name),
            // Helm stores `1.2.3+build` as the tag `1.2.3_build`: OCI tags cannot hold `+`.
            Lookup::OciChart(name) => Ok(self
                .registries
                .tags(name)?
                .into_iter()
                .map(|tag| tag.replace('_', "+"))
                .collect()),
            Lookup::Chart { repository, chart } => self.charts.versions(repository, chart),
            Lookup::Provider(name) => self.terraform.provider_versions(name),
            Lookup::Module(name) => self.terraform.module_versions(name),
            Lookup::GitTags(url) => crate::deliver::git::remote_tags(url),
        }
    }
}

/// Why a pin whose name holds an expression (`${var.mirror_registry}/library/nginx`) cannot be
/// looked up: where to ask is only known when Terraform runs.
fn expression_in_name(pin: &Pin) -> Option<String> {
    let start = pin.name.find("${").or_else(|| pin.name.find("%{"))?;
    let end = pin.name[start..]
        .find('}')
        .map_or(pin.name.len(), |at| start + at + 1);
    let expression = &pin.name[start..end];
    let in_host = !pin.name[..start].contains('/')
        && matches!(
            pin.kind,
            PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage
        );
    Some(if in_host {
        format!(
            "the registry host is an expression (`{expression}`); upkeep cannot know where to look"
        )
    } else {
        format!("the name holds an expression (`{expression}`); upkeep cannot know what to look up")
    })
}

/// The repository URL of a git module source (`git::https://host/repo.git//dir?ref=v1`,
/// `github.com/org/repo?ref=v1`, `git@host:org/repo.git`), or `None` for a registry address.
fn git_url(source: &str) -> Option<String> {
    let source = source.split('?').next().unwrap_or(source);
    let (forced, rest) = match source.strip_prefix("git::") {
        Some(rest) => (true, rest),
        None => (false, source),
    };
    let url = if let Some(path) = rest.strip_prefix("github.com/") {
        format!("https://github.com/{path}")
    } else if let Some(path) = rest.strip_prefix("bitbucket.org/") {
        format!("https://bitbucket.org/{path}")
    } else if forced || rest.contains("://") || rest.starts_with("git@") {
        rest.to_owned()
    } else {
        return None;
    };
    // `//dir` after the repository is a folder inside it, not part of the URL.
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    Some(match url[after_scheme..].find("//") {
        Some(at) => url[..after_scheme + at].to_owned(),
        None => url,
    })
}

/// The versions cut to as many dot-separated numbers as `current` has, for pins that name a
/// prefix (`2.35` of `~> 2.35` against 2.36.1 → 2.36). Versions that are not plain numbers
/// pass unchanged.
pub fn cut_to_prefix(current: &str, versions: Vec<String>) -> Vec<String> {
    let numeric = |v: &str| {
        v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if !numeric(current) {
        return versions;
    }
    let parts = current.split('.').count();
    let mut cut: Vec<String> = versions
        .into_iter()
        .map(|v| {
            if numeric(&v) && v.split('.').count() > parts {
                v.split('.').take(parts).collect::<Vec<_>>().join(".")
            } else {
                v
            }
        })
        .collect();
    cut.sort();
    cut.dedup();
    cut
}

#[cfg(test)]
mod tests {
    use super::{cut_to_prefix, git_url};

    #[test]
    fn git_sources_give_their_repository_url() {
        let cases = [
            (
                "git::https://github.com/example-homelab/terraform-dns-records.git//modules/zone",
                Some("https://github.com/example-homelab/terraform-dns-records.git"),
            ),
            (
                "github.com/example-homelab/terraform-net",
                Some("https://github.com/example-homelab/terraform-net"),
            ),
            (
                "git::ssh://git@git.example.org/infra/modules.git//vm?ref=2.1.0",
                Some("ssh://git@git.example.org/infra/modules.git"),
            ),
            (
                "git@github.com:org/modules.git//net",
                Some("git@github.com:org/modules.git"),
            ),
            (
                "git::file:///srv/git/modules.git",
                Some("file:///srv/git/modules.git"),
            ),
            ("bpg/virtual-machine/proxmox", None),
            ("registry.example.org/bpg/virtual-machine/proxmox", None),
        ];
        for (source, url) in cases {
            assert_eq!(git_url(source).as_deref(), url, "{source}");
        }
    }

    #[test]
    fn prefixes_are_cut_to_the_pins_length() {
        let versions = ["2.35.0", "2.36.1", "2.36.0", "3.0.0-beta1", "3.0.0"].map(str::to_owned);
        assert_eq!(
            cut_to_prefix("2.35", versions.to_vec()),
            ["2.35", "2.36", "3.0", "3.0.0-beta1"]
        );
        assert_eq!(cut_to_prefix("2.35.0", versions.to_vec()).len(), 5);
        assert_eq!(cut_to_prefix("v1.2", versions.to_vec()).len(), 5);
    }
}
