//! The ELF format, in one place: the constants of the program headers,
//! the dynamic section, symbols and notes; the symbol hash functions; and
//! [`Image`], the one reader of an object loaded in this process, its
//! segments, dynamic symbols and build ID, shared by the symbol lookup of
//! `crate::real` and the table of loaded code of `crate::code`. The
//! command compiles this file too, for the constants and hash functions of
//! its own reader of files.
//!
//! Every read of an [`Image`] is first checked against the object's
//! readable `PT_LOAD` segments, so a malformed or unexpected header makes a
//! lookup fail, never fault. Nothing allocates or locks.

use core::mem::size_of;
use core::ptr::read_unaligned;
use libc::Elf64_Phdr;

#[path = "elf/symbols.rs"]
mod symbols;
use symbols::GnuHash;
pub use symbols::{Region, Symbols};

/// Program header types.
pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
/// Segment flags.
pub const PF_X: u32 = 1;
pub const PF_R: u32 = 4;
/// Dynamic section tags.
pub const DT_NULL: u64 = 0;
pub const DT_NEEDED: u64 = 1;
pub const DT_PLTRELSZ: u64 = 2;
pub const DT_HASH: u64 = 4;
pub const DT_STRTAB: u64 = 5;
pub const DT_SYMTAB: u64 = 6;
pub const DT_RELA: u64 = 7;
pub const DT_RELASZ: u64 = 8;
pub const DT_STRSZ: u64 = 10;
pub const DT_SYMENT: u64 = 11;
pub const DT_RPATH: u64 = 15;
pub const DT_JMPREL: u64 = 23;
pub const DT_RUNPATH: u64 = 29;
pub const DT_GNU_HASH: u64 = 0x6fff_fef5;
pub const DT_VERSYM: u64 = 0x6fff_fff0;
/// Symbol types and bindings, the undefined section.
pub const STT_NOTYPE: u8 = 0;
pub const STT_FUNC: u8 = 2;
pub const STT_TLS: u8 = 6;
pub const STT_GNU_IFUNC: u8 = 10;
pub const STB_LOCAL: u8 = 0;
pub const SHN_UNDEF: u16 = 0;
/// In a version index: the symbol is not the default version.
pub const VERSYM_HIDDEN: u16 = 0x8000;
/// `R_X86_64_GLOB_DAT` and `R_X86_64_JUMP_SLOT`: a GOT slot that holds a
/// symbol's address.
pub const R_GLOB_DAT: u32 = 6;
pub const R_JUMP_SLOT: u32 = 7;
/// Relocations read at most from one table.
const MAX_RELOCATIONS: usize = 1 << 17;
/// The note type of a build ID.
pub const NT_GNU_BUILD_ID: u32 = 3;
/// No page is smaller.
const PAGE: usize = 4096;
/// Bound on the loop over the dynamic section read from memory.
const MAX_DYNAMIC: usize = 4096;

/// `Elf64_Dyn`.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Dyn {
    /// A `DT_*` tag.
    pub tag: u64,
    /// Its value or address.
    pub value: u64,
}

/// The GNU hash of a symbol name (`DT_GNU_HASH`), computed at compile
/// time for the names the library looks up.
pub const fn gnu_hash(name: &[u8]) -> u32 {
    let mut h = 5381u32;
    let mut i = 0;
    while i < name.len() {
        h = h.wrapping_mul(33).wrapping_add(name[i] as u32);
        i += 1;
    }
    h
}

/// The System V hash of a symbol name (`DT_HASH`).
pub fn sysv_hash(name: &[u8]) -> u32 {
    name.iter().fold(0u32, |h, &c| {
        let h = (h << 4).wrapping_add(u32::from(c));
        let high = h & 0xf000_0000;
        (h ^ (high >> 24)) & !high
    })
}

/// One `PT_LOAD` segment, where it is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// `PF_*` flags.
    pub flags: u32,
}

impl Segment {
    /// Whether it holds code.
    pub const fn is_text(self) -> bool {
        self.flags & PF_X != 0
    }
}

