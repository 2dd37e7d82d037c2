//! How much work the commands do, counted rather than timed: files opened (strace) and peak
//! memory (GNU time). The speed targets of issue 16 are criterion benchmarks and
//! `scripts/bench-vs-rg`; these tests pin the mechanisms behind them, which a count shows on a
//! busy machine as well as on an idle one.
//!
//! Without strace or GNU time a test says SKIPPED and passes, unless `UPKEEP_REQUIRE_STRACE` or
//! `UPKEEP_REQUIRE_GNU_TIME` says the tool must be there (CI sets both).

#![allow(clippy::print_stderr)] // a skipped test says why

mod common;

use std::path::Path;
use std::process::Command;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn upkeep_bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("upkeep")
}

/// Whether `tool --version`-like `probe` runs; when it does not, the test is skipped unless the
/// environment variable `require` is set.
fn available(tool: &str, probe: &[&str], require: &str) -> bool {
    let works = Command::new(tool)
        .args(probe)
        .output()
        .is_ok_and(|output| output.status.success());
    if !works {
        assert!(
            std::env::var_os(require).is_none(),
            "{tool} cannot run here, and {require} says it must"
        );
        eprintln!("SKIPPED: {tool} cannot run here");
    }
    works
}

/// The paths `upkeep args` opens, one per `openat`, as strace saw them.
fn opened_files(dir: &Path, args: &[&str]) -> Vec<String> {
    let log = tempfile::NamedTempFile::new().expect("log file");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,open", "-o"])
        .arg(log.path())
        .arg(upkeep_bin())
        .args(args)
        .current_dir(dir)
        .status()
        .expect("strace runs");
    assert!(status.code().is_some(), "upkeep was killed");
    let text = std::fs::read_to_string(log.path()).expect("strace log");
    text.lines()
        .filter_map(|line| line.split('"').nth(1).map(str::to_owned))
        .collect()
}

/// Three stacks: `a` and `b` hold the image `set` moves, `c` does not.
fn three_stacks() -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("temp dir");
    let stack = |image: &str| {
        format!(
            "resource \"kubernetes_deployment\" \"app\" {{\n  spec {{\n    container {{\n      image = \"{image}\"\n    }}\n  }}\n}}\n"
        )
    };
    write(
        repo.path(),
        "stacks/a/main.tf",
        &stack("vaultwarden/server:1.35.4"),
    );
    write(
        repo.path(),
        "stacks/b/main.tf",
        &stack("vaultwarden/server:1.35.4"),
    );
    write(
        repo.path(),
        "stacks/c/main.tf",
        &stack("grafana/grafana:11.0.0"),
    );
    write(
        repo.path(),
        "stacks/c/values/values.yaml",
        "image:\n  repository: grafana/loki\n  tag: 3.0.0\n",
    );
    repo
}

#[test]
fn set_rereads_only_the_module_folders_it_edited() {
    if !available("strace", &["-V"], "UPKEEP_REQUIRE_STRACE") {
        return;
    }
    let repo = three_stacks();
    let opened = opened_files(
        repo.path(),
        &["set", "vaultwarden/server", "1.36.0", "--path", "."],
    );
    let scanned = opened_files(repo.path(), &["scan", "."]);
    let times =
        |opened: &[String], file: &str| opened.iter().filter(|path| path.ends_with(file)).count();
    // The check after the edit reads only the stacks edited: a file elsewhere is read as often
    // as a scan reads it, once (a Terraform file by the walk, for its module sources; its
    // folder takes that text).
    assert_eq!(times(&scanned, "stacks/c/main.tf"), 1, "{scanned:#?}");
    assert_eq!(
        times(&scanned, "stacks/c/values/values.yaml"),
        1,
        "{scanned:#?}"
    );
    assert_eq!(times(&opened, "stacks/c/main.tf"), 1, "{opened:#?}");
    assert_eq!(
        times(&opened, "stacks/c/values/values.yaml"),
        1,
        "{opened:#?}"
    );
    assert!(times(&opened, "stacks/a/main.tf") >= 3, "{opened:#?}");
    assert!(times(&opened, "stacks/b/main.tf") >= 3, "{opened:#?}");
    let text = std::fs::read_to_string(repo.path().join("stacks/b/main.tf")).expect("read");
    assert!(text.contains("vaultwarden/server:1.36.0"), "{text}");
}

/// A tree of `files` Terraform files with 100 image pins each.
fn tree_of_pins(root: &Path, files: usize) {
    for file in 0..files {
        let mut text = String::new();
        for pin in 0..100 {
            text.push_str(&format!(
                "resource \"kubernetes_deployment\" \"app_{pin}\" {{\n  spec {{\n    container {{\n      image = \"registry.example.org/team-{file}/app-{pin}:1.{pin}.0\"\n    }}\n  }}\n}}\n"
            ));
        }
        write(root, &format!("stacks/s{file:04}/main.tf"), &text);
    }
}

