//! Instruction sets without a port: no word is taken for a return
//! address, so every call follows the usual rules, and the trampoline
//! never reads or changes a context (handlers are installed as the program
//! asked, and every interruption is left to the hooks).

use super::{Call, Restart, State};
use crate::functions::Function;
use core::ffi::c_void;

/// No decoder for this instruction set.
pub const SUPPORTED: bool = false;

/// Not known here: 0 (callers check [`SUPPORTED`] first).
#[inline(always)]
pub fn stack_pointer() -> usize {
    0
}

/// Nothing to tell Valgrind here.
#[inline(always)]
pub fn mark_defined(_addr: *const u8, _len: usize) {}

/// Never a call.
///
/// # Safety
/// None needed: nothing is read.
pub unsafe fn call_before(_ret: usize, _lowest: usize) -> Option<Call> {
    None
}

/// Never a PLT stub.
///
/// # Safety
/// None needed: nothing is read.
pub unsafe fn plt_slot(_entry: usize, _end: usize) -> Option<usize> {
    None
}

/// Never: the context is not read on this architecture.
///
/// # Safety
/// None needed; the context is not touched.
pub unsafe fn pending_restart(_context: *mut c_void) -> Option<Restart> {
    None
}

/// Not known here.
///
/// # Safety
/// None needed; the context is not touched.
pub unsafe fn state(_context: *mut c_void) -> Option<State> {
    None
}

/// Does nothing: no restart is ever pending here.
///
/// # Safety
/// None needed; the context is not touched.
pub unsafe fn fail_with_eintr(_context: *mut c_void) {}

/// No hook's call is restarted here.
pub fn hooks_can_block_in(_number: i64) -> bool {
    false
}

/// No system call is named here.
pub fn syscall_function(_number: i64) -> Option<Function> {
    None
}

/// Not resolved here: the name counts as missing.
///
/// # Safety
/// None: nothing is called.
pub unsafe fn call_ifunc_resolver(_resolver: usize) -> usize {
    0
}

/// Not asked here.
pub fn under_valgrind() -> bool {
    false
}

/// No decoder here: every call site is [`errno_check::Verdict::Unknown`],
/// so every call follows the usual rules.
pub mod errno_check {
    pub use super::super::call_site::{Code, Target, Verdict};

    /// Never known here.
    pub fn classify(_code: &impl Code, _ret: usize) -> Verdict {
        Verdict::Unknown
    }
}

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
pub type Enter = extern "C" fn(libc::c_int, *mut libc::siginfo_t) -> Entered;
/// The step after it: `(signal, info, context, state)`.
pub type Leave = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void, usize);

static STEPS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
static LEAVE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Without a port the trampoline is plain Rust: both steps and the handler
/// on the stack the signal came on (no stack switch).
extern "C" fn portable_trampoline(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut c_void,
) {
    use core::sync::atomic::Ordering;
    // SAFETY: set by `trampoline` before any install could deliver here.
    let enter: Enter = unsafe { core::mem::transmute(STEPS.load(Ordering::Relaxed)) };
    // SAFETY: as above.
    let leave: Leave = unsafe { core::mem::transmute(LEAVE.load(Ordering::Relaxed)) };
    let entered = enter(signal, info);
    if entered.handler != 0 {
        // SAFETY: the program's handler, called with the kernel's arguments.
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
            unsafe { core::mem::transmute(entered.handler) };
        handler(signal, info, context);
    }
    leave(signal, info, context, entered.state);
}

/// The trampoline's address, for `sigaction`, after setting its steps.
pub fn trampoline(enter: Enter, leave: Leave) -> usize {
    use core::sync::atomic::Ordering;
    STEPS.store(enter as usize, Ordering::Relaxed);
    LEAVE.store(leave as usize, Ordering::Relaxed);
    trampoline_address()
}

/// The trampoline's address, without setting anything.
pub fn trampoline_address() -> usize {
    portable_trampoline as *const () as usize
}
