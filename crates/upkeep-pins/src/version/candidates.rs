//! Choosing update candidates among a registry's tags: only tags of the same shape as the
//! current one, newest patch, minor and major reported separately.

use super::order::{UpdateKind, Version};

/// The newest tag of each kind of update, as written in the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Updates {
    /// Newest tag with the same major and minor (or a newer revision of the same release).
    pub patch: Option<String>,
    /// Newest tag with the same major and a newer minor.
    pub minor: Option<String>,
    /// Newest tag with a newer major.
    pub major: Option<String>,
}

/// What a repository's config allows.
#[derive(Debug, Clone, Default)]
pub struct CandidatePolicy {
    /// Only versions in this range (`>=2, <3`), compared on the numeric core.
    pub allowed: Option<semver::VersionReq>,
    /// Tags never proposed (`*` wildcards: `2.0.*`, `*-rc*`).
    pub ignore: Vec<String>,
}

/// The updates of `current` among `tags`. A candidate has the shape of the current tag:
/// the same `v` prefix, the same variant with digits abstracted (`-alpine`, `-cuda`,
/// `-vectorchordN.N.N`), the same number of numeric parts; a pre-release only when the
/// current tag is one; never a moving or commit tag (`latest`, `main`, `sha-1a2b3c4`).
/// A revision bump of the same release (`4.6.3-r1` → `-r2`) counts as a patch.
pub fn choose_updates(current: &str, tags: &[String], policy: &CandidatePolicy) -> Updates {
    let Some(now) = Version::parse(current) else {
        return Updates::default();
    };
    let shape = Shape::of(current, &now);
    let mut updates = Updates::default();
    let mut best: [Option<Version>; 3] = [None, None, None];
    for tag in tags {
        let Some(candidate) = Version::parse(tag) else {
            continue;
        };
        if Shape::of(tag, &candidate) != shape
            || candidate <= now
            || looks_like_commit(tag)
            || (candidate.is_prerelease() && !now.is_prerelease())
            || policy.ignore.iter().any(|pattern| glob(pattern, tag))
            || policy
                .allowed
                .as_ref()
                .is_some_and(|range| !range.matches(&semver_core(&candidate)))
        {
            continue;
        }
        let slot = match candidate.change_from(&now) {
            UpdateKind::Other | UpdateKind::Patch => 0,
            UpdateKind::Minor => 1,
            UpdateKind::Major => 2,
        };
        if best[slot].as_ref().is_none_or(|b| candidate > *b) {
            let text = Some(tag.clone());
            match slot {
                0 => updates.patch = text,
                1 => updates.minor = text,
                _ => updates.major = text,
            }
            best[slot] = Some(candidate);
        }
    }
    updates
}

/// The parts of a tag's shape that must match.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    v_prefix: bool,
    parts: usize,
    variant: Option<String>,
}

impl Shape {
    fn of(tag: &str, version: &Version) -> Shape {
        Shape {
            v_prefix: tag.starts_with(['v', 'V']),
            parts: version.parts(),
            variant: version.variant().map(|variant| {
                let mut shape = String::new();
                for c in variant.chars() {
                    if c.is_ascii_digit() {
                        if !shape.ends_with('#') {
                            shape.push('#');
                        }
                    } else {
                        shape.push(c);
                    }
                }
                shape
            }),
        }
    }
}

/// `sha-1a2b3c4`, `1a2b3c4d`: commit tags, which order by nothing.
fn looks_like_commit(tag: &str) -> bool {
    let hex = tag.strip_prefix("sha-").unwrap_or(tag);
    hex.len() >= 7
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && hex.chars().any(|c| c.is_ascii_alphabetic())
}

