//! The decision: SAFE, CAUTION or UNKNOWN, the rule that decided it, and the versions the
//! upgrade steps through.

use crate::release::Release;
use crate::rules::{Evaluation, Verdict};
use serde::Serialize;
use std::fmt;
use upkeep_pins::Version;

/// How risky an upgrade is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Risk {
    /// Patch or minor, no breaking signal in the notes: verify briefly, jump directly.
    Safe,
    /// A rule with a CAUTION verdict fired: verify longer, step through the releases that
    /// matter.
    Caution,
    /// No notes were found and no rule fired: SAFE precautions, said in the commit.
    Unknown,
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Risk::Safe => "SAFE",
            Risk::Caution => "CAUTION",
            Risk::Unknown => "UNKNOWN",
        })
    }
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The risk.
    pub risk: Risk,
    /// Why, in a few words: the deciding rule's id, or why there is none.
    pub reason: String,
    /// The versions the upgrade passes through, ending at the target.
    pub steps: Vec<String>,
}

/// Decides the risk of an upgrade from what the rules found. `missing` says why no release
/// notes were read for the crossed range, when none were; without them and without a
/// CAUTION rule (version rules need no notes) the risk is UNKNOWN, never SAFE, and the reason
/// is what `missing` says.
///
/// The step plan is the target alone, except under CAUTION: then every crossed release that
/// carries a breaking signal, and the last release of each major line crossed (each minor
/// line below 1.0, or for names listed as `always-step`), come first.
pub fn decide(
    evaluation: &Evaluation,
    releases: &[Release],
    old: &Version,
    new: &Version,
    missing: Option<&str>,
) -> Decision {
    let caution = evaluation
        .findings
        .iter()
        .find(|finding| finding.verdict == Verdict::Caution);
    let (risk, reason) = match caution {
        Some(finding) => (Risk::Caution, finding.rule.clone()),
        None => match missing {
            Some(why) => (Risk::Unknown, why.to_owned()),
            None => (Risk::Safe, "no rule fired".to_owned()),
        },
    };
    let steps = if risk == Risk::Caution {
        let every_minor = evaluation
            .findings
            .iter()
            .any(|finding| finding.rule == "always-step");
        step_plan(evaluation, releases, old, new, every_minor)
    } else {
        vec![new.as_str().to_owned()]
    };
    Decision {
        risk,
        reason,
        steps,
    }
}

fn step_plan(
    evaluation: &Evaluation,
    releases: &[Release],
    old: &Version,
    new: &Version,
    every_minor: bool,
) -> Vec<String> {
    let line_of = |version: &Version| {
        if version.major() == 0 || every_minor {
            (version.major(), version.minor())
        } else {
            (version.major(), 0)
        }
    };
    let breaking: Vec<&str> = evaluation
        .findings
        .iter()
        .filter(|finding| finding.verdict == Verdict::Caution)
        .flat_map(|finding| &finding.evidence)
        .filter(|evidence| evidence.line.is_some())
        .filter_map(|evidence| evidence.release.as_deref())
        .collect();
    let mut steps: Vec<&Release> = releases
        .iter()
        .enumerate()
        .filter(|(i, release)| {
            let last_of_line = releases
                .get(i + 1)
                .is_none_or(|next| line_of(&next.version) != line_of(&release.version));
            let leaves_line = line_of(&release.version) != line_of(new);
            breaking.contains(&release.version.as_str()) || (last_of_line && leaves_line)
        })
        .map(|(_, release)| release)
        .filter(|release| &release.version > old && &release.version < new)
        .collect();
    steps.sort_by(|a, b| a.version.cmp(&b.version));
    let mut plan: Vec<String> = steps
        .into_iter()
        .map(|release| release.version.as_str().to_owned())
        .collect();
    plan.dedup();
    plan.push(new.as_str().to_owned());
    plan
}
