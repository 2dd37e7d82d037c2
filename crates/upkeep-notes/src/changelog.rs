//! Splitting a changelog file (`CHANGELOG.md`, `CHANGES.md`) into one release per version
//! heading, for repositories that publish no GitHub releases.

use crate::release::Release;
use regex::Regex;
use std::sync::LazyLock;
use upkeep_pins::Version;

/// A line that starts a version's section: a Markdown heading whose first word is a version
/// (`## [1.2.3] - 2024-01-01`, `## v1.2.3`, `# 1.2.3 (2024-01-01)`), or a plain line
/// `1.2.3 / 2024-01-01`.
static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    let version = r"v?\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.+-]*)?";
    Regex::new(&format!(
        r"^(?:#{{1,6}}[ \t]*\[?(?P<heading>{version})\]?(?:[ \t].*)?|(?P<plain>{version})[ \t]+/[ \t]+\d{{4}}-\d{{2}}-\d{{2}}.*)$"
    ))
    .expect("valid regex")
});

/// The releases of a changelog, in file order, each with the text under its heading. Text
/// before the first version heading (a title, an "Unreleased" section) belongs to none.
/// `url` is where the file is read, for the reader.
pub fn split_changelog(text: &str, url: Option<&str>) -> Vec<Release> {
    let mut releases: Vec<Release> = Vec::new();
    let mut current: Option<(Release, Vec<&str>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_end();
        if let Some(captures) = HEADING.captures(trimmed) {
            let version_text = captures
                .name("heading")
                .or_else(|| captures.name("plain"))
                .map_or("", |m| m.as_str());
            if let Some(version) = Version::parse(version_text) {
                if let Some((release, lines)) = current.take() {
                    releases.push(finish(release, &lines));
                }
                let release = Release {
                    prerelease: version.is_prerelease(),
                    version,
                    tag: trimmed.to_owned(),
                    notes: String::new(),
                    draft: false,
                    url: url.map(str::to_owned),
                };
                current = Some((release, Vec::new()));
                continue;
            }
        }
        if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((release, lines)) = current {
        releases.push(finish(release, &lines));
    }
    releases
}

fn finish(mut release: Release, lines: &[&str]) -> Release {
    let start = lines.iter().position(|line| !line.trim().is_empty());
    let end = lines.iter().rposition(|line| !line.trim().is_empty());
    if let (Some(start), Some(end)) = (start, end) {
        release.notes = lines[start..=end].join("\n");
    }
    release
}

#[cfg(test)]
mod tests {
    use super::split_changelog;

    #[test]
    fn every_heading_style_starts_a_release() {
        let text = "\
# Changelog

## [Unreleased]
- not yet

## [2.1.0] - 2024-03-01
### Breaking Changes
- `AUTH_MODE` was renamed

## v2.0.1
- fix

# 2.0.0 (2024-01-01)
- first

1.9.0 / 2023-12-01
==================
- old
";
        let releases = split_changelog(text, None);
        let versions: Vec<_> = releases.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(versions, ["2.1.0", "v2.0.1", "2.0.0", "1.9.0"]);
        assert_eq!(
            releases[0].notes,
            "### Breaking Changes\n- `AUTH_MODE` was renamed"
        );
        assert_eq!(releases[3].notes, "==================\n- old");
    }

    #[test]
    fn headings_that_are_not_versions_stay_in_the_notes() {
        let text = "## 1.2.0\n### 2 bugs fixed\n- a\n## Contributors\n- b\n";
        let releases = split_changelog(text, None);
        assert_eq!(releases.len(), 1);
        assert!(releases[0].notes.contains("## Contributors"));
    }
}