fn semver_core(version: &Version) -> semver::Version {
    semver::Version::new(version.part(0), version.part(1), version.part(2))
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => text.strip_prefix(head).is_some_and(|rest| {
            (0..=rest.len()).any(|i| rest.is_char_boundary(i) && glob(tail, &rest[i..]))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::{CandidatePolicy, Updates, choose_updates};

    fn tags(list: &str) -> Vec<String> {
        list.split_whitespace().map(str::to_owned).collect()
    }

    fn pick(current: &str, list: &str) -> (Option<String>, Option<String>, Option<String>) {
        let Updates {
            patch,
            minor,
            major,
        } = choose_updates(current, &tags(list), &CandidatePolicy::default());
        (patch, minor, major)
    }

    fn s(text: &str) -> Option<String> {
        (!text.is_empty()).then(|| text.to_owned())
    }

    #[test]
    fn real_world_tag_shapes() {
        // (current, tags in the registry, patch, minor, major)
        let cases: [(&str, &str, &str, &str, &str); 42] = [
            (
                "1.35.4",
                "1.35.3 1.35.4 1.35.5 1.36.0 1.36.1 2.0.0 latest alpine",
                "1.35.5",
                "1.36.1",
                "2.0.0",
            ),
            ("1.35.4", "1.35.4 1.35.4-alpine 1.36.0-alpine", "", "", ""),
            (
                "1.35.4-alpine",
                "1.35.5 1.35.5-alpine 1.36.0-alpine 1.36.0",
                "1.35.5-alpine",
                "1.36.0-alpine",
                "",
            ),
            (
                "v2.7.4",
                "v2.7.5 v2.8.0 2.8.1 v3.0.0-rc.1 v3.0.0",
                "v2.7.5",
                "v2.8.0",
                "v3.0.0",
            ),
            (
                "v2.7.4-cuda",
                "v2.7.5 v2.7.5-cuda v2.8.0-cuda v2.8.0-rocm",
                "v2.7.5-cuda",
                "v2.8.0-cuda",
                "",
            ),
            (
                "4.6.3-r1",
                "4.6.3-r0 4.6.3-r2 4.6.4-r0 4.7.0-r1 5.0.0-r0 4.6.4",
                "4.6.4-r0",
                "4.7.0-r1",
                "5.0.0-r0",
            ),
            ("4.6.3-r1", "4.6.3-r2 4.6.3-r3", "4.6.3-r3", "", ""),
            (
                "16-alpine",
                "16 17-alpine 16.1-alpine 18-alpine 18-bookworm",
                "",
                "",
                "18-alpine",
            ),
            (
                "3.12-alpine",
                "3.12 3.13-alpine 3.12.1-alpine 4.0-alpine 3.14-alpine3.20",
                "",
                "3.13-alpine",
                "4.0-alpine",
            ),
            (
                "v1.0.35.0",
                "v1.0.35.1 v1.0.36.0 v1.1.0.0 v2.0.0.0 v1.0.36",
                "v1.0.36.0",
                "v1.1.0.0",
                "v2.0.0.0",
            ),
            (
                "2026.2.4-patch3",
                "2026.2.4-patch4 2026.2.5 2026.3.0 2027.1.0",
                "2026.2.5",
                "2026.3.0",
                "2027.1.0",
            ),
            (
                "15-vectorchord0.4.3",
                "15-vectorchord0.4.4 16-vectorchord0.4.3 15-pgvectors0.2.0 15",
                "15-vectorchord0.4.4",
                "",
                "16-vectorchord0.4.3",
            ),
            (
                "8.11.1",
                "8.11.0 8.11.1 8.12.0 8.12.1 9.0.0-beta",
                "",
                "8.12.1",
                "",
            ),
            (
                "10.10.7",
                "10.10.8 10.11.0-rc1 10.11.0 2025082505",
                "10.10.8",
                "10.11.0",
                "",
            ),
            (
                "0.5.4",
                "0.5.5 0.6.0 0.6.1 1.0.0",
                "0.5.5",
                "0.6.1",
                "1.0.0",
            ),
            ("0.25.0", "v0.26.0 0.25.1 0.26.0", "0.25.1", "0.26.0", ""),
            (
                "v0.25.0",
                "v0.25.1 v0.26.0 0.27.0",
                "v0.25.1",
                "v0.26.0",
                "",
            ),
            (
                "2025.11.3",
                "2025.11.4 2025.12.0 2026.1.0 2025.12.0b0 dev stable",
                "2025.11.4",
                "2025.12.0",
                "2026.1.0",
            ),
            (
                "2025.10.1",
                "2025.10.2 2025.12.1 2026.2.0 2025.10.2-rc1",
                "2025.10.2",
                "2025.12.1",
                "2026.2.0",
            ),
            (
                "1.22.6-rootless",
                "1.22.7 1.22.7-rootless 1.23.0-rootless 1.23.0",
                "1.22.7-rootless",
                "1.23.0-rootless",
                "",
            ),
            (
                "0.2.11",
                "0.2.12 0.3.0 nightly latest",
                "0.2.12",
                "0.3.0",
                "",
            ),
            (
                "11.3.1",
                "11.3.2 11.4.0 12.0.0 12.0.0-ubuntu main",
                "11.3.2",
                "11.4.0",
                "12.0.0",
            ),
            (
                "1.28.0",
                "1.28.1 1.29.0 sha-1a2b3c4 1a2b3c4d",
                "1.28.1",
                "1.29.0",
                "",
            ),
            (
                "7.4.2-debian-12-r6",
                "7.4.2-debian-12-r7 7.4.3-debian-12-r0 7.4.3 8.0.1-debian-12-r1",
                "7.4.3-debian-12-r0",
                "",
                "8.0.1-debian-12-r1",
            ),
            (
                "2.14.7",
                "2.14.8 2.15.0 2.15.0-beta.rc1",
                "2.14.8",
                "2.15.0",
                "",
            ),
            (
                "3.0.0.0-full",
                "3.0.0.0 3.0.1.0-full 3.1.0.0-full",
                "3.0.1.0-full",
                "3.1.0.0-full",
                "",
            ),
            (
                "8.15.3",
                "8.15.4 8.16.0 8.15.3-chromium",
                "8.15.4",
                "8.16.0",
                "",
            ),
            ("1.72.1", "1.72.2 1.73.0 next beta", "1.72.2", "1.73.0", ""),
            (
                "30.0.4-apache",
                "30.0.5-apache 31.0.0-apache 30.0.5-fpm 30-apache",
                "30.0.5-apache",
                "",
                "31.0.0-apache",
            ),
            (
                "2025.03.0",
                "2025.04.0 2025.03.1 2026.01.0",
                "2025.03.1",
                "2025.04.0",
                "2026.01.0",
            ),
            ("v1.0.1", "v1.0.2 v1.1.0 1.2.0", "v1.0.2", "v1.1.0", ""),
            ("5.4.1", "5.4.2 5.5.0-rc.1", "5.4.2", "", ""),
            (
                "5.5.0-rc.1",
                "5.5.0-rc.2 5.5.0 5.6.0-beta.1",
                "5.5.0",
                "5.6.0-beta.1",
                "",
            ),
            ("2025.11.1", "2025.11.1 2025.11.0", "", "", ""),
            (
                "v0.107.55",
                "v0.107.56 v0.108.0-b.1 v0.108.0",
                "v0.107.56",
                "v0.108.0",
                "",
            ),
            (
                "1.6-cuda",
                "1.6 1.7-cuda 1.6.1-cuda cpu-1.7 2.0-cuda",
                "",
                "1.7-cuda",
                "2.0-cuda",
            ),
            ("latest", "1.0.0 2.0.0", "", "", ""),
            ("bookworm-slim", "trixie-slim 1.0", "", "", ""),
            (
                "12.2-bookworm-slim",
                "12.3-bookworm-slim 12.3-trixie-slim 13.0-bookworm-slim",
                "",
                "12.3-bookworm-slim",
                "13.0-bookworm-slim",
            ),
            ("1.36.0", "1.36.0", "", "", ""),
            ("3.0.2-rc07", "3.0.2-rc08 3.0.2 3.1.0", "3.0.2", "3.1.0", ""),
            (
                "v4.28.0",
                "v4.28.1 v4.29.0 v5.0.0 edge",
                "v4.28.1",
                "v4.29.0",
                "v5.0.0",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(current, list, patch, minor, major)| {
                pick(current, list) != (s(patch), s(minor), s(major))
            })
            .map(|(current, list, ..)| format!("{current} among {list}: {:?}", pick(current, list)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn allowed_ranges_and_ignored_tags_narrow_the_choice() {
        let list = tags("1.35.5 1.36.0 1.37.0-rc1 2.0.0 2.1.0");
        let policy = CandidatePolicy {
            allowed: Some(semver::VersionReq::parse("<2").unwrap()),
            ignore: vec!["1.36.*".to_owned()],
        };
        assert_eq!(
            choose_updates("1.35.4", &list, &policy),
            Updates {
                patch: Some("1.35.5".to_owned()),
                minor: None,
                major: None
            }
        );
    }
}
