//! The journal of a multi-file write: which files are being replaced by which temporary
//! files, with digests of their old and new contents, and whether the write was committed.
//!
//! ```text
//! upkeep-journal 1 2
//! file <target, hex> <temporary file name, hex> <sha256 of old> <sha256 of new>
//! file …
//! commit
//! ```
//!
//! The header and the `file` lines are written and synced before any temporary file exists;
//! `commit` is appended (and synced) once every temporary file holds its new content. A line
//! cut short by a crash is ignored; so a journal without its `commit` line, or with fewer
//! `file` lines than the header counts, was not committed.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The first word of every journal.
const MAGIC: &str = "upkeep-journal";
/// The format version this code writes and reads.
const VERSION: u32 = 1;
/// Temporary files are named `.upkeep-….tmp`.
pub(crate) const TEMP_PREFIX: &str = ".upkeep-";
/// See [`TEMP_PREFIX`].
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// A SHA-256 digest.
pub(crate) type Digest = [u8; 32];

/// The digest of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> Digest {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// One file of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The file replaced: an absolute path without links.
    pub(crate) target: PathBuf,
    /// The name of the temporary file, in the target's folder, that holds the new content.
    pub(crate) temp: OsString,
    /// Digest of the content before the write.
    pub(crate) old: Digest,
    /// Digest of the content after the write.
    pub(crate) new: Digest,
}

impl Entry {
    /// The temporary file's path.
    pub(crate) fn temp_path(&self) -> PathBuf {
        self.target
            .parent()
            .unwrap_or(Path::new("/"))
            .join(&self.temp)
    }
}

/// A journal as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Journal {
    /// The files of the write, as many as were written in full.
    pub(crate) entries: Vec<Entry>,
    /// Whether the write was committed: every new content was in place in its temporary file.
    pub(crate) committed: bool,
}

/// The header and `file` lines of a write of `entries`.
pub(crate) fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = format!("{MAGIC} {VERSION} {}\n", entries.len()).into_bytes();
    for entry in entries {
        out.extend_from_slice(b"file ");
        out.extend_from_slice(hex(entry.target.as_os_str().as_bytes()).as_bytes());
        out.push(b' ');
        out.extend_from_slice(hex(entry.temp.as_bytes()).as_bytes());
        out.push(b' ');
        out.extend_from_slice(hex(&entry.old).as_bytes());
        out.push(b' ');
        out.extend_from_slice(hex(&entry.new).as_bytes());
        out.push(b'\n');
    }
    out
}

/// The line that commits a write.
pub(crate) const COMMIT: &[u8] = b"commit\n";

/// Reads a journal. A last line without its newline was cut short by a crash and is left out;
/// anything else that is not a journal line is an error.
pub(crate) fn parse(bytes: &[u8]) -> Result<Journal, String> {
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => &bytes[..end],
        None => return Err("no complete header line".to_owned()),
    };
    let mut lines = complete.split(|&b| b == b'\n').enumerate();
    let (_, header) = lines.next().ok_or("empty")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    let count = match header.split(' ').collect::<Vec<_>>()[..] {
        [magic, version, count] if magic == MAGIC && version == VERSION.to_string() => count
            .parse::<usize>()
            .ok()
            .filter(|n| n.to_string() == count)
            .ok_or("bad file count")?,
        _ => return Err("not an upkeep journal of a known version".to_owned()),
    };
    let mut entries = Vec::new();
    let mut committed = false;
    for (number, line) in lines {
        let line_error = |what: &str| format!("line {}: {what}", number + 1);
        if committed {
            return Err(line_error("text after the commit"));
        }
        if line == b"commit" {
            if entries.len() != count {
                return Err(line_error("commit before every file is listed"));
            }
            committed = true;
            continue;
        }
        let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let [b"file", target, temp, old, new] = fields[..] else {
            return Err(line_error("not a file line"));
        };
        if entries.len() == count {
            return Err(line_error("more files than the header counts"));
        }
        let target = PathBuf::from(OsString::from_vec(
            unhex(target).ok_or_else(|| line_error("bad target"))?,
        ));
        let temp = OsString::from_vec(unhex(temp).ok_or_else(|| line_error("bad temp name"))?);
        if !target.is_absolute() || target.parent().is_none() || !is_temp_name(&temp) {
            return Err(line_error("not a target and temporary file upkeep writes"));
        }
        let digest = |field: &[u8]| -> Option<Digest> { unhex(field)?.try_into().ok() };
        entries.push(Entry {
            target,
            temp,
            old: digest(old).ok_or_else(|| line_error("bad digest"))?,
            new: digest(new).ok_or_else(|| line_error("bad digest"))?,
        });
    }
    Ok(Journal { entries, committed })
}

