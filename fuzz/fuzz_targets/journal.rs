//! Journals are read back after a crash, so any bytes must be refused or read, never panic; a
//! journal that is read must read back the same once written again; and recovering a tree
//! with it must not panic nor touch a file outside the tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_ne!(upkeep_pins::check_journal(data), Ok(false));
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join(".git/upkeep")).expect("git dir");
    std::fs::write(root.join("main.tf"), "x = 1\n").expect("write file");
    let outside = dir.path().join("outside.tf");
    std::fs::write(&outside, "keep\n").expect("write file");
    // Paths in the input may name this tree: `@` stands for its root.
    let root_text = root.to_string_lossy().into_owned();
    let hex: String = root_text.bytes().map(|b| format!("{b:02x}")).collect();
    let text = String::from_utf8_lossy(data).replace('@', &hex);
    std::fs::write(root.join(".git/upkeep/journal-fuzz"), text).expect("write journal");
    let _ = upkeep_pins::recover(&root);
    assert_eq!(std::fs::read_to_string(&outside).expect("read"), "keep\n");
});
