//! The stack scan: the first plausible return address above a stack
//! pointer, and who made a call, read against the table of loaded code
//! (see [`super`]). Lock-free and async-signal-safe.

use super::words;
use super::{locate, owner_of, Owner, Place, LOWEST_MAPPING, PAGE, STACK_END};
use crate::arch::{self, Call};
use core::ptr::read_unaligned;
use core::sync::atomic::Ordering;

/// A plausible return address found on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The return address.
    pub address: usize,
    /// Whose code it returns into.
    pub owner: Owner,
    /// Whether the call before it provably goes into the skipped code
    /// (the proof the rules for a call inside libc ask for).
    pub calls_skipped: bool,
}

/// How far a scan reads at most: 4 KiB. The hooks' own frames take 350 to
/// 700 bytes between the scan's start and the caller's return address
/// (1.4 KiB for `select`, which copies its fd sets).
const SCAN_WORDS: usize = 512;
/// A stack pointer this close below the thread pointer is on that
/// thread's own stack, whose top holds the thread descriptor (x86-64).
const MAX_THREAD_STACK: usize = 1 << 30;
/// The first plausible return address on the stack at and above `sp` whose
/// owner `skip` does not reject: a word pointing into a known object's code
/// just past a call instruction that does not provably go to other code
/// than the skipped one; or a word pointing into an object loaded later
/// that is not a runtime (such objects are not read: the word is taken as
/// it is, so that a scan never runs past their frames).
///
/// The scan stops after 4 KiB, and at the top of the thread's stack when
/// it is known (below the thread descriptor for threads, at
/// `__libc_stack_end` for the main thread). `None` before [`init`] has
/// run. Lock-free and async-signal-safe: usable from a signal handler
/// with the interrupted context's stack pointer.
#[inline(never)]
pub fn first_caller(sp: usize, skip: impl Fn(Owner) -> bool) -> Option<Caller> {
    scan(sp, |word| caller_at(word, &skip))
}

/// The first plausible return address at and above `sp`, whatever its
/// owner: a word in a known object's code just past a call instruction,
/// with the owner and whether the call went through a pointer or into the
/// same object (a hook's call into libc: through a real function's
/// pointer, or, at a function's first call, into the resolver that then
/// calls libc). Stale words
/// lie in the uninitialised slots of live frames; the first return address
/// above a stack pointer is, far more often than any later one, the live
/// frame's own: what tells a hook's call into libc's wrapper (the shim's
/// word first) from a read deep inside stdio (libc's word first, and
/// perhaps a stale one of the shim's further up).
pub fn first_return(sp: usize) -> Option<(Owner, bool)> {
    scan(sp, |word| match locate(word) {
        Place::Known { owner, segment } if segment.is_text() => {
            // SAFETY: the bytes before `word`, down to the segment's start
            // at most, are in a readable code segment.
            let call = unsafe { arch::call_before(word, segment.start) }?;
            let onward = match call {
                Call::Direct(target) => owner_of(target) == Some(owner),
                Call::Slot(_) | Call::Indirect => true,
            };
            Some((owner, onward))
        }
        _ => None,
    })
}

/// Calls `each` on the words at and above `sp` that may be code addresses,
/// in order, until it returns something; see [`first_caller`] for the
/// bounds.
pub(super) fn scan<R>(sp: usize, mut each: impl FnMut(usize) -> Option<R>) -> Option<R> {
    if !arch::SUPPORTED || sp == 0 || !super::ready() {
        return None;
    }
    let limit = stack_limit(sp);
    let in_place = words::in_place_end(sp, arch::stack_pointer());
    // Words that point into this stack, or below the lowest address the
    // kernel maps (64 KiB by default), are no code address: most words on
    // a stack are such, and they are skipped without a lookup.
    let stack = (sp & !(PAGE - 1)).saturating_sub(PAGE)..limit;
    let mut at = sp.checked_add(7)? & !7;
    // The words are copied a block at a time, in place only where the
    // stack is provably mapped (see `words`), else by the kernel, which
    // stops at the first unmapped page: a stack may end within a page
    // above its pointer (a coroutine's, whose top the bounds above do not
    // know), and the copy ends there rather than faults. The copy is
    // marked defined for Valgrind (stale words are uninitialised memory
    // to it).
    let mut block = [0usize; BLOCK_WORDS];
    while at < limit {
        let mut end = limit.min(at + BLOCK_WORDS * 8);
        if at < in_place {
            end = end.min(in_place);
        }
        let asked = (end - at) / 8;
        let copied = match block.get_mut(..asked) {
            Some(into) if asked > 0 => words::copy_words(at, into, in_place),
            _ => 0,
        };
        arch::mark_defined(block.as_ptr().cast(), copied * 8);
        for &word in block.iter().take(copied) {
            if word < LOWEST_MAPPING || stack.contains(&word) {
                continue;
            }
            if let Some(found) = each(word) {
                return Some(found);
            }
        }
        if copied < asked || copied == 0 {
            break;
        }
        at += copied * 8;
    }
    None
}

/// The stack is copied at most this many words at a time: one system call
/// where it cannot be read in place.
const BLOCK_WORDS: usize = 128;

/// Whether a hook is waiting above the frames at `stack`: a return address
/// into this library is in the scanned words, behind whatever other code
/// (another interposer between the hook and libc, such as
/// AddressSanitizer's).
pub fn hook_above(stack: usize) -> bool {
    first_caller(stack, |owner| owner != Owner::Shim).is_some()
}

