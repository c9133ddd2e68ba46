//! `eintrfix check` on hostile files: each gives a verdict or one error
//! line within 3 s and 200 MB of address space (RLIMIT_AS in the child).
//! The files are made here, small (a sparse file for the large ones): a
//! needed library that is a device, a FIFO or 3 GB; 30 000 section headers
//! that each name the dynamic table or the symbol table; a RUNPATH of
//! 200 000 directories; a program without section headers.

mod common;

use common::check::{check_bounded, eintrfix, write_executable, Checked, TempDir};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Compiles C `source` with gcc and `flags` into `output`.
fn gcc(dir: &Path, source: &str, output: &Path, flags: &[&str]) {
    let c = dir.join(format!(
        "{}.c",
        output.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&c, source).unwrap();
    let status = common::status(
        Command::new("gcc")
            .current_dir(dir)
            .arg("-O2")
            .arg("-o")
            .arg(output)
            .arg(&c)
            .args(flags),
    );
    assert!(status.success(), "gcc {flags:?} failed");
}

const PROGRAM: &str = "#include <unistd.h>\n\
    int main(int argc, char **argv) { char b[4]; (void)argv; return (int)read(0, b, (size_t)argc); }\n";

/// A shared library `libhostile.so` in `dir`, and a program `prog` that
/// needs it, found through RUNPATH `$ORIGIN`.
fn program_needing_a_library(dir: &TempDir) -> (PathBuf, PathBuf) {
    let lib = dir.join("libhostile.so");
    gcc(
        &dir.0,
        "int hostile(void) { return 1; }\n",
        &lib,
        &["-shared", "-fPIC"],
    );
    let prog = dir.join("prog");
    gcc(
        &dir.0,
        "int hostile(void);\nint main(void) { return hostile(); }\n",
        &prog,
        &["-L.", "-lhostile", "-Wl,--enable-new-dtags,-rpath,$ORIGIN"],
    );
    (prog, lib)
}

/// That the check says libhostile.so was passed over for `reason`.
fn not_found(got: &Checked, reason: &str) {
    assert!(
        got.stdout
            .contains("needed library not found: libhostile.so")
            && got.stdout.contains(reason),
        "{}",
        got.stdout
    );
}

#[test]
fn a_needed_library_that_is_a_device_is_refused_unread() {
    let dir = TempDir::new("device");
    let (prog, lib) = program_needing_a_library(&dir);
    let fine = check_bounded(&dir.0, &prog);
    assert_eq!(fine.code, Some(1), "{}", fine.stdout);
    assert!(
        fine.stdout.contains("needed libraries read: libhostile.so"),
        "{}",
        fine.stdout
    );
    for device in ["/dev/zero", "/dev/urandom"] {
        std::fs::remove_file(&lib).unwrap();
        symlink(device, &lib).unwrap();
        let got = check_bounded(&dir.0, &prog);
        not_found(&got, "a character device, not a regular file");
    }
}

#[test]
fn a_needed_library_that_is_a_fifo_found_through_origin_does_not_block() {
    // A FIFO with no writer: opening it to read would wait for one.
    let dir = TempDir::new("fifo");
    let (prog, lib) = program_needing_a_library(&dir);
    std::fs::remove_file(&lib).unwrap();
    let fifo = std::ffi::CString::new(lib.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let got = check_bounded(&dir.0, &prog);
    not_found(&got, "a FIFO, not a regular file");
}

#[test]
fn a_huge_sparse_library_is_read_only_where_its_headers_point() {
    // 3 GB: the real library, then a hole. Only its headers and the tables
    // they name are read, so it is read as the library it is.
    let dir = TempDir::new("huge");
    let (prog, lib) = program_needing_a_library(&dir);
    let file = std::fs::OpenOptions::new().write(true).open(&lib).unwrap();
    file.set_len(3 << 30).unwrap();
    let got = check_bounded(&dir.0, &prog);
    assert!(
        got.stdout.contains("needed libraries read: libhostile.so"),
        "{}",
        got.stdout
    );
    // Past any sensible size (sparse too): refused unread.
    if file.set_len(17 << 30).is_ok() {
        let got = check_bounded(&dir.0, &prog);
        not_found(&got, "larger than the 16 GiB");
    }
}

/// The section headers of a 64-bit little-endian ELF file: (offset of the
/// table, entry size, count).
fn section_table(data: &[u8]) -> (usize, usize, usize) {
    assert_eq!(&data[..6], b"\x7fELF\x02\x01", "a 64-bit LSB file");
    let u16_at = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]) as usize;
    let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap()) as usize;
    (shoff, u16_at(0x3a), u16_at(0x3c))
}

