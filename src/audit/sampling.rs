//! The calls no hook sees (inside libc: stdio's `read` in `fgets`, its
//! `write` in `fflush`), and the real-signal mode: a timer of the audit's
//! own sends a real-time signal every 2 ms (250 µs in a run that
//! interrupts such a call), whose handler (installed by
//! the shim with SA_RESTART, straight to libc) looks at the call the
//! signal interrupted, as the kernel-restart path does
//! ([`crate::restart`]): a system call the kernel will make again
//! ([`arch::pending_restart`]), named after its hooked namesake
//! ([`arch::syscall_function`]). Its caller is the first frame above
//! libc's, by the unwinder.
//!
//! - Inside libc (no hook above): the site `libc:NAME` at that caller is
//!   recorded; the injection there turns the restart into the EINTR libc
//!   sees without SA_RESTART ([`arch::fail_with_eintr`]), once.
//! - Made by a hook, in the real-signal mode (`signal` in the spec): the
//!   same EINTR, which the hook then lets pass.
//!
//! So a site inside libc is one where the program blocked long enough for
//! a tick (2 ms) to find it, and in a thread the process's timer signal
//! reached; the first such block there is interrupted (`nth` does not
//! apply). POSIX timers are not inherited by `fork`: a forked child that
//! does not `exec` is not sampled.

use crate::arch;
use crate::audit::record::{backtrace, emit_site, matches_target, Kind};
use crate::code::{self, Owner};
use core::ffi::{c_int, c_void};

/// Ticks every 2 ms to find the sites; every 250 µs to interrupt one.
const PERIOD_NS: i64 = 2_000_000;
const TARGET_PERIOD_NS: i64 = 250_000;

/// Installs the handler and starts the timer, fast when a call inside libc
/// or a signal is the target. Raw system calls for the timer:
/// `timer_create` is in librt before glibc 2.34.
pub fn start(fast: bool) {
    if !arch::SUPPORTED {
        return;
    }
    let signal = libc::SIGRTMAX();
    // SAFETY: a zeroed sigaction is valid; the handler is an SA_SIGINFO
    // handler of the right type; this is libc's sigaction, not the hook.
    unsafe {
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction =
            tick as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigfillset(&mut action.sa_mask);
        if crate::real::sigaction(signal, &action, core::ptr::null_mut()) != 0 {
            return;
        }
        let mut event: libc::sigevent = core::mem::zeroed();
        event.sigev_notify = libc::SIGEV_SIGNAL;
        event.sigev_signo = signal;
        let mut timer: c_int = 0;
        if libc::syscall(
            libc::SYS_timer_create,
            libc::CLOCK_MONOTONIC,
            &mut event as *mut libc::sigevent,
            &mut timer as *mut c_int,
        ) != 0
        {
            return;
        }
        let every = libc::timespec {
            tv_sec: 0,
            tv_nsec: if fast { TARGET_PERIOD_NS } else { PERIOD_NS },
        };
        let spec = libc::itimerspec {
            it_interval: every,
            it_value: every,
        };
        libc::syscall(
            libc::SYS_timer_settime,
            timer,
            0,
            &spec as *const libc::itimerspec,
            core::ptr::null_mut::<libc::itimerspec>(),
        );
    }
}

/// The handler: see the module documentation. Async-signal-safe but for
/// the unwinder (see `record::program_caller`); errno is kept.
extern "C" fn tick(_signal: c_int, _info: *mut libc::siginfo_t, context: *mut c_void) {
    crate::errno::preserved(|| {
        // SAFETY: the third argument of this SA_SIGINFO handler.
        if let Some(restart) = unsafe { arch::pending_restart(context) } {
            // SAFETY: the same context, with a restart pending in it.
            unsafe { sample(restart, context) };
        }
    });
}

/// # Safety
/// `context` is the running handler's, and `restart` pending in it.
unsafe fn sample(restart: arch::Restart, context: *mut c_void) {
    let Some(function) = arch::syscall_function(restart.number) else {
        return;
    };
    let mut frames = [core::ptr::null_mut(); 64];
    // SAFETY: `frames` holds 64 writable pointers.
    let n = unsafe { backtrace(frames.as_mut_ptr(), 64) };
    let n = usize::try_from(n).unwrap_or(0).min(frames.len());
    let frames = frames.get(..n).unwrap_or(&[]);
    // The interrupted frame, then libc's frames above it.
    let Some(at) = frames
        .iter()
        .position(|&f| (restart.pc..=restart.pc + 2).contains(&(f as usize)))
    else {
        return;
    };
    let mut above = frames
        .iter()
        .skip(at + 1)
        .map(|&f| f as usize)
        .skip_while(|&f| code::owner_of(f) == Some(Owner::Libc))
        .peekable();
    let hooked = above
        .peek()
        .is_some_and(|&f| code::owner_of(f) == Some(Owner::Shim));
    let Some(caller) = above.find(|&f| code::owner_of(f) != Some(Owner::Shim)) else {
        return;
    };
    if !hooked {
        emit_site(Kind::Libc, function, caller);
    }
    if matches_target(
        if hooked { Kind::Signal } else { Kind::Libc },
        function,
        caller,
        || true,
    ) {
        // SAFETY: the caller's contract: a restart is pending.
        unsafe { arch::fail_with_eintr(context) };
    }
}
