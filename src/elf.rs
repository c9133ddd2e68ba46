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
use libc::{Elf64_Phdr, Elf64_Sym};

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
pub const DT_HASH: u64 = 4;
pub const DT_STRTAB: u64 = 5;
pub const DT_SYMTAB: u64 = 6;
pub const DT_STRSZ: u64 = 10;
pub const DT_SYMENT: u64 = 11;
pub const DT_RPATH: u64 = 15;
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
/// The note type of a build ID.
pub const NT_GNU_BUILD_ID: u32 = 3;
/// No page is smaller.
const PAGE: usize = 4096;
/// Bounds on loops over tables read from memory.
const MAX_DYNAMIC: usize = 4096;
const MAX_CHAIN: usize = 1 << 20;

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
                _ => {}
            }
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

    /// Whether the object defines the dynamic symbol `name` (any version).
    pub fn defines(&self, name: &[u8]) -> bool {
        let dynamic = self.dynamic();
        let (Some(symtab), Some(strtab)) = (dynamic.symtab, dynamic.strtab) else {
            return false;
        };
        let is = |index: u32| {
            let Some(at) = usize::try_from(index)
                .ok()
                .and_then(|i| i.checked_mul(size_of::<Elf64_Sym>()))
                .and_then(|o| symtab.checked_add(o))
            else {
                return false;
            };
            let Some(sym) = self.read::<Elf64_Sym>(at) else {
                return false;
            };
            let offset = sym.st_name as usize;
            sym.st_shndx != 0
                && sym.st_value != 0
                && offset.saturating_add(name.len()) < dynamic.strsz
                && self.string_is(strtab + offset, name)
        };
        if let Some(table) = dynamic.gnu_hash {
            self.gnu_lookup(table, name, is).unwrap_or(false)
        } else if let Some(table) = dynamic.hash {
            self.sysv_lookup(table, name, is).unwrap_or(false)
        } else {
            false
        }
    }

    /// A lookup in a `DT_GNU_HASH` table.
    fn gnu_lookup(&self, table: usize, name: &[u8], is: impl Fn(u32) -> bool) -> Option<bool> {
        let hash = gnu_hash(name);
        let word = |i: usize| self.read::<u32>(table.checked_add(i.checked_mul(4)?)?);
        let (buckets, first, bloom) = (word(0)?, word(1)?, word(2)?);
        if buckets == 0 {
            return Some(false);
        }
        let buckets_at = 16 + bloom as usize * size_of::<usize>();
        let chains_at = buckets_at + buckets as usize * 4;
        let mut index = self.read::<u32>(table + buckets_at + (hash % buckets) as usize * 4)?;
        if index < first {
            return Some(false);
        }
        for _ in 0..MAX_CHAIN {
            let chained = self.read::<u32>(table + chains_at + (index - first) as usize * 4)?;
            if chained | 1 == hash | 1 && is(index) {
                return Some(true);
            }
            if chained & 1 != 0 {
                break;
            }
            index = index.checked_add(1)?;
        }
        Some(false)
    }

    /// A lookup in a System V `DT_HASH` table.
    fn sysv_lookup(&self, table: usize, name: &[u8], is: impl Fn(u32) -> bool) -> Option<bool> {
        let hash = sysv_hash(name);
        let word = |i: usize| self.read::<u32>(table.checked_add(i.checked_mul(4)?)?);
        let (buckets, chains) = (word(0)?, word(1)?);
        if buckets == 0 {
            return Some(false);
        }
        let mut index = word(2 + (hash % buckets) as usize)?;
        for _ in 0..chains.min(MAX_CHAIN as u32) {
            if index == 0 {
                break;
            }
            if is(index) {
                return Some(true);
            }
            index = word(2 + buckets as usize + index as usize)?;
        }
        Some(false)
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
