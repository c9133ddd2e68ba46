//! The slow paths that several families of hooks share: each runs only
//! after a call failed with EINTR, asks the policy engine about every
//! interruption, and makes the call again as the engine says.
//!
//! - [`retry`]: a call with no timeout, made again as it is;
//! - [`retry_within_timeout`]: a call that may be on a socket with
//!   SO_RCVTIMEO or SO_SNDTIMEO, made again within what is left of it
//!   (the deadline starts at the first interruption: reading the clock
//!   before every call would tax the fast path);
//! - [`wait_within`]: a wait whose timeout was fixed as a deadline when
//!   the call was made (the multiplexers, `semtimedop`).

use super::socket_options::{socket_timeout, Direction};
use crate::deadline::Deadline;
use crate::errno;
use crate::functions::Function;
use crate::policy::{Decision, Interruption};
use crate::real;
use crate::waits::Waits;
use core::ffi::{c_int, c_short};

/// A return value whose failure is -1 with errno set.
pub trait Outcome: Copy {
    /// Whether this value reports a failure.
    fn failed(self) -> bool;
}

impl Outcome for isize {
    fn failed(self) -> bool {
        self == -1
    }
}

impl Outcome for i32 {
    fn failed(self) -> bool {
        self == -1
    }
}

/// Whether `result` is a failure with EINTR.
pub fn interrupted<R: Outcome>(result: R) -> bool {
    result.failed() && errno::get() == libc::EINTR
}

/// The slow path of a call with no timeout: while it fails with EINTR and
/// the engine says retry, make it `again`. Any other result, a partial
/// transfer included, goes back to the program as it is.
#[cold]
#[inline(never)]
pub fn retry<R: Outcome>(
    function: Function,
    fd: Option<c_int>,
    first: R,
    mut again: impl FnMut() -> R,
) -> R {
    let mut result = first;
    let mut interruption = Interruption::new(function, fd);
    while interrupted(result) {
        if interruption.decide() == Decision::Pass {
            break;
        }
        result = again();
    }
    result
}

/// What waiting for readiness came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// The fd is ready (or in error: the call will tell which).
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The wait itself was interrupted: errno is EINTR.
    Interrupted,
    /// The wait itself failed (ENOMEM, ...): errno says why.
    Failed,
}

/// Waits until `fd` is ready for `events`, at most until `deadline`.
pub fn wait_ready(fd: c_int, events: c_short, deadline: Option<Deadline>) -> Wait {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // ppoll, not poll: a timeout in whole milliseconds, rounded up, would
    // overshoot the deadline by up to 1 ms (measured by `make bench`).
    let left = deadline.map(Deadline::remaining_timespec);
    let timeout = left
        .as_ref()
        .map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: one valid pollfd; `timeout` is null or points to `left`,
    // which outlives the call; no signal mask is changed. This is libc's
    // ppoll, not a hook.
    match unsafe { real::ppoll(&mut pfd, 1, timeout, core::ptr::null()) } {
        0 => Wait::TimedOut,
        -1 if errno::get() == libc::EINTR => Wait::Interrupted,
        -1 => Wait::Failed,
        _ => Wait::Ready,
    }
}

/// The slow path of a call that may be on a socket with a timeout.
///
/// `call(ready)` makes the call again: `ready` is true after `poll`
/// reported readiness within the deadline, and the call should then not
/// block (MSG_DONTWAIT where it has flags).
#[cold]
#[inline(never)]
pub fn retry_within_timeout<R: Outcome>(
    function: Function,
    fd: c_int,
    direction: Direction,
    first: R,
    mut call: impl FnMut(bool) -> R,
) -> R {
    if !interrupted(first) {
        return first;
    }
    let Some(timeout) = socket_timeout(fd, direction) else {
        return retry(function, Some(fd), first, || call(false));
    };
    let deadline = Deadline::after(timeout);
    let mut interruption = Interruption::new(function, Some(fd));
    let mut result = first;
    'interrupted: loop {
        // Here `result` failed with EINTR.
        if interruption.decide() == Decision::Pass {
            if interruption.timed_out(deadline) {
                errno::set(libc::EAGAIN);
            }
            return result;
        }
        loop {
            match wait_ready(fd, direction.poll_events(), Some(deadline)) {
                // A failed wait: let the call itself report the state.
                Wait::Ready | Wait::Failed => {}
                Wait::Interrupted => continue 'interrupted,
                Wait::TimedOut => {
                    errno::set(libc::EAGAIN);
                    return result;
                }
            }
            result = call(true);
            if !result.failed() {
                return result;
            }
            match errno::get() {
                libc::EINTR => continue 'interrupted,
                // Readiness was taken by someone else: wait again.
                libc::EAGAIN if !deadline.passed() => continue,
                _ => return result,
            }
        }
    }
}

/// The slow path of a wait with a deadline (the multiplexers,
/// `semtimedop`): while it fails with EINTR and the engine says retry,
/// waits again for what is left of `limit`; once that has passed, returns
/// what `expired` gives (0 ready, as a timeout). The same when an EINTR
/// goes back to a site that handles it and retries by itself past the
/// first deadline (see [`crate::chain`]).
#[cold]
#[inline(never)]
pub fn wait_within(
    function: Function,
    on: Waits,
    first: c_int,
    limit: Option<Deadline>,
    mut expired: impl FnMut() -> c_int,
    mut again: impl FnMut(Option<Deadline>) -> c_int,
) -> c_int {
    let mut result = first;
    let mut interruption = Interruption::waiting(function, on);
    while interrupted(result) {
        if interruption.decide() == Decision::Pass {
            if limit.is_some_and(|own| interruption.timed_out(own)) {
                return expired();
            }
            break;
        }
        if limit.is_some_and(Deadline::passed) {
            return expired();
        }
        result = again(limit);
    }
    result
}
