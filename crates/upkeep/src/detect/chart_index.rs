//! Versions of Helm charts in classic repositories: the repository's `index.yaml`, fetched
//! once per run and repository, and kept in a disk cache with its `ETag` so a later run only
//! downloads it when it changed. (OCI charts are listed by the registry client.)

use crate::detect::http_retry::{self, Cause, HttpError};
use anyhow::{Context, anyhow};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use upkeep_notes::{Cache, CachedResponse};

/// The parts of `index.yaml` upkeep reads.
#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<Entry>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    version: String,
}

/// A repository's charts and their versions, or why they could not be read.
type Listing = Result<Arc<BTreeMap<String, Vec<String>>>, String>;

/// The index reader; shared by the worker threads of `outdated`.
pub struct ChartIndexes {
    http: reqwest::blocking::Client,
    cache: Option<Cache>,
    /// One cell per repository URL: the first thread to ask fetches, the others wait for it.
    indexes: Mutex<BTreeMap<String, Arc<OnceLock<Listing>>>>,
}

impl ChartIndexes {
    /// A reader caching indexes under `cache` (no disk cache when `None`).
    pub fn new(cache: Option<Cache>) -> anyhow::Result<ChartIndexes> {
        Ok(ChartIndexes {
            http: http_retry::client()?,
            cache,
            indexes: Mutex::new(BTreeMap::new()),
        })
    }

    /// Every version of `chart` in the repository at `repository` (`https://…`).
    pub fn versions(&self, repository: &str, chart: &str) -> anyhow::Result<Vec<String>> {
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

    fn fetch(&self, url: &str) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
        let cached = self.cache.as_ref().and_then(|cache| cache.get(url));
        let response = http_retry::get(&self.http, url, |request| match &cached {
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
fn parse_index(text: &str) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
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
        .map(|(chart, entries)| (chart, entries.into_iter().map(|e| e.version).collect()))
        .collect())
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
        assert_eq!(index["grafana"], ["8.6.0", "8.5.1"]);
        assert_eq!(index["loki"], ["6.18.0"]);
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
}
