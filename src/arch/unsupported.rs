//! Any architecture without a port: the trampoline never changes a
//! context, so every interruption is left to the hooks.

use super::Restart;
use crate::functions::Function;
use core::ffi::c_void;

/// The trampoline cannot read contexts here.
pub const SUPPORTED: bool = false;

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
pub unsafe fn state(_context: *mut c_void) -> Option<super::State> {
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

/// How the instruction before a return address called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// A direct call.
    Direct,
    /// A call through a pointer.
    Indirect,
}

/// Never: no instruction is decoded here.
///
/// # Safety
/// None needed; nothing is read.
pub unsafe fn call_before(_address: usize) -> Option<Call> {
    None
}

/// No system call is named here.
pub fn syscall_function(_number: i64) -> Option<Function> {
    None
}

/// Runs `scan`: no valgrind requests here.
pub fn unreported_by_valgrind<R>(scan: impl FnOnce() -> R) -> R {
    scan()
}

/// Not asked here.
pub fn under_valgrind() -> bool {
    false
}
