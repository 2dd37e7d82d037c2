//! Scanning a directory tree: find the files, group them by module, parse and resolve.

use crate::admit::RepoFiles;
use crate::calls::{self, CallIndex};
use crate::climbs;
use crate::error::{ErrorKind, ScanError};
use crate::fast_hash::{FastMap, FastSet};
use crate::hcl::{self, Flavor, SyntaxError};
use crate::ignore_files::{self, IgnoreRules};
use crate::location::LineIndex;
use crate::module::{self, Instance, SourceFile};
use crate::ordered::{self, path_key};
use crate::pin::{Pin, Place};
use crate::read_ahead::{Early, Listed, Parsed, ReadAhead};
use crate::select::Query;
use crate::signal::Signal;
use crate::site::{FileFacts, Precedence};
use crate::split_once::SplitOnce;
use crate::strictness::Strictness;
use crate::warning::{ScanWarning, WarningKind};
use crate::yaml;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

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
    /// a parsed piece meets it. Edit checks always scan strictly.
    pub strict: bool,
    /// A name as [`plan_set`](crate::plan_set) takes it. The files that mention it, and every
    /// file of the module folders holding or using a pin of it, are parsed as [`strict`]
    /// parses them, so an edit of that name refuses what it would refuse after a strict scan
    /// (see [`SetError::BrokenFiles`](crate::SetError::BrokenFiles)), at about the cost of a
    /// default scan. `set` and `bump` scan so.
    ///
    /// [`strict`]: ScanOptions::strict
    pub strict_for: Option<String>,
    /// Paths to leave out, as gitignore patterns (`vendor/`, `legacy/**`, `*.generated.tf`)
    /// relative to [`ScanOptions::exclude_base`], on top of the `.upkeepignore` files of the
    /// tree.
    pub exclude: Vec<String>,
    /// The folder `exclude` patterns are relative to (the config file's); the scanned root
    /// when `None`.
    pub exclude_base: Option<PathBuf>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            threads: None,
            strict: false,
            strict_for: None,
            exclude: Vec::new(),
            exclude_base: None,
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
    /// What was noticed without failing the scan, sorted by file, line and column.
    pub warnings: Vec<ScanWarning>,
}

/// Folders no scan enters, wherever they are: version control data and the caches Terraform
/// and Terragrunt fill with copies of modules. Other hidden folders (`.woodpecker/`,
/// `.github/`) are scanned like any other.
pub(crate) const SKIPPED_DIRS: [&str; 5] =
    [".git", ".hg", ".svn", ".terraform", ".terragrunt-cache"];

/// Whether a folder of this name is one of [`SKIPPED_DIRS`].
pub(crate) fn is_skipped_dir(name: &std::ffi::OsStr) -> bool {
    SKIPPED_DIRS.iter().any(|skipped| name == *skipped)
}

/// Scans the tree under `root` (a directory). Paths in the report are relative to `root`.
///
/// The folders of [`SKIPPED_DIRS`] (`.git`, `.terraform`, `.terragrunt-cache`, …), files
/// ignored by `.gitignore` or `.upkeepignore` (same syntax) and files matching
/// [`ScanOptions::exclude`] are skipped; other hidden files and folders are scanned.
/// Fails only when `root` itself cannot be read; problems with single files are in the report.
pub fn scan(root: &Path, options: &ScanOptions) -> io::Result<ScanReport> {
    scan_with(root, options, &HashMap::new(), Reach::Everything)
}

/// [`scan`], handing each pin to `on_pin` in the order of [`ScanReport::pins`] as soon as no
/// pin sorting before it can still be found, and returning the rest of the report (errors and
/// warnings, sorted; `pins` empty). A caller that writes the pins out holds a few module
/// folders' worth of them instead of the whole tree's. `on_pin` may break to stop the scan
/// early; the errors and warnings are then those found so far.
pub fn scan_each(
    root: &Path,
    options: &ScanOptions,
    on_pin: impl FnMut(Pin) -> ControlFlow<()>,
) -> io::Result<ScanReport> {
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

/// [`scan`], reading the files in `overlay` from memory instead of disk (keys are where the
/// files lead, every link resolved); used to check edits before they are written.
pub(crate) fn scan_with(
    root: &Path,
    options: &ScanOptions,
    overlay: &HashMap<PathBuf, String>,
    reach: Reach,
) -> io::Result<ScanReport> {
    let mut pins = Vec::new();
    let rest = scan_units(root, options, overlay, reach, |pin| {
        pins.push(pin);
        ControlFlow::Continue(())
    })?;
    Ok(ScanReport { pins, ..rest })
}

/// Walks the tree, groups its files by module folder, and scans the folders `reach` asks for
/// on worker threads, handing pins on in report order (see [`ordered::run`]). Returns the
/// errors and warnings.
fn scan_units(
    root: &Path,
    options: &ScanOptions,
    overlay: &HashMap<PathBuf, String>,
    reach: Reach,
    on_pin: impl FnMut(Pin) -> ControlFlow<()>,
) -> io::Result<ScanReport> {
    let metadata = std::fs::metadata(root)?;
    if !metadata.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", root.display()),
        ));
    }
    let files = RepoFiles::new(root)?;
    let exclude = match &options.exclude_base {
        _ if options.exclude.is_empty() => None,
        Some(base) => Some(exclusions(&base.canonicalize()?, &options.exclude)?),
        None => Some(exclusions(files.canonical_root(), &options.exclude)?),
    };
    let started = std::time::Instant::now();
    let threads = match options.threads {
        Some(threads) if threads > 0 => threads,
        _ => std::thread::available_parallelism().map_or(1, usize::from),
    };
    // The walk keeps the Terraform files it reads, and while it lists the tree the other
    // cores parse what it has listed (see [`read_ahead`]): only for a scan of every folder
    // from disk, which reads every file it lists (but the templates of charts).
    let ahead = ReadAhead::new();
    let strictness = Strictness::new(options);
    let from_disk = reach == Reach::Everything && overlay.is_empty();
    let readers = if from_disk { threads - 1 } else { 0 };
    let (list, listed) = mpsc::sync_channel(LISTED_AHEAD);
    let listed = Mutex::new(listed);
    std::thread::scope(|scope| {
        let mut reading = false;
        for _ in 0..readers {
            // Without a reader the folders' scans read every file themselves, as they would.
            reading |= std::thread::Builder::new()
                .stack_size(ordered::THREAD_STACK)
                .spawn_scoped(scope, || {
                    ahead.parse(&listed, &files, options.max_file_size, &strictness);
                })
                .is_ok();
        }
        let walked = walk(
            &files,
            options.max_file_size,
            exclude,
            // A check of edited folders evaluates them as their own modules (their callers
            // are not scanned), so it needs no callers from elsewhere either.
            reach == Reach::Everything,
            from_disk.then_some(&ahead),
            reading.then_some(Readers {
                list,
                listed: &listed,
            }),
        );
        let asked = Asked {
            files: &files,
            options,
            strictness: &strictness,
            overlay,
            reach,
            threads,
            started,
        };
        scan_walked(&asked, walked, &ahead, on_pin)
    })
}

