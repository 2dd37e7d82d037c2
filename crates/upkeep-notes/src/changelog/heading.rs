//! Which lines of a changelog could start a version's section, and the version each names.
//!
//! Real files write their headings in many ways: Markdown `## [1.2.3] - date`, `## v1.2.3`,
//! a word before the version (`## paperless-ngx 2.20.14`, `Release 4.10.0`, `Version 1.2`),
//! release-please links (`## [1.1.0](https://…/compare/v1.0.0...v1.1.0) (2026-01-02)`),
//! AsciiDoc and RDoc `== 1.7.4`, setext and reStructuredText underlines, bold lines, and
//! plain dated lines (`2025-08-12 version 1.0.1`, `Wed Nov 19th 2025 - … - v5.1.4`). This
//! module finds every such *candidate*; [`super`] decides which of them are the file's
//! release headings.

use regex::Regex;
use std::sync::LazyLock;
use upkeep_pins::Version;

/// How a heading is marked up. Headings of one file's releases share a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    /// Markdown `#` headings, any level.
    Atx,
    /// AsciiDoc / RDoc `=` headings, any level.
    Equals,
    /// A line underlined (setext, reStructuredText), optionally overlined too.
    Underlined,
    /// A line that is bold as a whole (`**1.2.3** (date)`).
    Bold,
    /// A bullet that starts with a date, as RPM spec changelogs write entries
    /// (`* Sun Aug 04 2019 - name <mail> - v4.1.7`).
    DatedBullet,
    /// A plain line after a blank line (`1.2.3 / 2024-01-01`, `What's new in version 3.5`).
    Plain,
}

/// Added to the level of an overlined title: reStructuredText tells `=` over and under a title
/// from `=` under it only, though a release missing its overline is a common slip.
pub(crate) const OVERLINED: u16 = 0x100;

/// A line that may start a release's section.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Index of the heading's first line (the overline, for an overlined title).
    pub start: usize,
    /// Index of the first line after the heading (after its underline).
    pub body: usize,
    /// The version it names.
    pub version: Version,
    /// Its markup.
    pub kind: Kind,
    /// Its level within that markup: the number of `#` or `=`, the underline's character
    /// ([`OVERLINED`] added when overlined too), 0 for the rest. Sub-headings differ from
    /// releases in it.
    pub level: u16,
    /// The word just before the version, lower-cased (`version`, `paperless-ngx`, `-`), or
    /// empty: headings of one style repeat it.
    pub word: String,
    /// The heading line as written, trimmed.
    pub text: String,
}

/// A version token: digits with at least one dot, an optional `v`, an optional pre-release,
/// revision or variant suffix (`2.0.0b23`, `5.3.0alpha1`, `1.25.0-dev`, `0.1-STABLE`), or a
/// pre-release written after a space (`7.2 RC3`, `2.0 beta`).
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[vV]?\d+(?:\.\d+)+(?:[-+~_]?[0-9A-Za-z]+(?:[.\-+_][0-9A-Za-z]+)*|[ ](?i:rc\d+|beta\d*|alpha\d*)\b)?",
    )
    .expect("valid regex")
});

/// A line made of one punctuation character repeated: an underline or overline.
static RULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:={3,}|-{3,}|~{3,}|\^{3,}|"{3,}|'{3,}|\*{3,}|\+{3,}|#{3,}|:{3,}|\.{3,}|`{3,}|_{3,})[ \t]*$"#)
        .expect("valid regex")
});

/// Words after which a version is not the release the heading is about (`Upgrading from
/// 1.2`, `New features in 1.6 since 1.5`).
const NOT_THE_RELEASE: [&str; 7] = [
    "from", "since", "between", "after", "before", "than", "until",
];

/// Words skipped when looking for the word before a version: dates and their parts.
const DATE_WORDS: [&str; 26] = [
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "unreleased",
    "released",
    "xx",
    "on",
    "of",
    "the",
];

/// Weekday and month names written out.
const FULL_DATE_NAMES: [&str; 19] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "sept",
];

/// Headings are short: longer lines are prose.
const MAX_HEADING_CHARS: usize = 160;

/// Plain lines with more words than this before the version are prose.
const MAX_WORDS_BEFORE: usize = 8;

/// Every candidate heading of `lines`, in file order. Lines inside fenced code blocks are
/// never headings.
pub(crate) fn candidates(lines: &[&str]) -> Vec<Candidate> {
    let mut found = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if let Some(marker) = fence_marker(line)
            && (fence.is_some() || !marks_a_title(lines, index))
        {
            fence = match fence {
                None => Some(marker),
                Some((c, n)) if marker.0 == c && marker.1 >= n => None,
                open => open,
            };
            index += 1;
            continue;
        }
        if fence.is_some() {
            index += 1;
            continue;
        }
        if let Some(candidate) = candidate_at(lines, index) {
            index = candidate.body;
            found.push(candidate);
        } else {
            index += 1;
        }
    }
    found
}

