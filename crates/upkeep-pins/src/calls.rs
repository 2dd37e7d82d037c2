//! Local module calls across the tree (`module "x" { source = "./factory" … }`): which
//! folders are called, and with which arguments. A module's variable that every caller sets
//! does not hold what runs; the callers' arguments do, and each caller reports those pins
//! where its argument is written.

use crate::fast_hash::{FastMap, FastSet};
use std::path::{Component, Path, PathBuf};

/// How many levels of local module calls a unit follows (`./outer` calling `./inner` is two).
pub(crate) const MAX_CALL_DEPTH: usize = 8;

/// How many module instances one unit evaluates at most; a tree of calls wider than this is
/// cut (its deeper pins are then reported by the modules themselves, at their defaults).
pub(crate) const MAX_INSTANCES: usize = 256;

/// For every folder called as a local module from a folder above it (`./factory`), the
/// arguments each call sets. A call from another branch of the tree (`../a/m`) is not kept:
/// it never counts (see [`CallIndex::take_external`]).
#[derive(Debug, Default)]
pub(crate) struct CallIndex {
    calls: FastMap<PathBuf, Vec<Vec<String>>>,
}

impl CallIndex {
    /// Records one call in folder `dir` (relative to the scanned root) of module `source`,
    /// setting the arguments `args`; only a call that can count is kept (and its names copied).
    pub(crate) fn add<'a>(
        &mut self,
        dir: &Path,
        source: &str,
        args: impl IntoIterator<Item = &'a str>,
    ) {
        if let Some(callee) = callee_dir(dir, source)
            && callee.starts_with(dir)
            && callee != dir
        {
            let args = args.into_iter().map(str::to_owned).collect();
            self.calls.entry(callee).or_default().push(args);
        }
    }

    /// The variables of the module in `dir` that every one of its callers in the folders
    /// above it sets (none when nothing there calls it), forgetting those calls: a module asks
    /// once, when every folder above it has reported, so what stays is the calls of modules
    /// not scanned yet (or not at all in this run: an ignored or missing folder, one left out
    /// of a `set`'s re-check). Callers elsewhere are not counted: whether they have been seen
    /// depends on the order of the scan.
    pub(crate) fn take_external(&mut self, dir: &Path) -> FastSet<String> {
        let calls = self.calls.remove(dir).unwrap_or_default();
        let Some((first, rest)) = calls.split_first() else {
            return FastSet::default();
        };
        first
            .iter()
            .filter(|name| rest.iter().all(|args| args.contains(name)))
            .cloned()
            .collect()
    }
}

/// The local module sources of a Terraform text that climb out of its folder
/// (`source = "../a/m"`), read lexically from its lines. A module called from another branch
/// of the tree must keep reporting its defaults: that caller may not set them. A line that
/// only looks like a call (a `source` attribute of another block) makes the answer cautious,
/// never wrong.
pub(crate) fn climbing_sources(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut sources = Vec::new();
    let mut done_to = 0;
    // Only the lines holding a `..` are looked at: a file is read at memchr's speed.
    for at in memchr::memmem::find_iter(bytes, b"..") {
        if at < done_to {
            continue;
        }
        let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        done_to = end;
        let source = text[start..end]
            .trim_start()
            .strip_prefix("source")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('"'))
            .and_then(|rest| rest.find('"').map(|close| &rest[..close]));
        if let Some(source) = source.filter(|s| s.starts_with('.') && s.contains("..")) {
            sources.push(source);
        }
    }
    sources
}

/// The folder a local module `source` written in folder `dir` names, relative to the scanned
/// root; `None` when it leads out of the root.
pub(crate) fn callee_dir(dir: &Path, source: &str) -> Option<PathBuf> {
    // Sized once: the folder never grows longer than the caller's folder and the source.
    let mut out = PathBuf::with_capacity(dir.as_os_str().len() + source.len() + 1);
    for component in dir.join(source.trim_end_matches('/')).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{CallIndex, callee_dir, climbing_sources};

    #[test]
    fn sources_that_climb_out_of_the_folder_are_found_by_their_lines() {
        let text = "module \"a\" {\n  source = \"../../modules/app\"\n}\nmodule \"b\" {\n  source=\"./factory\"\n}\nmodule \"c\" {\n  source = \"./x/../../y\" # odd\n}\nmodule \"d\" {\n  source = \"git::https://example.com/m.git?ref=v1..2\"\n}\n";
        assert_eq!(climbing_sources(text), ["../../modules/app", "./x/../../y"]);
        assert!(climbing_sources("source = \"../a\"").len() == 1);
        assert!(climbing_sources("no calls\n").is_empty());
    }
    use std::path::{Path, PathBuf};

    #[test]
    fn callee_folders_are_relative_to_the_root_and_never_leave_it() {
        let at = |dir: &str, source: &str| callee_dir(Path::new(dir), source);
        assert_eq!(
            at("stacks/budget", "./factory"),
            Some(PathBuf::from("stacks/budget/factory"))
        );
        assert_eq!(
            at("stacks/budget", "../../modules/app/"),
            Some(PathBuf::from("modules/app"))
        );
        assert_eq!(at("stacks", "../../outside"), None);
        assert_eq!(at("", "../x"), None);
    }

    #[test]
    fn a_variable_is_external_only_when_every_caller_sets_it() {
        let mut index = CallIndex::default();
        index.add(Path::new("a"), "./m", ["tag", "name"]);
        index.add(Path::new("a"), "./m", ["name"]);
        // A caller in another branch of the tree is not counted.
        index.add(Path::new("b"), "../a/m", ["other"]);
        assert!(index.take_external(Path::new("elsewhere")).is_empty());
        let external = index.take_external(Path::new("a/m"));
        assert_eq!(external, ["name".to_owned()].into_iter().collect());
        // Asked once: the calls are gone, and nothing else was kept.
        assert!(index.take_external(Path::new("a/m")).is_empty());
        assert!(index.calls.is_empty(), "{index:?}");
    }
}
