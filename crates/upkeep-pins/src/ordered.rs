//! Scanning module folders on worker threads and handing their pins back in report order, as
//! soon as no pin sorting before them can still turn up: a caller that writes pins out holds
//! a few folders' worth of them, not the whole tree's.

use crate::pin::{Pin, PinKind};
use crate::signal::Signal;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::io;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Mutex, MutexGuard};

/// Stack size of the scanning threads; the HCL parser recurses once per nesting level.
pub(crate) const THREAD_STACK: usize = 32 * 1024 * 1024;

/// How many folders per worker may be finished ahead of the first unfinished one: enough that
/// one slow folder (a stack with megabytes of values) does not leave the other workers idle.
const AHEAD_PER_WORKER: usize = 64;

/// How many pins may be found and not yet handed on before the workers ahead of the first
/// unfinished folder wait: what bounds memory when folders hold many pins, or when the caller
/// takes them more slowly than the workers find them.
const MAX_PINS_WAITING: usize = 2048;

/// A key that orders paths as [`Path`]'s own comparison does (component by component), but
/// compares as plain bytes: each separator becomes the lowest byte.
pub(crate) fn path_key(path: &Path) -> Vec<u8> {
    let mut key = path.as_os_str().as_encoded_bytes().to_vec();
    key.iter_mut()
        .filter(|byte| **byte == b'/')
        .for_each(|byte| *byte = 0);
    key
}

/// A pin waiting for every pin that may sort before it. Ordered as the report is (file, line,
/// column, kind), then by when it was found, which is what a stable sort of all pins in folder
/// order gives.
struct Waiting {
    key: (Vec<u8>, usize, usize, PinKind, usize),
    pin: Pin,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Waiting {}

impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// What the workers hand to the main thread: each folder's result as it is done, and how many
/// workers still run.
struct Handed<R> {
    results: Vec<(usize, R)>,
    running: usize,
}

/// Shared by the workers and the main thread: [`Handed`] under its lock, and the signal that
/// wakes the main thread.
struct Handing<R> {
    handed: Mutex<Handed<R>>,
    /// Signalled when the folder the main thread waits for is handed, and when a worker
    /// stops: the main thread can do nothing with other folders' results before that one's, so
    /// they do not wake it (in a virtual machine each wake-up sends the other core an
    /// interrupt; a scan of the user's repository woke it after every one of its 204 folders).
    arrived: Signal,
}

impl<R> Handing<R> {
    fn lock(&self) -> MutexGuard<'_, Handed<R>> {
        self.handed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts a worker out when it stops, however it stops, and tells the main thread.
struct Leaving<'a, R>(&'a Handing<R>);

impl<R> Drop for Leaving<'_, R> {
    fn drop(&mut self) {
        self.0.lock().running -= 1;
        self.0.arrived.notify_all();
    }
}

/// Calls its `halt` when dropped by a panic's unwinding.
struct HaltOnUnwind<'a>(&'a dyn Fn());

impl Drop for HaltOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            (self.0)();
        }
    }
}