/// The section header of `data` of type `kind` (the first).
fn section_of(data: &[u8], kind: u32) -> Vec<u8> {
    let (shoff, size, count) = section_table(data);
    data[shoff..shoff + size * count]
        .chunks(size)
        .find(|h| u32::from_le_bytes(h[4..8].try_into().unwrap()) == kind)
        .expect("the section")
        .to_vec()
}

/// The bytes a section header names.
fn contents<'a>(data: &'a [u8], header: &[u8]) -> &'a [u8] {
    let offset = u64::from_le_bytes(header[24..32].try_into().unwrap()) as usize;
    let size = u64::from_le_bytes(header[32..40].try_into().unwrap()) as usize;
    &data[offset..offset + size]
}

/// `data` with `table` appended, and `copies` more section headers, each
/// a copy of its first header of type `kind` made to name that one table.
fn with_copied_sections(data: &[u8], kind: u32, copies: usize, table: &[u8]) -> Vec<u8> {
    let (shoff, size, count) = section_table(data);
    let old = data[shoff..shoff + size * count].to_vec();
    let mut header = section_of(data, kind);
    let mut out = data.to_vec();
    while out.len() % 8 != 0 {
        out.push(0);
    }
    header[24..32].copy_from_slice(&(out.len() as u64).to_le_bytes());
    header[32..40].copy_from_slice(&(table.len() as u64).to_le_bytes());
    out.extend_from_slice(table);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let new_offset = out.len() as u64;
    out.extend_from_slice(&old);
    for _ in 0..copies {
        out.extend_from_slice(&header);
    }
    out[0x28..0x30].copy_from_slice(&new_offset.to_le_bytes());
    out[0x3c..0x3e].copy_from_slice(&((count + copies) as u16).to_le_bytes());
    out
}

/// The offset of `name` in the string table the section `header` links to.
fn string_offset(data: &[u8], header: &[u8], name: &str) -> u64 {
    let (shoff, size, _) = section_table(data);
    let link = u32::from_le_bytes(header[40..44].try_into().unwrap()) as usize;
    let strings = contents(data, &data[shoff + link * size..shoff + (link + 1) * size]);
    let wanted = format!("\0{name}\0");
    strings
        .windows(wanted.len())
        .position(|w| w == wanted.as_bytes())
        .expect("the name") as u64
        + 1
}

#[test]
fn thousands_of_section_headers_naming_one_table_amplify_nothing() {
    // The loader reads the dynamic segment, never these headers.
    let dir = TempDir::new("sections");
    let prog = dir.join("prog");
    gcc(&dir.0, PROGRAM, &prog, &[]);
    let data = std::fs::read(&prog).unwrap();
    const SHT_DYNAMIC: u32 = 6;
    const SHT_DYNSYM: u32 = 11;
    // One dynamic table of 300 DT_NEEDED entries, all libc.so.6.
    let libc = string_offset(&data, &section_of(&data, SHT_DYNAMIC), "libc.so.6");
    let mut dynamic = Vec::new();
    for _ in 0..300 {
        dynamic.extend_from_slice(&1u64.to_le_bytes());
        dynamic.extend_from_slice(&libc.to_le_bytes());
    }
    dynamic.extend_from_slice(&[0; 16]);
    // One symbol table of 300 undefined functions, all `read`.
    let read = string_offset(&data, &section_of(&data, SHT_DYNSYM), "read") as u32;
    let mut symbols = vec![0u8; 24];
    for _ in 0..300 {
        let mut symbol = [0u8; 24];
        symbol[..4].copy_from_slice(&read.to_le_bytes());
        symbol[4] = 0x12; // STB_GLOBAL, STT_FUNC; st_shndx 0: undefined
        symbols.extend_from_slice(&symbol);
    }
    for (kind, name, table) in [
        (SHT_DYNAMIC, "dynamic", &dynamic),
        (SHT_DYNSYM, "dynsym", &symbols),
    ] {
        let hostile = dir.join(name);
        write_executable(&hostile, &with_copied_sections(&data, kind, 30_000, table));
        assert!(std::fs::metadata(&hostile).unwrap().len() > 1 << 20);
        let got = check_bounded(&dir.0, &hostile);
        assert_eq!(got.code, Some(0), "{name}: {}{}", got.stdout, got.stderr);
        assert!(
            got.verdict().starts_with("reachable: ")
                && got.stdout.contains("imports 1 hooked function: read"),
            "{name}: {}",
            got.stdout
        );
    }
}

