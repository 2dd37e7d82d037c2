//! Release notes between two versions, and the rules that decide how risky an upgrade is.
//!
//! - [`candidates`] and [`resolve`] find the GitHub repository of an image, chart, provider
//!   or module (config overrides first, then what the artifact says of itself — a chart's
//!   `sources`, an image's `org.opencontainers.image.source` label — then registry naming
//!   conventions);
//! - [`chart_releases`] reads a chart index's `artifacthub.io/changes` annotations as notes;
//! - [`GitHub`] fetches politely: paginated, rate-limit aware, cached with ETags; and
//!   [`fetch_notes`] reads the releases, and the changelog file (found by listing the
//!   repository, split by [`split_changelog`]) where releases are missing or say little;
//! - [`crossed`] picks the releases an upgrade crosses, by version order;
//! - a [`RuleSet`] says which rules fire, each with its evidence, and [`decide`] turns that
//!   into SAFE / CAUTION / UNKNOWN and a step plan;
//! - [`breaking_lines`] and [`cross_reference`] tell which breaking changes name identifiers
//!   the stack's own files use.

mod assess;
mod cache;
mod changelog;
mod chart;
mod crossref;
mod discover;
mod fetch;
mod github;
mod release;
mod rules;
mod source;
mod tags;

pub use assess::{Decision, Risk, decide};
pub use cache::{Cache, CachedResponse};
pub use changelog::{Order, order_of, split_changelog};
pub use chart::{CHANGE_KINDS, ChartVersion, change_notes, chart_releases, github_sources};
pub use crossref::{BreakingLine, CrossReference, breaking_lines, cross_reference};
pub use discover::{CHANGELOG_FOLDERS, changelog_files, changelog_folders, changelog_rank};
pub use fetch::{FileRead, Notes, fetch_notes, own_releases};
pub use github::{
    ContentEntry, DEFAULT_API_URL, FetchError, GitHub, GitHubOptions, GitHubRelease, Progress,
    RepoFile, RepoId,
};
pub use release::{Release, crossed, says_little};
pub use rules::{
    Condition, DEFAULT_KEYWORDS, Evaluation, Evidence, Finding, Highlight, Rule, RuleError,
    RuleSet, RuleSpec, Upgrade, Verdict, glob_matches,
};
pub use source::{Overrides, Resolution, Subject, candidates, chart_key_specificity, resolve};
pub use tags::{TagVersion, pick_prefix, tag_version};
