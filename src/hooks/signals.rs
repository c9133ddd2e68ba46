//! Signal dispositions and `ITIMER_REAL`: how the shim learns which signal
//! interrupted a call. These are not EINTR hooks: they never retry anything.
//!
//! Every handler the program installs (with `sigaction`, `signal`,
//! `sysv_signal`, `bsd_signal`, `ssignal` or `sigset`) goes to the kernel
//! behind one trampoline ([`arch::trampoline`], in assembly where there is
//! a port), always with SA_SIGINFO and otherwise with the program's own
//! mask and flags. The program's handler and whether it asked for
//! SA_SIGINFO are kept in [`ACTIONS`], one atomic word per signal. The
//! trampoline calls [`enter`], then the program's handler with the
//! kernel's own `siginfo_t` and context, then [`leave`], which notes the
//! signal in the thread's record ([`crate::signals`]), which a hook reads
//! after EINTR. On an alternate signal stack `leave` runs on a stack of the
//! shim's own ([`crate::signal_stack`]).
//!
//! Transparency: a query asks the kernel (which holds the program's mask
//! and flags, byte for byte as libc reports them) and puts back the
//! program's handler and SA_SIGINFO bit in place of the trampoline's.
//! SIG_DFL and SIG_IGN go straight to libc. SA_RESETHAND is left to the
//! kernel, which resets the disposition to SIG_DFL as it delivers.
//!
//! Installs of one signal are serialised by a small lock taken with every
//! signal blocked (so a handler on the same thread cannot meet it held);
//! a lock left held by a thread that no longer exists (a `fork` while
//! another thread installed a handler) is taken over. The trampoline never
//! takes it: it reads one atomic word.
//!
//! `alarm`, `ualarm` and `setitimer(ITIMER_REAL)` are interposed only to
//! note what kind of timer is armed: one-shot or periodic.

use crate::arch;
use crate::errno;
use crate::real;
use crate::restart;
use crate::signals::{self, Delivery, Sender, TimerKind};
use core::ffi::{c_int, c_uint, c_void};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use libc::{itimerval, sighandler_t, siginfo_t, useconds_t, SA_RESETHAND, SA_RESTART, SA_SIGINFO};

/// The highest signal number Linux has.
const MAX_SIGNAL: usize = 64;

/// In an [`ACTIONS`] word: the program asked for SA_SIGINFO. User-space
/// addresses on 64-bit Linux never have the top two bits set.
const ASKED_SIGINFO: usize = 1 << (usize::BITS - 1);

/// In an [`ACTIONS`] word: the program asked for SA_RESTART (the kernel
/// gets it for every handler when [`restart::forced`] says so).
const ASKED_RESTART: usize = 1 << (usize::BITS - 2);

/// The flag bits of an [`ACTIONS`] word; the rest is the handler.
const ASKED: usize = ASKED_SIGINFO | ASKED_RESTART;

/// glibc's `SIG_HOLD`, for `sigset`.
const SIG_HOLD: sighandler_t = 2;

