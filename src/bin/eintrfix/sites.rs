//! The per-site rule as `eintrfix check` reports it: in one ELF file, the
//! call sites of hooked functions, each classified by the library's own
//! decoder (`src/arch/x86_64/errno_check.rs`, compiled into the command)
//! as handling EINTR itself or not.
//!
//! A call site is a `call` to the PLT stub of a hooked function, or
//! through its GOT slot (`-fno-plt`), found by decoding the executable
//! sections from start to end. The decoder then reads the file's bytes
//! after the call exactly as the library reads them in memory, and a call
//! to `__errno_location` is recognised by its PLT stub or GOT slot.
//! x86-64 ELF files only: anything else reports nothing.

#[path = "../../arch/x86_64/errno_check.rs"]
#[allow(dead_code)]
mod errno_check;

use crate::elf_format::{R_GLOB_DAT, R_JUMP_SLOT};
pub use errno_check::Verdict;
use errno_check::{Code, Target};
use std::collections::HashMap;

const EM_X86_64: u16 = 62;
const SHT_RELA: u32 = 4;
const SHT_DYNSYM: u32 = 11;
const SHF_EXECINSTR: u64 = 4;

/// One call site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The address after the call (in the file's own addresses).
    pub ret: u64,
    /// The hooked function called.
    pub function: String,
    /// What the code after it does with an EINTR.
    pub verdict: Verdict,
}

/// Counts of a file's sites by verdict: (handles, ignores, unknown).
pub fn counts(sites: &[Site]) -> (usize, usize, usize) {
    sites
        .iter()
        .fold((0, 0, 0), |(h, i, u), s| match s.verdict {
            Verdict::Handles => (h + 1, i, u),
            Verdict::Ignores => (h, i + 1, u),
            Verdict::Unknown => (h, i, u + 1),
        })
}

struct Section {
    name: String,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
}

/// The parts of an ELF file the sweep needs.
struct File<'a> {
    data: &'a [u8],
    sections: Vec<Section>,
    /// GOT slot address -> the symbol it holds.
    slots: HashMap<u64, String>,
    /// PLT stub address -> the symbol it jumps to.
    stubs: HashMap<u64, String>,
    /// The hooked functions' names.
    hooked: Vec<String>,
}

fn u16_at(d: &[u8], at: u64) -> Option<u16> {
    let at = usize::try_from(at).ok()?;
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(d: &[u8], at: u64) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(d: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    Some(u64::from_le_bytes(d.get(at..at + 8)?.try_into().ok()?))
}
fn string_at(d: &[u8], at: u64) -> Option<String> {
    let bytes = d.get(usize::try_from(at).ok()?..)?;
    let end = bytes.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(bytes.get(..end)?).into_owned())
}

