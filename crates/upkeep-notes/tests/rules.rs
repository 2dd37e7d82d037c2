//! Table-driven tests of the rules engine and the decision: one case per rule, per tricky
//! version string and per step-plan shape.

use upkeep_notes::{
    Evaluation, Release, Risk, RuleSet, RuleSpec, Upgrade, Verdict, breaking_lines,
    cross_reference, crossed, decide,
};
use upkeep_pins::Version;

fn v(text: &str) -> Version {
    Version::parse(text).unwrap_or_else(|| panic!("{text} is a version"))
}

fn release(version: &str, notes: &str) -> Release {
    let version = v(version);
    Release {
        prerelease: version.is_prerelease(),
        tag: version.as_str().to_owned(),
        version,
        notes: notes.to_owned(),
        draft: false,
        url: None,
    }
}

fn evaluate(
    rules: &RuleSet,
    names: &[&str],
    old: &str,
    new: &str,
    releases: &[Release],
) -> Evaluation {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let (old, new) = (v(old), v(new));
    rules.evaluate(&Upgrade {
        names: &names,
        stacks: &[],
        old: &old,
        new: &new,
        releases,
    })
}

fn fired(evaluation: &Evaluation) -> Vec<&str> {
    evaluation
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect()
}

#[test]
fn each_builtin_rule_fires_on_its_case_and_only_there() {
    let rules = RuleSet::builtin(&[], &["ghcr.io/nextcloud/*".to_owned()]).unwrap();
    // (case, name, old, new, notes of the single crossed release, rules expected)
    type Case<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a [&'a str]);
    let cases: [Case; 12] = [
        (
            "patch, quiet notes",
            "x/app",
            "1.35.4",
            "1.35.5",
            "- Fix login redirect",
            &[],
        ),
        (
            "minor, quiet notes",
            "x/app",
            "1.35.4",
            "1.36.0",
            "- Add dark mode",
            &[],
        ),
        (
            "major",
            "x/app",
            "1.9.9",
            "2.0.0",
            "- Cleanup",
            &["major-bump"],
        ),
        (
            "0.x minor",
            "x/app",
            "0.24.3",
            "0.25.0",
            "- Faster",
            &["zero-minor-bump"],
        ),
        ("0.x patch", "x/app", "0.24.3", "0.24.4", "- Faster", &[]),
        (
            "keyword",
            "x/app",
            "1.2.0",
            "1.3.0",
            "- Database migration runs on start",
            &["breaking-keyword"],
        ),
        (
            "keyword any case, spaced",
            "x/app",
            "1.2.0",
            "1.3.0",
            "ACTION  REQUIRED: rotate keys",
            &["breaking-keyword"],
        ),
        (
            "keyword negated",
            "x/app",
            "1.2.0",
            "1.3.0",
            "- Non-breaking: new API field\n- no breaking changes",
            &[],
        ),
        (
            "keyword inside a word",
            "x/app",
            "1.2.0",
            "1.3.0",
            "- Unremoved items are kept; renamedFiles API",
            &[],
        ),
        (
            "heading",
            "x/app",
            "1.2.0",
            "1.3.0",
            "## ⚠️ Upgrade notes\nRun the job first.",
            &["breaking-heading"],
        ),
        (
            "always-step",
            "ghcr.io/nextcloud/server",
            "30.0.1",
            "30.0.2",
            "- Fix",
            &["always-step"],
        ),
        (
            "4-part major",
            "x/plex",
            "v1.0.35.0",
            "v2.0.0.0",
            "- New UI",
            &["major-bump"],
        ),
    ];
    for (case, name, old, new, notes, expected) in cases {
        let releases = [release(new, notes)];
        let evaluation = evaluate(&rules, &[name], old, new, &releases);
        assert_eq!(fired(&evaluation), expected, "{case}");
    }
}

#[test]
fn evidence_names_the_release_and_the_line() {
    let rules = RuleSet::builtin(&[], &[]).unwrap();
    let releases = [
        release("2.1.0", "## Features\n- Add SSO\n"),
        release(
            "2.2.0",
            "## Breaking Changes\n- `DB_URL` was renamed to `DATABASE_URL`\n",
        ),
    ];
    let evaluation = evaluate(&rules, &["x/app"], "2.0.0", "2.2.0", &releases);
    let keyword = &evaluation.findings[0];
    assert_eq!(keyword.rule, "breaking-keyword");
    assert_eq!(keyword.evidence.len(), 2);
    assert_eq!(keyword.evidence[1].release.as_deref(), Some("2.2.0"));
    assert_eq!(keyword.evidence[1].line, Some(2));
    assert_eq!(
        keyword.evidence[1].text,
        "- `DB_URL` was renamed to `DATABASE_URL`"
    );
    let heading = &evaluation.findings[1];
    assert_eq!(heading.rule, "breaking-heading");
    assert_eq!(heading.evidence[0].line, Some(1));
}

#[test]
fn security_signals_are_highlights_not_verdicts() {
    let rules = RuleSet::builtin(&[], &[]).unwrap();
    let releases = [release(
        "1.35.5",
        "- Fix CVE-2026-12345 in the admin page\n- Bump GHSA-abcd-1234-wxyz\n- Security: tighter CSP",
    )];
    let evaluation = evaluate(&rules, &["x/app"], "1.35.4", "1.35.5", &releases);
    assert!(evaluation.findings.is_empty());
    let lines: Vec<usize> = evaluation.highlights.iter().map(|h| h.line).collect();
    assert_eq!(lines, [1, 2, 3]);
}

#[test]
fn config_rules_fire_for_their_images_only() {
    let mut rules = RuleSet::builtin(&["schema".to_owned()], &[]).unwrap();
    let specs: Vec<RuleSpec> = serde_json::from_str(
        r#"[
          {"id": "immich-vector", "keywords": ["vector extension"], "images": ["ghcr.io/immich-app/*"]},
          {"id": "postgres-major", "pattern": "(?i)postgres(ql)?\\s+1[5-8]", "verdict": "note"}
        ]"#,
    )
    .unwrap();
    rules.extend(specs.iter().map(|spec| spec.compile().unwrap()));
    let releases = [release(
        "2.8.0",
        "- Requires the VECTOR EXTENSION 0.3\n- Tested with PostgreSQL 17",
    )];
    let immich = evaluate(
        &rules,
        &["ghcr.io/immich-app/immich-server"],
        "2.7.4",
        "2.8.0",
        &releases,
    );
    assert_eq!(fired(&immich), ["immich-vector", "postgres-major"]);
    assert_eq!(immich.findings[1].verdict, Verdict::Note);
    let other = evaluate(&rules, &["x/app"], "2.7.4", "2.8.0", &releases);
    assert_eq!(fired(&other), ["postgres-major"]);
    // A note decides nothing.
    let decision = decide(&other, &releases, &v("2.7.4"), &v("2.8.0"), None);
    assert_eq!(decision.risk, Risk::Safe);
}

