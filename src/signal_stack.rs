//! The stacks the signal trampoline's own work runs on when a signal came
//! on an alternate signal stack (`sigaltstack`, SA_ONSTACK).
//!
//! Such a stack is the program's, often small (glibc's `SIGSTKSZ` is
//! 8 KiB, and programs size it for their own handler), and may even be
//! made read-only by another thread while the handler runs. So on it the
//! trampoline adds only a few saved registers to the program's handler
//! (see `docs/reliability.md` for the measured bound), and once the handler
//! has returned it writes nothing more there: it blocks every signal (the
//! kernel restores the handler's mask at `sigreturn`, so the program sees
//! no difference), claims one of the stacks below and does its work (the
//! context read, the stack scan, the policy, tracing) on it.
//!
//! The pool is one mapping of [`SLOTS`] stacks of [`SLOT_BYTES`] each, the
//! lowest page of each a guard page, mapped at the first install of an
//! SA_ONSTACK handler (an ordinary call) and never unmapped: a process
//! that never asks for an alternate stack has none. A stack is claimed for
//! one delivery with one atomic bit operation and given back when the work
//! is done; with every signal blocked, no delivery on the same thread can
//! come between, and no program code runs while it is held (nothing can
//! `longjmp` out and leak it). If every stack is taken (more threads than
//! [`SLOTS`] in the trampoline's work at once, after some yields), or the
//! pool could not be mapped, the work is skipped for that delivery: the
//! kernel then restarts an interrupted call that it would restart anyway
//! (handlers go to the kernel with SA_RESTART), and the delivery is not
//! noted for the hooks.
//!
//! In a `fork` child only the forking thread exists, and it holds no
//! stack: every stack is free again.

use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// How many stacks the pool holds (at most 64: one bit each in [`FREE`]).
pub const SLOTS: usize = 32;
/// The size of each, guard page included.
pub const SLOT_BYTES: usize = 64 * 1024;
/// The guard page at the bottom of each.
const GUARD: usize = 4096;

/// The free stacks: bit `i` set when stack `i` is free. Zero until the
/// pool is mapped, so that nothing is claimed before.
pub static FREE: AtomicU64 = AtomicU64::new(0);
/// The pool's address (0 until mapped); stack `i` ends at
/// `BASE + (i + 1) * SLOT_BYTES`.
pub static BASE: AtomicUsize = AtomicUsize::new(0);

const UNMAPPED: u8 = 0;
const MAPPING: u8 = 1;
const MAPPED: u8 = 2;
static STATE: AtomicU8 = AtomicU8::new(UNMAPPED);

const ALL_FREE: u64 = if SLOTS >= 64 {
    u64::MAX
} else {
    (1u64 << SLOTS) - 1
};

/// Maps the pool, once: from the install of an SA_ONSTACK handler. If the
/// mapping fails, the pool stays empty (see the module documentation).
pub fn prepare() {
    if STATE
        .compare_exchange(UNMAPPED, MAPPING, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    crate::errno::preserved(|| {
        let bytes = SLOTS * SLOT_BYTES;
        // SAFETY: a new private anonymous mapping; nothing else is touched.
        let base = unsafe {
            // Every argument a whole word: syscall() reads each as a long.
            libc::syscall(
                libc::SYS_mmap,
                core::ptr::null_mut::<libc::c_void>(),
                bytes,
                libc::c_long::from(libc::PROT_READ | libc::PROT_WRITE),
                libc::c_long::from(
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                ),
                -1 as libc::c_long,
                0 as libc::c_long,
            ) as *mut libc::c_void
        };
        if base != libc::MAP_FAILED {
            let base = base as usize;
            for slot in 0..SLOTS {
                // SAFETY: the lowest page of each stack, within the mapping
                // just made and used by nothing yet.
                unsafe {
                    libc::syscall(
                        libc::SYS_mprotect,
                        (base + slot * SLOT_BYTES) as *mut libc::c_void,
                        GUARD,
                        libc::c_long::from(libc::PROT_NONE),
                    )
                };
            }
            BASE.store(base, Ordering::Release);
            FREE.store(ALL_FREE, Ordering::Release);
            // A child handler that only stores an atomic.
            crate::process::on_fork_child(all_free_in_child);
        }
    });
    STATE.store(MAPPED, Ordering::Release);
}

/// Whether `addr` lies in the pool.
pub fn contains(addr: usize) -> bool {
    let base = BASE.load(Ordering::Relaxed);
    base != 0 && addr.wrapping_sub(base) < SLOTS * SLOT_BYTES
}

extern "C" fn all_free_in_child() {
    if BASE.load(Ordering::Relaxed) != 0 {
        FREE.store(ALL_FREE, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_has_one_bit_per_stack_and_guard_pages() {
        prepare();
        prepare();
        assert_eq!(FREE.load(Ordering::Relaxed).count_ones() as usize, SLOTS);
        let base = BASE.load(Ordering::Relaxed);
        assert_ne!(base, 0);
        // The top of the first stack is writable.
        // SAFETY: the last word of stack 0, inside the mapping.
        unsafe { ((base + SLOT_BYTES - 8) as *mut u64).write_volatile(1) };
    }
}
