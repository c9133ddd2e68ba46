//! Multiplexing: `poll`, `ppoll`, `select`, `pselect`, `epoll_wait`,
//! `epoll_pwait`, `epoll_pwait2`, and the fortified `__poll_chk` and
//! `__ppoll_chk`.
//!
//! The kernel never restarts these, whatever SA_RESTART says, and a plain
//! retry would start the whole timeout again at each signal: under a storm
//! the call would never time out. So a finite, positive timeout is fixed as
//! a deadline when the call is made (one clock read, only for those), and
//! each retry waits for what is left. A negative or null timeout stays
//! infinite. Once the deadline has passed, the hook returns 0 ready, as the
//! timeout itself would have.
//!
//! `select` changes the caller's fd sets and timeval only when it succeeds
//! or times out: Linux leaves them untouched when it fails with EINTR, so
//! each retry passes them on as they are, and the hook reads none of them
//! (a bad pointer fails with EFAULT, as bare). It leaves the timeval as
//! Linux would, holding the time that was left. On a timeout the hook
//! reaches itself it clears the sets, as Linux does.
//!
//! A call given a signal mask (`ppoll`, `pselect`, `epoll_pwait`,
//! `epoll_pwait2`) that unblocks signals the thread otherwise blocks is the
//! race-free way to wait for those signals: the program asked to be woken
//! by EINTR and handles it. Its EINTR goes back as it is, unless the mask
//! unblocks nothing.

use super::retry::{interrupted, wait_within};
use crate::deadline::{now_ns, timespec_ns, Deadline};
use crate::functions::Function;
use crate::real;
use crate::waits::Waits;
use core::ffi::c_int;
use libc::{epoll_event, fd_set, nfds_t, pollfd, sigset_t, size_t, timespec, timeval};

/// Now, when `timed` (a finite, positive timeout), else 0: the clock is read
/// at entry only for calls that will need a deadline.
#[inline(always)]
fn started_if(timed: bool) -> u64 {
    if timed {
        now_ns()
    } else {
        0
    }
}

/// The deadline of a millisecond timeout given at `started`; `None` for a
/// negative (infinite) one.
fn limit_ms(started: u64, timeout: c_int) -> Option<Deadline> {
    let ms = u64::try_from(timeout).ok()?;
    Some(Deadline::after_ms_at(started, ms))
}

/// The deadline of a timespec timeout given at `started`; `None` for a null
/// (infinite) one.
///
/// # Safety
/// `timeout` is null or valid for reads.
unsafe fn limit_ts(started: u64, timeout: *const timespec) -> Option<Deadline> {
    // SAFETY: null or valid for reads (caller's contract).
    let timeout = unsafe { timeout.as_ref() }?;
    Some(Deadline::after_at(
        started,
        core::time::Duration::from_nanos(timespec_ns(timeout)),
    ))
}

/// Whether a timespec timeout is finite and positive.
///
/// # Safety
/// `timeout` is null or valid for reads.
unsafe fn ts_timed(timeout: *const timespec) -> bool {
    // SAFETY: null or valid for reads (caller's contract).
    unsafe { timeout.as_ref() }.is_some_and(|t| timespec_ns(t) > 0)
}

/// What is left of `limit`, in milliseconds for `poll` and `epoll_wait`.
fn ms_left(limit: Option<Deadline>) -> c_int {
    limit.map_or(-1, Deadline::poll_ms)
}

/// Whether `mask` unblocks a signal that the calling thread blocks.
fn unblocks_signals(mask: *const sigset_t) -> bool {
    // SAFETY: a zeroed sigset_t is a valid (empty) set.
    let mut current: sigset_t = unsafe { core::mem::zeroed() };
    if mask.is_null()
        // SAFETY: `current` is valid for writes; a null new set only reads
        // the thread's mask (sigprocmask: the thread's, in glibc; its
        // pthread_sigmask is in libpthread before glibc 2.32).
        || unsafe { libc::sigprocmask(libc::SIG_BLOCK, core::ptr::null(), &mut current) } != 0
    {
        return false;
    }
    (1..=libc::SIGRTMAX()).any(|signal| {
        // SAFETY: both sets are valid; `mask` is the caller's, valid for reads.
        unsafe { libc::sigismember(&current, signal) == 1 && libc::sigismember(mask, signal) == 0 }
    })
}