impl<'a> File<'a> {
    fn parse(data: &'a [u8]) -> Option<File<'a>> {
        if !data.starts_with(b"\x7fELF\x02\x01") || u16_at(data, 18)? != EM_X86_64 {
            return None;
        }
        let shoff = u64_at(data, 40)?;
        let shentsize = u64::from(u16_at(data, 58)?);
        let shnum = u64::from(u16_at(data, 60)?);
        let shstrndx = usize::from(u16_at(data, 62)?);
        let mut raw = Vec::new();
        for i in 0..shnum {
            let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
            raw.push((
                u32_at(data, at)?,
                Section {
                    name: String::new(),
                    kind: u32_at(data, at + 4)?,
                    flags: u64_at(data, at + 8)?,
                    addr: u64_at(data, at + 16)?,
                    offset: u64_at(data, at + 24)?,
                    size: u64_at(data, at + 32)?,
                    link: u32_at(data, at + 40)?,
                },
            ));
        }
        let names_at = raw.get(shstrndx).map(|(_, s)| s.offset)?;
        let sections: Vec<Section> = raw
            .into_iter()
            .map(|(name, mut s)| {
                s.name =
                    string_at(data, names_at.saturating_add(u64::from(name))).unwrap_or_default();
                s
            })
            .collect();
        let mut file = File {
            data,
            sections,
            slots: HashMap::new(),
            stubs: HashMap::new(),
            hooked: Vec::new(),
        };
        file.read_relocations();
        file.find_stubs();
        Some(file)
    }

    /// The name of dynamic symbol `index` of the table in section `symtab`.
    fn symbol_name(&self, symtab: usize, index: u64) -> Option<String> {
        let table = self.sections.get(symtab)?;
        let strings = self.sections.get(usize::try_from(table.link).ok()?)?;
        let name = u32_at(self.data, table.offset.checked_add(index.checked_mul(24)?)?)?;
        string_at(self.data, strings.offset.saturating_add(u64::from(name)))
    }

    fn read_relocations(&mut self) {
        let mut slots = HashMap::new();
        for s in self.sections.iter().filter(|s| s.kind == SHT_RELA) {
            let symtab = s.link as usize;
            if self.sections.get(symtab).map(|t| t.kind) != Some(SHT_DYNSYM) {
                continue;
            }
            for i in 0..s.size / 24 {
                let at = s.offset.saturating_add(i * 24);
                let (Some(offset), Some(info)) = (u64_at(self.data, at), u64_at(self.data, at + 8))
                else {
                    break;
                };
                let kind = info as u32;
                if kind == R_JUMP_SLOT || kind == R_GLOB_DAT {
                    if let Some(name) = self.symbol_name(symtab, info >> 32) {
                        slots.insert(offset, name);
                    }
                }
            }
        }
        self.slots = slots;
    }

    /// The PLT stubs: `jmp *disp32(%rip)` (after `endbr64`, `bnd`) in the
    /// `.plt*` sections, 16 bytes apart.
    fn find_stubs(&mut self) {
        let mut stubs = HashMap::new();
        for s in self.sections.iter().filter(|s| s.name.starts_with(".plt")) {
            for entry in (0..s.size).step_by(16) {
                let Some(code) = self.bytes(s.addr.saturating_add(entry), 16) else {
                    break;
                };
                let mut at = 0;
                if code.starts_with(&[0xf3, 0x0f, 0x1e, 0xfa]) {
                    at = 4;
                }
                if code.get(at) == Some(&0xf2) {
                    at += 1;
                }
                if code.get(at..at + 2) != Some(&[0xff, 0x25][..]) {
                    continue;
                }
                let Some(disp) = code
                    .get(at + 2..at + 6)
                    .and_then(|b| b.try_into().ok())
                    .map(i32::from_le_bytes)
                else {
                    continue;
                };
                let slot = s
                    .addr
                    .wrapping_add(entry + at as u64 + 6)
                    .wrapping_add_signed(i64::from(disp));
                if let Some(name) = self.slots.get(&slot) {
                    stubs.insert(s.addr.wrapping_add(entry), name.clone());
                }
            }
        }
        self.stubs = stubs;
    }

    /// The code section holding `addr`.
    fn code_section(&self, addr: u64) -> Option<&Section> {
        self.sections.iter().find(|s| {
            s.flags & SHF_EXECINSTR != 0
                && s.kind != 8
                && s.addr <= addr
                && addr < s.addr.saturating_add(s.size)
        })
    }

    /// Up to `len` bytes of code at `addr`, within its section.
    fn bytes(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        let s = self.code_section(addr)?;
        let start = s.offset.saturating_add(addr - s.addr);
        let end = start
            .saturating_add(len)
            .min(s.offset.saturating_add(s.size));
        self.data
            .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    /// The symbol a call reaches, through a PLT stub or a GOT slot.
    fn callee(&self, target: Target) -> Option<&str> {
        match target {
            Target::Direct(to) => self.stubs.get(&(to as u64)),
            Target::Slot(slot) => self.slots.get(&(slot as u64)),
        }
        .map(String::as_str)
    }
}

impl Code for File<'_> {
    fn read(&self, addr: usize, buf: &mut [u8]) -> usize {
        match self.bytes(addr as u64, buf.len() as u64) {
            Some(bytes) => {
                buf[..bytes.len()].copy_from_slice(bytes);
                bytes.len()
            }
            None => 0,
        }
    }

    fn is_errno_location(&self, target: Target) -> bool {
        self.callee(target) == Some("__errno_location")
    }

    fn is_hooked(&self, target: Target) -> bool {
        self.callee(target)
            .is_some_and(|name| self.hooked.iter().any(|h| h == name))
    }
}

/// The call sites of `hooked` functions in the ELF file `data`, each
/// classified; empty for anything but an x86-64 ELF file.
pub fn sites(data: &[u8], hooked: &[&str]) -> Vec<Site> {
    let Some(mut file) = File::parse(data) else {
        return Vec::new();
    };
    file.hooked = crate::functions::Function::ALL
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let mut found = Vec::new();
    for s in file
        .sections
        .iter()
        .filter(|s| s.flags & SHF_EXECINSTR != 0 && s.kind != 8 && !s.name.starts_with(".plt"))
    {
        let Some(code) = file
            .data
            .get(s.offset as usize..(s.offset + s.size) as usize)
        else {
            continue;
        };
        let mut at = 0usize;
        while at < code.len() {
            let pc = (s.addr as usize).wrapping_add(at);
            let window = &code[at..code.len().min(at + 15)];
            let Some((len, target)) = errno_check::call_in(window, pc) else {
                at += 1;
                continue;
            };
            at += len;
            let Some(name) = target.and_then(|t| file.callee(t)) else {
                continue;
            };
            if hooked.contains(&name) {
                let ret = pc + len;
                found.push(Site {
                    ret: ret as u64,
                    function: name.to_string(),
                    verdict: errno_check::classify(&file, ret),
                });
            }
        }
    }
    found
}

/// The largest object swept for call sites: larger ones (none a program
/// or library on a normal system) are passed over.
const MAX_SWEPT: u64 = 512 << 20;

/// The whole of the file at `path`, read through the command's bounded
/// reader (a regular file, opened without blocking), if it is at most
/// [`MAX_SWEPT`] bytes.
fn read_bounded(path: &std::path::Path) -> Option<Vec<u8>> {
    let opened = crate::elf::open(path).ok()?;
    if opened.size > MAX_SWEPT {
        return None;
    }
    let mut data = Vec::new();
    let chunk = crate::elf::MAX_TABLE;
    let mut at = 0;
    while at < opened.size {
        let len = chunk.min(opened.size - at);
        data.extend(opened.read(at, len).ok()?);
        at += len;
    }
    Some(data)
}

/// The variable that makes `eintrfix check` list every call site (read by
/// the command only).
pub const LIST_VARIABLE: &str = "EINTRFIX_CHECK_SITES";

/// `eintrfix check`'s lines about one object's call sites of `hooked`
/// functions: how many handle EINTR themselves; with
/// `EINTRFIX_CHECK_SITES=list` in the environment, each site too.
pub fn report(object: &std::path::Path, hooked: &[&str]) -> Vec<String> {
    let Some(data) = read_bounded(object) else {
        return Vec::new();
    };
    let found = sites(&data, hooked);
    if found.is_empty() {
        return Vec::new();
    }
    let (handles, ignores, unknown) = counts(&found);
    let mut lines = vec![format!(
        "{}: {} call sites of hooked functions: {handles} handle EINTR themselves (their \
         EINTR passes, as bare), {ignores} do not (the usual rules){}",
        crate::shown(object),
        found.len(),
        if unknown > 0 {
            format!(", {unknown} could not be decoded (the usual rules)")
        } else {
            String::new()
        }
    )];
    if std::env::var_os(LIST_VARIABLE).is_some_and(|v| v == "list") {
        lines.extend(found.iter().map(|s| {
            format!(
                "  site {:#x} {} {}",
                s.ret,
                s.function,
                match s.verdict {
                    Verdict::Handles => "handles",
                    Verdict::Ignores => "ignores",
                    Verdict::Unknown => "unknown",
                }
            )
        }));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Compiles C `source` with gcc at `opt` and classifies the sites of
    /// `read`, `recv` and `poll` in it, in order of address.
    fn classify_c(source: &str, opt: &str) -> Vec<(String, Verdict)> {
        let dir = std::env::temp_dir().join(format!(
            "eintrfix-sites-{}-{}",
            std::process::id(),
            source.len() * 10 + opt.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let c = dir.join("sample.c");
        let bin = dir.join(format!("sample{opt}"));
        std::fs::write(&c, source).unwrap();
        let status = Command::new("gcc")
            .arg(opt)
            .arg("-o")
            .arg(&bin)
            .arg(&c)
            .status()
            .expect("gcc runs");
        assert!(status.success());
        let data = std::fs::read(&bin).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        sites(&data, &["read", "recv", "poll", "sleep", "nanosleep"])
            .into_iter()
            .map(|s| (s.function, s.verdict))
            .collect()
    }

    const HEADER: &str = "#include <errno.h>\n#include <poll.h>\n#include <signal.h>\n\
        #include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n\
        #include <sys/socket.h>\n#include <time.h>\nvolatile sig_atomic_t hup;\n\
        void reload(void) { puts(\"reload\"); }\n";

    /// Each sample: C code, and whether its one call site handles EINTR.
    const SAMPLES: &[(&str, &str, Verdict)] = &[
        (
            "loop_with_flag",
            "ssize_t f(int fd, char *b) { for (;;) { ssize_t n = read(fd, b, 64);\n\
             if (n >= 0) return n; if (errno != EINTR) return -1;\n\
             if (hup) { hup = 0; reload(); } } }",
            Verdict::Handles,
        ),
        (
            "while_eintr_flag",
            "ssize_t f(int fd, char *b) { ssize_t n;\n\
             while ((n = read(fd, b, 64)) < 0 && errno == EINTR) if (hup) reload();\n\
             return n; }",
            Verdict::Handles,
        ),
        (
            "poll_loop_flag",
            "int f(struct pollfd *p) { int r;\n\
             while ((r = poll(p, 1, 1000)) < 0 && errno == EINTR) if (hup) break;\n\
             return r; }",
            Verdict::Handles,
        ),
        (
            "bare_retry_loop",
            "ssize_t f(int fd, char *b) { ssize_t n;\n\
             while ((n = read(fd, b, 64)) < 0 && errno == EINTR) ;\nreturn n; }",
            Verdict::Ignores,
        ),
        (
            "notes_the_eintr",
            "int noted; void f(struct timespec *t) { for (;;) \n\
             if (nanosleep(t, 0) != 0 && errno == EINTR) noted = 1; }",
            Verdict::Ignores,
        ),
        (
            "eagain_then_eintr",
            "ssize_t f(int fd, char *b) { for (;;) { ssize_t n = recv(fd, b, 64, 0);\n\
             if (n >= 0) return n; if (errno == EAGAIN) return -2;\n\
             if (errno == EINTR) { reload(); continue; } return -1; } }",
            Verdict::Handles,
        ),
        (
            "read_or_die",
            "ssize_t f(int fd, char *b) { ssize_t n = read(fd, b, 64);\n\
             if (n < 0) { perror(\"read\"); exit(1); } return n; }",
            Verdict::Ignores,
        ),
        (
            "propagates",
            "ssize_t f(int fd, char *b) { ssize_t n = read(fd, b, 64);\n\
             if (n < 0) { if (errno != EINTR) abort(); return -1; } return n; }",
            Verdict::Ignores,
        ),
        (
            "stop_flag",
            "ssize_t f(int fd, char *b) { for (;;) { ssize_t n = read(fd, b, 64);\n\
             if (n >= 0) return n; if (errno == EINTR && hup) break; exit(1); }\n\
             puts(\"stopped\"); return -1; }",
            Verdict::Ignores,
        ),
        (
            "ignores_result",
            "void f(void) { sleep(3); puts(\"done\"); }",
            Verdict::Ignores,
        ),
    ];

    #[test]
    fn the_decoder_classifies_real_code_shapes() {
        if Command::new("gcc").arg("--version").output().is_err() {
            eprintln!("skipped: no gcc");
            return;
        }
        for opt in ["-O0", "-O2"] {
            for (name, body, expected) in SAMPLES {
                let source = format!(
                    "{HEADER}__attribute__((noinline)) {body}\n\
                     int main(void) {{ return 0; }}\n"
                );
                let found = classify_c(&source, opt);
                assert_eq!(found.len(), 1, "{name} {opt}: {found:?}");
                assert_eq!(found[0].1, *expected, "{name} {opt}");
            }
        }
    }
}