/// How many files the walk may have listed for [`ReadAhead`] and no reader taken yet; a file
/// listed while the readers are that far behind is left out (the walk never waits for them).
const LISTED_AHEAD: usize = 64;

/// What [`scan_units`] was asked, and when it started.
struct Asked<'a> {
    files: &'a RepoFiles,
    options: &'a ScanOptions,
    strictness: &'a Strictness,
    overlay: &'a HashMap<PathBuf, String>,
    reach: Reach,
    threads: usize,
    started: std::time::Instant,
}

/// The rest of [`scan_units`] once the walk is done: scans the folders `asked.reach` asks
/// for of the tree `walked` found, taking the files read ahead from `ahead`.
fn scan_walked(
    asked: &Asked<'_>,
    walked: Walk,
    ahead: &ReadAhead,
    on_pin: impl FnMut(Pin) -> ControlFlow<()>,
) -> io::Result<ScanReport> {
    let Asked {
        files,
        options,
        strictness,
        overlay,
        reach,
        threads,
        started,
    } = *asked;
    let Walk {
        entries,
        mut errors,
        left_out,
        climbing,
    } = walked;
    let elsewhere = called_elsewhere(climbing);
    let units = group_into_units(without_chart_templates(entries));
    let mut dirs: Vec<&Path> = units.keys().map(PathBuf::as_path).collect();
    if reach == Reach::Overlaid {
        let overlaid = |entry: &Entry| {
            files
                .walked_target(&entry.rel, entry.linked)
                .is_ok_and(|target| overlay.contains_key(&target))
        };
        dirs.retain(|dir| units[*dir].iter().any(overlaid));
    }
    let read: usize = dirs.iter().map(|dir| units[*dir].len()).sum();
    let tree = Tree {
        files,
        units: &units,
        ahead,
        shared: Mutex::new(SharedModules::default()),
        parsed: Mutex::new(FastMap::default()),
        callers: Callers::new(&dirs, elsewhere),
        options,
        strictness,
        overlay,
    };
    let scan_one = |unit: usize| {
        let report = scan_unit(&tree, unit, dirs[unit]);
        let found = Found {
            errors: report.errors,
            warnings: report.warnings,
            strictly: report.strictly,
        };
        (report.pins, found)
    };
    let mut warnings = Vec::new();
    // A unit waiting for its callers' calls must not wait for a scan that stopped.
    let halted = || tree.callers.halt();
    // The folders holding or using a pin of the name of `strict_for`, unless every file is
    // parsed strictly anyway.
    let query = options
        .strict_for
        .as_deref()
        .filter(|_| !options.strict)
        .map(Query::new);
    let mut edited = BTreeSet::new();
    let mut on_pin = on_pin;
    let watched = |pin: Pin| {
        if query.as_ref().is_some_and(|query| query.matches(&pin)) {
            let files = std::iter::once(&pin.file).chain(pin.users.iter().map(|user| &user.file));
            edited.extend(files.filter_map(|file| unit_of(&units, file)));
        }
        on_pin(pin)
    };
    // The readers parsed on while the walk's files were grouped; the folders' scans take the
    // cores from here.
    ahead.stop();
    let mut found = ordered::run(&dirs, threads, scan_one, watched, halted)?;
    if !edited.is_empty() {
        rescan_strictly(asked, &units, &dirs, &edited, &mut found)?;
    }
    for unit in found {
        errors.extend(unit.errors);
        warnings.extend(unit.warnings);
    }
    errors.sort_by_cached_key(|error| (path_key(&error.file), error.line, error.column));
    warnings.sort_by_cached_key(|warning| (path_key(&warning.file), warning.line, warning.column));
    tracing::info!(
        "{}: {read} files read in {} folders; {} left out by ignore files or exclude:, {} not of a type upkeep reads; {} errors, {} warnings; {} ms",
        files.root().display(),
        dirs.len(),
        left_out.ignored,
        left_out.other_types,
        errors.len(),
        warnings.len(),
        started.elapsed().as_millis()
    );
    Ok(ScanReport {
        pins: Vec::new(),
        errors,
        warnings,
    })
}

/// The folder `file` was grouped into (see [`group_into_units`]): its own, or for a values
/// file, the nearest folder above it with Terraform files (`stack/` for
/// `stack/values/app.yaml`).
fn unit_of(units: &BTreeMap<PathBuf, Vec<Entry>>, file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .find(|dir| units.contains_key(*dir))
        .map(Path::to_path_buf)
}

/// What the scan of one folder found besides its pins.
struct Found {
    errors: Vec<ScanError>,
    warnings: Vec<ScanWarning>,
    /// Whether every file of the folder that could be read was parsed strictly: its errors and
    /// warnings are then those of a strict scan already.
    strictly: bool,
}