/// Runs `work` on every folder, `dirs` in path order, on up to `threads` threads, and hands
/// each pin to `on_pin` in report order. A folder's files lie in it or below it, so once the
/// folders before `dirs[i]` are done, every pin whose file sorts before `dirs[i]` is final.
/// `work` gives a folder's pins and the rest of what it found (errors, warnings), which is
/// returned in folder order. `on_pin` may break to stop the scan; `halted` is called when the
/// scan stops early (folders taken may then never be worked), so that work waiting on other
/// folders can give up.
pub(crate) fn run<W, P, R>(
    dirs: &[&Path],
    threads: usize,
    work: W,
    mut on_pin: P,
    halted: impl Fn() + Sync,
) -> io::Result<Vec<R>>
where
    W: Fn(usize) -> (Vec<Pin>, R) + Sync,
    P: FnMut(Pin) -> ControlFlow<()>,
    R: Send,
{
    let mut rests = Vec::new();
    if dirs.is_empty() {
        return Ok(rests);
    }
    let workers = threads.clamp(1, dirs.len());
    let window = workers * AHEAD_PER_WORKER;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let waiting_pins = AtomicUsize::new(0);
    // The first folder not yet handed on, the lock a worker holds to wait for it to move
    // (never to read it: a worker that need not wait takes no lock, and the main thread, which
    // moves it as folders are handed on, is not kept waiting for the workers' locks), and the
    // signal that it moved. It also tells a worker whether the main thread waits for the
    // folder it has just finished (see `Handing::arrived`).
    let frontier = (AtomicUsize::new(0), Mutex::new(()), Signal::default());
    // Stops the workers: those waiting for the frontier to move, and those about to start.
    let halt = || {
        let (_, lock, moved) = &frontier;
        let _waiting = lock.lock().unwrap_or_else(|e| e.into_inner());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        moved.notify_all();
        halted();
    };
    // The folder whose work panicked, if one did: the scan stops and fails.
    let panicked = Mutex::new(None);
    let handing = Handing {
        handed: Mutex::new(Handed {
            results: Vec::new(),
            running: workers,
        }),
        arrived: Signal::default(),
    };
    std::thread::scope(|scope| -> io::Result<()> {
        for _ in 0..workers {
            let (next, stop, frontier, work) = (&next, &stop, &frontier, &work);
            let handing = &handing;
            let (halt, panicked) = (&halt, &panicked);
            let waiting_pins = &waiting_pins;
            let spawned = std::thread::Builder::new()
                .stack_size(THREAD_STACK)
                .spawn_scoped(scope, move || {
                    use std::sync::atomic::Ordering::{Acquire, Relaxed};
                    let _leaving = Leaving(handing);
                    loop {
                        let unit = next.fetch_add(1, Relaxed);
                        if unit >= dirs.len() {
                            return;
                        }
                        let (first, lock, moved) = frontier;
                        // The worker of the first unfinished folder never waits.
                        let must_wait = || {
                            let first = first.load(Acquire);
                            unit > first
                                && (unit >= first + window
                                    || waiting_pins.load(Relaxed) > MAX_PINS_WAITING)
                                && !stop.load(Relaxed)
                        };
                        if must_wait() {
                            // Asked again under the lock the mover takes before signalling.
                            let mut waiting = lock.lock().unwrap_or_else(|e| e.into_inner());
                            while must_wait() {
                                waiting = moved.wait(waiting);
                            }
                        }
                        if stop.load(Relaxed) {
                            return;
                        }
                        // A panic must not leave the others waiting for this folder forever.
                        let worked = std::panic::catch_unwind(AssertUnwindSafe(|| work(unit)));
                        let Ok(result) = worked else {
                            *panicked.lock().unwrap_or_else(|e| e.into_inner()) = Some(unit);
                            halt();
                            return;
                        };
                        waiting_pins.fetch_add(result.0.len(), Relaxed);
                        let mut handed = handing.lock();
                        handed.results.push((unit, result));
                        // Read under the lock the main thread takes before it waits, after it
                        // moved the frontier: if it waits for this folder, this sees so.
                        let awaited = unit == first.load(Acquire);
                        drop(handed);
                        if awaited {
                            handing.arrived.notify_all();
                        }
                    }
                });
            if let Err(error) = spawned {
                halt();
                return Err(error);
            }
        }
        // A panic in `on_pin` (a bug) must not leave workers waiting for a frontier that no
        // longer moves: the scope would wait for them forever instead of failing.
        let _halt_on_unwind = HaltOnUnwind(&halt);
        let mut done: BTreeMap<usize, (Vec<Pin>, R)> = BTreeMap::new();
        let mut waiting: BinaryHeap<Reverse<Waiting>> = BinaryHeap::new();
        let mut first = 0;
        let mut found = 0;
        'receive: loop {
            // Until the first unfinished folder is handed, or no worker runs (all folders
            // done, or the scan halted).
            let mut handed = handing.lock();
            loop {
                done.extend(handed.results.drain(..));
                if done.contains_key(&first) || handed.running == 0 {
                    break;
                }
                handed = handing.arrived.wait(handed);
            }
            drop(handed);
            if !done.contains_key(&first) {
                break;
            }
            let moved_from = first;
            while let Some((pins, rest)) = done.remove(&first) {
                rests.push(rest);
                for pin in pins {
                    let key = (path_key(&pin.file), pin.line, pin.column, pin.kind, found);
                    found += 1;
                    waiting.push(Reverse(Waiting { key, pin }));
                }
                first += 1;
                let bound = dirs.get(first).map(|dir| path_key(dir));
                while let Some(Reverse(next)) = waiting.peek() {
                    if bound.as_ref().is_some_and(|bound| next.key.0 >= *bound) {
                        break;
                    }
                    let Some(Reverse(next)) = waiting.pop() else {
                        break;
                    };
                    waiting_pins.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    if on_pin(next.pin).is_break() {
                        halt();
                        break 'receive;
                    }
                }
            }
            if first != moved_from {
                let (frontier_first, lock, moved) = &frontier;
                // Stored before the list is locked again: a worker that hands `first` after
                // that reads it under the list's lock and wakes the main thread. Not to be moved
                // after that lock.
                frontier_first.store(first, std::sync::atomic::Ordering::Release);
                // Taken and let go: a worker that found it must wait is then waiting, counted
                // by the signal, or will see the move when it asks again under the lock. Not to
                // be removed: without it, a worker between its check under the lock and its
                // wait is not counted yet, the signal wakes nobody, and it sleeps for good (no
                // test catches that race every time).
                drop(lock.lock().unwrap_or_else(|e| e.into_inner()));
                moved.notify_all();
            }
        }
        Ok(())
    })?;
    if let Some(unit) = panicked.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(io::Error::other(format!(
            "an internal error stopped the scan in {} (a bug in upkeep; please report it)",
            dirs[unit].display()
        )));
    }
    Ok(rests)
}