/// [`wait_within`] for a call with a signal mask: see the module
/// documentation.
#[cold]
#[inline(never)]
fn wait_within_masked(
    function: Function,
    on: Waits,
    first: c_int,
    mask: *const sigset_t,
    limit: Option<Deadline>,
    expired: impl FnMut() -> c_int,
    again: impl FnMut(Option<Deadline>) -> c_int,
) -> c_int {
    if interrupted(first) && unblocks_signals(mask) {
        return first;
    }
    wait_within(function, on, first, limit, expired, again)
}

/// Calls `call` with a timespec for what is left of `limit` (null when
/// infinite).
fn with_ts_left(limit: Option<Deadline>, call: impl FnOnce(*const timespec) -> c_int) -> c_int {
    match limit {
        None => call(core::ptr::null()),
        Some(deadline) => {
            let left = deadline.remaining_timespec();
            call(&left)
        }
    }
}

/// The words of an `fd_set` that a copy keeps: all of a standard set.
const SET_WORDS: usize = core::mem::size_of::<fd_set>() / core::mem::size_of::<u64>();

/// What `select` needs to know about its sets after an interruption: how
/// many words `nfds` covers, and the deadline of the timeout. No copy of
/// the sets is kept: Linux leaves them untouched when it fails with EINTR,
/// so each retry gets them as the program passed them, and nothing of the
/// program's memory is read before the first call (a bad pointer fails
/// with EFAULT there, as bare).
pub struct SelectEntry {
    words: usize,
    limit: Option<Deadline>,
}

impl SelectEntry {
    /// The words of a set that `nfds` covers (none with more than
    /// `FD_SETSIZE` descriptors: those sets are never written by the
    /// hook), and the deadline of the timeout. Reads no set.
    #[inline(always)]
    fn take(nfds: c_int, limit: Option<Deadline>) -> SelectEntry {
        let words = usize::try_from(nfds).unwrap_or(0).div_ceil(64);
        SelectEntry {
            words: if words <= SET_WORDS { words } else { 0 },
            limit,
        }
    }

    /// Clears the sets, as Linux does on a timeout.
    ///
    /// # Safety
    /// Each set is null or valid for writes of the words `nfds` covers
    /// (the kernel read them without a fault in the first call).
    unsafe fn clear(&self, sets: [*mut fd_set; 3]) {
        for set in sets {
            if !set.is_null() {
                let words = set.cast::<u64>();
                for i in 0..self.words {
                    // SAFETY: `i` < the words `nfds` covers, which the
                    // caller's set holds.
                    unsafe { *words.add(i) = 0 };
                }
            }
        }
    }
}

/// A timeval of `ns` nanoseconds, rounded up to the microsecond so a wait
/// never ends early.
fn ns_timeval(ns: u64) -> timeval {
    let us = ns.div_ceil(1000);
    timeval {
        tv_sec: libc::time_t::try_from(us / 1_000_000).unwrap_or(libc::time_t::MAX),
        tv_usec: (us % 1_000_000) as libc::suseconds_t,
    }
}

/// The deadline of a timeval timeout, fixed now; `None` when null.
///
/// # Safety
/// `timeout` is null or valid for reads.
#[inline(always)]
unsafe fn tv_limit_now(timeout: *const timeval) -> Option<Deadline> {
    // SAFETY: null or valid for reads (caller's contract).
    let tv = unsafe { timeout.as_ref() }?;
    let ns = u64::try_from(tv.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(tv.tv_usec).unwrap_or(0).saturating_mul(1000));
    Some(Deadline::after_at(
        started_if(ns > 0),
        core::time::Duration::from_nanos(ns),
    ))
}

