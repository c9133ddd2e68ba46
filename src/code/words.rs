//! Reading the words of a stack without a fault: in place where the
//! stack is provably mapped, else with `process_vm_readv`, which fails
//! rather than faults where nothing is mapped.
//!
//! Provably mapped: a scan from a stack pointer `sp` that lies a little
//! above the stack the scan itself runs on (within [`NEAR`], and not on a
//! stack of [`crate::signal_stack`]'s pool) runs on the same stack as
//! `sp`: the signal's frame, written by the kernel just below `sp` less its
//! 128-byte red zone, and the trampoline's frames below it. So the page
//! that holds `sp - 256` is mapped; when `sp` is in that same page, the
//! words from `sp` to the end of the page are read in place. That is where
//! the first return address above an interrupted system call almost always
//! lies (about 94 % of stack pointers are 256 bytes or more into their
//! page), so most deliveries read the stack with no system call. Anything
//! further up, and any other stack (the trampoline's work on a stack of
//! the pool scanning the thread's stack), is copied by the kernel, up to
//! 1 KiB per call.
//!
//! Where `process_vm_readv` is missing (ENOSYS: a kernel before 3.2) or
//! refused (EPERM: a container's policy, Docker's default before Linux
//! 4.8), the kernel is asked instead whether each page can be read, and
//! the words are read in place: `rt_sigprocmask` with an invalid `how`
//! reads the new mask from the address first, failing with EFAULT where
//! nothing readable is mapped, then rejects `how` with EINVAL, changing
//! nothing.

use core::sync::atomic::{AtomicBool, Ordering};

/// How far above the scan's own stack pointer `sp` may lie to count as on
/// the same stack (the signal frame and the trampoline's frames).
const NEAR: usize = 64 * 1024;
const PAGE: usize = 4096;
/// What the kernel provably wrote below `sp`: its red zone and more.
const BELOW: usize = 256;

/// The end of the words at and above `sp` that can be read in place
/// (`sp` itself when none can). `here` is the scan's own stack pointer.
pub fn in_place_end(sp: usize, here: usize) -> usize {
    let near = here < sp && sp - here < NEAR && !crate::signal_stack::contains(here);
    let page = sp & !(PAGE - 1);
    match sp.checked_sub(BELOW) {
        Some(below) if near && below & !(PAGE - 1) == page => page + PAGE,
        _ => sp,
    }
}

/// The most pages a copy spans (one iovec each).
const MAX_PAGES: usize = 3;

/// Copies the words at `at` into `into`: in place when they end at or
/// below `in_place_end`, else with one `process_vm_readv`, one iovec per
/// page, so that the kernel copies whole pages up to the first unmapped
/// one. Returns how many words it copied (from the first).
pub fn copy_words(at: usize, into: &mut [usize], in_place_end: usize) -> usize {
    let bytes = core::mem::size_of_val(into);
    if at.checked_add(bytes).is_some_and(|end| end <= in_place_end) {
        for (i, word) in into.iter_mut().enumerate() {
            // SAFETY: the word lies below `in_place_end`, in a page proven
            // mapped (see the module documentation).
            *word = unsafe { core::ptr::read_volatile((at + i * 8) as *const usize) };
        }
        return into.len();
    }
    if NO_VM_READ.load(Ordering::Relaxed) {
        return copy_checked(at, into);
    }
    let empty = libc::iovec {
        iov_base: core::ptr::null_mut(),
        iov_len: 0,
    };
    let mut remote = [empty; MAX_PAGES];
    let mut pieces = 0;
    let mut from = at;
    let Some(end) = at.checked_add(bytes) else {
        return 0;
    };
    for slot in remote.iter_mut() {
        if from >= end {
            break;
        }
        let page_end = (from & !(PAGE - 1)) + PAGE;
        let len = page_end.min(end) - from;
        *slot = libc::iovec {
            iov_base: from as *mut libc::c_void,
            iov_len: len,
        };
        pieces += 1;
        from += len;
    }
    let local = libc::iovec {
        iov_base: into.as_mut_ptr().cast(),
        iov_len: from - at,
    };
    let (copied, failure) = crate::errno::preserved(|| {
        // SAFETY: the local iovec covers the start of `into`, which the
        // call may write; the remote ones are only read, by the kernel,
        // which checks them.
        let copied = unsafe {
            libc::syscall(
                libc::SYS_process_vm_readv,
                crate::process::cached_pid(),
                &local as *const libc::iovec,
                1usize,
                remote.as_ptr(),
                pieces,
                0usize,
            )
        };
        (copied, crate::errno::get())
    });
    if copied < 0 && matches!(failure, libc::ENOSYS | libc::EPERM) {
        NO_VM_READ.store(true, Ordering::Relaxed);
        return copy_checked(at, into);
    }
    usize::try_from(copied).map_or(0, |bytes| bytes / 8)
}

