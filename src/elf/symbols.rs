//! Checked reads of a loaded object's dynamic symbols: [`Region`], the
//! bytes a read must lie in, and [`Symbols`], the symbol, string, version
//! and hash tables of one object (made by `Image::symbols`).

use core::mem::size_of;
use core::ptr::read_unaligned;
use libc::Elf64_Sym;

/// Bound on a hash chain read from memory.
const MAX_CHAIN: usize = 1 << 20;

/// Bytes of a loaded object that reads are checked against: one of its
/// readable segments, or a table's part of one. Made only by an
/// [`Image`], whose object stays loaded while its regions are used
/// ([`Image::new`]'s contract).
#[derive(Clone, Copy, Debug)]
pub struct Region {
    pub(super) start: usize,
    pub(super) len: usize,
}

impl Region {
    /// One past its last byte.
    pub(super) fn end(self) -> usize {
        self.start + self.len
    }

    /// A `T` read at `addr`, if it lies inside.
    #[inline]
    pub fn read<T: Copy>(self, addr: usize) -> Option<T> {
        if !self.holds(addr, size_of::<T>()) {
            return None;
        }
        // SAFETY: the bytes lie in a readable segment of a loaded object.
        Some(unsafe { read_unaligned(addr as *const T) })
    }

    /// Whether all of `[addr, addr + len)` lies inside: one subtraction
    /// and two compares (an address below the start wraps to a large
    /// offset).
    #[inline]
    fn holds(self, addr: usize, len: usize) -> bool {
        len <= self.len && addr.wrapping_sub(self.start) <= self.len - len
    }

    /// Whether the NUL-terminated string at `addr` is `name`.
    #[inline]
    pub fn string_is(self, addr: usize, name: &[u8]) -> bool {
        if !self.holds(addr, name.len() + 1) {
            return false;
        }
        // SAFETY: the name and its NUL lie in a readable segment.
        let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, name.len() + 1) };
        bytes.split_last() == Some((&0, name))
    }
}

/// The dynamic symbols of a loaded object ([`Image::symbols`]), every
/// table read within its region.
#[derive(Clone, Copy, Debug)]
pub struct Symbols {
    pub(super) symtab: usize,
    /// How many whole symbols lie in the symbol table's segment from
    /// `symtab`: an index below it is read with one compare.
    pub(super) count: usize,
    pub(super) strtab: usize,
    pub(super) strings: Region,
    /// The version table and how many entries lie in its segment.
    pub(super) versym: Option<(usize, usize)>,
    pub(super) gnu_hash: Option<GnuHash>,
    pub(super) hash: Option<(usize, Region)>,
}

/// A GNU hash table (`DT_GNU_HASH`), its header read once.
#[derive(Clone, Copy, Debug)]
pub(super) struct GnuHash {
    pub(super) buckets: u32,
    pub(super) first: u32,
    pub(super) bloom_words: u32,
    pub(super) shift: u32,
    pub(super) bloom_at: usize,
    pub(super) buckets_at: usize,
    pub(super) chains_at: usize,
    /// How many chain words lie in the region after `chains_at`.
    pub(super) chain_words: usize,
}

impl GnuHash {
    /// The table at `table`; `None` if its header or any part of its
    /// bloom filter and buckets lies outside `region` (so that a lookup
    /// reads those without a check; only its chain's words are checked).
    pub(super) fn at(table: usize, region: Region) -> Option<GnuHash> {
        let [buckets, first, bloom_words, shift] = region.read::<[u32; 4]>(table)?;
        let bloom_at = table.checked_add(16)?;
        let buckets_at = bloom_at.checked_add((bloom_words as usize).checked_mul(8)?)?;
        let chains_at = buckets_at.checked_add((buckets as usize).checked_mul(4)?)?;
        if chains_at > region.end() {
            return None;
        }
        Some(GnuHash {
            chain_words: (region.end() - chains_at) / 4,
            buckets,
            first,
            bloom_words,
            shift,
            bloom_at,
            buckets_at,
            chains_at,
        })
    }
}

impl GnuHash {
    /// Whether the bloom filter lets a symbol of this hash be in the
    /// table: `false` proves it is not (a few dozen instructions, without
    /// the chain or the names).
    #[inline]
    fn may_hold(&self, hash: u32) -> bool {
        if self.bloom_words == 0 {
            return true;
        }
        let at = self
            .bloom_at
            .wrapping_add((hash / 64 % self.bloom_words) as usize * 8);
        let bits = (1u64 << (hash % 64)) | (1u64 << ((hash >> (self.shift % 32)) % 64));
        // SAFETY: a bloom word below `bloom_words`, inside the region
        // ([`GnuHash::at`] checked the filter and the buckets).
        let word = unsafe { read_unaligned(at as *const u64) };
        word & bits == bits
    }
}

