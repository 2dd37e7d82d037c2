//! Crash recovery of the work tree: an edit that a crash interrupted is finished or undone,
//! and upkeep's temporary files removed, before anything reads or checks the tree.

use anyhow::Context;
use std::path::Path;

/// Finishes or undoes an edit that a crash interrupted under `root` and removes upkeep's
/// temporary files, before anything reads or checks the tree; says on standard error what it
/// did. Every command that writes the tree (set, bump, serve's jobs) runs it first.
pub fn tree(root: &Path) -> anyhow::Result<()> {
    let recovery = upkeep_pins::recover(root).with_context(|| {
        format!(
            "cannot finish or undo an interrupted edit under {}",
            root.display()
        )
    })?;
    if !recovery.completed.is_empty() {
        tracing::warn!(
            "finished an edit that was interrupted: {} file(s) now hold their new content",
            recovery.completed.len()
        );
    }
    if !recovery.undone.is_empty() {
        tracing::warn!(
            "undid {} edit(s) that were interrupted before any file changed",
            recovery.undone.len()
        );
    }
    for conflict in &recovery.conflicts {
        tracing::warn!("interrupted edit: {conflict}");
    }
    for file in &recovery.removed {
        tracing::info!("removed upkeep's temporary file {}", file.display());
    }
    Ok(())
}
