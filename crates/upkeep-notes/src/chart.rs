//! Chart notes: the `artifacthub.io/changes` annotation a chart's index entry carries for each
//! version, and the chart's `sources`, which name its GitHub repository.
//!
//! The annotation is YAML text in one of two shapes Artifact Hub documents:
//!
//! ```yaml
//! artifacthub.io/changes: |
//!   - kind: removed
//!     description: The bundled Redis; use an external one
//!     links:
//!       - name: PR
//!         url: https://github.com/example/charts/pull/12
//!   - kind: fixed
//!     description: Worker probes
//! ```
//!
//! or a plain list of strings. Each change becomes one line of the version's notes,
//! `- removed: The bundled Redis; use an external one`, so the rules judge it like any other
//! note: `removed` and `deprecated` are breaking keywords, `security` a highlight.

use crate::release::Release;
use serde::Deserialize;
use upkeep_pins::Version;

/// The kinds of change Artifact Hub knows.
pub const CHANGE_KINDS: [&str; 6] = [
    "added",
    "changed",
    "deprecated",
    "removed",
    "fixed",
    "security",
];

/// One version of a chart as its repository index lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartVersion {
    /// The chart version.
    pub version: String,
    /// The `artifacthub.io/changes` annotation, as written (YAML text).
    pub changes: Option<String>,
    /// The chart's `sources` URLs.
    pub sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Change {
    Structured { kind: String, description: String },
    Plain(String),
}

/// The notes of one chart version from its `artifacthub.io/changes` annotation: one line
/// per change; `None` when the annotation is absent, empty or not the documented YAML.
pub fn change_notes(annotation: &str) -> Option<String> {
    let changes: Vec<Change> = serde_saphyr::from_str(annotation).ok()?;
    let lines: Vec<String> = changes
        .into_iter()
        .filter_map(|change| match change {
            Change::Structured { kind, description } => {
                let kind = kind.trim().to_ascii_lowercase();
                let description = description.trim();
                (!description.is_empty()).then(|| format!("- {kind}: {description}"))
            }
            Change::Plain(text) => {
                let text = text.trim();
                (!text.is_empty()).then(|| format!("- {text}"))
            }
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The releases of a chart read from its index: one per version whose annotation lists
/// changes. `url` is where the index is read.
pub fn chart_releases(versions: &[ChartVersion], url: &str) -> Vec<Release> {
    versions
        .iter()
        .filter_map(|entry| {
            let version = Version::parse(&entry.version)?;
            let notes = change_notes(entry.changes.as_deref()?)?;
            Some(Release {
                prerelease: version.is_prerelease(),
                version,
                tag: entry.version.clone(),
                notes,
                draft: false,
                url: Some(url.to_owned()),
            })
        })
        .collect()
}

/// The GitHub repositories (`owner/name`) among a chart's `sources`, chart repositories
/// (`…/helm-charts`, `…/charts`, `…/helm`) first, each once.
pub fn github_sources(sources: &[String]) -> Vec<String> {
    let mut repos: Vec<String> = Vec::new();
    for source in sources {
        let Some(path) = source
            .trim()
            .strip_prefix("https://github.com/")
            .or_else(|| source.trim().strip_prefix("http://github.com/"))
        else {
            continue;
        };
        let mut parts = path.split('/');
        let (Some(owner), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        let name = name.trim_end_matches(".git");
        if owner.is_empty() || name.is_empty() {
            continue;
        }
        let repo = format!("{owner}/{name}");
        if !repos.iter().any(|known| known.eq_ignore_ascii_case(&repo)) {
            repos.push(repo);
        }
    }
    let is_chart_repo = |repo: &String| {
        let name = repo
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        name.contains("chart") || name.contains("helm")
    };
    repos.sort_by_key(|repo| !is_chart_repo(repo));
    repos
}

#[cfg(test)]
mod tests {
    use super::{ChartVersion, change_notes, chart_releases, github_sources};

    #[test]
    fn both_annotation_shapes_become_one_line_per_change() {
        let structured = "- kind: added\n  description: Support for extra volumes on the worker\n- kind: removed\n  description: The bundled Redis subchart; point `redis.host` at your own\n  links:\n    - name: GitHub PR\n      url: https://github.com/example/charts/pull/412\n- kind: security\n  description: Bump the image for CVE-2025-1234\n";
        assert_eq!(
            change_notes(structured).as_deref(),
            Some(
                "- added: Support for extra volumes on the worker\n- removed: The bundled Redis subchart; point `redis.host` at your own\n- security: Bump the image for CVE-2025-1234"
            )
        );
        let plain = "- Upgrade the app to 11.3.1\n- Fix the ingress path type\n";
        assert_eq!(
            change_notes(plain).as_deref(),
            Some("- Upgrade the app to 11.3.1\n- Fix the ingress path type")
        );
        assert_eq!(change_notes(""), None);
        assert_eq!(change_notes("not: [a list"), None);
        assert_eq!(change_notes("{kind: added}"), None);
    }

    #[test]
    fn only_versions_with_changes_become_releases() {
        let versions = [
            ChartVersion {
                version: "8.6.0".to_owned(),
                changes: Some(
                    "- kind: deprecated\n  description: '`grafana.ini.alerting` is deprecated'\n"
                        .to_owned(),
                ),
                sources: Vec::new(),
            },
            ChartVersion {
                version: "8.5.12".to_owned(),
                changes: None,
                sources: Vec::new(),
            },
        ];
        let releases = chart_releases(&versions, "https://charts.example.org/index.yaml");
        assert_eq!(releases.len(), 1);
        assert_eq!(releases[0].version.as_str(), "8.6.0");
        assert_eq!(
            releases[0].notes,
            "- deprecated: `grafana.ini.alerting` is deprecated"
        );
    }

    #[test]
    fn chart_repositories_come_first_among_github_sources() {
        let sources = [
            "https://github.com/grafana/grafana".to_owned(),
            "https://grafana.com".to_owned(),
            "https://github.com/grafana/helm-charts/tree/main/charts/grafana".to_owned(),
            "https://github.com/grafana/grafana.git".to_owned(),
        ];
        assert_eq!(
            github_sources(&sources),
            ["grafana/helm-charts", "grafana/grafana"]
        );
    }
}
