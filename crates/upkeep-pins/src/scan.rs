//! Scanning a directory tree: find the files, group them by module, parse and resolve.

use crate::error::{ErrorKind, ScanError};
use crate::hcl::{self, Flavor, SyntaxError};
use crate::location::LineIndex;
use crate::module::{self, SourceFile};
use crate::ordered::{self, path_key};
use crate::pin::Pin;
use crate::site::{FileFacts, Precedence};
use crate::yaml;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Files larger than this are reported, not read, unless [`ScanOptions::max_file_size`] says
/// otherwise. Real Terraform and values files are kilobytes.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Larger files are reported as [`ErrorKind::TooLarge`] and not read.
    pub max_file_size: u64,
    /// Worker threads; `None` uses one per core.
    pub threads: Option<usize>,
    /// Parse every byte of every Terraform file. By default only the blocks and attributes
    /// that can hold pins are parsed (the rest is outlined lexically), which is several times
    /// faster and finds the same pins, but reports a syntax error only where the outline or
    /// a parsed piece meets it. `set` and edit checks always scan strictly.
    pub strict: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            threads: None,
            strict: false,
        }
    }
}

/// What a scan found: every pin, and every file that could not be read or parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    /// Pins, sorted by file, line and column.
    pub pins: Vec<Pin>,
    /// Problems, sorted by file, line and column.
    pub errors: Vec<ScanError>,
}

/// Scans the tree under `root` (a directory). Paths in the report are relative to `root`.
///
/// Hidden directories (`.terraform`, `.git`, …) and files ignored by `.gitignore` are skipped.
/// Fails only when `root` itself cannot be read; problems with single files are in the report.
pub fn scan(root: &Path, options: &ScanOptions) -> io::Result<ScanReport> {
    scan_with(root, options, &HashMap::new(), Reach::Everything)
}

/// [`scan`], handing each pin to `on_pin` in the order of [`ScanReport::pins`] as soon as no
/// pin sorting before it can still be found, and returning the errors (sorted). A caller that
/// writes the pins out holds a few module folders' worth of them instead of the whole tree's.
/// `on_pin` may break to stop the scan early; the errors are then those found so far.
pub fn scan_each(
    root: &Path,
    options: &ScanOptions,
    on_pin: impl FnMut(Pin) -> ControlFlow<()>,
) -> io::Result<Vec<ScanError>> {
    scan_units(root, options, &HashMap::new(), Reach::Everything, on_pin)
}

/// Which module folders a scan reads and resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Every one under the root.
    Everything,
    /// Only those holding a file of the overlay: an edit changes no pin elsewhere, so checking
    /// it costs the folders edited, not a second scan of the whole tree.
    Overlaid,
}

/// [`scan`], reading the files in `overlay` from memory instead of disk (keys relative to
/// `root`); used to check edits before they are written.
pub(crate) fn scan_with(
    root: &Path,
    options: &ScanOptions,
    overlay: &HashMap<PathBuf, String>,
    reach: Reach,
) -> io::Result<ScanReport> {
    let mut pins = Vec::new();
    let errors = scan_units(root, options, overlay, reach, |pin| {
        pins.push(pin);
        ControlFlow::Continue(())
    })?;
    Ok(ScanReport { pins, errors })
}

/// Walks the tree, groups its files by module folder, and scans the folders `reach` asks for
/// on worker threads, handing pins on in report order (see [`ordered::run`]).
fn scan_units(
    root: &Path,
    options: &ScanOptions,
    overlay: &HashMap<PathBuf, String>,
    reach: Reach,
    on_pin: impl FnMut(Pin) -> ControlFlow<()>,
) -> io::Result<Vec<ScanError>> {
    let metadata = std::fs::metadata(root)?;
    if !metadata.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", root.display()),
        ));
    }
    let canonical_root = root.canonicalize()?;
    let (entries, mut errors) = walk(root, &canonical_root);
    let mut units = group_into_units(entries);
    if reach == Reach::Overlaid {
        units.retain(|_, entries| entries.iter().any(|entry| overlay.contains_key(&entry.rel)));
    }
    let units: Vec<(PathBuf, Vec<Entry>)> = units.into_iter().collect();
    let dirs: Vec<&Path> = units.iter().map(|(dir, _)| dir.as_path()).collect();
    let threads = match options.threads {
        Some(threads) if threads > 0 => threads,
        _ => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let scan_one = |unit: usize| {
        let (dir, entries) = &units[unit];
        scan_unit(root, dir, entries, options, overlay)
    };
    errors.extend(ordered::run(&dirs, threads, scan_one, on_pin)?);
    errors.sort_by_cached_key(|error| (path_key(&error.file), error.line, error.column));
    Ok(errors)
}

/// The kinds of file upkeep reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileType {
    Hcl(Flavor),
    Yaml,
}

impl FileType {
    /// The type of a file from its name, or `None` for files upkeep does not read.
    pub(crate) fn of(path: &Path) -> Option<FileType> {
        let name = path.file_name()?.to_str()?;
        let flavor = if name == "terraform.tfvars" {
            Flavor::Tfvars(Precedence::Tfvars)
        } else if name.ends_with(".auto.tfvars") {
            Flavor::Tfvars(Precedence::AutoTfvars)
        } else if name.ends_with(".tf") {
            Flavor::Terraform
        } else if name.ends_with(".hcl") && name != ".terraform.lock.hcl" {
            Flavor::Terragrunt
        } else if [".yaml", ".yml", ".tpl", ".yaml.tftpl", ".yml.tftpl"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            return Some(FileType::Yaml);
        } else {
            return None;
        };
        Some(FileType::Hcl(flavor))
    }

