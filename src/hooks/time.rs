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
    unsafe { nanosleep_interrupted(Function::nanosleep, &left, rem) }
}

/// Sleeps what is left of an interrupted sleep, `left` being what the
/// kernel reported at the EINTR: the deadline is fixed once from it.
/// Returns 0 when the whole time was slept, else the error number, and
/// then the time still left.
#[cold]
#[inline(never)]
fn finish_sleep(function: Function, left: &timespec) -> Result<(), (c_int, timespec)> {
    let deadline = Deadline::after_at(
        crate::deadline::now_ns(),
        core::time::Duration::from_nanos(timespec_ns(left)),
    );
    let mut interruption = Interruption::new(function, None);
    match sleep_until(deadline, &mut interruption) {
        0 => Ok(()),
        error => Err((error, deadline.remaining_timespec())),
    }
}

/// The slow path of a `nanosleep`-like call: errno is set by the failed
/// call, `rem` (null or valid for writes) receives the time left if the
/// EINTR passes in the end.
///
/// # Safety
/// `rem` is null or valid for writes.
#[cold]
#[inline(never)]
unsafe fn nanosleep_interrupted(function: Function, left: &timespec, rem: *mut timespec) -> c_int {
    if errno::get() != libc::EINTR {
        return -1;
    }
    match finish_sleep(function, left) {
        Ok(()) => 0,
        Err((error, still_left)) => {
            if error == libc::EINTR && !rem.is_null() {
                // SAFETY: `rem` is non-null and valid for writes (caller's contract).
                unsafe { *rem = still_left };
            }
            errno::set(error);
            -1
        }
    }
}

/// `__nanosleep`, a public alias of `nanosleep`: as `nanosleep`.
///
/// # Safety
/// Exactly libc's contract for `nanosleep`.
#[cfg_attr(not(test), no_mangle)]
#[cfg_attr(test, allow(dead_code))]
pub unsafe extern "C" fn __nanosleep(req: *const timespec, rem: *mut timespec) -> c_int {
    let mut left = ZERO;
    // SAFETY: `req` is the caller's; `left` is ours and valid for writes.
    let result = unsafe { real::__nanosleep(req, &mut left) };
    if result != -1 {
        return result;
    }
    // SAFETY: `rem` is null or valid for writes, as nanosleep requires.
    unsafe { nanosleep_interrupted(Function::__nanosleep, &left, rem) }
}

const ZERO: timespec = timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

/// `usleep(3)`: sleeps the whole time asked. glibc's `usleep` calls its
/// own `nanosleep` inside libc, out of a hook's reach, and without a
/// remainder; so the hook sleeps with the real `nanosleep` itself and keeps
/// a deadline from the remainder, as `nanosleep` does.
///
/// # Safety
/// None beyond libc's: `usleep` takes no pointers.
#[cfg_attr(not(test), no_mangle)]
#[cfg_attr(test, allow(dead_code))]
pub unsafe extern "C" fn usleep(usec: libc::useconds_t) -> c_int {
    let req = timespec {
        tv_sec: libc::time_t::from(usec / 1_000_000),
        tv_nsec: libc::c_long::from(usec % 1_000_000) * 1000,
    };
    let mut left = ZERO;
    // SAFETY: both timespecs are ours and valid.
    let result = unsafe { real::nanosleep(&req, &mut left) };
    if result != -1 {
        return result;
    }
    // SAFETY: no remainder is asked for.
    unsafe { nanosleep_interrupted(Function::usleep, &left, core::ptr::null_mut()) }
}

/// `sleep(3)`: sleeps the whole time and returns 0. If the EINTR passes
/// in the end, it returns the whole seconds left, truncated, as glibc's
/// `sleep` does (0.8 s left gives 0). Like `usleep`, it sleeps with the
/// real `nanosleep` itself: glibc's `sleep` is out of a hook's reach inside
/// libc, and its truncated result cannot tell how long is left.
///
/// # Safety
/// None beyond libc's: `sleep` takes no pointers.
#[cfg_attr(not(test), no_mangle)]
#[cfg_attr(test, allow(dead_code))]
pub unsafe extern "C" fn sleep(seconds: libc::c_uint) -> libc::c_uint {
    let req = timespec {
        tv_sec: libc::time_t::from(seconds),
        tv_nsec: 0,
    };
    let mut left = ZERO;
    // SAFETY: both timespecs are ours and valid.
    if unsafe { real::nanosleep(&req, &mut left) } == 0 {
        return 0;
    }
    sleep_interrupted(seconds, &left)
}

