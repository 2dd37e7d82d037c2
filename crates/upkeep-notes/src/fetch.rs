//! Fetching a repository's release notes: its GitHub releases, or when it publishes none, its
//! changelog file split by version headings.

use crate::changelog::split_changelog;
use crate::github::{FetchError, GitHub, GitHubRelease, RepoId};
use crate::release::Release;
use crate::source::Subject;
use crate::tags::{TagVersion, pick_prefix, tag_version};
use serde::Serialize;
use upkeep_pins::Version;

/// Changelog files read when a repository publishes no releases, in this order.
pub const CHANGELOG_PATHS: [&str; 3] = ["CHANGELOG.md", "CHANGES.md", "docs/changelog.md"];

/// The release notes of a repository.
#[derive(Debug, Clone, Serialize)]
pub struct Notes {
    /// Where they came from: `releases`, or the changelog file's path.
    pub origin: String,
    /// Every release found for the subject (those of other components of the repository
    /// left out), in the order listed.
    pub releases: Vec<Release>,
}

/// Fetches the notes of `subject` from `repo`; `None` when the repository has neither
/// releases nor a changelog file. `target` helps pick the tag prefix of a repository that
/// releases several components.
pub async fn fetch_notes(
    github: &GitHub,
    repo: &RepoId,
    subject: &Subject,
    target: &Version,
) -> Result<Option<Notes>, FetchError> {
    let listed = github.releases(repo).await?;
    let releases = own_releases(&listed, subject, target);
    if !releases.is_empty() {
        return Ok(Some(Notes {
            origin: "releases".to_owned(),
            releases,
        }));
    }
    let mut found = None;
    for path in CHANGELOG_PATHS {
        found = github.file(repo, path).await?;
        if found.is_some() {
            break;
        }
    }
    let Some(file) = found else {
        return Ok(None);
    };
    let releases = split_changelog(&file.text, Some(&file.url));
    Ok((!releases.is_empty()).then_some(Notes {
        origin: file.path,
        releases,
    }))
}

/// The releases whose tags belong to the subject, read into [`Release`]s.
pub fn own_releases(listed: &[GitHubRelease], subject: &Subject, target: &Version) -> Vec<Release> {
    let tagged: Vec<(TagVersion, &GitHubRelease)> = listed
        .iter()
        .filter(|release| !release.draft)
        .filter_map(|release| Some((tag_version(&release.tag_name)?, release)))
        .collect();
    let tags: Vec<TagVersion> = tagged.iter().map(|(tag, _)| tag.clone()).collect();
    let expected = subject.tag_prefix();
    let Some(prefix) = pick_prefix(&tags, expected.as_deref(), target) else {
        return Vec::new();
    };
    tagged
        .into_iter()
        .filter(|(tag, _)| tag.prefix == prefix)
        .map(|(tag, release)| Release {
            prerelease: release.prerelease || tag.version.is_prerelease(),
            version: tag.version,
            tag: release.tag_name.clone(),
            notes: release.body.clone().unwrap_or_default(),
            draft: release.draft,
            url: release.html_url.clone(),
        })
        .collect()
}
