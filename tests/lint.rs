//! End-to-end tests of `upkeep lint`: each rule on a file that triggers it, one that does
//! not and one that silences it with a comment; config switches; the three output formats.

mod common;

use common::{fixtures, upkeep};
use std::path::Path;

struct Lint {
    code: i32,
    stdout: String,
}

fn lint(dir: &Path, args: &[&str]) -> Lint {
    let output = upkeep(dir)
        .arg("lint")
        .args(args)
        .env_remove("UPKEEP_CONFIG")
        .env_remove("PLUGIN_PATH")
        .env_remove("PLUGIN_FORMAT")
        .output()
        .expect("run lint");
    Lint {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("utf-8"),
    }
}

/// The rule ids lint reports for a repository of these files.
fn rules_found(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let run = lint(dir.path(), &["--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

fn deployment(image_line: &str) -> String {
    format!(
        "resource \"kubernetes_deployment\" \"app\" {{\n  spec {{\n    template {{\n      spec {{\n        container {{\n          name  = \"app\"\n{image_line}\n        }}\n      }}\n    }}\n  }}\n}}\n"
    )
}

#[test]
fn each_rule_triggers_stays_quiet_and_can_be_silenced() {
    // (rule, file that triggers it, the same without the problem, the trigger silenced)
    let image = |line: &str| vec![("stacks/app/main.tf".to_owned(), deployment(line))];
    type Files = Vec<(String, String)>;
    let cases: Vec<(&str, Files, Files, Files)> = vec![
        (
            "unpinned-image",
            image("          image = \"curlimages/curl\""),
            image("          image = \"curlimages/curl:8.11.0\""),
            image("          image = \"curlimages/curl\" # upkeep:ignore unpinned-image one-shot debug pod"),
        ),
        (
            "unpinned-chart",
            vec![("stacks/app/main.tf".to_owned(), "resource \"helm_release\" \"reloader\" {\n  repository = \"https://stakater.github.io/stakater-charts\"\n  chart      = \"reloader\"\n}\n".to_owned())],
            vec![("stacks/app/main.tf".to_owned(), "resource \"helm_release\" \"reloader\" {\n  repository = \"https://stakater.github.io/stakater-charts\"\n  chart      = \"reloader\"\n  version    = \"2.2.3\"\n}\n".to_owned())],
            vec![("stacks/app/main.tf".to_owned(), "resource \"helm_release\" \"reloader\" {\n  repository = \"https://stakater.github.io/stakater-charts\"\n  chart      = \"reloader\" # upkeep:ignore unpinned-chart installed by hand\n}\n".to_owned())],
        ),
        (
            "latest-tag",
            image("          image = \"ghcr.io/gethomepage/homepage:latest\""),
            image("          image = \"ghcr.io/gethomepage/homepage:v1.2.0\""),
            image("          # upkeep:ignore latest-tag no releases yet\n          image = \"ghcr.io/gethomepage/homepage:latest\""),
        ),
        (
            "mutable-tag",
            image("          image = \"ghcr.io/example/exporter:main\""),
            image("          image = \"ghcr.io/example/exporter:0.4.1\""),
            image("          image = \"ghcr.io/example/exporter:main\" # upkeep:ignore mutable-tag built from our fork"),
        ),
        (
            "digest-mismatch-risk",
            image("          image = \"valkey/valkey:8.1.1@sha256:4a9c4b9f0e6d3c1f6b1a8e2d7c5b3a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b\""),
            image("          image = \"valkey/valkey@sha256:4a9c4b9f0e6d3c1f6b1a8e2d7c5b3a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b\""),
            image("          image = \"valkey/valkey:8.1.1@sha256:4a9c4b9f0e6d3c1f6b1a8e2d7c5b3a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b\" # upkeep:ignore digest-mismatch-risk renovate updates both"),
        ),
        (
            "unresolved-version",
            image("          image = var.gpu ? \"x/ml:1.0-cuda\" : \"x/ml:1.0\""),
            image("          image = \"x/ml:1.0-cuda\""),
            image("          image = var.gpu ? \"x/ml:1.0-cuda\" : \"x/ml:1.0\" // upkeep:ignore unresolved-version toggled per node"),
        ),
        (
            "ignored-by-terraform",
            vec![("stacks/app/main.tf".to_owned(), deployment("          image = \"x/app:1.0\"").replace("\n}\n", "\n  lifecycle {\n    ignore_changes = all\n  }\n}\n"))],
            image("          image = \"x/app:1.0\""),
            vec![("stacks/app/main.tf".to_owned(), deployment("          image = \"x/app:1.0\" # upkeep:ignore ignored-by-terraform argo rolls it out").replace("\n}\n", "\n  lifecycle {\n    ignore_changes = all\n  }\n}\n"))],
        ),
        (
            "drifted-pin",
            vec![
                ("stacks/a/main.tf".to_owned(), deployment("          image = \"postgres:16.6\"")),
                ("stacks/b/main.tf".to_owned(), deployment("          image = \"docker.io/library/postgres:16.4\"")),
            ],
            vec![
                ("stacks/a/main.tf".to_owned(), deployment("          image = \"postgres:16.6\"")),
                ("stacks/b/main.tf".to_owned(), deployment("          image = \"docker.io/library/postgres:16.6\"")),
            ],
            vec![
                ("stacks/a/main.tf".to_owned(), deployment("          image = \"postgres:16.6\" # upkeep:ignore drifted-pin migrating")),
                ("stacks/b/main.tf".to_owned(), deployment("          image = \"docker.io/library/postgres:16.4\" # upkeep:ignore drifted-pin migrating")),
            ],
        ),
        (
            "parse-error",
            vec![("stacks/app/main.tf".to_owned(), "resource \"kubernetes_deployment\" \"app\" {\n  spec {\n    image = \"x/app:1.0\"\n".to_owned())],
            image("          image = \"x/app:1.0\""),
            vec![("stacks/app/main.tf".to_owned(), "# upkeep:ignore parse-error work in progress\nresource \"kubernetes_deployment\" \"app\" {\n".to_owned())],
        ),
    ];
    for (rule, triggers, quiet, silenced) in &cases {
        let run = |files: &Files| {
            let borrowed: Vec<(&str, &str)> = files
                .iter()
                .map(|(p, t)| (p.as_str(), t.as_str()))
                .collect();
            rules_found(&borrowed)
        };
        assert!(run(triggers).iter().any(|r| r == rule), "{rule} triggers");
        assert!(!run(quiet).iter().any(|r| r == rule), "{rule} stays quiet");
        assert!(
            !run(silenced).iter().any(|r| r == rule),
            "{rule} is silenced"
        );
    }
}

#[test]
fn config_disables_rules_and_changes_severities() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stacks/app/main.tf");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        deployment("          image = \"ghcr.io/gethomepage/homepage:latest\""),
    )
    .unwrap();
    assert_eq!(
        lint(dir.path(), &[]).code,
        1,
        "latest-tag is an error by default"
    );
    std::fs::write(
        dir.path().join(".upkeep.yaml"),
        "lint:\n  severity:\n    latest-tag: warning\n",
    )
    .unwrap();
    let run = lint(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("warning[latest-tag]"));
    std::fs::write(
        dir.path().join(".upkeep.yaml"),
        "lint:\n  disable: [latest-tag]\n",
    )
    .unwrap();
    let run = lint(dir.path(), &[]);
    assert!(!run.stdout.contains("latest-tag"), "{}", run.stdout);
    std::fs::write(
        dir.path().join(".upkeep.yaml"),
        "lint:\n  disabled: [latest-tag]\n",
    )
    .unwrap();
    let output = upkeep(dir.path()).arg("lint").output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a typo in the config is an error, not silence"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("disabled") && stderr.contains(".upkeep.yaml:2:3"),
        "{stderr}"
    );
}