/// The deadline of a timespec timeout, fixed now; `None` when null.
///
/// # Safety
/// `timeout` is null or valid for reads.
#[inline(always)]
unsafe fn ts_limit_now(timeout: *const timespec) -> Option<Deadline> {
    // SAFETY: null or valid for reads (caller's contract).
    unsafe { limit_ts(started_if(ts_timed(timeout)), timeout) }
}

/// The deadline of a millisecond timeout, fixed now; `None` when negative.
#[inline(always)]
fn ms_limit_now(timeout: c_int) -> Option<Deadline> {
    limit_ms(started_if(timeout > 0), timeout)
}

/// The slow path of `select` and `__select`.
///
/// # Safety
/// Exactly select's contract for the sets and `timeout`.
#[cold]
#[inline(never)]
unsafe fn select_interrupted(
    function: Function,
    nfds: c_int,
    first: c_int,
    entry: &SelectEntry,
    sets: [*mut fd_set; 3],
    timeout: *mut timeval,
    mut call: impl FnMut() -> c_int,
) -> c_int {
    wait_within(
        function,
        Waits::Select(nfds, sets[0], sets[1]),
        first,
        entry.limit,
        || {
            // SAFETY: the sets and timeval are the caller's (select's contract).
            unsafe {
                entry.clear(sets);
                if let Some(tv) = timeout.as_mut() {
                    *tv = ns_timeval(0);
                }
            }
            0
        },
        |limit| {
            // SAFETY: the sets and timeval are the caller's (select's contract).
            unsafe {
                if let (Some(tv), Some(deadline)) = (timeout.as_mut(), limit) {
                    *tv = ns_timeval(deadline.remaining_ns_at(now_ns()));
                }
            }
            call()
        },
    )
}