#[test]
fn config_rules_that_cannot_fire_are_refused() {
    let empty: RuleSpec = serde_json::from_str(r#"{"id": "nothing"}"#).unwrap();
    assert!(empty.compile().is_err());
    let bad: RuleSpec = serde_json::from_str(r#"{"id": "bad", "pattern": "("}"#).unwrap();
    assert!(bad.compile().unwrap_err().to_string().contains("bad"));
}

#[test]
fn risk_is_unknown_without_notes_unless_the_versions_decide() {
    let rules = RuleSet::builtin(&[], &[]).unwrap();
    let minor = evaluate(&rules, &["x/app"], "1.2.0", "1.3.0", &[]);
    assert_eq!(
        decide(
            &minor,
            &[],
            &v("1.2.0"),
            &v("1.3.0"),
            Some("no release notes found")
        )
        .risk,
        Risk::Unknown
    );
    let major = evaluate(&rules, &["x/app"], "1.2.0", "2.0.0", &[]);
    let decision = decide(
        &major,
        &[],
        &v("1.2.0"),
        &v("2.0.0"),
        Some("no release notes found"),
    );
    assert_eq!(
        (decision.risk, decision.reason.as_str()),
        (Risk::Caution, "major-bump")
    );
    assert_eq!(decision.steps, ["2.0.0"]);
}

#[test]
fn caution_steps_through_breaking_releases_and_the_end_of_each_major_line() {
    let rules = RuleSet::builtin(&[], &[]).unwrap();
    let all = [
        release("1.4.0", "- a"),
        release("1.5.2", "- b"),
        release("2.0.0", "- c"),
        release("2.1.0", "## Breaking Changes\n- d"),
        release("2.3.1", "- e"),
        release("3.0.0", "- f"),
        release("3.1.0", "- g"),
    ];
    let (old, new) = (v("1.3.0"), v("3.1.0"));
    let releases = crossed(&all, &old, &new);
    let evaluation = evaluate(&rules, &["x/app"], "1.3.0", "3.1.0", &releases);
    let decision = decide(&evaluation, &releases, &old, &new, None);
    assert_eq!(decision.risk, Risk::Caution);
    assert_eq!(decision.steps, ["1.5.2", "2.1.0", "2.3.1", "3.1.0"]);
    // SAFE jumps directly.
    let (old, new) = (v("2.1.0"), v("2.3.1"));
    let quiet = crossed(&all, &old, &new);
    let evaluation = evaluate(&rules, &["x/app"], "2.1.0", "2.3.1", &quiet);
    assert_eq!(
        decide(&evaluation, &quiet, &old, &new, None).steps,
        ["2.3.1"]
    );
}

#[test]
fn below_one_every_minor_line_is_a_step() {
    let rules = RuleSet::builtin(&[], &[]).unwrap();
    let all = [
        release("0.24.4", "- a"),
        release("0.25.0", "- b"),
        release("0.25.3", "- c"),
        release("0.26.1", "- d"),
    ];
    let (old, new) = (v("0.24.3"), v("0.26.1"));
    let releases = crossed(&all, &old, &new);
    let evaluation = evaluate(&rules, &["x/app"], "0.24.3", "0.26.1", &releases);
    let decision = decide(&evaluation, &releases, &old, &new, None);
    assert_eq!(decision.steps, ["0.24.4", "0.25.3", "0.26.1"]);
}

#[test]
fn identifiers_in_breaking_lines_are_looked_up_in_the_stack() {
    let rules = RuleSet::builtin(&[], &[]).unwrap();
    let releases = [release(
        "2.0.0",
        "## Breaking Changes\n- `DB_URL` is now `DATABASE_URL`\n- `server.port` moved; pass --legacy-auth to keep the old login\n## Fixes\n- TIMEOUT_SECONDS default raised",
    )];
    let evaluation = evaluate(&rules, &["x/app"], "1.9.0", "2.0.0", &releases);
    let lines = breaking_lines(&releases, &evaluation);
    let numbers: Vec<usize> = lines.iter().map(|l| l.line).collect();
    assert_eq!(numbers, [1, 2, 3], "the section, not the fixes");
    let files = [(
        "stacks/app/main.tf".to_owned(),
        "env {\n  name  = \"DB_URL\"\n  value = var.db\n}\n".to_owned(),
    )];
    let references = cross_reference(&lines, &files);
    let summary: Vec<(&str, Vec<&str>)> = references
        .iter()
        .map(|r| {
            (
                r.identifier.as_str(),
                r.used_at.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("DB_URL", vec!["stacks/app/main.tf:2"]),
            ("DATABASE_URL", vec![]),
            ("server.port", vec![]),
            ("--legacy-auth", vec![]),
        ]
    );
}

#[test]
fn sections_that_say_nothing_are_not_breaking_signals() {
    let rules = RuleSet::builtin(&[], &[]).unwrap();
    // A project that writes every Keep-a-Changelog section in every release.
    let quiet = [
        "### Added\n* Support for WebP thumbnails\n\n### Changed\n* *Nothing*\n\n### Deprecated\n* *Nothing*\n\n### Removed\n* *Nothing*\n\n### Fixed\n* Fix the login redirect\n\n### Security\n* *Nothing*",
        "### Added\n- None\n\n### Removed\n- None\n\n### Fixed\n- Keep the session on refresh",
        "## Breaking Changes\n\nN/A\n\n## Bug fixes\n\n- Retry webhooks",
        "### Removed\n\n### Fixed\n- Correct the time zone of reminders",
        "**Breaking changes:** none\n\n- Faster startup",
        "### ⚠️ Breaking changes\n- _Nothing._\n### Deprecations\n- No deprecations in this release.",
    ];
    for notes in quiet {
        let releases = [release("1.4.1", notes)];
        let evaluation = evaluate(&rules, &["x/app"], "1.4.0", "1.4.1", &releases);
        assert_eq!(fired(&evaluation), Vec::<&str>::new(), "{notes}");
    }
    // A section with content still fires, on its heading and its line.
    let loud = [release(
        "1.4.1",
        "### Removed\n* *Nothing*\n\n### Deprecated\n* The `LEGACY_LDAP` setting; use `AUTH_LDAP_*`",
    )];
    let evaluation = evaluate(&rules, &["x/app"], "1.4.0", "1.4.1", &loud);
    assert_eq!(fired(&evaluation), ["breaking-keyword", "breaking-heading"]);
    let lines: Vec<Option<usize>> = evaluation
        .findings
        .iter()
        .flat_map(|f| f.evidence.iter().map(|e| e.line))
        .collect();
    assert_eq!(
        lines,
        [Some(4), Some(4)],
        "the Deprecated heading, not the empty Removed"
    );
    // A heading or bold line that is itself the news is no empty section.
    for notes in [
        "## The v1 API was removed",
        "**Breaking:** the `--legacy` flag is removed",
    ] {
        let releases = [release("1.4.1", notes)];
        let evaluation = evaluate(&rules, &["x/app"], "1.4.0", "1.4.1", &releases);
        assert!(fired(&evaluation).contains(&"breaking-keyword"), "{notes}");
    }
}

#[test]
fn always_step_entries_name_stacks_as_the_users_file_does() {
    // `upgrade-config.json` lists stacks: `authentik`, `nextcloud`, `immich`.
    let rules = RuleSet::builtin(
        &[],
        &[
            "authentik".to_owned(),
            "nextcloud".to_owned(),
            "immich".to_owned(),
        ],
    )
    .unwrap();
    let names = [
        "docker.io/library/nextcloud".to_owned(),
        "nextcloud".to_owned(),
    ];
    let stacks = ["cloud".to_owned()];
    let (old, new) = (v("30.0.4"), v("30.0.5"));
    let upgrade = |stacks: &[String]| {
        rules.evaluate(&Upgrade {
            names: &names,
            stacks,
            old: &old,
            new: &new,
            releases: &[],
        })
    };
    // The image's short name matches in any stack.
    assert_eq!(fired(&upgrade(&stacks)), ["always-step"]);
    // The stack's name matches whatever the image.
    let ghcr = ["ghcr.io/immich-app/immich-server".to_owned()];
    let immich = rules.evaluate(&Upgrade {
        names: &ghcr,
        stacks: &["immich".to_owned()],
        old: &old,
        new: &new,
        releases: &[],
    });
    assert_eq!(fired(&immich), ["always-step"]);
    assert_eq!(
        immich.findings[0].evidence[0].text,
        "`immich` is listed in version_jump_always_step"
    );
    // Config rules still match images only.
    let mut with_rule = RuleSet::builtin(&[], &[]).unwrap();
    with_rule.extend([RuleSpec {
        id: "immich-only".to_owned(),
        keywords: vec!["vector".to_owned()],
        pattern: None,
        images: vec!["immich".to_owned()],
        verdict: Verdict::Caution,
    }
    .compile()
    .unwrap()]);
    let releases = [release("30.0.5", "- vector search")];
    let stack_named = with_rule.evaluate(&Upgrade {
        names: &names,
        stacks: &["immich".to_owned()],
        old: &old,
        new: &new,
        releases: &releases,
    });
    assert_eq!(fired(&stack_named), Vec::<&str>::new());
}

#[test]
fn keywords_too_many_to_compile_are_an_error_not_a_panic() {
    // Case-insensitive non-ASCII keywords grow the regex fastest: 100,000 of them (2.5 MB of
    // config, under its 4 MB limit) are over the regex size limit.
    let keywords: Vec<String> = (0..100_000).map(|i| format!("ÄÖÜßſK{i}ǅ")).collect();
    let Err(error) = RuleSet::builtin(&keywords, &[]) else {
        panic!("compiled");
    };
    assert!(
        error
            .to_string()
            .starts_with("rule `breaking-keyword`: the keywords do not compile"),
        "{error}"
    );
    let spec: RuleSpec =
        serde_json::from_value(serde_json::json!({"id": "many", "keywords": keywords})).unwrap();
    let Err(error) = spec.compile() else {
        panic!("compiled");
    };
    assert!(error.to_string().starts_with("rule `many`:"), "{error}");
}
