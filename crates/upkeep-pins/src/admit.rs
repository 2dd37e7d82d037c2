//! Which files upkeep reads: one decision, shared by every reader (scan, lint, set, plan,
//! verify, the `.gitignore` files of a walk, the config).
//!
//! A file under a root is read only if
//! 1. its path, every symbolic link resolved, stays inside the root: a link to
//!    `/proc/self/environ`, `/dev/zero` or `~/.ssh/id_ed25519` is refused;
//! 2. once open it is a regular file: fifos, devices, sockets and directories are refused, and
//!    opening one never blocks;
//! 3. it holds no more than the size limit, counted while reading (files of `/proc` say they
//!    are empty, and a regular file may grow while it is read).
//!
//! A refusal names the file and why, and never quotes what the file holds.

use crate::error::{ErrorKind, ScanError};
use crate::location::LineIndex;
use crate::mention;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The files under one root that upkeep may read.
#[derive(Debug, Clone)]
pub struct RepoFiles {
    root: PathBuf,
    canonical_root: PathBuf,
}

impl RepoFiles {
    /// The files under `root`, a directory.
    pub fn new(root: &Path) -> io::Result<RepoFiles> {
        let canonical_root = root.canonicalize()?;
        Ok(RepoFiles {
            root: root.to_path_buf(),
            canonical_root,
        })
    }

    /// The root, as given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root with every symbolic link resolved.
    pub fn canonical_root(&self) -> &Path {
        &self.canonical_root
    }

    /// Where `rel` (relative to the root) leads, every link resolved, if that stays inside the
    /// root.
    pub fn resolve(&self, rel: &Path) -> Result<PathBuf, ScanError> {
        let path = self.root.join(rel);
        let target = path.canonicalize().map_err(|error| {
            let linked = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            let message = if linked && error.kind() == io::ErrorKind::NotFound {
                "broken symbolic link; not read".to_owned()
            } else {
                format!("cannot read: {}", io_cause(&error))
            };
            ScanError::whole_file(rel.to_path_buf(), ErrorKind::Io, message)
        })?;
        if !target.starts_with(&self.canonical_root) {
            return Err(ScanError::whole_file(
                rel.to_path_buf(),
                ErrorKind::OutsideRoot,
                "a symbolic link leads outside the folder being read; not followed".to_owned(),
            ));
        }
        Ok(target)
    }

    /// Opens `rel` for reading if it may be read: the open file and its size as it says.
    pub(crate) fn open(&self, rel: &Path) -> Result<(File, u64), ScanError> {
        open_regular(&self.resolve(rel)?, rel)
    }

    /// The bytes of `rel`, if it may be read and holds at most `max_size` bytes.
    pub fn read(&self, rel: &Path, max_size: u64) -> Result<Vec<u8>, ScanError> {
        let (file, said) = self.open(rel)?;
        read_bounded(file, said, rel, max_size)
    }

    /// Where `rel`, found by a walk of the root that follows no link, is: unless it is itself
    /// a link (`linked`), no folder on its way is one, so there is nothing to resolve.
    pub(crate) fn walked_target(&self, rel: &Path, linked: bool) -> Result<PathBuf, ScanError> {
        if linked {
            self.resolve(rel)
        } else {
            Ok(self.canonical_root.join(rel))
        }
    }

    /// [`RepoFiles::read_text`] of a file a walk found (see [`RepoFiles::walked_target`]); a
    /// file that became a link since is refused when it is opened.
    pub(crate) fn read_walked(
        &self,
        rel: &Path,
        linked: bool,
        max_size: u64,
    ) -> Result<String, ScanError> {
        let (file, said) = open_regular(&self.walked_target(rel, linked)?, rel)?;
        utf8(read_bounded(file, said, rel, max_size)?, rel)
    }

    /// [`RepoFiles::read`] as UTF-8 text; invalid UTF-8 is an error at its first bad byte.
    pub fn read_text(&self, rel: &Path, max_size: u64) -> Result<String, ScanError> {
        utf8(self.read(rel, max_size)?, rel)
    }