#[test]
fn files_given_alone_still_resolve_their_module() {
    // pre-commit passes only the staged file; the variable lives in another file.
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stacks/app");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("variables.tf"),
        "variable \"tag\" {\n  default = \"latest\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        stack.join("main.tf"),
        deployment("          image = \"x/app:${var.tag}\""),
    )
    .unwrap();
    let run = lint(dir.path(), &["stacks/app/main.tf", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule"], "latest-tag");
    assert_eq!(findings[0]["file"], "stacks/app/variables.tf");
}

#[test]
fn woodpecker_plugin_settings_come_from_the_environment() {
    let output = upkeep(&fixtures())
        .arg("lint")
        .env("PLUGIN_PATH", "stacks/dashboard,stacks/backup")
        .env("PLUGIN_FORMAT", "json")
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("JSON from PLUGIN_FORMAT");
    let files: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["stacks/backup/main.tf", "stacks/dashboard/main.tf"]);
}

#[test]
fn the_three_formats_on_the_fixtures() {
    let human = lint(&fixtures(), &[]);
    assert_eq!(human.code, 1, "the fixtures hold error findings");
    insta::assert_snapshot!("lint_human", human.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&lint(&fixtures(), &["--format", "json"]).stdout).unwrap();
    insta::assert_json_snapshot!("lint_json", json);
    // SARIF paths are relative to the repository root: lint a copy that is its own repository,
    // and leave its absolute root (which differs per machine) out of the snapshot.
    let repo = common::fixture_copy();
    common::git(repo.path(), &["init", "-q"]);
    let mut sarif: serde_json::Value =
        serde_json::from_str(&lint(repo.path(), &["--format", "sarif"]).stdout).unwrap();
    let root = &mut sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"];
    assert!(root.as_str().unwrap().starts_with("file:///"), "{root}");
    *root = "file:///[repository root]/".into();
    insta::assert_json_snapshot!("lint_sarif", sarif);
}

