//! Splitting a changelog file (`CHANGELOG.md`, `docs/changelog.md`, `ChangeLog`,
//! `CHANGES.rst`, `NEWS`) into one release per version heading.
//!
//! [`heading`] finds every line that could be a release heading. The file's release headings
//! are those of its most used *style* (markup and the word before the version, e.g. `##` +
//! `paperless-ngx`), plus other styles that continue the history in order: a file whose
//! older part was written another way (`# 1.7` above, `New features in 1.6 since 1.5:`
//! below) splits into all its versions, while a predecessor project's `### 2.7.0` at the end
//! of a file that reached 1.6 does not. A split happens only at a heading whose version
//! parses and orders.

mod heading;

use crate::release::Release;
use heading::{Candidate, Kind, OVERLINED, candidates};
use std::cmp::Ordering;

/// The releases of a changelog, in file order, each with the text under its heading (the
/// heading and its underline left out). Text before the first version heading (a title, an
/// "Unreleased" section) belongs to none. `url` is where the file is read, for the reader.
pub fn split_changelog(text: &str, url: Option<&str>) -> Vec<Release> {
    let lines: Vec<&str> = text.lines().collect();
    let headings = release_headings(candidates(&lines));
    let mut releases = Vec::with_capacity(headings.len());
    for (i, heading) in headings.iter().enumerate() {
        let end = headings.get(i + 1).map_or(lines.len(), |next| next.start);
        releases.push(Release {
            prerelease: heading.version.is_prerelease(),
            version: heading.version.clone(),
            tag: heading.text.clone(),
            notes: trimmed_block(&lines[heading.body.min(end)..end]),
            draft: false,
            url: url.map(str::to_owned),
        });
    }
    releases
}

/// A style of heading: its markup and the word before the version.
type Style = (Kind, String);

/// The candidates that are the file's release headings, in file order.
fn release_headings(found: Vec<Candidate>) -> Vec<Candidate> {
    let mut styles: Vec<(Style, Vec<Candidate>)> = Vec::new();
    for candidate in found {
        let style = (candidate.kind, candidate.word.clone());
        match styles.iter_mut().find(|(s, _)| *s == style) {
            Some((_, members)) => members.push(candidate),
            None => styles.push((style, vec![candidate])),
        }
    }
    // The most used style wins; marked-up headings over plain lines when they repeat.
    let marked = |style: &Style| style.0 != Kind::Plain;
    let best = |filter: &dyn Fn(&Style) -> bool| {
        styles
            .iter()
            .enumerate()
            .filter(|(_, (style, _))| filter(style))
            .max_by(|(a, (_, x)), (b, (_, y))| x.len().cmp(&y.len()).then(b.cmp(a)))
            .map(|(i, (_, members))| (i, members.len()))
    };
    let primary = match best(&marked) {
        Some((i, count)) if count >= 2 => i,
        _ => match best(&|_| true) {
            Some((i, _)) => i,
            None => return Vec::new(),
        },
    };
    let ((kind, word), mut accepted) = styles.swap_remove(primary);
    let descending = direction(&accepted) != Ordering::Less;
    // Other styles continue the history when they repeat, sit wholly before or after the
    // accepted headings, and keep the order.
    styles.sort_by_key(|(_, members)| members[0].start);
    let mut left = Vec::new();
    for (_, members) in styles {
        if members.len() >= 2 && continues(&accepted, &members, descending) {
            accepted.extend(members);
            accepted.sort_by_key(|c| c.start);
        } else {
            left.extend(members);
        }
    }
    // A title naming the release line above that line's releases (`Redis 7.2 release notes`
    // over `Redis 7.2.5`) is no release: its text belongs to none, as a title's does.
    if descending
        && let [title, next, ..] = accepted.as_slice()
        && title.version.parts() == 2
        && (title.version.major(), title.version.minor())
            == (next.version.major(), next.version.minor())
        && title.version < next.version
    {
        accepted.remove(0);
    }
    // A heading marked up differently by mistake (a missing underline) but with the same
    // word, or marked up the same with another word (`Redis Community Edition 7.2.6` among
    // `Redis 7.2.5`), whose version sits in order between the headings around it of its
    // release line (files interleave maintained lines by date), is one of them.
    for candidate in left
        .into_iter()
        .filter(|c| c.word == word || (c.kind == kind && !LINKING_WORDS.contains(&c.word.as_str())))
    {
        let at = accepted.partition_point(|c| c.start < candidate.start);
        let line = |c: &&Candidate| {
            (c.version.major(), c.version.minor())
                == (candidate.version.major(), candidate.version.minor())
        };
        let previous = accepted[..at]
            .iter()
            .rev()
            .find(line)
            .or(accepted[..at].last());
        let next = accepted[at..].iter().find(line).or(accepted.get(at));
        // Above the first heading, only a newer release of the same line, written with as
        // many numbers, follows on (`borg 2.0` in upgrade notes above `2.0.0b23` does not).
        let previous =
            previous.or(
                next.filter(|next| line(next) && next.version.parts() == candidate.version.parts())
            );
        let (Some(previous), Some(next)) = (previous, next) else {
            continue;
        };
        // Another word is taken only at the level of the releases around it (an overline
        // forgotten or not), never from a sub-heading (`### Requires Terraform 2.3.5` under
        // `## 2.4.0`).
        if candidate.word != word && (candidate.level | OVERLINED) != (next.level | OVERLINED) {
            continue;
        }
        let order = |a: &Candidate, b: &Candidate| {
            if descending {
                a.version > b.version
            } else {
                a.version < b.version
            }
        };
        let between = if at == 0 {
            order(&candidate, next)
        } else {
            order(previous, &candidate) && order(&candidate, next)
        };
        if between {
            accepted.insert(at, candidate);
        }
    }
    // A heading repeating the version of the one just before (`### 3.0 notes` under
    // `## 3.0.0`), or of any one above it from a level the releases are not written at
    // (`Fixes for issues in previous releases of Redis 7.2` under `Redis 7.2 RC3`), belongs
    // to the release it sits in.
    let release_level = most_common_level(&accepted);
    let mut kept: Vec<Candidate> = Vec::with_capacity(accepted.len());
    for candidate in accepted {
        let repeats_previous = kept
            .last()
            .is_some_and(|previous| previous.version == candidate.version);
        let repeats_above = candidate.level != release_level
            && kept.iter().any(|above| above.version == candidate.version);
        if !(repeats_previous || repeats_above) {
            kept.push(candidate);
        }
    }
    kept
}

