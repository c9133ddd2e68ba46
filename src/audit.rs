//! The audit mode, behind `eintrfix audit`: records the call sites of
//! hooked functions a program reaches (`EINTRFIX_AUDIT`), and lets exactly
//! one EINTR reach it at one of them (`EINTRFIX_INJECT`, see
//! [`crate::config::inject`]).
//!
//! Off (neither variable set) it costs the constructor two `getenv`s and
//! nothing else: the hooks' fast path is unchanged. On, the constructor
//! points the real-function slots of the functions it watches at wrappers
//! of the same prototype ([`crate::real::divert`]), which call
//! [`at_call`] before the real function. A wrapper finds its call site as
//! the policy engine finds a hook's caller (the first return address
//! outside the shim, [`code::hook_caller`]) and names it by its object and
//! offset there ([`code::object_of`]). At the chosen site and call it
//! returns -1 with EINTR without calling libc; the hook's slow path then
//! asks the engine, which lets that one EINTR pass ([`take_injected`]),
//! or judges it like any other (`retry` in the spec: the `--fix-check`
//! run).
//!
//! The record is a file of lines, each written whole with one `write(2)`
//! (`O_APPEND`, so every process of the program can share it):
//! - `site PID EXE FUNCTION OBJECT 0xOFFSET` at a site's first call;
//! - `count PID EXE FUNCTION OBJECT 0xOFFSET N` for each site at exit;
//! - `injected PID EXE FUNCTION OBJECT 0xOFFSET N` when the EINTR is made;
//! - `nonblocking PID EXE FUNCTION OBJECT 0xOFFSET N` when the chosen
//!   call cannot block (a non-blocking descriptor, MSG_DONTWAIT, WNOHANG,
//!   a poll with no timeout): no signal could interrupt it, and the next
//!   call there that can block gets the EINTR.
//!
//! Fields are separated by tabs. All of it is async-signal-safe: a fixed
//! table of sites claimed with compare-and-swap, raw system calls for the
//! file (the shim's own `write` goes through the wrappers).

use crate::code;
use crate::config::{self, inject::Spec};
use crate::functions::Function;
use crate::once::Once;
use crate::trace::line::Line;
use core::ffi::c_int;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};

mod sampling;

/// Distinct sites recorded at most per process.
const SITES: usize = 1024;

struct Site {
    /// The return address (0: free).
    address: AtomicUsize,
    /// `Function` index + 1 (0: not yet written).
    function: AtomicUsize,
    calls: AtomicU32,
}

static TABLE: [Site; SITES] = [const {
    Site {
        address: AtomicUsize::new(0),
        function: AtomicUsize::new(0),
        calls: AtomicU32::new(0),
    }
}; SITES];

/// The record file's descriptor, or -1.
static RECORD: AtomicI32 = AtomicI32::new(-1);
/// Whether the audit mode is on in this process.
static ON: AtomicBool = AtomicBool::new(false);
/// The site to interrupt, if any (and if this executable is the one).
static TARGET: Once<Spec<'static>> = Once::new();
/// Calls made at the target so far.
static TARGET_CALLS: AtomicU32 = AtomicU32::new(0);
/// Whether a chosen call could not block (written once).
static NONBLOCKING: AtomicBool = AtomicBool::new(false);
/// Whether the EINTR has been made.
static INJECTED: AtomicBool = AtomicBool::new(false);
/// The thread whose hook must let the injected EINTR pass (0: none).
static PASS_TID: AtomicI32 = AtomicI32::new(0);

/// The thread whose hook is retrying a call (0: none): the calls it
/// makes meanwhile are not the program's.
static RETRYING_TID: AtomicI32 = AtomicI32::new(0);

/// This process's executable, from `/proc/self/exe`.
static EXE: Once<([u8; 512], usize)> = Once::new();

fn exe() -> &'static [u8] {
    EXE.get()
        .map_or(&[], |(buf, len)| buf.get(..*len).unwrap_or(&[]))
}

