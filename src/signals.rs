//! Which signal interrupted a call.
//!
//! The program's handlers run behind a trampoline (see
//! [`hooks::signals`](crate::hooks::signals)) that calls [`record`] for
//! each signal it delivers. A hook whose call failed with EINTR asks
//! [`take_interrupting`] which signals ran on its thread since the last
//! look, and whether a SIGALRM among them was the program's own timeout.
//!
//! The record is per thread: a signal handled on one thread did not
//! interrupt a call on another. It lives in a `const`-initialised
//! thread-local atomic (no destructor, so it is safe from `atexit` handlers
//! and thread-key destructors) and is read and cleared with one atomic
//! swap, so a handler that runs between the read and the clear on the same
//! thread cannot be lost. When the thread-local is gone (a thread being torn
//! down), the record falls back to one process-wide atomic.
//!
//! The timer state below says what kind of `ITIMER_REAL` the program armed
//! last (through `alarm`, `ualarm` or `setitimer`): a SIGALRM from a
//! one-shot timer armed outside a SIGALRM handler is the program's own
//! timeout; one from a periodic timer, or from a one-shot timer the
//! handler re-arms every time (a periodic timer in disguise), is not.

use crate::config::SignalSet;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// The signals behind one EINTR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interrupting {
    /// The signals whose handlers ran on this thread since the last look.
    pub signals: SignalSet,
    /// Whether a SIGALRM among them came from a one-shot timer armed
    /// outside a handler: the program's own timeout.
    pub alarm_timeout: bool,
}

crate::per_thread! {
    /// Bit `n - 1`: the handler of signal `n` ran on this thread.
    static RAN: AtomicU64 = const { AtomicU64::new(0) };
    /// A SIGALRM that ran on this thread was the program's own timeout.
    static ALARM_TIMEOUT: AtomicBool = const { AtomicBool::new(false) };
}

/// Where records go when a thread's own are no longer reachable.
static RAN_ANYWHERE: AtomicU64 = AtomicU64::new(0);
static ALARM_TIMEOUT_ANYWHERE: AtomicBool = AtomicBool::new(false);

/// Notes that the handler of `signal` ran on this thread (from the
/// trampoline; async-signal-safe: two atomic operations).
pub fn record(signal: i32) {
    let bits = SignalSet::EMPTY.with(signal).bits();
    if RAN
        .try_with(|ran| ran.fetch_or(bits, Ordering::Relaxed))
        .is_err()
    {
        RAN_ANYWHERE.fetch_or(bits, Ordering::Relaxed);
    }
}

/// Notes that a SIGALRM that just ran on this thread was the program's own
/// timeout (from the trampoline, after the program's handler returned).
pub fn record_alarm_timeout() {
    if ALARM_TIMEOUT
        .try_with(|timeout| timeout.store(true, Ordering::Relaxed))
        .is_err()
    {
        ALARM_TIMEOUT_ANYWHERE.store(true, Ordering::Relaxed);
    }
}

/// The signals whose handlers ran on this thread since the last call, and
/// forgets them. Empty when no handler ran (a stop signal then SIGCONT, a
/// handler installed by a raw system call): such an EINTR is retried.
pub fn take_interrupting() -> Interrupting {
    let local = RAN.try_with(|ran| ran.swap(0, Ordering::Relaxed));
    let alarm_timeout = ALARM_TIMEOUT
        .try_with(|timeout| timeout.swap(false, Ordering::Relaxed))
        .unwrap_or(false);
    let (bits, anywhere_alarm) = match local {
        // The process-wide record is consulted only when this thread ran
        // nothing: it holds what threads without a record saw.
        Ok(0) | Err(_) => (
            RAN_ANYWHERE.swap(0, Ordering::Relaxed),
            ALARM_TIMEOUT_ANYWHERE.swap(false, Ordering::Relaxed),
        ),
        Ok(bits) => (bits, false),
    };
    let signals = SignalSet::from_bits(bits);
    Interrupting {
        signals,
        alarm_timeout: (alarm_timeout || anywhere_alarm) && signals.contains(libc::SIGALRM),
    }
}

/// What kind of `ITIMER_REAL` the program armed last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// None armed (or the one-shot one has fired).
    Disarmed,
    /// A one-shot timer armed outside a SIGALRM handler: a timeout.
    OneShot,
    /// A periodic timer, or a one-shot one that its handler re-arms.
    Periodic,
}

