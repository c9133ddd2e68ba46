//! Which signal interrupted a call.
//!
//! The program's handlers run behind a trampoline (see
//! [`hooks::signals`](crate::hooks::signals)) that calls [`record`] for
//! each signal it delivers while the thread is in a call (a signal handled
//! between calls affects none: see [`crate::restart::in_call`]), with what
//! the delivery showed: who sent it, whether it was the program's own
//! alarm timeout, whether the handler left it at a fatal SIG_DFL. A hook
//! whose call failed with EINTR asks [`take_delivered`] which signals
//! ran on its thread since the last look.
//!
//! The record is per thread: a signal handled on one thread did not
//! interrupt a call on another. It lives in seven per-thread words
//! ([`crate::per_thread!`]: no constructor, no destructor, never torn down,
//! so it is safe from signal handlers, `atexit` handlers and thread-key
//! destructors), each read and cleared with one atomic swap.
//!
//! The timer state below says what kind of `ITIMER_REAL` the program armed
//! last (through `alarm`, `ualarm` or `setitimer`): a SIGALRM from a
//! one-shot timer armed outside a SIGALRM handler is the program's own
//! timeout; one from a periodic timer, or from a one-shot timer the
//! handler re-arms every time (a periodic timer in disguise), is not.

use crate::signum::{self, SignalSet};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Who sent a signal, from its `siginfo_t`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Sender {
    /// Not known (no siginfo, or a code not listed here).
    #[default]
    Unknown,
    /// The kernel itself: `setitimer`'s SIGALRM, a fault, SIGIO.
    Kernel,
    /// A POSIX timer (`timer_create`).
    Timer,
    /// A thread of this process aimed it at this thread (`pthread_kill`,
    /// `tgkill`: SI_TKILL from this process).
    Thread,
    /// This process sent it to itself (`kill(getpid())`, `sigqueue`).
    SelfProcess,
    /// Another process (`kill`, `sigqueue`, `tgkill` from outside).
    Process,
    /// A child changed state (SIGCHLD).
    Child,
}

/// `si_code` values (`<asm-generic/siginfo.h>`). SI_KERNEL: sent by the
/// kernel itself, as `ITIMER_REAL` sends SIGALRM.
const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
const SI_QUEUE: i32 = -1;
const SI_TIMER: i32 = -2;
const SI_TKILL: i32 = -6;

impl Sender {
    /// As reported in events.
    pub const fn name(self) -> &'static str {
        match self {
            Sender::Unknown => "unknown",
            Sender::Kernel => "kernel",
            Sender::Timer => "timer",
            Sender::Thread => "thread",
            Sender::SelfProcess => "self",
            Sender::Process => "process",
            Sender::Child => "child",
        }
    }

    /// Who sent `signal`, from its `si_code` and `si_pid`; `me` gives
    /// this process's id (a system call: asked only for codes that carry
    /// a sender's pid, never for a timer's or the kernel's signals).
    pub fn of(signal: i32, code: i32, pid: i32, me: impl FnOnce() -> i32) -> Sender {
        match code {
            SI_USER | SI_QUEUE | SI_TKILL => Self::sent_by(code, pid == me()),
            SI_TIMER => Sender::Timer,
            SI_KERNEL => Sender::Kernel,
            c if c > 0 && signal == libc::SIGCHLD => Sender::Child,
            c if c > 0 => Sender::Kernel,
            _ => Sender::Unknown,
        }
    }

    /// A signal sent with `kill`, `sigqueue` or `tgkill`, by this process
    /// or another.
    fn sent_by(code: i32, by_me: bool) -> Sender {
        match code {
            SI_USER | SI_QUEUE if by_me => Sender::SelfProcess,
            SI_USER | SI_QUEUE => Sender::Process,
            SI_TKILL if by_me => Sender::Thread,
            _ => Sender::Process,
        }
    }

    fn from_code(code: u8) -> Sender {
        match code {
            1 => Sender::Kernel,
            2 => Sender::Timer,
            3 => Sender::Thread,
            4 => Sender::SelfProcess,
            5 => Sender::Process,
            6 => Sender::Child,
            _ => Sender::Unknown,
        }
    }
}

