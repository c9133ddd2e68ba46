//! The real libc functions behind the hooks: the one place that resolves
//! symbols.
//!
//! Each function has an `AtomicPtr` slot filled with `dlsym(RTLD_NEXT, ...)`
//! eagerly by the library's constructor ([`resolve_all`]) and lazily by the
//! first call when a hook runs before it (another library's constructor may
//! call `write`). The fast path is one relaxed load, one null test that
//! always predicts, and the call: no lock, no `Once`, nothing that could
//! deadlock if `dlsym` re-entered a hook or a signal arrived mid-resolution.
//!
//! Call these, never `libc::read` and friends: inside this library those
//! names resolve to our own exported hooks.

#![allow(non_upper_case_globals)]

use core::ffi::{c_char, c_int, c_uint, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};
use libc::{
    iovec, mmsghdr, msghdr, pid_t, siginfo_t, size_t, sockaddr, socklen_t, ssize_t, timespec,
};

/// Looks `name` (NUL-terminated) up in the objects after this one and
/// stores it; a missing symbol stays null.
#[cold]
#[inline(never)]
fn resolve(slot: &AtomicPtr<c_void>, name: &'static [u8]) -> *mut c_void {
    // SAFETY: `name` is NUL-terminated (built with concat! below) and
    // RTLD_NEXT is a valid pseudo-handle for dlsym.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast::<c_char>()) };
    slot.store(found, Ordering::Relaxed);
    found
}

/// A missing symbol fails like an unimplemented system call.
fn missing() -> c_int {
    crate::errno::set(libc::ENOSYS);
    -1
}

macro_rules! real_functions {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $(, missing = $missing:expr)?;
    )*) => {
        mod slot {
            use super::*;
            $( pub(super) static $name: AtomicPtr<c_void> = AtomicPtr::new(null_mut()); )*
        }

        /// The first calls, made before the slot is filled: resolve, then
        /// call. Out of line, so that the hooks' fast path keeps no
        /// registers for them (measured by `make bench`: 3 pushes and 3
        /// pops less per call).
        mod lazy {
            use super::*;
            $(
                /// # Safety
                /// Exactly libc's contract for this function.
                #[cold]
                #[inline(never)]
                pub(super) unsafe fn $name($($arg: $ty),*) -> $ret {
                    let f = resolve(&slot::$name, concat!(stringify!($name), "\0").as_bytes());
                    if f.is_null() {
                        return real_functions!(@missing $ret $(, $missing)?);
                    }
                    // SAFETY: `f` is the address libc exports for this name,
                    // and this signature is its C prototype.
                    let f: unsafe extern "C" fn($($ty),*) -> $ret = unsafe { core::mem::transmute(f) };
                    // SAFETY: the caller upholds the function's contract.
                    unsafe { f($($arg),*) }
                }
            )*
        }

        $(
            $(#[$meta])*
            ///
            /// # Safety
            /// Exactly libc's contract for this function.
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                let f = slot::$name.load(Ordering::Relaxed);
                if f.is_null() {
                    // SAFETY: the caller upholds the function's contract.
                    return unsafe { lazy::$name($($arg),*) };
                }
                // SAFETY: `f` is the address libc exports for this name, and
                // this signature is its C prototype.
                let f: unsafe extern "C" fn($($ty),*) -> $ret = unsafe { core::mem::transmute(f) };
                // SAFETY: the caller upholds the function's contract.
                unsafe { f($($arg),*) }
            }
        )*

        /// Resolves every real function now (from the constructor).
        pub fn resolve_all() {
            $(
                if slot::$name.load(Ordering::Relaxed).is_null() {
                    resolve(&slot::$name, concat!(stringify!($name), "\0").as_bytes());
                }
            )*
        }
    };
    (@missing $ret:ty) => { <$ret>::from(missing() as i8) };
    (@missing $ret:ty, $missing:expr) => { $missing };
}

real_functions! {
    // I/O
    fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
    fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
    fn __read_chk(fd: c_int, buf: *mut c_void, count: size_t, buflen: size_t) -> ssize_t;
    fn readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t;
    fn writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t;
    // sockets
    fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
    fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
    fn recvfrom(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t;
    fn sendto(fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr, addrlen: socklen_t) -> ssize_t;
    fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    fn recvmmsg(fd: c_int, msgs: *mut mmsghdr, vlen: c_uint, flags: c_int, timeout: *mut timespec) -> c_int;
    fn sendmmsg(fd: c_int, msgs: *mut mmsghdr, vlen: c_uint, flags: c_int) -> c_int;
    fn __recv_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int) -> ssize_t;
    fn __recvfrom_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t;
    fn accept(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> c_int;
    fn accept4(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t, flags: c_int) -> c_int;
    fn connect(fd: c_int, addr: *const sockaddr, addrlen: socklen_t) -> c_int;
    // processes
    fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t;
    fn waitid(idtype: libc::idtype_t, id: libc::id_t, info: *mut siginfo_t, options: c_int) -> c_int;
    // time
    fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int;
    fn clock_nanosleep(clock: libc::clockid_t, flags: c_int, req: *const timespec, rem: *mut timespec) -> c_int,
        missing = libc::ENOSYS;
    // multiplexing, used by the slow paths to wait within a deadline
    fn poll(fds: *mut libc::pollfd, nfds: libc::nfds_t, timeout: c_int) -> c_int;
    fn ppoll(fds: *mut libc::pollfd, nfds: libc::nfds_t, timeout: *const timespec, sigmask: *const libc::sigset_t) -> c_int;
    fn close(fd: c_int) -> c_int;
}
