//! The real libc functions behind the hooks: the one place that resolves
//! symbols.
//!
//! Each function has an `AtomicPtr` slot holding what
//! `dlsym(RTLD_NEXT, ...)` gives, filled by the function's first call. The
//! fast path is one relaxed load, one null test that always predicts, and
//! the call: no lock, no `Once`, nothing that could deadlock if a look-up
//! re-entered a hook or a signal arrived mid-resolution.
//!
//! A first call may come from a signal handler, where dlsym (the loader's
//! lock, `malloc` for its errors) must not run. So the constructor
//! ([`init`]) finds the objects after this library once (the scope of
//! `src/real/lookup.rs`) and publishes it: a first call after that only
//! reads their symbol tables, without a lock or a system call. The names
//! those objects cannot define (their bloom filters prove it: a function
//! of `libpthread.so.0` or `librt.so.1` after libc on an older glibc, or
//! one the libc lacks) are resolved by the constructor itself, as is every
//! name where no scope could be found. A process pays at start-up only for
//! the scope and the bloom tests, and for each function it calls, once.
//! Before the constructor (another library's constructor may call
//! `write`), a first call asks dlsym.
//!
//! A slot knows "missing" from "not looked up yet": null means not looked
//! up; a function libc lacks (`epoll_pwait2` before glibc 2.35) gets a
//! fallback that fails as [`missing`] says, so it is not looked up again
//! at every call ([`settle`]); so does a look-up that found this library's
//! own hook, which would call itself forever.
//!
//! Call these, never `libc::read` and friends: inside this library those
//! names resolve to our own exported hooks.

#![allow(non_upper_case_globals)]

use core::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use libc::{
    epoll_event, fd_set, iovec, mmsghdr, mqd_t, msghdr, nfds_t, off64_t, off_t, pid_t, pollfd,
    sem_t, sembuf, siginfo_t, sigset_t, size_t, sockaddr, socklen_t, ssize_t, timespec, timeval,
};

#[cfg(target_pointer_width = "64")]
mod lookup;
mod resolve;

pub use resolve::{default_symbol, init, resolve_all};
#[cfg(test)]
use resolve::{dlsym_function, is_own};
use resolve::{first_resolve, missing, resolve_slot, settle};

/// Without 64-bit ELF tables to read, dlsym resolves everything.
#[cfg(not(target_pointer_width = "64"))]
mod lookup {
    /// No scope: dlsym does it all.
    pub struct Scope;

    /// dlsym's type.
    pub type Dlsym = unsafe extern "C" fn(
        *mut core::ffi::c_void,
        *const core::ffi::c_char,
    ) -> *mut core::ffi::c_void;

    impl Scope {
        pub const EMPTY: Scope = Scope;

        pub fn find_into(&mut self, _dlsym: Option<Dlsym>) -> bool {
            false
        }

        pub fn may_define(&self, _hash: u32) -> bool {
            true
        }

        pub fn lookup(&self, _name: &[u8], _hash: u32) -> Option<*mut core::ffi::c_void> {
            None
        }
    }
}

extern "C" {
    /// The top of the main thread's stack: the loader's, under the same
    /// version (GLIBC_2.2.5 on x86-64) in every glibc.
    static __libc_stack_end: usize;
}

/// The top of the main thread's stack (`__libc_stack_end`).
pub fn libc_stack_end() -> usize {
    // SAFETY: a pointer-sized variable of the loader, set before any
    // constructor runs and never written again.
    unsafe { core::ptr::addr_of!(__libc_stack_end).read() }
}