/// The SARIF 2.1.0 schema shipped in the serde-sarif crate's sources, found through
/// `cargo metadata` so that nothing is copied into this repository.
fn sarif_schema() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata");
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dependency");
    let schema = Path::new(manifest)
        .parent()
        .unwrap()
        .join("src/schema.json");
    serde_json::from_str(&std::fs::read_to_string(schema).expect("schema")).expect("schema JSON")
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let mut schema = sarif_schema();
    // The published schema's `language` patterns have a stray `]`, which the validator's
    // check of the schema itself refuses; they are replaced by the pattern they mean (no
    // output of ours has a `language`).
    let fixed = replace_strings(
        &mut schema,
        "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
    );
    assert_eq!(fixed, 2, "the two known `language` patterns");
    let validator = jsonschema::validator_for(&schema).expect("a usable schema");
    let sarif: serde_json::Value =
        serde_json::from_str(&lint(&fixtures(), &["--format", "sarif"]).stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
    // The validator is not vacuous: a result without a message is refused.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&broken));
}

/// Replaces every string equal to `from` in `value`; returns how many.
fn replace_strings(value: &mut serde_json::Value, from: &str, to: &str) -> usize {
    match value {
        serde_json::Value::String(text) if text == from => {
            *text = to.to_owned();
            1
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().map(|v| replace_strings(v, from, to)).sum()
        }
        serde_json::Value::Object(map) => {
            map.values_mut().map(|v| replace_strings(v, from, to)).sum()
        }
        _ => 0,
    }
}