hooks! {
    /// `poll(2)`: retried until an fd is ready or the timeout, kept on a
    /// deadline from the call, has passed (then 0).
    fn poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int
        where limit = ms_limit_now(timeout)
        => |result, function| wait_within(function, Waits::Poll(fds, nfds as usize), result, limit, || 0,
            |limit| real::poll(fds, nfds, ms_left(limit)));

    /// `__poll`, a public alias of `poll`: as `poll`.
    fn __poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int
        where limit = ms_limit_now(timeout)
        => |result, function| wait_within(function, Waits::Poll(fds, nfds as usize), result, limit, || 0,
            |limit| real::__poll(fds, nfds, ms_left(limit)));

    /// `__poll_chk`, the fortified `poll`: as `poll`.
    fn __poll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: c_int, fdslen: size_t) -> c_int
        where limit = ms_limit_now(timeout)
        => |result, function| wait_within(function, Waits::Poll(fds, nfds as usize), result, limit, || 0,
            |limit| real::__poll_chk(fds, nfds, ms_left(limit), fdslen));

    /// `ppoll(2)`: as `poll`; with a mask that unblocks signals, its EINTR
    /// goes back as it is.
    fn ppoll(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t) -> c_int
        where limit = ts_limit_now(timeout)
        => |result, function| wait_within_masked(function, Waits::Poll(fds, nfds as usize), result, sigmask, limit, || 0,
            |limit| with_ts_left(limit, |left| real::ppoll(fds, nfds, left, sigmask)));

    /// `__ppoll_chk`, the fortified `ppoll`: as `ppoll`.
    fn __ppoll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t, fdslen: size_t) -> c_int
        where limit = ts_limit_now(timeout)
        => |result, function| wait_within_masked(function, Waits::Poll(fds, nfds as usize), result, sigmask, limit, || 0,
            |limit| with_ts_left(limit, |left| real::__ppoll_chk(fds, nfds, left, sigmask, fdslen)));

    /// `select(2)`: retried on the caller's original fd sets until one is
    /// ready or the timeout has passed (then 0, the sets cleared); the
    /// timeval holds the time left, as Linux leaves it.
    fn select(nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set, timeout: *mut timeval) -> c_int
        where entry = SelectEntry::take(nfds, tv_limit_now(timeout))
        => |result, function| select_interrupted(function, nfds, result, &entry, [readfds, writefds, exceptfds], timeout,
            || real::select(nfds, readfds, writefds, exceptfds, timeout));

    /// `__select`, a public alias of `select`: as `select`.
    fn __select(nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set, timeout: *mut timeval) -> c_int
        where entry = SelectEntry::take(nfds, tv_limit_now(timeout))
        => |result, function| select_interrupted(function, nfds, result, &entry, [readfds, writefds, exceptfds], timeout,
            || real::__select(nfds, readfds, writefds, exceptfds, timeout));

    /// `pselect(2)`: as `select` (its timeout is not written back); with a
    /// mask that unblocks signals, its EINTR goes back as it is.
    fn pselect(nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set, timeout: *const timespec, sigmask: *const sigset_t) -> c_int
        where entry = SelectEntry::take(nfds, ts_limit_now(timeout))
        => |result, function| wait_within_masked(function, Waits::Select(nfds, readfds, writefds), result, sigmask, entry.limit,
            || {
                entry.clear([readfds, writefds, exceptfds]);
                0
            },
            |limit| {
                with_ts_left(limit, |left| real::pselect(nfds, readfds, writefds, exceptfds, left, sigmask))
            });

    /// `epoll_wait(2)`: as `poll`.
    fn epoll_wait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int) -> c_int
        where limit = ms_limit_now(timeout)
        => |result, function| wait_within(function, Waits::Fd(epfd), result, limit, || 0,
            |limit| real::epoll_wait(epfd, events, maxevents, ms_left(limit)));

    /// `epoll_pwait(2)`: as `ppoll`.
    fn epoll_pwait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int, sigmask: *const sigset_t) -> c_int
        where limit = ms_limit_now(timeout)
        => |result, function| wait_within_masked(function, Waits::Fd(epfd), result, sigmask, limit, || 0,
            |limit| real::epoll_pwait(epfd, events, maxevents, ms_left(limit), sigmask));

    /// `epoll_pwait2(2)`: as `ppoll`.
    fn epoll_pwait2(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: *const timespec, sigmask: *const sigset_t) -> c_int
        where limit = ts_limit_now(timeout)
        => |result, function| wait_within_masked(function, Waits::Fd(epfd), result, sigmask, limit, || 0,
            |limit| with_ts_left(limit, |left| real::epoll_pwait2(epfd, events, maxevents, left, sigmask)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_become_deadlines_or_stay_infinite() {
        assert_eq!(limit_ms(1_000, -1), None);
        assert_eq!(limit_ms(1_000, 5), Some(Deadline::after_ms_at(1_000, 5)));
        assert!(limit_ms(0, 0).is_some_and(|d| d.passed_at(0)));
        assert_eq!(ms_left(None), -1);
        let tv = ns_timeval(1_500_000_001);
        assert_eq!((tv.tv_sec, tv.tv_usec), (1, 500_001));
    }

    #[test]
    fn select_clears_only_the_words_nfds_covers() {
        // SAFETY: a zeroed fd_set is a valid, empty set.
        let mut set: fd_set = unsafe { core::mem::zeroed() };
        // SAFETY: valid sets and descriptors below FD_SETSIZE.
        unsafe {
            libc::FD_SET(3, &mut set);
            libc::FD_SET(70, &mut set);
            libc::FD_SET(200, &mut set);
        }
        let sets = [
            &mut set as *mut fd_set,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        ];
        let entry = SelectEntry::take(71, None);
        assert_eq!(entry.words, 2);
        // SAFETY: the set is valid for the words 71 descriptors cover.
        unsafe {
            entry.clear(sets);
            assert!(!libc::FD_ISSET(3, &set) && !libc::FD_ISSET(70, &set));
            // Words past nfds are the caller's and stay as they were.
            assert!(libc::FD_ISSET(200, &set));
        }
        assert_eq!(
            SelectEntry::take(5000, None).words,
            0,
            "nothing beyond FD_SETSIZE"
        );
    }
}
