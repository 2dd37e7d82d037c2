//! Where a finding is, said the way code scanning and baselines need it: relative to the
//! repository root, whatever folder lint was given or run from.

use std::path::{Component, Path, PathBuf};

/// The repository a lint run looks at: its root and the folder its findings' paths are
/// relative to (the `base` of the scan report).
#[derive(Debug, Clone)]
pub struct RepoRoot {
    /// The repository root, absolute: the nearest folder at or above the first path that
    /// holds `.git`; else the current directory when the paths lie in it; else the folder
    /// given.
    pub root: PathBuf,
    /// The scan report's folder, absolute.
    base: PathBuf,
}

impl RepoRoot {
    /// The root for findings whose paths are relative to `base`, found from `first` (the
    /// first path given to lint).
    pub fn find(base: &Path, first: &Path) -> RepoRoot {
        let absolute = |path: &Path| {
            std::fs::canonicalize(path)
                .or_else(|_| std::path::absolute(path))
                .unwrap_or_else(|_| path.to_owned())
        };
        let base = absolute(base);
        let first = absolute(first);
        let start = if first.is_dir() {
            first.as_path()
        } else {
            first.parent().unwrap_or(&first)
        };
        let cwd = std::env::current_dir()
            .ok()
            .map(|cwd| absolute(&cwd))
            .filter(|cwd| start.starts_with(cwd));
        let root = start
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .map(Path::to_path_buf)
            .or(cwd)
            .unwrap_or_else(|| base.clone());
        RepoRoot { root, base }
    }

    /// The path of a finding's `file` (relative to the report's folder) relative to the
    /// root, with `/` separators; `None` when it lies outside the root.
    pub fn relative(&self, file: &Path) -> Option<String> {
        let full = normalize(&self.base.join(file));
        let relative = full.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// A path given on the command line (relative to the current directory) relative to the
    /// root, `/`-separated (empty for the root itself); `None` when it lies outside.
    pub fn given(&self, path: &Path) -> Option<String> {
        let full = std::fs::canonicalize(path).ok()?;
        let relative = full.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// The path of `file` as lint's report shows it, made absolute.
    pub fn absolute(&self, file: &Path) -> PathBuf {
        normalize(&self.base.join(file))
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A path as the path part of a URI: each segment percent-encoded, `/` between them.
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char);
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A folder as a `file://` URI ending in `/`, as SARIF's `originalUriBaseIds` wants.
pub fn folder_uri(folder: &Path) -> String {
    let text = folder.to_string_lossy().replace('\\', "/");
    let text = if text.starts_with('/') {
        text
    } else {
        format!("/{text}")
    };
    let mut uri = format!("file://{}", uri_path(&text));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::{folder_uri, normalize, uri_path};
    use std::path::Path;

    #[test]
    fn paths_become_uris_with_reserved_bytes_escaped() {
        assert_eq!(uri_path("stacks/a b/main.tf"), "stacks/a%20b/main.tf");
        assert_eq!(uri_path("stacks/#1/ü.tf"), "stacks/%231/%C3%BC.tf");
        assert_eq!(folder_uri(Path::new("/work/infra")), "file:///work/infra/");
        assert_eq!(
            normalize(Path::new("/r/./stacks/../stacks/a")),
            Path::new("/r/stacks/a")
        );
    }
}
