//! The trampoline's two steps around the program's handler: [`enter`]
//! reads the program's disposition, [`leave`] notes the signal in the
//! thread's record and decides about a restart.

use super::table::{ACTIONS, ASKED, ASKED_RESTART};
use crate::arch;
use crate::errno;
use crate::real;
use crate::restart;
use crate::signals::{self, Delivery, Sender};
use crate::signum;
use core::ffi::{c_int, c_void};
use core::mem::MaybeUninit;
use core::sync::atomic::Ordering;
use libc::{sighandler_t, siginfo_t};

/// The trampoline's address, as the kernel reports it back.
pub(super) fn trampoline_address() -> sighandler_t {
    arch::trampoline_address()
}

/// In the trampoline's state word: the signal number was valid (the rest
/// means something).
const KNOWN: usize = 1 << 32;
/// The program asked for SA_RESTART.
const RESTART_ASKED: usize = 1 << 33;
/// A program's handler ran.
const RAN: usize = 1 << 34;

/// The trampoline's step before the program's handler ([`arch::trampoline`]
/// calls it, then the handler it returns, then [`leave`]): reads the
/// program's disposition (one atomic word) and the timer state. Its frame
/// is gone before the handler runs; it leaves errno alone, so the handler
/// sees it as the interrupted code left it.
pub(super) extern "C" fn enter(signal: c_int, _info: *mut siginfo_t) -> arch::Entered {
    let Some(disposition) = usize::try_from(signal).ok().and_then(|s| ACTIONS.get(s)) else {
        return arch::Entered {
            handler: 0,
            state: 0,
        };
    };
    let word = disposition.action.load(Ordering::Acquire);
    let before = signals::timer_state().to_bits() as usize;
    let restart = if word & ASKED_RESTART != 0 {
        RESTART_ASKED
    } else {
        0
    };
    let handler = match word & !ASKED {
        libc::SIG_IGN => 0,
        libc::SIG_DFL => {
            default_action(signal);
            0
        }
        handler => handler,
    };
    let ran = if handler != 0 { RAN } else { 0 };
    arch::Entered {
        handler,
        state: before | KNOWN | restart | ran,
    }
}

/// The trampoline's step after the program's handler returned (or found
/// none to call): notes on this thread that the signal ran (and whether it
/// was a one-shot timer's SIGALRM: a timeout), then decides whether a
/// system call it interrupted is restarted ([`restart::after_handler`]).
/// On an alternate signal stack it runs on a stack of the shim's own
/// ([`crate::signal_stack`]). Async-signal-safe: atomics and thread-local
/// atomics only; errno is left as the program's handler left it. Nothing
/// is held across the program's handler, which may `siglongjmp` away:
/// then this step does not run and the signal is simply not noted.
pub(super) extern "C" fn leave(
    signal: c_int,
    info: *mut siginfo_t,
    context: *mut c_void,
    state: usize,
) {
    if state & KNOWN == 0 {
        return;
    }
    errno::preserved(|| {
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler
        // (null is checked).
        let (code, pid) = match unsafe { info.as_ref() } {
            // SAFETY: si_pid is read as the kernel filled it (for codes that
            // carry no sender it holds whatever the kernel left: only compared).
            Some(info) => (info.si_code, unsafe { info.si_pid() }),
            None => (0, 0),
        };
        let ran = state & RAN != 0;
        let by_timer = signal == libc::SIGALRM && code == signals::SI_KERNEL;
        let before = signals::TimerState::from_bits(state as u32);
        let alarm_timeout = signals::after_handler(before, by_timer);
        // SAFETY: the kernel's context for this running handler.
        if unsafe { restart::in_call(context, trampoline_address()) } {
            signals::record(
                signal,
                Delivery {
                    sender: Sender::of(signal, code, pid, crate::process::getpid),
                    alarm_timeout,
                    left_fatal: ran && signum::kills_by_default(signal) && left_default(signal),
                },
            );
        }
        if ran {
            // SAFETY: the kernel's context for this running handler.
            unsafe { restart::after_handler(context, state & RESTART_ASKED != 0) };
        }
    });
}

/// Whether `signal`'s disposition is SIG_DFL now, after its handler ran:
/// the handler reset it (through `sigaction` or `signal`, which keep
/// [`ACTIONS`]), or SA_RESETHAND did as the kernel delivered it. Only in
/// the second case is the kernel asked (one system call).
fn left_default(signal: c_int) -> bool {
    let Some(disposition) = usize::try_from(signal).ok().and_then(|s| ACTIONS.get(s)) else {
        return false;
    };
    if disposition.action.load(Ordering::Acquire) & !ASKED == libc::SIG_DFL {
        return true;
    }
    if !disposition.reset_hand.load(Ordering::Relaxed) {
        return false;
    }
    let mut now = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a query into a zeroed structure of the right type.
    let asked = errno::preserved(|| unsafe {
        real::sigaction(signal, core::ptr::null(), now.as_mut_ptr())
    }) == 0;
    // SAFETY: zeroed is a valid sigaction, and a successful query filled it.
    asked && unsafe { now.assume_init() }.sa_sigaction == libc::SIG_DFL
}

/// The trampoline met SIG_DFL: the program set it while this signal was
/// on its way. The kernel has SIG_DFL now, so the signal is raised again
/// and meets it when the trampoline returns (it is blocked until then; with
/// SA_NODEFER, at once): the default action, as if it had come a moment
/// later.
#[cold]
fn default_action(signal: c_int) {
    if signum::ignored_by_default(signal) {
        return;
    }
    // SAFETY: plain system calls on this process and thread.
    errno::preserved(|| unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            crate::process::getpid(),
            crate::process::gettid(),
            signal,
        )
    });
}