/// Scans the folders of `dirs` in `edited` again, every file parsed strictly, and puts what
/// they found in place of what the first scan (`found`, in the order of `dirs`) found there:
/// the errors an edit of [`ScanOptions::strict_for`] is refused for are a strict scan's. A
/// folder whose every file the first scan parsed strictly (each mentions the name) is not
/// scanned again: what it found is a strict scan's already.
fn rescan_strictly(
    asked: &Asked<'_>,
    units: &BTreeMap<PathBuf, Vec<Entry>>,
    dirs: &[&Path],
    edited: &BTreeSet<PathBuf>,
    found: &mut [Found],
) -> io::Result<()> {
    let options = ScanOptions {
        strict: true,
        strict_for: None,
        ..asked.options.clone()
    };
    let strictness = Strictness::new(&options);
    // A scan stopped early found less than every folder: the folders it did not reach are not
    // reported, so not scanned again.
    let again_at: Vec<usize> = (0..found.len())
        .filter(|&at| edited.contains(dirs[at]) && !found[at].strictly)
        .collect();
    if again_at.is_empty() {
        return Ok(());
    }
    let again: Vec<&Path> = again_at.iter().map(|&at| dirs[at]).collect();
    let ahead = ReadAhead::new();
    let tree = Tree {
        files: asked.files,
        units,
        ahead: &ahead,
        shared: Mutex::new(SharedModules::default()),
        parsed: Mutex::new(FastMap::default()),
        callers: Callers::new(&again, FastSet::default()),
        options: &options,
        strictness: &strictness,
        overlay: asked.overlay,
    };
    let scan_one = |unit: usize| {
        let report = scan_unit(&tree, unit, again[unit]);
        (Vec::new(), (report.errors, report.warnings))
    };
    let halted = || tree.callers.halt();
    let checked = ordered::run(
        &again,
        asked.threads,
        scan_one,
        |_| ControlFlow::Continue(()),
        halted,
    )?;
    for (at, (errors, warnings)) in again_at.into_iter().zip(checked) {
        found[at].errors = errors;
        found[at].warnings = warnings;
    }
    Ok(())
}

/// Whether upkeep reads a file of this name (`.tf`, `.tfvars`, `.hcl`, `.tf.json`, YAML,
/// templates), whatever it holds.
pub fn reads_file_named(path: &Path) -> bool {
    FileType::of(path).is_some()
}

/// The kinds of file upkeep reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileType {
    /// Terraform, `.tfvars` or Terragrunt.
    Hcl(Flavor),
    /// YAML by its name (`.yaml`, `.yml`, `.yaml.tftpl`, `.yml.tfpl`): Helm values and the like.
    Yaml,
    /// A template of any language (`.tpl`, `.tftpl`, `.tfpl`): read as values when it is YAML
    /// or when `templatefile()` renders it into a `helm_release`'s `values`.
    Template,
}

/// Endings of files read as YAML.
const YAML_ENDINGS: [&str; 6] = [
    ".yaml",
    ".yml",
    ".yaml.tftpl",
    ".yml.tftpl",
    ".yaml.tfpl",
    ".yml.tfpl",
];

/// Endings of templates, which may or may not be YAML.
const TEMPLATE_ENDINGS: [&str; 3] = [".tpl", ".tftpl", ".tfpl"];

impl FileType {
    /// The type of a file from its name, or `None` for files upkeep does not read.
    pub(crate) fn of(path: &Path) -> Option<FileType> {
        let name = path.file_name()?.to_str()?;
        let flavor = if name == "terraform.tfvars.json" {
            Flavor::TfvarsJson(Precedence::Tfvars)
        } else if name.ends_with(".auto.tfvars.json") {
            Flavor::TfvarsJson(Precedence::AutoTfvars)
        } else if name.ends_with(".tf.json") {
            Flavor::TerraformJson
        } else if name == "terraform.tfvars" {
            Flavor::Tfvars(Precedence::Tfvars)
        } else if name.ends_with(".auto.tfvars") {
            Flavor::Tfvars(Precedence::AutoTfvars)
        } else if name.ends_with(".tf") {
            Flavor::Terraform
        } else if name.ends_with(".hcl") && name != ".terraform.lock.hcl" {
            Flavor::Terragrunt
        } else if YAML_ENDINGS.iter().any(|ext| name.ends_with(ext)) {
            return Some(FileType::Yaml);
        } else if TEMPLATE_ENDINGS.iter().any(|ext| name.ends_with(ext)) {
            return Some(FileType::Template);
        } else {
            return None;
        };
        Some(FileType::Hcl(flavor))
    }

    /// Parses `text` as this type.
    pub(crate) fn parse(self, text: &str, strict: bool) -> Result<FileFacts, SyntaxError> {
        match self {
            FileType::Hcl(flavor) => hcl::parse(text, flavor, strict),
            FileType::Yaml | FileType::Template => yaml::parse(text, strict),
        }
    }
}

/// A file to scan.
struct Entry {
    rel: PathBuf,
    file_type: FileType,
    /// Whether the file is a symbolic link (where it leads is decided when it is read).
    linked: bool,
}

/// The `exclude` patterns as a matcher of paths under `root`.
fn exclusions(root: &Path, patterns: &[String]) -> io::Result<ignore::gitignore::Gitignore> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
    for pattern in patterns {
        builder.add_line(None, pattern).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("exclude pattern `{pattern}`: {error}"),
            )
        })?;
    }
    builder.build().map_err(io::Error::other)
}