/// Peak resident memory of `upkeep args` in KB, from GNU time.
fn peak_kb(dir: &Path, args: &[&str]) -> u64 {
    let report = tempfile::NamedTempFile::new().expect("report file");
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .arg(upkeep_bin())
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("time runs");
    assert!(status.code().is_some(), "upkeep was killed");
    let text = std::fs::read_to_string(report.path()).expect("time report");
    text.lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in {text:?}"))
}

/// `stacks` stacks of 20 calls each, with 40 arguments, of a module in another branch of the
/// tree (`../../modules/app`) and of one below the stack (`./parts`).
fn tree_of_module_calls(root: &Path, stacks: usize) {
    let args: String = (0..40)
        .map(|arg| format!("  setting_{arg} = \"x\"\n"))
        .collect();
    let variables: String = (0..40)
        .map(|arg| format!("variable \"setting_{arg}\" {{\n  default = \"d\"\n}}\n"))
        .collect();
    write(root, "modules/app/variables.tf", &variables);
    for stack in 0..stacks {
        let mut text = String::new();
        for call in 0..20 {
            let source = if call % 2 == 0 {
                "../../modules/app"
            } else {
                "./parts"
            };
            text.push_str(&format!(
                "module \"m{call}\" {{\n  source = \"{source}\"\n{args}}}\n"
            ));
        }
        write(root, &format!("stacks/s{stack:04}/main.tf"), &text);
        write(
            root,
            &format!("stacks/s{stack:04}/parts/variables.tf"),
            &variables,
        );
    }
}

/// Peak memory of `scan --format json` on a small and a large tree that `make` writes (given
/// the size), in KB; `None` (the test skips) without GNU time.
fn small_and_large_scan_kb(
    make: fn(&Path, usize),
    small: usize,
    large: usize,
) -> Option<(u64, u64)> {
    if !available(
        "/usr/bin/time",
        &["-f", "%M", "true"],
        "UPKEEP_REQUIRE_GNU_TIME",
    ) {
        return None;
    }
    let args = ["scan", "--format", "json", "."];
    let peak = |size| {
        let dir = tempfile::tempdir().expect("temp dir");
        make(dir.path(), size);
        peak_kb(dir.path(), &args)
    };
    Some((peak(small), peak(large)))
}

#[test]
fn scan_memory_stays_flat_as_the_module_calls_grow() {
    let Some((small_kb, large_kb)) = small_and_large_scan_kb(tree_of_module_calls, 5, 400) else {
        return;
    };
    // 7,900 more calls of 40 arguments: every call's argument names were kept to the end of
    // the scan (about 20 MB here); a module's calls are now dropped once it has read them.
    assert!(
        large_kb < small_kb + 8 * 1024,
        "100 calls: {small_kb} KB, 8,000 calls: {large_kb} KB"
    );
}

#[test]
fn scan_json_memory_stays_flat_as_the_pins_grow() {
    let Some((small_kb, large_kb)) = small_and_large_scan_kb(tree_of_pins, 10, 300) else {
        return;
    };
    // 29,000 more pins: at 1.6 KB each that was 45 MB more; streamed, a few MB at most.
    assert!(
        large_kb < small_kb + 8 * 1024,
        "1,000 pins: {small_kb} KB, 30,000 pins: {large_kb} KB"
    );
}

#[test]
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
fn the_binary_allocates_with_jemalloc_configured_as_the_repository_says() {
    // jemalloc prints its statistics, its compiled-in configuration first, at exit when asked.
    let output = Command::new(upkeep_bin())
        .args(["scan", "--format", "json", "."])
        .current_dir(common::fixtures())
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .expect("upkeep runs");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The configuration `.cargo/config.toml` compiles in.
    let config = std::fs::read_to_string(common::repo_root().join(".cargo/config.toml"))
        .expect(".cargo/config.toml");
    let conf = config
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once('=')?;
            (name.trim() == "JEMALLOC_SYS_WITH_MALLOC_CONF")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
        .expect("JEMALLOC_SYS_WITH_MALLOC_CONF in .cargo/config.toml");
    let wanted = format!("config.malloc_conf: \"{conf}\"");
    assert!(
        stderr.contains("jemalloc statistics") && stderr.contains(&wanted),
        "wanted {wanted} in:\n{}",
        stderr.chars().take(2000).collect::<String>()
    );
    // Pages freed go back within a tenth of a second: what keeps a scan of 50 copies of a
    // 155-stack repository within the memory glibc's malloc needs.
    assert!(
        stderr.contains("opt.dirty_decay_ms: 100"),
        "{}",
        stderr.chars().take(2000).collect::<String>()
    );
}