/// What the program installed for one signal, and the install lock.
struct Disposition {
    /// The program's handler, `| ASKED_SIGINFO` if it asked for three
    /// arguments. SIG_DFL or SIG_IGN when it installed those.
    action: AtomicUsize,
    /// Whether the last install went to the kernel through the trampoline.
    trampolined: AtomicBool,
    /// Whether the last handler was installed with SA_RESETHAND.
    reset_hand: AtomicBool,
    /// The thread id of the thread installing, or 0.
    lock: AtomicI32,
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
static ACTIONS: [Disposition; MAX_SIGNAL + 1] = [const { Disposition::new() }; MAX_SIGNAL + 1];

/// Signals `siginterrupt` made interrupting (bit `n - 1`): `signal` then
/// installs their handlers without SA_RESTART, as glibc does.
static INTERRUPTING: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The trampoline's address, as the kernel reports it back.
fn trampoline_address() -> sighandler_t {
    arch::trampoline_address()
}

/// In the trampoline's state word: the signal number was valid (the rest
/// means something).
const KNOWN: usize = 1 << 32;
/// The program asked for SA_RESTART.
const RESTART_ASKED: usize = 1 << 33;
/// A program's handler ran.
const RAN: usize = 1 << 34;

/// The trampoline's step before the program's handler ([`arch::trampoline`]
/// calls it, then the handler it returns, then [`leave`]): reads the
/// program's disposition (one atomic word) and the timer state. Its frame
/// is gone before the handler runs; it leaves errno alone, so the handler
/// sees it as the interrupted code left it.
extern "C" fn enter(signal: c_int, _info: *mut siginfo_t) -> arch::Entered {
    let Some(disposition) = usize::try_from(signal).ok().and_then(|s| ACTIONS.get(s)) else {
        return arch::Entered {
            handler: 0,
            state: 0,
        };
    };
    let word = disposition.action.load(Ordering::Acquire);
    let before = signals::timer_state().to_bits() as usize;
    let restart = if word & ASKED_RESTART != 0 {
        RESTART_ASKED
    } else {
        0
    };
    let handler = match word & !ASKED {
        libc::SIG_IGN => 0,
        libc::SIG_DFL => {
            default_action(signal);
            0
        }
        handler => handler,
    };
    let ran = if handler != 0 { RAN } else { 0 };
    arch::Entered {
        handler,
        state: before | KNOWN | restart | ran,
    }
}

/// The trampoline's step after the program's handler returned (or found
/// none to call): notes on this thread that the signal ran (and whether it
/// was a one-shot timer's SIGALRM: a timeout), then decides whether a
/// system call it interrupted is restarted ([`restart::after_handler`]).
/// On an alternate signal stack it runs on a stack of the shim's own
/// ([`crate::signal_stack`]). Async-signal-safe: atomics and thread-local
/// atomics only; errno is left as the program's handler left it. Nothing
/// is held across the program's handler, which may `siglongjmp` away:
/// then this step does not run and the signal is simply not noted.
extern "C" fn leave(signal: c_int, info: *mut siginfo_t, context: *mut c_void, state: usize) {
    if state & KNOWN == 0 {
        return;
    }
    let saved_errno = errno::get();
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler
    // (null is checked).
    let (code, pid) = match unsafe { info.as_ref() } {
        // SAFETY: si_pid is read as the kernel filled it (for codes that
        // carry no sender it holds whatever the kernel left: only compared).
        Some(info) => (info.si_code, unsafe { info.si_pid() }),
        None => (0, 0),
    };
    let ran = state & RAN != 0;
    let by_timer = signal == libc::SIGALRM && code == signals::SI_KERNEL;
    let before = signals::TimerState::from_bits(state as u32);
    let alarm_timeout = signals::after_handler(before, by_timer);
    // SAFETY: the kernel's context for this running handler.
    if unsafe { restart::in_call(context, trampoline_address()) } {
        signals::record(
            signal,
            Delivery {
                sender: Sender::of(signal, code, pid, crate::process::getpid),
                alarm_timeout,
                left_fatal: ran && signals::kills_by_default(signal) && left_default(signal),
            },
        );
    }
    if ran {
        // SAFETY: the kernel's context for this running handler.
        unsafe { restart::after_handler(context, state & RESTART_ASKED != 0) };
    }
    errno::set(saved_errno);
}

/// Whether `signal`'s disposition is SIG_DFL now, after its handler ran:
/// the handler reset it (through `sigaction` or `signal`, which keep
/// [`ACTIONS`]), or SA_RESETHAND did as the kernel delivered it. Only in
/// the second case is the kernel asked (one system call).
fn left_default(signal: c_int) -> bool {
    let Some(disposition) = usize::try_from(signal).ok().and_then(|s| ACTIONS.get(s)) else {
        return false;
    };
    if disposition.action.load(Ordering::Acquire) & !ASKED == libc::SIG_DFL {
        return true;
    }
    if !disposition.reset_hand.load(Ordering::Relaxed) {
        return false;
    }
    let saved_errno = errno::get();
    let mut now = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a query into a zeroed structure of the right type.
    let asked = unsafe { real::sigaction(signal, core::ptr::null(), now.as_mut_ptr()) } == 0;
    errno::set(saved_errno);
    // SAFETY: zeroed is a valid sigaction, and a successful query filled it.
    asked && unsafe { now.assume_init() }.sa_sigaction == libc::SIG_DFL
}

/// The trampoline met SIG_DFL: the program set it while this signal was
/// on its way. The kernel has SIG_DFL now, so the signal is raised again
/// and meets it when the trampoline returns (it is blocked until then; with
/// SA_NODEFER, at once): the default action, as if it had come a moment
/// later.
#[cold]
fn default_action(signal: c_int) {
    let ignored_by_default = matches!(
        signal,
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT
    );
    if ignored_by_default {
        return;
    }
    let saved_errno = errno::get();
    // SAFETY: plain system calls on this process and thread.
    unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            crate::process::getpid(),
            crate::process::gettid(),
            signal,
        );
    }
    errno::set(saved_errno);
}