/// Lists the files under `root` whose names upkeep reads: regular files, links (where they
/// lead is decided when they are read) and special files (reported when they are read).
/// Files that `.gitignore`, `.upkeepignore` or `exclude` leave out are not listed. With `climbing`,
/// Terraform files are also read for the module sources that climb out of their folder (see
/// [`Walk::climbing`]); with readers, by them (see [`crate::climbs`]).
fn walk(
    files: &RepoFiles,
    max_size: u64,
    exclude: Option<ignore::gitignore::Gitignore>,
    climbing: bool,
    ahead: Option<&ReadAhead>,
    readers: Option<Readers<'_>>,
) -> Walk {
    let root = files.root().to_path_buf();
    let ignored = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&ignored);
    // `.gitignore` and `.upkeepignore` files are read through [`RepoFiles`], never by the
    // walker; `.ignore` files, the global excludes file and `.git/info/exclude` are not looked for.
    let rules = Arc::new(IgnoreRules::new(files.clone(), max_size));
    let filter = Arc::clone(&rules);
    let filter_root = root.clone();
    let canonical_root = files.canonical_root().to_path_buf();
    let walker = ignore::WalkBuilder::new(&root)
        .follow_links(false)
        .standard_filters(false)
        .hidden(false)
        .filter_entry(move |entry| {
            if entry.depth() == 0 {
                return true;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if is_dir && is_skipped_dir(entry.file_name()) {
                return false;
            }
            // A file of a type upkeep does not read is left out below anyway; matching it
            // against the ignore rules cost more than the rest of the walk (half the files of
            // the user's repository are scripts and docs). An ignore file itself is matched:
            // that loads its folder's rules, so one that may not be read is reported even
            // where nothing else in its folder is read.
            if !is_dir
                && FileType::of(entry.path()).is_none()
                && !ignore_files::is_ignore_file(entry.file_name())
            {
                return true;
            }
            let rel = relative(&filter_root, entry.path());
            let excluded = exclude.as_ref().is_some_and(|exclude| {
                let path = canonical_root.join(&rel);
                path.starts_with(exclude.path())
                    && exclude
                        .matched_path_or_any_parents(&path, is_dir)
                        .is_ignore()
            });
            let why = if excluded {
                Some("exclude: in the config")
            } else if filter.is_ignored(&rel, is_dir) {
                Some(".gitignore or .upkeepignore")
            } else {
                None
            };
            if let Some(why) = why {
                tracing::debug!("left out {}: {why}", rel.display());
                counted.fetch_add(1, Ordering::Relaxed);
            }
            why.is_none()
        })
        .build();
    let (mut entries, mut errors, mut climbing_sources) = (Vec::new(), Vec::new(), Vec::new());
    let mut other_types = 0;
    // One thread: the walk is a small share of a scan, and walker threads cost more in
    // waking each other than they save (measured on the user's repository).
    for item in walker {
        match walked(&root, item) {
            Walked::Entry(entry) => {
                let worth_ahead = !maybe_chart_template(&entry);
                let listed = |for_sources| Listed {
                    rel: entry.rel.clone(),
                    linked: entry.linked,
                    file_type: entry.file_type,
                    climbing: for_sources,
                };
                let mut handed = false;
                if climbing && entry.file_type == FileType::Hcl(Flavor::Terraform) {
                    // A reader reads it (and the walk goes on listing), unless they are that
                    // far behind.
                    if let (Some(ahead), Some(readers), true) = (ahead, &readers, worth_ahead) {
                        // Counted before it is sent: a reader may read it at once.
                        ahead.climbs.hand();
                        handed = readers.list.try_send(listed(true)).is_ok();
                        if !handed {
                            ahead.climbs.not_handed();
                        }
                    }
                    if !handed
                        && let Ok(text) = files.read_walked(&entry.rel, entry.linked, max_size)
                    {
                        climbing_sources.extend(climbs::sources_in(&entry.rel, &text));
                        if let Some(ahead) = ahead
                            && worth_ahead
                        {
                            ahead.keep(&entry.rel, text);
                        }
                    }
                }
                if let Some(readers) = &readers
                    && worth_ahead
                    && !handed
                {
                    // Readers that far behind miss this one: its folder's scan parses it.
                    let _ = readers.list.try_send(listed(false));
                }
                entries.push(entry);
            }
            Walked::Error(error) => errors.push(error),
            Walked::OtherType => other_types += 1,
            Walked::Folder => {}
        }
    }
    if let (Some(ahead), Some(readers)) = (ahead, &readers) {
        let read_here = |file: &Listed| ahead.read_sources(files, file, max_size);
        let (sources, others) = ahead.climbs.finish(readers.listed, read_here);
        climbing_sources.extend(sources);
        // Listed again for the readers, who parse on while the files are grouped.
        for file in others {
            let _ = readers.list.try_send(file);
        }
    }
    errors.extend(rules.take_errors());
    let left_out = LeftOut {
        ignored: ignored.load(Ordering::Relaxed),
        other_types,
    };
    Walk {
        entries,
        errors,
        left_out,
        climbing: climbing_sources,
    }
}

/// The list of files the walk hands to the readers, and their end of it.
struct Readers<'a> {
    list: mpsc::SyncSender<Listed>,
    listed: &'a Mutex<mpsc::Receiver<Listed>>,
}

/// What a walk found.
struct Walk {
    /// The files upkeep reads.
    entries: Vec<Entry>,
    /// The paths it could not read.
    errors: Vec<ScanError>,
    /// What it left out, for the log.
    left_out: LeftOut,
    /// Module sources that climb out of their folder: `(folder of the call, source)`.
    climbing: Vec<(PathBuf, String)>,
}

/// Whether `entry` may be part of a Helm chart's templates (below a `templates/` folder),
/// which no folder's scan reads (see [`without_chart_templates`]): not worth reading ahead
/// before the walk has seen whether a `Chart.yaml` is beside that folder.
fn maybe_chart_template(entry: &Entry) -> bool {
    entry
        .rel
        .parent()
        .is_some_and(|dir| dir.components().any(|part| part.as_os_str() == "templates"))
}

/// The folders called as a module by a folder that is not above them.
fn called_elsewhere(climbing: Vec<(PathBuf, String)>) -> FastSet<PathBuf> {
    climbing
        .into_iter()
        .filter_map(|(caller, source)| {
            let callee = calls::callee_dir(&caller, &source)?;
            (!callee.starts_with(&caller)).then_some(callee)
        })
        .collect()
}

/// What the walk met at one path.
enum Walked {
    /// A file upkeep reads.
    Entry(Entry),
    /// A path the walk could not read.
    Error(ScanError),
    /// A file of a type upkeep does not read.
    OtherType,
    /// A folder, or a link to one (never followed).
    Folder,
}

/// Sorts one item of the walk under `root`.
fn walked(root: &Path, item: Result<ignore::DirEntry, ignore::Error>) -> Walked {
    let entry = match item {
        Ok(entry) => entry,
        Err(error) => {
            let file = error_path(&error)
                .map(|p| relative(root, p))
                .unwrap_or_default();
            return Walked::Error(ScanError::whole_file(
                file,
                ErrorKind::Io,
                error.to_string(),
            ));
        }
    };
    let Some(kind) = entry.file_type() else {
        return Walked::Folder;
    };
    let Some(file_type) = FileType::of(entry.path()) else {
        if kind.is_dir() {
            return Walked::Folder;
        }
        tracing::debug!(
            "left out {}: not a file type upkeep reads",
            relative(root, entry.path()).display()
        );
        return Walked::OtherType;
    };
    // A link to a folder is not followed, as the walk does not follow it.
    if kind.is_dir() || (kind.is_symlink() && entry.path().is_dir()) {
        return Walked::Folder;
    }
    Walked::Entry(Entry {
        rel: relative(root, entry.path()),
        file_type,
        linked: kind.is_symlink(),
    })
}

