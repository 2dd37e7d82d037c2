//! Reading versions tolerantly and ordering them as releases are ordered.

use std::cmp::Ordering;
use std::fmt;

/// Words that start a pre-release suffix (`-rc.1`, `-beta2`, `-alpha`, traefik's early access
/// `-ea.1`).
const PRE_RELEASE_WORDS: [&str; 14] = [
    "alpha", "a", "beta", "b", "rc", "cr", "pre", "preview", "dev", "snapshot", "canary",
    "nightly", "m", "ea",
];

/// Words that start a revision suffix (`-r1`, `-patch3`, `-ls45`, `-p2`): a rebuild of the same
/// release, ordered after it.
const REVISION_WORDS: [&str; 4] = ["r", "patch", "ls", "p"];

/// A version as written in a tag or release name, read tolerantly: semver (`1.2.3-rc.1`),
/// four-part (`v1.0.35.0`), calendar (`2024.12.0`), with a revision (`4.6.3-r1`,
/// `2026.2.4-patch3`) or a variant (`16-alpine`, `v2.7.4-cuda`).
///
/// Ordering is by the numeric core (missing parts count as 0, so `1.2` = `1.2.0`), then a
/// pre-release sorts before its release (identifiers compared as semver does, numbers by
/// value), then a revision sorts after it. A variant is not a pre-release: `2.7.4-cuda` is the
/// release 2.7.4 and orders equal to `2.7.4-cpu` but for the variant name, compared last. On
/// semver the order agrees with semver's precedence, with two deliberate exceptions: a suffix
/// that starts with a word other than a pre-release word is a variant (semver reads
/// `2.7.4-cuda` as a pre-release), and `beta2` sorts before `beta10` (semver compares such
/// identifiers as text).
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    core: Vec<u64>,
    pre: Vec<Identifier>,
    revision: Option<u64>,
    variant: Option<String>,
}