/// Set once `process_vm_readv` answered ENOSYS or EPERM.
static NO_VM_READ: AtomicBool = AtomicBool::new(false);

/// Whether the kernel can read the 8 bytes at `at` (see the module
/// documentation).
fn readable(at: usize) -> bool {
    /// No `how` of rt_sigprocmask (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK are
    /// 0 to 2).
    const NO_HOW: libc::c_int = 99;
    /// The kernel's sigset_t (64 signals; 128 on MIPS).
    const KERNEL_SIGSET: usize = 8;
    crate::errno::preserved(|| {
        // SAFETY: the kernel only reads KERNEL_SIGSET bytes at `at`,
        // checking the address, and writes nothing (no old set).
        let answer = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                NO_HOW,
                at,
                core::ptr::null_mut::<libc::c_void>(),
                KERNEL_SIGSET,
            )
        };
        answer == -1 && crate::errno::get() == libc::EINVAL
    })
}

/// [`copy_words`] without `process_vm_readv`: page by page, each read in
/// place once the kernel could read its first word, up to the first page
/// it could not. Returns how many words it copied.
fn copy_checked(at: usize, into: &mut [usize]) -> usize {
    let mut copied = 0;
    while copied < into.len() {
        let from = at + copied * 8;
        let page_end = (from & !(PAGE - 1)) + PAGE;
        let words = ((page_end - from) / 8).clamp(1, into.len() - copied);
        if !readable(from) {
            break;
        }
        for word in into.iter_mut().skip(copied).take(words) {
            // SAFETY: in the page whose first word read here the kernel
            // could read: mapped readable. Stacks are not unmapped under
            // a thread that runs on them.
            *word = unsafe { core::ptr::read_volatile((at + copied * 8) as *const usize) };
            copied += 1;
        }
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pointer_just_above_on_the_same_stack_is_read_in_place() {
        let here = 0x7000_0100;
        assert_eq!(in_place_end(0x7000_2400, here), 0x7000_3000);
        assert_eq!(
            in_place_end(0x7000_2080, here),
            0x7000_2080,
            "too near its page's start"
        );
        assert_eq!(in_place_end(0x7100_2400, here), 0x7100_2400, "too far");
        assert_eq!(in_place_end(0x6000_2400, here), 0x6000_2400, "below");
    }

    #[test]
    fn words_are_copied_in_place_or_by_the_kernel() {
        crate::process::map_pid_page();
        let source = [1usize, 2, 3, 4];
        let at = source.as_ptr() as usize;
        let mut into = [0usize; 4];
        assert_eq!(copy_words(at, &mut into, at + 32), 4);
        assert_eq!(into, source);
        let mut into = [0usize; 4];
        assert_eq!(copy_words(at, &mut into, 0), 4);
        assert_eq!(into, source);
        assert_eq!(crate::process::cached_pid(), crate::process::getpid());
        let mut into = [0usize; 1];
        assert_eq!(copy_words(8, &mut into, 0), 0, "nothing mapped there");
    }

    /// Two fresh private pages, readable and writable (the caller unmaps
    /// them).
    fn two_pages() -> usize {
        // SAFETY: a new private anonymous mapping.
        let base = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                2 * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        base as usize
    }

    #[test]
    fn without_process_vm_readv_only_readable_pages_are_read() {
        let words = [1usize, 2, 3, 4];
        let mut copy = [0usize; 4];
        assert_eq!(copy_checked(words.as_ptr() as usize, &mut copy), 4);
        assert_eq!(copy, words);
        let base = two_pages();
        // SAFETY: the second page of the mapping made.
        unsafe { libc::mprotect((base + PAGE) as *mut libc::c_void, PAGE, libc::PROT_NONE) };
        let mut copy = [7usize; 4];
        assert_eq!(copy_checked(base + PAGE - 16, &mut copy), 2);
        assert_eq!(copy[..2], [0, 0]);
        assert_eq!(copy_checked(base + PAGE, &mut copy), 0);
        // SAFETY: the mapping above.
        unsafe { libc::munmap(base as *mut libc::c_void, 2 * PAGE) };
        assert_eq!(copy_checked(base, &mut copy), 0);
    }

    #[test]
    fn a_copy_stops_at_the_first_unmapped_page() {
        let base = two_pages();
        // SAFETY: the second page of the mapping just made.
        unsafe { libc::munmap((base + PAGE) as *mut libc::c_void, PAGE) };
        let mut into = [7usize; 64];
        let at = base + PAGE - 16 * 8;
        assert_eq!(copy_words(at, &mut into, 0), 16);
        assert_eq!(into[0], 0);
        // SAFETY: the first page.
        unsafe { libc::munmap(base as *mut libc::c_void, PAGE) };
    }
}