    /// Whether `rel` holds `needle` as a whole name (see [`mention::mentions`]). A file that
    /// may not be read holds nothing.
    pub(crate) fn mentions(&self, rel: &Path, needle: &str) -> bool {
        self.open(rel)
            .is_ok_and(|(file, _)| mention::mentions(file, needle))
    }
}

/// The bytes of a file the operator named (a config file): no root to stay in, but files of
/// `/proc` and `/sys` are refused, and the rest of the rules of [`RepoFiles`] hold.
pub fn read_named_file(path: &Path, max_size: u64) -> Result<Vec<u8>, ScanError> {
    let target = path.canonicalize().map_err(|error| {
        ScanError::whole_file(
            path.to_path_buf(),
            ErrorKind::Io,
            format!("cannot read: {}", io_cause(&error)),
        )
    })?;
    if target.starts_with("/proc") || target.starts_with("/sys") {
        return Err(ScanError::whole_file(
            path.to_path_buf(),
            ErrorKind::SpecialFile,
            "a file of the kernel (/proc, /sys), not a file to read; not read".to_owned(),
        ));
    }
    let (file, said) = open_regular(&target, path)?;
    read_bounded(file, said, path, max_size)
}

/// Opens `target` (a path without links) without following a link that appeared since and
/// without blocking on a fifo, and refuses anything that is not a regular file. Returns the
/// file and the size it says it has.
fn open_regular(target: &Path, shown: &Path) -> Result<(File, u64), ScanError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io_error = |error: io::Error| {
        ScanError::whole_file(
            shown.to_path_buf(),
            ErrorKind::Io,
            format!("cannot read: {}", io_cause(&error)),
        )
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(target)
        .map_err(io_error)?;
    let metadata = file.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        return Err(ScanError::whole_file(
            shown.to_path_buf(),
            ErrorKind::SpecialFile,
            format!("{}, not a regular file; not read", kind_of(&metadata)),
        ));
    }
    Ok((file, metadata.len()))
}

/// Reads at most `max_size` bytes, and refuses a file that holds more (`said` is the size its
/// metadata gives, trusted only to refuse early and to size the buffer).
fn read_bounded(file: File, said: u64, shown: &Path, max_size: u64) -> Result<Vec<u8>, ScanError> {
    let too_large = || {
        ScanError::whole_file(
            shown.to_path_buf(),
            ErrorKind::TooLarge,
            format!("file is over the {max_size}-byte limit; not read"),
        )
    };
    if said > max_size {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(said).unwrap_or(0));
    file.take(max_size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| {
            ScanError::whole_file(
                shown.to_path_buf(),
                ErrorKind::Io,
                format!("cannot read: {}", io_cause(&error)),
            )
        })?;
    if bytes.len() as u64 > max_size {
        return Err(too_large());
    }
    Ok(bytes)
}

/// How a file encrypted by git-crypt starts (then a 12-byte nonce and the ciphertext).
const GIT_CRYPT_HEADER: &[u8] = b"\0GITCRYPT\0";

/// `bytes` as text, or an error: [`ErrorKind::Encrypted`] for a file git-crypt encrypted,
/// else [`ErrorKind::NotUtf8`] at the first byte that is not UTF-8.
pub(crate) fn utf8(bytes: Vec<u8>, shown: &Path) -> Result<String, ScanError> {
    if bytes.starts_with(GIT_CRYPT_HEADER) {
        return Err(ScanError::whole_file(
            shown.to_path_buf(),
            ErrorKind::Encrypted,
            "encrypted with git-crypt (run `git-crypt unlock` to read it); its values are unknown, so nothing in its module is changed".to_owned(),
        ));
    }
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        // The prefix is valid UTF-8 by definition of `valid_up_to`.
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let (line, column) = LineIndex::new(prefix).line_col(valid);
        ScanError {
            file: shown.to_path_buf(),
            line,
            column,
            kind: ErrorKind::NotUtf8,
            message: format!(
                "not valid UTF-8 (byte 0x{:02x} at offset {valid}); not read",
                bytes[valid]
            ),
        }
    })
}

