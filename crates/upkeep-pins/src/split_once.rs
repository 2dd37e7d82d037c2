//! A value built once from parts by every thread that asks for it while it is being built:
//! each takes the next part nobody has taken, so a second thread helps the first instead of
//! waiting for it. A folder's files are read this way: a caller loading the module below it
//! and the module's own scan, which the workers start side by side, split the module's files.

use crate::signal::Signal;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A value of type `V` joined from parts of type `P`, built at most once.
pub(crate) struct SplitOnce<P, V> {
    /// The next part nobody has taken.
    next: AtomicUsize,
    state: Mutex<State<P, V>>,
    /// Signalled when the last part is made, or a part failed.
    finished: Signal,
}

struct State<P, V> {
    /// The parts made so far, by index.
    parts: Vec<Option<P>>,
    /// How many parts were made (or failed).
    made: usize,
    value: Option<Arc<V>>,
    /// A part panicked: the value will never be built.
    failed: bool,
}

impl<P, V> Default for SplitOnce<P, V> {
    fn default() -> Self {
        SplitOnce {
            next: AtomicUsize::new(0),
            state: Mutex::new(State {
                parts: Vec::new(),
                made: 0,
                value: None,
                failed: false,
            }),
            finished: Signal::default(),
        }
    }
}

impl<P, V> SplitOnce<P, V> {
    fn lock(&self) -> MutexGuard<'_, State<P, V>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value: `join` of parts `part(0)`, …, `part(count - 1)` in that order, each made by
    /// whichever asking thread took it first. Every call must give the same `count`, and
    /// `part` and `join` must not depend on the thread. A thread waits only for parts other
    /// threads are making. A panic in `part` or `join` goes on in its thread, and every thread
    /// that waits for the value, or asks later, panics too ("a part was lost…"), so none waits
    /// forever.
    pub(crate) fn get(
        &self,
        count: usize,
        part: impl Fn(usize) -> P,
        join: impl FnOnce(Vec<P>) -> V,
    ) -> Arc<V> {
        {
            let mut state = self.lock();
            if let Some(value) = &state.value {
                return Arc::clone(value);
            }
            debug_assert!(state.parts.is_empty() || state.parts.len() == count);
            if state.parts.len() < count {
                state.parts.resize_with(count, || None);
            }
        }
        loop {
            if self.lock().failed {
                break;
            }
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= count {
                break;
            }
            let made = std::panic::catch_unwind(AssertUnwindSafe(|| part(index)));
            let mut state = self.lock();
            state.made += 1;
            let panic = match made {
                Ok(made) => {
                    state.parts[index] = Some(made);
                    None
                }
                Err(panic) => {
                    state.failed = true;
                    Some(panic)
                }
            };
            if state.made >= count || state.failed {
                self.finished.notify_all();
            }
            drop(state);
            if let Some(panic) = panic {
                std::panic::resume_unwind(panic);
            }
        }
        let mut state = self.lock();
        while state.value.is_none() && !state.failed && state.made < count {
            state = self.finished.wait(state);
        }
        if let Some(value) = &state.value {
            return Arc::clone(value);
        }
        assert!(
            !state.failed,
            "a part was lost to a panic on another thread"
        );
        let parts = std::mem::take(&mut state.parts)
            .into_iter()
            .map(|part| part.expect("every part made"))
            .collect();
        // Failed until joined: were `join` to panic, the parts are gone.
        state.failed = true;
        let value = Arc::new(join(parts));
        state.failed = false;
        state.value = Some(Arc::clone(&value));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::SplitOnce;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    #[test]
    fn parts_are_made_once_joined_in_order_and_the_value_is_shared() {
        let split = SplitOnce::<usize, Vec<usize>>::default();
        let calls = AtomicUsize::new(0);
        let part = |index: usize| {
            calls.fetch_add(1, Ordering::Relaxed);
            index * 10
        };
        let first = split.get(5, part, |parts| parts);
        assert_eq!(*first, vec![0, 10, 20, 30, 40]);
        let again = split.get(5, part, |_| unreachable!("joined once"));
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(calls.load(Ordering::Relaxed), 5);
        let empty = SplitOnce::<usize, Vec<usize>>::default();
        assert!(empty.get(0, part, |parts| parts).is_empty());
    }

    #[test]
    fn a_second_thread_makes_parts_the_first_has_not_taken() {
        // The first part waits until another thread has made a part: were one thread to make
        // every part in turn, as with a OnceLock, it would give up waiting and say so.
        let split = SplitOnce::<(usize, String, bool), Vec<(usize, String, bool)>>::default();
        let (made, heard) = std::sync::mpsc::channel::<()>();
        let heard = std::sync::Mutex::new(heard);
        let part = |index: usize| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            let helped = if index == 0 {
                let heard = heard.lock().expect("lock");
                heard.recv_timeout(Duration::from_secs(30)).is_ok()
            } else {
                made.send(()).expect("sent");
                true
            };
            (index, name, helped)
        };
        let values: Vec<Arc<Vec<(usize, String, bool)>>> = std::thread::scope(|scope| {
            let spawn = |name: &str| {
                let (split, part) = (&split, &part);
                std::thread::Builder::new()
                    .name(name.to_owned())
                    .spawn_scoped(scope, move || split.get(2, part, |parts| parts))
                    .expect("spawned")
            };
            let first = spawn("first");
            // The first takes part 0 before the second starts.
            while split.next.load(Ordering::Relaxed) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let second = spawn("second");
            vec![first.join().expect("first"), second.join().expect("second")]
        });
        assert!(Arc::ptr_eq(&values[0], &values[1]));
        let parts = &*values[0];
        assert_eq!(parts[0], (0, "first".to_owned(), true), "helped meanwhile");
        assert_eq!(parts[1], (1, "second".to_owned(), true));
    }

    #[test]
    fn a_part_that_panics_fails_its_thread_and_every_thread_waiting_for_it() {
        let split = SplitOnce::<usize, Vec<usize>>::default();
        let taken = Barrier::new(2);
        let part = |index: usize| {
            if index == 0 {
                taken.wait();
                std::thread::sleep(Duration::from_millis(20));
                panic!("a bug in part 0");
            }
            index
        };
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| split.get(2, part, |parts| parts));
            while split.next.load(Ordering::Relaxed) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let second = scope.spawn(|| {
                taken.wait();
                split.get(2, part, |parts| parts)
            });
            (first.join(), second.join())
        });
        assert!(first.is_err(), "the part's own thread panics");
        assert!(second.is_err(), "the waiting thread does not wait forever");
    }

    #[test]
    fn a_join_that_panics_leaves_no_value_to_build_from_nothing() {
        let split = SplitOnce::<usize, Vec<usize>>::default();
        let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            split.get(2, |index| index, |_| panic!("a bug in join"))
        }));
        assert!(joined.is_err());
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            split.get(2, |index| index, |parts| parts)
        }));
        let panic = again.expect_err("no value joined from parts that are gone");
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        assert!(message.contains("a part was lost"), "{message}");
    }
}