/// A git repository in a temp folder holding these files.
fn git_repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::git(dir.path(), &["init", "-q"]);
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn sarif_uris(sarif: &serde_json::Value) -> Vec<(String, String)> {
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
            (
                artifact["uri"].as_str().unwrap().to_owned(),
                artifact["uriBaseId"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn sarif_locations_are_relative_to_the_repository_root_whatever_folder_is_linted() {
    let repo = git_repo(&[(
        "stacks/a/main.tf",
        &deployment("          image = \"ghcr.io/gethomepage/homepage:latest\""),
    )]);
    let root = std::fs::canonicalize(repo.path()).unwrap();
    let expected = vec![("stacks/a/main.tf".to_owned(), "%SRCROOT%".to_owned())];
    for (cwd, path) in [
        ("", "stacks"),
        ("", "."),
        ("", "stacks/a/main.tf"),
        ("stacks", "a"),
        ("stacks/a", "."),
    ] {
        let run = lint(&repo.path().join(cwd), &[path, "--format", "sarif"]);
        let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(sarif_uris(&sarif), expected, "lint {path} in {cwd:?}");
        assert_eq!(
            sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"],
            format!("file://{}/", root.display()),
        );
    }
    let run = lint(repo.path(), &["stacks", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for rule in sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
    {
        for field in ["shortDescription", "fullDescription", "help"] {
            assert!(rule[field]["text"].is_string(), "{field} of {rule}");
        }
        assert!(rule["help"]["markdown"].is_string(), "{rule}");
    }
    assert!(sarif["runs"][0]["results"][0]["partialFingerprints"]["upkeepFinding/v1"].is_string());
}

#[test]
fn output_writes_each_format_to_a_file_instead_of_standard_output() {
    let repo = git_repo(&[(
        "stacks/a/main.tf",
        &deployment("          image = \"ghcr.io/gethomepage/homepage:latest\""),
    )]);
    for format in ["human", "json", "sarif"] {
        let printed = lint(repo.path(), &["--format", format]);
        let file = repo.path().join(format!("report.{format}"));
        let written = lint(
            repo.path(),
            &["--format", format, "--output", file.to_str().unwrap()],
        );
        assert_eq!(written.code, printed.code, "{format}");
        assert_eq!(written.stdout, "", "{format}: nothing on standard output");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            printed.stdout,
            "{format}"
        );
    }
}

/// `upkeep lint ARGS` in `dir` with the findings parsed from its JSON.
fn findings(dir: &Path, args: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let mut all = vec!["--format", "json"];
    all.extend(args);
    let run = lint(dir, &all);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    (run.code, report["findings"].as_array().unwrap().clone())
}

#[test]
fn a_baseline_hides_known_findings_even_when_their_lines_move() {
    let image = "          image = \"ghcr.io/gethomepage/homepage:latest\"";
    let repo = git_repo(&[
        ("stacks/a/main.tf", &deployment(image)),
        (
            "stacks/b/main.tf",
            &deployment("          image = \"x/app:1.0\""),
        ),
    ]);
    let baseline = repo.path().join(".upkeep-baseline.json");
    let output = upkeep(repo.path())
        .args(["lint", "--write-baseline", ".upkeep-baseline.json"])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "writing a baseline succeeds");
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(
        recorded["findings"],
        serde_json::json!([{"rule": "latest-tag", "file": "stacks/a/main.tf", "pin": "ghcr.io/gethomepage/homepage"}])
    );

    // Lines added above the known finding: still known.
    let file = repo.path().join("stacks/a/main.tf");
    let moved = format!("# the dashboard\n\n{}", deployment(image));
    std::fs::write(&file, &moved).unwrap();
    let (code, new) = findings(repo.path(), &["--baseline", ".upkeep-baseline.json"]);
    assert_eq!((code, new.len()), (0, 0), "{new:?}");
    let human = lint(repo.path(), &["--baseline", ".upkeep-baseline.json"]);
    assert!(
        human
            .stdout
            .contains("baseline: 1 known finding(s) not shown"),
        "{}",
        human.stdout
    );

    // A second `:latest` in the same file (a second container: one body cannot set `image`
    // twice), and one in another file, are new.
    std::fs::write(
        &file,
        moved.replace(
            image,
            &format!(
                "{image}\n        }}\n        container {{\n          name  = \"sidecar\"\n{}",
                image.replace("homepage:", "homepage-2:")
            ),
        ),
    )
    .unwrap();
    std::fs::write(
        repo.path().join("stacks/b/main.tf"),
        deployment("          image = \"x/app:latest\""),
    )
    .unwrap();
    let (code, new) = findings(repo.path(), &["--baseline", ".upkeep-baseline.json"]);
    let files: Vec<(&str, &str)> = new
        .iter()
        .map(|f| (f["file"].as_str().unwrap(), f["pin"].as_str().unwrap()))
        .collect();
    assert_eq!(
        files,
        [
            ("stacks/a/main.tf", "ghcr.io/gethomepage/homepage-2"),
            ("stacks/b/main.tf", "docker.io/x/app")
        ]
    );
    assert_eq!(code, 1, "new error findings fail the hook");

    // Files given alone (as pre-commit passes them) say nothing about the other files'
    // entries: none is "no longer found".
    let human = lint(
        repo.path(),
        &["stacks/b/main.tf", "--baseline", ".upkeep-baseline.json"],
    );
    assert!(
        !human.stdout.contains("no longer found"),
        "{}",
        human.stdout
    );

    // Fixing the known finding is reported, so the baseline can shrink.
    std::fs::write(&file, deployment("          image = \"x/app:1.0\"")).unwrap();
    let human = lint(
        repo.path(),
        &["stacks/a", "--baseline", ".upkeep-baseline.json"],
    );
    assert!(
        human.stdout.contains("1 no longer found"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_baseline_matches_the_files_pre_commit_passes_and_any_folder() {
    let repo = git_repo(&[
        (
            "stacks/a/main.tf",
            &deployment("          image = \"ghcr.io/gethomepage/homepage:latest\""),
        ),
        ("stacks/a/variables.tf", "variable \"unused\" {}\n"),
    ]);
    let output = upkeep(repo.path())
        .args(["lint", ".", "--write-baseline", "baseline.json"])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let baseline = repo.path().join("baseline.json");
    let baseline = baseline.to_str().unwrap();
    for (cwd, path) in [
        ("", "stacks/a/main.tf"),
        ("", "stacks"),
        ("stacks", "a/main.tf"),
        ("stacks/a", "."),
    ] {
        let (code, new) = findings(&repo.path().join(cwd), &[path, "--baseline", baseline]);
        assert_eq!((code, new.len()), (0, 0), "lint {path} in {cwd:?}: {new:?}");
    }
}

#[test]
fn a_baseline_that_cannot_be_read_stops_lint_with_its_place() {
    let repo = git_repo(&[(
        "stacks/a/main.tf",
        &deployment("          image = \"x/app:1.0\""),
    )]);
    std::fs::write(
        repo.path().join("baseline.json"),
        "{\"findings\": [\n  {\"rule\": 3}\n]}\n",
    )
    .unwrap();
    let output = upkeep(repo.path())
        .args(["lint", "--baseline", "baseline.json"])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("baseline.json:2:"), "{stderr}");
    let missing = upkeep(repo.path())
        .args(["lint", "--baseline", "nowhere.json"])
        .env_remove("UPKEEP_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        missing.status.code(),
        Some(2),
        "a missing baseline is an error, not silence"
    );
    // A device is refused before anything is read (it used to be read until memory ran out).
    let device = upkeep(repo.path())
        .args(["lint", "--baseline", "/dev/zero"])
        .env_remove("UPKEEP_CONFIG")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(device.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&device.stderr);
    assert!(
        stderr.contains("cannot read the baseline /dev/zero"),
        "{stderr}"
    );
}
