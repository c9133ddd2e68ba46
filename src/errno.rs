//! The calling thread's `errno`.

use core::ffi::c_int;

/// The current value of `errno`.
#[inline]
pub fn get() -> c_int {
    // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// Sets `errno`.
#[inline]
pub fn set(value: c_int) {
    // SAFETY: as in `get`; the pointer is valid for writes by this thread.
    unsafe { *libc::__errno_location() = value }
}
