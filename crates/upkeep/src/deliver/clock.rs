//! Time for the waits of a bump (CI polling, verification windows). The real clock sleeps;
//! the virtual one (`UPKEEP_VIRTUAL_CLOCK=1`, for tests and rehearsals) advances instantly,
//! so a ten-minute verification runs in milliseconds with the same logic.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// A clock.
pub enum Clock {
    /// Wall time.
    Real(Instant),
    /// Time that passes only when slept.
    Virtual(Cell<Duration>),
}

impl Clock {
    /// The virtual clock when `UPKEEP_VIRTUAL_CLOCK` is set, else the real one.
    pub fn from_env() -> Clock {
        match std::env::var_os("UPKEEP_VIRTUAL_CLOCK") {
            Some(value) if !value.is_empty() && value != "0" => {
                Clock::Virtual(Cell::new(Duration::ZERO))
            }
            _ => Clock::Real(Instant::now()),
        }
    }

    /// Time since the clock started.
    pub fn elapsed(&self) -> Duration {
        match self {
            Clock::Real(start) => start.elapsed(),
            Clock::Virtual(now) => now.get(),
        }
    }

    /// Waits `duration`.
    pub fn sleep(&self, duration: Duration) {
        match self {
            Clock::Real(_) => std::thread::sleep(duration),
            Clock::Virtual(now) => now.set(now.get() + duration),
        }
    }
}
