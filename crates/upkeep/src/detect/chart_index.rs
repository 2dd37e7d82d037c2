//! Versions of Helm charts in classic repositories: the repository's `index.yaml`, fetched
//! once per run and repository, and kept in a disk cache with its `ETag` so a later run only
//! downloads it when it changed. Each version keeps what `plan` reads of it: its
//! `artifacthub.io/changes` annotation and its `sources`. (OCI charts are listed by the
//! registry client.)

use crate::detect::http_retry::{Cause, Http, HttpError};
use anyhow::{Context, anyhow};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use upkeep_notes::{Cache, CachedResponse, ChartVersion};

/// The annotation holding a chart version's changes, as Artifact Hub reads it.
const CHANGES_ANNOTATION: &str = "artifacthub.io/changes";

/// The parts of `index.yaml` upkeep reads.
#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<Entry>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    version: String,
    #[serde(default)]
    sources: Option<Vec<String>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, Annotation>>,
}

/// An annotation's value: text as Helm writes it; anything else is not read.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Annotation {
    Text(String),
    Other(serde::de::IgnoredAny),
}

/// A repository's charts and their versions, or why they could not be read.
type Listing = Result<Arc<BTreeMap<String, Vec<ChartVersion>>>, String>;

/// The index reader; shared by the worker threads of `outdated`.
pub struct ChartIndexes {
    http: Http,
    cache: Option<Cache>,
    /// One cell per repository URL: the first thread to ask fetches, the others wait for it.
    indexes: Mutex<BTreeMap<String, Arc<OnceLock<Listing>>>>,
}

impl ChartIndexes {
    /// A reader over `http` caching indexes under `cache` (no disk cache when `None`).
    pub fn new(cache: Option<Cache>, http: &Http) -> anyhow::Result<ChartIndexes> {
        Ok(ChartIndexes {
            http: http.clone(),
            cache,
            indexes: Mutex::new(BTreeMap::new()),
        })
    }

    /// Every version of `chart` in the repository at `repository` (`https://…`).
    pub fn versions(&self, repository: &str, chart: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .entries(repository, chart)?
            .into_iter()
            .map(|entry| entry.version)
            .collect())
    }

    /// Every version of `chart` in the repository at `repository`, with its changes
    /// annotation and sources, as the index lists them.
    pub fn entries(&self, repository: &str, chart: &str) -> anyhow::Result<Vec<ChartVersion>> {
        let url = format!("{}/index.yaml", repository.trim_end_matches('/'));
        let cell = self
            .indexes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(url.clone())
            .or_default()
            .clone();
        let listing = cell.get_or_init(|| {
            self.fetch(&url)
                .map(Arc::new)
                .map_err(|error| format!("{error:#}"))
        });
        let charts = listing.as_ref().map_err(|error| anyhow!("{error}"))?;
        charts
            .get(chart)
            .cloned()
            .ok_or_else(|| anyhow!("{url} has no chart named `{chart}`"))
    }

    fn fetch(&self, url: &str) -> anyhow::Result<BTreeMap<String, Vec<ChartVersion>>> {
        let cached = self.cache.as_ref().and_then(|cache| cache.get(url));
        let response = self.http.get(url, |request| match &cached {
            Some(entry) => request.header("if-none-match", &entry.etag),
            None => request,
        })?;
        let status = response.status();
        let body = match cached {
            Some(entry) if status == reqwest::StatusCode::NOT_MODIFIED => entry.body,
            _ if status.is_success() => {
                let etag = response
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = response
                    .text()
                    .with_context(|| format!("cannot read {url}"))?;
                if let (Some(cache), Some(etag)) = (&self.cache, etag) {
                    cache.put(&CachedResponse {
                        url: url.to_owned(),
                        etag,
                        body: body.clone(),
                        next: None,
                        pages: None,
                    });
                }
                body
            }
            _ => return Err(HttpError::status(url, status).into()),
        };
        parse_index(&body).map_err(|e| {
            HttpError::other(
                url,
                Cause::Answer,
                format!("{url} is not a Helm repository index: {e:#}"),
            )
            .into()
        })
    }
}

