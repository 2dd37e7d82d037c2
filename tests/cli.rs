//! End-to-end tests of the `upkeep` binary on a copy of the fixture repository.

mod common;

use common::{fixture_copy, pin_at, read, scan_json, upkeep};
use std::path::Path;

/// One pin of each kind and shape: where `scan` must find it and what `set` must write.
struct Case {
    what: &'static str,
    kind: &'static str,
    name: &'static str,
    file: &'static str,
    line: u64,
    column: u64,
    old: &'static str,
    target: &'static str,
    written: &'static str,
    /// Extra arguments for `set`.
    args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        what: "hardcoded image",
        kind: "image",
        name: "vaultwarden/server",
        file: "stacks/vaultwarden/main.tf",
        line: 45,
        column: 39,
        old: "1.35.4",
        target: "1.36.0",
        written: "1.36.0",
        args: &[],
    },
    Case {
        what: "init_container image",
        kind: "image",
        name: "docker.io/library/busybox",
        file: "stacks/vaultwarden/main.tf",
        line: 39,
        column: 30,
        old: "1.36.1",
        target: "1.37.0",
        written: "1.37.0",
        args: &[],
    },
    Case {
        what: "cron job image with variant suffix",
        kind: "image",
        name: "postgres",
        file: "stacks/vaultwarden/main.tf",
        line: 139,
        column: 35,
        old: "16-alpine",
        target: "17-alpine",
        written: "17-alpine",
        args: &["--from", "16-alpine"],
    },
    Case {
        what: "image via variable in variables.tf",
        kind: "image",
        name: "ghcr.io/immich-app/immich-server",
        file: "stacks/immich/variables.tf",
        line: 4,
        column: 18,
        old: "v2.7.4",
        target: "v2.8.0",
        written: "v2.8.0",
        args: &[],
    },
    Case {
        what: "image via local",
        kind: "image",
        name: "pihole/pihole",
        file: "stacks/pihole/main.tf",
        line: 2,
        column: 17,
        old: "2025.03.0",
        target: "2025.04.0",
        written: "2025.04.0",
        args: &[],
    },
    Case {
        what: "image via *.auto.tfvars",
        kind: "image",
        name: "docker.n8n.io/n8nio/n8n",
        file: "stacks/n8n/versions.auto.tfvars",
        line: 2,
        column: 16,
        old: "1.72.1",
        target: "1.73.0",
        written: "1.73.0",
        args: &[],
    },
    Case {
        what: "image via terragrunt inputs",
        kind: "image",
        name: "ghcr.io/paperless-ngx/paperless-ngx",
        file: "stacks/paperless/terragrunt.hcl",
        line: 6,
        column: 24,
        old: "2.14.7",
        target: "2.15.0",
        written: "2.15.0",
        args: &[],
    },
    Case {
        what: "image with registry port",
        kind: "image",
        name: "10.0.20.10:5000/infra/restic-backup",
        file: "stacks/backup/main.tf",
        line: 20,
        column: 60,
        old: "2026.2.4-patch3",
        target: "2026.3.0",
        written: "2026.3.0",
        args: &[],
    },
    Case {
        what: "kubernetes_manifest image",
        kind: "image",
        name: "quay.io/prometheus/blackbox-exporter",
        file: "stacks/monitoring/main.tf",
        line: 23,
        column: 61,
        old: "v0.25.0",
        target: "v0.26.0",
        written: "v0.26.0",
        args: &[],
    },
    Case {
        what: "four-part version",
        kind: "image",
        name: "ghcr.io/esanchezm/prometheus-qbittorrent-exporter",
        file: "stacks/media/main.tf",
        line: 44,
        column: 70,
        old: "v1.0.35.0",
        target: "v1.0.36.0",
        written: "v1.0.36.0",
        args: &[],
    },
    Case {
        what: "image in a CRLF file with a BOM",
        kind: "image",
        name: "gitea/gitea",
        file: "stacks/gitea/main.tf",
        line: 18,
        column: 32,
        old: "1.22.6-rootless",
        target: "1.23.0-rootless",
        written: "1.23.0-rootless",
        args: &[],
    },
    Case {
        what: "helm_release chart version",
        kind: "helm_chart",
        name: "grafana",
        file: "stacks/grafana/main.tf",
        line: 12,
        column: 17,
        old: "8.5.1",
        target: "8.6.0",
        written: "8.6.0",
        args: &[],
    },
    Case {
        what: "helm chart version via variable",
        kind: "helm_chart",
        name: "https://grafana.github.io/helm-charts/loki",
        file: "stacks/grafana/main.tf",
        line: 27,
        column: 14,
        old: "6.16.0",
        target: "6.17.1",
        written: "6.17.1",
        args: &[],
    },
    Case {
        what: "provider pre-release version",
        kind: "provider",
        name: "telmate/proxmox",
        file: "stacks/platform/versions.tf",
        line: 16,
        column: 18,
        old: "3.0.2-rc07",
        target: "3.0.2-rc08",
        written: "3.0.2-rc08",
        args: &[],
    },
    Case {
        what: "provider ~> constraint",
        kind: "provider",
        name: "hashicorp/kubernetes",
        file: "stacks/platform/versions.tf",
        line: 8,
        column: 21,
        old: "2.35",
        target: "2.36",
        written: "2.36",
        args: &[],
    },
    Case {
        what: "registry module version",
        kind: "module",
        name: "bpg/virtual-machine/proxmox",
        file: "stacks/platform/nodes.tf",
        line: 3,
        column: 14,
        old: "0.9.1",
        target: "0.10.0",
        written: "0.10.0",
        args: &[],
    },
    Case {
        what: "git module ?ref=",
        kind: "module",
        name: "github.com/example-homelab/terraform-dns-records",
        file: "stacks/platform/nodes.tf",
        line: 13,
        column: 97,
        old: "v1.4.2",
        target: "v1.5.0",
        written: "v1.5.0",
        args: &[],
    },
    Case {
        what: "helm set block",
        kind: "helm_set",
        name: "ghcr.io/goauthentik/server",
        file: "stacks/authentik/main.tf",
        line: 26,
        column: 14,
        old: "2025.10.1",
        target: "2025.10.2",
        written: "2025.10.2",
        args: &[],
    },
    Case {
        what: "helm yamlencode values",
        kind: "helm_set",
        name: "bitnami/redis",
        file: "stacks/authentik/main.tf",
        line: 40,
        column: 23,
        old: "7.4.2-debian-12-r6",
        target: "7.4.3-debian-12-r0",
        written: "7.4.3-debian-12-r0",
        args: &[],
    },
    Case {
        what: "values.yaml plain tag",
        kind: "values_image",
        name: "docker.io/grafana/grafana",
        file: "stacks/grafana/values.yaml",
        line: 5,
        column: 8,
        old: "11.3.1",
        target: "11.4.0",
        written: "11.4.0",
        args: &[],
    },
    Case {
        what: "values.yaml single-quoted tag",
        kind: "values_image",
        name: "quay.io/kiwigrid/k8s-sidecar",
        file: "stacks/grafana/values.yaml",
        line: 11,
        column: 11,
        old: "1.28.0",
        target: "1.29.0",
        written: "1.29.0",
        args: &[],
    },
    Case {
        what: ".tpl template literal tag",
        kind: "values_image",
        name: "woodpeckerci/woodpecker-server",
        file: "stacks/woodpecker/values.yaml.tpl",
        line: 7,
        column: 11,
        old: "v3.14.0",
        target: "v3.15.0",
        written: "v3.15.0",
        args: &[],
    },
    Case {
        what: ".tpl tag via templatefile variable",
        kind: "values_image",
        name: "woodpeckerci/woodpecker-agent",
        file: "stacks/woodpecker/variables.tf",
        line: 3,
        column: 14,
        old: "v3.14.0",
        target: "v3.15.0",
        written: "v3.15.0",
        args: &[],
    },
];

