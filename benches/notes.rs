//! Criterion benchmark of the rules engine: classifying 100 releases of 5 KB of notes each
//! (the target: under 5 ms), including the decision and the breaking lines.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use upkeep_notes::{Release, RuleSet, Upgrade, breaking_lines, decide};
use upkeep_pins::Version;

/// Release notes of about 5 KB in the style of a busy project: features, fixes, a few
/// dependency bumps; every tenth release has a breaking section, every seventh a security fix.
fn notes(index: usize) -> String {
    let mut text = String::from("## What's Changed\n### 🚀 Features\n");
    let mut line = 0;
    while text.len() < 5 * 1024 {
        line += 1;
        let entry = match line % 6 {
            0 => format!(
                "- feat(web): add a setting for the timeline density #{}\n",
                9000 + line
            ),
            1 => format!(
                "- fix(server): handle missing EXIF dates in imports by @dev{line} in #{}\n",
                9100 + line
            ),
            2 => "- chore(deps): update dependency typescript to v5.7.3\n".to_owned(),
            3 => "- docs: clarify the reverse proxy example for nginx and Caddy\n".to_owned(),
            4 => {
                "- fix(mobile): keep the scroll position when returning from an asset\n".to_owned()
            }
            _ => "- refactor(server): move the job queue options into one module\n".to_owned(),
        };
        text.push_str(&entry);
    }
    if index % 10 == 3 {
        text.push_str(
            "\n## ⚠️ Breaking Changes\n- `MACHINE_LEARNING_URL` was renamed to `IMMICH_ML_URL`\n",
        );
    }
    if index % 7 == 5 {
        text.push_str("\n### 🔒 Security\n- Fix a stored XSS in album titles (CVE-2026-40011)\n");
    }
    text
}

fn releases() -> Vec<Release> {
    (0..100)
        .map(|i| {
            let version =
                Version::parse(&format!("v2.{}.{}", 10 + i / 10, i % 10)).expect("version");
            Release {
                tag: version.as_str().to_owned(),
                version,
                notes: notes(i),
                prerelease: false,
                draft: false,
                url: None,
            }
        })
        .collect()
}

fn bench_rules(c: &mut Criterion) {
    let releases = releases();
    let bytes: usize = releases.iter().map(|r| r.notes.len()).sum();
    let rules = RuleSet::builtin(&[], &[]).expect("the default keywords compile");
    let names = ["ghcr.io/immich-app/immich-server".to_owned()];
    let (old, new) = (
        Version::parse("v2.9.9").unwrap(),
        Version::parse("v2.19.9").unwrap(),
    );
    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("classify-100-releases-5kb", |b| {
        b.iter(|| {
            let evaluation = rules.evaluate(&Upgrade {
                names: &names,
                stacks: &[],
                old: &old,
                new: &new,
                releases: black_box(&releases),
            });
            let decision = decide(&evaluation, &releases, &old, &new, None);
            let lines = breaking_lines(&releases, &evaluation);
            (decision, lines)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_rules);
criterion_main!(benches);
