//! A small ELF reader: just what `check` needs (class, machine, type, the
//! interpreter, the dynamic section's needed libraries and search paths,
//! the undefined dynamic symbols, the section names), for 32- and 64-bit
//! files of either byte order. Everything is bounds-checked: a truncated or
//! hostile file gives an error, never a panic.

/// `e_type` of a position-dependent executable.
pub const ET_EXEC: u16 = 2;
/// `e_type` of a shared object or a position-independent executable.
pub const ET_DYN: u16 = 3;

const PT_INTERP: u32 = 3;
const SHT_DYNAMIC: u32 = 6;
const SHT_DYNSYM: u32 = 11;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;

/// What `check` learns from one ELF file.
#[derive(Debug, Default)]
pub struct Elf {
    /// 64-bit (else 32-bit).
    pub class64: bool,
    /// Little-endian (else big-endian).
    pub little_endian: bool,
    /// `e_type`.
    pub kind: u16,
    /// `e_machine`.
    pub machine: u16,
    /// `PT_INTERP`: the dynamic loader it asks for.
    pub interpreter: Option<String>,
    /// `DT_NEEDED` entries.
    pub needed: Vec<String>,
    /// `DT_RPATH` directories.
    pub rpath: Vec<String>,
    /// `DT_RUNPATH` directories.
    pub runpath: Vec<String>,
    /// Undefined symbols of `.dynsym`: what it imports.
    pub imports: Vec<String>,
    /// Section names.
    pub sections: Vec<String>,
}

