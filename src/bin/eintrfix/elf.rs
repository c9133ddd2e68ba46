//! A small ELF reader: just what `check` needs (class, machine, type, the
//! interpreter, the needed libraries and search paths, the undefined
//! dynamic symbols, the section names), for 32- and 64-bit files of either
//! byte order, read the way the kernel and the dynamic loader read them:
//! from the program headers (`PT_INTERP`, `PT_DYNAMIC` and the `PT_LOAD`
//! segments that place its tables), never from the section headers, which
//! neither looks at (they are read only for the names of Go's sections).
//!
//! Every file is hostile until read: it is opened without blocking and
//! refused unless it is a regular file of at most [`MAX_FILE`] bytes; only
//! the parts the headers name are read, each at most [`MAX_TABLE`] bytes;
//! every count is bounded (`dynamic.rs`). A truncated or hostile file gives
//! one error, never a panic, a hang or an allocation it did not earn.

use crate::dynamic;
use crate::elf_format::{PT_DYNAMIC, PT_INTERP, PT_LOAD};
use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// `e_type` of a position-dependent executable.
pub const ET_EXEC: u16 = 2;
/// `e_type` of a shared object or a position-independent executable.
pub const ET_DYN: u16 = 3;

/// The largest file opened: far beyond any program or library (code must
/// fit in 2 GiB in the usual code models, and a 32-bit ELF file in 4 GiB),
/// so only a file made to be absurd is refused. Only headers and the
/// tables they name are read, whatever the size.
pub const MAX_FILE: u64 = 16 << 30;
/// The largest table read whole (program headers, the dynamic string
/// table, section headers, section names): a large C++ library's dynamic
/// string table is a few MiB.
pub const MAX_TABLE: u64 = 64 << 20;
/// The longest name read (a library's, a section's).
pub const MAX_NAME: usize = 4096;
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
    /// `DT_NEEDED` entries, each once, in order.
    pub needed: Vec<String>,
    /// `DT_RPATH` directories, each once, in order.
    pub rpath: Vec<String>,
    /// `DT_RUNPATH` directories, each once, in order.
    pub runpath: Vec<String>,
    /// The undefined dynamic symbols (what it imports) that the caller
    /// asked about.
    pub imports: HashSet<String>,
    /// Section names, each once (for telling a Go program).
    pub sections: Vec<String>,
}

/// Whether `data` starts like an ELF file.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// A regular file opened for reading, and its size.
pub struct Opened {
    file: File,
    /// Its size in bytes.
    pub size: u64,
}

