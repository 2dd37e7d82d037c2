//! Should a detected update (a DIUN notification) be acted on: the update as DIUN reports it,
//! and the rules that skip it (not pinned, not a release, not newer, skipped by config).

use crate::config::Config;
use crate::policy::skip::skip_reason;
use anyhow::{Context, bail};
use serde::Deserialize;
use upkeep_pins::{ImageRef, Pin, PinStatus, Version, canonical_image_name};

/// A detected update, from either DIUN shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// `new`, `update`, `unchange`, …
    pub status: String,
    /// The image name, without tag.
    pub image: String,
    /// The new tag (may be empty).
    pub tag: String,
}

/// The DIUN webhook JSON, or the flat `diun_entry_*` shape of its script/env notifier.
#[derive(Debug, Deserialize)]
struct Payload {
    status: Option<String>,
    image: Option<String>,
    diun_entry_status: Option<String>,
    diun_entry_image: Option<String>,
    diun_entry_imagetag: Option<String>,
}

impl Update {
    /// Reads a payload.
    pub fn parse(text: &str) -> anyhow::Result<Update> {
        let payload: Payload =
            serde_json::from_str(text).context("the payload is not a DIUN notification (JSON)")?;
        let (status, image, tag) = match payload {
            Payload {
                diun_entry_image: Some(image),
                diun_entry_status,
                diun_entry_imagetag,
                ..
            } => (diun_entry_status, image, diun_entry_imagetag),
            Payload {
                image: Some(image),
                status,
                ..
            } => (status, image, None),
            _ => bail!("the payload has neither `image` nor `diun_entry_image`"),
        };
        let (name, written_tag) = match ImageRef::parse(&image) {
            Some(reference) => (
                image[reference.name.clone()].to_owned(),
                reference.tag.map(|tag| image[tag].to_owned()),
            ),
            None => bail!("`{image}` is not an image reference"),
        };
        Ok(Update {
            status: status.unwrap_or_default(),
            image: name,
            tag: tag.or(written_tag).unwrap_or_default(),
        })
    }
}

/// Why an update is skipped, as a short stable label (metrics) and a sentence (people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The rule that skipped it.
    pub rule: SkipRule,
    /// What happened, in words.
    pub reason: String,
}

/// The filter's rules, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipRule {
    /// The notification is not a new image or an update.
    Status,
    /// The tag is empty, `latest`, or not a version.
    NotARelease,
    /// A skip pattern or category of the config.
    Policy,
    /// No pin of the image in the repository.
    NotPinned,
    /// No pin the tag would move forward (older, another shape, a pre-release).
    NotNewer,
    /// Too many updates accepted in the window.
    RateLimit,
}

impl SkipRule {
    /// The label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            SkipRule::Status => "status",
            SkipRule::NotARelease => "not_a_release",
            SkipRule::Policy => "policy",
            SkipRule::NotPinned => "not_pinned",
            SkipRule::NotNewer => "not_newer",
            SkipRule::RateLimit => "rate_limit",
        }
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

fn skip(rule: SkipRule, reason: String) -> Skip {
    Skip { rule, reason }
}

/// Every rule but the rate limit: the pins the update would move, or why it is skipped.
pub fn judge<'a>(update: &Update, config: &Config, pins: &'a [Pin]) -> Result<Vec<&'a Pin>, Skip> {
    if !matches!(update.status.as_str(), "new" | "update") {
        return Err(skip(
            SkipRule::Status,
            format!("status `{}` is not a new image or an update", update.status),
        ));
    }
    if update.tag.is_empty() || update.tag.eq_ignore_ascii_case("latest") {
        return Err(skip(
            SkipRule::NotARelease,
            format!("tag `{}` is not a release", update.tag),
        ));
    }
    let canonical = canonical_image_name(&update.image);
    if let Some(why) = skip_reason(config, &canonical) {
        return Err(skip(SkipRule::Policy, format!("{canonical} {why}")));
    }
    let pinned: Vec<&Pin> = pins
        .iter()
        .filter(|pin| pin.canonical == canonical && pin.status == PinStatus::Pinned)
        .collect();
    if pinned.is_empty() {
        return Err(skip(
            SkipRule::NotPinned,
            format!("{canonical} is not pinned to a version in this repository"),
        ));
    }
    let Some(new) = Version::parse(&update.tag) else {
        return Err(skip(
            SkipRule::NotARelease,
            format!("tag `{}` is not a version", update.tag),
        ));
    };
    let mut why_not = Vec::new();
    let movable: Vec<&Pin> = pinned
        .into_iter()
        .filter(|pin| {
            let text = pin.version.as_deref().unwrap_or_default();
            match Version::parse(text) {
                None => why_not.push(format!("pinned `{text}` is not a version")),
                Some(old) if old.parts() != new.parts() || old.variant() != new.variant() => {
                    why_not.push(format!(
                        "`{}` has another shape than the pinned `{text}`",
                        update.tag
                    ));
                }
                Some(old) if new.is_prerelease() && !old.is_prerelease() => {
                    why_not.push(format!(
                        "`{}` is a pre-release and `{text}` is not",
                        update.tag
                    ));
                }
                Some(old) if new <= old => {
                    why_not.push(format!(
                        "`{}` is not newer than the pinned `{text}`",
                        update.tag
                    ));
                }
                Some(_) => return true,
            }
            false
        })
        .collect();
    if movable.is_empty() {
        why_not.dedup();
        return Err(skip(SkipRule::NotNewer, why_not.join("; ")));
    }
    Ok(movable)
}

#[cfg(test)]
mod tests {
    use super::Update;

    #[test]
    fn both_payload_shapes_give_the_same_update() {
        let webhook = r#"{"diun_version":"4.29.0","hostname":"diun-0","status":"update","provider":"kubernetes","image":"docker.io/vaultwarden/server:1.36.0","hub_link":"https://hub.docker.com/r/vaultwarden/server","mime_type":"application/vnd.oci.image.index.v1+json","digest":"sha256:5c8a1d1b0e2f4c7d9e3a6b8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e","created":"2026-11-02T19:12:03Z","platform":"linux/amd64","metadata":{"ctn_names":"vaultwarden","pod_name":"vaultwarden-6f7d9c8b5-x2kqp","pod_namespace":"vaultwarden"}}"#;
        let flat = r#"{"diun_entry_status":"update","diun_entry_image":"docker.io/vaultwarden/server","diun_entry_imagetag":"1.36.0","diun_entry_hublink":"https://hub.docker.com/r/vaultwarden/server"}"#;
        let expected = Update {
            status: "update".to_owned(),
            image: "docker.io/vaultwarden/server".to_owned(),
            tag: "1.36.0".to_owned(),
        };
        assert_eq!(Update::parse(webhook).unwrap(), expected);
        assert_eq!(Update::parse(flat).unwrap(), expected);
        let port = r#"{"status":"new","image":"10.0.20.10:5000/infra/restic-backup:2026.2.5"}"#;
        assert_eq!(
            Update::parse(port).unwrap().image,
            "10.0.20.10:5000/infra/restic-backup"
        );
        assert!(Update::parse("{}").is_err());
        assert!(Update::parse("not json").is_err());
    }
}