/// What a file that is not a regular file is, in words.
fn kind_of(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a fifo"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

/// An I/O error's cause without the path (the caller names the file).
fn io_cause(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::ELOOP) => "a symbolic link appeared while it was opened".to_owned(),
        _ => error.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn kind(result: Result<Vec<u8>, ScanError>) -> ErrorKind {
        result.expect_err("refused").kind
    }

    #[test]
    fn links_inside_the_root_are_read_and_links_out_of_it_are_not() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.tf"), "a").unwrap();
        std::fs::write(outside.path().join("b.tf"), "b").unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        symlink("../a.tf", root.path().join("sub/in.tf")).unwrap();
        symlink(outside.path().join("b.tf"), root.path().join("out.tf")).unwrap();
        symlink(outside.path(), root.path().join("dir")).unwrap();
        symlink("missing.tf", root.path().join("broken.tf")).unwrap();
        let files = RepoFiles::new(root.path()).unwrap();
        assert_eq!(files.read(Path::new("sub/in.tf"), 10).unwrap(), b"a");
        assert_eq!(
            kind(files.read(Path::new("out.tf"), 10)),
            ErrorKind::OutsideRoot
        );
        assert_eq!(
            kind(files.read(Path::new("dir/b.tf"), 10)),
            ErrorKind::OutsideRoot
        );
        let up = Path::new("..")
            .join(outside.path().file_name().unwrap())
            .join("b.tf");
        assert_eq!(kind(files.read(&up, 10)), ErrorKind::OutsideRoot);
        let broken = files.read(Path::new("broken.tf"), 10).unwrap_err();
        assert_eq!(broken.message, "broken symbolic link; not read");
    }

    #[test]
    fn a_file_that_says_it_is_empty_is_still_held_to_the_limit() {
        // /proc files report size 0 whatever they hold.
        let proc = RepoFiles::new(Path::new("/proc/self")).unwrap();
        let error = proc.read(Path::new("environ"), 1).unwrap_err();
        assert_eq!(error.kind, ErrorKind::TooLarge);
        assert!(!error.message.contains('='), "{}", error.message);
        assert!(proc.read(Path::new("environ"), 1 << 20).is_ok());
    }

    #[test]
    fn devices_and_directories_are_refused_without_blocking() {
        let dev = RepoFiles::new(Path::new("/dev")).unwrap();
        assert_eq!(
            kind(dev.read(Path::new("zero"), 10)),
            ErrorKind::SpecialFile
        );
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("d.tf")).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(root.path().join("f.tf"))
            .status()
            .unwrap();
        assert!(status.success());
        let files = RepoFiles::new(root.path()).unwrap();
        assert_eq!(
            kind(files.read(Path::new("f.tf"), 10)),
            ErrorKind::SpecialFile
        );
        assert_eq!(
            kind(files.read(Path::new("d.tf"), 10)),
            ErrorKind::SpecialFile
        );
        assert!(!files.mentions(Path::new("f.tf"), "x"));
    }

    #[test]
    fn named_files_of_the_kernel_are_refused() {
        let error = read_named_file(Path::new("/proc/self/environ"), 1 << 20).unwrap_err();
        assert_eq!(error.kind, ErrorKind::SpecialFile);
        assert_eq!(
            kind(read_named_file(Path::new("/dev/zero"), 10)),
            ErrorKind::SpecialFile
        );
    }

    #[test]
    fn mentions_finds_a_whole_name_across_piece_boundaries_in_any_case() {
        let root = tempfile::tempdir().unwrap();
        let write = |name: &str, middle: &str| {
            let mut text = "x".repeat(64 * 1024 - 4);
            text.push_str(middle);
            std::fs::write(root.path().join(name), &text).unwrap();
        };
        write("big.tf", " \"VaultWarden/Server\"");
        write("longer.tf", " VaultWarden/Server-credentials");
        write("inside.tf", "xVaultWarden/Server");
        write("end.tf", " VaultWarden/Server");
        let files = RepoFiles::new(root.path()).unwrap();
        assert!(files.mentions(Path::new("big.tf"), "vaultwarden/server"));
        assert!(!files.mentions(Path::new("big.tf"), "nginx"));
        assert!(!files.mentions(Path::new("longer.tf"), "vaultwarden/server"));
        assert!(!files.mentions(Path::new("inside.tf"), "vaultwarden/server"));
        assert!(files.mentions(Path::new("end.tf"), "vaultwarden/server"));
    }
}
