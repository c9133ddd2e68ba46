//! How a real function's slot is filled (see `crate::real`): dlsym found
//! without importing it, the scope the constructor publishes for the first
//! calls, the constructor's own resolutions, and what a slot holds when
//! nothing is found.

use super::{lookup, resolve_now};
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// dlsym's address: 0 until searched, [`NO_DLSYM`] if no loaded object
/// defines it.
static DLSYM: AtomicUsize = AtomicUsize::new(0);
const NO_DLSYM: usize = 1;

/// dlsym, if the process has it: libc's since glibc 2.34, before that
/// `libdl.so.2`'s, which a program may not have loaded. Found by reading
/// the symbol tables of the objects after this library (as
/// `dlsym(RTLD_NEXT, "dlsym")` would: the real one, not an interposer in
/// the program, which would make our `RTLD_NEXT` its own), or of the
/// others where the library was loaded with `dlopen`, not imported:
/// an import names a version, and a versioned reference fails to load
/// wherever the file that version came from lacks the symbol, weak or not
/// (`dlsym@GLIBC_2.34` is not in glibc 2.33, and glibc 2.33's `libc.so.6`
/// has no `dlsym@GLIBC_2.2.5`), while a `DT_NEEDED` on `libdl.so.2` costs
/// about 13 000 instructions of every start-up. Reading the tables costs
/// less than the loader's binding of the import did. Takes the loader's
/// lock the first time.
pub(super) fn dlsym_function() -> Option<lookup::Dlsym> {
    let mut address = DLSYM.load(Ordering::Relaxed);
    if address == 0 {
        address = lookup::next_definition(b"dlsym", crate::elf::gnu_hash(b"dlsym"))
            .map_or(NO_DLSYM, |f| f as usize);
        DLSYM.store(address, Ordering::Relaxed);
    }
    // SAFETY: a non-NO_DLSYM address is the loaded objects' first
    // definition of dlsym, the function of this type.
    (address != NO_DLSYM).then(|| unsafe { core::mem::transmute::<usize, lookup::Dlsym>(address) })
}

/// `dlsym(RTLD_DEFAULT, name)`; null without dlsym. For what only newer
/// glibc has (and so a glibc whose libc defines dlsym).
pub fn default_symbol(name: &core::ffi::CStr) -> *mut c_void {
    match dlsym_function() {
        // SAFETY: a NUL-terminated name and a valid pseudo-handle.
        Some(dlsym) => unsafe { dlsym(libc::RTLD_DEFAULT, name.as_ptr()) },
        None => null_mut(),
    }
}

/// Looks `name` (NUL-terminated) up in the objects after this one as
/// `dlsym(RTLD_NEXT, name)` does (null if none defines it); [`settle`]
/// stores what it found.
#[cold]
#[inline(never)]
pub(super) fn resolve(name: &'static [u8]) -> *mut c_void {
    match dlsym_function() {
        // SAFETY: `name` is NUL-terminated (built with concat! below) and
        // RTLD_NEXT is a valid pseudo-handle for dlsym.
        Some(dlsym) => unsafe { dlsym(libc::RTLD_NEXT, name.as_ptr().cast::<c_char>()) },
        None => {
            let bare = name.split_last().map_or(name, |(_, bare)| bare);
            lookup::next_definition(bare, crate::elf::gnu_hash(bare)).unwrap_or(null_mut())
        }
    }
}

/// The scope the constructor found (see the module's documentation),
/// written once, then only read. In C's order, flags first: what a
/// process writes of it stays together, in as few pages as can be.
#[repr(C)]
struct Published {
    /// Set (release) once `scope` is written; never cleared.
    ready: AtomicBool,
    /// Claimed by the one writer.
    claimed: AtomicBool,
    scope: UnsafeCell<lookup::Scope>,
}

// SAFETY: `scope` is written only by the thread that claimed it, before
// `ready` is set with release ordering, and read only after `ready` is
// seen with acquire ordering; it is never written again.
unsafe impl Sync for Published {}

static PUBLISHED: Published = Published {
    ready: AtomicBool::new(false),
    claimed: AtomicBool::new(false),
    scope: UnsafeCell::new(lookup::Scope::EMPTY),
};

/// The published scope, once the constructor has found one.
pub(super) fn published() -> Option<&'static lookup::Scope> {
    if !PUBLISHED.ready.load(Ordering::Acquire) {
        return None;
    }
    // SAFETY: written before `ready` was set, and never again (see
    // `Published`).
    Some(unsafe { &*PUBLISHED.scope.get() })
}

