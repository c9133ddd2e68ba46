//! The `signal` family (`signal`, `bsd_signal`, `ssignal`, `sysv_signal`,
//! `sigset`, `siginterrupt`), emulated on [`super::dispositions`]'s
//! `sigaction` as glibc builds them on its own.

use super::dispositions::{current_handler, install};
use crate::errno;
use crate::signum::{self, SignalSet};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use core::sync::atomic::Ordering;
use libc::{sighandler_t, SA_RESETHAND};

/// glibc's `SIG_HOLD`, for `sigset`.
const SIG_HOLD: sighandler_t = 2;

/// Signals `siginterrupt` made interrupting (bit `n - 1`): `signal` then
/// installs their handlers without SA_RESTART, as glibc does.
static INTERRUPTING: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Installs `handler` for `signal` as the `signal` family does: an empty
/// mask (plus the signal itself when `block_itself`) and `flags`. Returns
/// the previous handler, or SIG_ERR with errno set.
fn install_simple(
    signal: c_int,
    handler: sighandler_t,
    flags: c_int,
    block_itself: bool,
) -> sighandler_t {
    if handler == libc::SIG_ERR || !(1..=signum::MAX).contains(&signal) {
        errno::set(libc::EINVAL);
        return libc::SIG_ERR;
    }
    let mut act = MaybeUninit::<libc::sigaction>::zeroed();
    let mut old = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: zeroed is a valid sigaction; the set functions get a valid
    // set and a signal in range.
    let result = unsafe {
        let act = act.as_mut_ptr();
        (*act).sa_sigaction = handler;
        (*act).sa_flags = flags;
        libc::sigemptyset(&mut (*act).sa_mask);
        if block_itself {
            libc::sigaddset(&mut (*act).sa_mask, signal);
        }
        install(signal, act, old.as_mut_ptr())
    };
    if result < 0 {
        return libc::SIG_ERR;
    }
    // SAFETY: zeroed is valid, and the install filled it.
    unsafe { old.assume_init() }.sa_sigaction
}

/// glibc's `signal`: BSD semantics, the handler stays installed, the signal
/// is blocked while it runs, and calls restart unless `siginterrupt` said
/// otherwise for this signal.
fn bsd_install(signal: c_int, handler: sighandler_t) -> sighandler_t {
    let interrupting = signals_bit(signal) & INTERRUPTING.load(Ordering::Relaxed) != 0;
    let flags = if interrupting { 0 } else { libc::SA_RESTART };
    install_simple(signal, handler, flags, true)
}

/// System V `signal` (what `signal` is under `-std=c99`): the disposition
/// resets to SIG_DFL when the handler runs, the signal is not blocked
/// while it runs, and calls do not restart.
fn sysv_install(signal: c_int, handler: sighandler_t) -> sighandler_t {
    install_simple(signal, handler, SA_RESETHAND | libc::SA_NODEFER, false)
}

fn signals_bit(signal: c_int) -> u64 {
    SignalSet::EMPTY.with(signal).bits()
}

/// `siginterrupt`: whether `signal`'s handler interrupts calls (no
/// SA_RESTART) or lets them restart; remembered for later `signal` calls.
fn set_interrupt(signal: c_int, interrupt: c_int) -> c_int {
    let Some(mut action) = current_handler(signal) else {
        return -1;
    };
    if interrupt != 0 {
        INTERRUPTING.fetch_or(signals_bit(signal), Ordering::Relaxed);
        action.sa_flags &= !libc::SA_RESTART;
    } else {
        INTERRUPTING.fetch_and(!signals_bit(signal), Ordering::Relaxed);
        action.sa_flags |= libc::SA_RESTART;
    }
    // SAFETY: `action` is the program's own current action.
    if unsafe { install(signal, &action, core::ptr::null_mut()) } < 0 {
        return -1;
    }
    0
}

/// System V `sigset`: SIG_HOLD blocks the signal; anything else installs
/// it with no flags and unblocks the signal. Returns SIG_HOLD if the signal
/// was blocked before, else the previous handler.
fn sigset_install(signal: c_int, handler: sighandler_t) -> sighandler_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    let mut was = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is initialised by sigemptyset before sigaddset.
    let valid = unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), signal) == 0
    };
    if !valid {
        return libc::SIG_ERR;
    }
    if handler == SIG_HOLD {
        // SAFETY: valid sets; sigprocmask fills `was` on success.
        if unsafe { libc::sigprocmask(libc::SIG_BLOCK, set.as_ptr(), was.as_mut_ptr()) } < 0 {
            return libc::SIG_ERR;
        }
        // SAFETY: filled by the successful sigprocmask.
        if unsafe { libc::sigismember(was.as_ptr(), signal) } == 1 {
            return SIG_HOLD;
        }
        return current_handler(signal).map_or(libc::SIG_ERR, |a| a.sa_sigaction);
    }
    let previous = install_simple(signal, handler, 0, false);
    if previous == libc::SIG_ERR {
        return libc::SIG_ERR;
    }
    // SAFETY: valid sets; sigprocmask fills `was` on success.
    if unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, set.as_ptr(), was.as_mut_ptr()) } < 0 {
        return libc::SIG_ERR;
    }
    // SAFETY: filled by the successful sigprocmask.
    if unsafe { libc::sigismember(was.as_ptr(), signal) } == 1 {
        SIG_HOLD
    } else {
        previous
    }
}

hooks! {
    pass_through:
    /// `siginterrupt` turned it off); returns the previous handler.
    fn signal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => bsd_install(signal, handler);
    /// `bsd_signal`: the same as `signal`.
    fn bsd_signal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => bsd_install(signal, handler);
    /// `ssignal`: glibc's other name for `signal`.
    fn ssignal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => bsd_install(signal, handler);
    /// `sysv_signal`: one-shot handler, not blocked while it runs, calls
    /// not restarted.
    fn sysv_signal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => sysv_install(signal, handler);
    /// `__sysv_signal`: what `signal` is in strict ISO C (`-std=c99`).
    fn __sysv_signal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => sysv_install(signal, handler);
    /// `sigset(3)`: System V dispositions, SIG_HOLD included.
    fn sigset(signal: c_int, handler: sighandler_t) -> sighandler_t
        => sigset_install(signal, handler);
    /// `siginterrupt(3)`: whether the signal's handler interrupts calls.
    fn siginterrupt(signal: c_int, interrupt: c_int) -> c_int
        => set_interrupt(signal, interrupt);
}
