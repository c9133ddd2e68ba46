//! Whose code an address is in: libc's, the shim's, or another object's.
//!
//! The text (executable) segments of every object loaded when the library
//! starts are listed once, by the constructor, into fixed-size static
//! tables of atomics. Lookups read those atomics only: no lock, no
//! allocation, safe in a signal handler, a `vfork` child, or before the
//! constructor (then every address is unknown). Objects loaded later by
//! `dlopen` are unknown too.

use core::ffi::{c_int, c_void, CStr};
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Who an address belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The C library or the dynamic loader.
    Libc,
    /// This library.
    Shim,
    /// The program or any other library.
    Other,
}

impl Owner {
    const fn code(self) -> u8 {
        match self {
            Owner::Libc => 1,
            Owner::Shim => 2,
            Owner::Other => 3,
        }
    }

    fn from_code(code: u8) -> Option<Owner> {
        match code {
            1 => Some(Owner::Libc),
            2 => Some(Owner::Shim),
            3 => Some(Owner::Other),
            _ => None,
        }
    }
}

/// How many text segments are kept (a process starts with a few dozen at
/// most; the rest are left unknown).
const CAPACITY: usize = 128;

struct Range {
    start: AtomicUsize,
    end: AtomicUsize,
    owner: AtomicU8,
}

static RANGES: [Range; CAPACITY] = [const {
    Range {
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
        owner: AtomicU8::new(0),
    }
}; CAPACITY];

/// How many entries of [`RANGES`] are filled (published with release).
static FILLED: AtomicUsize = AtomicUsize::new(0);

/// Whether the table is filled (the constructor has run).
pub fn ready() -> bool {
    FILLED.load(Ordering::Acquire) != 0
}

/// The owner of `address`, if it lies in a known text segment.
pub fn owner_of(address: usize) -> Option<Owner> {
    let filled = FILLED.load(Ordering::Acquire).min(CAPACITY);
    RANGES.iter().take(filled).find_map(|range| {
        let start = range.start.load(Ordering::Relaxed);
        let end = range.end.load(Ordering::Relaxed);
        (start <= address && address < end)
            .then(|| Owner::from_code(range.owner.load(Ordering::Relaxed)))
            .flatten()
    })
}

/// How many words above a stack pointer are searched for a return address
/// (4 KiB: AddressSanitizer's interceptor between a hook and libc holds
/// the hook's return address 273 words up).
const SCAN_WORDS: usize = 512;

/// The stack is copied this many words at a time, each chunk within one
/// page (a page holds a whole number of them).
const CHUNK_WORDS: usize = 32;

const WORD: usize = core::mem::size_of::<usize>();

/// Copies the words at `at` (aligned to a chunk) into `chunk` with
/// `process_vm_readv`, which fails rather than faults where nothing is
/// mapped: a stack ends somewhere above its pointer (a coroutine's may end
/// within a page). Returns whether it could.
fn copy_chunk(at: usize, chunk: &mut [usize; CHUNK_WORDS]) -> bool {
    let saved = crate::errno::get();
    let local = libc::iovec {
        iov_base: chunk.as_mut_ptr().cast(),
        iov_len: CHUNK_WORDS * WORD,
    };
    let remote = libc::iovec {
        iov_base: at as *mut c_void,
        iov_len: CHUNK_WORDS * WORD,
    };
    // SAFETY: the local iovec covers `chunk`, which the call may write; the
    // remote one is only read, by the kernel, which checks it.
    let copied = unsafe {
        libc::syscall(
            libc::SYS_process_vm_readv,
            libc::syscall(libc::SYS_getpid),
            &local as *const libc::iovec,
            1usize,
            &remote as *const libc::iovec,
            1usize,
            0usize,
        )
    };
    crate::errno::set(saved);
    copied == (CHUNK_WORDS * WORD) as libc::c_long
}