/// What one delivery showed, noted with its signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Who sent it.
    pub sender: Sender,
    /// A SIGALRM from a one-shot timer armed outside a handler: the
    /// program's own timeout.
    pub alarm_timeout: bool,
    /// The handler left the signal at SIG_DFL (it reset it, or
    /// SA_RESETHAND did), and its default action kills: the next one would
    /// kill the process.
    pub left_fatal: bool,
}

/// The senders of signals 1..=[`signum::MAX`], by number (0 unused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Senders([Sender; signum::SLOTS]);

impl Default for Senders {
    fn default() -> Senders {
        Senders([Sender::Unknown; signum::SLOTS])
    }
}

impl Senders {
    /// Who sent `signal` (the last one noted of that number).
    pub fn of(&self, signal: i32) -> Sender {
        usize::try_from(signal)
            .ok()
            .and_then(|s| self.0.get(s))
            .copied()
            .unwrap_or_default()
    }
}

/// The signals behind one EINTR: those delivered to this thread while it
/// was in a call, since the last look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// The signals whose handlers ran.
    pub signals: SignalSet,
    /// Whether a SIGALRM among them came from a one-shot timer armed
    /// outside a handler: the program's own timeout.
    pub alarm_timeout: bool,
    /// Those a thread of this process aimed at this thread.
    pub thread_aimed: SignalSet,
    /// Those whose handler left them at a fatal SIG_DFL.
    pub left_fatal: SignalSet,
    /// Who sent each.
    pub senders: Senders,
}

crate::per_thread! {
    /// Bit `n - 1`: the handler of signal `n` ran while the thread was in
    /// a call.
    static RAN: AtomicU64 = const { AtomicU64::new(0) };
    /// A SIGALRM among them was the program's own timeout.
    static ALARM_TIMEOUT: AtomicBool = const { AtomicBool::new(false) };
    /// Those a thread of this process aimed at this thread.
    static THREAD_AIMED: AtomicU64 = const { AtomicU64::new(0) };
    /// Those whose handler left them at a fatal SIG_DFL.
    static LEFT_FATAL: AtomicU64 = const { AtomicU64::new(0) };
    /// Who sent each, as three bit planes: bit `n - 1` of plane `k` is bit
    /// `k` of the [`Sender`] code of signal `n`.
    static SENDER_0: AtomicU64 = const { AtomicU64::new(0) };
    static SENDER_1: AtomicU64 = const { AtomicU64::new(0) };
    static SENDER_2: AtomicU64 = const { AtomicU64::new(0) };
}

/// The three planes of the senders, in order.
const SENDER_PLANES: [&crate::per_thread::PerThread<AtomicU64>; 3] =
    [&SENDER_0, &SENDER_1, &SENDER_2];

/// Notes `signal` (whose bit is `bits`) with what its delivery showed.
fn note(bits: u64, delivery: Delivery) {
    let code = delivery.sender as u8;
    for (k, plane) in SENDER_PLANES.iter().enumerate() {
        plane.with(|plane| {
            if code >> k & 1 != 0 {
                plane.fetch_or(bits, Ordering::Relaxed)
            } else {
                plane.fetch_and(!bits, Ordering::Relaxed)
            }
        });
    }
    if delivery.sender == Sender::Thread {
        THREAD_AIMED.with(|set| set.fetch_or(bits, Ordering::Relaxed));
    }
    if delivery.left_fatal {
        LEFT_FATAL.with(|set| set.fetch_or(bits, Ordering::Relaxed));
    }
    if delivery.alarm_timeout {
        ALARM_TIMEOUT.with(|flag| flag.store(true, Ordering::Relaxed));
    }
    RAN.with(|ran| ran.fetch_or(bits, Ordering::Relaxed));
}

/// Notes that the handler of `signal` ran on this thread while it was in
/// a call, with what the delivery showed (from the trampoline;
/// async-signal-safe: atomic operations on per-thread words only).
pub fn record(signal: i32, delivery: Delivery) {
    note(SignalSet::EMPTY.with(signal).bits(), delivery);
}

