//! Reads and writes on file descriptors.
//!
//! On EINTR these are retried; a partial transfer is a success and goes
//! back as it is. On a socket with SO_RCVTIMEO or SO_SNDTIMEO a retry
//! keeps to what is left of that timeout (see [`super::sockets`]).

use super::sockets::{retry_within_timeout, Direction};
use crate::real;
use core::ffi::{c_int, c_void};
use libc::{size_t, ssize_t, MSG_DONTWAIT};

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
}
