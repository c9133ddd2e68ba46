//! What depends on the processor: the registers a signal handler's
//! context shows for an interrupted system call, and the system call
//! numbers. Everything else in the crate is portable.
//!
//! One module per architecture, each exporting the same items:
//! - `SUPPORTED`: whether the trampoline can read and change the context
//!   (when false, handlers are installed as the program asked and every
//!   interruption is left to the hooks, as before the kernel-restart path);
//! - [`Restart`] and `pending_restart(context)`: a system call the kernel
//!   will make again when the handler returns (SA_RESTART);
//! - [`State`] and `state(context)`: where the signal found the thread;
//! - `fail_with_eintr(context)`: turns that restart into a failure with
//!   EINTR, as the kernel would have reported it without SA_RESTART;
//! - `syscall_function(number)`: the hooked function named after a system
//!   call, for the policy and for reports; `hooks_make(number)`: whether a
//!   hook's real call can block in it;
//! - `Call` and `call_before(address)`: the call instruction before a
//!   return address, for stack scans ([`crate::code`]);
//! - `under_valgrind()` and `unreported_by_valgrind(scan)`: valgrind's
//!   client requests (its frames cannot be read as the kernel's; a stack
//!   scan reads uninitialised padding on purpose).
//!
//! See `docs/kernel-restart.md` for what an aarch64 port needs.

/// A system call that a signal interrupted and that the kernel will make
/// again when the handler returns, as the handler's context shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    /// The system call number.
    pub number: i64,
    /// Its first argument (the fd of the I/O calls).
    pub first_argument: i64,
    /// The address of the system call instruction.
    pub pc: usize,
    /// The interrupted stack pointer.
    pub stack: usize,
}

/// Where a signal found the thread, as its handler's context shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// In a system call the kernel will make again.
    Restart(Restart),
    /// In a system call that has just failed with EINTR.
    Failed {
        /// The interrupted stack pointer.
        stack: usize,
    },
    /// Running code (not in a system call).
    Running {
        /// Where.
        pc: usize,
        /// The interrupted stack pointer.
        stack: usize,
    },
}

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(not(target_arch = "x86_64"))]
mod unsupported;
#[cfg(not(target_arch = "x86_64"))]
pub use unsupported::*;
