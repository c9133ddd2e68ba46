//! Whose code is where, and who called a hook.
//!
//! A runtime that handles EINTR itself (CPython 3.5 and later, PEP 475:
//! it retries each interrupted call once the script's signal handlers have
//! run) must see its own calls' EINTR as it would bare, or its handlers
//! wait until the call completes. So on the slow path the policy engine
//! asks who called the hook: [`hook_caller`].
//!
//! # The table
//! [`init`] (at the first handler install) lists the `PT_LOAD` segments
//! of every object loaded at that time, with `dl_iterate_phdr`, each
//! tagged with its object's [`Owner`], into a fixed-size static table of
//! atomics ([`table`]), sorted and published with a release store. A query
//! is a binary search with relaxed loads: no lock, no allocation, so it is
//! safe in a signal handler and a `vfork` child. Nothing calls `dladdr` at
//! query time (it takes the loader's lock).
//!
//! Objects loaded later (`dlopen`: Python's extension modules, libffi for
//! `ctypes`) are found with glibc's `_dl_find_object` (glibc 2.35 and
//! later), which is lock-free and async-signal-safe: one of CPython's own
//! extension modules (in a `lib-dynload` directory) or an object named in
//! `EINTRFIX_RUNTIMES` is read like a table entry; any other later object
//! is not read at all and counts as [`Owner::Other`] wherever an address
//! lands in it.
//!
//! Without `_dl_find_object` (glibc before 2.35) each later handler install
//! builds the table again if the loader's count of objects loaded and
//! unloaded (`dl_iterate_phdr`'s `dlpi_adds` and `dlpi_subs`) changed since
//! it was built: objects loaded in between are then read as if loaded at
//! start-up, from that install on. Until then an address in one has no
//! owner, so a call from it follows the usual rules. Nothing is done when
//! `dlopen` returns: a `dlopen` hook would make the loader take the hook as
//! its caller, whose `RUNPATH` and `$ORIGIN` it uses to find the object.
//!
//! # Finding the caller
//! Release builds have no frame pointers and there is no stable
//! return-address intrinsic, so [`first_caller`] scans the stack upwards
//! from a stack pointer for the first word that is a plausible return
//! address outside the code to skip: it points into a known object's code
//! just past a call instruction ([`arch::call_before`]), and that call
//! does not provably go somewhere else. Measured under Python, the frames
//! between a hook's slow path and its caller hold stale return addresses
//! left by earlier calls (after `call _Py_Dealloc`, `call memcmp@plt`):
//! each provably calls something else, so the scan passes it. A call that
//! provably goes into the skipped code (directly, through a PLT stub, or
//! through a GOT slot) is what the hook's true caller shows, and the
//! runtime rule requires it ([`Caller::calls_skipped`]); a call through a
//! register proves nothing (libffi's call of a `ctypes` function is one).
//!
//! A caller that reached the hook by a jump (a tail call) leaves only its
//! own caller's return address, whose call goes elsewhere: the scan then
//! goes on up the stack, to the first call it cannot disprove (at the
//! latest the indirect call that started the thread, in libc), within the
//! thread's stack and 4 KiB. Such a call follows the usual rules.

mod runtimes;
pub mod scan;
pub mod sites;
mod table;
mod words;

use crate::arch;
use crate::config;
use crate::elf::{Image, Segment, PF_X};
use crate::once::Once;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use runtimes::{file_name, named_at_start, names_match, runtime_by_name, MAX_NAME};
use table::{Build, Table};

/// Whose code an address is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Owner {
    /// glibc (`libc.so.6`), the dynamic loader and the vDSO.
    Libc = 1,
    /// This library, or another copy of it.
    Shim = 2,
    /// Code that handles EINTR itself (see `EINTRFIX_RUNTIMES`).
    Runtime = 3,
    /// Anything else: the program, its libraries, anything loaded later.
    Other = 4,
    /// An interpreter that runs its script's signal handlers only once the
    /// interrupted call has returned to it, and whose sleeps are cut short
    /// by a signal bare (Perl): its sleeps keep their EINTR, as a
    /// runtime's; its other calls are judged as any other code's.
    Deferring = 5,
}

