//! Finds the real functions as `dlsym(RTLD_NEXT, name)` finds them, at a
//! fraction of its cost: dlsym takes the loader's lock, sets up its error
//! handling and searches the whole scope for every name (about 800
//! instructions a name, 70 000 for the library's list, measured with
//! callgrind); this reads the loaded objects' own symbol tables.
//!
//! `RTLD_NEXT` searches the objects that follow the caller in the global
//! scope, in order, and takes the first definition. For a library loaded
//! with the program (`LD_PRELOAD`), that scope is the loader's list of
//! objects, in load order. So [`Scope::find`] asks dlsym once, for `read`,
//! walks the list with `dl_iterate_phdr` from this library to the object
//! that defined it (libc, or another interposer loaded after this one), and
//! [`Scope::lookup`] searches those objects' GNU hash tables in that order,
//! with dlsym's rules: a definition (not an undefined reference) of a
//! function, its unversioned or default version (`clock_nanosleep` has
//! two: GLIBC_2.17, the default, and the hidden GLIBC_2.2.5).
//!
//! Whatever this cannot answer goes back to dlsym: a name not defined by
//! those objects, one that is not a plain function (an IFUNC needs its
//! resolver called), an object without a GNU hash table, or a scope that
//! is not the load order (the library `dlopen`ed late: then `read` is
//! defined before it in the list). The lookup of `read` itself must give
//! dlsym's answer, or nothing of this is used.
//!
//! dlsym itself is found here ([`next_definition`]): see `crate::real`. Without dlsym (glibc before 2.34, where it lives in
//! `libdl.so.2`, in a program that has not loaded that), there is no anchor and nothing to go
//! back to: [`Scope::find`] then takes every object after this library,
//! in load order (what `RTLD_NEXT` searches for a library loaded with the
//! program), skipping those without a GNU hash table; an IFUNC is resolved
//! by calling its resolver, as dlsym would; and [`next_definition`]
//! searches the objects one name at a time where the scope has too many.
//!
//! Only from the constructor or a first call: dlsym and `dl_iterate_phdr`
//! take the loader's locks.

use crate::elf::{
    gnu_hash, Image, Symbols, PT_DYNAMIC, PT_LOAD, SHN_UNDEF, STB_LOCAL, STT_FUNC, STT_GNU_IFUNC,
    STT_NOTYPE, STT_TLS, VERSYM_HIDDEN,
};
use core::ffi::{c_int, c_void};
use libc::{dl_phdr_info, size_t, Elf64_Sym};

/// The most objects searched (the program's own preloads between this
/// library and libc, libc itself); more, and dlsym does it all.
const MAX_OBJECTS: usize = 16;

/// The dynamic symbols of one loaded object.
#[derive(Clone, Copy)]
struct Object {
    /// Where it is loaded (what its addresses are relative to).
    bias: usize,
    /// Its tables, each read within the segment it lies in.
    symbols: Symbols,
}

/// What searching one object for a name found.
enum Found {
    /// Not defined here: search the next object.
    Nothing,
    /// A function, at this address.
    Function(usize),
    /// An IFUNC: its resolver, at this address.
    Ifunc(usize),
    /// Something this lookup does not resolve (data, TLS).
    Other,
}

/// The objects `RTLD_NEXT` searches from this library, in order.
pub struct Scope {
    /// The first `len` are the objects, in order.
    objects: [Object; MAX_OBJECTS],
    len: usize,
    /// Checked against dlsym's answer: anything unusual goes back to it.
    anchored: bool,
}

/// dlsym's type.
pub type Dlsym = unsafe extern "C" fn(*mut c_void, *const core::ffi::c_char) -> *mut c_void;

/// The state of the walk over the loaded objects.
struct Walk<'a> {
    /// An address inside this library.
    ours: usize,
    /// dlsym's address of `read` (0 without dlsym: every later object).
    anchor: usize,
    after_ours: bool,
    reached_anchor: bool,
    /// An object could not be read, or there were too many.
    failed: bool,
    /// Where the objects go.
    scope: &'a mut Scope,
}