macro_rules! real_functions {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty
            $(as $fnty:ty)? $(, $convention:ident = $missing:expr)?;
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
                    const HASH: u32 = crate::elf::gnu_hash(stringify!($name).as_bytes());
                    let found = first_resolve(concat!(stringify!($name), "\0").as_bytes(), HASH);
                    let f = settle(&slot::$name, found, real_functions!(@fallback $name [$($fnty)?]));
                    if f.is_null() {
                        return real_functions!(@missing $ret $(, $missing)?);
                    }
                    // SAFETY: `f` is the address libc exports for this name,
                    // and this signature is its C prototype.
                    let f: unsafe extern "C" fn($($ty),*) -> $ret = unsafe { core::mem::transmute(f) };
                    // SAFETY: the caller upholds the function's contract.
                    let result = unsafe { f($($arg),*) };
                    // Not a tail call: this function's return address stays
                    // on the stack during the call, after an indirect call
                    // from this library's code, which is how the signal
                    // trampoline's scan knows a hook is waiting
                    // (`code::scan::hook_above`); the hook's own call of
                    // this function is direct, to this library's code,
                    // which the scan does not take as proof.
                    core::sync::atomic::compiler_fence(Ordering::SeqCst);
                    result
                }
            )*
        }

        /// What a function libc lacks does instead (fails as
        /// [`missing`] says), for the slot: non-variadic functions only.
        mod fallback {
            use super::*;
            $( real_functions!(@define_fallback $name ($($arg: $ty),*) $ret [$($fnty)?] [$($missing)?]); )*
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
                type Prototype = real_functions!(@type ($($ty),*) $ret $(, $fnty)?);
                // SAFETY: `f` is the address libc exports for this name, and
                // this signature is its C prototype.
                let f: Prototype = unsafe { core::mem::transmute(f) };
                // SAFETY: the caller upholds the function's contract.
                unsafe { f($($arg),*) }
            }
        )*

        /// The audit mode's wrappers (see [`divert`]): each has its real
        /// function's prototype (a variadic function's as its hook has
        /// it), asks the audit's check whether to fail this call with
        /// EINTR, and calls the function it displaced.
        mod audited {
            use super::*;
            $( real_functions!(@audited $name ($($arg: $ty),*) $ret [$($fnty)?] [$($convention)?]); )*

            /// Points the slot of each function with a wrapper that
            /// `divert` chooses (by name) at its wrapper.
            pub(super) fn divert_all(divert: impl Fn(&'static str) -> bool) {
                $( real_functions!(@divert $name [$($fnty)?] [$($convention)?] divert); )*
            }
        }

        /// Every name in the table, NUL-terminated.
        #[cfg(test)]
        const NAMES: &[&[u8]] = &[$(concat!(stringify!($name), "\0").as_bytes()),*];

        /// Resolves now every real function not resolved yet: all of
        /// them, or only those `scope` cannot define (its bloom filters
        /// rule them out). One call a name, so that the constructor runs
        /// through little code.
        fn resolve_now(scope: Option<&lookup::Scope>, undefinable_only: bool) {
            $({
                const HASH: u32 = crate::elf::gnu_hash(stringify!($name).as_bytes());
                if slot::$name.load(Ordering::Relaxed).is_null()
                    && !(undefinable_only && scope.is_some_and(|s| s.may_define(HASH)))
                {
                    resolve_slot(
                        &slot::$name,
                        concat!(stringify!($name), "\0").as_bytes(),
                        HASH,
                        real_functions!(@fallback $name [$($fnty)?]),
                        scope,
                    );
                }
            })*
        }
    };
    // A wrapper for a function whose failure is -1 with errno, variadic
    // (an `as` row: the wrapper is a fixed-arity function that the slot's
    // callers call through the variadic prototype, as a hook is, on the
    // hook's targets only; see docs/variadic-hooks.md) or not; and for one
    // that returns its error number (`error = E`). None for a function
    // that cannot fail with EINTR (`missing = V`).
    (@audited $name:ident ($($arg:ident: $ty:ty),*) $ret:ty [] []) => {
        real_functions!(@wrapper $name ($($arg: $ty),*) $ret [] { real_functions!(@eintr $ret) });
    };
    (@audited $name:ident ($($arg:ident: $ty:ty),*) $ret:ty [$fnty:ty] []) => {
        #[cfg(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ))]
        real_functions!(@wrapper $name ($($arg: $ty),*) $ret [$fnty] { real_functions!(@eintr $ret) });
    };
    (@audited $name:ident ($($arg:ident: $ty:ty),*) $ret:ty [] [error]) => {
        real_functions!(@wrapper $name ($($arg: $ty),*) $ret [] { libc::EINTR });
    };
    (@audited $name:ident ($($arg:ident: $ty:ty),*) $ret:ty [] [missing]) => {};
    // -1 with errno EINTR.
    (@eintr $ret:ty) => {{
        crate::errno::set(libc::EINTR);
        <$ret>::from(-1i8)
    }};
    // The wrapper: `$eintr` is what the function returns when it fails
    // with EINTR.
    (@wrapper $name:ident ($($arg:ident: $ty:ty),*) $ret:ty [$($fnty:ty)?] $eintr:block) => {
        /// The function the wrapper displaced.
        mod $name {
            use super::*;
            pub(super) static DISPLACED: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
        }

        /// # Safety
        /// Exactly libc's contract for this function.
        pub(super) unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            type Prototype = real_functions!(@type ($($ty),*) $ret $(, $fnty)?);
            let f = $name::DISPLACED.load(Ordering::Relaxed);
            // SAFETY: `f` is the address the slot held, libc's function
            // with this prototype, resolved before the slot was diverted.
            let f: Prototype = unsafe { core::mem::transmute(f) };
            let what = ask(stringify!($name), &[$(word(&$arg)),*]);
            if what != Audited::Call {
                if what == Audited::CallThenFail {
                    // SAFETY: as below.
                    unsafe { f($($arg),*) };
                }
                return $eintr;
            }
            // SAFETY: the caller upholds the function's contract.
            unsafe { f($($arg),*) }
        }
    };
    (@divert $name:ident [] [$(error)?] $divert:ident) => {
        let real = slot::$name.load(Ordering::Relaxed);
        if !real.is_null() && $divert(stringify!($name)) {
            $name::DISPLACED.store(real, Ordering::Relaxed);
            slot::$name.store($name as *mut c_void, Ordering::Relaxed);
        }
    };
    // A variadic function's wrapper is fixed-arity: sound, and built,
    // only where its hook is (docs/variadic-hooks.md); elsewhere nothing
    // calls the slot.
    (@divert $name:ident [$fnty:ty] [] $divert:ident) => {
        #[cfg(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ))]
        {
            real_functions!(@divert $name [] [] $divert);
        }
    };
    (@divert $name:ident [] [missing] $divert:ident) => {};
    (@type ($($ty:ty),*) $ret:ty) => { unsafe extern "C" fn($($ty),*) -> $ret };
    (@type ($($ty:ty),*) $ret:ty, $fnty:ty) => { $fnty };
    (@define_fallback $name:ident ($($arg:ident: $ty:ty),*) $ret:ty [] [$($missing:expr)?]) => {
        /// # Safety
        /// None: the arguments are not touched.
        pub(super) unsafe extern "C" fn $name($(_: $ty),*) -> $ret {
            real_functions!(@missing $ret $(, $missing)?)
        }
    };
    (@define_fallback $name:ident ($($arg:ident: $ty:ty),*) $ret:ty [$fnty:ty] [$($missing:expr)?]) => {};
    (@fallback $name:ident []) => { fallback::$name as *mut c_void };
    // A variadic function has none (every libc has these): a slot left
    // null is looked up again.
    (@fallback $name:ident [$fnty:ty]) => { null_mut() };
    (@missing $ret:ty) => { <$ret>::from(missing() as i8) };
    (@missing $ret:ty, $missing:expr) => { $missing };
}

