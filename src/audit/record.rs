//! The audit mode's record and target: the table of sites a process
//! reached, the lines written to `EINTRFIX_AUDIT`, and the one call
//! `EINTRFIX_INJECT` chooses. Used by the wrappers' checks and by the
//! sampling handler; all of it async-signal-safe (a fixed table claimed
//! with compare-and-swap, raw system calls for the file) but for the
//! unwinder ([`program_caller`]).

use crate::code;
use crate::config::inject::Spec;
use crate::functions::Function;
use crate::once::Once;
use crate::origin;
use crate::trace::line::Line;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};

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
pub(super) static RECORD: AtomicI32 = AtomicI32::new(-1);
/// The site to interrupt, if any (and if this executable is the one).
pub(super) static TARGET: Once<Spec<'static>> = Once::new();
/// Calls made at the target so far.
static TARGET_CALLS: AtomicU32 = AtomicU32::new(0);
/// Whether a chosen call could not block (written once).
static NONBLOCKING: AtomicBool = AtomicBool::new(false);
/// Whether the EINTR has been made.
static INJECTED: AtomicBool = AtomicBool::new(false);
/// The thread whose hook must let the injected EINTR pass (0: none).
static PASS_TID: AtomicI32 = AtomicI32::new(0);

/// This process's executable, from `/proc/self/exe`.
static EXE: Once<([u8; 512], usize)> = Once::new();

/// Reads this process's executable's path (from the constructor).
pub(super) fn learn_exe() {
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
}

pub(super) fn exe() -> &'static [u8] {
    EXE.get()
        .map_or(&[], |(buf, len)| buf.get(..*len).unwrap_or(&[]))
}

pub(super) fn open_record(path: &[u8]) {
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
    let suffix = b".injected";
    if path.len() + suffix.len() < name.len() {
        if let Some(end) = name.get_mut(path.len()..path.len() + suffix.len()) {
            end.copy_from_slice(suffix);
            CLAIM.get_or_init(|| name);
        }
    }
}

/// The path (NUL-terminated) whose creation claims the one injection of
/// a run among all its processes: the record's, with `.injected`.
static CLAIM: Once<[u8; 4096]> = Once::new();

/// Whether this process may inject: the first of the run's processes to
/// create [`CLAIM`] may (a process without a record may, alone).
fn claim() -> bool {
    let Some(path) = CLAIM.get() else {
        return true;
    };
    // SAFETY: `path` is NUL-terminated.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        return false;
    }
    // SAFETY: the descriptor just opened.
    unsafe { libc::syscall(libc::SYS_close, fd) };
    true
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
    // SAFETY: `bytes` is valid for reads of its length.
    crate::errno::preserved(|| unsafe {
        libc::syscall(libc::SYS_write, fd, bytes.as_ptr(), bytes.len())
    });
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
    if INJECTED.swap(true, Ordering::Relaxed) || !claim() {
        return false;
    }
    if !target.retry && kind != Kind::Libc {
        PASS_TID.store(crate::process::gettid(), Ordering::Relaxed);
    }
    emit("injected", name, address, Some(calls));
    !target.retry
}

extern "C" {
    /// glibc's `backtrace(3)`: the return addresses of the calling frames,
    /// found with the unwinder (libgcc_s, loaded at the first call).
    pub(super) fn backtrace(
        buffer: *mut *mut core::ffi::c_void,
        size: core::ffi::c_int,
    ) -> core::ffi::c_int;
}

/// The return address of the program's call into the running hook of
/// `function`: the first frame outside the shim, by the unwinder; else
/// the site the policy engine finds ([`origin::hook_site`]: the first
/// return address whose call provably reached this hook). The unwinder
/// takes the loader's lock: the audit mode is not async-signal-safe where
/// a signal handler makes a hooked call while another thread loads a
/// library.
pub(super) fn program_caller(function: Function) -> Option<usize> {
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
        .or_else(|| origin::hook_site(function).map(|site| site.address))
}

/// Counts a call at `address` of the function tagged `tag` (its index
/// plus 1, with [`LIBC`] for a call inside libc), writing the site's line
/// at its first.
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

/// Writes each site's count (at exit).
pub fn write_counts() {
    if RECORD.load(Ordering::Relaxed) < 0 {
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