/// Whether `address` is inside one of the object's loaded segments.
///
/// # Safety
/// `info` is what `dl_iterate_phdr` passed: valid program headers.
unsafe fn contains(info: &dl_phdr_info, address: usize) -> bool {
    // SAFETY: dlpi_phdr points to dlpi_phnum headers (caller's contract).
    let headers = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
    let bias = usize::try_from(info.dlpi_addr).unwrap_or(0);
    headers.iter().any(|h| {
        let start = bias.wrapping_add(usize::try_from(h.p_vaddr).unwrap_or(0));
        let len = usize::try_from(h.p_memsz).unwrap_or(0);
        h.p_type == PT_LOAD && address >= start && address - start < len
    })
}

/// Reads an object's dynamic section. `Ok(None)`: it has none (so no
/// symbols); `Err`: it has symbols this lookup cannot search.
///
/// # Safety
/// As for [`contains`]; the object is loaded, and stays so while the
/// [`Object`] is used.
unsafe fn object(info: &dl_phdr_info) -> Result<Option<Object>, ()> {
    // SAFETY: as in `contains`.
    let headers = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
    let bias = usize::try_from(info.dlpi_addr).unwrap_or(0);
    if !headers.iter().any(|h| h.p_type == PT_DYNAMIC) {
        return Ok(None);
    }
    // SAFETY: the object's own headers; it stays loaded (the contract).
    let image = unsafe { Image::new(bias, headers) };
    match image.symbols() {
        Some(symbols) if symbols.has_gnu_hash() => Ok(Some(Object { bias, symbols })),
        _ => Err(()),
    }
}

/// `dl_iterate_phdr`'s callback: notes the objects after this library, up
/// to the anchor's. Returns non-zero to stop the walk.
extern "C" fn visit(info: *mut dl_phdr_info, _size: size_t, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `Walk` that `Scope::find` passed, and `info`
    // a valid description of one loaded object.
    let (walk, info) = unsafe { (&mut *data.cast::<Walk>(), &*info) };
    if !walk.after_ours {
        // SAFETY: `info` comes from dl_iterate_phdr.
        walk.after_ours = unsafe { contains(info, walk.ours) };
        return 0;
    }
    // SAFETY: as above.
    match unsafe { object(info) } {
        Ok(None) => {}
        Ok(Some(object)) => match walk.scope.objects.get_mut(walk.scope.len) {
            Some(slot) => {
                *slot = object;
                walk.scope.len += 1;
            }
            None => walk.failed = true,
        },
        // Without an anchor nothing checks the scope: an object this
        // cannot search is passed over.
        Err(()) => walk.failed |= walk.anchor != 0,
    }
    // SAFETY: as above.
    walk.reached_anchor = walk.anchor != 0 && unsafe { contains(info, walk.anchor) };
    c_int::from(walk.failed || walk.reached_anchor)
}

/// What [`next_definition`]'s walk shares with its callback.
struct Search<'a> {
    ours: usize,
    after_ours: bool,
    /// Every object but this library, not only those after it.
    everywhere: bool,
    name: &'a [u8],
    hash: u32,
    found: Option<*mut c_void>,
}

/// `dl_iterate_phdr`'s callback for [`next_definition`]: stops at the
/// first object after this library that defines the name.
extern "C" fn search_object(info: *mut dl_phdr_info, _size: size_t, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `Search` that `next_definition` passed, and
    // `info` a valid description of one loaded object.
    let (search, info) = unsafe { (&mut *data.cast::<Search>(), &*info) };
    // SAFETY: `info` comes from dl_iterate_phdr.
    if search.everywhere && unsafe { contains(info, search.ours) } {
        return 0;
    }
    if !search.everywhere && !search.after_ours {
        // SAFETY: as above.
        search.after_ours = unsafe { contains(info, search.ours) };
        return 0;
    }
    // SAFETY: as above.
    let Ok(Some(object)) = (unsafe { object(info) }) else {
        return 0;
    };
    // SAFETY: the object is loaded throughout the callback.
    match unsafe { object.find(search.name, search.hash) } {
        Found::Nothing => 0,
        found => {
            search.found = resolved(found);
            1
        }
    }
}

/// The address a definition gives without dlsym: an IFUNC's resolver is
/// called, as dlsym would.
fn resolved(found: Found) -> Option<*mut c_void> {
    match found {
        Found::Function(address) => Some(address as *mut c_void),
        Found::Ifunc(resolver) => {
            // SAFETY: the resolver of an IFUNC in a loaded object.
            let address = unsafe { crate::arch::call_ifunc_resolver(resolver) };
            (address != 0).then_some(address as *mut c_void)
        }
        Found::Nothing | Found::Other => None,
    }
}