/// Holds one signal's install lock, with every signal blocked on this
/// thread; releases both when dropped.
struct Installing<'a> {
    lock: &'a AtomicI32,
    mask: libc::sigset_t,
}

impl<'a> Installing<'a> {
    fn lock(disposition: &'a Disposition) -> Installing<'a> {
        let saved_errno = errno::get();
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
                    let _ = lock.compare_exchange(owner, 0, Ordering::Relaxed, Ordering::Relaxed);
                }
                // SAFETY: sched_yield has no preconditions.
                unsafe { libc::sched_yield() };
            } else {
                core::hint::spin_loop();
            }
        }
        errno::set(saved_errno);
        Installing { lock, mask }
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

/// Turns what the kernel reports into what the program installed: its
/// handler in place of the trampoline, and SA_SIGINFO and SA_RESTART only
/// if it asked.
fn as_installed(reported: &mut libc::sigaction, word: usize, trampolined: bool) {
    let asked_siginfo = word & ASKED_SIGINFO != 0;
    let ours = if reported.sa_sigaction == trampoline_address() {
        reported.sa_sigaction = word & !ASKED;
        true
    } else {
        // After an SA_RESETHAND handler fired, the kernel reports SIG_DFL
        // with the flags the trampoline was installed with.
        trampolined
            && reported.sa_sigaction == libc::SIG_DFL
            && reported.sa_flags & SA_RESETHAND != 0
    };
    if ours && !asked_siginfo {
        reported.sa_flags &= !SA_SIGINFO;
    }
    if ours && word & ASKED_RESTART == 0 {
        reported.sa_flags &= !SA_RESTART;
    }
}

/// The process whose memory holds [`ACTIONS`]: set by the constructor and
/// in every `fork` child (0 until then: this process).
static OWNER: AtomicI32 = AtomicI32::new(0);

extern "C" fn owner_after_fork() {
    OWNER.store(crate::process::getpid(), Ordering::Relaxed);
}

/// Notes this process as the owner of the table, and every `fork` child
/// as the owner of its copy.
pub fn init() {
    OWNER.store(crate::process::getpid(), Ordering::Relaxed);
    // SAFETY: registers a child handler that only stores an atomic.
    unsafe { libc::pthread_atfork(None, None, Some(owner_after_fork)) };
}

/// Whether this is a `vfork` child (or a raw `clone`) that shares its
/// parent's memory, and so its parent's table. Python's subprocess resets
/// every handler to SIG_DFL in such a child before exec: recording that
/// would make the parent's trampoline think its handlers gone.
fn borrowing_parents_memory() -> bool {
    let owner = OWNER.load(Ordering::Relaxed);
    owner != 0 && owner != crate::process::getpid()
}