/// Finds the scope (see [`lookup::Scope::find_into`]) and publishes it for
/// the first calls; `None` if none was found, or one was already
/// published (by an earlier run of the constructor).
fn publish() -> Option<&'static lookup::Scope> {
    if PUBLISHED.claimed.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the one claimant writes, before `ready` lets anyone read.
    let found = unsafe { (*PUBLISHED.scope.get()).find_into(dlsym_function()) };
    if !found {
        return None;
    }
    PUBLISHED.ready.store(true, Ordering::Release);
    published()
}

/// The constructor's part: finds and publishes the scope the first calls
/// search, and resolves now what they could not resolve without dlsym:
/// every name that none of the scope's objects can define, or every name
/// when there is no scope.
pub fn init() {
    match publish() {
        Some(scope) => resolve_now(Some(scope), true),
        None => resolve_all(),
    }
}

/// Resolves every real function not resolved yet (the audit mode's
/// wrappers need them all).
pub fn resolve_all() {
    resolve_now(published(), false);
}

/// What a function's first call finds (`name` NUL-terminated, `hash` the
/// GNU hash of the name without it): after the constructor, from the
/// published scope's symbol tables, without a lock; dlsym only where
/// those cannot answer (before the constructor, an IFUNC, a name a bloom
/// filter let through that the objects lack).
#[cold]
#[inline(never)]
pub(super) fn first_resolve(name: &'static [u8], hash: u32) -> *mut c_void {
    find(published(), name, hash)
}

/// What a look-up of `name` (NUL-terminated; `hash` the GNU hash of the
/// name without it) finds: from `scope`'s symbol tables where they can
/// answer, else as [`resolve`] does.
fn find(scope: Option<&lookup::Scope>, name: &'static [u8], hash: u32) -> *mut c_void {
    let bare = name.split_last().map_or(name, |(_, bare)| bare);
    match scope.and_then(|scope| scope.lookup(bare, hash)) {
        Some(found) => found,
        None => resolve(name),
    }
}

/// Resolves `slot` now, for [`resolve_now`]: `name` NUL-terminated,
/// `hash` its GNU hash without the NUL, `fallback` what the slot holds if
/// nothing is found.
#[inline(never)]
pub(super) fn resolve_slot(
    slot: &AtomicPtr<c_void>,
    name: &'static [u8],
    hash: u32,
    fallback: *mut c_void,
    scope: Option<&lookup::Scope>,
) {
    settle(slot, find(scope, name, hash), fallback);
}

/// Stores in `slot` what a look-up found, and returns it: the real
/// function; or `fallback` (see [`missing`]) when nothing was found or
/// the look-up found this library's own hook, which would call itself
/// forever (the scope searched was not the one after this library). A
/// slot is null only until looked up: a function libc lacks is not looked
/// up again at every call.
#[inline(always)]
pub(super) fn settle(
    slot: &AtomicPtr<c_void>,
    found: *mut c_void,
    fallback: *mut c_void,
) -> *mut c_void {
    let f = if found.is_null() || is_own(found as usize) {
        fallback
    } else {
        found
    };
    slot.store(f, Ordering::Relaxed);
    f
}

extern "C" {
    /// This library's ELF header, where the linker says it is loaded.
    static __ehdr_start: u8;
}

/// `[start, end)` of this library's loaded segments, read from its own
/// program headers (without the loader's lock): 0 until read.
static OWN_START: AtomicUsize = AtomicUsize::new(0);
static OWN_END: AtomicUsize = AtomicUsize::new(0);

/// Whether `address` is in this library.
pub(super) fn is_own(address: usize) -> bool {
    let mut start = OWN_START.load(Ordering::Acquire);
    if start == 0 {
        let base = core::ptr::addr_of!(__ehdr_start) as usize;
        // SAFETY: this library's first page holds its ELF header, mapped
        // readable while the library is loaded (so always, for its code).
        let Some(image) = (unsafe { crate::elf::Image::from_mapping(base, base) }) else {
            return false;
        };
        let (lowest, highest) = image.segments().fold((usize::MAX, 0), |(lo, hi), s| {
            (lo.min(s.start), hi.max(s.end))
        });
        OWN_END.store(highest, Ordering::Relaxed);
        OWN_START.store(lowest, Ordering::Release);
        start = lowest;
    }
    (start..OWN_END.load(Ordering::Relaxed)).contains(&address)
}

/// A missing symbol fails like an unimplemented system call.
pub(super) fn missing() -> c_int {
    crate::errno::set(libc::ENOSYS);
    -1
}
