//! Release notes between two versions, and the rules that decide how risky an upgrade is.
//!
//! - [`source`] finds the GitHub repository of an image, chart, provider or module;
//! - [`GitHub`] fetches its releases (or splits its changelog file), politely: paginated,
//!   rate-limit aware, cached with ETags;
//! - [`crossed`] picks the releases an upgrade crosses, by version order;
//! - a [`RuleSet`] says which rules fire, with evidence, and [`decide`] turns that into
//!   SAFE / CAUTION / UNKNOWN and a step plan.

mod assess;
mod changelog;
mod crossref;
mod release;
mod rules;
mod tags;

pub use assess::{Decision, Risk, decide};
pub use changelog::split_changelog;
pub use crossref::{BreakingLine, CrossReference, breaking_lines, cross_reference};
pub use release::{Release, crossed};
pub use rules::{
    Condition, DEFAULT_KEYWORDS, Evaluation, Evidence, Finding, Highlight, Rule, RuleError,
    RuleSet, RuleSpec, Upgrade, Verdict, glob_matches,
};
pub use tags::{TagVersion, pick_prefix, tag_version};
