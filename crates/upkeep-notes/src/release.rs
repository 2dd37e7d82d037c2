//! Releases: one version's notes, wherever they came from, and choosing those an upgrade
//! crosses.

use serde::Serialize;
use upkeep_pins::Version;

/// One release and its notes.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The version, read from the tag or changelog heading.
    #[serde(serialize_with = "as_text")]
    pub version: Version,
    /// The tag or heading as written (`grafana-8.5.1`, `v1.2.3`, `## [1.2.3] - 2024-01-01`).
    pub tag: String,
    /// The release notes (Markdown).
    #[serde(skip)]
    pub notes: String,
    /// Marked as a pre-release by its publisher, or by its version (`-rc.1`).
    pub prerelease: bool,
    /// A draft, not yet published.
    pub draft: bool,
    /// Where a reader finds it.
    pub url: Option<String>,
}

fn as_text<S: serde::Serializer>(version: &Version, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(version.as_str())
}

/// Words of a release body that say its notes are elsewhere.
const POINTERS: [&str; 6] = [
    "changelog",
    "change log",
    "changes.md",
    "release notes",
    "history.md",
    "news.md",
];

/// Whether a release's notes say too little to judge it: empty, a few words, or a pointer
/// elsewhere ("See CHANGELOG.md", a compare link alone). Such a release is read from the
/// changelog file instead when it has a section for the version.
pub fn says_little(notes: &str) -> bool {
    let text: Vec<&str> = notes
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        // "**Full Changelog**: https://…/compare/v1...v2" is GitHub's generated footer.
        .filter(|line| !line.to_ascii_lowercase().contains("full changelog"))
        .filter(|line| !line.starts_with('#'))
        .collect();
    let words: usize = text
        .iter()
        .flat_map(|line| line.split_whitespace())
        .filter(|word| !word.contains("://") && word.chars().any(char::is_alphanumeric))
        .count();
    let joined = text.join(" ").to_ascii_lowercase();
    let points_elsewhere = POINTERS.iter().any(|pointer| joined.contains(pointer));
    words < 4 || (points_elsewhere && words < 20)
}

/// The releases an upgrade from `old` to `new` crosses: strictly after `old`, up to and
/// including `new`, in version order (never by date). Drafts are skipped, and pre-releases
/// too unless `new` is one.
pub fn crossed(releases: &[Release], old: &Version, new: &Version) -> Vec<Release> {
    let want_prereleases = new.is_prerelease();
    let mut crossed: Vec<Release> = releases
        .iter()
        .filter(|release| !release.draft)
        .filter(|release| want_prereleases || !release.prerelease)
        .filter(|release| &release.version > old && &release.version <= new)
        .cloned()
        .collect();
    crossed.sort_by(|a, b| a.version.cmp(&b.version));
    crossed.dedup_by(|a, b| a.version == b.version);
    crossed
}

#[cfg(test)]
mod tests {
    use super::{Release, crossed, says_little};
    use upkeep_pins::Version;

    fn release(tag: &str, prerelease: bool, draft: bool) -> Release {
        let version = Version::parse(tag).expect("version");
        Release {
            prerelease: prerelease || version.is_prerelease(),
            version,
            tag: tag.to_owned(),
            notes: String::new(),
            draft,
            url: None,
        }
    }

    fn versions(releases: &[Release]) -> Vec<&str> {
        releases.iter().map(|r| r.tag.as_str()).collect()
    }

    #[test]
    fn crossed_releases_are_chosen_by_version_order_not_by_listing_order() {
        // Listed newest-published first, with a backport published after a newer release.
        let all = [
            release("v1.4.1", false, false),
            release("v1.3.9", false, false),
            release("v1.4.0", false, false),
            release("v1.5.0-rc.1", false, false),
            release("v1.3.5", false, false),
            release("v1.4.2", false, true),
            release("v1.2.0", false, false),
        ];
        let old = Version::parse("1.3.5").unwrap();
        let new = Version::parse("v1.4.1").unwrap();
        assert_eq!(
            versions(&crossed(&all, &old, &new)),
            ["v1.3.9", "v1.4.0", "v1.4.1"]
        );
    }

    #[test]
    fn pre_releases_count_only_when_the_target_is_one() {
        let all = [
            release("2.0.0-rc.1", false, false),
            release("2.0.0-rc.2", false, false),
            release("1.9.1", false, false),
            release("1.9.2", true, false),
        ];
        let old = Version::parse("1.9.0").unwrap();
        let stable = Version::parse("1.9.2").unwrap();
        assert_eq!(versions(&crossed(&all, &old, &stable)), ["1.9.1"]);
        let rc = Version::parse("2.0.0-rc.2").unwrap();
        assert_eq!(
            versions(&crossed(&all, &old, &rc)),
            ["1.9.1", "1.9.2", "2.0.0-rc.1", "2.0.0-rc.2"]
        );
    }

    #[test]
    fn bodies_that_point_elsewhere_or_say_nothing_say_little() {
        for notes in [
            "",
            "  \n\n",
            "See CHANGELOG.md",
            "Please see the [changelog](https://github.com/o/r/blob/main/CHANGELOG.md) for details.",
            "**Full Changelog**: https://github.com/o/r/compare/v1.2.2...v1.2.3",
            "## What's Changed\n\n**Full Changelog**: https://github.com/o/r/compare/v1.2.2...v1.2.3",
            "Bug fixes.",
            "Release notes: https://docs.example.org/releases/1.2.3",
        ] {
            assert!(says_little(notes), "{notes:?}");
        }
        for notes in [
            "### Fixes\n- Fix attachment download with S3 storage",
            "## What's Changed\n* fix(server): keep the upload session alive by @dev in #101\n\n**Full Changelog**: https://github.com/o/r/compare/v1...v2",
            "This release removes the deprecated `LEGACY_AUTH` setting. The changelog lists every other change; read the migration notes before upgrading, since the database schema changes and a backup is strongly recommended. Downgrades are not supported after the migration runs, so plan a maintenance window.",
        ] {
            assert!(!says_little(notes), "{notes:?}");
        }
    }
}
