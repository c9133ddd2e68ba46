//! Waiting for child processes.
//!
//! These have no timeout: on EINTR they are simply made again (a
//! `WNOHANG` wait never blocks, so it never sees EINTR).

use crate::policy::retry;
use crate::real;
use core::ffi::c_int;
use libc::pid_t;

hooks! {
    /// `waitpid(2)`: retried until a child changes state or another error.
    fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t
        => |result, function| retry(function, None, result, || real::waitpid(pid, status, options));
}