/// How many paths a walk left out, for the log.
struct LeftOut {
    /// By `.gitignore`, `.upkeepignore` or `exclude:` (a folder counts once; files of a type
    /// upkeep does not read are not matched, so they are counted below).
    ignored: usize,
    /// Files of a type upkeep does not read (ignored or not: they are not matched against
    /// the ignore rules).
    other_types: usize,
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
/// that holds HCL (its stack), so `templatefile()` calls there can resolve it. Folders are
/// looked up by hash and sorted once, by [`path_key`], as the scan's order is: on the thread
/// every folder's scan waits for, a map sorted by path compared component by component cost
/// 5.9 M instructions for the user's 564 files.
fn group_into_units(entries: Vec<Entry>) -> BTreeMap<PathBuf, Vec<Entry>> {
    fn folder(entry: &Entry) -> &Path {
        entry.rel.parent().unwrap_or(Path::new(""))
    }
    let units: Vec<PathBuf> = {
        let hcl_dirs: FastSet<&Path> = entries
            .iter()
            .filter(|e| matches!(e.file_type, FileType::Hcl(_)))
            .map(folder)
            .collect();
        entries
            .iter()
            .map(|entry| {
                let dir = folder(entry);
                let unit = match entry.file_type {
                    FileType::Hcl(_) => dir,
                    FileType::Yaml | FileType::Template => dir
                        .ancestors()
                        .find(|d| hcl_dirs.contains(d))
                        .unwrap_or(dir),
                };
                unit.to_path_buf()
            })
            .collect()
    };
    let mut grouped: FastMap<PathBuf, Vec<Entry>> = FastMap::default();
    for (unit, entry) in units.into_iter().zip(entries) {
        grouped.entry(unit).or_default().push(entry);
    }
    let mut grouped: Vec<(PathBuf, Vec<Entry>)> = grouped.into_iter().collect();
    grouped.sort_by_cached_key(|(unit, _)| path_key(unit));
    for (_, entries) in &mut grouped {
        entries.sort_by_cached_key(|entry| path_key(&entry.rel));
    }
    // Already in order: the map is built without comparing paths again.
    grouped.into_iter().collect()
}

/// The files minus those under a Helm chart's `templates/` folder (beside its `Chart.yaml`):
/// they are Go templates that Helm renders, not values.
fn without_chart_templates(entries: Vec<Entry>) -> Vec<Entry> {
    let charts: BTreeSet<PathBuf> = entries
        .iter()
        .filter(|entry| {
            entry
                .rel
                .file_name()
                .is_some_and(|name| name == "Chart.yaml")
        })
        .map(|entry| parent(&entry.rel).join("templates"))
        .collect();
    if charts.is_empty() {
        return entries;
    }
    entries
        .into_iter()
        .filter(|entry| !entry.rel.ancestors().any(|dir| charts.contains(dir)))
        .collect()
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// What one unit contributes to the report.
#[derive(Default)]
struct UnitReport {
    pins: Vec<Pin>,
    errors: Vec<ScanError>,
    warnings: Vec<ScanWarning>,
    /// Every file of the folder that could be read was parsed strictly (see
    /// [`Found::strictly`]).
    strictly: bool,
}

/// What every unit's scan shares: the tree's files and folders, the modules' callers, and
/// the parsed modules of other branches of the tree (`../../modules/app`), which many units
/// call.
struct Tree<'a> {
    files: &'a RepoFiles,
    units: &'a BTreeMap<PathBuf, Vec<Entry>>,
    /// Files read (and parsed, when a reader got to them) before their folders asked.
    ahead: &'a ReadAhead,
    /// Modules called through `../`, parsed once while their callers are near.
    shared: Mutex<SharedModules>,
    /// The files a call can change of folders being scanned or called through `./`, parsed
    /// once, split between the folder's own scan and a caller's when both ask at once. The
    /// folder's own scan drops its entry once every caller above it has loaded its modules.
    parsed: Mutex<FastMap<PathBuf, Arc<SplitOnce<FileRead, UnitFiles>>>>,
    callers: Callers,
    options: &'a ScanOptions,
    /// Which files are parsed strictly (from `options`).
    strictness: &'a Strictness,
    overlay: &'a HashMap<PathBuf, String>,
}

/// How many modules of other branches of the tree a scan keeps parsed.
const MAX_SHARED: usize = 64;

/// The modules of other branches of the tree parsed last, at most [`MAX_SHARED`]: the
/// oldest makes room. Folders are scanned in path order, so a module's callers are near
/// each other (the stacks of one repository), and a tree holding many repositories never
/// parses a module again for each call.
#[derive(Default)]
struct SharedModules {
    modules: FastMap<PathBuf, Arc<UnitFiles>>,
    /// The folders in `modules`, oldest first.
    order: std::collections::VecDeque<PathBuf>,
}

impl SharedModules {
    fn get(&self, dir: &Path) -> Option<Arc<UnitFiles>> {
        self.modules.get(dir).map(Arc::clone)
    }

