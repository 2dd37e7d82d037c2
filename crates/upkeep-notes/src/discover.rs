//! Finding a repository's changelog the way a person would: look at the files at the root
//! and in the documentation folders, and pick those named like a changelog.

use crate::github::ContentEntry;

/// Folders (any case) a changelog may live in besides the root.
pub const CHANGELOG_FOLDERS: [&str; 4] = ["docs", "doc", "documentation", "misc"];

/// File names (before the extension, any case) that hold a changelog, most likely first.
const NAMES: [&[&str]; 5] = [
    &["changelog", "change_log", "change-log"],
    &["changes"],
    &["history"],
    &["news"],
    &["releases", "release-notes", "release_notes", "releasenotes"],
];

/// Extensions a changelog is written with, most likely first (none counts too).
const EXTENSIONS: [&str; 6] = ["md", "markdown", "rst", "txt", "", "adoc"];

/// How likely a file name is to be the changelog: `None` when it is not named like one,
/// lower is likelier.
pub fn changelog_rank(name: &str) -> Option<(usize, usize)> {
    let lower = name.to_ascii_lowercase();
    let (stem, extension) = match lower.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, extension),
        _ => (lower.as_str(), ""),
    };
    let name_rank = NAMES.iter().position(|names| names.contains(&stem))?;
    let extension_rank = EXTENSIONS.iter().position(|e| *e == extension)?;
    Some((name_rank, extension_rank))
}

/// The changelog files among a folder's entries, likeliest first.
pub fn changelog_files(entries: &[ContentEntry]) -> Vec<String> {
    let mut files: Vec<((usize, usize), &ContentEntry)> = entries
        .iter()
        .filter(|entry| entry.kind == "file")
        .filter_map(|entry| Some((changelog_rank(&entry.name)?, entry)))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    files
        .into_iter()
        .map(|(_, entry)| entry.path.clone())
        .collect()
}

/// The documentation folders among the root's entries, in [`CHANGELOG_FOLDERS`] order.
pub fn changelog_folders(entries: &[ContentEntry]) -> Vec<String> {
    CHANGELOG_FOLDERS
        .iter()
        .filter_map(|folder| {
            entries
                .iter()
                .find(|entry| entry.kind == "dir" && entry.name.eq_ignore_ascii_case(folder))
                .map(|entry| entry.path.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{changelog_files, changelog_folders, changelog_rank};
    use crate::github::ContentEntry;

    fn entry(path: &str, kind: &str) -> ContentEntry {
        ContentEntry {
            name: path.rsplit('/').next().unwrap_or(path).to_owned(),
            path: path.to_owned(),
            kind: kind.to_owned(),
        }
    }

    #[test]
    fn names_real_projects_use_are_changelogs() {
        for name in [
            "CHANGELOG.md",
            "ChangeLog",
            "Changelog",
            "changelog.rst",
            "CHANGES.rst",
            "CHANGES",
            "History.md",
            "HISTORY.rst",
            "NEWS",
            "NEWS.md",
            "RELEASES.md",
            "RELEASE-NOTES.md",
            "ChangeLog.txt",
            "CHANGELOG.adoc",
        ] {
            assert!(changelog_rank(name).is_some(), "{name}");
        }
        for name in [
            "README.md",
            "CHANGELOG.png",
            "changelog.go",
            "changes.xml",
            "CHANGELOG-template.md",
            "news.html",
        ] {
            assert_eq!(changelog_rank(name), None, "{name}");
        }
    }

    #[test]
    fn the_likeliest_changelog_comes_first() {
        let root = [
            entry("README.md", "file"),
            entry("NEWS", "file"),
            entry("ChangeLog", "file"),
            entry("CHANGES.rst", "file"),
            entry("changelog", "dir"),
            entry("Docs", "dir"),
            entry("misc", "dir"),
            entry("src", "dir"),
        ];
        assert_eq!(changelog_files(&root), ["ChangeLog", "CHANGES.rst", "NEWS"]);
        assert_eq!(changelog_folders(&root), ["Docs", "misc"]);
        let docs = [
            entry("docs/changelog.md", "file"),
            entry("docs/changelog.rst", "file"),
            entry("docs/index.md", "file"),
        ];
        assert_eq!(
            changelog_files(&docs),
            ["docs/changelog.md", "docs/changelog.rst"]
        );
    }
}