/// A fence opening or closing a Markdown code block: its character and length.
fn fence_marker(line: &str) -> Option<(char, usize)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let c = trimmed.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let count = trimmed.chars().take_while(|&x| x == c).count();
    (count >= 3).then_some((c, count))
}

/// Whether line `index`, a run of `~`, underlines the line above it or overlines the line
/// below it (reStructuredText titles, which Sphinx changelogs underline with `~`) rather than
/// opening a Markdown code block: the title stands after a blank line (or first in the file),
/// and the rule is at least as long as it.
fn marks_a_title(lines: &[&str], index: usize) -> bool {
    let rule = lines[index].trim_end();
    if !rule.starts_with('~') || !RULE.is_match(rule) {
        return false;
    }
    let blank = |at: Option<usize>| at.is_none_or(|at| lines[at].trim().is_empty());
    let title = |at: usize| {
        let text = lines[at].trim();
        !text.is_empty()
            && !RULE.is_match(lines[at])
            && text.chars().count() <= rule.chars().count()
    };
    let underlines = index > 0 && title(index - 1) && blank((index - 1).checked_sub(1));
    let overlines = index + 2 < lines.len()
        && title(index + 1)
        && lines[index + 2].trim_end() == rule
        && blank(index.checked_sub(1));
    underlines || overlines
}

/// The candidate heading that starts at line `index`, if any.
fn candidate_at(lines: &[&str], index: usize) -> Option<Candidate> {
    let line = lines[index].trim_end();
    let (kind, text, start, body) = markup(lines, index)?;
    if text.chars().count() > MAX_HEADING_CHARS {
        return None;
    }
    let (version, word, words_before) = release_version(&text)?;
    if kind == Kind::Plain && words_before > MAX_WORDS_BEFORE {
        return None;
    }
    Some(Candidate {
        start,
        body,
        version,
        kind,
        level: level(lines, kind, index, start),
        word,
        text: line.trim().to_owned(),
    })
}

/// The level of a heading of `kind` whose text is line `index` and which starts at `start`.
fn level(lines: &[&str], kind: Kind, index: usize, start: usize) -> u16 {
    let line = lines[index].trim_start();
    let count = |c: char| u16::try_from(line.chars().take_while(|&x| x == c).count()).unwrap_or(0);
    match kind {
        Kind::Atx => count('#'),
        Kind::Equals => count('='),
        Kind::Underlined => {
            let rule = lines
                .get(index + 1)
                .and_then(|rule| rule.bytes().next())
                .map_or(0, u16::from);
            rule | if start < index { OVERLINED } else { 0 }
        }
        Kind::Bold | Kind::DatedBullet | Kind::Plain => 0,
    }
}

/// The markup of line `index` and its text: `(kind, text, first line, first body line)`.
fn markup(lines: &[&str], index: usize) -> Option<(Kind, String, usize, usize)> {
    let line = lines[index].trim_end();
    let indent = line.len() - line.trim_start_matches(' ').len();
    let trimmed = line.trim_start();
    if trimmed.is_empty() || RULE.is_match(line) {
        return None;
    }
    if indent <= 3 && trimmed.starts_with('#') {
        let level = trimmed.chars().take_while(|&c| c == '#').count();
        let rest = &trimmed[level..];
        if level <= 6 && rest.starts_with([' ', '\t']) {
            let text = rest.trim().trim_end_matches('#').trim_end();
            return Some((Kind::Atx, text.to_owned(), index, index + 1));
        }
        return None;
    }
    if indent == 0 && trimmed.starts_with('=') {
        let level = trimmed.chars().take_while(|&c| c == '=').count();
        let rest = &trimmed[level..];
        if level <= 6 && rest.starts_with([' ', '\t']) {
            let text = rest.trim().trim_end_matches('=').trim_end();
            return Some((Kind::Equals, text.to_owned(), index, index + 1));
        }
        return None;
    }
    if indent == 0
        && let Some(rest) = trimmed
            .strip_prefix("* ")
            .or_else(|| trimmed.strip_prefix("- "))
        && starts_a_date(rest)
    {
        return Some((Kind::DatedBullet, rest.trim().to_owned(), index, index + 1));
    }
    if indent > 0 || trimmed.starts_with(['-', '*', '+', '>', '|', '•', '[', '!', '<']) {
        // Bold lines are the exception among lines starting with `*`.
        if let Some(bold) = bold_text(trimmed) {
            let blank_before = index == 0 || lines[index - 1].trim().is_empty();
            if indent == 0 && blank_before {
                return Some((Kind::Bold, bold, index, index + 1));
            }
        }
        if !trimmed.starts_with('[') || indent > 0 {
            return None;
        }
    }
    if let Some(next) = lines.get(index + 1)
        && RULE.is_match(next)
        && !next.starts_with(' ')
    {
        let rule = next.trim_end();
        let overlined = index > 0 && lines[index - 1].trim_end() == rule;
        let start = if overlined { index - 1 } else { index };
        return Some((Kind::Underlined, trimmed.to_owned(), start, index + 2));
    }
    let blank_before = index == 0 || lines[index - 1].trim().is_empty();
    blank_before.then(|| (Kind::Plain, trimmed.to_owned(), index, index + 1))
}

