//! An image's labels, read from its registry: the manifest for a tag (the `linux/amd64`
//! entry of a multi-platform index), then its config blob's `config.Labels`. Annotations of
//! the index and the manifest count too: images built with `--annotation` carry
//! `org.opencontainers.image.source` there.

use super::Registries;
use anyhow::{Context, anyhow};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The manifest media types asked for, indexes first.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// An index (`manifests`) or an image manifest (`config`); both may carry annotations.
#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Descriptor {
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
}

/// The config blob: only its labels are read.
#[derive(Debug, Deserialize)]
struct ImageConfig {
    #[serde(default)]
    config: Option<ContainerConfig>,
}

#[derive(Debug, Deserialize)]
struct ContainerConfig {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
}

impl Registries {
    /// The labels and annotations of the image `canonical` at `tag`: the index's and the
    /// manifest's annotations, then the config's labels (a label wins over an annotation of
    /// the same name).
    pub fn labels(&self, canonical: &str, tag: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let located = self.locate(canonical)?;
        let manifest_url = |reference: &str| {
            format!(
                "{}/v2/{}/manifests/{reference}",
                located.base, located.repository
            )
        };
        let mut labels = BTreeMap::new();
        let mut manifest = self.manifest(&manifest_url(tag), &located)?;
        labels.append(&mut manifest.annotations);
        if manifest.config.is_none() {
            let chosen = manifest
                .manifests
                .iter()
                .find(|m| {
                    m.platform
                        .as_ref()
                        .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
                })
                .or_else(|| {
                    // Skip attestations (platform unknown/unknown).
                    manifest
                        .manifests
                        .iter()
                        .find(|m| m.platform.as_ref().is_none_or(|p| p.os != "unknown"))
                })
                .ok_or_else(|| anyhow!("{canonical}:{tag}: the index lists no image"))?;
            manifest = self.manifest(&manifest_url(&chosen.digest), &located)?;
            labels.append(&mut manifest.annotations);
        }
        let config = manifest
            .config
            .ok_or_else(|| anyhow!("{canonical}:{tag}: the manifest has no config"))?;
        let blob = format!(
            "{}/v2/{}/blobs/{}",
            located.base, located.repository, config.digest
        );
        let image: ImageConfig = self
            .get(&blob, &located)?
            .json()
            .with_context(|| format!("{canonical}:{tag}: the image config is not JSON"))?;
        if let Some(config_labels) = image.config.and_then(|config| config.labels) {
            labels.extend(config_labels);
        }
        Ok(labels)
    }

    fn manifest(&self, url: &str, located: &super::Located) -> anyhow::Result<Manifest> {
        self.get_accepting(url, located, Some(MANIFEST_TYPES))?
            .json()
            .with_context(|| format!("{url}: the manifest is not JSON"))
    }
}