/// Whether `name` is the name of one of upkeep's temporary files (no folder in it).
pub(crate) fn is_temp_name(name: &std::ffi::OsStr) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > TEMP_PREFIX.len() + TEMP_SUFFIX.len()
        && bytes.starts_with(TEMP_PREFIX.as_bytes())
        && bytes.ends_with(TEMP_SUFFIX.as_bytes())
        && !bytes.contains(&b'/')
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            Some(digit(pair[0])? << 4 | digit(pair[1])?)
        })
        .collect()
}

/// Reads `bytes` as a journal: `Err` (why) if they are not one, else whether the journal,
/// written again, reads back the same. Exposed for fuzzing: any input gives `Err` or
/// `Ok(true)`, and never panics.
pub fn check_journal(bytes: &[u8]) -> Result<bool, String> {
    let journal = parse(bytes)?;
    let mut again = encode(&journal.entries);
    if journal.committed {
        again.extend_from_slice(COMMIT);
    }
    Ok(parse(&again).is_ok_and(|reparsed| reparsed == journal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Entry> {
        vec![
            Entry {
                target: PathBuf::from("/repo/stacks/a b/main.tf"),
                temp: OsString::from(".upkeep-0123-0.tmp"),
                old: digest(b"old"),
                new: digest(b"new"),
            },
            Entry {
                target: PathBuf::from(OsString::from_vec(b"/repo/\xffodd/x.tf".to_vec())),
                temp: OsString::from(".upkeep-0123-1.tmp"),
                old: digest(b"old 2"),
                new: digest(b"new 2"),
            },
        ]
    }

    #[test]
    fn a_journal_reads_back_as_written() {
        let mut bytes = encode(&sample());
        assert_eq!(
            parse(&bytes).unwrap(),
            Journal {
                entries: sample(),
                committed: false
            }
        );
        bytes.extend_from_slice(COMMIT);
        assert!(parse(&bytes).unwrap().committed);
        assert_eq!(check_journal(&bytes), Ok(true));
    }

    #[test]
    fn a_journal_cut_short_anywhere_is_never_committed_and_lists_only_whole_lines() {
        let mut bytes = encode(&sample());
        bytes.extend_from_slice(COMMIT);
        for end in 0..bytes.len() {
            match parse(&bytes[..end]) {
                Ok(journal) => {
                    assert!(!journal.committed, "cut at {end}");
                    assert!(sample().starts_with(&journal.entries), "cut at {end}");
                }
                Err(_) => assert!(end < bytes.iter().position(|&b| b == b'\n').unwrap() + 1),
            }
        }
        assert!(parse(&bytes).unwrap().committed);
    }

    #[test]
    fn journals_naming_other_files_than_upkeeps_are_refused() {
        let mut entries = sample();
        entries[0].temp = OsString::from("main.tf");
        assert!(parse(&encode(&entries)).is_err());
        let mut entries = sample();
        entries[0].temp = OsString::from(".upkeep-../../x.tmp");
        assert!(parse(&encode(&entries)).is_err());
        let mut entries = sample();
        entries[0].target = PathBuf::from("relative/main.tf");
        assert!(parse(&encode(&entries)).is_err());
        for garbage in [
            &b"upkeep-journal 2 0\n"[..],
            b"upkeep-journal 1 01\n",
            b"upkeep-journal 1 0\ncommit\ncommit\n",
            b"upkeep-journal 1 1\ncommit\n",
            b"upkeep-journal 1 0\nfile 2f 2f 00 00\n",
        ] {
            assert!(
                parse(garbage).is_err(),
                "{}",
                String::from_utf8_lossy(garbage)
            );
        }
    }
}
