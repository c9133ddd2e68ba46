//! Facts about the calling process and thread, asked of the kernel:
//! async-signal-safe, and right in a forked or `vfork`ed child. And the
//! one answer to "is this a child of the process whose state this is?":
//! one `pthread_atfork` child handler notes each fork child as its
//! memory's owner and runs what the modules registered for it
//! ([`on_fork_child`]); a `vfork` child, which shares its parent's memory,
//! is [`in_parents_memory`]; state set up for one process (a log file
//! per process) notes it in an [`Owner`], where a child of any kind of
//! fork, raw `clone` included, finds another process's id; and the pid
//! page ([`cached_pid`]) is wiped by the kernel in every child.

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

/// The process some per-process state was set up for (the log file a
/// `%p` name opens): a child of any kind of fork, raw `clone` included,
/// which the fork handler does not see, finds another process's id here at
/// its first use, and sets up its own.
#[derive(Default)]
pub struct Owner(AtomicI32);

impl Owner {
    /// No process yet.
    pub const fn new() -> Owner {
        Owner(AtomicI32::new(0))
    }

    /// Notes process `pid` as the owner (the state was set up for it).
    pub fn set(&self, pid: c_int) {
        self.0.store(pid, Ordering::Release);
    }

    /// Whether process `pid` has just taken the state over from another
    /// process: true for one caller in each new process, which then sets
    /// the state up anew; false for the owner, and for the callers that
    /// lost the race to the first.
    pub fn take_over(&self, pid: c_int) -> bool {
        let owner = self.0.load(Ordering::Acquire);
        owner != pid
            && self
                .0
                .compare_exchange(owner, pid, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }
}

/// Whether this process runs in memory another process owns: a `vfork`
/// child, or one made by a raw `clone`, shares its parent's state.
pub fn in_parents_memory() -> bool {
    let owner = MEMORY_OWNER.load(Ordering::Relaxed);
    owner != 0 && owner != getpid()
}

/// This process's id, asked of the kernel each time (glibc keeps no cache
/// since 2.25, and an older glibc's could be stale after a raw `clone`):
/// right after `fork`, and in a `vfork` child.
pub fn getpid() -> c_int {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::syscall(libc::SYS_getpid) as c_int }
}

/// A page the kernel wipes in every child (`MADV_WIPEONFORK`, Linux 4.14),
/// holding this process's id once asked: 0 when there is none.
static PID_PAGE: AtomicUsize = AtomicUsize::new(0);

/// The size of the pid page.
const PAGE: usize = 4096;

/// Maps the pid page, once: at the first handler install (an ordinary
/// call). Without `MADV_WIPEONFORK` there is none, and [`cached_pid`]
/// asks the kernel each time.
pub fn map_pid_page() {
    if PID_PAGE.load(Ordering::Relaxed) != 0 {
        return;
    }
    crate::errno::preserved(|| {
        // SAFETY: a new private anonymous page; madvise only on it.
        unsafe {
            // Every argument a whole word: syscall() reads each as a long.
            let page = libc::syscall(
                libc::SYS_mmap,
                core::ptr::null_mut::<libc::c_void>(),
                PAGE,
                c_long::from(libc::PROT_READ | libc::PROT_WRITE),
                c_long::from(libc::MAP_PRIVATE | libc::MAP_ANONYMOUS),
                -1 as c_long,
                0 as c_long,
            ) as *mut libc::c_void;
            if page != libc::MAP_FAILED {
                if libc::syscall(
                    libc::SYS_madvise,
                    page,
                    PAGE,
                    c_long::from(libc::MADV_WIPEONFORK),
                ) == 0
                    && PID_PAGE
                        .compare_exchange(0, page as usize, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                {
                    return;
                }
                libc::syscall(libc::SYS_munmap, page, PAGE);
            }
        }
    });
}

/// This process's id, without a system call once asked (the stack scan's
/// `process_vm_readv` takes it at every delivery): kept in the pid page,
/// which reads 0 in a child of any kind of `fork` (raw `clone` included),
/// so the child asks again. A `vfork` child sees its parent's id there,
/// which names the memory it runs in. Without the page, asked each time.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_is_taken_over_once_by_each_new_process() {
        let owner = Owner::new();
        owner.set(100);
        assert!(!owner.take_over(100), "the owner itself");
        assert!(owner.take_over(200), "a child, the first time");
        assert!(!owner.take_over(200), "then it owns the state");
        assert!(owner.take_over(100), "and another process takes it back");
    }

    /// Runs `child` in a forked child (only atomics and system calls
    /// there) and returns its exit status.
    fn in_child(child: impl FnOnce() -> bool) -> bool {
        // SAFETY: the child only runs `child`, which reads atomics and
        // makes system calls, then leaves with _exit.
        match unsafe { libc::fork() } {
            0 => {
                let ok = child();
                // SAFETY: ends the child without running the parent's exit handlers.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            -1 => panic!("fork failed"),
            pid => {
                let mut status = 0;
                // SAFETY: waits for the child just made.
                assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
            }
        }
    }

    #[test]
    fn a_fork_child_takes_over_and_asks_its_own_id() {
        static OWNER: Owner = Owner::new();
        map_pid_page();
        let parent = getpid();
        OWNER.set(parent);
        assert_eq!(cached_pid(), parent);
        assert!(!OWNER.take_over(cached_pid()));
        assert!(in_child(|| {
            let me = getpid();
            cached_pid() == me && me != parent && OWNER.take_over(me) && !OWNER.take_over(me)
        }));
        assert!(!OWNER.take_over(parent), "the parent's memory is its own");
    }
}
