//! `eintrfix check` on hostile files: each gives a verdict or one error
//! line within 3 s and 200 MB of address space (RLIMIT_AS in the child).
//! The files are made here, small (a sparse file for the large ones): a
//! needed library that is a device, a FIFO or 3 GB; 30 000 section headers
//! that each name the dynamic table or the symbol table; a RUNPATH of
//! 200 000 directories; a program without section headers.

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most a check may take.
const TIME: Duration = Duration::from_secs(3);
/// The address space a check runs in.
const MEMORY: u64 = 200 << 20;

fn eintrfix() -> PathBuf {
    common::library();
    common::root().join("target/release/eintrfix")
}

/// A fresh directory for one test, removed when it ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("eintrfix-hostile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        self.0.join(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a bounded check gave.
struct Checked {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Checked {
    fn verdict(&self) -> &str {
        self.stdout.lines().next().unwrap_or_default()
    }
}

/// `eintrfix check target` in `dir`, in at most [`MEMORY`] of address
/// space, with a peak resident size under 64 MB; killed and failed if it
/// takes over [`TIME`].
fn check_bounded(dir: &Path, target: &Path) -> Checked {
    let out = dir.join("check.out");
    let err = dir.join("check.err");
    let mut cmd = Command::new(eintrfix());
    cmd.arg("check")
        .arg(target)
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY,
                rlim_max: MEMORY,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    // Reaped by wait4 below.
    #[allow(clippy::zombie_processes)]
    let mut child = common::spawn(&mut cmd);
    let pid = child.id() as libc::pid_t;
    // wait4 rather than try_wait: the child's peak resident size too.
    // SAFETY: rusage is plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut status = 0;
    loop {
        // SAFETY: our own child; both pointers are to live locals.
        let waited = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if waited == pid {
            break;
        }
        assert_eq!(waited, 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > TIME {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "check {} took over {TIME:?}; it printed: {}",
                target.display(),
                std::fs::read_to_string(&out).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let peak_kb = usage.ru_maxrss;
    eprintln!(
        "check {}: {:?}, peak resident {peak_kb} KB",
        target.display(),
        start.elapsed()
    );
    let checked = Checked {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    };
    assert!(
        checked.code.is_some(),
        "check {} died (wait status {status:#x}); stderr: {}",
        target.display(),
        checked.stderr
    );
    // Far below the address-space limit: what it reads is bounded. The
    // figure counts the pages the child shared with this test process
    // between fork and exec, so it is an upper bound (a check of /usr/bin/gdb
    // alone peaks near 3 MB).
    assert!(
        peak_kb < 64 << 10,
        "check {}: {peak_kb} KB",
        target.display()
    );
    checked
}

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

fn write_executable(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
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

/// `eintrfix -- target` with no EINTRFIX_* variables: (exit code, stdout,
/// stderr).
fn run_under(target: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(eintrfix());
    cmd.arg("--").arg(target).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    let out = common::output(&mut cmd);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_and_the_command_agree_on_scripts_the_kernel_reads_its_way() {
    let dir = TempDir::new("scripts");
    let body = "\necho \"shim:$LD_PRELOAD\"\n";
    let long = format!("#!/{}", "x".repeat(300));
    for (name, line, runs) in [
        // The kernel trims spaces and tabs only: the interpreter is
        // "/bin/sh\r", which does not exist (ENOENT, 127).
        ("crlf", "#!/bin/sh\r", false),
        // The kernel refuses these (ENOEXEC) and execvp runs /bin/sh.
        ("empty", "#!", true),
        ("blank", "#!  \t", true),
        ("long", long.as_str(), true),
    ] {
        let script = dir.join(name);
        write_executable(&script, format!("{line}{body}").as_bytes());
        let got = check_bounded(&dir.0, &script);
        let (code, stdout, stderr) = run_under(&script, &[]);
        if runs {
            assert_eq!(got.code, Some(0), "{name}: {}", got.stdout);
            assert!(
                got.verdict().starts_with("reachable: ")
                    && got.verdict().contains("a file run by /bin/sh"),
                "{name}: {}",
                got.stdout
            );
            assert_eq!(code, Some(0), "{name}: {stderr}");
            assert!(
                stdout.starts_with("shim:/") && stdout.contains("libeintrfix.so"),
                "{name}: {stdout}"
            );
        } else {
            assert_eq!(got.code, Some(127), "{name}: {}", got.stdout);
            assert!(
                got.verdict().starts_with("cannot run: ")
                    && got.verdict().contains("/bin/sh\\x0d, which does not exist"),
                "{name}: {}",
                got.stdout
            );
            assert_eq!(code, Some(127), "{name}: {stderr}");
        }
    }
}

#[test]
fn check_and_the_command_agree_on_a_symbolic_link_loop() {
    let dir = TempDir::new("loop");
    let looped = dir.join("loop");
    symlink(&looped, &looped).unwrap();
    let got = check_bounded(&dir.0, &looped);
    let (code, _, stderr) = run_under(&looped, &[]);
    assert_eq!(code, Some(126), "{stderr}");
    assert_eq!(got.code, Some(126), "{}", got.stdout);
    assert!(
        got.verdict().starts_with("cannot run: ")
            && got.verdict().contains("Too many levels of symbolic links"),
        "{}",
        got.stdout
    );
    // Found through PATH, the same.
    let out = common::output(
        Command::new(eintrfix())
            .args(["check", "loop"])
            .env("PATH", &dir.0),
    );
    assert_eq!(out.status.code(), Some(126));
    let out = common::output(Command::new(eintrfix()).arg("loop").env("PATH", &dir.0));
    assert_eq!(out.status.code(), Some(126));
}

/// Whether `text` is one line ending in a newline, with no other control
/// character.
fn one_clean_line(text: &str) -> bool {
    text.ends_with('\n') && !text[..text.len() - 1].chars().any(|c| c.is_control())
}

/// Variables to set.
type Env<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn values_in_the_commands_messages_are_escaped() {
    let dir = TempDir::new("escape");
    let forged = "x\neintrfix: forged\x1b[2J";
    let shown = "x\\x0aeintrfix: forged\\x1b[2J";
    let cases: Vec<(Vec<String>, Env)> = vec![
        (vec![format!("./{forged}")], vec![]),
        (vec![format!("--{forged}"), "prog".into()], vec![]),
        (
            vec!["--policy".into(), forged.into(), "prog".into()],
            vec![],
        ),
        (vec!["prog".into()], vec![("EINTRFIX_POLICY", forged)]),
        (vec!["prog".into()], vec![("EINTRFIX_LIB", forged)]),
        (
            vec![
                "--log-file".into(),
                format!("/nonexistent/{forged}/log"),
                "prog".into(),
            ],
            vec![],
        ),
        (vec!["check".into(), "a".into(), forged.into()], vec![]),
    ];
    for (args, env) in cases {
        let out = common::output(
            Command::new(eintrfix())
                .args(&args)
                .envs(env.iter().copied())
                .current_dir(&dir.0),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains(shown) && one_clean_line(&format!("{first}\n")),
            "{args:?} {env:?}: {stderr:?}"
        );
        assert!(!stderr.contains(forged), "{args:?}: {stderr:?}");
    }
    // check: a file whose name forges a verdict, and a name not found.
    let named = dir.join(format!("{forged}\nreachable: fake"));
    write_executable(&named, b"#!/bin/sh\n");
    for target in [named, dir.join(forged)] {
        let got = check_bounded(&dir.0, &target);
        assert!(
            got.verdict().contains(shown) && !got.stdout.contains(forged),
            "{:?}",
            got.stdout
        );
        assert!(!got.stdout.lines().any(|l| l.starts_with("reachable: fake")));
    }
}

#[test]
fn the_target_of_a_refused_link_is_escaped() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to make links of another user");
        return;
    }
    let shared = TempDir::new("refused-link");
    std::fs::set_permissions(&shared.0, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let forged = "t\neintrfix: forged\x1b[2J";
    let planted = shared.join(forged);
    symlink("/nonexistent", &planted).unwrap();
    std::os::unix::fs::lchown(&planted, Some(65534), None).unwrap();
    let ours = shared.join("app.log");
    symlink(&planted, &ours).unwrap();
    let out = common::output(
        Command::new(eintrfix())
            .arg("--log-file")
            .arg(&ours)
            .args(["--", "true"]),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("its link target '")
            && stderr.contains("t\\x0aeintrfix: forged\\x1b[2J' is a symbolic link")
            && one_clean_line(&stderr),
        "{stderr:?}"
    );
}
