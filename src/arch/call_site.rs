//! What the per-site rule's decoders share, whatever the processor: where
//! a call goes, what a call site does with an EINTR, and what a decoder
//! needs to read (`x86_64/errno_check.rs`; `eintrfix check` compiles both
//! files into the command as well).

/// Where a call goes, as the decoder sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `call rel32`: the address called (perhaps a PLT stub).
    Direct(usize),
    /// `call *disp32(%rip)`: the address of the pointer called through.
    Slot(usize),
}

/// What the code after a call does with an EINTR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It compares errno with EINTR and then handles it: retries, or runs
    /// its own signal processing.
    Handles,
    /// It never compares errno with EINTR within the budget, or only to
    /// return the failure to its own caller.
    Ignores,
    /// The code could not be followed far enough to tell.
    Unknown,
}

/// The code the decoder reads, and what it needs to know about calls.
pub trait Code {
    /// Copies the bytes at `addr` into `buf`, as many as are readable code
    /// of the same object; returns how many.
    fn read(&self, addr: usize, buf: &mut [u8]) -> usize;
    /// Whether a call goes to `__errno_location`.
    fn is_errno_location(&self, target: Target) -> bool;
    /// Whether a call goes to a function the shim hooks (`read`, `write`,
    /// ...): making such a call is no look at the signal state (the other
    /// branch of a loop that reads or writes).
    fn is_hooked(&self, target: Target) -> bool;
}
