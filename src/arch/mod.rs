//! What depends on the processor: the registers a signal handler's context
//! shows for an interrupted system call, the system call numbers, reading
//! the stack pointer, and telling whether a word on the stack is a return
//! address by decoding the call instruction that would have pushed it.
//!
//! One module per architecture, each exporting the same items:
//! - `SUPPORTED`: whether there is a port (when false, handlers are
//!   installed as the program asked, every interruption is left to the
//!   hooks, and no word is taken for a return address);
//! - [`Restart`], [`State`], `pending_restart(context)` and
//!   `state(context)`: where a signal found the thread, as its handler's
//!   context shows it; `fail_with_eintr(context)`: turns a pending restart
//!   into the EINTR the kernel would have reported without SA_RESTART;
//! - `syscall_function(number)`: the hooked function named after a system
//!   call; `hooks_can_block_in(number)`: whether a hook's real call can block in it;
//! - `stack_pointer()`, [`Call`], `call_before(ret, lowest)` and
//!   `plt_slot(entry, end)`: for the stack scans of [`crate::code`];
//! - `call_ifunc_resolver(resolver)`: an IFUNC's address, as glibc's
//!   loader gets it (for the symbol lookup of `crate::real` without dlsym);
//! - `under_valgrind()` and `mark_defined(addr, len)`: valgrind's client
//!   requests (its frames cannot be read as the kernel's; a scan's copy of
//!   stale stack words is marked defined);
//! - `errno_check::classify(code, ret)`: whether the code after a call
//!   handles EINTR itself (the per-site rule), with the types of
//!   [`call_site`].
//!
//! Nothing here takes a lock or allocates, so all of it is usable in a
//! signal handler and in a `vfork` child.
//!
//! Only x86-64 is implemented. What aarch64 needs for the scans:
//! - `stack_pointer`: `mov {}, sp`.
//! - `call_before`: every instruction is 4 bytes, so only the word at
//!   `ret - 4` matters: `BL imm26` (`0x94000000 | imm26`, target
//!   `ret - 4 + sext(imm26) * 4`) is [`Call::Direct`]; `BLR Xn`
//!   (`0xd63f0000 | n << 5`) and the pointer-authenticated `BLRAA`/`BLRAB`
//!   forms are [`Call::Indirect`]. There is no memory-indirect call.
//! - `plt_slot`: a PLT stub is `adrp x16, page; ldr x17, [x16, #off];
//!   add x16, x16, #off; br x17` (with a `bti c` first under BTI): the slot
//!   is `page + off`.
//! - A scan from a signal's context must also look at the link register
//!   (x30): a leaf function that has not saved it has its return address
//!   only there, not on the stack.
//!
//! And for the kernel-restart path: see `docs/kernel-restart.md`.

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

pub mod call_site;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(not(target_arch = "x86_64"))]
mod unsupported;
#[cfg(not(target_arch = "x86_64"))]
pub use unsupported::*;

/// How the call instruction just before a return address finds its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// A call to a fixed address (x86-64 `call rel32`): the target.
    Direct(usize),
    /// A call through a pointer at a fixed address (x86-64
    /// `call *disp32(%rip)`, what `-fno-plt` emits): the pointer's address.
    Slot(usize),
    /// A call through a register, or memory addressed by registers: the
    /// target cannot be known from the code alone.
    Indirect,
}
