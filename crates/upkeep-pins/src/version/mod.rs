//! Versions: checking a target version, writing derived versions in a pin's style, and
//! ordering versions.

mod candidates;
mod order;

pub use candidates::{CandidatePolicy, Updates, choose_updates};
pub use order::{UpdateKind, Version};

use thiserror::Error;

/// Why a target version was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VersionError {
    /// The target is empty.
    #[error("the new version is empty")]
    Empty,
    /// The target contains a character that cannot be part of a version or image tag.
    #[error("the new version contains {0:?}, which cannot appear in a version or tag")]
    InvalidCharacter(char),
    /// The target is a moving tag, which is never written as a pin.
    #[error("`{0}` is a moving tag, not a version; upkeep never pins it")]
    MovingTag(String),
    /// The target cannot be an image tag: tags are `[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}`.
    #[error("`{}` cannot be an image tag ({why}); a tag is 1 to 128 of `A-Z a-z 0-9 _ . -`, not starting with `.` or `-`", shown(.version))]
    NotATag {
        /// The target as given.
        version: String,
        /// What breaks the grammar.
        why: &'static str,
    },
    /// The target does not read as a release of a chart, provider or module (`1.2.3`,
    /// `v0.10.0-rc.1`).
    #[error("`{}` is not a version a {kind} is released under ({why})", shown(.version))]
    NotAVersion {
        /// The target as given.
        version: String,
        /// The kind of pin (`helm_chart`, `provider`, …).
        kind: &'static str,
        /// What makes it implausible.
        why: &'static str,
    },
}

/// A target version for a message: cut when it is very long.
fn shown(version: &str) -> String {
    const MAX: usize = 40;
    if version.chars().count() <= MAX {
        version.to_owned()
    } else {
        let head: String = version.chars().take(MAX).collect();
        format!("{head}… ({} characters)", version.chars().count())
    }
}

/// What a version may look like for a pin of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    /// An OCI image tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
    ImageTag,
    /// A git ref (a tag, branch or commit of a module source's `?ref=`).
    GitRef,
    /// A release version of a chart, provider, registry module or artifact: an optional `v`,
    /// dot-separated numbers, then an optional pre-release or build suffix.
    Release(&'static str),
}

/// Longest tag or version accepted, as the OCI distribution spec limits tags.
const MAX_TAG: usize = 128;
/// Most digits one numeric part of a release version may have (a date is 8).
const MAX_DIGITS: usize = 10;

/// Checks that `target` can be written as a version of this grammar.
pub(crate) fn check_grammar(target: &str, grammar: Grammar) -> Result<(), VersionError> {
    let not_a_tag = |why| {
        Err(VersionError::NotATag {
            version: target.to_owned(),
            why,
        })
    };
    if target.len() > MAX_TAG {
        return match grammar {
            Grammar::Release(kind) => Err(VersionError::NotAVersion {
                version: target.to_owned(),
                kind,
                why: "longer than 128 characters",
            }),
            _ => not_a_tag("longer than 128 characters"),
        };
    }
    match grammar {
        Grammar::ImageTag => {
            if target.starts_with(['.', '-']) {
                return not_a_tag("starts with `.` or `-`");
            }
            if !target
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            {
                return not_a_tag("has a character outside `A-Z a-z 0-9 _ . -`");
            }
            Ok(())
        }
        Grammar::GitRef => {
            if target.starts_with(['.', '-', '/']) || target.contains("..") {
                return not_a_tag("is not a git ref name");
            }
            Ok(())
        }
        Grammar::Release(kind) => {
            let implausible = |why| {
                Err(VersionError::NotAVersion {
                    version: target.to_owned(),
                    kind,
                    why,
                })
            };
            let body = strip_v(target);
            let core_end = body
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(body.len());
            let core = &body[..core_end];
            if core.is_empty() || !core.starts_with(|c: char| c.is_ascii_digit()) {
                return implausible("it does not start with a number");
            }
            let core = core
                .strip_suffix('.')
                .filter(|_| core_end < body.len())
                .unwrap_or(core);
            if core.split('.').any(str::is_empty) {
                return implausible("an empty part between dots");
            }
            if core.split('.').any(|part| part.len() > MAX_DIGITS) {
                return implausible("a number of more than 10 digits");
            }
            let suffix = &body[core_end..];
            if !suffix.is_empty() && !suffix.starts_with(['-', '+', '.', '_']) {
                let letter = suffix.starts_with(|c: char| c.is_ascii_alphabetic());
                if !letter {
                    return implausible("the numbers are followed by something unexpected");
                }
            }
            Ok(())
        }
    }
}