/// From the constructor, after the real functions are resolved: turns the
/// audit mode on when either variable is set.
pub fn init(config: &config::Config) {
    let record = config::environment(config::AUDIT).filter(|v| !v.is_empty());
    let inject = config::environment(config::INJECT).filter(|v| !v.is_empty());
    if record.is_none() && inject.is_none() {
        return;
    }
    code::init(config);
    EXE.get_or_init(|| {
        let mut buf = [0u8; 512];
        // SAFETY: the path is NUL-terminated and `buf` is writable for
        // its length.
        let len = unsafe {
            libc::syscall(
                libc::SYS_readlink,
                c"/proc/self/exe".as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        (buf, usize::try_from(len).unwrap_or(0).min(buf.len()))
    });
    if let Some(path) = record {
        open_record(path);
    }
    let target = inject.and_then(|value| {
        let spec = config::inject::parse(value);
        if spec.is_none() {
            let mut line = Line::new();
            let _ = write!(
                line,
                "eintrfix: {} is not {}: nothing is injected",
                config::INJECT,
                config::inject::ACCEPTS
            );
            line.write_to(crate::trace::destination::stderr());
        }
        spec.filter(|s| s.exe.map_or(true, |e| e == exe()))
    });
    if let Some(spec) = target {
        TARGET.get_or_init(|| spec);
    }
    // The unwinder is loaded now, in the constructor, not in a hook.
    let _ = program_caller();
    ON.store(true, Ordering::Release);
    sampling::start(target.is_some_and(|t| t.signal || t.function.starts_with(b"libc:")));
    let all = record.is_some();
    crate::real::divert(|name| {
        Function::from_name(name.as_bytes()).is_some()
            && (all || target.is_some_and(|t| t.function == name.as_bytes()))
    });
}

fn open_record(path: &[u8]) {
    let mut name = [0u8; 4096];
    let Some(into) = name.get_mut(..path.len()) else {
        return;
    };
    into.copy_from_slice(path);
    // SAFETY: `name` is NUL-terminated (zero past the path).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            name.as_ptr(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC,
            0o600,
        )
    };
    if let Ok(fd) = i32::try_from(fd) {
        if fd >= 0 {
            RECORD.store(fd, Ordering::Relaxed);
        }
    }
}

/// Writes one record line with one raw `write(2)`.
fn emit(kind: &str, function: Name, address: usize, calls: Option<u32>) {
    let fd = RECORD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let mut line = Line::new();
    let _ = write!(line, "{kind}\t{}\t", crate::process::getpid());
    line.push(exe());
    let _ = write!(line, "\t{function}\t");
    let (object, offset) = place(address);
    line.push(object);
    let _ = write!(line, "\t{offset:#x}");
    if let Some(calls) = calls {
        let _ = write!(line, "\t{calls}");
    }
    line.push(b"\n");
    let bytes = line.as_bytes();
    let saved = crate::errno::get();
    // SAFETY: `bytes` is valid for reads of its length.
    unsafe { libc::syscall(libc::SYS_write, fd, bytes.as_ptr(), bytes.len()) };
    crate::errno::set(saved);
}

/// The object holding `address` and the offset in its file; the main
/// program by its executable's path.
fn place(address: usize) -> (&'static [u8], usize) {
    match code::object_of(address) {
        Some((base, name)) if !name.is_empty() => (name, address.wrapping_sub(base)),
        Some((base, _)) => (exe(), address.wrapping_sub(base)),
        None => (b"?", address),
    }
}

/// Where a call was seen.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// In a hook's wrapper (a hooked function the program called).
    Hook,
    /// Inside libc, blocked when a tick came ([`sampling`]).
    Libc,
    /// Made by a hook, blocked when a tick came (the real-signal mode).
    Signal,
}

/// Flag of a site of [`Kind::Libc`] in the table's function byte.
const LIBC: usize = 0x80;

/// From a wrapper, before the real function: records the call's site and
/// says whether to fail this call with EINTR instead.
pub fn at_call(name: &'static str, arguments: &[usize]) -> bool {
    if !ON.load(Ordering::Acquire) {
        return false;
    }
    let retrying = RETRYING_TID.load(Ordering::Relaxed);
    if retrying != 0 && retrying == crate::process::gettid() {
        return false;
    }
    let Some(function) = Function::from_name(name.as_bytes()) else {
        return false;
    };
    let Some(address) = program_caller() else {
        return false;
    };
    emit_site(Kind::Hook, function, address);
    let block = || can_block(function, arguments);
    matches_target(Kind::Hook, function, address, block)
}

