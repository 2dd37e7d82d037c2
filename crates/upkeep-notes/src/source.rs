//! Where the release notes of an image, chart, provider or module live: the config's
//! overrides first, then the naming conventions of each registry, checked against GitHub.

use crate::chart::github_sources;
use crate::github::{FetchError, GitHub, RepoId};
use serde::Serialize;
use std::collections::BTreeMap;

/// Suffixes stripped from a repository name that does not exist (`immich-server` is built
/// from `immich-app/immich`).
const COMPONENT_SUFFIXES: [&str; 3] = ["-server", "-backend", "-app"];

/// What is being upgraded, as the source resolution needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A container image, by canonical name (`ghcr.io/immich-app/immich-server`).
    Image {
        /// The canonical name.
        canonical: String,
        /// Its `org.opencontainers.image.source` label and the image it was read from
        /// (`ghcr.io/immich-app/immich-server:v2.7.4`), when read from the registry.
        source_label: Option<(String, String)>,
    },
    /// A Helm chart.
    Chart {
        /// The chart name (`grafana`).
        name: String,
        /// The chart repository URL, if written.
        repository: Option<String>,
        /// The `sources` its index entry lists (`https://github.com/grafana/helm-charts`).
        sources: Vec<String>,
    },
    /// A Terraform provider, by source (`telmate/proxmox`).
    Provider {
        /// The source address.
        source: String,
    },
    /// A Terraform module, by source (`bpg/virtual-machine/proxmox`, `git::https://…`).
    Module {
        /// The source address.
        source: String,
    },
}

impl Subject {
    /// The tag prefix its releases use, when it has its own (`grafana-` for a chart repo that
    /// hosts several charts).
    pub fn tag_prefix(&self) -> Option<String> {
        match self {
            Subject::Chart { name, .. } => Some(format!("{name}-")),
            _ => None,
        }
    }
}

/// The config's explicit sources.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Image name (any spelling that normalizes the same) → `owner/repo`.
    pub images: BTreeMap<String, String>,
    /// Chart repository URL (`https://charts.goauthentik.io`, as `upgrade-config.json`
    /// writes it), chart name, or `repository/chart` → `owner/repo`.
    pub charts: BTreeMap<String, String>,
}

impl Overrides {
    /// Whether the config names the subject's repository itself (then nothing else is
    /// looked up).
    pub fn covers(&self, subject: &Subject) -> bool {
        override_for(subject, self).is_some()
    }
}

/// The outcome of resolving a subject's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// The repository, or `None` when no candidate exists.
    pub repo: Option<String>,
    /// How it was found, or why none was.
    pub how: String,
    /// Every repository tried, in order, with what GitHub said.
    pub tried: Vec<String>,
}

/// The candidate repositories of a subject, in the order they are tried, with how each was
/// derived. Pure: no request is made.
pub fn candidates(subject: &Subject, overrides: &Overrides) -> Vec<(RepoId, String)> {
    if let Some((repo, key)) = override_for(subject, overrides) {
        return RepoId::parse(&repo)
            .map(|id| vec![(id, format!("override for {key}"))])
            .unwrap_or_default();
    }
    let mut list: Vec<(RepoId, String)> = Vec::new();
    if let Subject::Image {
        source_label: Some((label, image)),
        ..
    } = subject
        && let Some(repo) = github_sources(std::slice::from_ref(label))
            .first()
            .and_then(|repo| RepoId::parse(repo))
    {
        list.push((
            repo,
            format!("OCI label org.opencontainers.image.source of {image}"),
        ));
    }
    if let Subject::Chart { sources, .. } = subject {
        for source in github_sources(sources) {
            if let Some(repo) = RepoId::parse(&source) {
                list.push((repo, "the chart's sources".to_owned()));
            }
        }
    }
    let Some((repo, how)) = convention(subject) else {
        return list;
    };
    list.push((repo.clone(), how.clone()));
    for suffix in COMPONENT_SUFFIXES {
        if let Some(stripped) = repo.name.strip_suffix(suffix)
            && !stripped.is_empty()
        {
            let id = RepoId {
                owner: repo.owner.clone(),
                name: stripped.to_owned(),
            };
            list.push((id, format!("{how}, without `{suffix}`")));
        }
    }
    // Each repository once, where it was first proposed.
    let mut seen = Vec::new();
    list.retain(|(repo, _)| {
        let new = !seen.contains(repo);
        if new {
            seen.push(repo.clone());
        }
        new
    });
    list
}