real_functions! {
    // A function fails with -1 and errno, unless its row says otherwise:
    // `error = E`, it returns its error number (E where libc lacks it);
    // `missing = V`, it cannot fail (and returns V where libc lacks it).
    // I/O
    fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
    fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
    fn readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t;
    fn writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t;
    fn pread(fd: c_int, buf: *mut c_void, count: size_t, offset: off_t) -> ssize_t;
    fn pwrite(fd: c_int, buf: *const c_void, count: size_t, offset: off_t) -> ssize_t;
    fn pread64(fd: c_int, buf: *mut c_void, count: size_t, offset: off64_t) -> ssize_t;
    fn pwrite64(fd: c_int, buf: *const c_void, count: size_t, offset: off64_t) -> ssize_t;
    fn preadv(fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t) -> ssize_t;
    fn pwritev(fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t) -> ssize_t;
    fn preadv2(fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t, flags: c_int) -> ssize_t;
    fn pwritev2(fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t, flags: c_int) -> ssize_t;
    fn __read_chk(fd: c_int, buf: *mut c_void, count: size_t, buflen: size_t) -> ssize_t;
    fn __pread_chk(fd: c_int, buf: *mut c_void, count: size_t, offset: off_t, buflen: size_t) -> ssize_t;
    fn __pread64_chk(fd: c_int, buf: *mut c_void, count: size_t, offset: off64_t, buflen: size_t) -> ssize_t;
    fn __read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
    fn __write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
    fn close(fd: c_int) -> c_int;
    fn __close(fd: c_int) -> c_int;
    // files: locks and opens. A row `as TYPE` calls a C variadic function
    // through its variadic prototype (see docs/variadic-hooks.md).
    fn flock(fd: c_int, operation: c_int) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int
        as unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
    fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int
        as unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
    fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int
        as unsafe extern "C" fn(*const c_char, c_int, ...) -> c_int;
    fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int
        as unsafe extern "C" fn(*const c_char, c_int, ...) -> c_int;
    fn openat(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int
        as unsafe extern "C" fn(c_int, *const c_char, c_int, ...) -> c_int;
    fn openat64(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int
        as unsafe extern "C" fn(c_int, *const c_char, c_int, ...) -> c_int;
    fn __open_2(path: *const c_char, flags: c_int) -> c_int;
    fn __open64_2(path: *const c_char, flags: c_int) -> c_int;
    fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int;
    fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int;
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
    fn __connect(fd: c_int, addr: *const sockaddr, addrlen: socklen_t) -> c_int;
    fn __send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
    // processes
    fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t;
    fn wait(status: *mut c_int) -> pid_t;
    fn wait3(status: *mut c_int, options: c_int, rusage: *mut libc::rusage) -> pid_t;
    fn wait4(pid: pid_t, status: *mut c_int, options: c_int, rusage: *mut libc::rusage) -> pid_t;
    fn waitid(idtype: libc::idtype_t, id: libc::id_t, info: *mut siginfo_t, options: c_int) -> c_int;
    fn __waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t;
    fn __wait(status: *mut c_int) -> pid_t;
    // time
    fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int;
    fn clock_nanosleep(clock: libc::clockid_t, flags: c_int, req: *const timespec, rem: *mut timespec) -> c_int,
        error = libc::ENOSYS;
    fn __nanosleep(req: *const timespec, rem: *mut timespec) -> c_int;
    // multiplexing (the slow paths also wait with `poll`)
    fn poll(fds: *mut libc::pollfd, nfds: libc::nfds_t, timeout: c_int) -> c_int;
    fn __poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int;
    fn ppoll(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t) -> c_int;
    fn __poll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: c_int, fdslen: size_t) -> c_int;
    fn __ppoll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t, fdslen: size_t) -> c_int;
    fn select(nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set, timeout: *mut timeval) -> c_int;
    fn __select(nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set, timeout: *mut timeval) -> c_int;
    fn pselect(nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set, timeout: *const timespec, sigmask: *const sigset_t) -> c_int;
    fn epoll_wait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int) -> c_int;
    fn epoll_pwait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int, sigmask: *const sigset_t) -> c_int;
    fn epoll_pwait2(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: *const timespec, sigmask: *const sigset_t) -> c_int;
    // semaphores, message queues, System V IPC
    fn sem_wait(sem: *mut sem_t) -> c_int;
    fn sem_timedwait(sem: *mut sem_t, abstime: *const timespec) -> c_int;
    fn sem_clockwait(sem: *mut sem_t, clock: libc::clockid_t, abstime: *const timespec) -> c_int;
    fn mq_receive(mq: mqd_t, msg: *mut c_char, len: size_t, prio: *mut c_uint) -> ssize_t;
    fn mq_timedreceive(mq: mqd_t, msg: *mut c_char, len: size_t, prio: *mut c_uint, abstime: *const timespec) -> ssize_t;
    fn mq_send(mq: mqd_t, msg: *const c_char, len: size_t, prio: c_uint) -> c_int;
    fn mq_timedsend(mq: mqd_t, msg: *const c_char, len: size_t, prio: c_uint, abstime: *const timespec) -> c_int;
    fn msgrcv(id: c_int, msg: *mut c_void, size: size_t, kind: c_long, flags: c_int) -> ssize_t;
    fn msgsnd(id: c_int, msg: *const c_void, size: size_t, flags: c_int) -> c_int;
    fn semop(id: c_int, sops: *mut sembuf, nsops: size_t) -> c_int;
    fn semtimedop(id: c_int, sops: *mut sembuf, nsops: size_t, timeout: *const timespec) -> c_int;
    // signals and timers, behind the signal family of hooks
    fn sigaction(sig: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int;
    fn alarm(seconds: c_uint) -> c_uint, missing = 0;
    fn ualarm(value: libc::useconds_t, interval: libc::useconds_t) -> libc::useconds_t, missing = 0;
    fn setitimer(which: c_int, new: *const libc::itimerval, old: *mut libc::itimerval) -> c_int;
}