impl Owner {
    const fn from_tag(tag: usize) -> Owner {
        match tag & 0xff {
            1 => Owner::Libc,
            2 => Owner::Shim,
            3 => Owner::Runtime,
            5 => Owner::Deferring,
            _ => Owner::Other,
        }
    }
}

/// No page is smaller.
const PAGE: usize = 4096;
/// Linux's default `vm.mmap_min_addr`: nothing is loaded below it.
const LOWEST_MAPPING: usize = 0x10000;
/// Flag in a segment's tag: it holds code.
const TEXT: usize = 0x100;

/// The table of loaded code.
static LOADED: Table = Table::new();
/// The loader's count of objects loaded plus unloaded when the table was
/// last built (`dlpi_adds + dlpi_subs`).
static LOADS: AtomicU64 = AtomicU64::new(0);
/// Held by the thread that builds the table again.
static REBUILDING: AtomicBool = AtomicBool::new(false);

/// `_dl_find_object`, if glibc has it (0 if not).
static FIND_OBJECT: AtomicUsize = AtomicUsize::new(0);
/// `__libc_stack_end`: the top of the main thread's stack (0 if unknown).
static STACK_END: AtomicUsize = AtomicUsize::new(0);

/// What decides which later objects are runtimes (`EINTRFIX_RUNTIMES`):
/// set once by [`init`], with the table's first build.
struct RuntimeSelection {
    /// The variable's `auto`.
    auto: bool,
    /// The objects it names (its value, as the configuration in force
    /// holds it).
    names: &'static [u8],
}

static SELECTION: Once<RuntimeSelection> = Once::new();

/// Builds the table, at the first install of a handler behind the
/// trampoline (`hooks::signals`): the scans that need it run only once a
/// handler can, and a process that installs none (most children of a
/// build) pays nothing for it. An install is an ordinary call, where
/// `dl_iterate_phdr`'s lock is free. Until then every address has no
/// owner: a hook's call follows the usual rules (a runtime's own call is
/// retried; with no handler installed, only a stop and SIGCONT can
/// interrupt it). Objects `dlopen`ed before the first install are read
/// as if loaded at start-up.
pub fn init(config: &'static config::Config<'static>) {
    if SELECTION.get().is_some() {
        if FIND_OBJECT.load(Ordering::Relaxed) == 0 {
            refresh(config);
        }
        return;
    }
    // A second caller while the first builds goes on without the table.
    SELECTION.get_or_init(|| first_build(config));
}

/// The table's first build: what [`init`] runs once.
fn first_build(config: &'static config::Config<'static>) -> RuntimeSelection {
    if !config.enabled || !arch::SUPPORTED {
        return RuntimeSelection {
            auto: false,
            names: &[],
        };
    }
    crate::process::map_pid_page();
    // The loader lock dlsym takes is free in a handler install (an
    // ordinary call, with every signal blocked).
    let find = crate::real::default_symbol(c"_dl_find_object");
    FIND_OBJECT.store(find as usize, Ordering::Relaxed);
    STACK_END.store(crate::real::libc_stack_end(), Ordering::Relaxed);
    let runtimes = config.runtimes;
    let names = match runtimes.named {
        true => config.runtime_names,
        false => &[],
    };
    build(runtimes.auto, names);
    RuntimeSelection {
        auto: runtimes.auto,
        names,
    }
}

/// Without `_dl_find_object`: builds the table again if objects were
/// loaded or unloaded since it was built (at a handler install, an
/// ordinary call, with every signal blocked). One thread at a time; a
/// thread that finds another building leaves it to that one.
fn refresh(config: &config::Config) {
    let Some(selection) = SELECTION.get() else {
        return;
    };
    if !arch::SUPPORTED || !config.enabled {
        return;
    }
    if REBUILDING.swap(true, Ordering::Acquire) {
        return;
    }
    if loads() != LOADS.load(Ordering::Relaxed) {
        build(selection.auto, selection.names);
    }
    REBUILDING.store(false, Ordering::Release);
}

/// The loader's count of objects loaded plus unloaded so far (glibc 2.4
/// and later report them to `dl_iterate_phdr`'s callbacks).
fn loads() -> u64 {
    unsafe extern "C" fn first(
        info: *mut libc::dl_phdr_info,
        size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: dl_iterate_phdr passes a valid record of `size` bytes,
        // and our u64.
        let (info, loads) = unsafe { (&*info, &mut *data.cast::<u64>()) };
        *loads = loads_of(info, size);
        1
    }
    let mut loads = 0u64;
    // SAFETY: the callback only reads the record and writes `loads`,
    // which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(first), (&mut loads as *mut u64).cast()) };
    loads
}