/// The byte offset of a 1-based line and character column.
fn offset(text: &str, line: u64, column: u64) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line as usize - 1)
        .map(str::len)
        .sum();
    let (mut base, mut rest) = (start, &text[start..]);
    if start == 0
        && let Some(after_bom) = rest.strip_prefix('\u{feff}')
    {
        (base, rest) = (3, after_bom);
    }
    base + rest
        .char_indices()
        .nth(column as usize - 1)
        .map_or(0, |(i, _)| i)
}

/// Every file under `dir`, relative, with its bytes.
fn snapshot_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_pin_kind_is_found_rewritten_and_dry_run_writes_nothing() {
    for case in CASES {
        let repo = fixture_copy();
        let dir = repo.path();
        let what = case.what;

        let report = scan_json(dir);
        let pin =
            pin_at(&report, case.kind, case.file, case.line, case.column).unwrap_or_else(|| {
                panic!(
                    "{what}: no {} pin at {}:{}:{}",
                    case.kind, case.file, case.line, case.column
                )
            });
        assert_eq!(pin["version"], case.old, "{what}: scanned version");
        assert_eq!(pin["status"], "pinned", "{what}: status");

        let before = snapshot_tree(dir);
        let kind = case.kind;
        let dry = upkeep(dir)
            .args(["set", case.name, case.target, "--dry-run", "--kind", kind])
            .args(case.args)
            .output()
            .unwrap();
        assert_eq!(
            dry.status.code(),
            Some(0),
            "{what}: dry run exit, stderr: {}",
            String::from_utf8_lossy(&dry.stderr)
        );
        let stdout = String::from_utf8_lossy(&dry.stdout);
        assert!(
            stdout.contains(&format!("+++ b/{}", case.file)),
            "{what}: dry run prints a diff:\n{stdout}"
        );
        assert!(
            stdout.contains(case.written),
            "{what}: diff shows the new version:\n{stdout}"
        );
        assert_eq!(
            snapshot_tree(dir),
            before,
            "{what}: --dry-run wrote something"
        );

        let set = upkeep(dir)
            .args(["set", case.name, case.target, "--kind", kind])
            .args(case.args)
            .output()
            .unwrap();
        assert_eq!(
            set.status.code(),
            Some(0),
            "{what}: set exit, stderr: {}",
            String::from_utf8_lossy(&set.stderr)
        );

        let original = String::from_utf8(read(&common::fixtures(), case.file)).unwrap();
        let at = offset(&original, case.line, case.column);
        let expected = format!(
            "{}{}{}",
            &original[..at],
            case.written,
            &original[at + case.old.len()..]
        );
        assert_eq!(
            String::from_utf8(read(dir, case.file)).unwrap(),
            expected,
            "{what}: only the token changed"
        );
        let after = snapshot_tree(dir);
        let changed: Vec<&String> = after
            .iter()
            .zip(&before)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| &a.0)
            .collect();
        assert_eq!(changed, vec![case.file], "{what}: files changed");

        let report = scan_json(dir);
        let pin =
            pin_at(&report, case.kind, case.file, case.line, case.column).expect("pin still there");
        assert_eq!(
            pin["version"], case.written,
            "{what}: rescan reads the new version"
        );
    }
}