/// `sigaction` as the program sees it: installs handlers behind the
/// trampoline and reports what the program installed. In a child that
/// shares its parent's memory (`vfork`), changes go straight to the kernel
/// and leave the parent's table alone.
///
/// # Safety
/// Exactly libc's contract for `sigaction`.
unsafe fn install(signal: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int {
    let Some(disposition) = usize::try_from(signal)
        .ok()
        .and_then(|s| ACTIONS.get(s))
        .filter(|_| signal > 0)
    else {
        // SAFETY: the caller's arguments, unchanged: libc reports EINVAL.
        return unsafe { real::sigaction(signal, act, old) };
    };
    if !act.is_null() && borrowing_parents_memory() {
        // SAFETY: the caller's arguments, unchanged.
        let result = unsafe { real::sigaction(signal, act, old) };
        if result == 0 {
            // SAFETY: `old` is null or valid, and libc just filled it.
            if let Some(old) = unsafe { old.as_mut() } {
                let word = disposition.action.load(Ordering::Acquire);
                as_installed(old, word, disposition.trampolined.load(Ordering::Relaxed));
            }
        }
        return result;
    }
    // A copy: `act` and `old` may be the same structure.
    // SAFETY: `act` is null or points to a valid sigaction (caller's contract).
    let new = unsafe { act.as_ref() }.copied();
    let _installing = Installing::lock(disposition);
    let previous = disposition.action.load(Ordering::Acquire);
    let previous_trampolined = disposition.trampolined.load(Ordering::Relaxed);
    let result = match new {
        None => {
            // SAFETY: a query, with the caller's `old`.
            unsafe { real::sigaction(signal, core::ptr::null(), old) }
        }
        Some(new) => {
            let handler = new.sa_sigaction;
            let asked = |flag: c_int, bit: usize| if new.sa_flags & flag != 0 { bit } else { 0 };
            let word =
                handler | asked(SA_SIGINFO, ASKED_SIGINFO) | asked(SA_RESTART, ASKED_RESTART);
            if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
                // SAFETY: the program's own action, copied; `old` is the caller's.
                let result = unsafe { real::sigaction(signal, &new, old) };
                if result == 0 {
                    disposition.action.store(word, Ordering::Release);
                    disposition.trampolined.store(false, Ordering::Relaxed);
                }
                result
            } else {
                // The handler is published before the kernel can call the
                // trampoline for it.
                disposition.action.store(word, Ordering::Release);
                // The scans of the trampoline and of the runtime rule need
                // the table of loaded code once a handler can run: built at
                // the first install (an ordinary call, where the loader's
                // lock is free), not in every process.
                crate::code::init(crate::policy::config());
                if new.sa_flags & libc::SA_ONSTACK != 0 {
                    crate::signal_stack::prepare();
                }
                disposition
                    .reset_hand
                    .store(new.sa_flags & SA_RESETHAND != 0, Ordering::Relaxed);
                let forced = if restart::forced() { SA_RESTART } else { 0 };
                let through = libc::sigaction {
                    sa_sigaction: arch::trampoline(enter, leave),
                    sa_flags: new.sa_flags | SA_SIGINFO | forced,
                    ..new
                };
                // SAFETY: `through` is a valid action; `old` is the caller's.
                let result = unsafe { real::sigaction(signal, &through, old) };
                if result == 0 {
                    disposition.trampolined.store(true, Ordering::Relaxed);
                } else {
                    disposition.action.store(previous, Ordering::Release);
                }
                result
            }
        }
    };
    if result == 0 {
        // SAFETY: `old` is null or valid for reads and writes, and the real
        // sigaction just filled it.
        if let Some(old) = unsafe { old.as_mut() } {
            as_installed(old, previous, previous_trampolined);
        }
    }
    result
}

