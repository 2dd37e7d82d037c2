//! Container image references: split into name, tag and digest, and normalize the name.

use std::ops::Range;

/// A parsed container image reference such as `ghcr.io/immich-app/immich-server:v2.7.4`.
///
/// Ranges are byte ranges into the parsed text, so a caller can map the tag back to the
/// source bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The name as written, without tag or digest (`vaultwarden/server`).
    pub name: Range<usize>,
    /// The tag after the last `:` of the last path component, if any.
    pub tag: Option<Range<usize>>,
    /// The digest after `@` (`sha256:…`), if any.
    pub digest: Option<Range<usize>>,
}

impl ImageRef {
    /// Parses `text` as an image reference; `None` when it cannot be one (empty name,
    /// whitespace, quotes, characters of an expression such as `(` or `,`, the wildcards of a
    /// pattern such as `ghcr.io/*`, a format verb such as `%s`, or an empty tag).
    pub fn parse(text: &str) -> Option<ImageRef> {
        let foreign = |b: u8| {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'"' | b'\''
                        | b'('
                        | b')'
                        | b','
                        | b'['
                        | b']'
                        | b'?'
                        | b'*'
                        | b'%'
                        | b'|'
                        | b'='
                        | b'<'
                        | b'>'
                        | b';'
                )
        };
        if text.is_empty() || text.bytes().any(foreign) {
            return None;
        }
        let (name_and_tag, digest) = match text.find('@') {
            Some(at) => (at, Some(at + 1..text.len())),
            None => (text.len(), None),
        };
        let last_slash = text[..name_and_tag].rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match text[last_slash..name_and_tag].find(':') {
            Some(colon) => {
                let colon = last_slash + colon;
                (0..colon, Some(colon + 1..name_and_tag))
            }
            None => (0..name_and_tag, None),
        };
        let empty = |r: &Option<Range<usize>>| r.as_ref().is_some_and(|r| r.is_empty());
        if name.is_empty() || empty(&tag) || empty(&digest) || text[name.clone()].ends_with('/') {
            return None;
        }
        Some(ImageRef { name, tag, digest })
    }
}

/// The normalized form of an image name, used to compare spellings of the same image:
/// `alpine` → `docker.io/library/alpine`, `index.docker.io/vaultwarden/server` →
/// `docker.io/vaultwarden/server`. Registry hosts keep their port; everything is lower-cased.
pub fn canonical_image_name(name: &str) -> String {
    let name = name.trim_matches('/');
    let (host, path) = match name.split_once('/') {
        Some((first, rest)) if is_registry_host(first) => (first, rest),
        _ => ("docker.io", name),
    };
    let docker_hub = [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "docker.com",
    ]
    .iter()
    .any(|alias| host.eq_ignore_ascii_case(alias));
    let host = if docker_hub { "docker.io" } else { host };
    let library = docker_hub && !path.contains('/');
    let mut canonical = String::with_capacity(host.len() + path.len() + 9);
    canonical.push_str(host);
    canonical.push('/');
    if library {
        canonical.push_str("library/");
    }
    canonical.push_str(path);
    canonical.make_ascii_lowercase();
    canonical
}

/// Whether the first component of an image name is a registry host rather than a namespace.
fn is_registry_host(component: &str) -> bool {
    component.contains(['.', ':']) || component == "localhost"
}

#[cfg(test)]
mod tests {
    use super::{ImageRef, canonical_image_name};

    fn parts(text: &str) -> (String, Option<String>, Option<String>) {
        let image = ImageRef::parse(text).expect(text);
        (
            text[image.name].to_owned(),
            image.tag.map(|r| text[r].to_owned()),
            image.digest.map(|r| text[r].to_owned()),
        )
    }

    #[test]
    fn splits_name_tag_and_digest() {
        assert_eq!(
            parts("vaultwarden/server:1.35.4").1.as_deref(),
            Some("1.35.4")
        );
        assert_eq!(parts("alpine").1, None);
        let (name, tag, _) = parts("10.0.20.10:5000/infra/backup:2026.2.4-patch3");
        assert_eq!(name, "10.0.20.10:5000/infra/backup");
        assert_eq!(tag.as_deref(), Some("2026.2.4-patch3"));
        let (name, tag, digest) = parts("redis:7.4.2@sha256:0123abcd");
        assert_eq!((name.as_str(), tag.as_deref()), ("redis", Some("7.4.2")));
        assert_eq!(digest.as_deref(), Some("sha256:0123abcd"));
        assert_eq!(parts("localhost:5000/app").1, None);
    }

    #[test]
    fn rejects_what_cannot_be_an_image() {
        for text in [
            "",
            "a b:1",
            "x:",
            "x@",
            "registry.local/:1.0",
            ":1.0",
            "tostring(var.push)",
            "a,b:1",
            "ghcr.io/*",
            "docker.io/library/*:1.0",
        ] {
            assert_eq!(ImageRef::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn normalizes_docker_hub_spellings() {
        let hub = "docker.io/vaultwarden/server";
        for name in [
            "vaultwarden/server",
            "docker.io/vaultwarden/server",
            "index.docker.io/vaultwarden/server",
        ] {
            assert_eq!(canonical_image_name(name), hub);
        }
        assert_eq!(canonical_image_name("alpine"), "docker.io/library/alpine");
        assert_eq!(
            canonical_image_name("docker.io/library/alpine"),
            "docker.io/library/alpine"
        );
        assert_eq!(
            canonical_image_name("GHCR.io/Immich-App/immich-server"),
            "ghcr.io/immich-app/immich-server"
        );
        assert_eq!(
            canonical_image_name("10.0.20.10:5000/infra/backup"),
            "10.0.20.10:5000/infra/backup"
        );
        assert_eq!(canonical_image_name("localhost/app"), "localhost/app");
    }
}