/// Computes the text that replaces the version token `old` when the pin moves to `target`:
/// `target` itself, verbatim. Registry tags are opaque and upstream schemes change
/// (`v1.1.0` → `3.2`, `1.7.4` → `v1.0.32.0`), so adding or dropping a `v` or carrying over a
/// variant suffix would write a tag that may not exist; keeping a pin's shape is how
/// [`choose_updates`] picks candidates, not how a pin is written. Returns `Ok(None)` when the
/// token already reads `target`.
pub fn retarget(old: &str, target: &str) -> Result<Option<String>, VersionError> {
    validate(target)?;
    Ok((target != old).then(|| target.to_owned()))
}

/// `release` (a version read from release notes, such as an intermediate step of a staged
/// upgrade) written in the style of the pinned `old` token: a `v` prefix added or dropped to
/// match it, and a variant suffix (`-alpine`, `-cuda`) carried over when the release has no
/// suffix of its own. Revision and pre-release suffixes (`-r1`, `-rc07`) are not carried
/// over, since they belong to one release. Used only for versions upkeep derives itself; a
/// version the user gives is written as given ([`retarget`]).
pub fn in_style_of(old: &str, release: &str) -> String {
    let mut new = match (has_v_prefix(old), has_v_prefix(release)) {
        (true, false) if starts_with_digit(release) => format!("v{release}"),
        (false, true) if starts_with_digit(old) => release[1..].to_owned(),
        _ => release.to_owned(),
    };
    if !new.contains('-')
        && let Some(variant) = variant_suffix(old)
    {
        new.push('-');
        new.push_str(variant);
    }
    new
}

/// How a new version's shape differs from the pinned one's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShapeChange {
    /// The new version starts with `v`, the pinned one does not.
    AddsV,
    /// The pinned version starts with `v`, the new one does not.
    DropsV,
    /// The numeric cores have different numbers of parts (`1.2.3` → `1.3`).
    Parts {
        /// Parts of the pinned version.
        old: usize,
        /// Parts of the new version.
        new: usize,
    },
    /// The pinned version has a variant suffix (`-alpine`) that the new one lacks.
    DropsVariant(String),
}

impl std::fmt::Display for ShapeChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShapeChange::AddsV => f.write_str("adds a `v` prefix"),
            ShapeChange::DropsV => f.write_str("drops the `v` prefix"),
            ShapeChange::Parts { old, new } => {
                write!(f, "has {new} numeric parts, not {old}")
            }
            ShapeChange::DropsVariant(variant) => write!(f, "drops the variant `-{variant}`"),
        }
    }
}

/// How `new` differs in shape from the pinned `old`: a `v` prefix added or dropped, another
/// number of numeric parts, a variant suffix (`-alpine`) dropped. `set` writes `new` as given
/// and says so; `outdated` keeps shapes when it picks candidates.
pub fn shape_changes(old: &str, new: &str) -> Vec<ShapeChange> {
    let mut changes = Vec::new();
    match (has_v_prefix(old), has_v_prefix(new)) {
        (false, true) => changes.push(ShapeChange::AddsV),
        (true, false) => changes.push(ShapeChange::DropsV),
        _ => {}
    }
    if let (Some(old_parts), Some(new_parts)) = (numeric_parts(old), numeric_parts(new))
        && old_parts != new_parts
    {
        changes.push(ShapeChange::Parts {
            old: old_parts,
            new: new_parts,
        });
    }
    if let Some(variant) = variant_suffix(old)
        && variant_suffix(new).is_none()
    {
        changes.push(ShapeChange::DropsVariant(variant.to_owned()));
    }
    changes
}

/// How many dot-separated numbers the version's numeric core has (`v1.2.3-rc1` has 3), or
/// `None` when it does not start with one.
fn numeric_parts(version: &str) -> Option<usize> {
    let body = strip_v(version);
    let end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let core = body[..end].trim_end_matches('.');
    (!core.is_empty() && core.starts_with(|c: char| c.is_ascii_digit()))
        .then(|| core.split('.').count())
}

/// Whether two versions name the same release, ignoring a `v` prefix (`v1.2.3` ≡ `1.2.3`).
pub fn same_version(a: &str, b: &str) -> bool {
    strip_v(a) == strip_v(b)
}