/// Resolves the subject's repository: the first candidate that exists on GitHub.
pub async fn resolve(
    github: &GitHub,
    subject: &Subject,
    overrides: &Overrides,
) -> Result<Resolution, FetchError> {
    let candidates = candidates(subject, overrides);
    if candidates.is_empty() {
        return Ok(Resolution {
            repo: None,
            how: "no override and no naming convention applies".to_owned(),
            tried: Vec::new(),
        });
    }
    let mut tried = Vec::new();
    for (repo, how) in candidates {
        if github.repo_exists(&repo).await? {
            tried.push(format!("{repo}: found"));
            return Ok(Resolution {
                repo: Some(repo.to_string()),
                how,
                tried,
            });
        }
        tried.push(format!("{repo}: not found"));
    }
    Ok(Resolution {
        repo: None,
        how: "no candidate repository exists".to_owned(),
        tried,
    })
}

fn override_for(subject: &Subject, overrides: &Overrides) -> Option<(String, String)> {
    match subject {
        Subject::Image { canonical, .. } => overrides.images.iter().find_map(|(key, repo)| {
            (upkeep_pins::canonical_image_name(key) == *canonical)
                .then(|| (repo.clone(), key.clone()))
        }),
        Subject::Chart {
            name, repository, ..
        } => {
            // The most specific key wins: `repository/chart`, then the chart name, then the
            // repository URL (every chart it serves).
            let specificity = |key: &str| chart_key_specificity(key, name, repository.as_deref());
            overrides
                .charts
                .iter()
                .filter_map(|(key, repo)| Some((specificity(key)?, key, repo)))
                .max_by_key(|(rank, _, _)| *rank)
                .map(|(_, key, repo)| (repo.clone(), key.clone()))
        }
        _ => None,
    }
}

/// Whether a `helm_chart_repo_overrides` key names the chart `name` served from
/// `repository`: `Some(rank)` (higher is more specific: `repository/chart` 3, the chart name
/// 2, the repository URL 1), `None` when it does not. URLs compare without a trailing `/`
/// and without case in the scheme and host.
pub fn chart_key_specificity(key: &str, name: &str, repository: Option<&str>) -> Option<u8> {
    let repository = repository.map(normalize_url);
    let key_url = normalize_url(key);
    if let Some(repository) = &repository
        && key_url == format!("{repository}/{name}")
    {
        return Some(3);
    }
    if key == name {
        return Some(2);
    }
    (repository.as_deref() == Some(key_url.as_str())).then_some(1)
}

/// A URL as compared: scheme and host lower-cased, no trailing `/`.
fn normalize_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let mut normalized = format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            );
            if !path.is_empty() {
                normalized.push('/');
                normalized.push_str(path);
            }
            normalized
        }
        None => url.to_owned(),
    }
}

