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
//! Only from the constructor: dlsym and `dl_iterate_phdr` take the
//! loader's locks.

use crate::elf::{
    gnu_hash, Image, Symbols, PT_DYNAMIC, PT_LOAD, SHN_UNDEF, STB_LOCAL, STT_FUNC, STT_NOTYPE,
    STT_TLS, VERSYM_HIDDEN,
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
    /// Something this lookup does not resolve (an IFUNC, data, TLS).
    Other,
}

/// The objects `RTLD_NEXT` searches from this library, in order.
pub struct Scope {
    objects: [Option<Object>; MAX_OBJECTS],
}

/// The state of the walk over the loaded objects.
struct Walk {
    /// An address inside this library.
    ours: usize,
    /// dlsym's address of `read`.
    anchor: usize,
    after_ours: bool,
    reached_anchor: bool,
    /// An object could not be read, or there were too many.
    failed: bool,
    objects: [Option<Object>; MAX_OBJECTS],
    len: usize,
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
        Ok(Some(object)) => match walk.objects.get_mut(walk.len) {
            Some(slot) => {
                *slot = Some(object);
                walk.len += 1;
            }
            None => walk.failed = true,
        },
        Err(()) => walk.failed = true,
    }
    // SAFETY: as above.
    walk.reached_anchor = unsafe { contains(info, walk.anchor) };
    c_int::from(walk.failed || walk.reached_anchor)
}

impl Object {
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
            _ => Found::Other,
        }
    }
}

impl Scope {
    /// The objects to search, or `None` when dlsym must do it all. Takes
    /// the loader's locks: from the constructor only.
    pub fn find() -> Option<Scope> {
        // SAFETY: the name is NUL-terminated; RTLD_NEXT is a valid pseudo-handle.
        let anchor = unsafe { libc::dlsym(libc::RTLD_NEXT, c"read".as_ptr()) };
        if anchor.is_null() {
            return None;
        }
        let mut walk = Walk {
            ours: Scope::find as fn() -> Option<Scope> as usize,
            anchor: anchor as usize,
            after_ours: false,
            reached_anchor: false,
            failed: false,
            objects: [None; MAX_OBJECTS],
            len: 0,
        };
        // SAFETY: `visit` is the callback's type and `walk` outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(visit), (&mut walk as *mut Walk).cast()) };
        if walk.failed || !walk.reached_anchor {
            return None;
        }
        let scope = Scope {
            objects: walk.objects,
        };
        (scope.lookup(b"read", gnu_hash(b"read")) == Some(anchor)).then_some(scope)
    }

    /// The address `dlsym(RTLD_NEXT, name)` gives, or `None` when dlsym
    /// must be asked (`name` without its NUL, `hash` its [`gnu_hash`]).
    pub fn lookup(&self, name: &[u8], hash: u32) -> Option<*mut c_void> {
        for object in self.objects.iter().map_while(Option::as_ref) {
            // SAFETY: the objects were loaded when the scope was made, and
            // the constructor runs before anything could unload them.
            match unsafe { object.find(name, hash) } {
                Found::Nothing => {}
                Found::Function(address) => return Some(address as *mut c_void),
                Found::Other => return None,
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

    #[test]
    fn finds_what_dlsym_finds() {
        // In the test binary the scope after it is its own libraries: the
        // walk starts at the binary itself, the object `Scope::find`'s
        // address is in.
        let Some(scope) = Scope::find() else {
            panic!("no scope");
        };
        for name in [
            &b"read"[..],
            b"write",
            b"recvfrom",
            b"nanosleep",
            b"sigaction",
            b"clock_nanosleep",
        ] {
            let mut cname = name.to_vec();
            cname.push(0);
            // SAFETY: a NUL-terminated name.
            let expected = unsafe { libc::dlsym(libc::RTLD_NEXT, cname.as_ptr().cast()) };
            let found = scope.lookup(name, gnu_hash(name));
            assert_eq!(found, Some(expected), "{}", String::from_utf8_lossy(name));
        }
        let missing = b"no_such_function_anywhere";
        assert_eq!(scope.lookup(missing, gnu_hash(missing)), None);
    }
}
