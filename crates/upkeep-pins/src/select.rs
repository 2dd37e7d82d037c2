//! Choosing the pins of one name and planning their move to a new version (`upkeep set`).

use crate::admit::RepoFiles;
use crate::canonical::{git_canonical, registry_canonical};
use crate::edit::Edit;
use crate::error::ScanError;
use crate::image::{ImageRef, canonical_image_name};
use crate::pin::{Pin, PinKind, PinStatus};
use crate::scan::ScanReport;
use crate::version::{Grammar, VersionError, check_grammar, retarget, same_version};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A request to move every pin of `name` to `version`.
#[derive(Debug, Clone)]
pub struct SetRequest<'a> {
    /// An image (any equivalent spelling), chart, `repository/chart`, provider or module source.
    pub name: &'a str,
    /// The target version.
    pub version: &'a str,
    /// Only move pins currently at this version.
    pub from: Option<&'a str>,
    /// Only pins of this kind.
    pub kind: Option<PinKind>,
}

/// What `set` will do.
#[derive(Debug, Clone, Default)]
pub struct SetPlan {
    /// Pins that move, with their new text.
    pub changes: Vec<Change>,
    /// Pins of the name already at the target version.
    pub unchanged: Vec<Pin>,
    /// Pins of the name that are left alone, and why.
    pub skipped: Vec<(Pin, SkipReason)>,
}

impl SetPlan {
    /// The edits that carry out the plan: each pin's token and its linked strings.
    pub fn edits(&self) -> Vec<Edit> {
        self.changes.iter().flat_map(Change::edits).collect()
    }
}

/// One pin that moves.
#[derive(Debug, Clone)]
pub struct Change {
    /// The pin as scanned.
    pub pin: Pin,
    /// The text that replaces the version token.
    pub new: String,
    /// Other references that use the same token and move with it (the second image fed by
    /// the same variable), as resolved before the move.
    pub also_moves: Vec<String>,
}

impl Change {
    /// The edit of the pin's token.
    pub fn edit(&self) -> Edit {
        Edit {
            file: self.pin.file.clone(),
            span: self.pin.span.clone(),
            old: self.pin.version.clone().unwrap_or_default(),
            new: self.new.clone(),
        }
    }

    /// The edits of the pin's token and of its linked strings (see [`Pin::linked`]).
    pub fn edits(&self) -> Vec<Edit> {
        let old = self.pin.version.clone().unwrap_or_default();
        std::iter::once(self.edit())
            .chain(self.pin.linked.iter().map(|linked| Edit {
                file: linked.file.clone(),
                span: linked.span.clone(),
                old: old.clone(),
                new: self.new.clone(),
            }))
            .collect()
    }
}

/// Why a pin of the requested name is not moved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The pin has no version that can be moved (latest, untagged, unresolved, a range).
    NotSettable(PinStatus),
    /// `--from` was given and the pin is at another version.
    OtherVersion,
}

/// Why `set` refuses to plan.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SetError {
    /// The target version is not acceptable.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// The name matches pins of several kinds; `--kind` must choose.
    #[error("`{name}` matches pins of several kinds ({}); choose one with --kind", kinds.join(", "))]
    Ambiguous {
        /// The requested name.
        name: String,
        /// The kinds it matches.
        kinds: Vec<&'static str>,
    },
    /// Files that do not parse may hold pins of the name, or belong to a module being
    /// edited; nothing is touched until they are fixed.
    #[error("not touching anything: {} file(s) that may hold `{name}` could not be read (they do not parse, or are encrypted)", files.len())]
    BrokenFiles {
        /// The requested name.
        name: String,
        /// The problems, one per file.
        files: Vec<ScanError>,
    },
}

/// Plans moving the pins of `request.name` in `report` (scanned from `root`).
pub fn plan_set(
    root: &Path,
    report: &ScanReport,
    request: &SetRequest<'_>,
) -> Result<SetPlan, SetError> {
    retarget("0", request.version)?;
    let query = Query::new(request.name);
    let matched: Vec<&Pin> = report
        .pins
        .iter()
        .filter(|pin| {
            request.kind.is_none_or(|kind| pin.kind == kind)
                && pin.status != PinStatus::Unnamed
                && query.matches(pin)
        })
        .collect();
    let kinds: BTreeSet<&'static str> = matched.iter().map(|pin| family(pin.kind)).collect();
    if kinds.len() > 1 {
        return Err(SetError::Ambiguous {
            name: request.name.to_owned(),
            kinds: kinds.into_iter().collect(),
        });
    }
    let broken = broken_files(root, report, &query, &matched);
    if !broken.is_empty() {
        return Err(SetError::BrokenFiles {
            name: request.name.to_owned(),
            files: broken,
        });
    }
    for pin in &matched {
        check_grammar(request.version, grammar(pin))?;
    }
    let mut plan = SetPlan::default();
    for pin in matched {
        let (Some(version), true) = (pin.version.as_deref(), pin.is_settable()) else {
            plan.skipped
                .push((pin.clone(), SkipReason::NotSettable(pin.status)));
            continue;
        };
        if request
            .from
            .is_some_and(|from| !same_version(version, from))
        {
            plan.skipped.push((pin.clone(), SkipReason::OtherVersion));
            continue;
        }
        match retarget(version, request.version)? {
            Some(new) => {
                let mut also_moves: Vec<String> = pin
                    .users
                    .iter()
                    .filter(|user| !query.names(&user.canonical))
                    .map(|user| {
                        let at = format!("{}:{}", user.file.display(), user.line);
                        match chart_tag_name(&user.canonical) {
                            Some(name) => format!("{name} {} ({at})", user.resolved),
                            None => format!("{} ({at})", user.resolved),
                        }
                    })
                    .collect();
                also_moves.dedup();
                plan.changes.push(Change {
                    pin: pin.clone(),
                    new,
                    also_moves,
                });
            }
            None => plan.unchanged.push(pin.clone()),
        }
    }
    Ok(plan)
}