/// Whether `data` starts like an ELF file.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// Bounds-checked reads in the file's byte order.
struct Reader<'a> {
    data: &'a [u8],
    little: bool,
    wide: bool,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&self, at: u64) -> Option<[u8; N]> {
        let at = usize::try_from(at).ok()?;
        self.data.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    fn u16(&self, at: u64) -> Option<u16> {
        let b = self.bytes(at)?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }
    fn u32(&self, at: u64) -> Option<u32> {
        let b = self.bytes(at)?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    fn u64(&self, at: u64) -> Option<u64> {
        let b = self.bytes(at)?;
        Some(if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
    /// A word: 8 bytes in a 64-bit file, 4 in a 32-bit one.
    fn word(&self, at: u64) -> Option<u64> {
        if self.wide {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }
    /// The NUL-terminated string at `at`.
    fn string(&self, at: u64) -> Option<String> {
        let start = usize::try_from(at).ok()?;
        let rest = self.data.get(start..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(rest.get(..end)?).into_owned())
    }
    fn slice(&self, offset: u64, size: u64) -> Option<&[u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        self.data.get(start..end)
    }
}

/// A section header's useful fields.
struct Section {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
    entsize: u64,
}

/// Parses the parts of an ELF file that `check` uses.
pub fn parse(data: &[u8]) -> Result<Elf, String> {
    parse_inner(data).ok_or_else(|| "a truncated or malformed ELF file".to_string())
}

fn parse_inner(data: &[u8]) -> Option<Elf> {
    if !is_elf(data) {
        return None;
    }
    let wide = match data.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let little = match data.get(5)? {
        1 => true,
        2 => false,
        _ => return None,
    };
    let r = Reader { data, little, wide };
    let mut elf = Elf {
        class64: wide,
        little_endian: little,
        kind: r.u16(16)?,
        machine: r.u16(18)?,
        ..Elf::default()
    };
    let (phoff, shoff, sizes) = if wide {
        (r.u64(32)?, r.u64(40)?, 52)
    } else {
        (u64::from(r.u32(28)?), u64::from(r.u32(32)?), 40)
    };
    let phentsize = u64::from(r.u16(sizes + 2)?);
    let phnum = u64::from(r.u16(sizes + 4)?);
    let shentsize = u64::from(r.u16(sizes + 6)?);
    let shnum = u64::from(r.u16(sizes + 8)?);
    let shstrndx = u64::from(r.u16(sizes + 10)?);

    for i in 0..phnum {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if r.u32(at)? == PT_INTERP {
            let (offset, size) = if wide {
                (r.u64(at + 8)?, r.u64(at + 32)?)
            } else {
                (u64::from(r.u32(at + 4)?), u64::from(r.u32(at + 16)?))
            };
            let bytes = r.slice(offset, size)?;
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            elf.interpreter = Some(String::from_utf8_lossy(bytes.get(..end)?).into_owned());
        }
    }

    let mut sections = Vec::new();
    for i in 0..shnum {
        let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
        sections.push(if wide {
            Section {
                name: r.u32(at)?,
                kind: r.u32(at + 4)?,
                offset: r.u64(at + 24)?,
                size: r.u64(at + 32)?,
                link: r.u32(at + 40)?,
                entsize: r.u64(at + 56)?,
            }
        } else {
            Section {
                name: r.u32(at)?,
                kind: r.u32(at + 4)?,
                offset: u64::from(r.u32(at + 16)?),
                size: u64::from(r.u32(at + 20)?),
                link: r.u32(at + 24)?,
                entsize: u64::from(r.u32(at + 36)?),
            }
        });
    }
    if let Some(names) = usize::try_from(shstrndx).ok().and_then(|i| sections.get(i)) {
        for s in &sections {
            if let Some(name) = r.string(names.offset.checked_add(u64::from(s.name))?) {
                elf.sections.push(name);
            }
        }
    }
    let strings_of = |s: &Section| usize::try_from(s.link).ok().and_then(|i| sections.get(i));

    for s in sections.iter().filter(|s| s.kind == SHT_DYNAMIC) {
        let strings = strings_of(s)?;
        let entry = if wide { 16 } else { 8 };
        for i in 0..s.size / entry {
            let at = s.offset.checked_add(i * entry)?;
            let tag = r.word(at)?;
            let value = r.word(at + entry / 2)?;
            let text = || r.string(strings.offset.checked_add(value)?);
            match tag {
                DT_NULL => break,
                DT_NEEDED => elf.needed.extend(text()),
                DT_RPATH => elf.rpath.extend(text().map(split_path).unwrap_or_default()),
                DT_RUNPATH => elf
                    .runpath
                    .extend(text().map(split_path).unwrap_or_default()),
                _ => {}
            }
        }
    }

    for s in sections.iter().filter(|s| s.kind == SHT_DYNSYM) {
        let strings = strings_of(s)?;
        let entry = match s.entsize {
            0 if wide => 24,
            0 => 16,
            n => n,
        };
        // Entry 0 is the null symbol.
        for i in 1..s.size / entry {
            let at = s.offset.checked_add(i.checked_mul(entry)?)?;
            let (name, shndx) = if wide {
                (r.u32(at)?, r.u16(at + 6)?)
            } else {
                (r.u32(at)?, r.u16(at + 14)?)
            };
            if shndx == 0 && name != 0 {
                if let Some(name) = r.string(strings.offset.checked_add(u64::from(name))?) {
                    elf.imports.push(name);
                }
            }
        }
    }
    Some(elf)
}

fn split_path(list: String) -> Vec<String> {
    list.split(':')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// A printable name for a machine number.
pub fn machine_name(machine: u16) -> String {
    match machine {
        3 => "i386".into(),
        8 => "MIPS".into(),
        20 => "PowerPC".into(),
        21 => "PowerPC64".into(),
        22 => "s390".into(),
        40 => "ARM".into(),
        62 => "x86-64".into(),
        183 => "AArch64".into(),
        243 => "RISC-V".into(),
        258 => "LoongArch".into(),
        n => format!("machine {n}"),
    }
}

/// `/etc/ld.so.cache` (the new format, which glibc has written alone
/// since 2.32): library name to paths, in the cache's order.
pub fn ld_so_cache(data: &[u8]) -> Vec<(String, String)> {
    const MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
    let Some(start) = data.windows(MAGIC.len()).position(|w| w == MAGIC) else {
        return Vec::new();
    };
    let Some(cache) = data.get(start..) else {
        return Vec::new();
    };
    // The cache is in the machine's byte order.
    let r = Reader {
        data: cache,
        little: cfg!(target_endian = "little"),
        wide: true,
    };
    let mut out = Vec::new();
    let count = r.u32(20).unwrap_or(0);
    for i in 0..u64::from(count) {
        let at = 48 + i * 24;
        let (Some(key), Some(value)) = (r.u32(at + 4), r.u32(at + 8)) else {
            break;
        };
        if let (Some(name), Some(path)) = (r.string(u64::from(key)), r.string(u64::from(value))) {
            out.push((name, path));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_executable() -> Vec<u8> {
        std::fs::read("/proc/self/exe").expect("reads itself")
    }

    #[test]
    fn reads_this_test_binary() {
        let elf = parse(&own_executable()).expect("parses");
        assert_eq!(elf.class64, cfg!(target_pointer_width = "64"));
        assert!(elf.interpreter.is_some(), "a dynamic test binary");
        assert!(elf.needed.iter().any(|n| n.starts_with("libc.so")));
        assert!(elf.imports.iter().any(|n| n == "write"));
        assert!(elf.sections.iter().any(|n| n == ".dynsym"));
    }

    #[test]
    fn truncated_or_corrupted_files_give_errors_not_panics() {
        let data = own_executable();
        for len in (0..data.len()).step_by(4099).chain(0..80) {
            let _ = parse(&data[..len]);
        }
        let mut corrupt = data.clone();
        for at in (0..corrupt.len().min(4096)).step_by(7) {
            corrupt[at] ^= 0xff;
            let _ = parse(&corrupt);
        }
        assert!(parse(b"\x7fELF").is_err());
        assert!(parse(b"#!/bin/sh").is_err());
    }

    #[test]
    fn the_ld_so_cache_lists_libc() {
        let Ok(data) = std::fs::read("/etc/ld.so.cache") else {
            return;
        };
        let cache = ld_so_cache(&data);
        assert!(cache
            .iter()
            .any(|(name, path)| name == "libc.so.6" && path.starts_with('/')));
    }
}
