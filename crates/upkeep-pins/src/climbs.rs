//! The module sources that climb out of their folder (`source = "../modules/app"`), read from
//! every Terraform file while the tree is walked: which folders are called from elsewhere is
//! known only once all of them are read, and every folder's scan waits for that. The walk
//! hands each file to the readers of [`crate::read_ahead`] (reading them took a sixth of the
//! walk's thread), which read it first, before what they parse; at its end the walk takes back
//! the files no reader has started and reads them itself, so it never waits for a parse.

use crate::calls;
use crate::read_ahead::Listed;
use crate::signal::Signal;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

/// A module source that climbs out of its folder: `(folder of the call, source)`.
pub(crate) type Climbing = (PathBuf, String);

/// The module sources of `text`, the Terraform file at `rel`, that climb out of its folder.
pub(crate) fn sources_in(rel: &Path, text: &str) -> Vec<Climbing> {
    let dir = rel.parent().map(Path::to_path_buf).unwrap_or_default();
    calls::climbing_sources(text)
        .into_iter()
        .map(|source| (dir.clone(), source.to_owned()))
        .collect()
}

/// What the readers were handed and what they found.
#[derive(Default)]
pub(crate) struct Climbs {
    state: Mutex<State>,
    /// Signalled when a reader has read a file it was handed.
    read: Signal,
}

#[derive(Default)]
struct State {
    /// Files handed to the readers and not read yet.
    pending: usize,
    /// What was read so far.
    sources: Vec<Climbing>,
    /// Files whose reading panicked on a reader's thread: the walk reads them again, so a
    /// bug surfaces on its thread instead of a source going missing.
    lost: Vec<Listed>,
}

impl Climbs {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A file is about to be handed to the readers.
    pub(crate) fn hand(&self) {
        self.lock().pending += 1;
    }

    /// The file [`Climbs::hand`] announced could not be handed (the readers are that far
    /// behind): the walk reads it itself.
    pub(crate) fn not_handed(&self) {
        self.done_one(&mut self.lock());
    }

    /// One handed file less to wait for.
    fn done_one(&self, state: &mut State) {
        debug_assert!(state.pending > 0, "a handed file was read twice");
        state.pending = state.pending.saturating_sub(1);
    }

    /// A reader read `file`, handed to it: its sources, or `None` when the reading panicked.
    pub(crate) fn read(&self, file: &Listed, sources: Option<Vec<Climbing>>) {
        let mut state = self.lock();
        self.done_one(&mut state);
        match sources {
            Some(sources) => state.sources.extend(sources),
            None => state.lost.push(Listed {
                rel: file.rel.clone(),
                ..*file
            }),
        }
        drop(state);
        self.read.notify_all();
    }

    /// At the end of the walk: every handed file's sources. The files still in `listed` that
    /// were handed for their sources are taken back and read with `read_here`; they and the
    /// other files taken are returned, to be listed again for parsing. Then it waits for the
    /// files a reader is reading, which takes one read, not a parse. A reader waiting for the
    /// next file holds `listed`, and takes what is left at once.
    pub(crate) fn finish(
        &self,
        listed: &Mutex<Receiver<Listed>>,
        mut read_here: impl FnMut(&Listed) -> Vec<Climbing>,
    ) -> (Vec<Climbing>, Vec<Listed>) {
        let mut others = Vec::new();
        loop {
            let receiver = match listed.try_lock() {
                Ok(receiver) => Some(receiver),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(receiver) = receiver {
                while let Ok(file) = receiver.try_recv() {
                    if file.climbing {
                        let sources = read_here(&file);
                        self.read(&file, Some(sources));
                    }
                    others.push(Listed {
                        climbing: false,
                        ..file
                    });
                }
                // Released before waiting: a reader may need it to finish its file.
                drop(receiver);
            }
            let state = self.lock();
            if state.pending == 0 {
                break;
            }
            // Woken by each file read. The timeout is for the list: a reader may have held it
            // above (`try_lock`), and files still in it are then taken back on the next turn.
            drop(self.read.wait_timeout(state, Duration::from_millis(1)));
        }
        let lost = std::mem::take(&mut self.lock().lost);
        let mut found: Vec<Climbing> = lost.iter().flat_map(&mut read_here).collect();
        found.extend(std::mem::take(&mut self.lock().sources));
        (found, others)
    }
}

#[cfg(test)]
mod tests {
    use super::{Climbing, Climbs};
    use crate::hcl::Flavor;
    use crate::read_ahead::Listed;
    use crate::scan::FileType;
    use std::path::PathBuf;
    use std::sync::mpsc::{self, Receiver};
    use std::sync::{Mutex, MutexGuard};
    use std::time::Duration;