/// The text of a line that is bold as a whole: `**1.2.3** (2024-01-01)` or `__v1.2__`.
fn bold_text(line: &str) -> Option<String> {
    for marker in ["**", "__"] {
        if let Some(rest) = line.strip_prefix(marker)
            && let Some(end) = rest.find(marker)
        {
            let inside = &rest[..end];
            let after = rest[end + marker.len()..].trim();
            // What follows the bold part is a date or a short note, never more prose.
            if !inside.trim().is_empty() && after.chars().count() <= 40 {
                return Some(format!("{inside} {after}").trim().to_owned());
            }
        }
    }
    None
}

/// The version a heading's text is about, the word before it, and how many words precede
/// it. The first version token counts, unless a word such as `from` or `since` says it is
/// another release (`CHANGES FROM 3.4 TO 3.5` is about 3.5).
fn release_version(text: &str) -> Option<(Version, String, usize)> {
    let cleaned = clean(text);
    for found in VERSION.find_iter(&cleaned) {
        let before = &cleaned[..found.start()];
        let after = &cleaned[found.end()..];
        // A token inside a word (`x1.2`, `go1.22`) or a path (`/1.2`) is no release number.
        if before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '@' | '#'))
        {
            continue;
        }
        // `1.2.x`, `1.2.*`: a series, not a release.
        if after.starts_with(".x") || after.starts_with(".X") || after.starts_with(".*") {
            continue;
        }
        let token = found.as_str();
        if token
            .split(['.', '-'])
            .any(|part| part.eq_ignore_ascii_case("x"))
        {
            continue;
        }
        let words: Vec<&str> = before.split_whitespace().collect();
        let previous = words
            .iter()
            .rev()
            .map(|word| normalize(word))
            .find(|word| !is_date_word(word))
            .unwrap_or_default();
        if NOT_THE_RELEASE.contains(&previous.as_str()) {
            continue;
        }
        let version = Version::parse(&token.trim_end_matches('.').replace(' ', "-"))?;
        return Some((version, previous, words.len()));
    }
    None
}

/// The heading text without Markdown link targets, brackets, emphasis and code marks.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        rest = after.find(')').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out.replace(['[', ']', '`'], " ")
        .replace("**", " ")
        .replace("__", " ")
}

/// A word as compared between headings: lower-case, without surrounding brackets and
/// punctuation (a word made only of punctuation, like `-`, is kept).
fn normalize(word: &str) -> String {
    let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
    let trimmed = if trimmed.chars().any(char::is_alphanumeric) {
        trimmed.trim_matches('-')
    } else {
        word
    };
    trimmed.to_lowercase()
}

/// Whether text starts with a date: an ISO date, or a weekday or month name followed by
/// another part of a date (`Sun Aug 04 2019`, `Wed, 19 Nov 2025`).
fn starts_a_date(text: &str) -> bool {
    let mut words = text
        .split_whitespace()
        .map(|word| word.trim_end_matches([',', '.']).to_ascii_lowercase());
    let Some(first) = words.next() else {
        return false;
    };
    let iso = first.len() == 10
        && first.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    let name = |word: &str| DATE_WORDS[..20].contains(&word) || FULL_DATE_NAMES.contains(&word);
    iso || (name(&first)
        && words
            .next()
            .is_some_and(|second| name(&second) || second.chars().all(|c| c.is_ascii_digit())))
}