#[test]
fn a_program_without_section_headers_is_read_from_its_program_headers() {
    // The kernel and the loader never look at section headers: a program
    // stripped of them runs, and the shim fixes it.
    let dir = TempDir::new("no-sections");
    let mut data = std::fs::read(common::c_program("read_pipe")).unwrap();
    section_table(&data);
    data[0x28..0x30].fill(0);
    data[0x3c..0x40].fill(0);
    let prog = dir.join("read_pipe");
    write_executable(&prog, &data);
    let got = check_bounded(&dir.0, &prog);
    assert_eq!(got.code, Some(0), "{}", got.stdout);
    assert!(
        got.verdict().starts_with("reachable: ") && got.stdout.contains(" read"),
        "{}",
        got.stdout
    );
    let bare = common::output(Command::new(&prog).stdin(Stdio::null()));
    assert_eq!(bare.status.code(), Some(1), "bare it fails");
    let under = common::output(
        Command::new(eintrfix())
            .arg("--")
            .arg(&prog)
            .stdin(Stdio::null()),
    );
    assert_eq!(
        under.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&under.stderr)
    );
}

#[test]
fn a_runpath_of_200000_directories_fails_with_one_line_or_is_deduplicated() {
    let dir = TempDir::new("runpath");
    let (_, _) = program_needing_a_library(&dir);
    // Forty needed libraries, each searched along the whole path.
    let mut link = vec![
        "-L.".to_string(),
        "-Wl,--enable-new-dtags,--no-as-needed".to_string(),
    ];
    for i in 0..40 {
        std::fs::copy(dir.join("libhostile.so"), dir.join(format!("libh{i}.so"))).unwrap();
        link.push(format!("-l:libh{i}.so"));
    }
    let source = "int hostile(void);\nint main(void) { return hostile(); }\n";
    for (name, entries, distinct) in [
        (
            "distinct",
            (0..200_000)
                .map(|i| format!("/nonexistent/{i}"))
                .collect::<Vec<_>>(),
            true,
        ),
        ("repeated", vec!["$ORIGIN".to_string(); 200_000], false),
    ] {
        let response = dir.join(format!("{name}.rsp"));
        std::fs::write(&response, format!("-rpath '{}'\n", entries.join(":"))).unwrap();
        let prog = dir.join(name);
        let mut flags: Vec<String> = link.clone();
        flags.push(format!("-Wl,@{}", response.display()));
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        gcc(&dir.0, source, &prog, &flags);
        let got = check_bounded(&dir.0, &prog);
        if distinct {
            assert_eq!(got.code, Some(125), "{}", got.stdout);
            assert_eq!(
                got.stdout,
                format!(
                    "error: {}: a search path (RPATH or RUNPATH) of more than 256 directories\n",
                    prog.display()
                )
            );
        } else {
            assert_eq!(got.code, Some(1), "{}", got.stdout);
            assert!(
                got.stdout.contains("needed libraries read: libh0.so"),
                "{}",
                got.stdout
            );
        }
    }
}
