//! Sockets: receive, send, accept and connect.
//!
//! The kernel never restarts these on a socket with SO_RCVTIMEO or
//! SO_SNDTIMEO, and a plain retry would start the whole timeout again each
//! time, so under a signal storm the call would never time out. After an
//! EINTR the shim therefore reads the socket's timeout and keeps a
//! deadline: it waits with `poll` for what is left, then makes the call
//! again without blocking; once the time is up it fails with EAGAIN, as the
//! kernel would. Sockets without a timeout (and other fds) are retried
//! plainly.
//!
//! The deadline starts at the first interruption, because reading the
//! clock before every call would tax the fast path: a call may therefore
//! wait up to the time it had blocked before its first signal longer than
//! its timeout (under a storm, one signal period).
//!
//! `connect` is never made again on a TCP socket after EINTR (Linux would
//! block anew; POSIX says EALREADY): the shim polls for writability, within
//! SO_SNDTIMEO if set, and returns the socket's SO_ERROR. An AF_UNIX
//! connect keeps no pending state in the kernel, so it is made again; with
//! SO_SNDTIMEO set, each retry runs with the timeout lowered to what is left
//! of the deadline (and the socket's own value put back after), ending with
//! EAGAIN as the kernel does.

use super::retry::{interrupted, retry, retry_within_timeout, wait_ready, Wait};
use super::socket_options::{
    is_unix_socket, pending_error, set_socket_timeout, socket_timeout, Direction,
};
use crate::deadline::Deadline;
use crate::errno;
use crate::functions::Function;
use crate::policy::{Decision, Interruption};
use crate::real;
use core::ffi::{c_int, c_void};
use core::time::Duration;
use libc::{size_t, sockaddr, socklen_t, ssize_t, MSG_DONTWAIT};

/// The slow path of `connect`: see the module documentation.
#[cold]
#[inline(never)]
pub fn complete_connect(
    function: Function,
    fd: c_int,
    first: c_int,
    again: impl FnMut() -> c_int,
) -> c_int {
    if !interrupted(first) {
        return first;
    }
    if is_unix_socket(fd) {
        return match socket_timeout(fd, Direction::Send) {
            None => retry(function, Some(fd), first, again),
            Some(timeout) => retry_unix_connect(function, fd, timeout, again),
        };
    }
    let deadline = socket_timeout(fd, Direction::Send).map(Deadline::after);
    let mut interruption = Interruption::new(function, Some(fd));
    loop {
        if interruption.decide() == Decision::Pass {
            return -1;
        }
        match wait_ready(fd, libc::POLLOUT, deadline) {
            Wait::Interrupted => continue,
            Wait::TimedOut => {
                // What a TCP connect that ran out of SO_SNDTIMEO reports.
                errno::set(libc::EINPROGRESS);
                return -1;
            }
            Wait::Ready => break,
            // Reading SO_ERROR now could report success for a connection
            // that is not made: report the wait's own failure instead.
            Wait::Failed => return -1,
        }
    }
    match pending_error(fd) {
        0 | libc::EISCONN => 0,
        error => {
            errno::set(error);
            -1
        }
    }
}

/// The slow path of an AF_UNIX `connect` with SO_SNDTIMEO. Such a connect
/// keeps no pending state, so it is made again; but each call would wait
/// the whole timeout anew, so each retry runs with SO_SNDTIMEO lowered to
/// what is left of the first call's deadline, and the socket's own value
/// is put back after it. Once the deadline has passed the call fails with
/// EAGAIN, as the kernel reports an AF_UNIX connect that timed out.
fn retry_unix_connect(
    function: Function,
    fd: c_int,
    timeout: Duration,
    mut again: impl FnMut() -> c_int,
) -> c_int {
    let deadline = Deadline::after(timeout);
    let mut interruption = Interruption::new(function, Some(fd));
    'interrupted: loop {
        if interruption.decide() == Decision::Pass {
            return -1;
        }
        loop {
            let left = deadline.remaining();
            if left.is_zero() {
                errno::set(libc::EAGAIN);
                return -1;
            }
            set_socket_timeout(fd, Direction::Send, left);
            let result = again();
            set_socket_timeout(fd, Direction::Send, timeout);
            if interrupted(result) {
                continue 'interrupted;
            }
            // The kernel counts timeouts in jiffies and may end one a tick
            // before the deadline: wait out the rest.
            if result == -1 && errno::get() == libc::EAGAIN && !deadline.passed() {
                continue;
            }
            return result;
        }
    }
}

