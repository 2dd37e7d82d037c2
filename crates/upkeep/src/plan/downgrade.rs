//! Downgrades: a requested version older than a pin it would move. Going back is sometimes
//! right (a release that broke something), but it is never routine: what the newer release
//! migrated (a database schema, a config format) may not run backwards. So a downgrade is
//! rated CAUTION by the rule `downgrade`, titled `downgrade:` in its commit, and `bump`
//! refuses it without `--allow-downgrade`.

use crate::plan::review::PlanReport;
use anyhow::bail;
use upkeep_notes::{Evidence, Finding, Verdict};
use upkeep_pins::{Pin, Version};

/// The rule's id.
pub const RULE: &str = "downgrade";

/// The finding of the `downgrade` rule when `new` is older than a pin that would move to it:
/// its evidence names each such pin and its version.
pub fn finding(pins: &[Pin], new: &Version) -> Option<Finding> {
    let evidence: Vec<Evidence> = pins
        .iter()
        .filter_map(|pin| {
            let text = pin.version.as_deref()?;
            let old = Version::parse(text)?;
            (old > *new).then(|| Evidence {
                release: None,
                line: None,
                text: format!(
                    "{text} -> {} is a downgrade ({}:{})",
                    new.as_str(),
                    pin.file.display(),
                    pin.line
                ),
            })
        })
        .collect();
    (!evidence.is_empty()).then(|| Finding {
        rule: RULE.to_owned(),
        verdict: Verdict::Caution,
        evidence,
    })
}

/// The commit message of a downgrade: its title says so (`downgrade: stack old -> new`).
pub fn retitle(message: &str) -> String {
    match message.strip_prefix("upgrade: ") {
        Some(rest) => format!("downgrade: {rest}"),
        None => message.to_owned(),
    }
}

/// Refuses a downgrade unless it is `allowed` (`bump --allow-downgrade`).
pub fn check(report: &PlanReport, allowed: bool) -> anyhow::Result<()> {
    if report.downgrade && !allowed {
        let pins: Vec<&str> = report
            .rules
            .iter()
            .filter(|rule| rule.id == RULE)
            .flat_map(|rule| &rule.evidence)
            .map(|evidence| evidence.text.as_str())
            .collect();
        bail!(
            "`{}` {} is older than what is pinned: {}; pass --allow-downgrade to go back (what the newer release migrated may not run backwards)",
            report.name,
            report.new,
            pins.join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::retitle;

    #[test]
    fn only_the_title_changes() {
        assert_eq!(
            retitle("upgrade: vaultwarden 1.35.4 -> 1.35.0\n\nRisk: CAUTION (downgrade)\n"),
            "downgrade: vaultwarden 1.35.4 -> 1.35.0\n\nRisk: CAUTION (downgrade)\n"
        );
        assert_eq!(retitle("something else"), "something else");
    }
}
