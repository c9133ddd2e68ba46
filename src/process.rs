//! Facts about the calling process and thread, asked of the kernel:
//! async-signal-safe, and right in a forked or `vfork`ed child. And the
//! one answer to "is this a child of the process whose state this is?":
//! one `pthread_atfork` child handler notes each fork child as its
//! memory's owner and runs what the modules registered for it
//! ([`on_fork_child`]); a `vfork` child, which shares its parent's memory,
//! is [`in_parents_memory`].

use core::ffi::{c_int, c_long};
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// The process whose memory this is: noted by [`init`] and by the fork
/// handler in every fork child (0 until then: this process).
static MEMORY_OWNER: AtomicI32 = AtomicI32::new(0);

/// What a fork child runs (the summary's reset, the signal stacks'), each
/// an `extern "C" fn()` that only stores to atomics; 0: free.
static IN_CHILD: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

/// From the constructor: notes this process as its memory's owner and
/// registers the one fork handler.
pub fn init() {
    MEMORY_OWNER.store(getpid(), Ordering::Relaxed);
    // SAFETY: registers a child handler that only stores to atomics and
    // runs the handlers registered with `on_fork_child`, which do too.
    unsafe { libc::pthread_atfork(None, None, Some(forked)) };
}

/// The one fork handler, in the child.
extern "C" fn forked() {
    MEMORY_OWNER.store(getpid(), Ordering::Relaxed);
    for slot in &IN_CHILD {
        let f = slot.load(Ordering::Acquire);
        if f != 0 {
            // SAFETY: a non-zero slot holds an `extern "C" fn()` stored by
            // `on_fork_child`.
            let f: extern "C" fn() = unsafe { core::mem::transmute::<usize, extern "C" fn()>(f) };
            f();
        }
    }
}

/// Has every fork child run `f` (which may only store to atomics), once
/// registered; a second registration of the same `f` changes nothing.
/// Returns false if every slot is taken.
pub fn on_fork_child(f: extern "C" fn()) -> bool {
    let f = f as usize;
    IN_CHILD.iter().any(|slot| {
        match slot.compare_exchange(0, f, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => true,
            Err(current) => current == f,
        }
    })
}

/// Whether this process runs in memory another process owns: a `vfork`
/// child, or one made by a raw `clone`, shares its parent's state.
pub fn in_parents_memory() -> bool {
    let owner = MEMORY_OWNER.load(Ordering::Relaxed);
    owner != 0 && owner != getpid()
}

/// This process's id, asked of the kernel each time (glibc keeps no cache
/// since 2.25): right after `fork`, and in a `vfork` child.
pub fn getpid() -> c_int {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// A page the kernel wipes in every child (`MADV_WIPEONFORK`, Linux 4.14),
/// holding this process's id once asked: 0 when there is none.
static PID_PAGE: AtomicUsize = AtomicUsize::new(0);

/// The size of the pid page.
const PAGE: usize = 4096;

/// Maps the pid page, once: at the first handler install (an ordinary
/// call). Without `MADV_WIPEONFORK` there is none, and the id is asked of
/// the kernel for every copy.
pub fn map_pid_page() {
    if PID_PAGE.load(Ordering::Relaxed) != 0 {
        return;
    }
    crate::errno::preserved(|| {
        // SAFETY: a new private anonymous page; madvise only on it.
        unsafe {
            let page = libc::mmap(
                core::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if page != libc::MAP_FAILED {
                if libc::madvise(page, PAGE, libc::MADV_WIPEONFORK) == 0
                    && PID_PAGE
                        .compare_exchange(0, page as usize, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                {
                    return;
                }
                libc::munmap(page, PAGE);
            }
        }
    });
}

/// This process's id for `process_vm_readv`: kept in the pid page, which
/// reads 0 in a child of any kind of `fork` (raw `clone` included), so the
/// child asks again. A `vfork` child sees its parent's id there, and so
/// reads its parent's memory, which is its own.
pub fn cached_pid() -> c_int {
    let page = PID_PAGE.load(Ordering::Acquire);
    if page == 0 {
        return getpid();
    }
    // SAFETY: the page is mapped for the life of the process, aligned, and
    // zero-filled (a valid AtomicI32) until written here.
    let slot = unsafe { &*(page as *const AtomicI32) };
    match slot.load(Ordering::Relaxed) {
        0 => {
            let pid = getpid();
            slot.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
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
