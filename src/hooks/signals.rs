//! Signal dispositions and `ITIMER_REAL`: how the shim learns which signal
//! interrupted a call. These are not EINTR hooks: they never retry anything.
//!
//! Every handler the program installs (with `sigaction`, `signal`,
//! `sysv_signal`, `bsd_signal`, `ssignal` or `sigset`) goes to the kernel
//! behind one trampoline ([`arch::trampoline`], in assembly where there is
//! a port), always with SA_SIGINFO and otherwise with the program's own
//! mask and flags. The program's handler and whether it asked for
//! SA_SIGINFO are kept in `table::ACTIONS`, one atomic word per signal. The
//! trampoline calls `trampoline::enter`, then the program's handler with the
//! kernel's own `siginfo_t` and context, then `trampoline::leave`, which notes the
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
//!
//! One module per job: `table` (the dispositions, the install lock, whose
//! memory holds them), `trampoline` (the steps around the program's
//! handler), `dispositions` (`sigaction`), `emulation` (the `signal`
//! family on top of it) and `timers`.

mod dispositions;
mod emulation;
mod table;
mod timers;
mod trampoline;