    fn listed(rel: &str, climbing: bool) -> Listed {
        Listed {
            rel: PathBuf::from(rel),
            linked: false,
            file_type: FileType::Hcl(Flavor::Terraform),
            climbing,
        }
    }

    fn sources_of(file: &Listed) -> Vec<Climbing> {
        vec![(file.rel.clone(), "../m".to_owned())]
    }

    /// [`Climbs::finish`] on another thread: its sources, sorted, and the files it gave back;
    /// a test failure, not a hang, when it does not return within 10 s.
    fn finish(climbs: &Climbs, queue: &Mutex<Receiver<Listed>>) -> (Vec<Climbing>, Vec<Listed>) {
        std::thread::scope(|scope| {
            let (done, finished) = mpsc::channel();
            scope.spawn(move || {
                let _ = done.send(climbs.finish(queue, sources_of));
            });
            let (mut found, others) = finished
                .recv_timeout(Duration::from_secs(10))
                .expect("finish returned");
            found.sort();
            (found, others)
        })
    }

    fn sources(rels: &[&str]) -> Vec<Climbing> {
        rels.iter()
            .map(|rel| (PathBuf::from(rel), "../m".to_owned()))
            .collect()
    }

    #[test]
    fn files_no_reader_started_are_taken_back_and_read_by_the_walk() {
        let climbs = Climbs::default();
        let (list, queue) = mpsc::sync_channel(8);
        for (rel, climbing) in [("a.tf", true), ("values.yaml", false), ("b.tf", true)] {
            if climbing {
                climbs.hand();
            }
            list.try_send(listed(rel, climbing)).expect("room");
        }
        // No reader at all: the walk must not wait for one.
        let (found, others) = finish(&climbs, &Mutex::new(queue));
        assert_eq!(found, sources(&["a.tf", "b.tf"]));
        // All go back on the list, to be parsed; none to be read for its sources again.
        let others: Vec<(PathBuf, bool)> = others
            .into_iter()
            .map(|file| (file.rel, file.climbing))
            .collect();
        assert_eq!(
            others,
            [
                (PathBuf::from("a.tf"), false),
                (PathBuf::from("values.yaml"), false),
                (PathBuf::from("b.tf"), false)
            ]
        );
    }

    #[test]
    fn the_walk_waits_for_a_file_a_reader_is_reading_and_reads_again_one_it_lost() {
        let climbs = Climbs::default();
        let (_list, queue) = mpsc::sync_channel::<Listed>(8);
        let queue = Mutex::new(queue);
        climbs.hand();
        climbs.hand();
        climbs.read(&listed("lost.tf", true), None);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                // A reader still at its file when the walk ends.
                std::thread::sleep(Duration::from_millis(50));
                let slow = listed("slow.tf", true);
                climbs.read(&slow, Some(sources_of(&slow)));
            });
            let (found, others) = finish(&climbs, &queue);
            assert_eq!(found, sources(&["lost.tf", "slow.tf"]));
            assert!(others.is_empty());
        });
    }

    #[test]
    fn a_reader_waiting_on_the_list_does_not_keep_the_walk_waiting() {
        let climbs = Climbs::default();
        let (_list, queue) = mpsc::sync_channel::<Listed>(8);
        let queue = Mutex::new(queue);
        climbs.hand();
        let (walk_done, wait_for_walk) = mpsc::channel::<()>();
        let (held, list_held) = mpsc::channel::<()>();
        let (reader_queue, reader_climbs) = (&queue, &climbs);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                // A reader that read its file and now waits for the next one, holding the
                // list as a reader blocked in `recv` does, until the walk is over.
                let _waiting: MutexGuard<'_, _> = reader_queue.lock().expect("list");
                let climbs = reader_climbs;
                let file = listed("read.tf", true);
                climbs.read(&file, Some(sources_of(&file)));
                held.send(()).expect("walk listens");
                let _ = wait_for_walk.recv_timeout(Duration::from_secs(20));
            });
            list_held.recv().expect("reader started");
            let (found, _) = finish(&climbs, &queue);
            assert_eq!(found, sources(&["read.tf"]));
            walk_done.send(()).expect("reader listens");
        });
    }
}
