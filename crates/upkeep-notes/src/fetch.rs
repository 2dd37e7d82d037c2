//! Fetching a repository's release notes: its GitHub releases, and its changelog file where
//! the releases say little (an empty body, a few words, "See CHANGELOG.md") or are missing.

use crate::changelog::split_changelog;
use crate::discover::{changelog_files, changelog_folders};
use crate::github::{FetchError, GitHub, GitHubRelease, RepoId};
use crate::release::{Release, crossed, says_little};
use crate::source::Subject;
use crate::tags::{TagVersion, pick_prefix, tag_version};
use serde::Serialize;
use upkeep_pins::Version;

/// The release notes of a repository, and how they were found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Notes {
    /// Every release found for the subject (those of other components of the repository
    /// left out): GitHub releases, with the changelog's sections where they say little, and
    /// the changelog's releases GitHub does not list.
    pub releases: Vec<Release>,
    /// How many releases GitHub listed for the subject.
    pub github_releases: usize,
    /// The changelog files read, in order, with how many versions each split into.
    pub files: Vec<FileRead>,
    /// The versions whose notes come from the changelog file.
    pub from_changelog: Vec<String>,
    /// The versions whose notes come from the chart index's `artifacthub.io/changes`.
    pub from_chart_index: Vec<String>,
}

/// A changelog file that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRead {
    /// Its path in the repository.
    pub path: String,
    /// How many version sections it split into (0: no version heading recognised).
    pub versions: usize,
}

impl Notes {
    /// Where the notes came from, in a few words: `releases`, `docs/changelog.md`, or
    /// `releases + CHANGELOG.md (v1.2.3)`; `None` when nothing was found.
    pub fn origin(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.github_releases > 0 {
            parts.push("releases".to_owned());
        }
        if let Some(file) = self.files.iter().find(|file| file.versions > 0) {
            parts.push(if self.github_releases > 0 {
                if self.from_changelog.is_empty() {
                    String::new()
                } else {
                    format!("{} ({})", file.path, self.from_changelog.join(", "))
                }
            } else {
                file.path.clone()
            });
        }
        if !self.from_chart_index.is_empty() {
            parts.push("chart index (artifacthub.io/changes)".to_owned());
        }
        parts.retain(|part| !part.is_empty());
        (!parts.is_empty()).then(|| parts.join(" + "))
    }

    /// Adds a chart's notes from its index (see [`crate::chart_releases`]): a release that
    /// says little takes them, one that says more gets them appended, and versions with no
    /// release are added.
    pub fn add_chart_changes(&mut self, releases: Vec<Release>) {
        for chart in releases {
            let version = chart.version.as_str().to_owned();
            match self
                .releases
                .iter_mut()
                .find(|release| release.version == chart.version)
            {
                Some(release) if says_little(&release.notes) => release.notes = chart.notes,
                Some(release) => {
                    release.notes.push_str("\n\n");
                    release.notes.push_str(&chart.notes);
                }
                None => self.releases.push(chart),
            }
            self.from_chart_index.push(version);
        }
    }

    /// What happened when no notes were found, for the plan and the commit message: a file
    /// was read but no version heading was recognised in it, or there was nothing to read.
    pub fn missing(&self, repo: &str) -> String {
        let unreadable: Vec<&str> = self
            .files
            .iter()
            .filter(|file| file.versions == 0)
            .map(|file| file.path.as_str())
            .collect();
        if unreadable.is_empty() {
            format!("no release notes found in {repo}: no releases, no changelog file")
        } else {
            format!(
                "notes file read but no version headings recognised ({}) in {repo}",
                unreadable.join(", ")
            )
        }
    }
}

/// Fetches the notes of `subject` from `repo` for an upgrade from `old` to `new`: its GitHub
/// releases; then, when none of them falls between `old` and `new` or one of those says
/// little, the changelog file found at the root or in `docs/` (or `doc/`, `misc/`).
pub async fn fetch_notes(
    github: &GitHub,
    repo: &RepoId,
    subject: &Subject,
    old: &Version,
    new: &Version,
) -> Result<Notes, FetchError> {
    let listed = github.releases(repo).await?;
    let (prefix, releases) = own_releases(&listed, subject, new);
    let mut notes = Notes {
        github_releases: releases.len(),
        releases,
        ..Notes::default()
    };
    let in_range = crossed(&notes.releases, old, new);
    let needs_changelog =
        in_range.is_empty() || in_range.iter().any(|release| says_little(&release.notes));
    // A component's tags (`grafana-8.5.1`) in a shared repository: the root changelog is
    // not that component's.
    if !needs_changelog || prefix.is_some_and(|prefix| !prefix.is_empty()) {
        return Ok(notes);
    }
    for path in changelog_paths(github, repo).await? {
        let Some(file) = github.file(repo, &path).await? else {
            continue;
        };
        let sections = split_changelog(&file.text, Some(&file.url));
        notes.files.push(FileRead {
            path: path.clone(),
            versions: sections.len(),
        });
        if sections.is_empty() {
            continue;
        }
        merge(&mut notes, sections);
        let in_range = |version: &String| {
            Version::parse(version).is_some_and(|version| &version > old && &version <= new)
        };
        notes.from_changelog.retain(in_range);
        break;
    }
    Ok(notes)
}

/// The changelog files of a repository, likeliest first: those at the root, then those in
/// its documentation folders.
async fn changelog_paths(github: &GitHub, repo: &RepoId) -> Result<Vec<String>, FetchError> {
    let Some(root) = github.list(repo, "").await? else {
        return Ok(Vec::new());
    };
    let mut paths = changelog_files(&root);
    for folder in changelog_folders(&root) {
        if let Some(entries) = github.list(repo, &folder).await? {
            paths.extend(changelog_files(&entries));
        }
    }
    Ok(paths)
}

/// Adds a changelog's sections to the notes: a release that says little takes the section
/// of its version, and versions GitHub does not list are added.
fn merge(notes: &mut Notes, sections: Vec<Release>) {
    for section in sections {
        if section.notes.trim().is_empty() {
            continue;
        }
        match notes
            .releases
            .iter_mut()
            .find(|release| release.version == section.version)
        {
            Some(release) if says_little(&release.notes) => {
                release.notes = section.notes;
                notes
                    .from_changelog
                    .push(release.version.as_str().to_owned());
            }
            Some(_) => {}
            None => {
                if notes.github_releases > 0 {
                    notes
                        .from_changelog
                        .push(section.version.as_str().to_owned());
                }
                notes.releases.push(section);
            }
        }
    }
}

/// The releases whose tags belong to the subject, read into [`Release`]s, with the tag
/// prefix they share (`None` when no tag holds a version).
pub fn own_releases(
    listed: &[GitHubRelease],
    subject: &Subject,
    target: &Version,
) -> (Option<String>, Vec<Release>) {
    let tagged: Vec<(TagVersion, &GitHubRelease)> = listed
        .iter()
        .filter(|release| !release.draft)
        .filter_map(|release| Some((tag_version(&release.tag_name)?, release)))
        .collect();
    let tags: Vec<TagVersion> = tagged.iter().map(|(tag, _)| tag.clone()).collect();
    let expected = subject.tag_prefix();
    let Some(prefix) = pick_prefix(&tags, expected.as_deref(), target).map(str::to_owned) else {
        return (None, Vec::new());
    };
    let releases = tagged
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
        .collect();
    (Some(prefix), releases)
}