/// The program's current disposition of `signal` (its handler only).
fn current_handler(signal: c_int) -> Option<libc::sigaction> {
    let mut current = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a query into a zeroed structure of the right type.
    let result = unsafe { install(signal, core::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: zeroed is a valid sigaction, and a successful query filled it.
    (result == 0).then(|| unsafe { current.assume_init() })
}

/// Installs `handler` for `signal` as the `signal` family does: an empty
/// mask (plus the signal itself when `block_itself`) and `flags`. Returns
/// the previous handler, or SIG_ERR with errno set.
fn install_simple(
    signal: c_int,
    handler: sighandler_t,
    flags: c_int,
    block_itself: bool,
) -> sighandler_t {
    if handler == libc::SIG_ERR || !(1..=MAX_SIGNAL as c_int).contains(&signal) {
        errno::set(libc::EINVAL);
        return libc::SIG_ERR;
    }
    let mut act = MaybeUninit::<libc::sigaction>::zeroed();
    let mut old = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: zeroed is a valid sigaction; the set functions get a valid
    // set and a signal in range.
    let result = unsafe {
        let act = act.as_mut_ptr();
        (*act).sa_sigaction = handler;
        (*act).sa_flags = flags;
        libc::sigemptyset(&mut (*act).sa_mask);
        if block_itself {
            libc::sigaddset(&mut (*act).sa_mask, signal);
        }
        install(signal, act, old.as_mut_ptr())
    };
    if result < 0 {
        return libc::SIG_ERR;
    }
    // SAFETY: zeroed is valid, and the install filled it.
    unsafe { old.assume_init() }.sa_sigaction
}

/// glibc's `signal`: BSD semantics, the handler stays installed, the signal
/// is blocked while it runs, and calls restart unless `siginterrupt` said
/// otherwise for this signal.
fn bsd_install(signal: c_int, handler: sighandler_t) -> sighandler_t {
    let interrupting = signals_bit(signal) & INTERRUPTING.load(Ordering::Relaxed) != 0;
    let flags = if interrupting { 0 } else { libc::SA_RESTART };
    install_simple(signal, handler, flags, true)
}

/// System V `signal` (what `signal` is under `-std=c99`): the disposition
/// resets to SIG_DFL when the handler runs, the signal is not blocked
/// while it runs, and calls do not restart.
fn sysv_install(signal: c_int, handler: sighandler_t) -> sighandler_t {
    install_simple(signal, handler, SA_RESETHAND | libc::SA_NODEFER, false)
}

fn signals_bit(signal: c_int) -> u64 {
    crate::config::SignalSet::EMPTY.with(signal).bits()
}

/// `siginterrupt`: whether `signal`'s handler interrupts calls (no
/// SA_RESTART) or lets them restart; remembered for later `signal` calls.
fn set_interrupt(signal: c_int, interrupt: c_int) -> c_int {
    let Some(mut action) = current_handler(signal) else {
        return -1;
    };
    if interrupt != 0 {
        INTERRUPTING.fetch_or(signals_bit(signal), Ordering::Relaxed);
        action.sa_flags &= !libc::SA_RESTART;
    } else {
        INTERRUPTING.fetch_and(!signals_bit(signal), Ordering::Relaxed);
        action.sa_flags |= libc::SA_RESTART;
    }
    // SAFETY: `action` is the program's own current action.
    if unsafe { install(signal, &action, core::ptr::null_mut()) } < 0 {
        return -1;
    }
    0
}

/// System V `sigset`: SIG_HOLD blocks the signal; anything else installs
/// it with no flags and unblocks the signal. Returns SIG_HOLD if the signal
/// was blocked before, else the previous handler.
fn sigset_install(signal: c_int, handler: sighandler_t) -> sighandler_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    let mut was = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is initialised by sigemptyset before sigaddset.
    let valid = unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), signal) == 0
    };
    if !valid {
        return libc::SIG_ERR;
    }
    if handler == SIG_HOLD {
        // SAFETY: valid sets; sigprocmask fills `was` on success.
        if unsafe { libc::sigprocmask(libc::SIG_BLOCK, set.as_ptr(), was.as_mut_ptr()) } < 0 {
            return libc::SIG_ERR;
        }
        // SAFETY: filled by the successful sigprocmask.
        if unsafe { libc::sigismember(was.as_ptr(), signal) } == 1 {
            return SIG_HOLD;
        }
        return current_handler(signal).map_or(libc::SIG_ERR, |a| a.sa_sigaction);
    }
    let previous = install_simple(signal, handler, 0, false);
    if previous == libc::SIG_ERR {
        return libc::SIG_ERR;
    }
    // SAFETY: valid sets; sigprocmask fills `was` on success.
    if unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, set.as_ptr(), was.as_mut_ptr()) } < 0 {
        return libc::SIG_ERR;
    }
    // SAFETY: filled by the successful sigprocmask.
    if unsafe { libc::sigismember(was.as_ptr(), signal) } == 1 {
        SIG_HOLD
    } else {
        previous
    }
}