fn validate(target: &str) -> Result<(), VersionError> {
    if target.is_empty() {
        return Err(VersionError::Empty);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+');
    if let Some(c) = target.chars().find(|&c| !allowed(c)) {
        return Err(VersionError::InvalidCharacter(c));
    }
    if target.eq_ignore_ascii_case("latest") {
        return Err(VersionError::MovingTag(target.to_owned()));
    }
    Ok(())
}

fn strip_v(version: &str) -> &str {
    if has_v_prefix(version) {
        &version[1..]
    } else {
        version
    }
}

fn has_v_prefix(version: &str) -> bool {
    let mut chars = version.chars();
    matches!(chars.next(), Some('v' | 'V')) && chars.next().is_some_and(|c| c.is_ascii_digit())
}

fn starts_with_digit(version: &str) -> bool {
    version.starts_with(|c: char| c.is_ascii_digit())
}

/// The variant part of a tag such as `16-alpine` (`alpine`) or `15-vectorchord0.4.3`: the text
/// after the first `-` that follows the numeric core, when it starts with a letter and is not a
/// revision or pre-release marker.
fn variant_suffix(version: &str) -> Option<&str> {
    let core_end = strip_v(version)
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|i| i + (version.len() - strip_v(version).len()))?;
    let suffix = version[core_end..].strip_prefix('-')?;
    if !suffix.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let lower = suffix.to_ascii_lowercase();
    let word_end = lower
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(lower.len());
    let release_markers = [
        "r", "rc", "patch", "p", "ls", "alpha", "beta", "pre", "dev", "snapshot", "build", "b",
    ];
    let is_marker = release_markers.contains(&&lower[..word_end])
        && lower[word_end..].starts_with(|c: char| c.is_ascii_digit() || c == '.');
    (!is_marker).then_some(suffix)
}

#[cfg(test)]
mod tests {
    use super::{VersionError, in_style_of, retarget, same_version};

    fn to(old: &str, target: &str) -> Option<String> {
        retarget(old, target).unwrap()
    }

    fn styled(old: &str, release: &str) -> String {
        in_style_of(old, release)
    }

    #[test]
    fn writes_the_target_verbatim() {
        assert_eq!(to("v1.1.0", "3.2").as_deref(), Some("3.2"));
        assert_eq!(to("1.7.4", "v1.0.32.0").as_deref(), Some("v1.0.32.0"));
        assert_eq!(to("16-alpine", "17").as_deref(), Some("17"));
        assert_eq!(to("v1.35.4", "1.35.4").as_deref(), Some("1.35.4"));
        assert_eq!(to("4.6.3-r1", "4.6.4").as_deref(), Some("4.6.4"));
    }

    #[test]
    fn unchanged_version_is_none() {
        assert_eq!(to("1.35.4", "1.35.4"), None);
        assert_eq!(to("v2.7.4", "v2.7.4"), None);
    }

    #[test]
    fn derived_steps_keep_the_v_prefix_style() {
        assert_eq!(styled("v2.7.4", "2.7.5"), "v2.7.5");
        assert_eq!(styled("v2.7.4", "v2.7.5"), "v2.7.5");
        assert_eq!(styled("1.35.4", "v1.36.0"), "1.36.0");
        assert_eq!(styled("v1.0.35.0", "1.0.36.0"), "v1.0.36.0");
    }

    #[test]
    fn derived_steps_keep_the_variant_suffix() {
        assert_eq!(styled("16-alpine", "17"), "17-alpine");
        assert_eq!(styled("3.12-alpine", "3.13"), "3.13-alpine");
        assert_eq!(styled("v2.7.4-cuda", "2.8.0"), "v2.8.0-cuda");
        assert_eq!(styled("15-vectorchord0.4.3", "16"), "16-vectorchord0.4.3");
        assert_eq!(styled("12.1-bookworm-slim", "12.2"), "12.2-bookworm-slim");
        assert_eq!(styled("16-alpine", "17-bookworm"), "17-bookworm");
    }

    #[test]
    fn derived_steps_drop_release_specific_suffixes() {
        assert_eq!(styled("4.6.3-r1", "4.6.4"), "4.6.4");
        assert_eq!(styled("2026.2.4-patch3", "2026.3.0"), "2026.3.0");
        assert_eq!(styled("3.0.2-rc07", "3.0.2"), "3.0.2");
        assert_eq!(styled("1.2.3-ls45", "1.2.4"), "1.2.4");
    }

    #[test]
    fn refuses_what_is_not_a_version() {
        assert_eq!(retarget("1.0", ""), Err(VersionError::Empty));
        assert_eq!(
            retarget("1.0", "1.0\""),
            Err(VersionError::InvalidCharacter('"'))
        );
        assert_eq!(
            retarget("1.0", "${var.x}"),
            Err(VersionError::InvalidCharacter('$'))
        );
        assert_eq!(
            retarget("1.0", "1 .0"),
            Err(VersionError::InvalidCharacter(' '))
        );
        assert!(matches!(
            retarget("1.0", "latest"),
            Err(VersionError::MovingTag(_))
        ));
    }

    #[test]
    fn same_version_ignores_v_prefix() {
        assert!(same_version("v1.2.3", "1.2.3"));
        assert!(!same_version("1.2.3", "1.2.4"));
        assert!(!same_version("version", "ersion"));
    }
}