/// `flags` plus MSG_DONTWAIT when the socket was reported ready.
fn flags_when(ready: bool, flags: c_int) -> c_int {
    if ready {
        flags | MSG_DONTWAIT
    } else {
        flags
    }
}

hooks! {
    /// `recv(2)`: retried, within SO_RCVTIMEO if set.
    fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            real::recv(fd, buf, len, flags_when(ready, flags))
        });

    /// `send(2)`: retried, within SO_SNDTIMEO if set; a partial send is returned as it is.
    fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Send, result, |ready| {
            real::send(fd, buf, len, flags_when(ready, flags))
        });

    /// `recvfrom(2)` (Perl's `recv`): as `recv`.
    fn recvfrom(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            real::recvfrom(fd, buf, len, flags_when(ready, flags), addr, addrlen)
        });

    /// `__recv_chk`, the fortified `recv`: as `recv`.
    fn __recv_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            real::__recv_chk(fd, buf, len, buflen, flags_when(ready, flags))
        });

    /// `__recvfrom_chk`, the fortified `recvfrom`: as `recv`.
    fn __recvfrom_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            real::__recvfrom_chk(fd, buf, len, buflen, flags_when(ready, flags), addr, addrlen)
        });

    /// `accept(2)`: retried, within SO_RCVTIMEO if set.
    fn accept(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> c_int
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |_| {
            real::accept(fd, addr, addrlen)
        });

    /// `accept4(2)` (what Perl, Python and Rust's std call): as `accept`.
    fn accept4(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t, flags: c_int) -> c_int
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |_| {
            real::accept4(fd, addr, addrlen, flags)
        });

    /// `connect(2)`: never made again on TCP; completes by polling, then SO_ERROR.
    fn connect(fd: c_int, addr: *const sockaddr, addrlen: socklen_t) -> c_int
        => |result, function| complete_connect(function, fd, result, || real::connect(fd, addr, addrlen));
    /// `sendto(2)`: as `send`.
    fn sendto(fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr, addrlen: socklen_t) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Send, result, |ready| {
            real::sendto(fd, buf, len, flags_when(ready, flags), addr, addrlen)
        });

    /// `recvmsg(2)`: as `recv`.
    fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            real::recvmsg(fd, msg, flags_when(ready, flags))
        });

    /// `sendmsg(2)`: as `send`.
    fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Send, result, |ready| {
            real::sendmsg(fd, msg, flags_when(ready, flags))
        });

    /// `recvmmsg(2)`: as `recv` (EINTR comes only before the first
    /// message; after one, the kernel returns the count instead).
    fn recvmmsg(fd: c_int, msgs: *mut libc::mmsghdr, vlen: core::ffi::c_uint, flags: c_int, timeout: *mut libc::timespec) -> c_int
        => |result, function| retry_within_timeout(function, fd, Direction::Receive, result, |ready| {
            real::recvmmsg(fd, msgs, vlen, flags_when(ready, flags), timeout)
        });

    /// `sendmmsg(2)`: as `send`; a partial count is returned as it is.
    fn sendmmsg(fd: c_int, msgs: *mut libc::mmsghdr, vlen: core::ffi::c_uint, flags: c_int) -> c_int
        => |result, function| retry_within_timeout(function, fd, Direction::Send, result, |ready| {
            real::sendmmsg(fd, msgs, vlen, flags_when(ready, flags))
        });

    /// `__send`, a public alias of `send`: as `send`.
    fn __send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t
        => |result, function| retry_within_timeout(function, fd, Direction::Send, result, |ready| {
            real::__send(fd, buf, len, flags_when(ready, flags))
        });

    /// `__connect`, a public alias of `connect`: as `connect`.
    fn __connect(fd: c_int, addr: *const sockaddr, addrlen: socklen_t) -> c_int
        => |result, function| complete_connect(function, fd, result, || real::__connect(fd, addr, addrlen));
}
