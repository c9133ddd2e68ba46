//! Semaphores and message queues: POSIX `sem_*` and `mq_*`, System V
//! `msgrcv`, `msgsnd`, `semop` and `semtimedop`.
//!
//! POSIX semaphores and queues are restarted by the kernel only under
//! SA_RESTART; the System V calls never are. On EINTR the shim makes them
//! again. Their timeouts are absolute (`sem_timedwait`, `sem_clockwait`,
//! `mq_timed*`), so a retry needs no recomputation, except `semtimedop`,
//! whose relative timeout is fixed as a deadline when the call is made;
//! once it has passed the hook fails with EAGAIN, as the timeout would.

use super::retry::{retry, wait_within};
use crate::deadline::{now_ns, timespec_ns, Deadline};
use crate::errno;
use crate::real;
use core::ffi::{c_char, c_int, c_long, c_uint, c_void};
use libc::{mqd_t, sem_t, sembuf, size_t, ssize_t, timespec};

/// The deadline of `semtimedop`'s relative timeout, fixed now; `None` when
/// null (no timeout).
///
/// # Safety
/// `timeout` is null or valid for reads.
#[inline(always)]
unsafe fn deadline_now(timeout: *const timespec) -> Option<Deadline> {
    // SAFETY: null or valid for reads (caller's contract).
    let timeout = unsafe { timeout.as_ref() }?;
    let ns = timespec_ns(timeout);
    let started = if ns > 0 { now_ns() } else { 0 };
    Some(Deadline::after_at(
        started,
        core::time::Duration::from_nanos(ns),
    ))
}

/// What a timed-out `semtimedop` reports.
fn timed_out() -> c_int {
    errno::set(libc::EAGAIN);
    -1
}

hooks! {
    /// `sem_wait(3)`: retried until the semaphore is taken.
    fn sem_wait(sem: *mut sem_t) -> c_int
        => |result, function| retry(function, None, result, || real::sem_wait(sem));

    /// `sem_timedwait(3)`: retried; its deadline is absolute.
    fn sem_timedwait(sem: *mut sem_t, abstime: *const timespec) -> c_int
        => |result, function| retry(function, None, result, || real::sem_timedwait(sem, abstime));

    /// `sem_clockwait(3)`: retried; its deadline is absolute.
    fn sem_clockwait(sem: *mut sem_t, clock: libc::clockid_t, abstime: *const timespec) -> c_int
        => |result, function| retry(function, None, result, || real::sem_clockwait(sem, clock, abstime));

    /// `mq_receive(3)`: retried until a message comes.
    fn mq_receive(mq: mqd_t, msg: *mut c_char, len: size_t, prio: *mut c_uint) -> ssize_t
        => |result, function| retry(function, Some(mq), result, || real::mq_receive(mq, msg, len, prio));

    /// `mq_timedreceive(3)`: retried; its deadline is absolute.
    fn mq_timedreceive(mq: mqd_t, msg: *mut c_char, len: size_t, prio: *mut c_uint, abstime: *const timespec) -> ssize_t
        => |result, function| retry(function, Some(mq), result, || real::mq_timedreceive(mq, msg, len, prio, abstime));

    /// `mq_send(3)`: retried until the message is queued.
    fn mq_send(mq: mqd_t, msg: *const c_char, len: size_t, prio: c_uint) -> c_int
        => |result, function| retry(function, Some(mq), result, || real::mq_send(mq, msg, len, prio));

    /// `mq_timedsend(3)`: retried; its deadline is absolute.
    fn mq_timedsend(mq: mqd_t, msg: *const c_char, len: size_t, prio: c_uint, abstime: *const timespec) -> c_int
        => |result, function| retry(function, Some(mq), result, || real::mq_timedsend(mq, msg, len, prio, abstime));

    /// `msgrcv(2)`: never restarted by the kernel; retried.
    fn msgrcv(id: c_int, msg: *mut c_void, size: size_t, kind: c_long, flags: c_int) -> ssize_t
        => |result, function| retry(function, None, result, || real::msgrcv(id, msg, size, kind, flags));

    /// `msgsnd(2)`: never restarted by the kernel; retried.
    fn msgsnd(id: c_int, msg: *const c_void, size: size_t, flags: c_int) -> c_int
        => |result, function| retry(function, None, result, || real::msgsnd(id, msg, size, flags));

    /// `semop(2)`: never restarted by the kernel; retried (an interrupted
    /// semop has applied none of its operations).
    fn semop(id: c_int, sops: *mut sembuf, nsops: size_t) -> c_int
        => |result, function| retry(function, None, result, || real::semop(id, sops, nsops));

    /// `semtimedop(2)`: as `semop`, within a deadline fixed from its
    /// relative timeout when the call is made; past it, EAGAIN.
    fn semtimedop(id: c_int, sops: *mut sembuf, nsops: size_t, timeout: *const timespec) -> c_int
        where limit = deadline_now(timeout)
        => |result, function| wait_within(function, crate::waits::Waits::Nothing, result, limit, timed_out, |limit| match limit {
            None => real::semtimedop(id, sops, nsops, timeout),
            Some(deadline) => {
                let left = deadline.remaining_timespec();
                real::semtimedop(id, sops, nsops, &left)
            }
        });
}