/// `dlsym(RTLD_NEXT, name)` without dlsym, one name at a time: the first
/// definition in the objects after this library, in load order; where
/// none defines it (the library was loaded with `dlopen`, after the
/// objects that do), the first in any other object (`name` without its
/// NUL, `hash` its [`gnu_hash`]). Takes the loader's lock.
pub fn next_definition(name: &[u8], hash: u32) -> Option<*mut c_void> {
    definition(name, hash, false).or_else(|| definition(name, hash, true))
}

fn definition(name: &[u8], hash: u32, everywhere: bool) -> Option<*mut c_void> {
    let mut search = Search {
        ours: next_definition as fn(&[u8], u32) -> Option<*mut c_void> as usize,
        after_ours: false,
        everywhere,
        name,
        hash,
        found: None,
    };
    // SAFETY: `search` is the callback's type and outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(search_object), (&mut search as *mut Search).cast()) };
    search.found
}

impl Object {
    /// No object: what the unused entries of a [`Scope`] hold.
    const EMPTY: Object = Object {
        bias: 0,
        symbols: Symbols::EMPTY,
    };

    /// Searches this object for `name` (hash `hash`) as dlsym does.
    ///
    /// # Safety
    /// The object is still loaded.
    unsafe fn find(&self, name: &[u8], hash: u32) -> Found {
        let mut default_version: Option<Elf64_Sym> = None;
        let mut default_versions = 0u32;
        let taken = self.symbols.gnu_chain(hash, |index| {
            let symbol = self.symbols.symbol(index)?;
            let kind = symbol.st_info & 0xf;
            let defined = symbol.st_shndx != SHN_UNDEF && (symbol.st_value != 0 || kind == STT_TLS);
            if !defined || !self.symbols.name_is(&symbol, name) {
                return None;
            }
            let version = self.symbols.version(index);
            if (version & !VERSYM_HIDDEN) < 2 {
                // Unversioned, or the base version: taken at once.
                return Some(symbol);
            }
            if version & VERSYM_HIDDEN == 0 {
                // A default version: taken if it is the only one.
                default_versions += 1;
                default_version.get_or_insert(symbol);
            }
            None
        });
        match (taken, default_version) {
            (Some(symbol), _) => self.found(symbol),
            (None, Some(symbol)) if default_versions == 1 => self.found(symbol),
            _ => Found::Nothing,
        }
    }

    /// What a matching symbol gives: local symbols do not count (dlsym
    /// then looks in the next object).
    fn found(&self, symbol: Elf64_Sym) -> Found {
        match (symbol.st_info >> 4, symbol.st_info & 0xf) {
            (STB_LOCAL, _) => Found::Nothing,
            (_, STT_FUNC | STT_NOTYPE) => {
                Found::Function(self.bias.wrapping_add(symbol.st_value as usize))
            }
            (_, STT_GNU_IFUNC) => Found::Ifunc(self.bias.wrapping_add(symbol.st_value as usize)),
            _ => Found::Other,
        }
    }
}

impl Scope {
    /// A scope of no objects, for a static that a scope is found into.
    pub const EMPTY: Scope = Scope {
        objects: [Object::EMPTY; MAX_OBJECTS],
        len: 0,
        anchored: false,
    };

    /// The objects to search, in order.
    fn searched(&self) -> &[Object] {
        self.objects.get(..self.len).unwrap_or(&[])
    }

    /// The objects to search, or `None` when dlsym must do it all: see
    /// [`Scope::find_into`].
    #[cfg(test)]
    pub fn find(dlsym: Option<Dlsym>) -> Option<Scope> {
        let mut scope = Scope::EMPTY;
        scope.find_into(dlsym).then_some(scope)
    }

