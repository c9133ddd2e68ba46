//! Opening and locking files: `open` of a FIFO, `flock`, and `fcntl` with
//! `F_SETLKW`/`F_OFD_SETLKW`, which block until the other side or the lock
//! holder is there. The kernel restarts them only under SA_RESTART; on
//! EINTR the shim retries them.
//!
//! `fcntl` and `open` are C variadic functions, which stable Rust cannot
//! define. These hooks are fixed-arity definitions that rely on the Linux
//! calling conventions of x86_64 and aarch64, where the first variadic
//! arguments travel exactly where a further fixed argument would; they are
//! built only there. See docs/variadic-hooks.md for the reasoning.

use super::retry::retry;
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
use crate::functions::fcntl_waits;
use crate::real;
use core::ffi::{c_char, c_int};
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
use core::ffi::{c_uint, c_ulong};

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
hooks! {
    /// `fcntl(2)`: `F_SETLKW` and `F_OFD_SETLKW` are retried until the lock
    /// is taken; no other command blocks, and their results go back as
    /// they are. `arg` is the one variadic argument every command takes
    /// (an int, a pointer, or nothing: then it is ignored).
    fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int
        => |result, function| if fcntl_waits(cmd) {
            retry(function, Some(fd), result, || real::fcntl(fd, cmd, arg))
        } else {
            result
        };

    /// `fcntl64`, what `fcntl` is under `-D_FILE_OFFSET_BITS=64`: as `fcntl`.
    fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int
        => |result, function| if fcntl_waits(cmd) {
            retry(function, Some(fd), result, || real::fcntl64(fd, cmd, arg))
        } else {
            result
        };

    /// `open(2)`: retried (only an open that waits, a FIFO's for its other
    /// end, can fail with EINTR). `mode` is read and passed on whatever
    /// `flags` say; libc reads it only with O_CREAT or O_TMPFILE.
    fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int
        => |result, function| retry(function, None, result, || real::open(path, flags, mode));

    /// `open64`, what `open` is under `-D_FILE_OFFSET_BITS=64`: as `open`.
    fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int
        => |result, function| retry(function, None, result, || real::open64(path, flags, mode));

    /// `openat(2)`: as `open`.
    fn openat(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int
        => |result, function| retry(function, None, result, || real::openat(dirfd, path, flags, mode));

    /// `openat64`: as `open`.
    fn openat64(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int
        => |result, function| retry(function, None, result, || real::openat64(dirfd, path, flags, mode));
}

hooks! {
    /// `flock(2)`: a blocking lock, retried until it is taken.
    fn flock(fd: c_int, operation: c_int) -> c_int
        => |result, function| retry(function, Some(fd), result, || real::flock(fd, operation));
    /// `__open_2`, the fortified `open` for flags not known at compile time: as `open`.
    fn __open_2(path: *const c_char, flags: c_int) -> c_int
        => |result, function| retry(function, None, result, || real::__open_2(path, flags));

    /// `__open64_2`: as `open`.
    fn __open64_2(path: *const c_char, flags: c_int) -> c_int
        => |result, function| retry(function, None, result, || real::__open64_2(path, flags));

    /// `__openat_2`: as `open`.
    fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int
        => |result, function| retry(function, None, result, || real::__openat_2(dirfd, path, flags));

    /// `__openat64_2`: as `open`.
    fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int
        => |result, function| retry(function, None, result, || real::__openat64_2(dirfd, path, flags));
}
