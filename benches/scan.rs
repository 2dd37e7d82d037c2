//! Criterion benchmarks of `scan` and `set` on corpora made by replicating `fixtures/homelab`.
//!
//! - `scan/4mb-repo`: about 400 files / 4 MB, all cores (the whole-repo target).
//! - `scan/4mb-repo-one-core`: the same on one thread (the throughput target).
//! - `set/4mb-repo`: plan, check and stage a move of one image across the repo (nothing written).
//! - `scan/400mb-repo`, `set/400mb-repo`: 100 × the 4 MB repo, about 40,000 files (1,300 copies
//!   of the image `set` moves); only with `UPKEEP_BENCH_LARGE=1`.
//!
//! The corpora are written once under `target/bench-corpus/` and kept, so the whole-process
//! numbers (`upkeep scan target/bench-corpus/4mb`) can be measured on the same input.

#![allow(clippy::print_stderr)] // a benchmark reports the corpus it built

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::{Path, PathBuf};
use upkeep_pins::{EditPlan, ScanOptions, SetRequest, plan_set, scan};

/// Fixture files, relative path and content.
fn fixture_files() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/homelab/stacks");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(&root).expect("under root").to_path_buf();
                files.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    files.sort();
    files
}

/// Writes `copies` copies of every fixture stack (each `.tf` file's content repeated
/// `repeat` times, as real stacks are larger than the fixtures) and returns (dir, bytes, files).
fn corpus(name: &str, copies: usize, repeat: usize) -> (PathBuf, u64, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/bench-corpus")
        .join(name);
    let files = fixture_files();
    let marker = dir.join(".complete");
    let mut bytes = 0u64;
    let mut count = 0usize;
    let fresh = !marker.exists();
    for copy in 0..copies {
        for (rel, content) in &files {
            let mut parts = rel.components();
            let stack = parts.next().expect("stack").as_os_str().to_string_lossy();
            let target = dir
                .join("stacks")
                .join(format!("{stack}-{copy:03}"))
                .join(parts.as_path());
            let content = if rel.extension().is_some_and(|e| e == "tf") {
                repeated(content, repeat)
            } else {
                content.clone()
            };
            bytes += content.len() as u64;
            count += 1;
            if fresh {
                std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
                std::fs::write(&target, &content).expect("write corpus");
            }
        }
    }
    std::fs::write(marker, b"").expect("marker");
    (dir, bytes, count)
}

/// `content` `times` times over, as one valid file: a byte order mark only at the start, and a
/// newline between copies when the file has no final newline.
fn repeated(content: &[u8], times: usize) -> Vec<u8> {
    let body = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let mut out = content.to_vec();
    for _ in 1..times {
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(body);
    }
    out
}

fn bench_scan(c: &mut Criterion) {
    let (dir, bytes, files) = corpus("4mb", 13, 16);
    eprintln!(
        "4 MB corpus: {files} files, {bytes} bytes at {}",
        dir.display()
    );
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(20);
    group.bench_function("4mb-repo", |b| {
        b.iter(|| scan(&dir, &ScanOptions::default()).expect("scan"))
    });
    let one_core = ScanOptions {
        threads: Some(1),
        ..ScanOptions::default()
    };
    group.bench_function("4mb-repo-one-core", |b| {
        b.iter(|| scan(&dir, &one_core).expect("scan"))
    });
    if std::env::var_os("UPKEEP_BENCH_LARGE").is_some() {
        let (large, bytes, files) = corpus("400mb", 1300, 16);
        eprintln!("400 MB corpus: {files} files, {bytes} bytes");
        group.throughput(Throughput::Bytes(bytes));
        group.sample_size(10);
        group.bench_function("400mb-repo", |b| {
            b.iter(|| scan(&large, &ScanOptions::default()).expect("scan"))
        });
    }
    group.finish();
}

fn bench_set(c: &mut Criterion) {
    let (dir, bytes, _) = corpus("4mb", 13, 16);
    let report = scan(&dir, &ScanOptions::default()).expect("scan");
    let request = SetRequest {
        name: "vaultwarden/server",
        version: "1.36.0",
        from: None,
        kind: None,
    };
    let mut group = c.benchmark_group("set");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(20);
    group.bench_function("4mb-repo", |b| {
        b.iter(|| {
            let plan = plan_set(&dir, &report, &request).expect("plan");
            EditPlan::new(&dir, &plan.edits()).expect("checked edits")
        })
    });
    if std::env::var_os("UPKEEP_BENCH_LARGE").is_some() {
        let (large, bytes, _) = corpus("400mb", 1300, 16);
        let report = scan(&large, &ScanOptions::default()).expect("scan");
        group.throughput(Throughput::Bytes(bytes));
        group.sample_size(10);
        group.bench_function("400mb-repo", |b| {
            b.iter(|| {
                let plan = plan_set(&large, &report, &request).expect("plan");
                EditPlan::new(&large, &plan.edits()).expect("checked edits")
            })
        });
    }
    group.finish();
}

/// `set/apply`: writing a checked move of one image across the 13-stack corpus (every file
/// staged, synced and renamed into place), back and forth between two versions.
fn bench_apply(c: &mut Criterion) {
    let (dir, _, _) = corpus("apply", 13, 1);
    let plan_to = |version: &str| {
        let report = scan(&dir, &ScanOptions::default()).expect("scan");
        let request = SetRequest {
            name: "vaultwarden/server",
            version,
            from: None,
            kind: None,
        };
        let plan = plan_set(&dir, &report, &request).expect("plan");
        EditPlan::new(&dir, &plan.edits()).expect("checked edits")
    };
    plan_to("1.36.0").apply().expect("write");
    let forth = plan_to("1.36.1");
    forth.apply().expect("write");
    let back = plan_to("1.36.0");
    back.apply().expect("write");
    eprintln!("apply: {} files per write", forth.changes().len());
    let mut group = c.benchmark_group("set");
    group.sample_size(20);
    let mut toggle = false;
    group.bench_function("apply-13-stacks", |b| {
        b.iter(|| {
            toggle = !toggle;
            if toggle { &forth } else { &back }.apply().expect("write")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_scan, bench_set, bench_apply);
criterion_main!(benches);