    fn insert(&mut self, dir: &Path, module: &Arc<UnitFiles>) {
        if self.modules.contains_key(dir) {
            return;
        }
        if self.order.len() >= MAX_SHARED
            && let Some(oldest) = self.order.pop_front()
        {
            self.modules.remove(&oldest);
        }
        self.order.push_back(dir.to_path_buf());
        self.modules.insert(dir.to_path_buf(), Arc::clone(module));
    }
}

/// The local module calls that modules below their callers have not read yet, and which
/// units have loaded the modules they call. A module learns which of its variables every caller sets from its callers in the folders
/// above it (`./factory`, `./modules/app`), whose calls they report before resolving
/// anything: such a caller sorts before the module, so it is already being scanned.
struct Callers {
    /// Unit index by folder.
    units: FastMap<PathBuf, usize>,
    /// Folders called as a module from another branch of the tree (`source = "../a/m"` in
    /// `b/`): such a caller may not set a variable, so the module reports its defaults.
    elsewhere: FastSet<PathBuf>,
    state: Mutex<CallersState>,
    /// Signalled when a unit has loaded its modules, or the scan stops.
    loaded: Signal,
}

#[derive(Default)]
struct CallersState {
    index: CallIndex,
    /// Units that have loaded every module they call.
    loaded: BTreeSet<usize>,
    /// The scan stopped: nobody waits any more.
    halted: bool,
}

impl Callers {
    fn new(dirs: &[&Path], elsewhere: FastSet<PathBuf>) -> Callers {
        Callers {
            elsewhere,
            units: dirs
                .iter()
                .enumerate()
                .map(|(index, dir)| (dir.to_path_buf(), index))
                .collect(),
            state: Mutex::new(CallersState::default()),
            loaded: Signal::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CallersState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the local module calls of the unit in `dir`, whose files are `sources`; the
    /// modules it calls wait for [`Callers::loaded`], which comes after.
    fn report(&self, dir: &Path, sources: &[&SourceFile]) {
        let mut state = self.lock();
        for call in sources.iter().flat_map(|source| &source.facts.calls) {
            let names = call.args.iter().map(|(name, _)| name.as_str());
            let names = names.filter(|name| !name.contains('.'));
            state.index.add(dir, &call.source, names);
        }
    }

    /// Records that unit `unit` has loaded every module it calls.
    fn loaded(&self, unit: usize) {
        self.lock().loaded.insert(unit);
        self.loaded.notify_all();
    }

    /// The variables of the module in `dir` that every caller in the folders above it sets,
    /// once those callers have reported their calls and loaded their modules (so nobody
    /// above asks for the module's files any more).
    fn external(&self, dir: &Path) -> FastSet<String> {
        let above: Vec<usize> = dir
            .ancestors()
            .skip(1)
            .filter_map(|ancestor| self.units.get(ancestor).copied())
            .collect();
        let mut state = self.lock();
        while !state.halted && !above.iter().all(|unit| state.loaded.contains(unit)) {
            state = self.loaded.wait(state);
        }
        let external = state.index.take_external(dir);
        if self.elsewhere.contains(dir) {
            return FastSet::default();
        }
        external
    }

    /// Stops every wait: the scan is over.
    fn halt(&self) {
        self.lock().halted = true;
        self.loaded.notify_all();
    }
}

impl Tree<'_> {
    /// The text of a file: from the overlay, else from disk.
    fn read(&self, entry: &Entry) -> Result<String, ScanError> {
        let overlaid = (!self.overlay.is_empty())
            .then(|| self.files.walked_target(&entry.rel, entry.linked).ok())
            .flatten()
            .and_then(|target| self.overlay.get(&target));
        match overlaid {
            Some(text) => Ok(text.clone()),
            None => self
                .files
                .read_walked(&entry.rel, entry.linked, self.options.max_file_size),
        }
    }

    /// The files of folder `dir` that a call can change ([`UnitFiles::read_one`]), read and parsed
    /// once for the folder's own scan and every caller above it in the tree (`./factory`);
    /// `None` when no scanned folder is there.
    fn unit_files(&self, dir: &Path) -> Option<Arc<UnitFiles>> {
        let entries = self.units.get(dir)?;
        let split = Arc::clone(
            self.parsed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(dir.to_path_buf())
                .or_default(),
        );
        let order = UnitFiles::in_order(entries);
        Some(split.get(
            order.len(),
            |index| UnitFiles::read_one(self, order[index], true),
            UnitFiles::join,
        ))
    }

    /// Drops the parse of folder `dir` once its own scan is done with it.
    fn forget(&self, dir: &Path) {
        self.parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(dir);
    }

    /// The files of the module in folder `dir` that a call can change (see
    /// [`UnitFiles::read_one`]), to evaluate with a caller's arguments; `None` when no scanned
    /// folder is there. A module below the caller and scanned in this run is parsed once with
    /// its own scan; any other (`shared`: another branch of the tree, `../modules/app`) is kept
    /// for the callers still to come. Files that cannot be read or parsed are left out of
    /// `sources` (the module's own scan reports them).
    fn module(&self, dir: &Path, shared: bool) -> Option<Arc<UnitFiles>> {
        if !shared {
            return self.unit_files(dir);
        }
        let entries = self.units.get(dir)?;
        if let Some(module) = self
            .shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(dir)
        {
            return Some(module);
        }
        let module = Arc::new(UnitFiles::read_for_caller(self, entries));
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir, &module);
        Some(module)
    }

