//! The calling thread's `errno`, and the names of the error numbers the
//! shim reports.

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

/// Runs `f` and puts errno back as it was: for the shim's own calls (a
/// socket option read on a slow path, a line written from a handler),
/// which must leave the program's errno as the program's call left it.
#[inline]
pub fn preserved<T>(f: impl FnOnce() -> T) -> T {
    let saved = get();
    let result = f();
    set(saved);
    result
}

/// The errors opening a file can meet: (number, name, text). strerror is
/// not async-signal-safe (it may translate, and so lock and allocate).
const ERRORS: &[(c_int, &str, &str)] = &[
    (libc::ENOENT, "ENOENT", "No such file or directory"),
    (libc::EACCES, "EACCES", "Permission denied"),
    (libc::EPERM, "EPERM", "Operation not permitted"),
    (libc::EROFS, "EROFS", "Read-only file system"),
    (libc::ENOTDIR, "ENOTDIR", "Not a directory"),
    (libc::EISDIR, "EISDIR", "Is a directory"),
    (libc::ENAMETOOLONG, "ENAMETOOLONG", "File name too long"),
    (libc::ELOOP, "ELOOP", "Too many levels of symbolic links"),
    (libc::ENOSPC, "ENOSPC", "No space left on device"),
    (libc::EDQUOT, "EDQUOT", "Disk quota exceeded"),
    (libc::EMFILE, "EMFILE", "Too many open files"),
    (libc::ENFILE, "ENFILE", "Too many open files in system"),
    (libc::ENXIO, "ENXIO", "No such device or address"),
    (libc::ETXTBSY, "ETXTBSY", "Text file busy"),
    (libc::EINTR, "EINTR", "Interrupted system call"),
];

/// Displays an error number as its name (`ENOENT`).
pub struct ErrorName(pub c_int);

impl core::fmt::Display for ErrorName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match ERRORS.iter().find(|e| e.0 == self.0) {
            Some(e) => f.write_str(e.1),
            None => write!(f, "errno {}", self.0),
        }
    }
}

/// Displays an error number as its text (`No such file or directory`).
pub struct ErrorText(pub c_int);

impl core::fmt::Display for ErrorText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(
            ERRORS
                .iter()
                .find(|e| e.0 == self.0)
                .map_or("unexpected error", |e| e.2),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names() {
        assert_eq!(ErrorName(libc::ENOENT).to_string(), "ENOENT");
        assert_eq!(ErrorName(9999).to_string(), "errno 9999");
        assert_eq!(ErrorText(libc::EACCES).to_string(), "Permission denied");
    }
}