/// Whether a call with these arguments can block in a way a signal
/// interrupts, as it may in production: not on a descriptor in
/// non-blocking mode, not with MSG_DONTWAIT or WNOHANG, not a poll with no
/// timeout; not a read or write of a regular file, directory or block
/// device (Linux waits for disks uninterruptibly), not an `open` of
/// anything but a FIFO or a character device; never a `close` (Linux
/// releases the descriptor first, and only some network filesystems'
/// flush reports EINTR). Calls not known here can.
fn can_block(function: Function, arguments: &[usize]) -> bool {
    use Function as F;
    let argument = |i: usize| arguments.get(i).copied().unwrap_or(0);
    let flag = |i: usize, bit: c_int| argument(i) as c_int & bit != 0;
    let saved = crate::errno::get();
    let answer = match function.base() {
        F::close => false,
        F::open | F::open64 => waits_to_open(libc::AT_FDCWD, argument(0)),
        F::openat | F::openat64 => waits_to_open(argument(0) as c_int, argument(1)),
        F::recv | F::send | F::recvfrom | F::sendto | F::recvmsg | F::sendmsg => {
            let flags_at = match function {
                F::__recv_chk | F::__recvfrom_chk => 4,
                _ if matches!(function.base(), F::recvmsg | F::sendmsg) => 2,
                _ => 3,
            };
            !flag(flags_at, libc::MSG_DONTWAIT) && waits_on(argument(0) as c_int)
        }
        F::waitpid => !flag(2, libc::WNOHANG),
        F::wait3 => !flag(1, libc::WNOHANG),
        F::wait4 => !flag(2, libc::WNOHANG),
        F::waitid => !flag(3, libc::WNOHANG),
        F::poll => argument(2) as c_int != 0,
        F::epoll_wait | F::epoll_pwait => argument(3) as c_int != 0,
        F::read
        | F::write
        | F::readv
        | F::writev
        | F::pread
        | F::pwrite
        | F::pread64
        | F::pwrite64
        | F::preadv
        | F::pwritev
        | F::preadv2
        | F::pwritev2
        | F::recvmmsg
        | F::sendmmsg
        | F::accept
        | F::accept4
        | F::connect
        | F::mq_receive
        | F::mq_send
        | F::mq_timedreceive
        | F::mq_timedsend => waits_on(argument(0) as c_int),
        _ => true,
    };
    crate::errno::set(saved);
    answer
}

/// Whether I/O on `fd` can wait interruptibly: not in non-blocking mode,
/// and not a regular file, directory or block device.
fn waits_on(fd: c_int) -> bool {
    // SAFETY: F_GETFL only reads the descriptor's flags.
    let flags = unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFL) };
    if flags >= 0 && flags as c_int & libc::O_NONBLOCK != 0 {
        return false;
    }
    // SAFETY: a zeroed stat is valid; fstat writes at most it.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    let known = unsafe { libc::syscall(libc::SYS_fstat, fd, &mut status as *mut libc::stat) } == 0;
    !(known && disk_like(status.st_mode))
}

fn disk_like(mode: libc::mode_t) -> bool {
    matches!(
        mode & libc::S_IFMT,
        libc::S_IFREG | libc::S_IFDIR | libc::S_IFBLK
    )
}

/// Whether opening `path` (a C string, relative to `dirfd`) can wait:
/// a FIFO or a character device (a terminal, a serial line).
fn waits_to_open(dirfd: c_int, path: usize) -> bool {
    if path == 0 {
        return false;
    }
    // SAFETY: a zeroed stat is valid.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `path` is the caller's NUL-terminated path (open's
    // contract); newfstatat writes at most `status`.
    let found = unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            dirfd,
            path,
            &mut status as *mut libc::stat,
            0,
        )
    } == 0;
    found && matches!(status.st_mode & libc::S_IFMT, libc::S_IFIFO | libc::S_IFCHR)
}

