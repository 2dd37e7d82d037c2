//! Config entries that match nothing in the repository: a stack name with a typo, an image
//! that was renamed, a section keyed the way no reader expects. Each entry is matched the way
//! the stage that reads it matches it, so a dead entry here is dead in the pipeline too.

use crate::config::{Config, DbBackedServices};
use crate::policy::skip::image_pattern_matches;
use std::collections::BTreeSet;
use upkeep_notes::{chart_key_specificity, glob_matches};
use upkeep_pins::{Pin, PinKind, canonical_image_name};

/// An entry of the config that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unused {
    /// The section (`version_jump_always_step`, `verify.urls`).
    pub section: &'static str,
    /// The entry as written.
    pub entry: String,
    /// What it was compared with.
    pub expected: &'static str,
    /// The 1-based line of the entry in the config file, when it can be found.
    pub line: Option<usize>,
}

/// What the repository holds, as the config's entries name it.
struct Repo<'a> {
    pins: &'a [Pin],
    /// Stack names: the folders holding pins.
    stacks: BTreeSet<String>,
}

impl Repo<'_> {
    fn images(&self) -> impl Iterator<Item = &Pin> {
        self.pins.iter().filter(|pin| {
            matches!(
                pin.kind,
                PinKind::Image | PinKind::HelmSet | PinKind::ValuesImage
            )
        })
    }

    /// An image pin whose name, in any spelling, is `key`: the pin's own image, or one of the
    /// images that use it (`var.immich_version` feeds the server and machine-learning images).
    fn has_image(&self, key: &str) -> bool {
        let canonical = canonical_image_name(key);
        self.images().any(|pin| {
            std::iter::once(&pin.canonical)
                .chain(pin.users.iter().map(|user| &user.canonical))
                .any(|name| *name == canonical || name == key)
        })
    }

    /// A pin whose canonical name or name as written matches the `*` pattern.
    fn has_name_matching(&self, pattern: &str) -> bool {
        self.pins
            .iter()
            .any(|pin| glob_matches(pattern, &pin.canonical) || glob_matches(pattern, &pin.name))
    }

    fn has_stack_matching(&self, pattern: &str) -> bool {
        self.stacks.iter().any(|stack| glob_matches(pattern, stack))
    }
}

/// Every entry of `config` (read from `text`) that matches nothing among `pins`.
pub fn unused_entries(config: &Config, text: &str, pins: &[Pin]) -> Vec<Unused> {
    let repo = Repo {
        pins,
        stacks: pins
            .iter()
            .filter_map(|pin| Some(pin.stack().file_name()?.to_string_lossy().into_owned()))
            .collect(),
    };
    let mut unused = Vec::new();
    let mut check = |section: &'static str, entry: &str, expected: &'static str, used: bool| {
        if !used {
            unused.push(Unused {
                section,
                entry: entry.to_owned(),
                expected,
                line: line_of(text, section, entry),
            });
        }
    };
    for key in config.github_repo_overrides.keys() {
        check(
            "github_repo_overrides",
            key,
            "no image",
            repo.has_image(key),
        );
    }
    for key in config.helm_chart_repo_overrides.keys() {
        let used = pins.iter().any(|pin| {
            pin.kind == PinKind::HelmChart
                && chart_key_specificity(key, &pin.name, pin.repository.as_deref()).is_some()
        });
        check(
            "helm_chart_repo_overrides",
            key,
            "no chart by name, repository URL or repository/chart",
            used,
        );
    }
    for pattern in &config.version_jump_always_step {
        let used = repo.has_name_matching(pattern) || repo.has_stack_matching(pattern);
        check(
            "version_jump_always_step",
            pattern,
            "no stack, image or chart",
            used,
        );
    }
    let db_stacks: Vec<&String> = match &config.db_backed_services {
        DbBackedServices::Names(names) => names.iter().collect(),
        DbBackedServices::Detailed(map) => map.keys().collect(),
    };
    for stack in db_stacks {
        check(
            "db_backed_services",
            stack,
            "no stack",
            repo.stacks.contains(stack),
        );
    }
    for pattern in &config.skip_image_patterns {
        let used = repo
            .images()
            .any(|pin| image_pattern_matches(pattern, &pin.canonical));
        check("skip_image_patterns", pattern, "no image", used);
    }
    for key in config.allowed_versions.keys() {
        check("allowed_versions", key, "no image", repo.has_image(key));
    }
    for key in config.ignore_versions.keys() {
        check("ignore_versions", key, "no image", repo.has_image(key));
    }
    for rule in &config.rules {
        for pattern in &rule.images {
            check(
                "rules",
                pattern,
                "no image or chart",
                repo.has_name_matching(pattern),
            );
        }
    }
    for stack in config.verify.urls.keys() {
        check(
            "verify.urls",
            stack,
            "no stack",
            repo.stacks.contains(stack),
        );
    }
    for stack in config.verify.selectors.keys() {
        check(
            "verify.selectors",
            stack,
            "no stack",
            repo.stacks.contains(stack),
        );
    }
    // In the file's order; entries whose line is unknown last.
    unused.sort_by_key(|entry| entry.line.unwrap_or(usize::MAX));
    unused
}

/// The line of `entry` in the config text: the first line after the section's key that
/// holds the entry (quoted or not), or `None`.
fn line_of(text: &str, section: &str, entry: &str) -> Option<usize> {
    let key = section.rsplit('.').next().unwrap_or(section);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|line| {
        let line = line.trim_start().trim_start_matches(['"', '\'']);
        line.starts_with(key)
            && line[key.len()..]
                .trim_start_matches(['"', '\''])
                .starts_with(':')
    })?;
    let holds = |line: &str| {
        line.contains(&format!("\"{entry}\""))
            || line.contains(&format!("'{entry}'"))
            || line
                .split(|c: char| {
                    c.is_whitespace() || matches!(c, '[' | ']' | ',' | '{' | '}' | ':' | '-')
                })
                .any(|word| word == entry)
    };
    lines[start..]
        .iter()
        .position(|line| holds(line))
        .map(|offset| start + offset + 1)
}

#[cfg(test)]
mod tests {
    use super::line_of;

    #[test]
    fn entries_are_found_on_their_line_in_json_and_yaml() {
        let json = "{\n  \"helm_chart_repo_overrides\": {\n    \"https://charts.goauthentik.io\": \"goauthentik/authentik\"\n  },\n  \"version_jump_always_step\": [\"authentik\", \"nextcloud\"]\n}\n";
        assert_eq!(
            line_of(
                json,
                "helm_chart_repo_overrides",
                "https://charts.goauthentik.io"
            ),
            Some(3)
        );
        assert_eq!(
            line_of(json, "version_jump_always_step", "nextcloud"),
            Some(5)
        );
        let yaml = "db_backed_services:\n  immich: { backup_job: x }\n  paperles: {}\nverify:\n  urls:\n    vaultwarden: https://vault.example.org\n";
        assert_eq!(line_of(yaml, "db_backed_services", "paperles"), Some(3));
        assert_eq!(line_of(yaml, "verify.urls", "vaultwarden"), Some(6));
        assert_eq!(line_of(yaml, "skip_image_patterns", "x"), None);
    }
}
