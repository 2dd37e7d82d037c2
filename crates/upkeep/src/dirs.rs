//! Where upkeep keeps files of its own, by the XDG base directory rules.

use std::path::PathBuf;

/// `$XDG_CACHE_HOME/upkeep/<part>`, else `~/.cache/upkeep/<part>`; `None` without a home.
pub fn default_cache_dir(part: &str) -> Option<PathBuf> {
    xdg("XDG_CACHE_HOME", ".cache", part)
}

/// `$XDG_STATE_HOME/upkeep/<part>`, else `~/.local/state/upkeep/<part>`.
pub fn default_state_path(part: &str) -> Option<PathBuf> {
    xdg("XDG_STATE_HOME", ".local/state", part)
}

fn xdg(variable: &str, under_home: &str, part: &str) -> Option<PathBuf> {
    let base = std::env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(under_home)))?;
    Some(base.join("upkeep").join(part))
}
