//! Waiting for child processes.
//!
//! These have no timeout: on EINTR they are simply made again (a
//! `WNOHANG` wait never blocks, so it never sees EINTR).

use super::retry::retry;
use crate::real;
use core::ffi::c_int;
use libc::pid_t;

hooks! {
    /// `waitpid(2)`: retried until a child changes state or another error.
    fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t
        => |result, function| retry(function, None, result, || real::waitpid(pid, status, options));
    /// `wait(2)`: as `waitpid` (glibc's `wait` calls its own `wait4`
    /// inside libc, so only this hook reaches it).
    fn wait(status: *mut c_int) -> pid_t
        => |result, function| retry(function, None, result, || real::wait(status));

    /// `wait3(2)`: as `waitpid`.
    fn wait3(status: *mut c_int, options: c_int, rusage: *mut libc::rusage) -> pid_t
        => |result, function| retry(function, None, result, || real::wait3(status, options, rusage));

    /// `wait4(2)`: as `waitpid`.
    fn wait4(pid: pid_t, status: *mut c_int, options: c_int, rusage: *mut libc::rusage) -> pid_t
        => |result, function| retry(function, None, result, || real::wait4(pid, status, options, rusage));

    /// `waitid(2)`: as `waitpid`.
    fn waitid(idtype: libc::idtype_t, id: libc::id_t, info: *mut libc::siginfo_t, options: c_int) -> c_int
        => |result, function| retry(function, None, result, || real::waitid(idtype, id, info, options));

    /// `__waitpid`, a public alias of `waitpid`: as `waitpid`.
    fn __waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t
        => |result, function| retry(function, None, result, || real::__waitpid(pid, status, options));

    /// `__wait`, a public alias of `wait`: as `waitpid`.
    fn __wait(status: *mut c_int) -> pid_t
        => |result, function| retry(function, None, result, || real::__wait(status));
}
