//! The readers of text that comes from GitHub never panic: versions, tags, changelog files,
//! and the rules engine over arbitrary notes. Ordering stays total (sorting never panics).
#![no_main]

use libfuzzer_sys::fuzz_target;
use upkeep_notes::{RuleSet, Upgrade, breaking_lines, crossed, decide, split_changelog, tag_version};
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
    let releases = split_changelog(text, None);
    if let (Some(old), Some(new)) = (versions.first(), versions.last()) {
        let chosen = crossed(&releases, old, new);
        let names = ["docker.io/x/y".to_owned()];
        let rules = RuleSet::builtin(&[], &[]);
        let evaluation = rules.evaluate(&Upgrade { names: &names, old, new, releases: &chosen });
        let _ = decide(&evaluation, &chosen, old, new, !chosen.is_empty());
        let _ = breaking_lines(&chosen, &evaluation);
    }
});