/// Notes the kind of timer about to be armed, arms it with `arm`, and puts
/// the note back if arming failed.
fn arm_timer<R: PartialEq>(kind: TimerKind, failed: R, arm: impl FnOnce() -> R) -> R {
    let before = signals::timer_state().kind();
    signals::timer_armed(kind);
    let result = arm();
    if result == failed {
        signals::timer_armed(before);
    }
    result
}

/// Generates exported functions from rows of
/// `fn name(args) -> ret => body;`, for names that are aliases of one
/// another.
macro_rules! exports {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty => $body:expr;
    )*) => {$(
        $(#[$doc])*
        ///
        /// # Safety
        /// Exactly libc's contract for this function.
        #[cfg_attr(not(test), no_mangle)]
        #[cfg_attr(test, allow(dead_code))]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            #[allow(unused_unsafe)]
            // SAFETY: the program's arguments go through unchanged, under
            // the same contract.
            unsafe { $body }
        }
    )*};
}

exports! {
    /// `sigaction(2)`: handlers go to the kernel behind the trampoline;
    /// queries report what the program installed.
    fn sigaction(signal: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int
        => install(signal, act, old);
    /// `__sigaction`, glibc's public alias of `sigaction`.
    fn __sigaction(signal: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int
        => install(signal, act, old);
    /// `signal(3)`: BSD semantics as in glibc (SA_RESTART unless
    /// `siginterrupt` turned it off); returns the previous handler.
    fn signal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => bsd_install(signal, handler);
    /// `bsd_signal`: the same as `signal`.
    fn bsd_signal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => bsd_install(signal, handler);
    /// `ssignal`: glibc's other name for `signal`.
    fn ssignal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => bsd_install(signal, handler);
    /// `sysv_signal`: one-shot handler, not blocked while it runs, calls
    /// not restarted.
    fn sysv_signal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => sysv_install(signal, handler);
    /// `__sysv_signal`: what `signal` is in strict ISO C (`-std=c99`).
    fn __sysv_signal(signal: c_int, handler: sighandler_t) -> sighandler_t
        => sysv_install(signal, handler);
    /// `sigset(3)`: System V dispositions, SIG_HOLD included.
    fn sigset(signal: c_int, handler: sighandler_t) -> sighandler_t
        => sigset_install(signal, handler);
    /// `siginterrupt(3)`: whether the signal's handler interrupts calls.
    fn siginterrupt(signal: c_int, interrupt: c_int) -> c_int
        => set_interrupt(signal, interrupt);
    /// `alarm(2)`: a one-shot SIGALRM timer, noted as a timeout (0 disarms).
    fn alarm(seconds: c_uint) -> c_uint
        => {
            let kind = if seconds == 0 { TimerKind::Disarmed } else { TimerKind::OneShot };
            signals::timer_armed(kind);
            real::alarm(seconds)
        };
    /// `ualarm(3)`: one-shot, or periodic when it has an interval.
    fn ualarm(value: useconds_t, interval: useconds_t) -> useconds_t
        => {
            let kind = match (value, interval) {
                (0, _) => TimerKind::Disarmed,
                (_, 0) => TimerKind::OneShot,
                _ => TimerKind::Periodic,
            };
            arm_timer(kind, useconds_t::MAX, || real::ualarm(value, interval))
        };
    /// `setitimer(2)`: for ITIMER_REAL, one-shot when its interval is zero,
    /// else periodic; the other timers do not send SIGALRM.
    fn setitimer(which: c_int, new: *const itimerval, old: *mut itimerval) -> c_int
        => match new.as_ref() {
            Some(timer) if which == libc::ITIMER_REAL => {
                let zero = |t: &libc::timeval| t.tv_sec == 0 && t.tv_usec == 0;
                let kind = if zero(&timer.it_value) {
                    TimerKind::Disarmed
                } else if zero(&timer.it_interval) {
                    TimerKind::OneShot
                } else {
                    TimerKind::Periodic
                };
                arm_timer(kind, -1, || real::setitimer(which, new, old))
            }
            _ => real::setitimer(which, new, old),
        };
}