/// What kind of file a file type is, for a refusal.
fn kind_of(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Opens `path` to read, without waiting (a FIFO without a writer opens at
/// once) and without making it the controlling terminal: only a regular
/// file of at most [`MAX_FILE`] bytes is kept. The type is checked before
/// the open (opening a device can act on it) and again on the open file.
pub fn open(path: &Path) -> Result<Opened, String> {
    let refuse = |kind: std::fs::FileType| format!("{}, not a regular file", kind_of(kind));
    let before = std::fs::metadata(path).map_err(|e| format!("cannot inspect it: {e}"))?;
    if !before.is_file() {
        return Err(refuse(before.file_type()));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot inspect it: {e}"))?;
    if !meta.is_file() {
        return Err(refuse(meta.file_type()));
    }
    if meta.len() > MAX_FILE {
        return Err(format!(
            "{} bytes, larger than the {} GiB a program or library can sensibly be",
            meta.len(),
            MAX_FILE >> 30
        ));
    }
    Ok(Opened {
        file,
        size: meta.len(),
    })
}

impl Opened {
    /// `len` bytes at `offset`, all within the file; at most [`MAX_TABLE`].
    pub fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        if len > MAX_TABLE {
            return Err(format!(
                "a table of {len} bytes, more than the {} MiB read of one",
                MAX_TABLE >> 20
            ));
        }
        match offset.checked_add(len) {
            Some(end) if end <= self.size => {}
            _ => return Err(TRUNCATED.into()),
        }
        let mut buf = vec![0; usize::try_from(len).map_err(|_| TRUNCATED)?];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|e| format!("cannot read it: {e}"))?;
        Ok(buf)
    }

    /// Up to `len` bytes from the start (fewer in a shorter file).
    pub fn head(&self, len: u64) -> Result<Vec<u8>, String> {
        self.read(0, len.min(self.size))
    }
}

pub const TRUNCATED: &str = "a truncated or malformed ELF file";
/// The error for a file that is not ELF at all.
pub const NOT_ELF: &str = "not an ELF file";

/// Bounds-checked reads in the file's byte order, from one piece read.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub data: &'a [u8],
    pub little: bool,
    pub wide: bool,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&self, at: u64) -> Option<[u8; N]> {
        let at = usize::try_from(at).ok()?;
        self.data.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    pub fn u16(&self, at: u64) -> Option<u16> {
        let b = self.bytes(at)?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }
    pub fn u32(&self, at: u64) -> Option<u32> {
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
    pub fn word(&self, at: u64) -> Option<u64> {
        if self.wide {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }
    /// The NUL-terminated UTF-8 string at `at` if it is at most `max`
    /// bytes long.
    pub fn short(&self, at: u64, max: usize) -> Option<&str> {
        let rest = self.data.get(usize::try_from(at).ok()?..)?;
        let rest = rest.get(..rest.len().min(max + 1)).unwrap_or(rest);
        let end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(rest.get(..end)?).ok()
    }
    /// The NUL-terminated string at `at`, of at most `max` bytes.
    pub fn string(&self, at: u64, max: usize) -> Result<String, String> {
        let start = usize::try_from(at).map_err(|_| TRUNCATED)?;
        let rest = self.data.get(start..).ok_or(TRUNCATED)?;
        let rest = rest.get(..rest.len().min(max + 1)).unwrap_or(rest);
        let end = rest.iter().position(|&b| b == 0).ok_or_else(|| {
            if rest.len() > max {
                format!("a name longer than {max} bytes")
            } else {
                TRUNCATED.to_string()
            }
        })?;
        Ok(String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned())
    }
}

/// A program header's useful fields.
#[derive(Clone, Copy)]
pub struct Segment {
    kind: u32,
    pub offset: u64,
    vaddr: u64,
    pub filesz: u64,
}

/// Maps an address of the file's image to its offset in the file, through
/// the `PT_LOAD` segment holding it, as the loader's mapping would.
pub fn file_offset(loads: &[Segment], address: u64) -> Result<(u64, u64), String> {
    loads
        .iter()
        .find(|s| address >= s.vaddr && address - s.vaddr < s.filesz)
        .and_then(|s| {
            let into = address - s.vaddr;
            Some((s.offset.checked_add(into)?, s.filesz - into))
        })
        .ok_or_else(|| TRUNCATED.to_string())
}

/// Parses the parts of an ELF file that `check` uses, keeping only the
/// imported symbols for which `wanted` says yes.
pub fn parse(file: &Opened, wanted: &dyn Fn(&str) -> bool) -> Result<Elf, String> {
    let header = file.head(64)?;
    if !is_elf(&header) {
        return Err(NOT_ELF.into());
    }
    let wide = match header.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err(TRUNCATED.into()),
    };
    let little = match header.get(5) {
        Some(1) => true,
        Some(2) => false,
        _ => return Err(TRUNCATED.into()),
    };
    let r = Reader {
        data: &header,
        little,
        wide,
    };
    let bad = || TRUNCATED.to_string();
    let mut elf = Elf {
        class64: wide,
        little_endian: little,
        kind: r.u16(16).ok_or_else(bad)?,
        machine: r.u16(18).ok_or_else(bad)?,
        ..Elf::default()
    };
    let (phoff, shoff, sizes) = if wide {
        (r.u64(32), r.u64(40), 52)
    } else {
        (r.u32(28).map(u64::from), r.u32(32).map(u64::from), 40)
    };
    let (phoff, shoff) = (phoff.ok_or_else(bad)?, shoff.ok_or_else(bad)?);
    let field = |at: u64| r.u16(sizes + at).map(u64::from).ok_or_else(bad);
    let (phentsize, phnum) = (field(2)?, field(4)?);
    let (shentsize, shnum, shstrndx) = (field(6)?, field(8)?, field(10)?);

    let segments = program_headers(file, little, wide, phoff, phentsize, phnum)?;
    // The kernel takes the first PT_INTERP; the loader the last PT_DYNAMIC.
    if let Some(interp) = segments.iter().find(|s| s.kind == PT_INTERP) {
        let bytes = file.read(interp.offset, interp.filesz.min(MAX_NAME as u64))?;
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        elf.interpreter =
            Some(String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into());
    }
    let loads: Vec<Segment> = segments
        .iter()
        .filter(|s| s.kind == PT_LOAD)
        .copied()
        .collect();
    if let Some(dynamic) = segments.iter().rev().find(|s| s.kind == PT_DYNAMIC) {
        dynamic::read(file, little, wide, dynamic, &loads, wanted, &mut elf)?;
    }
    // Sections matter to neither the kernel nor the loader: a file whose
    // section headers cannot be read simply has no names.
    elf.sections =
        section_names(file, little, wide, shoff, shentsize, shnum, shstrndx).unwrap_or_default();
    Ok(elf)
}

fn program_headers(
    file: &Opened,
    little: bool,
    wide: bool,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
) -> Result<Vec<Segment>, String> {
    if phnum == 0 {
        return Ok(Vec::new());
    }
    let needed = if wide { 56 } else { 32 };
    if phentsize < needed {
        return Err(TRUNCATED.into());
    }
    let table = file.read(phoff, phentsize * phnum)?;
    let r = Reader {
        data: &table,
        little,
        wide,
    };
    (0..phnum)
        .map(|i| {
            let at = i * phentsize;
            Some(if wide {
                Segment {
                    kind: r.u32(at)?,
                    offset: r.u64(at + 8)?,
                    vaddr: r.u64(at + 16)?,
                    filesz: r.u64(at + 32)?,
                }
            } else {
                Segment {
                    kind: r.u32(at)?,
                    offset: u64::from(r.u32(at + 4)?),
                    vaddr: u64::from(r.u32(at + 8)?),
                    filesz: u64::from(r.u32(at + 16)?),
                }
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| TRUNCATED.to_string())
}

/// The section names, each once; `None` if the section headers cannot be
/// read.
fn section_names(
    file: &Opened,
    little: bool,
    wide: bool,
    shoff: u64,
    shentsize: u64,
    shnum: u64,
    shstrndx: u64,
) -> Option<Vec<String>> {
    let needed = if wide { 64 } else { 40 };
    if shnum == 0 || shentsize < needed || shstrndx >= shnum {
        return None;
    }
    let table = file.read(shoff, shentsize.checked_mul(shnum)?).ok()?;
    let r = Reader {
        data: &table,
        little,
        wide,
    };
    let (offset_at, size_at) = if wide { (24, 32) } else { (16, 20) };
    let location = |i: u64| -> Option<(u64, u64)> {
        let at = i * shentsize;
        Some(if wide {
            (r.u64(at + offset_at)?, r.u64(at + size_at)?)
        } else {
            (
                u64::from(r.u32(at + offset_at)?),
                u64::from(r.u32(at + size_at)?),
            )
        })
    };
    let (offset, size) = location(shstrndx)?;
    let names = file.read(offset, size).ok()?;
    let n = Reader {
        data: &names,
        little,
        wide,
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for i in 0..shnum {
        let name = r.u32(i * shentsize)?;
        if seen.insert(name) {
            if let Ok(name) = n.string(u64::from(name), 256) {
                out.push(name);
            }
        }
    }
    Some(out)
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
pub fn ld_so_cache(path: &Path) -> Vec<(String, String)> {
    const MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
    let Ok(data) = open(path).and_then(|file| file.head(MAX_TABLE)) else {
        return Vec::new();
    };
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
        if let (Ok(name), Ok(path)) = (
            r.string(u64::from(key), MAX_NAME),
            r.string(u64::from(value), MAX_NAME),
        ) {
            out.push((name, path));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_path(path: &Path) -> Result<Elf, String> {
        parse(&open(path)?, &|name| name == "write")
    }

    #[test]
    fn reads_this_test_binary() {
        let elf = parse_path(Path::new("/proc/self/exe")).expect("parses");
        assert_eq!(elf.class64, cfg!(target_pointer_width = "64"));
        assert!(elf.interpreter.is_some(), "a dynamic test binary");
        assert!(elf.needed.iter().any(|n| n.starts_with("libc.so")));
        assert!(elf.imports.contains("write"));
        assert_eq!(elf.imports.len(), 1, "only what was asked for");
        assert!(elf.sections.iter().any(|n| n == ".dynsym"));
    }

    #[test]
    fn truncated_or_corrupted_files_give_errors_not_panics() {
        let data = std::fs::read("/proc/self/exe").expect("reads itself");
        let dir = std::env::temp_dir().join(format!("eintrfix-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        let try_parse = |bytes: &[u8]| {
            std::fs::write(&file, bytes).unwrap();
            let _ = parse_path(&file);
        };
        for len in (0..data.len()).step_by(40_099).chain(0..80) {
            try_parse(&data[..len]);
        }
        let mut corrupt = data[..data.len().min(1 << 20)].to_vec();
        for at in (0..corrupt.len().min(4096)).step_by(31) {
            corrupt[at] ^= 0xff;
            try_parse(&corrupt);
        }
        std::fs::write(&file, b"\x7fELF").unwrap();
        assert!(parse_path(&file).is_err());
        std::fs::write(&file, b"#!/bin/sh").unwrap();
        assert!(parse_path(&file).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Random bytes of a real program changed, one at a time, where the
    /// reader looks (headers, the dynamic segment and its tables), in a
    /// debug build that checks arithmetic: errors, never a panic.
    #[test]
    fn random_mutations_give_errors_not_panics() {
        let data = std::fs::read("/proc/self/exe").expect("reads itself");
        let dir = std::env::temp_dir().join(format!("eintrfix-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let elf = parse_path(&path).unwrap();
        assert!(!elf.needed.is_empty());
        // Where the dynamic segment and the tables live: the first 64 KiB
        // of a small program's file hold them all.
        let span = data.len().min(64 << 10);
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let at = (next() % span as u64) as usize;
            let byte = [next() as u8];
            file.write_at(&byte, at as u64).unwrap();
            let _ = parse_path(&path);
            file.write_at(&data[at..at + 1], at as u64).unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_regular_files_are_opened() {
        for (path, kind) in [("/dev/zero", "a character device"), ("/", "a directory")] {
            let refusal = open(Path::new(path)).err().unwrap();
            assert!(refusal.starts_with(kind), "{path}: {refusal}");
        }
    }

    #[test]
    fn the_ld_so_cache_lists_libc() {
        let cache = ld_so_cache(Path::new("/etc/ld.so.cache"));
        if cache.is_empty() {
            return;
        }
        assert!(cache
            .iter()
            .any(|(name, path)| name == "libc.so.6" && path.starts_with('/')));
    }
}
