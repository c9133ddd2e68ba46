//! The program's dispositions, one atomic word per signal, what the
//! trampoline reads; the install lock of each; and which process's memory
//! holds the table.

use crate::errno;
use crate::signum;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

/// In an [`ACTIONS`] word: the program asked for SA_SIGINFO. User-space
/// addresses on 64-bit Linux never have the top two bits set.
pub(super) const ASKED_SIGINFO: usize = 1 << (usize::BITS - 1);

/// In an [`ACTIONS`] word: the program asked for SA_RESTART (the kernel
/// gets it for every handler when [`restart::forced`] says so).
pub(super) const ASKED_RESTART: usize = 1 << (usize::BITS - 2);

/// The flag bits of an [`ACTIONS`] word; the rest is the handler.
pub(super) const ASKED: usize = ASKED_SIGINFO | ASKED_RESTART;

/// What the program installed for one signal, and the install lock.
pub(super) struct Disposition {
    /// The program's handler, `| ASKED_SIGINFO` if it asked for three
    /// arguments. SIG_DFL or SIG_IGN when it installed those.
    pub(super) action: AtomicUsize,
    /// Whether the last install went to the kernel through the trampoline.
    pub(super) trampolined: AtomicBool,
    /// Whether the last handler was installed with SA_RESETHAND.
    pub(super) reset_hand: AtomicBool,
    /// The thread id of the thread installing, or 0.
    pub(super) lock: AtomicI32,
}

impl Disposition {
    const fn new() -> Disposition {
        Disposition {
            action: AtomicUsize::new(libc::SIG_DFL),
            trampolined: AtomicBool::new(false),
            reset_hand: AtomicBool::new(false),
            lock: AtomicI32::new(0),
        }
    }
}

/// The program's dispositions, indexed by signal number (0 unused).
pub(super) static ACTIONS: [Disposition; signum::SLOTS] =
    [const { Disposition::new() }; signum::SLOTS];

/// Holds one signal's install lock, with every signal blocked on this
/// thread; releases both when dropped.
pub(super) struct Installing<'a> {
    lock: &'a AtomicI32,
    mask: libc::sigset_t,
}

impl<'a> Installing<'a> {
    pub(super) fn lock(disposition: &'a Disposition) -> Installing<'a> {
        errno::preserved(|| {
            let mut all = MaybeUninit::<libc::sigset_t>::uninit();
            let mut mask = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: both sets are valid for writes; sigfillset initialises
            // `all`, and sigprocmask fills `mask` (checked below). glibc's
            // sigprocmask sets the calling thread's mask, as pthread_sigmask
            // does, and is in libc.so.6 on every glibc (pthread_sigmask is in
            // libpthread before 2.32).
            let mask = unsafe {
                libc::sigfillset(all.as_mut_ptr());
                if libc::sigprocmask(libc::SIG_BLOCK, all.as_ptr(), mask.as_mut_ptr()) != 0 {
                    libc::sigemptyset(mask.as_mut_ptr());
                }
                mask.assume_init()
            };
            let me = crate::process::gettid();
            let lock = &disposition.lock;
            let mut spins = 0u32;
            while let Err(owner) =
                lock.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                spins = spins.wrapping_add(1);
                if spins % 64 == 0 {
                    if owner != 0 && !thread_exists(owner) {
                        let _ =
                            lock.compare_exchange(owner, 0, Ordering::Relaxed, Ordering::Relaxed);
                    }
                    // SAFETY: sched_yield has no preconditions.
                    unsafe { libc::syscall(libc::SYS_sched_yield) };
                } else {
                    core::hint::spin_loop();
                }
            }
            Installing { lock, mask }
        })
    }
}

impl Drop for Installing<'_> {
    fn drop(&mut self) {
        self.lock.store(0, Ordering::Release);
        // SAFETY: `mask` is the thread's mask saved by `lock`.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.mask, core::ptr::null_mut()) };
    }
}

/// Whether thread `tid` is in this process (one left over from the parent
/// of a forked child is not).
fn thread_exists(tid: i32) -> bool {
    // SAFETY: signal 0 only checks that the thread exists.
    let result = unsafe { libc::syscall(libc::SYS_tgkill, crate::process::getpid(), tid, 0) };
    result == 0 || errno::get() != libc::ESRCH
}
