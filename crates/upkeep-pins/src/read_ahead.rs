//! Files read, and parsed, before their folder's scan asks for them. The walk runs on one
//! thread, and every folder's scan waits for it (which modules are called from elsewhere is
//! known only once every file is listed). Each Terraform file is read for its module sources
//! that climb out of its folder, by a reader when the walk could hand it over (see
//! [`crate::climbs`]), else by the walk, and its text is kept here, so the folder does not
//! read it again; the other cores, idle meanwhile, parse what the walk has listed so far, and
//! a folder's scan takes the parse from here. What they produce is what the folder's scan
//! would: the same read, the same parse.
//!
//! The parsing stops when the folders' scans start. What is held is bounded, [`MAX_TEXT`]
//! bytes of text and [`MAX_FACTS`] of facts (as [`FACT_BYTES`] estimates them), so a tree of
//! any size costs at most that much more memory; past it, folders read and parse their files
//! themselves.

use crate::admit::RepoFiles;
use crate::climbs::{self, Climbing, Climbs};
use crate::fast_hash::FastMap;
use crate::hcl::SyntaxError;
use crate::scan::FileType;
use crate::signal::Signal;
use crate::site::FileFacts;
use crate::strictness::Strictness;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, mpsc};

/// How many bytes of text may be held and not yet taken by a folder's scan. Unbounded, the
/// reader held 3.2–5.6 MB of the user's repository when the walk ended; with 1 MB it stopped a
/// third of the way through the walk, and the scan took 8 % longer than with 4 MB.
pub(crate) const MAX_TEXT: usize = 4 * 1024 * 1024;

/// How many bytes of facts parsed ahead may be held (as [`FACT_BYTES`] estimates them) and
/// not yet taken by a folder's scan.
pub(crate) const MAX_FACTS: usize = 1024 * 1024;

/// About how many bytes one fact of a file takes in memory (a site, a variable, a module
/// call's argument: a name, a value's pieces and its source text, each its own allocation). On
/// a tree of pins, holding 3,000 fewer facts saved 2.3 MB (about 770 bytes each); at 256, as
/// it was, the read-ahead held 3–4 MB more than it counted, and a scan of 30,000 pins peaked
/// 8.2–9.7 MB above one of 1,000.
const FACT_BYTES: usize = 1024;

/// A file the walk listed, for a reader to parse.
pub(crate) struct Listed {
    /// The path relative to the root.
    pub rel: PathBuf,
    /// Whether it is a symbolic link (see [`RepoFiles::read_walked`]).
    pub linked: bool,
    /// Its type.
    pub file_type: FileType,
    /// A Terraform file handed for its module sources (see [`Climbs`]): read first, whatever
    /// the bounds, and [`Climbs::read`] told.
    pub climbing: bool,
}

/// A file's parse: its facts, or why it does not parse.
pub(crate) type Parsed = Result<FileFacts, SyntaxError>;

/// A file read before its folder's scan asked for it.
pub(crate) struct Early {
    /// The text, as [`RepoFiles::read_walked`] gave it.
    pub text: String,
    /// [`FileType::parse`] of the text, when a reader got to it.
    pub parsed: Option<Parsed>,
}

impl Early {
    /// About how many bytes its facts hold: [`FACT_BYTES`] for each.
    fn facts_weight(&self) -> usize {
        let facts = match &self.parsed {
            Some(Ok(facts)) => {
                facts.sites.len()
                    + facts.variables.len()
                    + facts.locals.len()
                    + facts.assignments.len()
                    + facts.templates.len()
                    + facts.duplicates.len()
                    + facts
                        .calls
                        .iter()
                        .map(|call| 1 + call.args.len())
                        .sum::<usize>()
            }
            Some(Err(_)) | None => 0,
        };
        facts * FACT_BYTES
    }
}

/// What is known of a file read early.
enum Slot {
    /// A reader is parsing it.
    Parsing,
    /// Read, and parsed if [`Early::parsed`] says so.
    Ready(Early),
}

/// The files read early, by path relative to the root.
pub(crate) struct ReadAhead {
    state: Mutex<Held>,
    /// Signalled when a file a reader was parsing is ready (or was given up).
    done: Signal,
    /// Set when the folders' scans start: the readers take no more files.
    stopped: AtomicBool,
    /// The module sources of the Terraform files the walk handed over.
    pub(crate) climbs: Climbs,
}