/// `dlpi_adds + dlpi_subs` of a record of `size` bytes (0 where the
/// loader does not report them).
fn loads_of(info: &libc::dl_phdr_info, size: usize) -> u64 {
    let end = core::mem::offset_of!(libc::dl_phdr_info, dlpi_subs) + core::mem::size_of::<u64>();
    if size < end {
        return 0;
    }
    info.dlpi_adds.wrapping_add(info.dlpi_subs)
}

/// What `build`'s `dl_iterate_phdr` callbacks share.
struct Census {
    /// An address in this library's code.
    own: usize,
    /// This library's build ID, to recognise other copies of it.
    build_id: [u8; 64],
    build_id_len: usize,
    /// The loader's and the vDSO's load addresses.
    loader: usize,
    vdso: usize,
    auto: bool,
    names: &'static [u8],
    /// The table being written.
    build: Build<'static>,
    /// The loader's count of loads and unloads (see [`loads`]).
    loads: u64,
}

fn build(auto: bool, names: &'static [u8]) {
    let mut census = Census {
        own: init as *const () as usize,
        build_id: [0; 64],
        build_id_len: 0,
        // SAFETY: getauxval has no preconditions.
        loader: unsafe { libc::getauxval(libc::AT_BASE) } as usize,
        // SAFETY: as above.
        vdso: unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize,
        auto,
        names,
        build: Build::start(&LOADED),
        loads: 0,
    };
    let data = (&mut census as *mut Census).cast::<c_void>();
    // SAFETY: both callbacks only read the loader's records and write to
    // the census, which outlives the calls.
    unsafe {
        libc::dl_iterate_phdr(Some(find_self), data);
        libc::dl_iterate_phdr(Some(add_object), data);
    }
    LOADS.store(census.loads, Ordering::Relaxed);
    census.build.publish();
}

/// The image `info` describes.
///
/// # Safety
/// `info` comes from `dl_iterate_phdr`, during the callback.
unsafe fn image_of<'a>(info: &'a libc::dl_phdr_info) -> Image<'a> {
    let phdrs = if info.dlpi_phdr.is_null() {
        &[][..]
    } else {
        // SAFETY: the loader's program headers of this object.
        unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) }
    };
    // SAFETY: the object is loaded throughout the callback.
    unsafe { Image::new(info.dlpi_addr as usize, phdrs) }
}

/// First pass: this library's build ID.
unsafe extern "C" fn find_self(
    info: *mut libc::dl_phdr_info,
    size: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid record and our census.
    let (info, census) = unsafe { (&*info, &mut *data.cast::<Census>()) };
    census.loads = loads_of(info, size);
    // SAFETY: called back by dl_iterate_phdr.
    let image = unsafe { image_of(info) };
    if image.has_text(census.own) {
        census.build_id_len = image.build_id(&mut census.build_id);
        return 1;
    }
    0
}

/// Second pass: each object's readable segments, with its owner.
unsafe extern "C" fn add_object(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid record and our census.
    let (info, census) = unsafe { (&*info, &mut *data.cast::<Census>()) };
    // SAFETY: called back by dl_iterate_phdr.
    let image = unsafe { image_of(info) };
    let name = if info.dlpi_name.is_null() {
        &[][..]
    } else {
        // SAFETY: the loader's NUL-terminated name of this object.
        unsafe { CStr::from_ptr(info.dlpi_name) }.to_bytes()
    };
    let owner = owner_at_start(census, &image, info.dlpi_addr as usize, name);
    for segment in image.segments() {
        let text = if segment.is_text() { TEXT } else { 0 };
        if !census
            .build
            .push(segment.start, segment.end, owner as usize | text)
        {
            return 1;
        }
    }
    0
}

