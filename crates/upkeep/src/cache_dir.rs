//! Where upkeep keeps its response caches.

use std::path::PathBuf;

/// `$XDG_CACHE_HOME/upkeep/<part>`, else `~/.cache/upkeep/<part>`; `None` without a home.
pub fn default_cache_dir(part: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("upkeep").join(part))
}
