//! Whether Terraform rolls a bump out. A `lifecycle { ignore_changes }` that covers an image
//! (Keel, or a person, updates it in the cluster) means moving its pin changes the repository
//! and nothing else, and a verification would check a deployment that did not change. `plan`
//! flags every such place; `bump` refuses when no place it moves rolls out, unless
//! `--even-if-ignored`, and says which places are ignored when only some are.

use serde::Serialize;
use std::path::PathBuf;
use upkeep_pins::Pin;

/// A place that moves with a bump but that Terraform will not roll out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredPlace {
    /// File, relative to the repository root.
    pub file: PathBuf,
    /// 1-based line of the reference.
    pub line: usize,
    /// 1-based column of the reference.
    pub column: usize,
    /// The reference as written (`${local.image}:${local.image_tag}`).
    pub reference: String,
    /// The reference with its variables substituted, before the bump.
    pub resolved: String,
}

impl IgnoredPlace {
    /// `file:line:column`.
    pub fn at(&self) -> String {
        format!("{}:{}:{}", self.file.display(), self.line, self.column)
    }

    /// The line of `Flagged for manual review:` in the commit message.
    pub fn flag(&self) -> String {
        format!(
            "{}: lifecycle.ignore_changes covers {}; Terraform will not roll it out",
            self.at(),
            self.resolved
        )
    }
}

/// The places a bump moves, and those of them Terraform ignores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollout {
    /// How many places move: the users of each pin (the pin itself when nothing uses it
    /// elsewhere, as a chart's `version`).
    pub places: usize,
    /// The places Terraform ignores.
    pub ignored: Vec<IgnoredPlace>,
}

impl Rollout {
    /// The places of `pins` (the pins that move) and which of them Terraform ignores.
    pub fn of(pins: &[Pin]) -> Rollout {
        let mut rollout = Rollout::default();
        for pin in pins {
            if pin.users.is_empty() {
                rollout.places += 1;
                if pin.ignored_by_terraform {
                    let written = format!("{} {}", pin.name, pin.version.as_deref().unwrap_or(""));
                    rollout.ignored.push(IgnoredPlace {
                        file: pin.file.clone(),
                        line: pin.line,
                        column: pin.column,
                        reference: written.clone(),
                        resolved: written,
                    });
                }
                continue;
            }
            for user in &pin.users {
                rollout.places += 1;
                if user.ignored_by_terraform {
                    rollout.ignored.push(IgnoredPlace {
                        file: user.file.clone(),
                        line: user.line,
                        column: user.column,
                        reference: user.reference.clone(),
                        resolved: user.resolved.clone(),
                    });
                }
            }
        }
        rollout
    }

    /// Whether Terraform rolls the bump out somewhere.
    pub fn rolls_out(&self) -> bool {
        self.ignored.len() < self.places
    }

    /// What the human report says, or nothing when every place rolls out.
    pub fn describe(&self) -> Option<String> {
        if self.ignored.is_empty() {
            return None;
        }
        let head = if self.rolls_out() {
            format!(
                "Terraform will not roll out {} of {} place(s) this moves (lifecycle.ignore_changes):",
                self.ignored.len(),
                self.places
            )
        } else {
            "Terraform will not roll this out: lifecycle.ignore_changes covers every place it moves:"
                .to_owned()
        };
        let lines: Vec<String> = self
            .ignored
            .iter()
            .map(|place| format!("  {}: {}", place.at(), place.resolved))
            .collect();
        Some(format!("{head}\n{}\n", lines.join("\n")))
    }

    /// The one-line warning of a bump that goes ahead although some places are ignored.
    pub fn warning(&self) -> Option<String> {
        let places: Vec<String> = self.ignored.iter().map(IgnoredPlace::at).collect();
        (!places.is_empty()).then(|| {
            format!(
                "warning: Terraform will not roll out {} of {} place(s) this moves (lifecycle.ignore_changes): {}",
                self.ignored.len(),
                self.places,
                places.join(", ")
            )
        })
    }

    /// Why a bump stops when no place it moves rolls out.
    pub fn refusal(&self, name: &str) -> String {
        let places: Vec<String> = self
            .ignored
            .iter()
            .map(|place| format!("  {}: {}", place.at(), place.resolved))
            .collect();
        format!(
            "`{name}`: lifecycle.ignore_changes covers every place this moves, so Terraform will not roll it out and a verification would check a deployment that did not change:\n{}\nnothing was changed; pass --even-if-ignored to commit it anyway (to record what Keel deployed, say)",
            places.join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Rollout;
    use std::path::PathBuf;
    use upkeep_pins::{Pin, PinKind, PinStatus, PinUser};

    fn user(line: usize, ignored: bool) -> PinUser {
        PinUser {
            file: PathBuf::from("stacks/mealie/main.tf"),
            line,
            column: 19,
            reference: "${local.image}:${local.image_tag}".to_owned(),
            resolved: "ghcr.io/mealie-recipes/mealie:v2.8.0".to_owned(),
            canonical: "ghcr.io/mealie-recipes/mealie".to_owned(),
            ignored_by_terraform: ignored,
        }
    }

    fn pin(users: Vec<PinUser>, ignored: bool) -> Pin {
        Pin {
            kind: PinKind::Image,
            name: "ghcr.io/mealie-recipes/mealie".to_owned(),
            canonical: "ghcr.io/mealie-recipes/mealie".to_owned(),
            version: Some("v2.8.0".to_owned()),
            status: PinStatus::Pinned,
            file: PathBuf::from("stacks/mealie/main.tf"),
            line: 3,
            column: 16,
            span: 40..46,
            via: None,
            users,
            digest: None,
            constraint: None,
            expression: None,
            repository: None,
            ignored_by_terraform: ignored,
            shadows: Vec::new(),
            linked: Vec::new(),
        }
    }

    #[test]
    fn a_pin_rolls_out_when_one_of_its_users_does() {
        let some = Rollout::of(&[pin(vec![user(22, false), user(27, true)], true)]);
        assert_eq!(some.places, 2);
        assert_eq!(some.ignored.len(), 1);
        assert!(some.rolls_out());
        assert_eq!(
            some.warning().unwrap(),
            "warning: Terraform will not roll out 1 of 2 place(s) this moves (lifecycle.ignore_changes): stacks/mealie/main.tf:27:19"
        );
        let all = Rollout::of(&[pin(vec![user(22, true), user(27, true)], true)]);
        assert!(!all.rolls_out());
        let none = Rollout::of(&[pin(vec![user(22, false)], false)]);
        assert!(none.rolls_out() && none.describe().is_none() && none.warning().is_none());
    }

    #[test]
    fn a_pin_without_users_is_its_own_place() {
        let ignored = Rollout::of(&[pin(Vec::new(), true)]);
        assert_eq!(ignored.places, 1);
        assert!(!ignored.rolls_out());
        assert_eq!(
            ignored.ignored[0].flag(),
            "stacks/mealie/main.tf:3:16: lifecycle.ignore_changes covers ghcr.io/mealie-recipes/mealie v2.8.0; Terraform will not roll it out"
        );
        assert!(Rollout::of(&[]).places == 0 && !Rollout::of(&[]).rolls_out());
    }
}
