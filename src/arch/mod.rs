//! What depends on the instruction set: reading the stack pointer, and
//! telling whether a word on the stack is a return address by decoding the
//! call instruction that would have pushed it.
//!
//! [`code`](crate::code) uses these to find who called a hook (or who made
//! an interrupted system call) on the slow path, by scanning the stack: a
//! word that points just past a call instruction in a loaded object's code
//! is a plausible return address. Nothing here takes a lock or allocates,
//! so all of it is usable in a signal handler and in a `vfork` child.
//!
//! Only x86-64 is implemented. What aarch64 would need:
//! - [`stack_pointer`]: `mov {}, sp`.
//! - [`call_before`]: every instruction is 4 bytes, so only the word at
//!   `ret - 4` matters: `BL imm26` (`0x94000000 | imm26`, target
//!   `ret - 4 + sext(imm26) * 4`) is [`Call::Direct`]; `BLR Xn`
//!   (`0xd63f0000 | n << 5`) and the pointer-authenticated `BLRAA`/`BLRAB`
//!   forms are [`Call::Indirect`]. There is no memory-indirect call.
//! - [`plt_slot`]: a PLT stub is `adrp x16, page; ldr x17, [x16, #off];
//!   add x16, x16, #off; br x17` (with a `bti c` first under BTI): the slot
//!   is `page + off`.
//! - A scan from a signal's context must also look at the link register
//!   (x30): a leaf function that has not saved it has its return address
//!   only there, not on the stack.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::{call_before, mark_defined, plt_slot, stack_pointer, SUPPORTED};

#[cfg(not(target_arch = "x86_64"))]
mod unsupported;
#[cfg(not(target_arch = "x86_64"))]
pub use unsupported::{call_before, mark_defined, plt_slot, stack_pointer, SUPPORTED};

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