/// Where a scan from `sp` stops.
fn stack_limit(sp: usize) -> usize {
    let bound = sp.saturating_add(SCAN_WORDS * 8);
    // SAFETY: pthread_self only reads the thread pointer.
    let thread = unsafe { libc::pthread_self() } as usize;
    if sp < thread && thread - sp < MAX_THREAD_STACK {
        return bound.min(thread);
    }
    let end = STACK_END.load(Ordering::Relaxed);
    if sp < end && end - sp < MAX_THREAD_STACK {
        return bound.min(end);
    }
    bound
}

/// The word as a return address, if it is one outside the skipped code
/// whose call does not provably go somewhere else.
fn caller_at(word: usize, skip: &impl Fn(Owner) -> bool) -> Option<Caller> {
    match locate(word) {
        Place::Known { owner, segment } if segment.is_text() && !skip(owner) => {
            // SAFETY: the bytes before `word`, down to the segment's start
            // at most, are in a readable code segment.
            let call = unsafe { arch::call_before(word, segment.start) }?;
            let calls_skipped = match call_target(call, skip) {
                CallTarget::Skipped => true,
                // This library calls libc through pointers, and directly
                // only through its PLT, which can be proved: a word in its
                // code after a direct call to nowhere known is a function
                // pointer (`fork`'s frame holds its `pthread_atfork`
                // handler) or stale.
                CallTarget::Unknown if owner == Owner::Shim && matches!(call, Call::Direct(_)) => {
                    return None
                }
                CallTarget::Unknown => false,
                // A stale word left by an earlier call, or the return
                // address of a function that jumped (a tail call) into
                // the skipped code: look further up.
                CallTarget::Elsewhere => return None,
            };
            Some(Caller {
                address: word,
                owner,
                calls_skipped,
            })
        }
        Place::Opaque if !skip(Owner::Other) => Some(Caller {
            address: word,
            owner: Owner::Other,
            calls_skipped: false,
        }),
        _ => None,
    }
}

/// Where a call goes, as far as the code tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CallTarget {
    /// Into code `skip` rejects: directly, through a PLT stub, or through
    /// a pointer in a readable segment.
    Skipped,
    /// Into other known code.
    Elsewhere,
    /// Through a register, or somewhere not known.
    Unknown,
}

pub(super) fn call_target(call: Call, skip: &impl Fn(Owner) -> bool) -> CallTarget {
    let of = |target: usize| match locate(target) {
        Place::Known { owner, segment } if segment.is_text() => Some((skip(owner), segment)),
        _ => None,
    };
    let target = match call {
        Call::Direct(target) => target,
        Call::Slot(slot) => match read_word(slot) {
            Some(target) => target,
            None => return CallTarget::Unknown,
        },
        Call::Indirect => return CallTarget::Unknown,
    };
    let Some((skipped, segment)) = of(target) else {
        return CallTarget::Unknown;
    };
    if skipped {
        return CallTarget::Skipped;
    }
    if matches!(call, Call::Direct(_)) {
        // SAFETY: from `target` up to the end of its code segment is
        // readable.
        let slot = unsafe { arch::plt_slot(target, segment.end) };
        if let Some(stub) = slot {
            return match read_word(stub).and_then(of) {
                Some((true, _)) => CallTarget::Skipped,
                Some((false, _)) => CallTarget::Elsewhere,
                None => CallTarget::Unknown,
            };
        }
    }
    CallTarget::Elsewhere
}

/// The pointer stored at `addr`, if it lies in a known readable segment.
pub(super) fn read_word(addr: usize) -> Option<usize> {
    match locate(addr) {
        Place::Known { segment, .. } if addr.checked_add(8)? <= segment.end => {
            // SAFETY: the 8 bytes lie in a readable segment of a loaded
            // object.
            Some(unsafe { read_unaligned(addr as *const usize) })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{init, ready};
    use super::*;
    use crate::config;

    /// Builds the table, or waits for the test that is building it.
    fn table_built() {
        init(&config::Config::DEFAULT);
        for _ in 0..10_000 {
            if ready() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("the table of loaded code is never built");
    }

    #[test]
    fn a_scan_from_a_small_thread_stack_stops_below_its_descriptor() {
        table_built();
        let scan = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| {
                let sp = arch::stack_pointer();
                // SAFETY: pthread_self only reads the thread pointer.
                let thread = unsafe { libc::pthread_self() } as usize;
                let limit = stack_limit(sp);
                assert!(
                    sp < limit && limit <= thread,
                    "{sp:#x} {limit:#x} {thread:#x}"
                );
                // Skipping everything reads up to the limit: no fault.
                first_caller(sp, |_| true)
            })
            .expect("a thread");
        assert_eq!(scan.join().expect("no panic"), None);
    }

    #[test]
    fn the_scan_finds_a_callers_return_address() {
        table_built();
        // The test harness called this test from the program itself (the
        // shim here): skipping nothing finds a return address there.
        let caller = first_caller(arch::stack_pointer(), |_| false).expect("a caller");
        assert_eq!(owner_of(caller.address), Some(caller.owner));
        // Skipping everything finds nothing, within the bound.
        assert_eq!(first_caller(arch::stack_pointer(), |_| true), None);
        assert_eq!(first_caller(0, |_| false), None);
    }
}
