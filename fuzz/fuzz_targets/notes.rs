//! The readers of text that comes from GitHub, chart indexes and registries never panic:
//! versions, tags, changelog files (and the order check of what they split into), chart
//! changes annotations, release bodies, and the rules engine over arbitrary notes. Ordering
//! stays total (sorting never panics).
#![no_main]

use libfuzzer_sys::fuzz_target;
use upkeep_notes::{
    RuleSet, Upgrade, breaking_lines, change_notes, crossed, decide, github_sources, order_of,
    says_little, split_changelog, tag_version,
};
use upkeep_pins::Version;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut versions: Vec<Version> = text.split_whitespace().filter_map(Version::parse).collect();
    versions.sort();
    for word in text.split_whitespace() {
        let _ = tag_version(word);
    }
    let _ = change_notes(text);
    let _ = says_little(text);
    let _ = github_sources(&text.lines().map(str::to_owned).collect::<Vec<_>>());
    let releases = split_changelog(text, None);
    let _ = order_of(&releases);
    if let (Some(old), Some(new)) = (versions.first(), versions.last()) {
        let chosen = crossed(&releases, old, new);
        let names = ["docker.io/x/y".to_owned()];
        let stacks = ["y".to_owned()];
        let rules = RuleSet::builtin(&[], &["y".to_owned()]);
        let evaluation = rules.evaluate(&Upgrade {
            names: &names,
            stacks: &stacks,
            old,
            new,
            releases: &chosen,
        });
        let missing = chosen.is_empty().then_some("no release notes found");
        let _ = decide(&evaluation, &chosen, old, new, missing);
        let _ = breaking_lines(&chosen, &evaluation);
    }
});
