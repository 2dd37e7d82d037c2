//! A condition variable that makes no system call when nobody waits on it.
//!
//! The standard library's `Condvar::notify_all` always asks the kernel to wake waiters, even
//! when there are none. The scan's threads signal after every file read ahead, every part of
//! a folder and every folder loaded, and almost never does anyone wait: on the user's
//! repository that was over a thousand `futex` calls a scan, one in five of them from
//! [`crate::climbs`] alone. A [`Signal`] counts its waiters and wakes only when there are some.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, MutexGuard};
use std::time::Duration;

/// A `Condvar` that knows whether anyone waits on it.
///
/// The contract is the usual one: the state waited for is changed while holding the mutex
/// whose guard [`Signal::wait`] is given, and [`Signal::notify_all`] is called after that
/// change (holding the mutex or not). A waiter counts itself before its guard is released, so
/// a notifier that changed the state after that release also sees the count, and wakes it.
#[derive(Default)]
pub(crate) struct Signal {
    condvar: Condvar,
    /// Threads in [`Signal::wait`] or [`Signal::wait_timeout`].
    waiting: AtomicUsize,
}

impl Signal {
    /// Waits for a [`Signal::notify_all`] (or a spurious wake-up), releasing `guard` meanwhile.
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let guard = self.condvar.wait(guard).unwrap_or_else(|e| e.into_inner());
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        guard
    }

    /// As [`Signal::wait`], for at most `timeout`.
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> MutexGuard<'a, T> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let (guard, _) = self
            .condvar
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|e| e.into_inner());
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        guard
    }

    /// Wakes every waiter, if there is one.
    pub(crate) fn notify_all(&self) {
        // The waiter's count happened before it released the mutex, and the notifier's change
        // after it took the mutex: this load sees the count (see the type's contract).
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.condvar.notify_all();
        }
    }

    /// Whether a thread is waiting (or about to, or just woke).
    #[cfg(test)]
    fn has_waiters(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::Signal;
    use std::sync::{Mutex, mpsc};
    use std::time::Duration;

    /// How long a test waits for a thread that should have been woken, before failing.
    const GIVE_UP: Duration = Duration::from_secs(20);

    #[test]
    fn a_waiter_is_woken_by_a_change_made_after_it_started_waiting() {
        let (state, signal) = (Mutex::new(false), Signal::default());
        let (woke, woken) = mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut done = state.lock().unwrap();
                while !*done {
                    done = signal.wait(done);
                }
                woke.send(()).unwrap();
            });
            // Only once the waiter has counted itself (it holds the mutex until it waits).
            while !signal.has_waiters() {
                std::thread::yield_now();
            }
            *state.lock().unwrap() = true;
            signal.notify_all();
            let woken = woken.recv_timeout(GIVE_UP).is_ok();
            if !woken {
                signal.condvar.notify_all(); // so the scope can end and the test fail
            }
            assert!(woken, "the waiter was not woken");
        });
    }

    #[test]
    fn many_waiters_and_notifiers_never_lose_a_wake_up() {
        // Waiters wait for a counter to reach their number; notifiers raise it one at a time.
        // A lost wake-up leaves a waiter asleep: no timeout would save it here.
        for _ in 0..50 {
            let (state, signal) = (Mutex::new(0usize), Signal::default());
            let (woke, woken) = mpsc::channel();
            std::thread::scope(|scope| {
                for wanted in 1..=4 {
                    let (state, signal, woke) = (&state, &signal, woke.clone());
                    scope.spawn(move || {
                        let mut count = state.lock().unwrap();
                        while *count < wanted {
                            count = signal.wait(count);
                        }
                        woke.send(wanted).unwrap();
                    });
                }
                for _ in 0..4 {
                    scope.spawn(|| {
                        *state.lock().unwrap() += 1;
                        signal.notify_all();
                    });
                }
                let all = (0..4).all(|_| woken.recv_timeout(GIVE_UP).is_ok());
                if !all {
                    // So the scope can end and the test fail.
                    *state.lock().unwrap() = usize::MAX;
                    signal.condvar.notify_all();
                }
                assert!(all, "a waiter was never woken");
            });
        }
    }

    #[test]
    fn nobody_waiting_is_nobody_to_wake() {
        let signal = Signal::default();
        assert!(!signal.has_waiters());
        signal.notify_all();
        let state = Mutex::new(());
        let guard = signal.wait_timeout(state.lock().unwrap(), Duration::from_millis(1));
        drop(guard);
        assert!(!signal.has_waiters(), "a waiter that returned still counts");
    }
}