/// The repository a registry's naming convention points to.
fn convention(subject: &Subject) -> Option<(RepoId, String)> {
    let repo = |owner: &str, name: &str| RepoId {
        owner: owner.to_owned(),
        name: name.to_owned(),
    };
    match subject {
        Subject::Image { canonical, .. } => {
            let mut parts = canonical.split('/');
            let host = parts.next()?;
            let owner = parts.next()?;
            let name = parts.next()?;
            match host {
                _ if owner == "linuxserver" => Some((
                    repo("linuxserver", &format!("docker-{name}")),
                    "LinuxServer image convention".to_owned(),
                )),
                "ghcr.io" | "quay.io" => {
                    Some((repo(owner, name), format!("{host}/ORG/REPO convention")))
                }
                "docker.io" if owner != "library" => Some((
                    repo(owner, name),
                    "Docker Hub ORG/REPO convention".to_owned(),
                )),
                _ => None,
            }
        }
        Subject::Chart { repository, .. } => {
            // Charts served from GitHub Pages: https://ORG.github.io/REPO
            let url = repository.as_deref()?;
            let rest = url.strip_prefix("https://")?;
            let (host, path) = rest.split_once('/')?;
            let owner = host.strip_suffix(".github.io")?;
            let name = path.trim_matches('/').split('/').next()?;
            (!name.is_empty()).then(|| {
                (
                    repo(owner, name),
                    "chart repository on GitHub Pages".to_owned(),
                )
            })
        }
        Subject::Provider { source } => {
            let parts: Vec<&str> = source.split('/').collect();
            let (namespace, kind) = match parts.as_slice() {
                [namespace, kind] | [_, namespace, kind] => (*namespace, *kind),
                _ => return None,
            };
            Some((
                repo(namespace, &format!("terraform-provider-{kind}")),
                "Terraform provider convention".to_owned(),
            ))
        }
        Subject::Module { source } => {
            if let Some(github) = source
                .trim_start_matches("git::")
                .strip_prefix("https://github.com/")
            {
                let path = github.split(['?', '/']).take(2).collect::<Vec<_>>();
                let [owner, name] = path.as_slice() else {
                    return None;
                };
                return Some((
                    repo(owner, name.trim_end_matches(".git")),
                    "module source on GitHub".to_owned(),
                ));
            }
            let parts: Vec<&str> = source.split('/').collect();
            let [namespace, name, provider] = parts.as_slice() else {
                return None;
            };
            Some((
                repo(namespace, &format!("terraform-{provider}-{name}")),
                "Terraform registry module convention".to_owned(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Overrides, Subject, candidates};

    fn first(subject: Subject) -> Option<String> {
        candidates(&subject, &Overrides::default())
            .first()
            .map(|(repo, _)| repo.to_string())
    }

    fn image(canonical: &str) -> Subject {
        Subject::Image {
            canonical: canonical.to_owned(),
            source_label: None,
        }
    }

    #[test]
    fn each_registry_convention_gives_its_repository() {
        let cases = [
            (image("ghcr.io/immich-app/immich-server"), Some("immich-app/immich-server")),
            (image("docker.io/vaultwarden/server"), Some("vaultwarden/server")),
            (image("docker.io/library/postgres"), None),
            (image("lscr.io/linuxserver/plex"), Some("linuxserver/docker-plex")),
            (image("quay.io/prometheus/blackbox-exporter"), Some("prometheus/blackbox-exporter")),
            (image("10.0.20.10:5000/homelab/backup"), None),
            (
                Subject::Chart {
                    name: "grafana".to_owned(),
                    repository: Some("https://grafana.github.io/helm-charts".to_owned()),
                    sources: Vec::new(),
                },
                Some("grafana/helm-charts"),
            ),
            (
                Subject::Provider {
                    source: "telmate/proxmox".to_owned(),
                },
                Some("telmate/terraform-provider-proxmox"),
            ),
            (
                Subject::Module {
                    source: "bpg/virtual-machine/proxmox".to_owned(),
                },
                Some("bpg/terraform-proxmox-virtual-machine"),
            ),
            (
                Subject::Module {
                    source: "git::https://github.com/example-homelab/terraform-dns-records.git//modules/zone?ref=v1.4.2".to_owned(),
                },
                Some("example-homelab/terraform-dns-records"),
            ),
        ];
        for (subject, expected) in cases {
            assert_eq!(first(subject.clone()).as_deref(), expected, "{subject:?}");
        }
    }

    #[test]
    fn a_charts_sources_are_tried_before_conventions() {
        let chart = Subject::Chart {
            name: "grafana".to_owned(),
            repository: Some("https://charts.example.org".to_owned()),
            sources: vec![
                "https://github.com/grafana/grafana".to_owned(),
                "https://github.com/grafana/helm-charts".to_owned(),
            ],
        };
        let list: Vec<(String, String)> = candidates(&chart, &Overrides::default())
            .into_iter()
            .map(|(repo, how)| (repo.to_string(), how))
            .collect();
        assert_eq!(
            list,
            [
                (
                    "grafana/helm-charts".to_owned(),
                    "the chart's sources".to_owned()
                ),
                (
                    "grafana/grafana".to_owned(),
                    "the chart's sources".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn an_images_source_label_is_tried_before_conventions() {
        let labelled = Subject::Image {
            canonical: "ghcr.io/immich-app/immich-server".to_owned(),
            source_label: Some((
                "https://github.com/immich-app/immich".to_owned(),
                "ghcr.io/immich-app/immich-server:v2.7.4".to_owned(),
            )),
        };
        let list: Vec<(String, String)> = candidates(&labelled, &Overrides::default())
            .into_iter()
            .map(|(repo, how)| (repo.to_string(), how))
            .collect();
        assert_eq!(
            list[0],
            (
                "immich-app/immich".to_owned(),
                "OCI label org.opencontainers.image.source of ghcr.io/immich-app/immich-server:v2.7.4"
                    .to_owned()
            )
        );
        assert_eq!(
            list.len(),
            2,
            "then the convention; each repository once: {list:?}"
        );
    }

    #[test]
    fn component_suffixes_are_tried_after_the_full_name() {
        let list: Vec<String> = candidates(
            &image("ghcr.io/immich-app/immich-server"),
            &Overrides::default(),
        )
        .into_iter()
        .map(|(repo, _)| repo.to_string())
        .collect();
        assert_eq!(list, ["immich-app/immich-server", "immich-app/immich"]);
    }

    #[test]
    fn overrides_win_and_match_any_spelling_of_the_image() {
        let mut overrides = Overrides::default();
        overrides.images.insert(
            "vaultwarden/server".to_owned(),
            "dani-garcia/vaultwarden".to_owned(),
        );
        overrides
            .charts
            .insert("authentik".to_owned(), "goauthentik/helm".to_owned());
        let vaultwarden = candidates(&image("docker.io/vaultwarden/server"), &overrides);
        assert_eq!(vaultwarden[0].0.to_string(), "dani-garcia/vaultwarden");
        assert_eq!(vaultwarden.len(), 1);
        let chart = Subject::Chart {
            name: "authentik".to_owned(),
            repository: Some("https://charts.goauthentik.io".to_owned()),
            sources: Vec::new(),
        };
        assert_eq!(
            candidates(&chart, &overrides)[0].0.to_string(),
            "goauthentik/helm"
        );
    }

    #[test]
    fn chart_overrides_keyed_by_repository_url_apply_to_its_charts() {
        // `upgrade-config.json` keys chart overrides by the chart repository's URL.
        let mut overrides = Overrides::default();
        overrides.charts.insert(
            "https://charts.goauthentik.io".to_owned(),
            "goauthentik/authentik".to_owned(),
        );
        let chart = |name: &str, repository: &str| Subject::Chart {
            name: name.to_owned(),
            repository: Some(repository.to_owned()),
            sources: Vec::new(),
        };
        let found = candidates(
            &chart("authentik", "https://charts.goauthentik.io/"),
            &overrides,
        );
        assert_eq!(found[0].0.to_string(), "goauthentik/authentik");
        assert_eq!(found[0].1, "override for https://charts.goauthentik.io");
        assert!(
            candidates(
                &chart("authentik", "https://charts.example.org"),
                &overrides
            )
            .is_empty()
        );
        // A more specific key wins over the repository URL.
        overrides
            .charts
            .insert("authentik".to_owned(), "goauthentik/helm".to_owned());
        overrides.charts.insert(
            "https://Charts.goauthentik.io/authentik".to_owned(),
            "goauthentik/helm-charts".to_owned(),
        );
        assert_eq!(
            candidates(
                &chart("authentik", "https://charts.goauthentik.io"),
                &overrides
            )[0]
            .0
            .to_string(),
            "goauthentik/helm-charts"
        );
    }
}
