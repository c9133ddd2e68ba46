//! Reading a loaded ELF object in memory: its segments, its dynamic
//! symbols and its build ID.
//!
//! Every read is first checked against the object's readable `PT_LOAD`
//! segments, so a malformed or unexpected header makes a lookup fail, never
//! fault. Nothing allocates or locks.

use core::mem::size_of;
use core::ptr::read_unaligned;
use libc::{Elf64_Phdr, Elf64_Sym};

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_NOTE: u32 = 4;
/// Segment flags.
pub const PF_X: u32 = 1;
const PF_R: u32 = 4;
const DT_NULL: i64 = 0;
const DT_HASH: i64 = 4;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_STRSZ: i64 = 10;
const DT_GNU_HASH: i64 = 0x6fff_fef5;
const DT_PLTRELSZ: i64 = 2;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_JMPREL: i64 = 23;
/// `R_X86_64_GLOB_DAT` and `R_X86_64_JUMP_SLOT`: a GOT slot that holds a
/// symbol's address.
const R_GLOB_DAT: u32 = 6;
const R_JUMP_SLOT: u32 = 7;
/// Relocations read at most from one table.
const MAX_RELOCATIONS: usize = 1 << 17;
const NT_GNU_BUILD_ID: u32 = 3;
/// No page is smaller.
const PAGE: usize = 4096;
/// Bounds on loops over tables read from memory.
const MAX_DYNAMIC: usize = 4096;
const MAX_CHAIN: usize = 1 << 20;

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

/// `Elf64_Dyn`.
#[derive(Clone, Copy)]
#[repr(C)]
struct Dyn {
    tag: i64,
    value: u64,
}

/// What symbol lookups need from `PT_DYNAMIC`.
#[derive(Default)]
struct Dynamic {
    symtab: Option<usize>,
    strtab: Option<usize>,
    strsz: usize,
    gnu_hash: Option<usize>,
    hash: Option<usize>,
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

    /// The GOT slots whose relocation (`JUMP_SLOT` or `GLOB_DAT`) names the
    /// dynamic symbol `name`, written into `out`; returns how many. A slot
    /// is found whether the loader has bound it yet or not (lazy binding
    /// leaves an unbound slot pointing back into the object's PLT).
    pub fn import_slots(&self, name: &[u8], out: &mut [usize]) -> usize {
        let dynamic = self.dynamic();
        let (Some(symtab), Some(strtab)) = (dynamic.symtab, dynamic.strtab) else {
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
                let (kind, symbol) = (info as u32, (info >> 32) as usize);
                if (kind != R_JUMP_SLOT && kind != R_GLOB_DAT) || symbol == 0 {
                    continue;
                }
                let Some(sym) = self.read::<Elf64_Sym>(symtab + symbol * size_of::<Elf64_Sym>())
                else {
                    continue;
                };
                let offset_in_strings = sym.st_name as usize;
                if offset_in_strings.saturating_add(name.len()) >= dynamic.strsz
                    || !self.string_is(strtab + offset_in_strings, name)
                {
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
        let hash = name.iter().fold(5381u32, |h, &c| {
            h.wrapping_mul(33).wrapping_add(u32::from(c))
        });
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
        let hash = name.iter().fold(0u32, |h, &c| {
            let h = (h << 4).wrapping_add(u32::from(c));
            let high = h & 0xf000_0000;
            (h ^ (high >> 24)) & !high
        });
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