/// What symbol lookups need from `PT_DYNAMIC`.
#[derive(Default)]
struct Dynamic {
    symtab: Option<usize>,
    strtab: Option<usize>,
    strsz: usize,
    gnu_hash: Option<usize>,
    hash: Option<usize>,
    versym: Option<usize>,
    /// `DT_JMPREL`/`DT_PLTRELSZ` and `DT_RELA`/`DT_RELASZ`.
    plt_relocations: Option<(usize, usize)>,
    relocations: Option<(usize, usize)>,
}

/// A loaded object: where it is and its program headers.
pub struct Image<'a> {
    base: usize,
    phdrs: &'a [Elf64_Phdr],
}

impl<'a> Image<'a> {
    /// The object loaded at `base` (its load bias) with these headers.
    ///
    /// # Safety
    /// `phdrs` are that object's program headers, and it stays loaded while
    /// the image is used.
    pub unsafe fn new(base: usize, phdrs: &'a [Elf64_Phdr]) -> Image<'a> {
        Image { base, phdrs }
    }

    /// The object whose mapping starts at `map_start`, loaded at `base`,
    /// read from its own ELF header (the first page of the mapping, where
    /// the loader maps file offset 0). `None` if that page does not hold
    /// this object's header.
    ///
    /// # Safety
    /// The page at `map_start` is mapped readable and stays so while the
    /// image is used.
    pub unsafe fn from_mapping(map_start: usize, base: usize) -> Option<Image<'static>> {
        if map_start % PAGE != 0 {
            return None;
        }
        // SAFETY: the first page is readable (the caller's promise) and
        // every offset read below is under 64, inside it.
        let (ident, phoff, phentsize, phnum) = unsafe {
            let at = |offset: usize| (map_start + offset) as *const u8;
            (
                read_unaligned(at(0).cast::<[u8; 5]>()),
                read_unaligned(at(0x20).cast::<u64>()),
                read_unaligned(at(0x36).cast::<u16>()),
                read_unaligned(at(0x38).cast::<u16>()),
            )
        };
        let phoff = usize::try_from(phoff).ok()?;
        let size = usize::from(phnum).checked_mul(size_of::<Elf64_Phdr>())?;
        if ident != *b"\x7fELF\x02"
            || usize::from(phentsize) != size_of::<Elf64_Phdr>()
            || phoff % 8 != 0
            || phoff.checked_add(size)? > PAGE
        {
            return None;
        }
        // SAFETY: the headers lie inside the readable first page, aligned.
        let phdrs = unsafe {
            core::slice::from_raw_parts((map_start + phoff) as *const Elf64_Phdr, phnum.into())
        };
        let image = Image { base, phdrs };
        let first = image.phdrs.iter().find(|p| p.p_type == PT_LOAD)?;
        let mapped = base.wrapping_add(usize::try_from(first.p_vaddr).ok()?) & !(PAGE - 1);
        (first.p_offset == 0 && mapped == map_start).then_some(image)
    }

