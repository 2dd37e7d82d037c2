//! Release tags: the version in `v1.2.3`, `grafana-8.5.1`, `authentik-2024.12.0` or
//! `server/v1.2.3`, and which tags of a repository belong to the software being upgraded.

use upkeep_pins::Version;

/// A tag split into the prefix that names a component (`grafana-`, `server/`, or empty) and the
/// version that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagVersion {
    /// Everything before the version, separator included.
    pub prefix: String,
    /// The version, with its `v` if written.
    pub version: Version,
}

/// Reads a tag: the version starts at the first digit (or `v` + digit) that begins the tag or
/// follows a `-`, `_`, `/` or `@`. `None` when the tag holds no version.
pub fn tag_version(tag: &str) -> Option<TagVersion> {
    let bytes = tag.as_bytes();
    (0..bytes.len()).find_map(|i| {
        let at_boundary = i == 0 || matches!(bytes[i - 1], b'-' | b'_' | b'/' | b'@');
        let starts_version = bytes[i].is_ascii_digit()
            || (matches!(bytes[i], b'v' | b'V')
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !(at_boundary && starts_version) {
            return None;
        }
        Some(TagVersion {
            prefix: tag[..i].to_owned(),
            version: Version::parse(&tag[i..])?,
        })
    })
}

/// The tag prefix that belongs to the software being upgraded, among the prefixes a
/// repository uses: the expected one if present (`grafana-` for the chart `grafana`), else
/// the one whose tags include the target version, else no prefix, else the most used one.
pub fn pick_prefix<'a>(
    tags: &'a [TagVersion],
    expected: Option<&str>,
    target: &Version,
) -> Option<&'a str> {
    let has = |prefix: &str| tags.iter().any(|tag| tag.prefix == prefix);
    if let Some(expected) = expected
        && let Some(tag) = tags.iter().find(|tag| tag.prefix == expected)
    {
        return Some(&tag.prefix);
    }
    let mut with_target = tags.iter().filter(|tag| &tag.version == target);
    if let Some(tag) = with_target.next() {
        // Prefer the plain tag when several components released this version.
        let plain = with_target
            .chain(std::iter::once(tag))
            .any(|t| t.prefix.is_empty());
        return Some(if plain { "" } else { &tag.prefix });
    }
    if has("") {
        return Some("");
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for tag in tags {
        match counts.iter_mut().find(|(prefix, _)| *prefix == tag.prefix) {
            Some((_, count)) => *count += 1,
            None => counts.push((&tag.prefix, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(_, count)| count)
        .map(|(prefix, _)| prefix)
}

#[cfg(test)]
mod tests {
    use super::{pick_prefix, tag_version};
    use upkeep_pins::Version;

    #[test]
    fn tags_of_every_style_give_their_version() {
        let cases = [
            ("v1.2.3", "", "v1.2.3"),
            ("1.35.4", "", "1.35.4"),
            ("grafana-8.5.1", "grafana-", "8.5.1"),
            ("authentik-2024.12.0", "authentik-", "2024.12.0"),
            ("server/v1.2.3", "server/", "v1.2.3"),
            (
                "kube-prometheus-stack-65.1.0",
                "kube-prometheus-stack-",
                "65.1.0",
            ),
            ("v1.0.35.0", "", "v1.0.35.0"),
            ("release-4.6.3-r1", "release-", "4.6.3-r1"),
            ("app@2.0.0-rc.1", "app@", "2.0.0-rc.1"),
        ];
        for (tag, prefix, version) in cases {
            let read = tag_version(tag).unwrap_or_else(|| panic!("{tag}"));
            assert_eq!(read.prefix, prefix, "{tag}");
            assert_eq!(read.version.as_str(), version, "{tag}");
        }
        for tag in ["latest", "nightly", "mkdocs-material", "x1.2"] {
            assert_eq!(tag_version(tag), None, "{tag}");
        }
    }

    #[test]
    fn the_prefix_of_the_component_being_upgraded_is_chosen() {
        let tags: Vec<_> = [
            "grafana-8.5.1",
            "loki-6.0.0",
            "grafana-8.5.2",
            "tempo-1.9.0",
        ]
        .iter()
        .filter_map(|tag| tag_version(tag))
        .collect();
        let target = Version::parse("6.0.0").unwrap();
        assert_eq!(
            pick_prefix(&tags, Some("grafana-"), &target),
            Some("grafana-")
        );
        assert_eq!(pick_prefix(&tags, None, &target), Some("loki-"));
        let plain: Vec<_> = ["v1.0.0", "cli/v1.0.0", "v1.1.0"]
            .iter()
            .filter_map(|tag| tag_version(tag))
            .collect();
        let target = Version::parse("1.0.0").unwrap();
        assert_eq!(pick_prefix(&plain, None, &target), Some(""));
    }
}