/// What the audit mode's check says of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audited {
    /// Make it, as always.
    Call,
    /// Fail it with EINTR, without making it.
    Fail,
    /// Make it, then report EINTR (`close`: the descriptor is released).
    CallThenFail,
}

/// The audit mode's check of each call through a wrapper: the function's
/// name and its arguments, each as a word.
pub type Check = fn(&'static str, &[usize]) -> Audited;

/// The [`Check`], once [`divert`] stored it (0 before).
static AUDIT: AtomicUsize = AtomicUsize::new(0);

/// What the [`Check`] says of a wrapper's call (`Call` before [`divert`]
/// stored one), with errno kept: a call made finds it as the program
/// left it, and a function that returns its error number leaves it alone.
fn ask(name: &'static str, arguments: &[usize]) -> Audited {
    let check = AUDIT.load(Ordering::Relaxed);
    if check == 0 {
        return Audited::Call;
    }
    // SAFETY: a non-zero AUDIT is a `Check` stored by `divert`.
    let check: Check = unsafe { core::mem::transmute::<usize, Check>(check) };
    crate::errno::preserved(|| check(name, arguments))
}

/// An argument's bits as a word (every argument of a wrapped function is
/// an integer or a pointer of a word at most).
fn word<T: Copy>(argument: &T) -> usize {
    let mut bytes = [0u8; core::mem::size_of::<usize>()];
    let size = core::mem::size_of::<T>().min(bytes.len());
    // SAFETY: `size` bytes are readable from `argument` and writable in
    // `bytes`; the two do not overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(
            (argument as *const T).cast::<u8>(),
            bytes.as_mut_ptr(),
            size,
        )
    };
    usize::from_ne_bytes(bytes)
}