/// The signals delivered to this thread while it was in a call since the
/// last look, and forgets them. Empty when no handler ran (a stop signal
/// then SIGCONT, a handler installed by a raw system call): such an EINTR
/// is retried.
pub fn take_delivered() -> Delivered {
    let bits = RAN.with(|ran| ran.swap(0, Ordering::Relaxed));
    let planes = SENDER_PLANES.map(|plane| plane.with(|p| p.load(Ordering::Relaxed)));
    let mut senders = Senders::default();
    for (signal, sender) in senders.0.iter_mut().enumerate().skip(1) {
        let bit = 1u64 << (signal - 1);
        let code = planes.iter().enumerate().fold(0u8, |code, (k, plane)| {
            code | (u8::from(plane & bit != 0) << k)
        });
        *sender = Sender::from_code(code);
    }
    let signals = SignalSet::from_bits(bits);
    Delivered {
        signals,
        alarm_timeout: ALARM_TIMEOUT.with(|flag| flag.swap(false, Ordering::Relaxed))
            && signals.contains(libc::SIGALRM),
        thread_aimed: SignalSet::from_bits(
            THREAD_AIMED.with(|set| set.swap(0, Ordering::Relaxed)) & bits,
        ),
        left_fatal: SignalSet::from_bits(
            LEFT_FATAL.with(|set| set.swap(0, Ordering::Relaxed)) & bits,
        ),
        senders,
    }
}

/// Puts back what [`take_delivered`] took, for a later look on this
/// thread (the trampoline passed an EINTR that a hook above it will judge
/// again).
pub fn put_back(delivered: Delivered) {
    for signal in 1..=signum::MAX {
        if delivered.signals.contains(signal) {
            note(
                SignalSet::EMPTY.with(signal).bits(),
                Delivery {
                    sender: delivered.senders.of(signal),
                    alarm_timeout: delivered.alarm_timeout && signal == libc::SIGALRM,
                    left_fatal: delivered.left_fatal.contains(signal),
                },
            );
        }
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
    /// The snapshot as a word, to keep across a handler.
    pub fn to_bits(self) -> u32 {
        self.0
    }

    /// A snapshot kept with [`TimerState::to_bits`].
    pub fn from_bits(bits: u32) -> TimerState {
        TimerState(bits)
    }

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
        let plain = Delivery::default();
        record(libc::SIGTERM, plain);
        record(
            libc::SIGUSR2,
            Delivery {
                sender: Sender::Thread,
                ..plain
            },
        );
        std::thread::spawn(move || record(libc::SIGUSR1, plain))
            .join()
            .unwrap();
        let taken = take_delivered();
        assert_eq!(
            taken.signals,
            SignalSet::of(&[libc::SIGTERM, libc::SIGUSR2])
        );
        assert_eq!(taken.thread_aimed, SignalSet::of(&[libc::SIGUSR2]));
        assert_eq!(taken.senders.of(libc::SIGUSR2), Sender::Thread);
        assert!(!taken.alarm_timeout);
        assert_eq!(take_delivered().signals, SignalSet::EMPTY);
        put_back(taken);
        assert_eq!(take_delivered(), taken);
    }

    #[test]
    fn senders_come_from_si_code_and_si_pid() {
        let me = 100;
        assert_eq!(
            Sender::of(libc::SIGUSR1, SI_TKILL, me, || me),
            Sender::Thread
        );
        assert_eq!(
            Sender::of(libc::SIGUSR1, SI_TKILL, 7, || me),
            Sender::Process
        );
        assert_eq!(
            Sender::of(libc::SIGTERM, SI_USER, 7, || me),
            Sender::Process
        );
        assert_eq!(
            Sender::of(libc::SIGTERM, SI_USER, me, || me),
            Sender::SelfProcess
        );
        assert_eq!(
            Sender::of(libc::SIGALRM, SI_KERNEL, 0, || me),
            Sender::Kernel
        );
        assert_eq!(Sender::of(libc::SIGUSR1, SI_TIMER, 0, || me), Sender::Timer);
        assert_eq!(Sender::of(libc::SIGCHLD, 1, 7, || me), Sender::Child);
        assert_eq!(Sender::of(libc::SIGIO, -5, 0, || me), Sender::Unknown);
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