#[cfg(test)]
mod tests {
    use super::{path_key, run};
    use crate::pin::{Pin, PinKind, PinStatus};
    use std::ops::ControlFlow;
    use std::path::{Path, PathBuf};
    use std::sync::mpsc;

    fn pin(file: &str, line: usize) -> Pin {
        Pin {
            kind: PinKind::Image,
            name: format!("{file}:{line}"),
            canonical: String::new(),
            version: None,
            status: PinStatus::Pinned,
            file: PathBuf::from(file),
            line,
            column: 1,
            span: 0..0,
            via: None,
            users: Vec::new(),
            digest: None,
            constraint: None,
            expression: None,
            repository: None,
            ignored_by_terraform: false,
            shadows: Vec::new(),
            linked: Vec::new(),
        }
    }

    /// What `test` returns, run on its own thread, so that a thread never woken fails the
    /// test (after a minute, `stuck` saying what did not happen) instead of hanging it.
    fn within_a_minute<T: Send + 'static>(
        stuck: &str,
        test: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let (done, result) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(test());
        });
        result
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect(stuck)
    }

    #[test]
    fn pins_come_out_in_report_order_whatever_the_threads_and_timing() {
        // Folders in path order; a folder's values files may lie in folders below it, which
        // sort after folders that come later (`a/sub` after `a/other`).
        let dirs = ["", "a", "a/other", "a-b", "b"];
        let files: [&[(&str, usize)]; 5] = [
            &[("z.tf", 1), ("docs/values.yaml", 2)],
            &[("a/main.tf", 3), ("a/main.tf", 1), ("a/sub/values.yaml", 1)],
            &[("a/other/main.tf", 9)],
            &[("a-b/main.tf", 1), ("a-b/main.tf", 1)],
            &[("b/x.tf", 2), ("b/deep/values.yaml", 1)],
        ];
        let mut expected: Vec<Pin> = files
            .iter()
            .flat_map(|unit| unit.iter().map(|(file, line)| pin(file, *line)))
            .collect();
        expected.sort_by_cached_key(|pin| (path_key(&pin.file), pin.line, pin.column, pin.kind));
        let dirs: Vec<&Path> = dirs.iter().map(Path::new).collect();
        for threads in 1..=4 {
            let work = |unit: usize| -> (Vec<Pin>, ()) {
                // Later folders finish first, so results arrive out of order.
                std::thread::sleep(std::time::Duration::from_millis(5 * (5 - unit as u64)));
                let pins = files[unit].iter().map(|(f, l)| pin(f, *l)).collect();
                (pins, ())
            };
            let mut out = Vec::new();
            let rests = run(
                &dirs,
                threads,
                work,
                |pin| {
                    out.push(pin);
                    ControlFlow::Continue(())
                },
                || {},
            )
            .expect("threads");
            assert_eq!(rests.len(), dirs.len());
            assert_eq!(out, expected, "{threads} threads");
        }
    }

    #[test]
    fn folders_past_the_window_wait_for_the_first_and_are_woken_when_it_is_done() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
        for threads in 2..=4 {
            let window = threads * super::AHEAD_PER_WORKER;
            let stuck = "the workers past the window were woken";
            let (out, early) = within_a_minute(stuck, move || {
                let names: Vec<String> = (0..window * 3).map(|i| format!("d{i:05}")).collect();
                let dirs: Vec<&Path> = names.iter().map(Path::new).collect();
                let (first_done, early, within) = (
                    AtomicBool::new(false),
                    AtomicUsize::new(0),
                    AtomicUsize::new(0),
                );
                let work = |unit: usize| -> (Vec<Pin>, ()) {
                    if unit == 0 {
                        // Done only once every other folder within the window is: those
                        // past it are waiting by then, or about to.
                        while within.load(SeqCst) < window - 1 {
                            std::thread::yield_now();
                        }
                        first_done.store(true, SeqCst);
                    } else if unit < window {
                        within.fetch_add(1, SeqCst);
                    } else if !first_done.load(SeqCst) {
                        early.fetch_add(1, SeqCst);
                    }
                    (vec![pin(&format!("{}/x.tf", names[unit]), 1)], ())
                };
                let mut out = 0;
                run(
                    &dirs,
                    threads,
                    work,
                    |_| {
                        out += 1;
                        ControlFlow::Continue(())
                    },
                    || {},
                )
                .expect("threads");
                (out, early.load(SeqCst))
            });
            assert_eq!(out, window * 3, "{threads} threads");
            assert_eq!(early, 0, "{threads} threads: started past the window");
        }
    }

    #[test]
    fn the_main_thread_is_woken_when_the_first_unfinished_folder_is_handed() {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        let out = within_a_minute("the main thread was woken by the first folder", || {
            let dirs: Vec<&Path> = ["a", "b", "c"].iter().map(Path::new).collect();
            let handed_a = AtomicBool::new(false);
            // `b` and `c` wait until `a`'s pin has been handed on: both workers are busy, so
            // only `a`'s arrival can wake the main thread, not a worker stopping. `a` is done
            // late enough that the main thread is waiting by then (handed before the main thread
            // first looks, `a` would be taken without a wake-up).
            let work = |unit: usize| -> (Vec<Pin>, ()) {
                if unit == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                } else {
                    while !handed_a.load(SeqCst) {
                        std::thread::yield_now();
                    }
                }
                (vec![pin(["a/x.tf", "b/x.tf", "c/x.tf"][unit], 1)], ())
            };
            let mut out = Vec::new();
            run(
                &dirs,
                2,
                work,
                |pin| {
                    handed_a.store(true, SeqCst);
                    out.push(pin.file);
                    ControlFlow::Continue(())
                },
                || {},
            )
            .expect("threads");
            out
        });
        let expected: Vec<PathBuf> = ["a/x.tf", "b/x.tf", "c/x.tf"].map(PathBuf::from).into();
        assert_eq!(out, expected);
    }

    #[test]
    fn a_panic_handing_a_pin_on_fails_the_scan_instead_of_hanging_it() {
        // Workers left waiting would hang the scan.
        let panicked = within_a_minute("the scan stopped", || {
            let names: Vec<String> = (0..1000).map(|i| format!("d{i:04}")).collect();
            let dirs: Vec<&Path> = names.iter().map(Path::new).collect();
            // The first folder is done last, so the workers are waiting past the window by
            // the time its pin is handed on.
            let work = |unit: usize| -> (Vec<Pin>, ()) {
                if unit == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                (vec![pin(&format!("{}/x.tf", names[unit]), 1)], ())
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(&dirs, 2, work, |_| panic!("a bug in a printer"), || {})
            }));
            outcome.is_err()
        });
        assert!(panicked, "the printer's panic reaches the caller");
    }

    #[test]
    fn a_break_stops_the_scan() {
        let dirs: Vec<&Path> = ["a", "b", "c"].iter().map(Path::new).collect();
        let work = |unit: usize| -> (Vec<Pin>, ()) {
            (vec![pin(["a/x.tf", "b/x.tf", "c/x.tf"][unit], 1)], ())
        };
        let mut seen = 0;
        run(
            &dirs,
            2,
            work,
            |_| {
                seen += 1;
                ControlFlow::Break(())
            },
            || {},
        )
        .expect("threads");
        assert_eq!(seen, 1);
    }

    #[test]
    fn a_folder_whose_work_panics_fails_the_scan_instead_of_hanging_it() {
        let dirs: Vec<&Path> = ["a", "b", "c", "d"].iter().map(Path::new).collect();
        // Folders after `b` wait, as a module waits for its callers, until `b` is done.
        let done = std::sync::atomic::AtomicBool::new(false);
        let halted = std::sync::atomic::AtomicBool::new(false);
        let work = |unit: usize| -> (Vec<Pin>, ()) {
            use std::sync::atomic::Ordering::SeqCst;
            match unit {
                1 => panic!("a bug in a parser"),
                2 | 3 => {
                    while !done.load(SeqCst) && !halted.load(SeqCst) {
                        std::thread::yield_now();
                    }
                }
                _ => {}
            }
            (Vec::new(), ())
        };
        let halt = || halted.store(true, std::sync::atomic::Ordering::SeqCst);
        let error =
            run(&dirs, 2, work, |_| ControlFlow::Continue(()), halt).expect_err("the scan fails");
        assert!(error.to_string().contains("in b"), "{error}");
        assert!(halted.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn path_key_orders_like_path_comparison() {
        let names = [
            "stacks/a-b/x.tf",
            "stacks/a/x.tf",
            "stacks/a/b/y.tf",
            "stacks/ab/x.tf",
            "stacks/a.tf",
            "z.tf",
            "stacks/a b/x.tf",
        ];
        let mut by_path: Vec<&Path> = names.iter().map(Path::new).collect();
        let mut by_key = by_path.clone();
        by_path.sort();
        by_key.sort_by_key(|path| path_key(path));
        assert_eq!(by_key, by_path);
    }
}
