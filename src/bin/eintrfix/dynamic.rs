//! The dynamic segment of an ELF file, read as the dynamic loader reads
//! it: the needed libraries, the search paths, and through the hash tables
//! and the symbol table, the undefined symbols a caller asks about. Every
//! count is bounded and every repeated entry read once.

use crate::elf::{file_offset, Elf, Opened, Reader, Segment, MAX_NAME, MAX_TABLE, TRUNCATED};
use crate::elf_format::{
    DT_GNU_HASH, DT_HASH, DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_STRSZ, DT_STRTAB, DT_SYMENT,
    DT_SYMTAB,
};
use std::collections::HashSet;

/// The most dynamic entries read before `DT_NULL` (real files have a few
/// dozen).
pub const MAX_DYNAMIC: u64 = 65_536;
/// The most distinct `DT_NEEDED` libraries of one file.
pub const MAX_NEEDED: usize = 1024;
/// The most distinct directories of one `DT_RPATH` or `DT_RUNPATH`.
pub const MAX_SEARCH_DIRS: usize = 256;
/// The most dynamic symbols read (a large library has some 100 000).
pub const MAX_SYMBOLS: u64 = 1 << 21;
/// The longest imported symbol name a caller can ask about; longer names
/// are not read to their end.
pub const MAX_IMPORT_NAME: usize = 64;
/// Symbols read at once.
const SYMBOL_CHUNK: u64 = 4096;

/// The dynamic segment: needed libraries, search paths, and through the
/// symbol table, the imports `wanted` asks about.
pub fn read(
    file: &Opened,
    little: bool,
    wide: bool,
    dynamic: &Segment,
    loads: &[Segment],
    wanted: &dyn Fn(&str) -> bool,
    elf: &mut Elf,
) -> Result<(), String> {
    let entry: u64 = if wide { 16 } else { 8 };
    let count = (dynamic.filesz / entry).min(MAX_DYNAMIC + 1);
    let table = file.read(dynamic.offset, count * entry)?;
    let r = Reader {
        data: &table,
        little,
        wide,
    };
    let mut needed: Vec<u64> = Vec::new();
    let mut seen_needed = HashSet::new();
    let (mut rpath, mut runpath) = (None, None);
    let (mut strtab, mut strsz, mut symtab, mut syment) = (None, None, None, None);
    let (mut hash, mut gnu_hash) = (None, None);
    let mut ended = false;
    for i in 0..count {
        let tag = r.word(i * entry).ok_or(TRUNCATED)?;
        let value = r.word(i * entry + entry / 2).ok_or(TRUNCATED)?;
        match tag {
            DT_NULL => {
                ended = true;
                break;
            }
            DT_NEEDED if seen_needed.insert(value) => needed.push(value),
            // The loader keeps the last of a repeated tag.
            DT_RPATH => rpath = Some(value),
            DT_RUNPATH => runpath = Some(value),
            DT_STRTAB => strtab = Some(value),
            DT_STRSZ => strsz = Some(value),
            DT_SYMTAB => symtab = Some(value),
            DT_SYMENT => syment = Some(value),
            DT_HASH => hash = Some(value),
            DT_GNU_HASH => gnu_hash = Some(value),
            _ => {}
        }
    }
    if !ended && count > MAX_DYNAMIC {
        return Err(format!(
            "a dynamic segment of more than {MAX_DYNAMIC} entries"
        ));
    }
    if needed.len() > MAX_NEEDED {
        return Err(format!("more than {MAX_NEEDED} needed libraries"));
    }
    let Some(strtab) = strtab else {
        return if needed.is_empty() && rpath.is_none() && runpath.is_none() {
            Ok(())
        } else {
            Err(TRUNCATED.into())
        };
    };
    let (at, room) = file_offset(loads, strtab)?;
    let strings = file.read(at, strsz.unwrap_or(room.min(MAX_TABLE)).min(room))?;
    let s = Reader {
        data: &strings,
        little,
        wide,
    };
    let mut names = HashSet::new();
    for offset in needed {
        let name = s.string(offset, MAX_NAME)?;
        if names.insert(name.clone()) {
            elf.needed.push(name);
        }
    }
    for (list, out) in [(rpath, &mut elf.rpath), (runpath, &mut elf.runpath)] {
        if let Some(offset) = list {
            // One string each, read once: as long as its table allows.
            *out = split_path(&s.string(offset, strings.len())?)?;
        }
    }
    if let Some(symtab) = symtab {
        let entsize = match syment {
            Some(n) if n >= if wide { 24 } else { 16 } => n,
            None => {
                if wide {
                    24
                } else {
                    16
                }
            }
            Some(_) => return Err(TRUNCATED.into()),
        };
        let symbols = symbol_count(file, little, wide, loads, hash, gnu_hash)?;
        let (at, room) = file_offset(loads, symtab)?;
        let symbols = symbols.min(room / entsize);
        read_imports(file, &s, little, wide, at, entsize, symbols, wanted, elf)?;
    }
    Ok(())
}