    /// Makes this scope the objects to search, and says whether it could:
    /// `false` when dlsym must do it all (or, without dlsym,
    /// [`next_definition`]). Writes only the entries of the objects found
    /// (in a static, the rest of its pages are left untouched, not copied
    /// into every process's private memory). Takes the loader's locks:
    /// from the constructor only.
    pub fn find_into(&mut self, dlsym: Option<Dlsym>) -> bool {
        let anchor = match dlsym {
            // SAFETY: the name is NUL-terminated; RTLD_NEXT is a valid
            // pseudo-handle.
            Some(dlsym) => match unsafe { dlsym(libc::RTLD_NEXT, c"read".as_ptr()) } {
                anchor if anchor.is_null() => return false,
                anchor => anchor as usize,
            },
            None => 0,
        };
        self.anchored = anchor != 0;
        self.len = 0;
        let mut walk = Walk {
            ours: Scope::find_into as fn(&mut Scope, Option<Dlsym>) -> bool as usize,
            anchor,
            after_ours: false,
            reached_anchor: false,
            failed: false,
            scope: self,
        };
        // SAFETY: `visit` is the callback's type and `walk` outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(visit), (&mut walk as *mut Walk).cast()) };
        let found = !walk.failed
            && (anchor == 0
                || (walk.reached_anchor
                    && self.lookup(b"read", gnu_hash(b"read")) == Some(anchor as *mut c_void)));
        if !found {
            self.len = 0;
        }
        found
    }

    /// Whether one of the objects may define a symbol of hash `hash`, by
    /// their bloom filters: `false` proves that none does, so that
    /// [`Scope::lookup`] would send the name to dlsym.
    pub fn may_define(&self, hash: u32) -> bool {
        self.searched()
            .iter()
            .any(|object| object.symbols.may_define(hash))
    }

    /// The address `dlsym(RTLD_NEXT, name)` gives, or `None` when dlsym
    /// must be asked (`name` without its NUL, `hash` its [`gnu_hash`]).
    pub fn lookup(&self, name: &[u8], hash: u32) -> Option<*mut c_void> {
        for object in self.searched() {
            // SAFETY: the objects were loaded when the scope was made, and
            // the constructor runs before anything could unload them.
            match unsafe { object.find(name, hash) } {
                Found::Nothing => {}
                Found::Function(address) => return Some(address as *mut c_void),
                found if !self.anchored => return resolved(found),
                Found::Ifunc(_) | Found::Other => return None,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_the_gnu_hash_section_does() {
        assert_eq!(gnu_hash(b""), 5381);
        assert_eq!(gnu_hash(b"printf"), 0x156b_2bb8);
        assert_eq!(gnu_hash(b"exit"), 0x7c96_7e3f);
    }

    const NAMES: [&[u8]; 6] = [
        b"read",
        b"write",
        b"recvfrom",
        b"nanosleep",
        b"sigaction",
        b"clock_nanosleep",
    ];

    /// `dlsym(RTLD_NEXT, name)`.
    fn next(name: &[u8]) -> *mut c_void {
        let mut cname = name.to_vec();
        cname.push(0);
        // SAFETY: a NUL-terminated name.
        unsafe { libc::dlsym(libc::RTLD_NEXT, cname.as_ptr().cast()) }
    }

    #[test]
    fn finds_what_dlsym_finds() {
        // In the test binary the scope after it is its own libraries: the
        // walk starts at the binary itself, the object `Scope::find`'s
        // address is in.
        let dlsym: Dlsym = libc::dlsym;
        let Some(scope) = Scope::find(Some(dlsym)) else {
            panic!("no scope");
        };
        for name in NAMES {
            let found = scope.lookup(name, gnu_hash(name));
            assert_eq!(found, Some(next(name)), "{}", String::from_utf8_lossy(name));
            assert!(
                scope.may_define(gnu_hash(name)),
                "the bloom filters let it through"
            );
        }
        let missing = b"no_such_function_anywhere";
        assert_eq!(scope.lookup(missing, gnu_hash(missing)), None);
    }

    #[test]
    fn without_dlsym_finds_what_dlsym_finds() {
        let scope = Scope::find(None).expect("the objects after the test binary");
        for name in NAMES {
            let expected = next(name);
            let hash = gnu_hash(name);
            let name_ = String::from_utf8_lossy(name);
            assert_eq!(scope.lookup(name, hash), Some(expected), "{name_}");
            assert_eq!(next_definition(name, hash), Some(expected), "{name_}");
        }
        let missing = b"no_such_function_anywhere";
        assert_eq!(scope.lookup(missing, gnu_hash(missing)), None);
        assert_eq!(next_definition(missing, gnu_hash(missing)), None);
    }
}
