//! Criterion benchmarks of `scan` and `set` on corpora made by replicating `fixtures/homelab`.
//!
//! - `scan/4mb-repo`: about 400 files / 4 MB, all cores (the whole-repo target).
//! - `scan/4mb-repo-one-core`: the same on one thread (the throughput target).
//! - `scan/4mb-repo-for-an-edit`: the scan `set` and `bump` plan on, strict for the name they
//!   move (`ScanOptions::strict_for`), and `scan/4mb-repo-strict`, which it replaces.
//! - `set/4mb-repo`: plan, check and stage a move of one image across the repo (nothing written).
//! - `scan/400mb-repo`, `set/400mb-repo`: 100 × the 4 MB repo, about 40,000 files (1,300 copies
//!   of the image `set` moves); only with `UPKEEP_BENCH_LARGE=1`.
//!
//! The corpora are written once under `target/bench-corpus/` and kept, so the whole-process
//! numbers (`upkeep scan target/bench-corpus/4mb`) can be measured on the same input.

#![allow(clippy::print_stderr)] // a benchmark reports the corpus it built

mod corpus;

use corpus::corpus;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use upkeep_pins::{EditPlan, ScanOptions, SetRequest, plan_set, scan};

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
    let for_an_edit = ScanOptions {
        strict_for: Some("vaultwarden/server".to_owned()),
        ..ScanOptions::default()
    };
    group.bench_function("4mb-repo-for-an-edit", |b| {
        b.iter(|| scan(&dir, &for_an_edit).expect("scan"))
    });
    let strict = ScanOptions {
        strict: true,
        ..ScanOptions::default()
    };
    group.bench_function("4mb-repo-strict", |b| {
        b.iter(|| scan(&dir, &strict).expect("scan"))
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