/// The owner of an object loaded before the library's constructor ran.
fn owner_at_start(census: &Census, image: &Image, base: usize, name: &[u8]) -> Owner {
    let own_id = census.build_id.get(..census.build_id_len).unwrap_or(&[]);
    let same_build = || {
        let mut id = [0u8; 64];
        let len = image.build_id(&mut id);
        !own_id.is_empty() && id.get(..len) == Some(own_id)
    };
    if image.has_text(census.own) || same_build() {
        return Owner::Shim;
    }
    if base == census.loader
        || (census.vdso != 0 && base == census.vdso)
        || file_name(name) == b"libc.so.6"
        || file_name(name).starts_with(b"linux-vdso.so")
    {
        return Owner::Libc;
    }
    let auto = census.auto
        && (runtime_by_name(name)
            || (image.defines(b"PyErr_CheckSignals") && image.defines(b"PyNumber_MatrixMultiply")));
    if auto || named_at_start(census.names, name) {
        Owner::Runtime
    } else if census.auto
        && image.defines(b"Perl_csighandler")
        && image.defines(b"Perl_despatch_signals")
    {
        Owner::Deferring
    } else {
        Owner::Other
    }
}

/// The entry of the table that holds `addr`: (start, end, tag).
fn table_entry(addr: usize) -> Option<(usize, usize, usize)> {
    LOADED.entry(addr)
}

/// Whether an object in the table has a segment in the page at
/// `map_start` (the start of an object's mapping).
fn known_object_at(map_start: usize) -> bool {
    LOADED.has_entry_in_page(map_start)
}

/// Where an address lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// In a readable segment of a known object (one loaded at start-up, or
    /// a runtime loaded later).
    Known { owner: Owner, segment: Segment },
    /// In an object loaded later that is not a runtime: never read.
    Opaque,
    /// In no loaded object's readable segments.
    Nowhere,
}

fn locate(addr: usize) -> Place {
    if let Some((start, end, tag)) = table_entry(addr) {
        let flags = if tag & TEXT != 0 { PF_X } else { 0 };
        return Place::Known {
            owner: Owner::from_tag(tag),
            segment: Segment { start, end, flags },
        };
    }
    loaded_later(addr)
}

/// `struct dl_find_object` (glibc 2.35), with room to spare: only the
/// first four fields are read, and they are laid out alike everywhere.
#[repr(C)]
struct FoundObject {
    flags: u64,
    map_start: usize,
    map_end: usize,
    link_map: *const LinkMap,
    rest: [u64; 16],
}

/// The public head of glibc's `struct link_map`.
#[repr(C)]
struct LinkMap {
    addr: usize,
    name: *const c_char,
}

type FindObject = unsafe extern "C" fn(*mut c_void, *mut FoundObject) -> c_int;

/// What `_dl_find_object` knows of the object at `addr`: `None` without
/// it, or where it knows none.
fn find_object(addr: usize) -> Option<FoundObject> {
    let find = FIND_OBJECT.load(Ordering::Relaxed);
    if find == 0 {
        return None;
    }
    // SAFETY: a non-zero FIND_OBJECT is glibc's `_dl_find_object`.
    let find: FindObject = unsafe { core::mem::transmute::<usize, FindObject>(find) };
    let mut found = FoundObject {
        flags: 0,
        map_start: 0,
        map_end: 0,
        link_map: core::ptr::null(),
        rest: [0; 16],
    };
    // SAFETY: `_dl_find_object` is lock-free and async-signal-safe, and
    // writes at most the struct, which has room to spare.
    (unsafe { find(addr as *mut c_void, &mut found) } == 0).then_some(found)
}

/// An address outside the table: in an object loaded later, if
/// `_dl_find_object` knows one there.
fn loaded_later(addr: usize) -> Place {
    let Some(selection) = SELECTION.get() else {
        return Place::Nowhere;
    };
    let Some(found) = find_object(addr) else {
        return Place::Nowhere;
    };
    if known_object_at(found.map_start) {
        // A gap between the segments of an object the table has.
        return Place::Nowhere;
    }
    if found.link_map.is_null() {
        return Place::Opaque;
    }
    // SAFETY: the loader's record of an object it has loaded, and its
    // NUL-terminated name, live as long as the object does.
    let (base, name) = unsafe {
        let map = &*found.link_map;
        (map.addr, bounded_name(map.name))
    };
    let runtime = (!selection.names.is_empty() && names_match(selection.names, name))
        || (selection.auto && runtime_by_name(name));
    if !runtime {
        return Place::Opaque;
    }
    // SAFETY: the object is loaded, its mapping starts at `map_start`.
    let Some(image) = (unsafe { Image::from_mapping(found.map_start, base) }) else {
        return Place::Opaque;
    };
    match image.segment_of(addr, 1) {
        Some(segment) => Place::Known {
            owner: Owner::Runtime,
            segment,
        },
        None => Place::Nowhere,
    }
}

