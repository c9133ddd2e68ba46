//! Set-ups that run once per process, without a lock: the one run-once
//! primitive of the library (the configuration, the log file).
//!
//! The first caller runs the set-up and publishes its value with one
//! release store; later callers read it with one acquire load. A caller
//! that finds the set-up running (on another thread, in a signal handler
//! that interrupted it, or in a hook the set-up itself called) does not
//! wait, which could deadlock: it gets `None` and goes on without the
//! value. So it is safe anywhere a hook can run: in signal handlers,
//! forked children (a child forked while a thread was running the set-up
//! never sees it finished, and goes on without it), before the constructor.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

const UNSET: u8 = 0;
const RUNNING: u8 = 1;
const READY: u8 = 2;

/// A value set up once, on first use.
pub struct Once<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written by exactly one caller (the one that moved
// `state` from UNSET to RUNNING) before the release store of READY, and
// only read, as `&T`, after an acquire load sees READY.
unsafe impl<T: Sync> Sync for Once<T> {}

impl<T> Once<T> {
    /// Not set up yet.
    pub const fn new() -> Once<T> {
        Once {
            state: AtomicU8::new(UNSET),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The value, once set up.
    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) != READY {
            return None;
        }
        // SAFETY: READY was observed with acquire ordering, so the single
        // write is complete, and the value is never written again.
        Some(unsafe { (*self.value.get()).assume_init_ref() })
    }

    /// The value, set up by `init` first if no one has started to.
    /// `None` while someone else is setting it up.
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> Option<&T> {
        if let Some(value) = self.get() {
            return Some(value);
        }
        if self
            .state
            .compare_exchange(UNSET, RUNNING, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            let value = init();
            // SAFETY: we moved `state` from UNSET to RUNNING, so no one else
            // writes the cell, and no one reads it before READY.
            unsafe { (*self.value.get()).write(value) };
            self.state.store(READY, Ordering::Release);
        }
        self.get()
    }
}

impl<T> Default for Once<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Once;

    #[test]
    fn the_set_up_runs_once_and_a_nested_caller_goes_on_without_it() {
        static VALUE: Once<u32> = Once::new();
        assert_eq!(VALUE.get(), None);
        let first = VALUE.get_or_init(|| {
            // A caller inside the set-up (a hook it called) does not wait.
            assert_eq!(VALUE.get_or_init(|| 2), None);
            1
        });
        assert_eq!(first, Some(&1));
        assert_eq!(VALUE.get_or_init(|| 3), Some(&1));
        assert_eq!(VALUE.get(), Some(&1));
    }
}