    /// Parses `text` as this type.
    pub(crate) fn parse(self, text: &str, strict: bool) -> Result<FileFacts, SyntaxError> {
        match self {
            FileType::Hcl(flavor) => hcl::parse(text, flavor, strict),
            FileType::Yaml => yaml::parse(text, strict),
        }
    }
}

/// A file to scan.
struct Entry {
    rel: PathBuf,
    file_type: FileType,
}

/// Lists the files under `root` that upkeep reads, and reports links leading outside it.
fn walk(root: &Path, canonical_root: &Path) -> (Vec<Entry>, Vec<ScanError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    // `.gitignore` files are honoured; `.ignore` files, the global excludes file and
    // `.git/info/exclude` are not looked for (each costs a failed lookup per folder).
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(false)
        .require_git(false)
        .ignore(false)
        .git_global(false)
        .git_exclude(false)
        .build();
    for item in walker {
        let entry = match item {
            Ok(entry) => entry,
            Err(error) => {
                let file = error_path(&error)
                    .map(|p| relative(root, p))
                    .unwrap_or_default();
                errors.push(ScanError::whole_file(
                    file,
                    ErrorKind::Io,
                    error.to_string(),
                ));
                continue;
            }
        };
        let Some(file_type) = FileType::of(entry.path()) else {
            continue;
        };
        let rel = relative(root, entry.path());
        if entry.path_is_symlink() {
            match entry.path().canonicalize() {
                Ok(target) if !target.starts_with(canonical_root) => {
                    let message = format!(
                        "symbolic link to {} leads outside the scanned root; not followed",
                        target.display()
                    );
                    errors.push(ScanError::whole_file(rel, ErrorKind::OutsideRoot, message));
                    continue;
                }
                Ok(target) if target.is_file() => {}
                Ok(_) => continue,
                Err(error) => {
                    errors.push(ScanError::whole_file(
                        rel,
                        ErrorKind::Io,
                        format!("broken symbolic link: {error}"),
                    ));
                    continue;
                }
            }
        } else if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        entries.push(Entry { rel, file_type });
    }
    (entries, errors)
}

fn error_path(error: &ignore::Error) -> Option<&Path> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// Groups files by module directory. A values file belongs to the nearest enclosing folder
/// that holds HCL (its stack), so `templatefile()` calls there can resolve it.
fn group_into_units(entries: Vec<Entry>) -> BTreeMap<PathBuf, Vec<Entry>> {
    let hcl_dirs: BTreeSet<PathBuf> = entries
        .iter()
        .filter(|e| matches!(e.file_type, FileType::Hcl(_)))
        .map(|e| parent(&e.rel))
        .collect();
    let mut units: BTreeMap<PathBuf, Vec<Entry>> = BTreeMap::new();
    for entry in entries {
        let dir = parent(&entry.rel);
        let unit = match entry.file_type {
            FileType::Hcl(_) => dir,
            FileType::Yaml => dir
                .ancestors()
                .find(|d| hcl_dirs.contains(*d))
                .map_or(dir.clone(), Path::to_path_buf),
        };
        units.entry(unit).or_default().push(entry);
    }
    for entries in units.values_mut() {
        entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    }
    units
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Reads, parses and resolves the files of one unit.
fn scan_unit(
    root: &Path,
    dir: &Path,
    entries: &[Entry],
    options: &ScanOptions,
    overlay: &HashMap<PathBuf, String>,
) -> (Vec<Pin>, Vec<ScanError>) {
    let mut files = Vec::with_capacity(entries.len());
    let mut errors = Vec::new();
    for entry in entries {
        let text = match overlay.get(&entry.rel) {
            Some(text) => text.clone(),
            None => match read_text(root, &entry.rel, options.max_file_size) {
                Ok(text) => text,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            },
        };
        match entry.file_type.parse(&text, options.strict) {
            Ok(facts) => files.push(SourceFile {
                rel: entry.rel.clone(),
                text,
                facts,
            }),
            Err(error) => errors.push(syntax_error(&entry.rel, &text, &error)),
        }
    }
    (module::resolve(dir, &files), errors)
}

/// Turns a parser's error into a located [`ScanError`].
pub(crate) fn syntax_error(rel: &Path, text: &str, error: &SyntaxError) -> ScanError {
    let (line, column) = LineIndex::new(text).line_col(error.offset);
    ScanError {
        file: rel.to_path_buf(),
        line,
        column,
        kind: ErrorKind::Syntax,
        message: error.message.clone(),
    }
}

/// Reads a file as UTF-8 text, within the size limit.
pub(crate) fn read_text(root: &Path, rel: &Path, max_size: u64) -> Result<String, ScanError> {
    let io_error = |error: io::Error| {
        ScanError::whole_file(rel.to_path_buf(), ErrorKind::Io, error.to_string())
    };
    // One open per file: the size comes from the open handle, not a second path lookup.
    let mut file = std::fs::File::open(root.join(rel)).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    if size > max_size {
        let message = format!("file is {size} bytes, over the {max_size}-byte limit; not read");
        return Err(ScanError::whole_file(
            rel.to_path_buf(),
            ErrorKind::TooLarge,
            message,
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(io_error)?;
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        // The prefix is valid UTF-8 by definition of `valid_up_to`.
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let (line, column) = LineIndex::new(prefix).line_col(valid);
        ScanError {
            file: rel.to_path_buf(),
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