    /// The local modules the unit in `dir` (whose parsed files are `own`) calls, directly or
    /// through each other: the modules' files (in the order [`Instance::files`] counts them,
    /// after `own`) and one instance per call.
    fn instances(&self, dir: &Path, own: &[&SourceFile]) -> (Vec<Arc<UnitFiles>>, Vec<Instance>) {
        let mut loaded: Vec<Arc<UnitFiles>> = Vec::new();
        let mut starts: Vec<usize> = Vec::new();
        let mut by_dir: FastMap<PathBuf, usize> = FastMap::default();
        let mut instances = Vec::new();
        let mut next = own.len();
        // (scope, folder, module or the unit's own files, folders called on the way)
        let mut work = std::collections::VecDeque::from([(0, dir.to_path_buf(), None, Vec::new())]);
        while let Some((scope, caller, module, path)) = work.pop_front() {
            // The module's files, held apart from `loaded`, which the loop extends.
            let held: Option<Arc<UnitFiles>> = module.map(|module| Arc::clone(&loaded[module]));
            let base = module.map_or(0, |module| starts[module]);
            let files: Vec<&SourceFile> = match &held {
                Some(module) => module.sources.iter().collect(),
                None => own.to_vec(),
            };
            for (file, source) in files.iter().enumerate() {
                for (call, module_call) in source.facts.calls.iter().enumerate() {
                    let Some(callee) = calls::callee_dir(&caller, &module_call.source) else {
                        continue;
                    };
                    if callee == dir
                        || path.contains(&callee)
                        || path.len() >= calls::MAX_CALL_DEPTH
                        || instances.len() >= calls::MAX_INSTANCES
                    {
                        continue;
                    }
                    let index = match by_dir.get(&callee) {
                        Some(&index) => index,
                        None => {
                            // Only a folder below this unit, scanned in this run, waits for
                            // this unit to have loaded it before its own scan lets go of it.
                            let below =
                                callee.starts_with(dir) && self.callers.units.contains_key(&callee);
                            let Some(module) = self.module(&callee, !below) else {
                                continue;
                            };
                            by_dir.insert(callee.clone(), loaded.len());
                            starts.push(next);
                            next += module.sources.len();
                            loaded.push(module);
                            loaded.len() - 1
                        }
                    };
                    let callee_files = &loaded[index].sources;
                    if callee_files
                        .iter()
                        .all(|f| f.facts.sites.is_empty() && f.facts.calls.is_empty())
                    {
                        continue;
                    }
                    instances.push(Instance {
                        dir: callee.clone(),
                        files: starts[index]..starts[index] + callee_files.len(),
                        parent: scope,
                        call: (base + file, call),
                    });
                    let mut path = path.clone();
                    path.push(callee.clone());
                    work.push_back((instances.len(), callee, Some(index), path));
                }
            }
        }
        (loaded, instances)
    }
}

/// Whether a values file's text takes template arguments (`${…}`, `%{…}`): only such a file
/// can change with a module call's arguments.
fn templated(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), b"${").is_some()
        || memchr::memmem::find(text.as_bytes(), b"%{").is_some()
}

/// Files of one folder, read and parsed, Terraform first (its `templatefile()` calls say
/// which templates are values files).
#[derive(Default)]
struct UnitFiles {
    /// The files that parsed.
    sources: Vec<SourceFile>,
    /// The files that could not be read, or did not parse.
    failures: Vec<Failure>,
    /// Literal values files, read but not parsed (unless read ahead): a call cannot change
    /// them, so only the folder's own scan parses them (it takes them from here), and a
    /// caller never parses a big values file of the module it calls (it reads it, to tell;
    /// at most it waits for a reader that was parsing it, see [`ReadAhead::take`]).
    literal: Mutex<Vec<(ReadFile, Option<Parsed>)>>,
}

/// A file read and not yet parsed.
struct ReadFile {
    rel: PathBuf,
    file_type: FileType,
    text: String,
}

/// A file of a folder that could not be read or parsed.
enum Failure {
    Unreadable(ScanError),
    Unparsed { file: ReadFile, error: SyntaxError },
}

/// What one file of a folder gave [`UnitFiles`].
enum FileRead {
    /// Parsed.
    Source(SourceFile),
    /// Not read, or not parsed.
    Failure(Failure),
    /// A literal values file, read and not parsed (unless read ahead), for the folder's own
    /// scan.
    Literal(ReadFile, Option<Parsed>),
    /// A literal values file a caller's copy does not keep.
    Dropped,
}

impl UnitFiles {
    /// A caller's copy of the files of `entries` ([`UnitFiles::read_one`] of each, in order),
    /// without the literal values files.
    fn read_for_caller(tree: &Tree<'_>, entries: &[Entry]) -> UnitFiles {
        let reads = UnitFiles::in_order(entries)
            .into_iter()
            .map(|entry| UnitFiles::read_one(tree, entry, false))
            .collect();
        UnitFiles::join(reads)
    }

    /// The files of `entries` in the order they are read: Terraform first.
    fn in_order(entries: &[Entry]) -> Vec<&Entry> {
        let (mut hcl, values): (Vec<&Entry>, Vec<&Entry>) = entries
            .iter()
            .partition(|entry| matches!(entry.file_type, FileType::Hcl(_)));
        hcl.extend(values);
        hcl
    }

    /// Reads one file of a folder and parses it if a module call can change it: a Terraform
    /// file, or a templated values file. A literal values file is kept read for the folder's
    /// own scan, unless `keep_literal` is false (a caller's copy).
    fn read_one(tree: &Tree<'_>, entry: &Entry, keep_literal: bool) -> FileRead {
        // Only the folder's own read (which keeps its literal files) takes a file read
        // early: a caller's copy would leave the folder to read it again.
        let early = keep_literal.then(|| tree.ahead.take(&entry.rel)).flatten();
        let (text, parsed) = match early {
            Some(Early { text, parsed }) => (text, parsed),
            None => match tree.read(entry) {
                Ok(text) => (text, None),
                Err(error) => return FileRead::Failure(Failure::Unreadable(error)),
            },
        };
        tracing::debug!("read {} ({} bytes)", entry.rel.display(), text.len());
        let file = ReadFile {
            rel: entry.rel.clone(),
            file_type: entry.file_type,
            text,
        };
        if matches!(entry.file_type, FileType::Hcl(_)) || templated(&file.text) {
            UnitFiles::parse(tree, file, parsed)
        } else if keep_literal {
            FileRead::Literal(file, parsed)
        } else {
            FileRead::Dropped
        }
    }

    /// The files of one folder from what [`UnitFiles::read_one`] gave for each, in order.
    fn join(reads: Vec<FileRead>) -> UnitFiles {
        let mut files = UnitFiles::default();
        let mut literal = Vec::new();
        for read in reads {
            match read {
                FileRead::Source(source) => files.sources.push(source),
                FileRead::Failure(failure) => files.failures.push(failure),
                FileRead::Literal(file, parsed) => literal.push((file, parsed)),
                FileRead::Dropped => {}
            }
        }
        files.literal = Mutex::new(literal);
        files
    }

    /// Parses the literal values files that `called` kept for the folder's own scan.
    fn literal(tree: &Tree<'_>, called: &UnitFiles) -> UnitFiles {
        let read = std::mem::take(&mut *called.literal.lock().unwrap_or_else(|e| e.into_inner()));
        UnitFiles::join(
            read.into_iter()
                .map(|(file, parsed)| UnitFiles::parse(tree, file, parsed))
                .collect(),
        )
    }