#[test]
fn offset_helper_counts_characters_after_a_bom() {
    assert_eq!(offset("\u{feff}ab\ncd", 1, 2), 4);
    assert_eq!(offset("ab\ncd", 2, 2), 4);
}

#[test]
fn one_variable_feeding_two_images_is_one_pin_with_two_users() {
    let report = scan_json(&common::fixtures());
    let pin = pin_at(&report, "image", "stacks/immich/variables.tf", 4, 18).expect("immich pin");
    assert_eq!(pin["via"], "var.immich_version");
    let users: Vec<&str> = pin["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["resolved"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        [
            "ghcr.io/immich-app/immich-server:v2.7.4",
            "ghcr.io/immich-app/immich-machine-learning:v2.7.4-cuda"
        ]
    );
}

#[test]
fn set_on_one_image_says_which_other_images_move_with_it() {
    let repo = fixture_copy();
    let output = upkeep(repo.path())
        .args([
            "set",
            "ghcr.io/immich-app/immich-machine-learning",
            "v2.8.0",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("also moves: ghcr.io/immich-app/immich-server:v2.7.4"),
        "{stdout}"
    );
    let vars = String::from_utf8(read(repo.path(), "stacks/immich/variables.tf")).unwrap();
    assert!(vars.contains(r#"default     = "v2.8.0""#), "{vars}");
}

#[test]
fn equivalent_image_spellings_select_the_same_pin() {
    for name in [
        "busybox",
        "docker.io/library/busybox",
        "index.docker.io/library/busybox",
        "docker.io/busybox",
    ] {
        let repo = fixture_copy();
        let output = upkeep(repo.path())
            .args(["set", name, "1.37.0", "--dry-run"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{name}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("1.36.1 -> 1.37.0"),
            "{name}"
        );
    }
}

#[test]
fn set_with_from_moves_only_pins_at_that_version() {
    let repo = fixture_copy();
    let output = upkeep(repo.path())
        .args(["set", "postgres", "17", "--from", "16-alpine"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("stacks/dbaas/main.tf:20:47: skipped docker.io/library/postgres: at 16.6-alpine, not 16-alpine"), "{stdout}");
    assert_eq!(
        read(repo.path(), "stacks/dbaas/main.tf"),
        read(&common::fixtures(), "stacks/dbaas/main.tf")
    );
}

#[test]
fn set_exits_1_when_nothing_matches() {
    let repo = fixture_copy();
    let output = upkeep(repo.path())
        .args(["set", "example/not-here", "1.0.0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("no pin of `example/not-here` found"));
}

#[test]
fn set_exits_1_when_already_at_the_version() {
    let repo = fixture_copy();
    let output = upkeep(repo.path())
        .args(["set", "vaultwarden/server", "1.35.4"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("already at 1.35.4"));
}

#[test]
fn latest_untagged_and_unresolved_pins_are_reported_never_bumped() {
    let report = scan_json(&common::fixtures());
    let status = |file: &str, line: u64| {
        report["pins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["file"] == file && p["line"] == line)
            .map(|p| p["status"].clone())
    };
    assert_eq!(status("stacks/dashboard/main.tf", 18).unwrap(), "latest");
    assert_eq!(
        status("stacks/dashboard/main.tf", 22).unwrap(),
        "digest_only"
    );
    assert_eq!(status("stacks/backup/main.tf", 25).unwrap(), "untagged");
    assert_eq!(status("stacks/ollama/main.tf", 43).unwrap(), "unresolved");
    assert_eq!(status("stacks/platform/versions.tf", 20).unwrap(), "range");

    let repo = fixture_copy();
    let output = upkeep(repo.path())
        .args(["set", "ghcr.io/gethomepage/homepage", "v1.0.0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("skipped ghcr.io/gethomepage/homepage: latest pin")
    );
    assert_eq!(
        read(repo.path(), "stacks/dashboard/main.tf"),
        read(&common::fixtures(), "stacks/dashboard/main.tf")
    );
}

#[test]
fn commented_out_images_are_not_pins() {
    let report = scan_json(&common::fixtures());
    let old = report["pins"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["version"] == "1.32.7");
    assert!(
        !old,
        "the commented-out vaultwarden 1.32.7 line was reported"
    );
}

#[test]
fn lifecycle_ignore_changes_and_stale_digests_are_flagged() {
    let report = scan_json(&common::fixtures());
    let ha = pin_at(&report, "image", "stacks/home-assistant/main.tf", 19, 58)
        .expect("home assistant pin");
    assert_eq!(ha["ignored_by_terraform"], true);
    let valkey = report["pins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "docker.io/valkey/valkey")
        .unwrap();
    assert!(valkey["digest"].as_str().unwrap().starts_with("sha256:"));

    let repo = fixture_copy();
    let output = upkeep(repo.path())
        .args(["set", "valkey/valkey", "8.1.2-alpine"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("8.1.1-alpine -> 8.1.2-alpine"), "{stdout}");
    assert!(
        stdout.contains("digest is pinned next to the tag and is now stale"),
        "{stdout}"
    );
}

#[test]
fn tfvars_override_is_edited_and_the_shadowed_default_reported() {
    let report = scan_json(&common::fixtures());
    let pin = pin_at(&report, "image", "stacks/nextcloud/terraform.tfvars", 1, 18)
        .expect("nextcloud pin");
    assert_eq!(pin["shadows"][0]["file"], "stacks/nextcloud/main.tf");
    assert_eq!(pin["shadows"][0]["line"], 3);
    assert_eq!(pin["users"].as_array().unwrap().len(), 2);
}

#[test]
fn set_refuses_to_touch_anything_when_a_file_that_may_hold_the_name_does_not_parse() {
    let repo = fixture_copy();
    common::add_broken_stack(repo.path());
    let before = snapshot_tree(repo.path());
    let output = upkeep(repo.path())
        .args(["set", "louislam/uptime-kuma", "2.0.0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("stacks/uptime-kuma/main.tf:7:8"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(snapshot_tree(repo.path()), before);
}

#[test]
fn set_refuses_a_target_that_is_not_a_version() {
    let repo = fixture_copy();
    for bad in ["1.0\"", "${var.x}", "latest", ""] {
        let output = upkeep(repo.path())
            .args(["set", "vaultwarden/server", bad])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn set_json_output_lists_changes() {
    let repo = fixture_copy();
    let output = upkeep(repo.path())
        .args(["set", "pihole/pihole", "2025.04.0", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["written"], true);
    assert_eq!(json["changes"][0]["file"], "stacks/pihole/main.tf");
    assert_eq!(json["changes"][0]["old"], "2025.03.0");
    assert_eq!(json["changes"][0]["new"], "2025.04.0");
    assert_eq!(json["changes"][0]["via"], "local.pihole_tag");
}

#[test]
fn scan_lists_parse_errors_with_location_and_goes_on() {
    let repo = fixture_copy();
    common::add_broken_stack(repo.path());
    let report = scan_json(repo.path());
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["file"], "stacks/uptime-kuma/main.tf");
    assert_eq!(
        (errors[0]["line"].as_u64(), errors[0]["column"].as_u64()),
        (Some(7), Some(8))
    );
    assert!(report["pins"].as_array().unwrap().len() > 40);
    let status = upkeep(repo.path()).args(["scan"]).output().unwrap().status;
    assert_eq!(status.code(), Some(1), "parse errors are findings");
}

#[test]
fn the_fixture_repository_scans_clean_as_the_readme_promises() {
    let report = scan_json(&common::fixtures());
    assert_eq!(report["errors"], serde_json::json!([]));
    let status = upkeep(&common::fixtures())
        .arg("scan")
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(0), "the README's first command exits 0");
}

/// A small repo with one healthy file and one problem file.
fn repo_with(name: &str, content: &[u8]) -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("stacks/app")).unwrap();
    std::fs::write(
        repo.path().join("stacks/app/main.tf"),
        "resource \"x\" \"y\" {\n  image = \"nginx:1.27.3\"\n}\n",
    )
    .unwrap();
    std::fs::write(repo.path().join(name), content).unwrap();
    repo
}

fn errors_of(dir: &Path) -> Vec<(String, u64, u64, String)> {
    scan_json(dir)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (
                text("file"),
                e["line"].as_u64().unwrap(),
                e["column"].as_u64().unwrap(),
                text("kind"),
            )
        })
        .collect()
}

#[test]
fn invalid_utf8_is_an_error_at_the_first_bad_byte() {
    let repo = repo_with("stacks/app/bad.tf", b"locals {\n  x = \"caf\xe9\"\n}\n");
    assert_eq!(
        errors_of(repo.path()),
        [("stacks/app/bad.tf".to_owned(), 2, 11, "not_utf8".to_owned())]
    );
    assert_eq!(scan_json(repo.path())["pins"].as_array().unwrap().len(), 1);
}

#[test]
fn a_50_mb_file_is_reported_not_read() {
    let repo = repo_with("stacks/app/huge.tf", b"");
    let file = std::fs::File::create(repo.path().join("stacks/app/huge.tf")).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let start = std::time::Instant::now();
    assert_eq!(
        errors_of(repo.path()),
        [(
            "stacks/app/huge.tf".to_owned(),
            1,
            1,
            "too_large".to_owned()
        )]
    );
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn an_empty_file_has_no_pins_and_no_error() {
    let repo = repo_with("stacks/app/empty.tf", b"");
    assert!(errors_of(repo.path()).is_empty());
    let output = upkeep(repo.path()).args(["scan"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn a_symlink_leading_outside_the_root_is_reported_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.tf"),
        "x = { image = \"evil:1.0\" }\n",
    )
    .unwrap();
    let repo = repo_with("stacks/app/ok.tf", b"");
    std::os::unix::fs::symlink(
        outside.path().join("secret.tf"),
        repo.path().join("stacks/app/linked.tf"),
    )
    .unwrap();
    assert_eq!(
        errors_of(repo.path()),
        [(
            "stacks/app/linked.tf".to_owned(),
            1,
            1,
            "outside_root".to_owned()
        )]
    );
    let pins = scan_json(repo.path())["pins"].clone();
    assert!(!pins.to_string().contains("evil"));
}

#[test]
fn deeply_nested_input_is_an_error_not_a_crash() {
    let deep = format!("x = {}", "[".repeat(10_000));
    let repo = repo_with("stacks/app/deep.tf", deep.as_bytes());
    let errors = errors_of(repo.path());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].3, "syntax");
}

#[test]
fn scanning_a_missing_path_exits_2() {
    let repo = tempfile::tempdir().unwrap();
    let output = upkeep(repo.path())
        .args(["scan", "does-not-exist"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does-not-exist"));
}

#[test]
fn scanning_one_file_resolves_its_module_but_lists_only_its_pins() {
    let dir = common::fixtures();
    let output = upkeep(&dir)
        .args(["scan", "stacks/immich/main.tf", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let pins = report["pins"].as_array().unwrap();
    assert!(
        pins.iter()
            .any(|p| p["via"] == "var.immich_version" && p["file"] == "stacks/immich/variables.tf")
    );
    assert!(
        pins.iter()
            .all(|p| p["file"].as_str().unwrap().starts_with("stacks/immich/"))
    );
}

#[test]
fn a_syntax_error_where_no_pin_can_be_is_reported_by_strict_and_stops_set() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("s")).unwrap();
    let text = "resource \"k\" \"a\" {\n  spec {\n    container { image = \"nginx:1.27.3\" }\n  }\n}\nresource \"kubernetes_service\" \"b\" {\n  x = = 1\n}\n";
    std::fs::write(repo.path().join("s/main.tf"), text).unwrap();

    // The default scan parses only what can hold pins: it finds the pin.
    let fast = scan_json(repo.path());
    assert_eq!(fast["pins"].as_array().unwrap().len(), 1);
    assert!(fast["errors"].as_array().unwrap().is_empty());

    // --strict parses every byte and reports the error instead.
    let strict = upkeep(repo.path())
        .args(["scan", "--strict", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));
    let strict: serde_json::Value = serde_json::from_slice(&strict.stdout).unwrap();
    assert_eq!(
        (
            strict["errors"][0]["line"].as_u64(),
            strict["errors"][0]["column"].as_u64()
        ),
        (Some(7), Some(7))
    );

    // set scans strictly: it will not edit a file that does not parse.
    let set = upkeep(repo.path())
        .args(["set", "nginx", "1.27.4"])
        .output()
        .unwrap();
    assert_eq!(set.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&set.stderr).contains("s/main.tf:7:7"));
    assert_eq!(
        std::fs::read_to_string(repo.path().join("s/main.tf")).unwrap(),
        text
    );
}
