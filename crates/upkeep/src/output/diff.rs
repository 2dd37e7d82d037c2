//! Unified diffs of planned file changes.

use similar::TextDiff;
use upkeep_pins::FileChange;

/// A unified diff (`--- a/file`, `+++ b/file`) of every change, three lines of context.
pub fn unified(changes: &[FileChange]) -> String {
    let mut out = String::new();
    for change in changes {
        let name = change.file.display().to_string().replace('\\', "/");
        let diff = TextDiff::from_lines(&change.before, &change.after);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string();
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
    out
}
