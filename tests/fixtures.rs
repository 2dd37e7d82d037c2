//! Guarantees checked on every fixture: lossless round trips, all-or-nothing writes, and
//! reviewed snapshots of the scan output.

mod common;

use common::{fixture_copy, fixtures, upkeep};
use std::path::Path;
use upkeep_pins::{Edit, EditError, EditPlan, Pin, ScanOptions, scan};

fn scan_pins(root: &Path) -> Vec<Pin> {
    scan(root, &ScanOptions::default()).expect("scan").pins
}

fn read(root: &Path, file: &Path) -> String {
    std::fs::read_to_string(root.join(file)).expect("read")
}

#[test]
fn empty_edit_set_changes_nothing_and_scanning_writes_nothing() {
    let repo = fixture_copy();
    let before = scan_pins(repo.path());
    let plan = EditPlan::new(repo.path(), &[]).expect("empty plan");
    assert!(plan.changes().is_empty());
    plan.apply().expect("apply nothing");
    assert_eq!(scan_pins(repo.path()), before);
    for pin in &before {
        assert_eq!(read(repo.path(), &pin.file), read(&fixtures(), &pin.file));
    }
}

#[test]
fn every_pin_round_trips_and_only_its_token_bytes_change() {
    let repo = fixture_copy();
    let root = repo.path();
    let pins: Vec<Pin> = scan_pins(root)
        .into_iter()
        .filter(Pin::is_settable)
        .collect();
    assert!(
        pins.len() >= 40,
        "expected the fixtures to hold at least 40 settable pins, got {}",
        pins.len()
    );
    for pin in pins {
        let original = read(root, &pin.file);
        let raw = &original[pin.span.clone()];
        let version = pin.version.clone().expect("settable pin has a version");
        let temporary = "99.99.99-roundtrip";
        let forward = Edit {
            file: pin.file.clone(),
            span: pin.span.clone(),
            old: version.clone(),
            new: temporary.into(),
        };
        let plan = EditPlan::new(root, &[forward])
            .unwrap_or_else(|e| panic!("{}:{}: {e}", pin.file.display(), pin.line));
        let after = &plan.changes()[0].after;
        assert_eq!(
            &after[..pin.span.start],
            &original[..pin.span.start],
            "{}: bytes before the token",
            pin.file.display()
        );
        assert_eq!(
            &after[pin.span.start + temporary.len()..],
            &original[pin.span.end..],
            "{}: bytes after the token",
            pin.file.display()
        );
        plan.apply().expect("apply forward");

        let moved = pin.span.start..pin.span.start + temporary.len();
        let back = Edit {
            file: pin.file.clone(),
            span: moved,
            old: temporary.into(),
            new: version.clone(),
        };
        EditPlan::new(root, &[back])
            .expect("plan back")
            .apply()
            .expect("apply back");
        let restored = read(root, &pin.file);
        if raw == version {
            assert_eq!(
                restored,
                original,
                "{}:{}: set and back gives the original bytes",
                pin.file.display(),
                pin.line
            );
        } else {
            // An escaped token (`v0.107.\u0035\u0035`) comes back in plain form; nothing else moves.
            let expected = format!(
                "{}{version}{}",
                &original[..pin.span.start],
                &original[pin.span.end..]
            );
            assert_eq!(restored, expected, "{}:{}", pin.file.display(), pin.line);
        }
    }
}

#[test]
fn a_multi_file_edit_writes_all_files_or_none() {
    let repo = fixture_copy();
    let root = repo.path();
    let pins = scan_pins(root);
    let pick = |name: &str| {
        pins.iter()
            .find(|p| p.name == name && p.is_settable())
            .expect(name)
            .clone()
    };
    let (first, second) = (pick("vaultwarden/server"), pick("pihole/pihole"));
    let edit = |pin: &Pin| Edit {
        file: pin.file.clone(),
        span: pin.span.clone(),
        old: pin.version.clone().unwrap(),
        new: "9.9.9".into(),
    };
    let plan = EditPlan::new(root, &[edit(&first), edit(&second)]).expect("plan");
    assert_eq!(plan.changes().len(), 2);
    // Someone edits the second file after the plan was made: nothing may be written.
    let path = root.join(&second.file);
    let mut text = read(root, &second.file);
    text.push_str("\n# edited meanwhile\n");
    std::fs::write(&path, &text).unwrap();
    let error = plan
        .apply()
        .expect_err("a changed file must stop the write");
    assert!(matches!(error, EditError::Changed { .. }), "{error}");
    assert_eq!(
        read(root, &first.file),
        read(&fixtures(), &first.file),
        "the first file was written"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join(first.file.parent().unwrap()))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".upkeep-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn overlapping_and_stale_edits_are_refused() {
    let repo = fixture_copy();
    let root = repo.path();
    let pin = scan_pins(root)
        .into_iter()
        .find(|p| p.name == "vaultwarden/server")
        .unwrap();
    let edit = |span: std::ops::Range<usize>, old: &str| Edit {
        file: pin.file.clone(),
        span,
        old: old.into(),
        new: "2.0.0".into(),
    };
    let overlap = EditPlan::new(
        root,
        &[
            edit(pin.span.clone(), "1.35.4"),
            edit(pin.span.start + 1..pin.span.end, "35.4"),
        ],
    );
    assert!(matches!(overlap, Err(EditError::Overlap { .. })));
    let stale = EditPlan::new(root, &[edit(pin.span.clone(), "1.35.3")]);
    assert!(
        matches!(
            stale,
            Err(EditError::Stale {
                line: 45,
                column: 39,
                ..
            })
        ),
        "{stale:?}"
    );
}

#[test]
fn an_edit_that_would_break_the_file_is_refused() {
    let repo = fixture_copy();
    let root = repo.path();
    let pin = scan_pins(root)
        .into_iter()
        .find(|p| p.name == "vaultwarden/server")
        .unwrap();
    let broken = Edit {
        file: pin.file.clone(),
        span: pin.span.clone(),
        old: "1.35.4".into(),
        new: "1\"".into(),
    };
    assert!(matches!(
        EditPlan::new(root, &[broken]),
        Err(EditError::WouldBreak(_))
    ));
}

#[test]
fn scan_json_snapshot() {
    let output = upkeep(&fixtures())
        .args(["scan", "--format", "json"])
        .output()
        .unwrap();
    insta::assert_snapshot!("scan_json", String::from_utf8(output.stdout).unwrap());
}

#[test]
fn scan_table_snapshot() {
    let output = upkeep(&fixtures()).args(["scan"]).output().unwrap();
    insta::assert_snapshot!("scan_table", String::from_utf8(output.stdout).unwrap());
}
