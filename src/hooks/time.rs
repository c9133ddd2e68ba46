//! Sleeps.
//!
//! The kernel never restarts a sleep, and re-sleeping the remaining time
//! drifts (about 64 µs of timer slack per signal). After an EINTR the shim
//! fixes the deadline once, from the time the kernel reported left, and
//! sleeps to it with `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`.

use crate::deadline::{ns_timespec, timespec_ns, Deadline};
use crate::errno;
use crate::functions::Function;
use crate::policy::{Decision, Interruption};
use crate::real;
use core::ffi::c_int;
use libc::timespec;

/// Sleeps until `deadline`, asking the engine at each interruption.
/// Returns 0 when the deadline is reached, else the error number.
pub fn sleep_until(deadline: Deadline, interruption: &mut Interruption) -> c_int {
    loop {
        if interruption.decide() == Decision::Pass {
            return libc::EINTR;
        }
        let at = deadline.as_timespec();
        // SAFETY: `at` is a valid timespec; no remainder is asked for.
        let error = unsafe {
            real::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &at,
                core::ptr::null_mut(),
            )
        };
        if error != libc::EINTR {
            return error;
        }
    }
}

/// `nanosleep(2)`: sleeps the whole time asked. If the EINTR passes in the
/// end, `rem` holds the time that was left, as libc would report it.
///
/// # Safety
/// Exactly libc's contract for `nanosleep`.
#[cfg_attr(not(test), no_mangle)]
#[cfg_attr(test, allow(dead_code))]
pub unsafe extern "C" fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int {
    let mut left = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `req` is the caller's; `left` is ours and valid for writes.
    let result = unsafe { real::nanosleep(req, &mut left) };
    if result != -1 {
        return result;
    }
    // SAFETY: `rem` is null or valid for writes, as nanosleep requires.
    unsafe { interrupted_nanosleep(&left, rem) }
}

/// The slow path of `nanosleep`, `left` being what the kernel reported.
///
/// # Safety
/// `rem` is null or valid for writes.
#[cold]
#[inline(never)]
unsafe fn interrupted_nanosleep(left: &timespec, rem: *mut timespec) -> c_int {
    if errno::get() != libc::EINTR {
        return -1;
    }
    let deadline = Deadline::after_at(
        crate::deadline::now_ns(),
        core::time::Duration::from_nanos(timespec_ns(left)),
    );
    let mut interruption = Interruption::new(Function::nanosleep, None);
    match sleep_until(deadline, &mut interruption) {
        0 => 0,
        error => {
            if error == libc::EINTR && !rem.is_null() {
                let now_left = ns_timespec(deadline.remaining_ns_at(crate::deadline::now_ns()));
                // SAFETY: `rem` is non-null and valid for writes (caller's contract).
                unsafe { *rem = now_left };
            }
            errno::set(error);
            -1
        }
    }
}