/// The object `addr` is in, as the loader knows it: its load bias (what
/// to subtract for the address in its file) and its name (empty for the
/// main program). `None` without `_dl_find_object` (before glibc 2.35, or
/// before [`init`]). Lock-free and async-signal-safe.
pub fn object_of(addr: usize) -> Option<(usize, &'static [u8])> {
    let found = find_object(addr)?;
    if found.link_map.is_null() {
        return None;
    }
    // SAFETY: the loader's record of a loaded object and its name.
    unsafe {
        let map = &*found.link_map;
        Some((map.addr, bounded_name(map.name)))
    }
}

/// A NUL-terminated name, at most [`MAX_NAME`] bytes of it.
///
/// # Safety
/// `name` is null or a NUL-terminated string.
unsafe fn bounded_name(name: *const c_char) -> &'static [u8] {
    if name.is_null() {
        return &[];
    }
    let mut len = 0;
    // SAFETY: each byte read is at or before the string's NUL.
    while len < MAX_NAME && unsafe { *name.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` bytes were just read.
    unsafe { core::slice::from_raw_parts(name.cast::<u8>(), len) }
}

/// The owner of the code at `addr`: `None` outside every known object's
/// code. An address anywhere in an object loaded after start-up that is
/// not a runtime gives [`Owner::Other`] (such objects are never read).
/// Lock-free and async-signal-safe.
pub fn owner_of(addr: usize) -> Option<Owner> {
    match locate(addr) {
        Place::Known { owner, segment } if segment.is_text() => Some(owner),
        Place::Opaque => Some(Owner::Other),
        _ => None,
    }
}

/// Whether the table is filled (a handler has been installed): before, a
/// hook's call cannot be told from libc's.
pub fn ready() -> bool {
    LOADED.ready()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_libc_and_this_code() {
        init(&config::Config::DEFAULT);
        // In the test binary this crate is linked into the program, which
        // therefore counts as the shim.
        assert_eq!(
            owner_of(scan::hook_caller as *const () as usize),
            Some(Owner::Shim)
        );
        let read = libc::read as *const () as usize;
        assert_eq!(owner_of(read), Some(Owner::Libc), "{read:#x}");
        let local = 0usize;
        assert_eq!(owner_of(&local as *const usize as usize), None);
        assert_eq!(owner_of(0), None);
        assert_eq!(owner_of(usize::MAX), None);
    }

    /// The symbol lookups and build ID of the loaded libc.
    #[test]
    fn images_read_their_dynamic_symbols() {
        unsafe extern "C" fn check(
            info: *mut libc::dl_phdr_info,
            _size: usize,
            found: *mut c_void,
        ) -> c_int {
            // SAFETY: dl_iterate_phdr passes a valid record.
            let (info, found) = unsafe { (&*info, &mut *found.cast::<usize>()) };
            // SAFETY: the loader's name of this object.
            let name = unsafe { CStr::from_ptr(info.dlpi_name) }.to_bytes();
            if file_name(name) != b"libc.so.6" {
                return 0;
            }
            // SAFETY: called back by dl_iterate_phdr.
            let image = unsafe { image_of(info) };
            assert!(image.defines(b"read") && image.defines(b"_dl_find_object"));
            assert!(!image.defines(b"PyErr_CheckSignals") && !image.defines(b"rea"));
            assert!(image.has_text(libc::read as *const () as usize));
            let mut id = [0u8; 64];
            assert!(
                image.build_id(&mut id) >= 16,
                "Debian's libc has a build ID"
            );
            *found += 1;
            1
        }
        let mut found = 0usize;
        // SAFETY: the callback reads the loader's records, and writes
        // `found`, which outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(check), (&mut found as *mut usize).cast()) };
        assert_eq!(found, 1);
    }
}