#[derive(Default)]
struct Held {
    files: FastMap<PathBuf, Slot>,
    /// Bytes of text of the ready files.
    text: usize,
    /// [`Early::facts_weight`] of the ready files.
    facts: usize,
    /// A text read did not fit: no more are read (until the folders' scans start, nothing is
    /// taken, so none would fit).
    text_full: bool,
}

impl Held {
    fn insert(&mut self, rel: PathBuf, early: Early) {
        self.text += early.text.len();
        self.facts += early.facts_weight();
        self.files.insert(rel, Slot::Ready(early));
    }

    fn remove(&mut self, rel: &Path) -> Option<Early> {
        match self.files.remove(rel)? {
            Slot::Ready(early) => {
                self.text -= early.text.len();
                self.facts -= early.facts_weight();
                Some(early)
            }
            Slot::Parsing => None,
        }
    }

    /// Whether a reader may parse one more file (and read it, unless the walk `kept` it).
    fn room(&self, kept: bool) -> bool {
        self.facts < MAX_FACTS && (kept || !self.text_full)
    }
}

impl ReadAhead {
    /// Nothing read yet.
    pub(crate) fn new() -> ReadAhead {
        ReadAhead {
            state: Mutex::new(Held::default()),
            done: Signal::default(),
            stopped: AtomicBool::new(false),
            climbs: Climbs::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `text`, the walk's read of the file at `rel`, for its folder's scan, unless
    /// that would hold more than [`MAX_TEXT`].
    pub(crate) fn keep(&self, rel: &Path, text: String) {
        let mut held = self.lock();
        if held.text + text.len() <= MAX_TEXT {
            held.insert(rel.to_path_buf(), Early { text, parsed: None });
        }
    }

    /// Parses the files of `listed` (files of `files`, none over `max_size` bytes; the text
    /// the walk kept, else read from disk) until [`ReadAhead::stop`] or the list ends, holding
    /// what fits within [`MAX_TEXT`] and [`MAX_FACTS`], each as strictly as `strictness` says.
    /// A file that cannot be read is left to its folder's scan, which reports it.
    pub(crate) fn parse(
        &self,
        listed: &Mutex<mpsc::Receiver<Listed>>,
        files: &RepoFiles,
        max_size: u64,
        strictness: &Strictness,
    ) {
        loop {
            let next = listed.lock().unwrap_or_else(|e| e.into_inner()).recv();
            let Ok(file) = next else {
                return;
            };
            if file.climbing {
                // Before anything else: the walk's end waits for it.
                let sources = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    self.read_sources(files, &file, max_size)
                }));
                self.climbs.read(&file, sources.ok());
            }
            let kept = {
                let mut held = self.lock();
                // Asked under the lock [`ReadAhead::stop`] takes: once the folders' scans
                // start, none finds a file that a reader starts on after.
                if self.stopped.load(Ordering::Relaxed) {
                    return;
                }
                let kept = match held.files.get(&file.rel) {
                    None if held.room(false) => None,
                    Some(Slot::Ready(early)) if early.parsed.is_none() && held.room(true) => {
                        held.remove(&file.rel).map(|early| early.text)
                    }
                    _ => continue,
                };
                held.files.insert(file.rel.clone(), Slot::Parsing);
                kept
            };
            let was_kept = kept.is_some();
            // The room a text read here holds while it is parsed (see `read_to_parse`).
            let mut reserved = 0;
            // A parse that panics (a bug) must not leave a folder's scan waiting: the file is
            // left to that scan, whose panic is reported.
            let early = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let text = match kept {
                    Some(text) => text,
                    None => {
                        let text = self.read_to_parse(files, &file, max_size)?;
                        reserved = text.len();
                        text
                    }
                };
                Some(Early {
                    parsed: Some(file.file_type.parse(&text, strictness.of(&text))),
                    text,
                })
            }));
            let mut held = self.lock();
            held.files.remove(&file.rel);
            held.text -= reserved;
            if let Ok(Some(mut early)) = early {
                // Held only within the bounds: what does not fit is left to the folder's scan
                // (the text the walk kept stays, counted already, unparsed).
                if held.facts + early.facts_weight() > MAX_FACTS {
                    early.parsed = None;
                }
                let fits = early.parsed.is_some() && held.text + early.text.len() <= MAX_TEXT;
                if was_kept || fits {
                    held.insert(file.rel, early);
                }
            }
            drop(held);
            self.done.notify_all();
        }
    }

    /// The module sources that climb out of the folder of `file`, a Terraform file, read from
    /// it; its text is kept for its folder (as [`ReadAhead::keep`] decides). Empty when it
    /// cannot be read: its folder's scan reports why.
    pub(crate) fn read_sources(
        &self,
        files: &RepoFiles,
        file: &Listed,
        max_size: u64,
    ) -> Vec<Climbing> {
        let Ok(text) = files.read_walked(&file.rel, file.linked, max_size) else {
            return Vec::new();
        };
        let sources = climbs::sources_in(&file.rel, &text);
        self.keep(&file.rel, text);
        sources
    }

    /// Reads `file` for a reader to parse, its text counted as held from now on, so that texts
    /// kept or read while it is parsed cannot take its room (a 2.4 MB values file was parsed
    /// for nothing, then again by its folder). `None` when it cannot be read, or held (then no
    /// more files are read).
    fn read_to_parse(&self, files: &RepoFiles, file: &Listed, max_size: u64) -> Option<String> {
        let text = files.read_walked(&file.rel, file.linked, max_size).ok()?;
        // Not parsed for nothing: a text that cannot be held is left now.
        let mut held = self.lock();
        if held.text + text.len() > MAX_TEXT {
            held.text_full = true;
            return None;
        }
        held.text += text.len();
        Some(text)
    }

    /// The folders' scans start: readers finish the file they are at and take no more.
    pub(crate) fn stop(&self) {
        let _held = self.lock();
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// The file at `rel` if it was read early (waiting for a reader that is parsing it),
    /// and forgotten here; `None` if it was not.
    pub(crate) fn take(&self, rel: &Path) -> Option<Early> {
        let mut held = self.lock();
        while let Slot::Parsing = held.files.get(rel)? {
            held = self.done.wait(held);
        }
        held.remove(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::{Early, FACT_BYTES, Listed, MAX_FACTS, MAX_TEXT, ReadAhead, Slot};
    use crate::admit::RepoFiles;
    use crate::hcl::Flavor;
    use crate::scan::FileType;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, mpsc};

    const TF: FileType = FileType::Hcl(Flavor::Terraform);

    fn listed(rel: &str, file_type: FileType) -> Listed {
        Listed {
            rel: PathBuf::from(rel),
            linked: false,
            file_type,
            climbing: false,
        }
    }

    /// Parses `files` ahead on this thread, as a reader does until the folders' scans start.
    fn parse_ahead(ahead: &ReadAhead, root: &Path, files: Vec<Listed>) {
        let (list, queue) = mpsc::channel();
        for file in files {
            list.send(file).expect("queued");
        }
        drop(list);
        let repo = RepoFiles::new(root).expect("root");
        ahead.parse(
            &Mutex::new(queue),
            &repo,
            1 << 30,
            &crate::strictness::Strictness::new(&crate::ScanOptions::default()),
        );
    }

    fn parsed(early: &Early) -> String {
        format!("{:?}", early.parsed.as_ref().expect("parsed"))
    }

    #[test]
    fn a_text_being_parsed_keeps_its_room_from_texts_kept_meanwhile() {
        let dir = tempfile::tempdir().expect("temp dir");
        let big = format!("config: |\n{}", "  a: b\n".repeat(MAX_TEXT / 8 * 6 / 7));
        std::fs::write(dir.path().join("values.yaml"), &big).expect("write");
        let ahead = ReadAhead::new();
        let repo = RepoFiles::new(dir.path()).expect("root");
        let listed = listed("values.yaml", FileType::Yaml);
        let text = ahead.read_to_parse(&repo, &listed, 1 << 30).expect("read");
        assert_eq!(text, big);
        // The walk keeps a Terraform text while the reader parses: it must not take the room.
        ahead.keep(Path::new("main.tf"), "x".repeat(MAX_TEXT - big.len() + 1));
        assert!(
            ahead.take(Path::new("main.tf")).is_none(),
            "kept over a text being parsed"
        );
        ahead.keep(Path::new("small.tf"), "x".repeat(MAX_TEXT - big.len()));
        assert!(
            ahead.take(Path::new("small.tf")).is_some(),
            "what fits is kept"
        );
    }

    #[test]
    fn a_reader_reads_a_file_handed_for_its_module_sources_first_then_parses_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let tf = "module \"app\" {\n  source = \"../../modules/app\"\n  tag = \"1.0.0\"\n}\n";
        std::fs::create_dir_all(dir.path().join("stacks/a")).expect("mkdir");
        std::fs::write(dir.path().join("stacks/a/main.tf"), tf).expect("write");
        let ahead = ReadAhead::new();
        let handed = |rel: &str| Listed {
            climbing: true,
            ..listed(rel, TF)
        };
        ahead.climbs.hand();
        ahead.climbs.hand();
        parse_ahead(
            &ahead,
            dir.path(),
            vec![handed("stacks/a/main.tf"), handed("stacks/gone/main.tf")],
        );
        // The reader read both (one could not be read: no sources, its folder reports it);
        // the walk has nothing left to read.
        let (_, queue) = mpsc::sync_channel(1);
        let (sources, others) = ahead.climbs.finish(&Mutex::new(queue), |file| {
            panic!("{} read again", file.rel.display())
        });
        assert_eq!(
            sources,
            [(PathBuf::from("stacks/a"), "../../modules/app".to_owned())]
        );
        assert!(others.is_empty());
        let main = ahead.take(Path::new("stacks/a/main.tf")).expect("kept");
        assert_eq!(main.text, tf);
        assert_eq!(parsed(&main), format!("{:?}", TF.parse(tf, false)));
    }

    #[test]
    fn a_file_parsed_ahead_is_what_its_folder_would_read_and_parse() {
        let dir = tempfile::tempdir().expect("temp dir");
        let tf = "resource \"x\" \"y\" {\n  image = \"nginx:1.27.0\"\n}\n";
        let yaml = "image:\n  repository: nginx\n  tag: 1.27.0\n";
        std::fs::write(dir.path().join("main.tf"), tf).expect("write");
        std::fs::write(dir.path().join("values.yaml"), yaml).expect("write");
        std::fs::write(dir.path().join("broken.tf"), "resource {").expect("write");
        let ahead = ReadAhead::new();
        parse_ahead(
            &ahead,
            dir.path(),
            vec![
                listed("main.tf", TF),
                listed("values.yaml", FileType::Yaml),
                listed("broken.tf", TF),
                listed("gone.tf", TF),
            ],
        );
        let main = ahead.take(Path::new("main.tf")).expect("read early");
        assert_eq!(main.text, tf);
        assert_eq!(parsed(&main), format!("{:?}", TF.parse(tf, false)));
        let values = ahead.take(Path::new("values.yaml")).expect("read early");
        assert_eq!(
            parsed(&values),
            format!("{:?}", FileType::Yaml.parse(yaml, false))
        );
        assert!(
            !values
                .parsed
                .expect("parsed")
                .expect("parses")
                .sites
                .is_empty()
        );
        // A file that does not parse is held with its error, for its folder to report.
        let broken = ahead.take(Path::new("broken.tf")).expect("read early");
        assert!(broken.parsed.expect("parsed").is_err());
        // One that cannot be read is left to its folder's scan, which reports why.
        assert!(ahead.take(Path::new("gone.tf")).is_none());
        // Taken once: a second read of the folder reads the disk.
        assert!(ahead.take(Path::new("main.tf")).is_none());
        let held = ahead.lock();
        assert_eq!((held.text, held.facts), (0, 0));
    }

    #[test]
    fn the_text_the_walk_kept_is_parsed_not_read_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("main.tf"), "on_disk = 1\n").expect("write");
        std::fs::write(dir.path().join("kept.tf"), "on_disk = 1\n").expect("write");
        let ahead = ReadAhead::new();
        ahead.keep(Path::new("main.tf"), "walked = 2\n".to_owned());
        ahead.keep(Path::new("kept.tf"), "walked = 3\n".to_owned());
        parse_ahead(&ahead, dir.path(), vec![listed("main.tf", TF)]);
        let early = ahead.take(Path::new("main.tf")).expect("read early");
        assert_eq!(early.text, "walked = 2\n");
        assert_eq!(
            parsed(&early),
            format!("{:?}", TF.parse("walked = 2\n", false))
        );
        // No reader got to this one: its text is there, for its folder to parse.
        let kept = ahead.take(Path::new("kept.tf")).expect("kept");
        assert_eq!(kept.text, "walked = 3\n");
        assert!(kept.parsed.is_none());
    }

    #[test]
    fn no_more_text_than_max_text_waits_to_be_taken() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("small.tf"), "a = 1\n").expect("write");
        let ahead = ReadAhead::new();
        // Read while it fits.
        parse_ahead(&ahead, dir.path(), vec![listed("small.tf", TF)]);
        assert!(ahead.take(Path::new("small.tf")).is_some());
        let big = format!("# {}\n", "x".repeat(MAX_TEXT - 3));
        ahead.keep(Path::new("big.tf"), big.clone());
        // Past the bound the walk's text is dropped, and a text read is not held; after one
        // did not fit no reader reads any more (nothing is taken before the readers stop).
        ahead.keep(Path::new("over.tf"), "x".repeat(200));
        assert!(ahead.take(Path::new("over.tf")).is_none());
        parse_ahead(&ahead, dir.path(), vec![listed("small.tf", TF)]);
        assert!(
            ahead.take(Path::new("small.tf")).is_none(),
            "over the bound"
        );
        assert!(ahead.lock().text_full);
        // The text the walk kept is still parsed: it is held already.
        parse_ahead(&ahead, dir.path(), vec![listed("big.tf", TF)]);
        let big = ahead.take(Path::new("big.tf")).expect("kept");
        assert!(big.parsed.is_some());
        assert_eq!(ahead.lock().text, 0);
    }

    #[test]
    fn no_more_facts_than_max_facts_wait_to_be_taken() {
        let dir = tempfile::tempdir().expect("temp dir");
        let variables = |count: usize| -> String {
            (0..count)
                .map(|i| format!("variable \"v{i}\" {{}}\n"))
                .collect()
        };
        // Facts a little over half the bound.
        let half = MAX_FACTS / FACT_BYTES / 2 + 1;
        for (name, count) in [("many.tf", 2 * half), ("one.tf", half), ("two.tf", half)] {
            std::fs::write(dir.path().join(name), variables(count)).expect("write");
        }
        let ahead = ReadAhead::new();
        ahead.keep(Path::new("kept.tf"), variables(2 * half));
        let files = ["many.tf", "one.tf", "two.tf", "kept.tf"];
        parse_ahead(
            &ahead,
            dir.path(),
            files.map(|name| listed(name, TF)).into(),
        );
        // Over the bound alone: left to its folder.
        assert!(ahead.take(Path::new("many.tf")).is_none());
        // The first half fits, the second not.
        assert!(ahead.take(Path::new("two.tf")).is_none(), "over the bound");
        assert!(ahead.lock().facts <= MAX_FACTS);
        let one = ahead.take(Path::new("one.tf")).expect("held");
        assert!(one.parsed.is_some());
        // The text the walk kept stays, unparsed.
        let kept = ahead.take(Path::new("kept.tf")).expect("kept");
        assert!(kept.parsed.is_none());
        let held = ahead.lock();
        assert_eq!((held.text, held.facts), (0, 0));
    }

    #[test]
    fn facts_weigh_by_their_count() {
        let text = "module \"m\" {\n  source = \"./m\"\n  a = \"1\"\n  b = \"2\"\n}\n";
        let early = Early {
            text: text.to_owned(),
            parsed: Some(TF.parse(text, false)),
        };
        assert_eq!(early.facts_weight(), 3 * FACT_BYTES);
    }

    #[test]
    fn nothing_is_parsed_once_the_walk_is_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("main.tf"), "a = 1\n").expect("write");
        let ahead = ReadAhead::new();
        ahead.stop();
        parse_ahead(&ahead, dir.path(), vec![listed("main.tf", TF)]);
        assert!(ahead.take(Path::new("main.tf")).is_none());
    }

    #[test]
    fn taking_a_file_a_reader_is_parsing_waits_for_it() {
        let ahead = ReadAhead::new();
        ahead
            .lock()
            .files
            .insert(PathBuf::from("main.tf"), Slot::Parsing);
        std::thread::scope(|scope| {
            let taker = scope.spawn(|| ahead.take(Path::new("main.tf")));
            // However long it has run, the taker cannot be done while the file is parsed.
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!taker.is_finished());
            // A reader finishes it, as `parse` does: out of its slot, in, and a signal.
            let early = Early {
                text: "a = 1\n".to_owned(),
                parsed: Some(TF.parse("a = 1\n", false)),
            };
            {
                let mut held = ahead.lock();
                held.files.remove(Path::new("main.tf"));
                held.insert(PathBuf::from("main.tf"), early);
            }
            ahead.done.notify_all();
            let taken = taker.join().expect("taker");
            assert_eq!(taken.expect("ready").text, "a = 1\n");
        });
    }
}