/// How many dynamic symbols there are: the loader knows it only from the
/// hash tables (`DT_HASH`'s chain count, or the end of `DT_GNU_HASH`'s
/// last chain).
fn symbol_count(
    file: &Opened,
    little: bool,
    wide: bool,
    loads: &[Segment],
    hash: Option<u64>,
    gnu_hash: Option<u64>,
) -> Result<u64, String> {
    let too_many = || format!("more than {MAX_SYMBOLS} dynamic symbols");
    let bad = || TRUNCATED.to_string();
    if let Some(hash) = hash {
        let (at, _) = file_offset(loads, hash)?;
        let mut chains = 0;
        words(file, little, at.saturating_add(4), 1, |n| {
            chains = u64::from(n);
            false
        })?;
        return if chains > MAX_SYMBOLS {
            Err(too_many())
        } else {
            Ok(chains)
        };
    }
    let Some(gnu_hash) = gnu_hash else {
        return Ok(0);
    };
    let (at, room) = file_offset(loads, gnu_hash)?;
    let header = file.read(at, 16.min(room))?;
    let r = Reader {
        data: &header,
        little,
        wide,
    };
    let field = |i: u64| r.u32(i * 4).map(u64::from).ok_or_else(bad);
    let (buckets, first, bloom) = (field(0)?, field(1)?, field(2)?);
    let buckets_at = bloom
        .checked_mul(if wide { 8 } else { 4 })
        .and_then(|b| b.checked_add(at.checked_add(16)?))
        .ok_or_else(bad)?;
    let mut last = 0;
    words(file, little, buckets_at, buckets, |bucket| {
        last = last.max(u64::from(bucket));
        true
    })?;
    if last < first {
        return Ok(first);
    }
    // Walk the last chain to the entry that ends it (its low bit set).
    let chains = buckets_at
        .saturating_add(buckets * 4)
        .saturating_add((last - first) * 4);
    let mut count = last;
    let mut ended = false;
    words(
        file,
        little,
        chains,
        MAX_SYMBOLS - last.min(MAX_SYMBOLS),
        |word| {
            count += 1;
            ended = word & 1 != 0;
            !ended
        },
    )?;
    if ended {
        Ok(count)
    } else {
        Err(too_many())
    }
}

/// Hands `count` 32-bit words at `at` to `each`, a chunk at a time, until
/// it says stop.
fn words(
    file: &Opened,
    little: bool,
    at: u64,
    count: u64,
    mut each: impl FnMut(u32) -> bool,
) -> Result<(), String> {
    let mut done = 0;
    while done < count {
        // Never past the end of the file: a chain that runs off it is cut.
        let left = file.size.saturating_sub(at.saturating_add(done * 4)) / 4;
        let n = (count - done).min(SYMBOL_CHUNK).min(left);
        if n == 0 {
            return Err(TRUNCATED.into());
        }
        let chunk = file.read(at.saturating_add(done * 4), n * 4)?;
        for word in chunk.chunks_exact(4) {
            let bytes = [word[0], word[1], word[2], word[3]];
            let word = if little {
                u32::from_le_bytes(bytes)
            } else {
                u32::from_be_bytes(bytes)
            };
            if !each(word) {
                return Ok(());
            }
        }
        done += n;
    }
    Ok(())
}

/// Reads `symbols` symbols at file offset `at`, a chunk at a time,
/// keeping the undefined ones `wanted` asks about.
#[allow(clippy::too_many_arguments)]
fn read_imports(
    file: &Opened,
    strings: &Reader,
    little: bool,
    wide: bool,
    at: u64,
    entsize: u64,
    symbols: u64,
    wanted: &dyn Fn(&str) -> bool,
    elf: &mut Elf,
) -> Result<(), String> {
    // Entry 0 is the null symbol.
    let mut i = 1;
    while i < symbols {
        let n = (symbols - i).min(SYMBOL_CHUNK);
        // A table over the read limit fails before `k * entsize` below
        // could overflow.
        let chunk = file.read(
            at.saturating_add(i.saturating_mul(entsize)),
            n.saturating_mul(entsize),
        )?;
        let r = Reader {
            data: &chunk,
            little,
            wide,
        };
        for k in 0..n {
            let base = k * entsize;
            let (name, shndx) = if wide {
                (r.u32(base), r.u16(base + 6))
            } else {
                (r.u32(base), r.u16(base + 14))
            };
            let (Some(name), Some(shndx)) = (name, shndx) else {
                return Err(TRUNCATED.into());
            };
            if shndx == 0 && name != 0 {
                if let Some(name) = strings.short(u64::from(name), MAX_IMPORT_NAME) {
                    if wanted(name) {
                        elf.imports.insert(name.to_string());
                    }
                }
            }
        }
        i += n;
    }
    Ok(())
}

/// The directories of a search path, each once, at most
/// [`MAX_SEARCH_DIRS`].
fn split_path(list: &str) -> Result<Vec<String>, String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for dir in list.split(':').filter(|d| !d.is_empty()) {
        if seen.insert(dir) {
            if out.len() == MAX_SEARCH_DIRS {
                return Err(format!(
                    "a search path (RPATH or RUNPATH) of more than {MAX_SEARCH_DIRS} directories"
                ));
            }
            out.push(dir.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_paths_are_deduplicated_and_bounded() {
        let same = vec!["/a"; 100_000].join(":");
        assert_eq!(split_path(&same).unwrap(), ["/a"]);
        let distinct: Vec<String> = (0..=MAX_SEARCH_DIRS).map(|i| format!("/d{i}")).collect();
        assert!(split_path(&distinct.join(":")).is_err());
        assert_eq!(
            split_path(&distinct[1..].join(":")).unwrap().len(),
            MAX_SEARCH_DIRS
        );
    }
}