/// Counts a call of `function` at `address` (writing the site's line at
/// its first), when recording.
pub fn emit_site(kind: Kind, function: Function, address: usize) {
    if RECORD.load(Ordering::Relaxed) >= 0 {
        let tag = function.index() + 1 + if kind == Kind::Libc { LIBC } else { 0 };
        count(tag, address);
    }
}

/// Whether the call of `function` at `address`, seen as `kind`, is the
/// target's chosen one, the first time only; it is then written to the
/// record, and a hook is told to let its EINTR pass. `false` for the
/// `retry` spec's call (the policy judges it; a restart is left to the
/// kernel), though it is recorded as injected.
pub fn matches_target(
    kind: Kind,
    function: Function,
    address: usize,
    can_block: impl FnOnce() -> bool,
) -> bool {
    let Some(target) = TARGET.get() else {
        return false;
    };
    if INJECTED.load(Ordering::Relaxed) {
        return false;
    }
    let name = function.name().as_bytes();
    let wanted = match kind {
        Kind::Hook => !target.signal && target.function == name,
        Kind::Libc => target.function.strip_prefix(b"libc:") == Some(name),
        Kind::Signal => target.signal,
    };
    if !wanted {
        return false;
    }
    let (object, offset) = place(address);
    if offset != target.offset || object != target.object {
        return false;
    }
    let calls = TARGET_CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    let nth = if kind == Kind::Hook { target.nth } else { 1 };
    if calls < nth {
        return false;
    }
    let name = tag_name(function.index() + 1, kind == Kind::Libc);
    if !can_block() {
        // No signal could interrupt it: the next one there that can block.
        if !NONBLOCKING.swap(true, Ordering::Relaxed) {
            emit("nonblocking", name, address, Some(calls));
        }
        return false;
    }
    if INJECTED.swap(true, Ordering::Relaxed) {
        return false;
    }
    if !target.retry && kind != Kind::Libc {
        PASS_TID.store(crate::process::gettid(), Ordering::Relaxed);
    }
    emit("injected", name, address, Some(calls));
    !target.retry
}

/// An argument's bits as a word (every argument of a wrapped function is
/// an integer or a pointer of a word at most).
pub fn word<T: Copy>(argument: &T) -> usize {
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

/// Makes the injected EINTR what a real one before any transfer leaves
/// behind: a sleep reports all of its time left, a connection is under
/// way. Returns whether the call
/// must be made all the same: `close` (Linux releases the descriptor
/// before it can be interrupted, and a program must not close it again).
///
/// # Safety
/// `arguments` are the call's, valid under the function's contract.
pub unsafe fn before_eintr(name: &str, arguments: &[usize]) -> bool {
    if matches!(name, "close" | "__close") {
        return true;
    }
    if let ("connect" | "__connect", [fd, address, length, ..]) = (name, arguments) {
        // An interrupted connect goes on in the background: start it
        // without blocking (raw calls: no hook sees them).
        // SAFETY: fcntl on the caller's fd; connect with the caller's
        // address and length, valid under connect's contract.
        unsafe {
            let flags = libc::syscall(libc::SYS_fcntl, *fd, libc::F_GETFL);
            if flags >= 0 {
                libc::syscall(
                    libc::SYS_fcntl,
                    *fd,
                    libc::F_SETFL,
                    flags | libc::O_NONBLOCK as i64,
                );
                libc::syscall(libc::SYS_connect, *fd, *address, *length);
                libc::syscall(libc::SYS_fcntl, *fd, libc::F_SETFL, flags);
            }
        }
        return false;
    }
    if let ("nanosleep" | "__nanosleep", [request, left, ..]) = (name, arguments) {
        let (request, left) = (
            *request as *const libc::timespec,
            *left as *mut libc::timespec,
        );
        if !request.is_null() && !left.is_null() {
            // SAFETY: nanosleep's contract: `request` readable, `left`
            // null or writable.
            unsafe { *left = *request };
        }
    }
    false
}

extern "C" {
    /// glibc's `backtrace(3)`: the return addresses of the calling frames,
    /// found with the unwinder (libgcc_s, loaded at the first call).
    fn backtrace(buffer: *mut *mut core::ffi::c_void, size: core::ffi::c_int) -> core::ffi::c_int;
}

/// The return address of the program's call into the running hook: the
/// first frame outside the shim, by the unwinder (the scan the policy
/// engine uses, [`code::hook_caller`], can take a stale return address
/// left in a hook's frame by an earlier call for the live one; it is the
/// fallback). The unwinder takes the loader's lock: the audit mode is not
/// async-signal-safe where a signal handler makes a hooked call while
/// another thread loads a library.
fn program_caller() -> Option<usize> {
    let mut frames = [core::ptr::null_mut(); 32];
    // SAFETY: `frames` holds 32 writable pointers.
    let n = unsafe { backtrace(frames.as_mut_ptr(), 32) };
    let n = usize::try_from(n).unwrap_or(0).min(frames.len());
    frames
        .get(..n)
        .unwrap_or(&[])
        .iter()
        .map(|&f| f as usize)
        .find(|&a| code::owner_of(a) != Some(code::Owner::Shim))
        .or_else(|| code::hook_caller().map(|c| c.address))
}

/// Counts a call at `address` of the function tagged `tag` (its index
/// + 1, with [`LIBC`] for a call inside libc), writing the site's line at
/// its first.
fn count(tag: usize, address: usize) {
    // The tag in the top byte (user addresses take 48 bits at most);
    // open addressing from a hash of the key.
    let key = address ^ tag.rotate_left(56);
    let start = key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54;
    for probe in 0..SITES {
        let Some(site) = TABLE.get((start + probe) % SITES) else {
            return;
        };
        match site
            .address
            .compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                site.function.store(tag, Ordering::Release);
                site.calls.store(1, Ordering::Relaxed);
                emit(
                    "site",
                    tag_name(tag & !LIBC, tag & LIBC != 0),
                    address,
                    None,
                );
                return;
            }
            Err(found) if found == key => {
                site.calls.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(_) => {}
        }
    }
}