/// Points the real-function slots that `divert` chooses (by name) at the
/// audit mode's wrappers, which ask `check` about each call before making
/// it. From the constructor, and only in the audit mode: otherwise the
/// slots stay libc's and the hooks' fast path is unchanged. Resolves every
/// function first. The functions that cannot fail with EINTR (`alarm`,
/// `ualarm`) keep their slot.
pub fn divert(divert: impl Fn(&'static str) -> bool, check: Check) {
    resolve_all();
    AUDIT.store(check as usize, Ordering::Relaxed);
    audited::divert_all(divert);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_knows_missing_from_not_looked_up_and_refuses_its_own_hook() {
        let slot = AtomicPtr::new(null_mut());
        let fallback = fallback::epoll_pwait2 as *mut c_void;
        // SAFETY: a NUL-terminated name.
        let libc_read = unsafe { libc::dlsym(libc::RTLD_NEXT, c"read".as_ptr()) };
        assert!(!libc_read.is_null() && !is_own(libc_read as usize));
        assert_eq!(settle(&slot, libc_read, fallback), libc_read);
        assert_eq!(settle(&slot, null_mut(), fallback), fallback);
        assert_eq!(
            slot.load(Ordering::Relaxed),
            fallback,
            "missing is not null"
        );
        let own = settle as fn(&AtomicPtr<c_void>, *mut c_void, *mut c_void) -> *mut c_void;
        assert!(is_own(own as usize));
        assert_eq!(settle(&slot, own as *mut c_void, fallback), fallback);
    }

    #[test]
    fn fallbacks_fail_as_missing_functions() {
        crate::errno::set(0);
        // SAFETY: the fallbacks touch no argument.
        unsafe {
            let r = fallback::epoll_pwait2(-1, null_mut(), 0, core::ptr::null(), core::ptr::null());
            assert_eq!((r, crate::errno::get()), (-1, libc::ENOSYS));
            assert_eq!(fallback::alarm(1), 0);
            assert_eq!(
                fallback::clock_nanosleep(0, 0, core::ptr::null(), null_mut()),
                libc::ENOSYS
            );
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn every_name_is_found_where_dlsym_finds_it() {
        let scope = lookup::Scope::find(dlsym_function()).expect("the scope after the test binary");
        for &name in NAMES {
            // SAFETY: a NUL-terminated name.
            let expected = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) };
            let bare = &name[..name.len() - 1];
            // Every plain function dlsym finds, this finds: none of libc's
            // functions here is an IFUNC.
            let expected = (!expected.is_null()).then_some(expected);
            let found = scope.lookup(bare, crate::elf::gnu_hash(bare));
            assert_eq!(found, expected, "{}", String::from_utf8_lossy(bare));
        }
    }
}
