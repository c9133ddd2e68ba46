//! Facts about the calling process and thread, asked of the kernel:
//! async-signal-safe, and right in a forked or `vfork`ed child.

use core::ffi::{c_int, c_long};

/// This process's id, asked of the kernel each time (glibc keeps no cache
/// since 2.25): right after `fork`, and in a `vfork` child.
pub fn getpid() -> c_int {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// The calling thread's id.
pub fn gettid() -> c_int {
    // SAFETY: gettid has no preconditions.
    let tid: c_long = unsafe { libc::syscall(libc::SYS_gettid) };
    c_int::try_from(tid).unwrap_or(-1)
}

/// Whether the kernel started this program in secure-execution mode.
pub fn secure_execution() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}