/// The slow path of `sleep`.
#[cold]
#[inline(never)]
fn sleep_interrupted(seconds: libc::c_uint, left: &timespec) -> libc::c_uint {
    if errno::get() != libc::EINTR {
        return seconds;
    }
    match finish_sleep(Function::sleep, left) {
        Ok(()) => 0,
        Err((_, still_left)) => libc::c_uint::try_from(still_left.tv_sec).unwrap_or(seconds),
    }
}

/// `clock_nanosleep(2)`: sleeps the whole time asked, on the caller's
/// clock. It returns the error number and leaves errno alone, on every
/// path. An absolute sleep (`TIMER_ABSTIME`) is simply made again; a
/// relative one fixes its deadline once, from the remainder the kernel
/// reported, and sleeps to it with `TIMER_ABSTIME` (a relative sleep on
/// CLOCK_REALTIME keeps its deadline on CLOCK_MONOTONIC, as the kernel's
/// relative timers do). If the EINTR passes in the end, `rem` holds the
/// time left.
///
/// Both exported versions (GLIBC_2.17 and the older GLIBC_2.2.5) reach this
/// one unversioned definition: the dynamic linker binds a versioned
/// reference to an unversioned symbol.
///
/// # Safety
/// Exactly libc's contract for `clock_nanosleep`.
#[cfg_attr(not(test), no_mangle)]
#[cfg_attr(test, allow(dead_code))]
pub unsafe extern "C" fn clock_nanosleep(
    clock: libc::clockid_t,
    flags: c_int,
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    let mut left = ZERO;
    // SAFETY: `req` is the caller's; `left` is ours and valid for writes.
    let error = unsafe { real::clock_nanosleep(clock, flags, req, &mut left) };
    if error != libc::EINTR {
        return error;
    }
    // SAFETY: `req` is valid for reads and `rem` null or valid for writes,
    // as clock_nanosleep requires.
    unsafe { clock_nanosleep_interrupted(clock, flags, req, &left, rem) }
}

/// The slow path of `clock_nanosleep`.
///
/// # Safety
/// `req` is valid for reads; `rem` is null or valid for writes.
#[cold]
#[inline(never)]
unsafe fn clock_nanosleep_interrupted(
    clock: libc::clockid_t,
    flags: c_int,
    req: *const timespec,
    left: &timespec,
    rem: *mut timespec,
) -> c_int {
    // clock_nanosleep returns its error and leaves errno alone.
    errno::preserved(|| {
        let mut interruption = Interruption::new(Function::clock_nanosleep, None);
        if flags & libc::TIMER_ABSTIME != 0 {
            loop {
                if interruption.decide() == Decision::Pass {
                    break libc::EINTR;
                }
                // SAFETY: `req` is the caller's valid timespec; an absolute
                // sleep reports no remainder.
                let error =
                    unsafe { real::clock_nanosleep(clock, flags, req, core::ptr::null_mut()) };
                if error != libc::EINTR {
                    break error;
                }
            }
        } else {
            let on = if clock == libc::CLOCK_REALTIME {
                libc::CLOCK_MONOTONIC
            } else {
                clock
            };
            let at = clock_now_ns(on).saturating_add(timespec_ns(left));
            let mut error;
            loop {
                if interruption.decide() == Decision::Pass {
                    error = libc::EINTR;
                    break;
                }
                let until = ns_timespec(at);
                // SAFETY: `until` is a valid timespec; no remainder is asked for.
                error = unsafe {
                    real::clock_nanosleep(on, libc::TIMER_ABSTIME, &until, core::ptr::null_mut())
                };
                if error != libc::EINTR {
                    break;
                }
            }
            if error == libc::EINTR && !rem.is_null() {
                let still_left = ns_timespec(at.saturating_sub(clock_now_ns(on)));
                // SAFETY: `rem` is non-null and valid for writes (caller's contract).
                unsafe { *rem = still_left };
            }
            error
        }
    })
}

/// Now on `clock`, in nanoseconds (0 if the clock cannot be read).
fn clock_now_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = ZERO;
    // SAFETY: `ts` is a valid timespec to write; clock_gettime is
    // async-signal-safe and is not hooked.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    timespec_ns(&ts)
}