/// Chart name → versions, from the text of an `index.yaml`.
fn parse_index(text: &str) -> anyhow::Result<BTreeMap<String, Vec<ChartVersion>>> {
    // Big public repositories list tens of thousands of chart versions with a dozen fields
    // each; the default budget is sized for config files.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 100_000_000;
    budget.max_nodes = 50_000_000;
    budget.max_total_scalar_bytes = 1 << 30;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    let index: Index =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| anyhow!("{e}"))?;
    Ok(index
        .entries
        .into_iter()
        .map(|(chart, entries)| (chart, entries.into_iter().map(chart_version).collect()))
        .collect())
}

fn chart_version(entry: Entry) -> ChartVersion {
    let changes = entry
        .annotations
        .and_then(|mut annotations| annotations.remove(CHANGES_ANNOTATION))
        .and_then(|annotation| match annotation {
            Annotation::Text(text) => Some(text),
            Annotation::Other(_) => None,
        });
    ChartVersion {
        version: entry.version,
        changes,
        sources: entry.sources.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_index;

    #[test]
    fn an_index_lists_versions_per_chart() {
        let index = parse_index(
            "apiVersion: v1\nentries:\n  grafana:\n  - apiVersion: v2\n    name: grafana\n    version: 8.6.0\n    appVersion: 11.3.1\n    urls: [https://x/grafana-8.6.0.tgz]\n  - name: grafana\n    version: 8.5.1\n  loki:\n  - version: 6.18.0\ngenerated: \"2026-11-20T10:00:00Z\"\n",
        )
        .unwrap();
        let versions = |chart: &str| -> Vec<String> {
            index[chart].iter().map(|e| e.version.clone()).collect()
        };
        assert_eq!(versions("grafana"), ["8.6.0", "8.5.1"]);
        assert_eq!(versions("loki"), ["6.18.0"]);
        assert!(parse_index("entries: [").is_err());
    }

    #[test]
    fn an_index_the_size_of_a_big_public_repository_parses() {
        // 30,000 chart versions with the usual fields: over serde-saphyr's default budget
        // of 250,000 nodes.
        let mut text = String::from("apiVersion: v1\nentries:\n");
        for chart in 0..100 {
            text.push_str(&format!("  chart-{chart}:\n"));
            for version in 0..300 {
                text.push_str(&format!(
                    "  - apiVersion: v2\n    appVersion: 1.{version}.0\n    created: \"2026-11-20T10:00:00Z\"\n    description: A chart.\n    digest: 4b8c3f0e9a8d{version}\n    name: chart-{chart}\n    type: application\n    urls:\n    - https://charts.example.org/chart-{chart}-0.{version}.0.tgz\n    version: 0.{version}.0\n"
                ));
            }
        }
        assert!(
            serde_saphyr::from_str::<super::Index>(&text).is_err(),
            "the default budget"
        );
        let index = parse_index(&text).unwrap();
        assert_eq!(index.len(), 100);
        assert_eq!(index["chart-7"].len(), 300);
    }

    #[test]
    fn changes_annotations_and_sources_are_kept_per_version() {
        let index = parse_index(
            "apiVersion: v1\nentries:\n  authentik:\n  - annotations:\n      artifacthub.io/changes: |\n        - kind: removed\n          description: The bundled PostgreSQL subchart\n        - kind: fixed\n          description: Worker probes\n      artifacthub.io/license: MIT\n      artifacthub.io/prerelease: false\n    apiVersion: v2\n    appVersion: 2025.10.2\n    name: authentik\n    sources:\n    - https://goauthentik.io\n    - https://github.com/goauthentik/authentik\n    - https://github.com/goauthentik/helm\n    version: 2025.10.2\n  - name: authentik\n    version: 2025.10.1\n    sources: null\n",
        )
        .unwrap();
        let newest = &index["authentik"][0];
        assert_eq!(
            newest.changes.as_deref(),
            Some(
                "- kind: removed\n  description: The bundled PostgreSQL subchart\n- kind: fixed\n  description: Worker probes\n"
            )
        );
        assert_eq!(newest.sources.len(), 3);
        assert_eq!(index["authentik"][1].changes, None);
        assert!(index["authentik"][1].sources.is_empty());
    }
}