/// The first return address on the stack from `stack` upward that lies in
/// a known text segment whose owner `skip` does not pass over, with that
/// owner: the code that called into the frames skipped. Bounded to
/// [`SCAN_WORDS`] words, and to what is mapped; only words that follow a
/// call instruction count, and in this library only those after a call
/// through a pointer (every hook calls libc through one: a code address
/// here that follows a direct call is a stale value or a function pointer,
/// such as a `pthread_atfork` handler that `fork`'s frame holds). The scan
/// reads whatever the stack holds, padding included, so valgrind is asked
/// not to report it.
///
/// # Safety
/// `stack` is a thread's stack pointer.
pub unsafe fn first_caller(stack: usize, skip: impl Fn(Owner) -> bool) -> Option<(usize, Owner)> {
    let is_caller = |word: usize| {
        let owner = owner_of(word)?;
        if skip(owner) || owner_of(word.wrapping_sub(7)) != Some(owner) {
            return None;
        }
        // SAFETY: `word - 7` and `word` lie in the same mapped text segment.
        let call = unsafe { crate::arch::call_before(word) }?;
        (owner != Owner::Shim || call == crate::arch::Call::Indirect).then_some((word, owner))
    };
    let scan = || {
        let first = stack & !(CHUNK_WORDS * WORD - 1);
        let mut chunk = [0usize; CHUNK_WORDS];
        (0..SCAN_WORDS / CHUNK_WORDS)
            .find_map(|i| {
                let at = first.checked_add(i * CHUNK_WORDS * WORD)?;
                if !copy_chunk(at, &mut chunk) {
                    // The stack ends here: no caller, and no further chunk.
                    return Some(None);
                }
                let words = chunk
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| at + k * WORD >= stack);
                words.map(|(_, &word)| word).find_map(is_caller).map(Some)
            })
            .flatten()
    };
    crate::arch::unreported_by_valgrind(scan)
}

/// Whether a return address into this library (after a call through a
/// pointer, as every hook makes its real call) is anywhere in the
/// [`SCAN_WORDS`] words above `stack`: a hook is waiting above the frames
/// there, perhaps behind another interposer.
///
/// # Safety
/// As [`first_caller`].
pub unsafe fn hook_above(stack: usize) -> bool {
    // SAFETY: the caller's contract; only this library's words are taken.
    unsafe { first_caller(stack, |owner| owner != Owner::Shim) }.is_some()
}

/// Lists the text segments of every loaded object, from the constructor.
/// Runs once; a second call changes nothing.
pub fn init() {
    if FILLED.load(Ordering::Acquire) != 0 {
        return;
    }
    let mut filled = 0usize;
    // SAFETY: the callback matches dl_iterate_phdr's prototype and gets a
    // pointer to our counter, which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(note_object), (&mut filled as *mut usize).cast()) };
    FILLED.store(filled.min(CAPACITY), Ordering::Release);
}

/// Whose an object is, from its name and whether it holds this function.
fn owner_of_object(name: &[u8], holds_shim: bool) -> Owner {
    let file = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    if holds_shim {
        Owner::Shim
    } else if file.starts_with(b"libc.so") || file.starts_with(b"ld-linux") {
        Owner::Libc
    } else {
        Owner::Other
    }
}

/// `dl_iterate_phdr`'s callback: notes the object's executable segments.
extern "C" fn note_object(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid info and our counter.
    let (info, filled) = unsafe { (&*info, &mut *data.cast::<usize>()) };
    let name = if info.dlpi_name.is_null() {
        &b""[..]
    } else {
        // SAFETY: a NUL-terminated name owned by the loader.
        unsafe { CStr::from_ptr(info.dlpi_name) }.to_bytes()
    };
    let base = info.dlpi_addr as usize;
    let headers: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
        &[]
    } else {
        // SAFETY: the loader's program headers, dlpi_phnum of them.
        unsafe { core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
    };
    let here = init as fn() as usize;
    let texts = headers
        .iter()
        .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_X != 0)
        .map(|h| {
            let start = base.wrapping_add(h.p_vaddr as usize);
            (start, start.wrapping_add(h.p_memsz as usize))
        });
    let holds_shim = texts
        .clone()
        .any(|(start, end)| start <= here && here < end);
    let owner = owner_of_object(name, holds_shim);
    for (start, end) in texts {
        let Some(range) = RANGES.get(*filled) else {
            return 1;
        };
        range.start.store(start, Ordering::Relaxed);
        range.end.store(end, Ordering::Relaxed);
        range.owner.store(owner.code(), Ordering::Relaxed);
        *filled += 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_told_apart_by_name() {
        assert_eq!(
            owner_of_object(b"/lib/x86_64-linux-gnu/libc.so.6", false),
            Owner::Libc
        );
        assert_eq!(
            owner_of_object(b"/lib64/ld-linux-x86-64.so.2", false),
            Owner::Libc
        );
        assert_eq!(owner_of_object(b"", false), Owner::Other);
        assert_eq!(
            owner_of_object(b"/usr/lib/libcrypt.so.1", false),
            Owner::Other
        );
        assert_eq!(owner_of_object(b"/x/libc.so.6", true), Owner::Shim);
    }

    #[test]
    fn libc_and_this_code_are_known() {
        init();
        assert_eq!(owner_of(init as fn() as usize), Some(Owner::Shim));
        assert_eq!(
            owner_of(libc::getpid as *const () as usize),
            Some(Owner::Libc)
        );
        assert_eq!(owner_of(0), None);
    }
}