/// Words before a version that make a heading about something else than the release
/// (`Upgrading to 3.1.0`, `Bump app to 0.4.9`, `Notes for 2.0`), never taken from another
/// style.
const LINKING_WORDS: [&str; 10] = [
    "to", "for", "in", "into", "with", "on", "of", "and", "or", "vs",
];

/// The level most of `headings` are written at.
fn most_common_level(headings: &[Candidate]) -> u16 {
    let mut counts: Vec<(u16, usize)> = Vec::new();
    for heading in headings {
        match counts.iter_mut().find(|(level, _)| *level == heading.level) {
            Some((_, count)) => *count += 1,
            None => counts.push((heading.level, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(_, count)| count)
        .map_or(0, |(level, _)| level)
}

/// Whether the headings `members` of another style continue the accepted history: all
/// before or all after it, older ones all older than its oldest, newer ones all newer than its
/// newest.
fn continues(accepted: &[Candidate], members: &[Candidate], descending: bool) -> bool {
    let (Some(first), Some(last)) = (accepted.first(), accepted.last()) else {
        return false;
    };
    let (Some(lowest), Some(highest)) = (
        accepted.iter().map(|c| &c.version).min(),
        accepted.iter().map(|c| &c.version).max(),
    ) else {
        return false;
    };
    let after = members.iter().all(|c| c.start > last.start);
    let before = members.iter().all(|c| c.start < first.start);
    // Older releases sit after the accepted ones in a newest-first file, before them in an
    // oldest-first one.
    let older = after == descending;
    (after || before)
        && members.iter().all(|c| {
            if older {
                c.version < *lowest
            } else {
                c.version > *highest
            }
        })
}

/// Whether the versions of a file's headings mostly go down (newest first) or up.
fn direction(headings: &[Candidate]) -> Ordering {
    let (mut down, mut up) = (0usize, 0usize);
    for pair in headings.windows(2) {
        match pair[0].version.cmp(&pair[1].version) {
            Ordering::Greater => down += 1,
            Ordering::Less => up += 1,
            Ordering::Equal => {}
        }
    }
    if up > down {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// The lines joined, without the blank lines around them.
fn trimmed_block(lines: &[&str]) -> String {
    let start = lines.iter().position(|line| !line.trim().is_empty());
    let end = lines.iter().rposition(|line| !line.trim().is_empty());
    match (start, end) {
        (Some(start), Some(end)) => lines[start..=end].join("\n"),
        _ => String::new(),
    }
}

/// How the versions of split releases follow each other in the file: the check the
/// `changelog-split` script reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first, each version lower than the one above it.
    Descending,
    /// Oldest first.
    Ascending,
    /// Several release lines interleaved by date (`v3.7.9`, `v3.6.24`, `v2.11.53`, `v3.7.8`),
    /// each line in order.
    ByLine,
    /// Neither: the versions do not order.
    Unordered,
}

/// How the versions of `releases` (in file order) follow each other.
pub fn order_of(releases: &[Release]) -> Order {
    let monotone = |wanted: Ordering| {
        releases
            .windows(2)
            .all(|pair| pair[0].version.cmp(&pair[1].version) != wanted.reverse())
    };
    if monotone(Ordering::Greater) {
        return Order::Descending;
    }
    if monotone(Ordering::Less) {
        return Order::Ascending;
    }
    // Each major.minor line on its own.
    let mut lines: Vec<((u64, u64), Vec<&Release>)> = Vec::new();
    for release in releases {
        let key = (release.version.major(), release.version.minor());
        match lines.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(release),
            None => lines.push((key, vec![release])),
        }
    }
    let each_in_order = lines.iter().all(|(_, members)| {
        members.windows(2).all(|p| p[0].version >= p[1].version)
            || members.windows(2).all(|p| p[0].version <= p[1].version)
    });
    if each_in_order {
        Order::ByLine
    } else {
        Order::Unordered
    }
}

#[cfg(test)]
mod tests;
