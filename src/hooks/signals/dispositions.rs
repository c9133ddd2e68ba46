//! `sigaction`: handlers installed behind the trampoline, and reported as
//! the program installed them.

use super::table::{Installing, ACTIONS, ASKED, ASKED_RESTART, ASKED_SIGINFO};
use super::trampoline::{enter, leave, trampoline_address};
use crate::arch;
use crate::real;
use crate::restart;
use core::ffi::c_int;
use core::mem::MaybeUninit;
use core::sync::atomic::Ordering;
use libc::{SA_RESETHAND, SA_RESTART, SA_SIGINFO};

/// Turns what the kernel reports into what the program installed: its
/// handler in place of the trampoline, and SA_SIGINFO and SA_RESTART only
/// if it asked.
fn as_installed(reported: &mut libc::sigaction, word: usize, trampolined: bool) {
    let asked_siginfo = word & ASKED_SIGINFO != 0;
    let ours = if reported.sa_sigaction == trampoline_address() {
        reported.sa_sigaction = word & !ASKED;
        true
    } else {
        // After an SA_RESETHAND handler fired, the kernel reports SIG_DFL
        // with the flags the trampoline was installed with.
        trampolined
            && reported.sa_sigaction == libc::SIG_DFL
            && reported.sa_flags & SA_RESETHAND != 0
    };
    if ours && !asked_siginfo {
        reported.sa_flags &= !SA_SIGINFO;
    }
    if ours && word & ASKED_RESTART == 0 {
        reported.sa_flags &= !SA_RESTART;
    }
}

/// `sigaction` as the program sees it: installs handlers behind the
/// trampoline and reports what the program installed. In a child that
/// shares its parent's memory (`vfork`), changes go straight to the kernel
/// and leave the parent's table alone.
///
/// # Safety
/// Exactly libc's contract for `sigaction`.
pub(super) unsafe fn install(
    signal: c_int,
    act: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> c_int {
    let Some(disposition) = usize::try_from(signal)
        .ok()
        .and_then(|s| ACTIONS.get(s))
        .filter(|_| signal > 0)
    else {
        // SAFETY: the caller's arguments, unchanged: libc reports EINVAL.
        return unsafe { real::sigaction(signal, act, old) };
    };
    if !act.is_null() && crate::process::in_parents_memory() {
        // SAFETY: the caller's arguments, unchanged.
        let result = unsafe { real::sigaction(signal, act, old) };
        if result == 0 {
            // SAFETY: `old` is null or valid, and libc just filled it.
            if let Some(old) = unsafe { old.as_mut() } {
                let word = disposition.action.load(Ordering::Acquire);
                as_installed(old, word, disposition.trampolined.load(Ordering::Relaxed));
            }
        }
        return result;
    }
    // A copy: `act` and `old` may be the same structure.
    // SAFETY: `act` is null or points to a valid sigaction (caller's contract).
    let new = unsafe { act.as_ref() }.copied();
    let _installing = Installing::lock(disposition);
    let previous = disposition.action.load(Ordering::Acquire);
    let previous_trampolined = disposition.trampolined.load(Ordering::Relaxed);
    let result = match new {
        None => {
            // SAFETY: a query, with the caller's `old`.
            unsafe { real::sigaction(signal, core::ptr::null(), old) }
        }
        Some(new) => {
            let handler = new.sa_sigaction;
            let asked = |flag: c_int, bit: usize| if new.sa_flags & flag != 0 { bit } else { 0 };
            let word =
                handler | asked(SA_SIGINFO, ASKED_SIGINFO) | asked(SA_RESTART, ASKED_RESTART);
            if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
                // SAFETY: the program's own action, copied; `old` is the caller's.
                let result = unsafe { real::sigaction(signal, &new, old) };
                if result == 0 {
                    disposition.action.store(word, Ordering::Release);
                    disposition.trampolined.store(false, Ordering::Relaxed);
                }
                result
            } else {
                // The handler is published before the kernel can call the
                // trampoline for it.
                disposition.action.store(word, Ordering::Release);
                // The scans of the trampoline and of the runtime rule need
                // the table of loaded code once a handler can run: built at
                // the first install (an ordinary call, where the loader's
                // lock is free), not in every process.
                crate::code::init(crate::settings::config());
                if new.sa_flags & libc::SA_ONSTACK != 0 {
                    crate::signal_stack::prepare();
                }
                disposition
                    .reset_hand
                    .store(new.sa_flags & SA_RESETHAND != 0, Ordering::Relaxed);
                let forced = if restart::forced() { SA_RESTART } else { 0 };
                let through = libc::sigaction {
                    sa_sigaction: arch::trampoline(enter, leave),
                    sa_flags: new.sa_flags | SA_SIGINFO | forced,
                    ..new
                };
                // SAFETY: `through` is a valid action; `old` is the caller's.
                let result = unsafe { real::sigaction(signal, &through, old) };
                if result == 0 {
                    disposition.trampolined.store(true, Ordering::Relaxed);
                } else {
                    disposition.action.store(previous, Ordering::Release);
                }
                result
            }
        }
    };
    if result == 0 {
        // SAFETY: `old` is null or valid for reads and writes, and the real
        // sigaction just filled it.
        if let Some(old) = unsafe { old.as_mut() } {
            as_installed(old, previous, previous_trampolined);
        }
    }
    result
}

/// The program's current disposition of `signal` (its handler only).
pub(super) fn current_handler(signal: c_int) -> Option<libc::sigaction> {
    let mut current = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a query into a zeroed structure of the right type.
    let result = unsafe { install(signal, core::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: zeroed is a valid sigaction, and a successful query filled it.
    (result == 0).then(|| unsafe { current.assume_init() })
}

hooks! {
    pass_through:
    /// `sigaction(2)`: handlers go to the kernel behind the trampoline;
    /// queries report what the program installed.
    fn sigaction(signal: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int
        => install(signal, act, old);
    /// `__sigaction`, glibc's public alias of `sigaction`.
    fn __sigaction(signal: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int
        => install(signal, act, old);
}