/// Dates and their parts (`2024-09-06`, `Tue`, `07th`, `2026`, `1X-XX`), skipped when
/// looking for the word before a version.
fn is_date_word(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let ordinal = ["st", "nd", "rd", "th"].iter().any(|suffix| {
        word.strip_suffix(suffix)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    });
    let datelike = word
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '/' | 'x' | '.' | ','))
        && digits > 0;
    DATE_WORDS.contains(&word.trim_end_matches(',')) || ordinal || datelike || word.is_empty()
}

#[cfg(test)]
mod tests {
    use super::{Kind, candidates};

    fn first(text: &str) -> Option<(Kind, String, String)> {
        let lines: Vec<&str> = text.lines().collect();
        candidates(&lines)
            .into_iter()
            .next()
            .map(|c| (c.kind, c.version.as_str().to_owned(), c.word))
    }

    fn version(text: &str) -> Option<String> {
        first(text).map(|(_, version, _)| version)
    }

    #[test]
    fn each_markup_gives_its_kind_version_and_word() {
        let cases = [
            ("## [1.2.3] - 2024-01-01", Kind::Atx, "1.2.3", ""),
            ("## v1.2.3", Kind::Atx, "v1.2.3", ""),
            (
                "## paperless-ngx 2.20.14",
                Kind::Atx,
                "2.20.14",
                "paperless-ngx",
            ),
            (
                "# Synapse 1.157.1 (2026-07-22)",
                Kind::Atx,
                "1.157.1",
                "synapse",
            ),
            (
                "## [1.1.0](https://github.com/o/r/compare/v1.0.0...v1.1.0) (2026-01-02)",
                Kind::Atx,
                "1.1.0",
                "",
            ),
            (
                "## 2024-09-06 FreshRSS 1.24.3",
                Kind::Atx,
                "1.24.3",
                "freshrss",
            ),
            ("== 1.7.4", Kind::Equals, "1.7.4", ""),
            ("=== 2.1.0 / 2024-03-01", Kind::Equals, "2.1.0", ""),
            ("Release 4.10.0", Kind::Plain, "4.10.0", "release"),
            ("2025-08-12 version 1.0.1", Kind::Plain, "1.0.1", "version"),
            (
                "Wed Nov 19th 2025 - sledgehammer999 <sledgehammer999@qbittorrent.org> - v5.1.4",
                Kind::Plain,
                "v5.1.4",
                "-",
            ),
            (
                "What's new in version 3.5.3",
                Kind::Plain,
                "3.5.3",
                "version",
            ),
            ("Changes in 1.3.1 (22 Jan 2024)", Kind::Plain, "1.3.1", "in"),
            ("CHANGES FROM 3.4 TO 3.5", Kind::Plain, "3.5", "to"),
            (
                "Version 2.2.11 (July 26, 2025)\n-----",
                Kind::Underlined,
                "2.2.11",
                "version",
            ),
            (
                "2.1.3 - 2026-02-xx\n==================",
                Kind::Underlined,
                "2.1.3",
                "",
            ),
            ("=====\nv1.8.4\n=====", Kind::Underlined, "v1.8.4", ""),
            ("**1.4.2** (2024-05-01)", Kind::Bold, "1.4.2", ""),
            (
                "* Sun Aug 04 2019 - maintainer <maintainer@example.org> - v4.1.7",
                Kind::DatedBullet,
                "v4.1.7",
                "-",
            ),
            ("1.2.3 / 2024-01-01", Kind::Plain, "1.2.3", ""),
            ("## 2023-10-15 v3.11.0_1", Kind::Atx, "v3.11.0_1", ""),
            (
                "Version 2.0.0b23 (not released yet)\n---",
                Kind::Underlined,
                "2.0.0b23",
                "version",
            ),
        ];
        for (text, kind, version, word) in cases {
            assert_eq!(
                first(text),
                Some((kind, version.to_owned(), word.to_owned())),
                "{text}"
            );
        }
    }

    #[test]
    fn prose_series_code_and_bullets_are_not_headings() {
        for text in [
            "- 1.2.3: a bullet",
            "  1.2.3 indented",
            "## Upgrading from 1.2",
            "## Python 3.x support",
            "borg 1.2.x/1.4.x migration",
            "```\n# 1.2.3 in a code block\n```",
            "## Contributors",
            "| 1.2.3 | table |",
            "prose line\nthat mentions 1.2.3 in passing",
            "uses go1.22.4 now",
            "* Bump the parser to 1.2.3",
            "* Sunday support for 1.2.3",
        ] {
            let lines: Vec<&str> = text.lines().collect();
            assert!(candidates(&lines).is_empty(), "{text}");
        }
        assert_eq!(
            version("## Bump from 1.2.0 to 1.3.0"),
            Some("1.3.0".to_owned())
        );
    }
}
