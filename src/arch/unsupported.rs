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
pub fn hooks_make(_number: i64) -> bool {
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
