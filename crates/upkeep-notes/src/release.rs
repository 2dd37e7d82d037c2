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
    use super::{Release, crossed};
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
}
