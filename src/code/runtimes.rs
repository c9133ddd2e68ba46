//! Which loaded objects are runtimes that handle EINTR themselves
//! (`EINTRFIX_RUNTIMES`): CPython recognised by name, and the objects the
//! variable names, by path or real path.

use crate::config;
use core::ffi::{c_char, CStr};

/// The longest path read from the loader's records.
pub(super) const MAX_NAME: usize = config::RUNTIME_NAME_MAX + 1;

/// Whether `EINTRFIX_RUNTIMES` names the object loaded from `name` (empty
/// for the main program), by the path it was loaded from or its real
/// path.
pub(super) fn named_at_start(names: &[u8], name: &[u8]) -> bool {
    !names.is_empty() && named_by_path(names, name)
}

/// [`named_at_start`] once there are names: out of line, so that its three
/// path buffers (12 KiB, touched page by page by the stack probes) are
/// used only by a process that names runtimes.
#[inline(never)]
fn named_by_path(names: &[u8], name: &[u8]) -> bool {
    let mut path = [0u8; MAX_NAME];
    let mut real = [0u8; MAX_NAME];
    let loaded = if name.is_empty() {
        // The main program: the loader records no name.
        own_path(&mut path)
    } else {
        name
    };
    names_match(names, loaded) || names_match(names, real_path(loaded, &mut real))
}

/// The main program's path, from `/proc/self/exe` (empty if unreadable).
fn own_path(buf: &mut [u8; MAX_NAME]) -> &[u8] {
    // SAFETY: the buffer is writable for its length less one.
    let n = unsafe {
        libc::syscall(
            libc::SYS_readlink,
            c"/proc/self/exe".as_ptr(),
            buf.as_mut_ptr().cast::<c_char>(),
            buf.len() - 1,
        )
    };
    usize::try_from(n)
        .ok()
        .and_then(|n| buf.get(..n))
        .unwrap_or(&[])
}

/// `path` with its symbolic links resolved (empty if that fails).
fn real_path<'a>(path: &[u8], buf: &'a mut [u8; MAX_NAME]) -> &'a [u8] {
    let mut name = [0u8; MAX_NAME];
    if path.is_empty() || path.len() >= name.len() {
        return &[];
    }
    if let Some(slot) = name.get_mut(..path.len()) {
        slot.copy_from_slice(path);
    }
    // SAFETY: `name` is NUL-terminated; `buf` holds PATH_MAX bytes, what
    // realpath may write.
    let out = unsafe {
        libc::realpath(
            name.as_ptr().cast::<c_char>(),
            buf.as_mut_ptr().cast::<c_char>(),
        )
    };
    if out.is_null() {
        return &[];
    }
    // SAFETY: realpath wrote a NUL-terminated path into `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr().cast::<c_char>()) }.to_bytes()
}

/// The last component of a path.
pub(super) fn file_name(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// Whether one of `EINTRFIX_RUNTIMES`'s names designates the object at
/// `path`: a file name matches the path's last component, an absolute
/// path the whole path.
pub(super) fn names_match(value: &[u8], path: &[u8]) -> bool {
    !path.is_empty()
        && config::runtime_names(value).any(|name| {
            if name.starts_with(b"/") {
                name == path
            } else {
                name == file_name(path)
            }
        })
}

/// CPython 3.5 or later, by the file name: `libpython3.N…` with N ≥ 5, or
/// one of CPython's own extension modules, `NAME.cpython-3N…` (N ≥ 5) in a
/// `lib-dynload` directory (third-party modules live in `site-packages`).
pub(super) fn runtime_by_name(path: &[u8]) -> bool {
    let name = file_name(path);
    let minor_from = |rest: &[u8]| {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        rest.get(..digits)
            .and_then(config::parse_u32)
            .is_some_and(|minor| minor >= 5)
    };
    if let Some(rest) = name.strip_prefix(b"libpython3.") {
        return minor_from(rest) && contains(rest, b".so");
    }
    let in_lib_dynload = path
        .len()
        .checked_sub(name.len())
        .and_then(|dir| path.get(..dir))
        .is_some_and(|dir| dir.ends_with(b"/lib-dynload/"));
    in_lib_dynload
        && name
            .windows(b".cpython-3".len())
            .position(|w| w == b".cpython-3")
            .and_then(|at| name.get(at + b".cpython-3".len()..))
            .is_some_and(minor_from)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpython_by_name() {
        for yes in [
            &b"/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"[..],
            b"libpython3.5m.so.1.0",
            b"/opt/py/lib/libpython3.13t.so",
            b"/usr/lib/python3.11/lib-dynload/_socket.cpython-311-x86_64-linux-gnu.so",
            b"/x/lib/python3.5/lib-dynload/select.cpython-35m-x86_64-linux-gnu.so",
        ] {
            assert!(runtime_by_name(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"/usr/lib/libpython3.4m.so.1.0"[..],
            b"libpython3.so",
            b"libpython2.7.so.1.0",
            b"/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
            b"/usr/lib/python3.4/lib-dynload/_socket.cpython-34m-x86_64-linux-gnu.so",
            b"/usr/lib/python3.11/lib-dynload/",
            b"/usr/bin/python3.11",
            b"",
        ] {
            assert!(!runtime_by_name(no), "{}", String::from_utf8_lossy(no));
        }
    }

    #[test]
    fn names_by_file_name_or_absolute_path() {
        let value = b"libruby.so.3.1, /opt/tcl/lib/libtcl8.6.so ,auto";
        assert!(names_match(value, b"/usr/lib/libruby.so.3.1"));
        assert!(names_match(value, b"libruby.so.3.1"));
        assert!(names_match(value, b"/opt/tcl/lib/libtcl8.6.so"));
        assert!(!names_match(value, b"/usr/lib/libtcl8.6.so"));
        assert!(!names_match(value, b"/usr/lib/libruby.so.3"));
        assert!(!names_match(value, b"auto"));
        assert!(!names_match(value, b""));
    }
}
