//! Reads and writes on file descriptors, and `close`.
//!
//! On EINTR these are retried; a partial transfer is a success and goes
//! back as it is. On a socket with SO_RCVTIMEO or SO_SNDTIMEO a retry
//! keeps to what is left of that timeout (see [`super::sockets`]).
//! `close` is the exception: it is never made again (see [`close`]).
//! The variadic `fcntl` and `open` are in [`super::files`].

use super::retry::{interrupted, retry, retry_within_timeout};
use super::socket_options::Direction;
use crate::functions::Function;
use crate::policy::{Decision, Interruption};
use crate::real;
use core::ffi::{c_int, c_void};
use libc::{off64_t, off_t, size_t, ssize_t, MSG_DONTWAIT};

hooks! {
    /// `read(2)`: retried until data, end of file, or another error.
    fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            if ready { real::recv(fd, buf, count, MSG_DONTWAIT) } else { real::read(fd, buf, count) }
        });

    /// `write(2)`: retried; a partial write is returned as it is.
    fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Send, result, |ready| {
            if ready { real::send(fd, buf, count, MSG_DONTWAIT) } else { real::write(fd, buf, count) }
        });

    /// `__read_chk`, what `read` becomes under `-D_FORTIFY_SOURCE`: as `read`.
    fn __read_chk(fd: c_int, buf: *mut c_void, count: size_t, buflen: size_t) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            if ready { real::recv(fd, buf, count, MSG_DONTWAIT) } else { real::__read_chk(fd, buf, count, buflen) }
        });
    /// `readv(2)`: as `read`.
    fn readv(fd: c_int, iov: *const libc::iovec, iovcnt: c_int) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            if ready {
                let mut message = iov_message(iov, iovcnt);
                real::recvmsg(fd, &mut message, MSG_DONTWAIT)
            } else {
                real::readv(fd, iov, iovcnt)
            }
        });

    /// `writev(2)`: as `write`; a partial write is returned as it is.
    fn writev(fd: c_int, iov: *const libc::iovec, iovcnt: c_int) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Send, result, |ready| {
            if ready {
                let message = iov_message(iov, iovcnt);
                real::sendmsg(fd, &message, MSG_DONTWAIT)
            } else {
                real::writev(fd, iov, iovcnt)
            }
        });

    /// `pread(2)`: retried (a positioned read is never on a socket, so
    /// there is no socket timeout to keep).
    fn pread(fd: c_int, buf: *mut c_void, count: size_t, offset: off_t) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::pread(fd, buf, count, offset));

    /// `pwrite(2)`: retried; a partial write is returned as it is.
    fn pwrite(fd: c_int, buf: *const c_void, count: size_t, offset: off_t) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::pwrite(fd, buf, count, offset));

    /// `pread64`: as `pread`.
    fn pread64(fd: c_int, buf: *mut c_void, count: size_t, offset: off64_t) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::pread64(fd, buf, count, offset));

    /// `pwrite64`: as `pwrite`.
    fn pwrite64(fd: c_int, buf: *const c_void, count: size_t, offset: off64_t) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::pwrite64(fd, buf, count, offset));

    /// `preadv(2)`: as `pread`.
    fn preadv(fd: c_int, iov: *const libc::iovec, iovcnt: c_int, offset: off_t) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::preadv(fd, iov, iovcnt, offset));

    /// `pwritev(2)`: as `pwrite`.
    fn pwritev(fd: c_int, iov: *const libc::iovec, iovcnt: c_int, offset: off_t) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::pwritev(fd, iov, iovcnt, offset));

    /// `preadv2(2)`: retried (with offset -1 it reads like `readv`; a
    /// socket timeout then restarts at each retry).
    fn preadv2(fd: c_int, iov: *const libc::iovec, iovcnt: c_int, offset: off_t, flags: c_int) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::preadv2(fd, iov, iovcnt, offset, flags));

    /// `pwritev2(2)`: as `preadv2`; a partial write is returned as it is.
    fn pwritev2(fd: c_int, iov: *const libc::iovec, iovcnt: c_int, offset: off_t, flags: c_int) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::pwritev2(fd, iov, iovcnt, offset, flags));

    /// `__pread_chk`, the fortified `pread`: as `pread`.
    fn __pread_chk(fd: c_int, buf: *mut c_void, count: size_t, offset: off_t, buflen: size_t) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::__pread_chk(fd, buf, count, offset, buflen));

    /// `__pread64_chk`, the fortified `pread64`: as `pread`.
    fn __pread64_chk(fd: c_int, buf: *mut c_void, count: size_t, offset: off64_t, buflen: size_t) -> ssize_t
        => |result, function| retry(function, Some(fd), result, || real::__pread64_chk(fd, buf, count, offset, buflen));

    /// `__read`, a public alias of `read`: as `read`.
    fn __read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            if ready { real::recv(fd, buf, count, MSG_DONTWAIT) } else { real::__read(fd, buf, count) }
        });

    /// `__write`, a public alias of `write`: as `write`.
    fn __write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Send, result, |ready| {
            if ready { real::send(fd, buf, count, MSG_DONTWAIT) } else { real::__write(fd, buf, count) }
        });

    /// `close(2)`: never made again, because Linux has released the fd
    /// even when close fails with EINTR, and a second close could close
    /// another thread's new fd. When the engine says retry, the EINTR is
    /// reported as success (0); when it says pass, it goes back as it is.
    fn close(fd: c_int) -> c_int
        => |result, function| close_interrupted(function, fd, result);

    /// `__close`, a public alias of `close`: as `close`.
    fn __close(fd: c_int) -> c_int
        => |result, function| close_interrupted(function, fd, result);
}

/// A message header over the caller's iovecs, for a non-blocking retry of
/// `readv`/`writev` on a socket that `poll` reported ready.
fn iov_message(iov: *const libc::iovec, iovcnt: c_int) -> libc::msghdr {
    // SAFETY: a zeroed msghdr (null pointers, zero lengths) is a valid value.
    let mut message: libc::msghdr = unsafe { core::mem::zeroed() };
    message.msg_iov = iov.cast_mut();
    message.msg_iovlen = usize::try_from(iovcnt).unwrap_or(0) as _;
    message
}

/// The slow path of `close`: see its documentation.
#[cold]
#[inline(never)]
fn close_interrupted(function: Function, fd: c_int, result: c_int) -> c_int {
    if !interrupted(result) {
        return result;
    }
    match Interruption::new(function, Some(fd)).decide() {
        Decision::Pass => result,
        Decision::Retry => 0,
    }
}