/// One dot-separated piece of a pre-release, split further where letters meet digits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identifier {
    Number(u64),
    Text(String),
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Number(a), Identifier::Number(b)) => a.cmp(b),
            (Identifier::Number(_), Identifier::Text(_)) => Ordering::Less,
            (Identifier::Text(_), Identifier::Number(_)) => Ordering::Greater,
            (Identifier::Text(a), Identifier::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Version {
    /// Reads a version; `None` when the text has no numeric core (`latest`, `main`, `stable`).
    /// A leading `v` is accepted, as is build metadata (`+build.5`), which is ignored.
    pub fn parse(text: &str) -> Option<Version> {
        let body = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let body = body
            .split_once('+')
            .map_or(body, |(version, _build)| version);
        let core_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let core_text = body[..core_end].trim_end_matches('.');
        if core_text.is_empty() || !core_text.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let core = core_text
            .split('.')
            .map(|part| part.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()?;
        let mut version = Version {
            text: text.to_owned(),
            core,
            pre: Vec::new(),
            revision: None,
            variant: None,
        };
        let suffix = body[core_text.len()..].trim_start_matches(['-', '.', '_']);
        if !suffix.is_empty() {
            version.read_suffix(suffix);
        }
        Some(version)
    }

    /// Classifies what follows the numeric core.
    fn read_suffix(&mut self, suffix: &str) {
        let lower = suffix.to_ascii_lowercase();
        let word = leading_word(&lower);
        if is_marker(&lower, &PRE_RELEASE_WORDS) || (word.is_empty() && !lower.is_empty()) {
            self.pre = identifiers(&lower);
            return;
        }
        if is_marker(&lower, &REVISION_WORDS) {
            self.revision = trailing_number(&lower);
            return;
        }
        // A variant, possibly followed by its own revision: `debian-12-r6`.
        let (variant, revision) = match lower.rsplit_once('-') {
            Some((variant, last)) if is_marker(last, &REVISION_WORDS) => {
                (&suffix[..variant.len()], trailing_number(last))
            }
            _ => (suffix, None),
        };
        self.variant = Some(variant.to_owned());
        self.revision = revision;
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The major number (the first part of the core).
    pub fn major(&self) -> u64 {
        self.part(0)
    }

    /// The minor number (the second part of the core, 0 when absent).
    pub fn minor(&self) -> u64 {
        self.part(1)
    }

    /// Part `index` of the numeric core, 0 when absent.
    pub fn part(&self, index: usize) -> u64 {
        self.core.get(index).copied().unwrap_or(0)
    }

    /// How many numeric parts the core has (`1.2.3` has 3, `v1.0.35.0` has 4).
    pub fn parts(&self) -> usize {
        self.core.len()
    }

    /// Whether this is a pre-release (`-rc.1`, `-beta2`); a variant or revision is not.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The variant suffix (`alpine`, `cuda`, `debian-12`), if any.
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// How far `self` is from `older`: which part of the core changed first.
    pub fn change_from(&self, older: &Version) -> UpdateKind {
        let parts = self.core.len().max(older.core.len());
        match (0..parts).find(|&i| self.part(i) != older.part(i)) {
            Some(0) => UpdateKind::Major,
            Some(1) => UpdateKind::Minor,
            Some(_) => UpdateKind::Patch,
            None => UpdateKind::Other,
        }
    }
}

/// Which part of a version changed between two releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UpdateKind {
    /// Only a pre-release, revision or variant differs.
    Other,
    /// The third or a later part of the core.
    Patch,
    /// The second part.
    Minor,
    /// The first part.
    Major,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let parts = self.core.len().max(other.core.len());
        (0..parts)
            .map(|i| self.part(i).cmp(&other.part(i)))
            .find(|order| order.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
            .then_with(|| self.revision.cmp(&other.revision))
            .then_with(|| self.variant.cmp(&other.variant))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// The letters a suffix starts with.
fn leading_word(lower: &str) -> &str {
    let end = lower
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(lower.len());
    &lower[..end]
}

/// Whether a lower-case suffix starts with one of `words`, followed by its end, a digit or a
/// separator (so `rc1` and `rc.1` are markers but `rcfoo` is not, and `alpine` is not `a`).
fn is_marker(lower: &str, words: &[&str]) -> bool {
    let word = leading_word(lower);
    let rest = &lower[word.len()..];
    let single_letter_needs_digit = word.len() == 1;
    words.contains(&word)
        && if single_letter_needs_digit {
            rest.starts_with(|c: char| c.is_ascii_digit())
        } else {
            rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit() || ".-_".contains(c))
        }
}

/// The number at the end of a revision marker (`r6` → 6); `patch` alone counts as 0.
fn trailing_number(marker: &str) -> Option<u64> {
    let digits = marker.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let digits = digits.trim_start_matches(['.', '-', '_']);
    Some(digits.parse().unwrap_or(0))
}

/// Pre-release identifiers: split on separators and where letters meet digits.
fn identifiers(lower: &str) -> Vec<Identifier> {
    let mut identifiers = Vec::new();
    for piece in lower
        .split(['.', '-', '_'])
        .filter(|piece| !piece.is_empty())
    {
        let mut rest = piece;
        while !rest.is_empty() {
            let digits = rest.starts_with(|c: char| c.is_ascii_digit());
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (run, tail) = rest.split_at(end);
            identifiers.push(match run.parse() {
                Ok(number) if digits => Identifier::Number(number),
                _ => Identifier::Text(run.to_owned()),
            });
            rest = tail;
        }
    }
    identifiers
}

#[cfg(test)]
mod tests {
    use super::{UpdateKind, Version};

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|| panic!("{text} parses"))
    }

    #[test]
    fn orders_the_version_styles_of_real_tags() {
        // Each list is in ascending release order.
        let ladders: [&[&str]; 9] = [
            &["1.9.9", "1.10.0", "1.10.1", "2.0.0"],
            &["v1.0.34.0", "v1.0.35.0", "v1.0.35.1", "v1.1.0.0"],
            &["4.6.3", "4.6.3-r1", "4.6.3-r2", "4.6.4"],
            &["2026.2.4", "2026.2.4-patch3", "2026.2.5", "2026.10.0"],
            &["3.0.2-rc07", "3.0.2-rc10", "3.0.2"],
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
            &["2.0.0-beta2", "2.0.0-beta10", "2.0.0"],
            &["2024.12.0", "2025.1.0", "2025.10.1"],
            &["3.6.9", "3.7.0-ea.1", "3.7.0-ea.2", "3.7.0-rc.1", "3.7.0"],
        ];
        for ladder in ladders {
            for pair in ladder.windows(2) {
                assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
            }
        }
    }

    #[test]
    fn a_variant_is_not_a_pre_release() {
        for text in [
            "16-alpine",
            "v2.7.4-cuda",
            "12.2-bookworm-slim",
            "15-vectorchord0.4.3",
        ] {
            let version = v(text);
            assert!(!version.is_prerelease(), "{text}");
            assert!(version.variant().is_some(), "{text}");
        }
        assert!(v("2.7.4-cuda") > v("2.7.3"));
        assert!(v("2.7.4-cuda") < v("2.7.5-cuda"));
        let redis = v("7.4.2-debian-12-r6");
        assert_eq!(redis.variant(), Some("debian-12"));
        assert!(redis > v("7.4.2-debian-12-r5"));
    }

    #[test]
    fn prefixes_padding_and_build_metadata_do_not_matter() {
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(v("1.2"), v("1.2.0"));
        assert_eq!(v("1.2.3+build.5"), v("1.2.3"));
        assert!(v("1.0.0-rc.1").is_prerelease());
        assert!(v("1.0.0rc1").is_prerelease());
        assert!(!v("4.6.3-r1").is_prerelease());
    }

    #[test]
    fn words_are_not_versions() {
        for text in ["latest", "main", "stable", "", "v", ".1", "cpu-1.6"] {
            assert!(Version::parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn change_names_the_first_part_that_moved() {
        assert_eq!(v("2.0.0").change_from(&v("1.9.9")), UpdateKind::Major);
        assert_eq!(v("0.25.0").change_from(&v("0.24.3")), UpdateKind::Minor);
        assert_eq!(v("1.35.5").change_from(&v("1.35.4")), UpdateKind::Patch);
        assert_eq!(
            v("v1.0.35.1").change_from(&v("v1.0.35.0")),
            UpdateKind::Patch
        );
        assert_eq!(v("4.6.3-r2").change_from(&v("4.6.3-r1")), UpdateKind::Other);
    }

    #[test]
    fn agrees_with_semver_precedence_on_semver() {
        let texts = [
            "0.0.1",
            "0.1.0",
            "0.1.0-alpha",
            "0.1.0-alpha.1",
            "0.1.0-alpha.beta",
            "0.1.0-beta",
            "0.1.0-beta.2",
            "0.1.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "1.10.0",
            "2.0.0-0",
            "2.0.0-0.3.7",
            "2.0.0-rc.7.z.92",
            "2.0.0",
        ];
        for a in texts {
            for b in texts {
                let oracle = semver::Version::parse(a)
                    .unwrap()
                    .cmp_precedence(&semver::Version::parse(b).unwrap());
                assert_eq!(v(a).cmp(&v(b)), oracle, "{a} vs {b}");
            }
        }
    }
}