impl Symbols {
    /// No tables: every read fails.
    pub const EMPTY: Symbols = Symbols {
        symtab: 0,
        count: 0,
        strtab: 0,
        strings: Region { start: 0, len: 0 },
        versym: None,
        gnu_hash: None,
        hash: None,
    };

    /// Whether the GNU hash table may define a symbol of hash `hash`
    /// (its bloom filter); `true` without a GNU hash table.
    #[inline]
    pub fn may_define(&self, hash: u32) -> bool {
        self.gnu_hash.map_or(true, |table| table.may_hold(hash))
    }

    /// Whether the object has a GNU hash table.
    pub fn has_gnu_hash(&self) -> bool {
        self.gnu_hash.is_some()
    }

    /// Symbol `index`.
    #[inline]
    pub fn symbol(&self, index: u32) -> Option<Elf64_Sym> {
        let index = index as usize;
        if index >= self.count {
            return None;
        }
        // SAFETY: below `count`: inside the symbol table's segment.
        Some(unsafe {
            read_unaligned((self.symtab + index * size_of::<Elf64_Sym>()) as *const Elf64_Sym)
        })
    }

    /// Whether `symbol` is named `name`.
    #[inline]
    pub fn name_is(&self, symbol: &Elf64_Sym, name: &[u8]) -> bool {
        self.strings
            .string_is(self.strtab.wrapping_add(symbol.st_name as usize), name)
    }

    /// The version index of symbol `index` (0, unversioned, without a
    /// version table or past its end).
    #[inline]
    pub fn version(&self, index: u32) -> u16 {
        match self.versym {
            // SAFETY: below the count: inside the version table's segment.
            Some((versym, count)) if (index as usize) < count => unsafe {
                read_unaligned((versym + index as usize * 2) as *const u16)
            },
            _ => 0,
        }
    }

    /// Hands `each` the index of every symbol in the GNU hash table's chain
    /// for `hash` whose hash matches, until it returns something; `None`
    /// when nothing did, the bloom filter rules the name out, or the table
    /// cannot be read.
    #[inline]
    pub fn gnu_chain<T>(&self, hash: u32, mut each: impl FnMut(u32) -> Option<T>) -> Option<T> {
        let table = self.gnu_hash?;
        if table.buckets == 0 || !table.may_hold(hash) {
            return None;
        }
        let bucket = table
            .buckets_at
            .wrapping_add((hash % table.buckets) as usize * 4);
        // SAFETY: a bucket below `buckets`, inside the region (as above).
        let mut index = unsafe { read_unaligned(bucket as *const u32) };
        if index < table.first {
            return None;
        }
        // One compare bounds each chain word ([`GnuHash::at`] counted them).
        let limit = table.chain_words.min(MAX_CHAIN);
        loop {
            let slot = (index - table.first) as usize;
            if slot >= limit {
                return None;
            }
            // SAFETY: `slot` is below `chain_words`: inside the region.
            let entry = unsafe { read_unaligned((table.chains_at + slot * 4) as *const u32) };
            if (entry ^ hash) >> 1 == 0 {
                if let Some(found) = each(index) {
                    return Some(found);
                }
            }
            if entry & 1 != 0 {
                return None;
            }
            index = index.checked_add(1)?;
        }
    }

    /// The same for the System V hash table (`DT_HASH`): every symbol in
    /// the chain for `hash`.
    pub fn sysv_chain<T>(&self, hash: u32, mut each: impl FnMut(u32) -> Option<T>) -> Option<T> {
        let (table, region) = self.hash?;
        let word = |i: usize| region.read::<u32>(table.checked_add(i.checked_mul(4)?)?);
        let (buckets, chains) = (word(0)?, word(1)?);
        if buckets == 0 {
            return None;
        }
        let mut index = word(2 + (hash % buckets) as usize)?;
        for _ in 0..chains.min(MAX_CHAIN as u32) {
            if index == 0 {
                break;
            }
            if let Some(found) = each(index) {
                return Some(found);
            }
            index = word(2 + buckets as usize + index as usize)?;
        }
        None
    }
}