/// What a new version of this pin may look like: an image tag, a git ref (a module source's
/// `?ref=`), or a release version.
fn grammar(pin: &Pin) -> Grammar {
    match pin.kind {
        PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage => Grammar::ImageTag,
        PinKind::Module
            if pin.constraint.is_none()
                && (pin.name.contains("://")
                    || pin.name.contains("::")
                    || pin.name.starts_with("git@")
                    || pin.name.starts_with("github.com/")
                    || pin.name.starts_with("bitbucket.org/")) =>
        {
            Grammar::GitRef
        }
        kind => Grammar::Release(kind.as_str()),
    }
}

/// Images, whichever way they are written, are one family; the other kinds stand alone.
fn family(kind: PinKind) -> &'static str {
    match kind {
        PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage => "image",
        other => other.as_str(),
    }
}

/// Files with errors that could hold the name, or that sit in a folder being edited.
fn broken_files(
    root: &Path,
    report: &ScanReport,
    query: &Query,
    matched: &[&Pin],
) -> Vec<ScanError> {
    let edited_dirs: BTreeSet<PathBuf> = matched
        .iter()
        .flat_map(|pin| std::iter::once(&pin.file).chain(pin.users.iter().map(|user| &user.file)))
        .map(|file| file.parent().map(Path::to_path_buf).unwrap_or_default())
        .collect();
    // A file upkeep may not read (a link out of the root, a fifo) holds no pin of the root.
    let files = RepoFiles::new(root).ok();
    report
        .errors
        .iter()
        .filter(|error| {
            let dir = error
                .file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            edited_dirs.contains(&dir)
                || files
                    .as_ref()
                    .is_some_and(|files| files.mentions(&error.file, &query.needle))
        })
        .cloned()
        .collect()
}

/// The spellings a name may take in the canonical forms of each pin kind.
pub(crate) struct Query {
    forms: BTreeSet<String>,
    /// Text a file that mentions the name contains (the name without a registry host).
    pub(crate) needle: String,
}

impl Query {
    /// The query for `name`, as [`SetRequest::name`] takes it.
    pub(crate) fn new(name: &str) -> Query {
        let lower = name.trim().to_ascii_lowercase();
        let image_name = ImageRef::parse(&lower).map_or(lower.as_str(), |image| &lower[image.name]);
        let image = canonical_image_name(image_name);
        let needle = image.strip_prefix("docker.io/library/").unwrap_or(&image);
        let needle = needle
            .split_once('/')
            .filter(|(host, _)| host.contains(['.', ':']))
            .map_or(needle, |(_, rest)| rest);
        let stripped = lower
            .split_once("://")
            .map_or(lower.as_str(), |(_, rest)| rest)
            .trim_end_matches('/');
        let forms = [
            lower.clone(),
            image.clone(),
            stripped.to_owned(),
            registry_canonical(&lower, 2, Some("hashicorp")),
            registry_canonical(&lower, 3, None),
            git_canonical(&lower),
        ]
        .into_iter()
        .collect();
        Query {
            forms,
            needle: needle.to_owned(),
        }
    }

    /// Whether `pin` is of the name: by its own name, or by a user's (a tag variable's users).
    pub(crate) fn matches(&self, pin: &Pin) -> bool {
        self.forms.contains(&pin.canonical)
            || self.forms.contains(&pin.name.to_ascii_lowercase())
            || pin.users.iter().any(|user| self.names(&user.canonical))
    }

    /// Whether the query names a user's canonical name: any of its spellings, or the short
    /// name of a values tag named by its chart (`immich[image.tag]`).
    fn names(&self, canonical: &str) -> bool {
        self.forms.contains(canonical)
            || chart_tag_name(canonical).is_some_and(|name| self.forms.contains(name))
    }
}

/// The short name (`immich[image.tag]`) of a values tag named by the chart of its release,
/// from its canonical name (`immich-app.github.io/immich-charts/immich[image.tag]`).
fn chart_tag_name(canonical: &str) -> Option<&str> {
    let bracket = canonical.find('[').filter(|_| canonical.ends_with(']'))?;
    let start = canonical[..bracket].rfind('/').map_or(0, |slash| slash + 1);
    Some(&canonical[start..])
}