    /// The readable `PT_LOAD` segments.
    pub fn segments(&self) -> impl Iterator<Item = Segment> + '_ {
        self.phdrs.iter().filter_map(move |p| {
            if p.p_type != PT_LOAD || p.p_flags & PF_R == 0 {
                return None;
            }
            let start = self.base.checked_add(usize::try_from(p.p_vaddr).ok()?)?;
            let end = start.checked_add(usize::try_from(p.p_memsz).ok()?)?;
            Some(Segment {
                start,
                end,
                flags: p.p_flags,
            })
        })
    }

    /// The readable segment that holds all of `[addr, addr + len)`.
    pub fn segment_of(&self, addr: usize, len: usize) -> Option<Segment> {
        let last = addr.checked_add(len)?;
        self.segments().find(|s| s.start <= addr && last <= s.end)
    }

    /// Whether `addr` lies in this object's code.
    pub fn has_text(&self, addr: usize) -> bool {
        self.segment_of(addr, 1).is_some_and(Segment::is_text)
    }

    /// A `T` read at `addr`, if it lies in a readable segment.
    fn read<T: Copy>(&self, addr: usize) -> Option<T> {
        self.segment_of(addr, size_of::<T>())?;
        // SAFETY: the bytes lie in one of the object's readable segments,
        // mapped while it is loaded.
        Some(unsafe { read_unaligned(addr as *const T) })
    }

    /// Whether the NUL-terminated string at `addr` is `name`.
    fn string_is(&self, addr: usize, name: &[u8]) -> bool {
        if self.segment_of(addr, name.len() + 1).is_none() {
            return false;
        }
        // SAFETY: the name and its NUL lie in a readable segment.
        let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, name.len() + 1) };
        bytes.get(..name.len()) == Some(name) && bytes.last() == Some(&0)
    }

    /// The entries of `PT_DYNAMIC` that symbol lookups need, read in one
    /// pass.
    fn dynamic(&self) -> Dynamic {
        let mut found = Dynamic::default();
        let Some(header) = self.phdrs.iter().find(|p| p.p_type == PT_DYNAMIC) else {
            return found;
        };
        let (Ok(vaddr), Ok(size)) = (
            usize::try_from(header.p_vaddr),
            usize::try_from(header.p_memsz),
        ) else {
            return found;
        };
        let start = self.base.wrapping_add(vaddr);
        let count = (size / size_of::<Dyn>()).min(MAX_DYNAMIC);
        let mut sizes = [0usize; 2];
        if self.segment_of(start, count * size_of::<Dyn>()).is_none() {
            return found;
        }
        for i in 0..count {
            // SAFETY: entry `i` lies in the segment checked above.
            let entry = unsafe { read_unaligned((start + i * size_of::<Dyn>()) as *const Dyn) };
            let address = || self.relocated(entry.value);
            match entry.tag {
                DT_NULL => break,
                DT_SYMTAB => found.symtab = address(),
                DT_STRTAB => found.strtab = address(),
                DT_STRSZ => found.strsz = usize::try_from(entry.value).unwrap_or(0),
                DT_GNU_HASH => found.gnu_hash = address(),
                DT_HASH => found.hash = address(),
                DT_VERSYM => found.versym = address(),
                DT_JMPREL => found.plt_relocations = address().map(|a| (a, 0)),
                DT_RELA => found.relocations = address().map(|a| (a, 0)),
                DT_PLTRELSZ | DT_RELASZ => {
                    if let Some(size) = sizes.get_mut(usize::from(entry.tag == DT_RELASZ)) {
                        *size = usize::try_from(entry.value).unwrap_or(0);
                    }
                }
                _ => {}
            }
        }
        let [plt_size, size] = sizes;
        if let Some((_, s)) = found.plt_relocations.as_mut() {
            *s = plt_size;
        }
        if let Some((_, s)) = found.relocations.as_mut() {
            *s = size;
        }
        found
    }

    /// The address a `PT_DYNAMIC` pointer entry designates. glibc's loader
    /// adds the load bias to these entries in place, except in objects
    /// whose dynamic section is read-only (the vDSO): a value below the
    /// bias has not been relocated.
    fn relocated(&self, value: u64) -> Option<usize> {
        let value = usize::try_from(value).ok()?;
        if value < self.base {
            value.checked_add(self.base)
        } else {
            Some(value)
        }
    }

    /// The readable segment around `addr`, as a [`Region`].
    fn region(&self, addr: usize) -> Option<Region> {
        self.segment_of(addr, 1).map(|s| Region {
            start: s.start,
            len: s.end - s.start,
        })
    }

    /// The object's dynamic symbol table, string table, versions and hash
    /// tables, each bounded by the segment it lies in; `None` without a
    /// symbol or string table in a readable segment.
    pub fn symbols(&self) -> Option<Symbols> {
        let dynamic = self.dynamic();
        let (symtab, strtab) = (dynamic.symtab?, dynamic.strtab?);
        let table = |at: Option<usize>| at.and_then(|at| Some((at, self.region(at)?)));
        // How many `size`-byte entries lie in `at`'s segment from `at`.
        let entries = |at: usize, region: Region, size: usize| (region.end() - at) / size;
        let strings = self.region(strtab)?;
        Some(Symbols {
            symtab,
            count: entries(symtab, self.region(symtab)?, size_of::<libc::Elf64_Sym>()),
            strtab,
            strings: Region {
                start: strings.start,
                len: strings
                    .end()
                    .min(strtab.saturating_add(dynamic.strsz))
                    .saturating_sub(strings.start),
            },
            versym: table(dynamic.versym).map(|(at, region)| (at, entries(at, region, 2))),
            gnu_hash: table(dynamic.gnu_hash).and_then(|(at, region)| GnuHash::at(at, region)),
            hash: table(dynamic.hash),
        })
    }

    /// Whether the object defines the dynamic symbol `name` (any version).
    pub fn defines(&self, name: &[u8]) -> bool {
        let Some(symbols) = self.symbols() else {
            return false;
        };
        let is = |index: u32| {
            let defined = symbols.symbol(index).filter(|sym| {
                sym.st_shndx != SHN_UNDEF && sym.st_value != 0 && symbols.name_is(sym, name)
            });
            defined.map(|_| ())
        };
        if symbols.gnu_hash.is_some() {
            symbols.gnu_chain(gnu_hash(name), is).is_some()
        } else {
            symbols.sysv_chain(sysv_hash(name), is).is_some()
        }
    }

    /// The GOT slots whose relocation (`JUMP_SLOT` or `GLOB_DAT`) names the
    /// dynamic symbol `name`, written into `out`; returns how many. A slot
    /// is found whether the loader has bound it yet or not (lazy binding
    /// leaves an unbound slot pointing back into the object's PLT).
    pub fn import_slots(&self, name: &[u8], out: &mut [usize]) -> usize {
        let dynamic = self.dynamic();
        let Some(symbols) = self.symbols() else {
            return 0;
        };
        let mut found = 0;
        for (table, size) in [dynamic.plt_relocations, dynamic.relocations]
            .into_iter()
            .flatten()
        {
            for i in 0..(size / 24).min(MAX_RELOCATIONS) {
                let at = table + i * 24;
                let (Some(offset), Some(info)) = (self.read::<u64>(at), self.read::<u64>(at + 8))
                else {
                    break;
                };
                let (kind, symbol) = (info as u32, (info >> 32) as u32);
                if (kind != R_JUMP_SLOT && kind != R_GLOB_DAT) || symbol == 0 {
                    continue;
                }
                let named = symbols
                    .symbol(symbol)
                    .is_some_and(|sym| symbols.name_is(&sym, name));
                if !named {
                    continue;
                }
                let Some(slot) = out.get_mut(found) else {
                    return found;
                };
                *slot = self.base.wrapping_add(offset as usize);
                found += 1;
            }
        }
        found
    }

    /// Copies the object's GNU build ID into `out` and returns its length
    /// (0 if it has none, or one longer than `out`).
    pub fn build_id(&self, out: &mut [u8]) -> usize {
        for note in self.phdrs.iter().filter(|p| p.p_type == PT_NOTE) {
            let (Ok(vaddr), Ok(size)) = (
                usize::try_from(note.p_vaddr),
                usize::try_from(note.p_filesz),
            ) else {
                continue;
            };
            let align = if note.p_align == 8 { 8 } else { 4 };
            let start = self.base.wrapping_add(vaddr);
            let end = start.saturating_add(size);
            let mut at = start;
            while at + 12 <= end {
                let (Some(namesz), Some(descsz), Some(kind)) = (
                    self.read::<u32>(at),
                    self.read::<u32>(at + 4),
                    self.read::<u32>(at + 8),
                ) else {
                    break;
                };
                let name_at = at + 12;
                let desc_at = (name_at + namesz as usize + align - 1) & !(align - 1);
                let next = (desc_at + descsz as usize + align - 1) & !(align - 1);
                if next > end {
                    break;
                }
                let len = descsz as usize;
                if kind == NT_GNU_BUILD_ID
                    && namesz == 4
                    && self.string_is(name_at, b"GNU")
                    && len <= out.len()
                    && self.segment_of(desc_at, len).is_some()
                {
                    // SAFETY: the ID lies in a readable segment (checked).
                    let id = unsafe { core::slice::from_raw_parts(desc_at as *const u8, len) };
                    if let Some(slot) = out.get_mut(..len) {
                        slot.copy_from_slice(id);
                        return len;
                    }
                }
                at = next;
            }
        }
        0
    }
}

#[cfg(test)]
#[path = "elf/tests.rs"]
mod tests;