/// The timer state: `arming count << 2 | kind`. The count changes at every
/// arming, so the trampoline can tell whether a handler re-armed the timer.
static TIMER: AtomicU32 = AtomicU32::new(0);

const KIND_BITS: u32 = 0b11;

fn kind_of(state: u32) -> TimerKind {
    match state & KIND_BITS {
        1 => TimerKind::OneShot,
        2 => TimerKind::Periodic,
        _ => TimerKind::Disarmed,
    }
}

fn code_of(kind: TimerKind) -> u32 {
    match kind {
        TimerKind::Disarmed => 0,
        TimerKind::OneShot => 1,
        TimerKind::Periodic => 2,
    }
}

/// A snapshot of the timer state, to compare before and after a handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerState(u32);

impl TimerState {
    /// The kind of timer armed.
    pub fn kind(self) -> TimerKind {
        kind_of(self.0)
    }
}

/// Notes that the program armed (or disarmed) `ITIMER_REAL`.
pub fn timer_armed(kind: TimerKind) {
    let _ = TIMER.fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
        Some((state & !KIND_BITS).wrapping_add(1 << 2) | code_of(kind))
    });
}

/// The timer state now.
pub fn timer_state() -> TimerState {
    TimerState(TIMER.load(Ordering::Acquire))
}

/// After a program's handler returned: whether the signal was a timeout
/// (a SIGALRM sent by a one-shot timer), with the timer state updated to
/// what the kernel now has. `before` is the state when the trampoline
/// began; `by_timer` says the signal is a SIGALRM sent by `ITIMER_REAL`.
///
/// - A timer's SIGALRM whose handler did not re-arm it: a one-shot timer
///   has fired and is now disarmed, and the SIGALRM was a timeout.
/// - A one-shot timer armed while a handler ran (the handler re-arms its
///   own alarm, or another handler arms one): a periodic timer written by
///   hand, so it is marked periodic and its SIGALRMs are not timeouts.
pub fn after_handler(before: TimerState, by_timer: bool) -> bool {
    let after = TIMER.load(Ordering::Acquire);
    if after == before.0 {
        if by_timer && before.kind() == TimerKind::OneShot {
            // Only if no one armed it meanwhile.
            let _ = TIMER.compare_exchange(
                after,
                (after & !KIND_BITS).wrapping_add(1 << 2) | code_of(TimerKind::Disarmed),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
            return true;
        }
        return false;
    }
    if kind_of(after) == TimerKind::OneShot {
        let _ = TIMER.compare_exchange(
            after,
            (after & !KIND_BITS) | code_of(TimerKind::Periodic),
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_taken_once_and_per_thread() {
        record(libc::SIGTERM);
        record(libc::SIGCHLD);
        std::thread::spawn(|| {
            record(libc::SIGUSR1);
        })
        .join()
        .unwrap();
        let taken = take_interrupting();
        assert_eq!(
            taken.signals,
            SignalSet::of(&[libc::SIGTERM, libc::SIGCHLD])
        );
        assert!(!taken.alarm_timeout);
        assert_eq!(take_interrupting(), Interrupting::default());
    }

    #[test]
    fn timer_kinds_follow_arming_and_firing() {
        // One test for the process-wide timer state, so that nothing races it.
        timer_armed(TimerKind::OneShot);
        assert!(
            !after_handler(timer_state(), false),
            "not sent by the timer"
        );
        assert!(
            after_handler(timer_state(), true),
            "a one-shot firing is a timeout"
        );
        assert_eq!(timer_state().kind(), TimerKind::Disarmed);

        timer_armed(TimerKind::OneShot);
        let before = timer_state();
        timer_armed(TimerKind::OneShot); // the handler re-arms it
        assert!(!after_handler(before, true));
        assert_eq!(timer_state().kind(), TimerKind::Periodic);

        let before = timer_state();
        timer_armed(TimerKind::OneShot); // a SIGCHLD handler arms one
        assert!(!after_handler(before, false));
        assert_eq!(timer_state().kind(), TimerKind::Periodic);

        timer_armed(TimerKind::Periodic);
        assert!(!after_handler(timer_state(), true));
        assert_eq!(timer_state().kind(), TimerKind::Periodic);
    }
}
