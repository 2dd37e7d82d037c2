//! Whether an upgrade runs database migrations, read from the release notes it crosses. A
//! version that migrated the schema often cannot run the old one again (a revert crash-loops
//! on `UnknownPrimaryKey`): such a DB-backed upgrade is held rather than blindly reverted.

use std::sync::LazyLock;
use upkeep_notes::Release;

/// Phrases that say the database schema changes.
static MIGRATION: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\b(?:(?:database|db|schema|sql)\s+migrations?|migrations?\s+(?:of|to|on|for)\s+the\s+(?:database|db|schema)|migrat(?:e|es|ed|ing)\s+the\s+(?:database|db|schema)|schema\s+(?:change|changes|update|updates|upgrade|migration)|run\s+migrations|migrations\s+(?:will\s+)?run)\b",
    )
    .expect("valid regex")
});

/// The versions among `releases` whose notes mention database or schema migrations.
pub fn releases_with_migrations(releases: &[Release]) -> Vec<String> {
    releases
        .iter()
        .filter(|release| MIGRATION.is_match(&release.notes))
        .map(|release| release.version.as_str().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::MIGRATION;

    #[test]
    fn migration_phrases_are_found_and_lookalikes_are_not() {
        for text in [
            "This release contains database migrations; back up first.",
            "DB migration for the new asset table",
            "Schema changes: the `albums` table gains an index",
            "The server will run migrations on startup",
            "We migrated the database to VectorChord",
        ] {
            assert!(MIGRATION.is_match(text), "{text}");
        }
        for text in [
            "See the migration guide for the new config format",
            "Migrating from v1? Read the docs.",
            "Fixed a crash in the photo migration tool UI",
        ] {
            assert!(!MIGRATION.is_match(text), "{text}");
        }
    }
}