/// A function's name as records give it: `read`, or `libc:read` for a
/// call inside libc (`index` is the function's index + 1).
fn tag_name(index: usize, libc: bool) -> Name {
    Name {
        function: index
            .checked_sub(1)
            .and_then(|i| Function::ALL.get(i))
            .copied(),
        libc,
    }
}

/// A function's name, to write.
#[derive(Clone, Copy)]
struct Name {
    function: Option<Function>,
    libc: bool,
}

impl core::fmt::Display for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let prefix = if self.libc { "libc:" } else { "" };
        let name = self.function.map_or("?", Function::name);
        write!(f, "{prefix}{name}")
    }
}

/// From the policy engine, for an EINTR a hook just saw: whether it is the
/// one the audit made, to be let through (once, on the thread it was made
/// on).
pub fn take_injected() -> bool {
    let tid = PASS_TID.load(Ordering::Relaxed);
    tid != 0
        && tid == crate::process::gettid()
        && PASS_TID
            .compare_exchange(tid, 0, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// From the policy engine: whether the calling thread's hook is about to
/// retry its call (`true`), or is done with it. The calls it makes
/// meanwhile (the retry, a wait for readiness) are neither counted nor
/// interrupted. One thread at a time is tracked: the audit's counts are
/// exact for a program whose threads are not interrupted at once.
pub fn retrying(yes: bool) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let tid = crate::process::gettid();
    if yes {
        let _ = RETRYING_TID.compare_exchange(0, tid, Ordering::Relaxed, Ordering::Relaxed);
    } else {
        let _ = RETRYING_TID.compare_exchange(tid, 0, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// At exit: writes each site's count.
pub fn exiting() {
    if !ON.load(Ordering::Acquire) || RECORD.load(Ordering::Relaxed) < 0 {
        return;
    }
    for site in &TABLE {
        let key = site.address.load(Ordering::Acquire);
        let tag = site.function.load(Ordering::Acquire);
        if key == 0 || tag == 0 {
            continue;
        }
        let address = key ^ tag.rotate_left(56);
        let name = tag_name(tag & !LIBC, tag & LIBC != 0);
        emit(
            "count",
            name,
            address,
            Some(site.calls.load(Ordering::Relaxed)),
        );
    }
}
