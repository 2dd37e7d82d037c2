//! The bench corpora, shared by the library and whole-process benches: `fixtures/homelab`
//! replicated under `target/bench-corpus/`, written once and kept.

#![allow(dead_code)] // each bench uses what it needs

use std::path::{Path, PathBuf};

/// Fixture files, relative path and content.
fn fixture_files() -> Vec<(PathBuf, Vec<u8>)> {
    let root = workspace().join("fixtures/homelab/stacks");
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
pub fn corpus(name: &str, copies: usize, repeat: usize) -> (PathBuf, u64, usize) {
    let dir = workspace().join("target/bench-corpus").join(name);
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

/// The repository root: the closest folder holding `fixtures/` (each bench runs with its own
/// package's manifest folder, the root's or a library's).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("fixtures/homelab").is_dir())
        .expect("the fixtures")
        .to_path_buf()
}
