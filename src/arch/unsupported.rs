//! Instruction sets without a decoder: no word is taken for a return
//! address, so every call follows the usual rules.

use super::Call;

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
