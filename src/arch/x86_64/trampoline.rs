//! The signal trampoline, in assembly: the kernel's handler for every
//! signal the program handles. What it does in Rust is given to
//! [`trampoline`] as two steps, `enter` (before the program's handler) and
//! `leave` (after it); this code only calls them and the handler, and
//! chooses the stack `leave` runs on.
//!
//! - Entry: saves the five callee-saved registers it keeps the signal,
//!   `siginfo_t`, context, state and old stack pointer in (40 bytes), and
//!   calls `enter(signal, info)`, which returns the program's handler (0
//!   for none) and a word of state. `enter`'s frame is gone before the
//!   handler is called.
//! - The program's handler is called with the kernel's three arguments (a
//!   one-argument handler ignores the other two, as the ABI allows).
//! - Exit, when the trampoline runs on the thread's own stack (the context's
//!   `uc_stack` does not contain the stack pointer): `leave(signal, info,
//!   context, state)` right there, as any handler's callee.
//! - Exit on the alternate stack: from the handler's return on, nothing is
//!   written to that stack (another thread may have made it read-only).
//!   A raw `rt_sigprocmask` blocks every signal until `sigreturn` restores
//!   the handler's mask; a stack of [`crate::signal_stack`]'s pool is
//!   claimed with one `lock btr` (after up to 64 `sched_yield`s when all
//!   are taken; without one, `leave` is skipped), `leave` runs on it, and
//!   the stack is given back with `lock bts`.
//!
//! Then the saved registers are restored (reads) and the trampoline
//! returns to the kernel's restorer.

use crate::signal_stack::{BASE, FREE, SLOT_BYTES};
use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicUsize, Ordering};
use libc::siginfo_t;

/// What the entry step returns: the program's handler to call (0: none),
/// and a word the exit step is given back.
#[repr(C)]
pub struct Entered {
    /// The handler, called with `(signal, info, context)`.
    pub handler: usize,
    /// Anything the exit step needs.
    pub state: usize,
}

/// The step before the program's handler: `(signal, info)`.
pub type Enter = extern "C" fn(c_int, *mut siginfo_t) -> Entered;
/// The step after it: `(signal, info, context, state)`.
pub type Leave = extern "C" fn(c_int, *mut siginfo_t, *mut c_void, usize);

/// The two steps, as given to [`trampoline`].
static ENTER: AtomicUsize = AtomicUsize::new(0);
static LEAVE: AtomicUsize = AtomicUsize::new(0);

/// Every signal, for `rt_sigprocmask` (the kernel ignores SIGKILL and
/// SIGSTOP in it).
static ALL_SIGNALS: u64 = u64::MAX;

// The assembly computes a stack's top with a shift by 16.
const _: () = assert!(SLOT_BYTES == 1 << 16);

extern "C" {
    fn eintrfix_signal_trampoline();
}

/// The trampoline's address, for `sigaction`, after setting the steps it
/// calls (each install gives the same two).
pub fn trampoline(enter: Enter, leave: Leave) -> usize {
    ENTER.store(enter as usize, Ordering::Relaxed);
    LEAVE.store(leave as usize, Ordering::Relaxed);
    eintrfix_signal_trampoline as *const () as usize
}

/// The trampoline's address, without setting anything (for comparisons).
pub fn trampoline_address() -> usize {
    eintrfix_signal_trampoline as *const () as usize
}

// Offsets in `ucontext_t`: uc_stack.ss_sp at 16, uc_stack.ss_size at 32.
// System calls: rt_sigprocmask 14 (SIG_BLOCK 0, 8-byte set), sched_yield 24.
core::arch::global_asm!(
    ".pushsection .text.eintrfix_signal_trampoline,\"ax\",@progbits",
    ".globl eintrfix_signal_trampoline",
    ".hidden eintrfix_signal_trampoline",
    ".type eintrfix_signal_trampoline,@function",
    ".p2align 4",
    "eintrfix_signal_trampoline:",
    ".cfi_startproc",
    "endbr64",
    "push rbx",
    ".cfi_adjust_cfa_offset 8",
    "push r12",
    ".cfi_adjust_cfa_offset 8",
    "push r13",
    ".cfi_adjust_cfa_offset 8",
    "push r14",
    ".cfi_adjust_cfa_offset 8",
    "push r15",
    ".cfi_adjust_cfa_offset 8",
    "mov ebx, edi",
    "mov r12, rsi",
    "mov r13, rdx",
    "call qword ptr [rip + {enter}]",
    "mov r14, rdx",
    "test rax, rax",
    "jz 2f",
    "mov edi, ebx",
    "mov rsi, r12",
    "mov rdx, r13",
    "call rax",
    "2:",
    // On the alternate stack: rsp - ss_sp < ss_size (unsigned).
    "mov rax, rsp",
    "sub rax, qword ptr [r13 + 16]",
    "cmp rax, qword ptr [r13 + 32]",
    "jb 3f",
    "mov edi, ebx",
    "mov rsi, r12",
    "mov rdx, r13",
    "mov rcx, r14",
    "call qword ptr [rip + {leave}]",
    "jmp 9f",
    "3:",
    "mov eax, 14",
    "xor edi, edi",
    "lea rsi, [rip + {all}]",
    "xor edx, edx",
    "mov r10d, 8",
    "syscall",
    "mov r8d, 64",
    "4:",
    "mov rax, qword ptr [rip + {free}]",
    "test rax, rax",
    "jz 5f",
    "bsf rcx, rax",
    "lock btr qword ptr [rip + {free}], rcx",
    "jnc 4b",
    "mov rax, rcx",
    "inc rax",
    "shl rax, 16",
    "add rax, qword ptr [rip + {base}]",
    "mov r15, rsp",
    ".cfi_def_cfa_register r15",
    "mov rsp, rax",
    "push rcx",
    "sub rsp, 8",
    "mov edi, ebx",
    "mov rsi, r12",
    "mov rdx, r13",
    "mov rcx, r14",
    "call qword ptr [rip + {leave}]",
    "mov rcx, qword ptr [rsp + 8]",
    "lock bts qword ptr [rip + {free}], rcx",
    "mov rsp, r15",
    ".cfi_def_cfa_register rsp",
    "jmp 9f",
    "5:",
    "dec r8d",
    "jz 9f",
    "mov eax, 24",
    "syscall",
    "jmp 4b",
    "9:",
    "pop r15",
    ".cfi_adjust_cfa_offset -8",
    "pop r14",
    ".cfi_adjust_cfa_offset -8",
    "pop r13",
    ".cfi_adjust_cfa_offset -8",
    "pop r12",
    ".cfi_adjust_cfa_offset -8",
    "pop rbx",
    ".cfi_adjust_cfa_offset -8",
    "ret",
    ".cfi_endproc",
    ".size eintrfix_signal_trampoline, . - eintrfix_signal_trampoline",
    ".popsection",
    enter = sym ENTER,
    leave = sym LEAVE,
    all = sym ALL_SIGNALS,
    free = sym FREE,
    base = sym BASE,
);