    /// Parses `file` into a source, or a failure; `parsed` is its parse when it was read
    /// ahead.
    fn parse(tree: &Tree<'_>, file: ReadFile, parsed: Option<Parsed>) -> FileRead {
        let parsed = parsed.unwrap_or_else(|| {
            file.file_type
                .parse(&file.text, tree.strictness.of(&file.text))
        });
        match parsed {
            Ok(facts) => FileRead::Source(SourceFile {
                rel: file.rel,
                text: file.text,
                facts,
            }),
            Err(error) => FileRead::Failure(Failure::Unparsed { file, error }),
        }
    }
}

/// Reads, parses and resolves the files of unit `unit`, in folder `dir`: the part its
/// callers share, then the literal values files.
fn scan_unit(tree: &Tree<'_>, unit: usize, dir: &Path) -> UnitReport {
    // Every unit scanned is a folder of the tree, so its files are there.
    let called = tree.unit_files(dir).unwrap_or_default();
    // A folder that calls no module has none to load (values files call none): the folders
    // below it, which wait for that, need not also wait for its literal values files.
    if called
        .sources
        .iter()
        .all(|file| file.facts.calls.is_empty())
    {
        tree.callers.loaded(unit);
    }
    let literal = UnitFiles::literal(tree, &called);
    let sources: Vec<&SourceFile> = called.sources.iter().chain(&literal.sources).collect();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for source in &sources {
        warnings.extend(duplicate_warnings(&source.rel, &source.text, &source.facts));
    }
    let values_templates: BTreeSet<PathBuf> = sources
        .iter()
        .flat_map(|file| &file.facts.templates)
        .filter(|call| call.values)
        .map(|call| module::normalize(&dir.join(&call.path)))
        .collect();
    for failure in called.failures.iter().chain(&literal.failures) {
        match failure {
            Failure::Unreadable(error) => errors.push(error.clone()),
            Failure::Unparsed {
                file:
                    ReadFile {
                        rel,
                        file_type,
                        text,
                    },
                error,
            } => match file_type {
                FileType::Hcl(_) => errors.push(syntax_error(rel, text, error)),
                FileType::Yaml => match unexpected_content(text) {
                    Some(what) => warnings.push(ScanWarning {
                        file: rel.clone(),
                        line: 1,
                        column: 1,
                        kind: WarningKind::UnexpectedContent,
                        message: format!("{what}, not YAML; left out of the scan"),
                        related: None,
                    }),
                    None => errors.push(syntax_error(rel, text, error)),
                },
                // A template that is not YAML is a script, a JSON or a config of some other
                // language, unless Terraform renders it into a chart's values.
                FileType::Template => {
                    if values_templates.contains(rel) {
                        errors.push(syntax_error(rel, text, error));
                    }
                }
            },
        }
    }
    let unparsed = called
        .failures
        .iter()
        .chain(&literal.failures)
        .filter_map(|failure| match failure {
            Failure::Unparsed { file, .. } => Some(file.text.as_str()),
            Failure::Unreadable(_) => None,
        });
    let strictly = tree.strictness.of_all(
        sources
            .iter()
            .map(|source| source.text.as_str())
            .chain(unparsed),
    );
    tree.callers.report(dir, &sources);
    let (modules, instances) = tree.instances(dir, &sources);
    tree.callers.loaded(unit);
    let all: Vec<&SourceFile> = sources
        .iter()
        .copied()
        .chain(modules.iter().flat_map(|module| module.sources.iter()))
        .collect();
    let external = tree.callers.external(dir);
    let pins = module::resolve(dir, &all, sources.len(), &instances, &external);
    tree.forget(dir);
    UnitReport {
        pins,
        errors,
        warnings,
        strictly,
    }
}

/// What a `.yaml`/`.yml` file that does not parse holds instead of YAML, when it can be
/// told: a Go template, a shell-style template, Prometheus text. `None` for broken YAML.
fn unexpected_content(text: &str) -> Option<&'static str> {
    if text.contains("{{") && text.contains("}}") {
        return Some("a Go template (`{{ … }}`)");
    }
    if text
        .lines()
        .any(|line| line.starts_with("# HELP ") || line.starts_with("# TYPE "))
    {
        return Some("Prometheus metrics text");
    }
    let variable = text.as_bytes().windows(2).any(|pair| {
        pair[0] == b'$' && (pair[1] == b'{' || pair[1] == b'(' || pair[1].is_ascii_uppercase())
    });
    (variable || text.contains("%{")).then_some("a template (`${…}`)")
}

/// A warning for each object entry that a later one with the same key overrides.
fn duplicate_warnings(rel: &Path, text: &str, facts: &FileFacts) -> Vec<ScanWarning> {
    if facts.duplicates.is_empty() {
        return Vec::new();
    }
    let lines = LineIndex::new(text);
    facts
        .duplicates
        .iter()
        .map(|duplicate| {
            let (line, column) = lines.line_col(duplicate.ignored.start);
            let (winner_line, winner_column) = lines.line_col(duplicate.winner.start);
            let key = &text[duplicate.ignored.clone()];
            ScanWarning {
                file: rel.to_path_buf(),
                line,
                column,
                kind: WarningKind::DuplicateKey,
                message: format!(
                    "key {key} is set again on line {winner_line}; Terraform keeps that value and ignores this one"
                ),
                related: Some(Place {
                    file: rel.to_path_buf(),
                    line: winner_line,
                    column: winner_column,
                }),
            }
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::{MAX_SHARED, SharedModules, UnitFiles};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    #[test]
    fn shared_modules_keep_the_latest_and_let_the_oldest_go() {
        let mut shared = SharedModules::default();
        let dir = |n: usize| PathBuf::from(format!("copy{n}/modules/app"));
        for n in 0..=MAX_SHARED {
            shared.insert(&dir(n), &Arc::new(UnitFiles::default()));
        }
        assert!(shared.get(&dir(0)).is_none(), "the oldest made room");
        assert!(shared.get(&dir(1)).is_some());
        assert!(shared.get(&dir(MAX_SHARED)).is_some(), "the latest is kept");
        assert!(shared.get(Path::new("elsewhere")).is_none());
        assert_eq!(shared.modules.len(), MAX_SHARED);
    }
}
