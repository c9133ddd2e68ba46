//! One build for every glibc from 2.17 on (docs/portability.md).
//!
//! - The library and the command that `make lib` builds need no glibc
//!   symbol version above GLIBC_2.17, weak or not: read from their ELF
//!   version-needs sections, checked against a file known to need more.
//! - The legacy C programs and the stdio programs, built for glibc 2.17
//!   and 2.28 with `../shared/oldglibc/VERSION/cc`, fail bare and work with
//!   the library preloaded, and under the command. Where `../shared` is
//!   absent these say so in one line and pass.

mod common;
use common::{output, run, Mode, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The newest glibc version the built files may need.
const OLDEST_GLIBC: (u32, u32) = (2, 17);

/// One version need of an ELF file: the file it names, the version, and
/// whether it is weak (`VER_FLG_WEAK`).
#[derive(Debug)]
struct Need {
    file: String,
    version: String,
    weak: bool,
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?)).ok()
}

fn string_at(data: &[u8], at: usize) -> Option<String> {
    let bytes = data.get(at..)?;
    let end = bytes.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// The version needs of a 64-bit little-endian ELF file (its
/// `SHT_GNU_verneed` section), and whether it has an interpreter (is
/// dynamically linked).
fn version_needs(path: &Path) -> (Vec<Need>, bool) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        data.starts_with(b"\x7fELF\x02\x01"),
        "{}: not a 64-bit little-endian ELF file",
        path.display()
    );
    let parse = || -> Option<(Vec<Need>, bool)> {
        const PT_INTERP: u32 = 3;
        const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;
        let (phoff, shoff) = (u64_at(&data, 0x20)?, u64_at(&data, 0x28)?);
        let (phentsize, phnum) = (u16_at(&data, 0x36)? as usize, u16_at(&data, 0x38)? as usize);
        let (shentsize, shnum) = (u16_at(&data, 0x3a)? as usize, u16_at(&data, 0x3c)? as usize);
        let interp = (0..phnum).any(|i| u32_at(&data, phoff + i * phentsize) == Some(PT_INTERP));
        let section = |i: usize| shoff + i * shentsize;
        let mut needs = Vec::new();
        for i in 0..shnum {
            if u32_at(&data, section(i) + 4)? != SHT_GNU_VERNEED {
                continue;
            }
            let offset = u64_at(&data, section(i) + 0x18)?;
            let strings = u64_at(
                &data,
                section(u32_at(&data, section(i) + 0x28)? as usize) + 0x18,
            )?;
            let mut entry = offset;
            loop {
                // Elf64_Verneed: version, count, file, aux, next.
                let count = u16_at(&data, entry + 2)?;
                let file = string_at(&data, strings + u32_at(&data, entry + 4)? as usize)?;
                let mut aux = entry + u32_at(&data, entry + 8)? as usize;
                for _ in 0..count {
                    // Elf64_Vernaux: hash, flags, other, name, next.
                    let flags = u16_at(&data, aux + 4)?;
                    let version = string_at(&data, strings + u32_at(&data, aux + 8)? as usize)?;
                    needs.push(Need {
                        file: file.clone(),
                        version,
                        weak: flags & 2 != 0,
                    });
                    aux += u32_at(&data, aux + 12)? as usize;
                }
                match u32_at(&data, entry + 12)? {
                    0 => break,
                    next => entry += next as usize,
                }
            }
        }
        Some((needs, interp))
    };
    parse().unwrap_or_else(|| panic!("{}: malformed ELF file", path.display()))
}

/// `GLIBC_2.34` as (2, 34); `None` for anything else.
fn glibc_version(name: &str) -> Option<(u32, u32)> {
    let mut parts = name.strip_prefix("GLIBC_")?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The needs of `path` above [`OLDEST_GLIBC`], weak ones included: a weak
/// need does not stop a program from loading, but it names a glibc the
/// file was not built for, and the symbols behind it are missing there.
fn too_new(path: &Path) -> Vec<Need> {
    version_needs(path)
        .0
        .into_iter()
        .filter(|n| glibc_version(&n.version).is_some_and(|v| v > OLDEST_GLIBC))
        .collect()
}

fn command() -> PathBuf {
    common::library();
    common::root().join("target/release/eintrfix")
}

#[test]
fn the_library_and_the_command_need_nothing_above_glibc_2_17() {
    for path in [common::library().to_path_buf(), command()] {
        let newer: Vec<String> = too_new(&path)
            .iter()
            .map(|n| {
                format!(
                    "{} from {}{}",
                    n.version,
                    n.file,
                    if n.weak { " (weak)" } else { "" }
                )
            })
            .collect();
        assert!(
            newer.is_empty(),
            "{} needs glibc versions above 2.17: {}",
            path.display(),
            newer.join(", ")
        );
    }
    let (needs, dynamic) = version_needs(common::library());
    assert!(
        dynamic || needs.iter().any(|n| n.version == "GLIBC_2.2.5"),
        "the library's needs were not read: {needs:?}"
    );
}

/// The check sees what a plain build needs: Debian 12's own programs need
/// glibc 2.34 (`__libc_start_main`).
#[test]
fn the_check_sees_a_newer_need() {
    let true_ = Path::new("/bin/true");
    let needs = version_needs(true_).0;
    let newest = needs.iter().filter_map(|n| glibc_version(&n.version)).max();
    if newest <= Some(OLDEST_GLIBC) {
        eprintln!("/bin/true needs no glibc above 2.17 here: the check is not exercised");
        return;
    }
    assert!(!too_new(true_).is_empty());
    assert!(needs.iter().all(|n| !n.file.is_empty()));
}

/// Where the old glibc runtimes are, if `../shared` is beside the project.
fn runtime(version: &str) -> Option<PathBuf> {
    let dir = common::root().join("../shared/oldglibc").join(version);
    if dir.join("cc").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: no {} (the glibc {version} runtime beside the project)",
            dir.display()
        );
        None
    }
}

/// The legacy programs run on old glibc: each exits 1 when its call fails
/// with EINTR (bare), 0 when it completes. Those left out use what glibc
/// 2.17 or 2.28 lacks (`pwritev2`, `F_OFD_SETLK`, `sem_clockwait`,
/// `epoll_pwait2`) or need arguments (the stdio programs, below).
const LEGACY: &[&str] = &[
    "read_pipe",
    "write_pipe",
    "recv_socket",
    "send_socket",
    "recvfrom_socket",
    "recv_fortified",
    "read_fortified",
    "accept_late",
    "accept4_late",
    "connect_unix_backlog",
    "connect_timeout",
    "sock_msgs",
    "nanosleep_storm",
    "time_sleeps",
    "proc_wait",
    "waitpid_late",
    "mux_fortified",
    "sig_alarm_rearm",
    "sig_longjmp",
    "sig_siginfo",
    "sig_thread_wakeup",
    "sig_stop_cont",
    "rt_tail_call",
    "stdio_stop_flag",
    "trace_fork",
];

/// (family, transport) runs of the stdio programs.
const STDIO: &[(&str, &str, &str)] = &[
    ("stdio_read", "fgets", "pipe"),
    ("stdio_read", "fread", "socket"),
    ("stdio_read", "fscanf", "pipe"),
    ("stdio_read", "getc_unlocked", "socket"),
    ("stdio_write", "fprintf", "pipe"),
    ("stdio_write", "fwrite", "socket"),
    ("stdio_write", "fflush", "pipe"),
    ("stdio_write", "fclose", "socket"),
];

/// Builds `c-tests/NAME.c` for the runtime in `dir` into
/// `target/oldglibc/VERSION/`. The runtime's `*.so` development links
/// may be stored as files holding the link's target, which the linker
/// cannot read: the libraries are named by their sonames, and libgcc is
/// linked statically (gcc would otherwise ask for `libgcc_s.so`).
fn build(dir: &Path, version: &str, name: &str) -> PathBuf {
    let out_dir = common::root().join("target/oldglibc").join(version);
    std::fs::create_dir_all(&out_dir).expect("target/oldglibc");
    let out = out_dir.join(name);
    let source = common::root().join("c-tests").join(format!("{name}.c"));
    let mut cc = Command::new(dir.join("cc"));
    cc.args(["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-static-libgcc"]);
    if name.ends_with("_fortified") {
        cc.arg("-D_FORTIFY_SOURCE=2");
    }
    cc.arg("-I")
        .arg(common::root().join("c-tests"))
        .arg("-o")
        .arg(&out)
        .arg(&source)
        .args(["-l:libpthread.so.0", "-l:librt.so.1"]);
    // dlopen is in libdl before glibc 2.34; the other programs do without
    // it, so that the library finds no dlsym in them.
    if name == "rt_late_load" || name == "first_call_locked" {
        cc.arg("-l:libdl.so.2");
    }
    let built = output(&mut cc);
    assert!(
        built.status.success(),
        "{} for glibc {version}: {}",
        source.display(),
        String::from_utf8_lossy(&built.stderr)
    );
    out
}

fn failed_bare(run: &Run) -> bool {
    run.code == Some(1)
}

/// The stdio programs' bare failure: EINTR (exit 1), or bytes lost (2).
fn stdio_failed_bare(run: &Run) -> bool {
    run.code == Some(1)
        || (run.code == Some(2)
            && (run.stderr.contains(" is '") || run.stderr.contains(" lines of ")))
}

fn on_old_glibc(version: &str) {
    let Some(dir) = runtime(version) else {
        return;
    };
    let mut failures = Vec::new();
    for name in LEGACY {
        let program = build(&dir, version, name);
        let bare = run(&program, &[], Mode::Bare);
        if !failed_bare(&bare) {
            failures.push(format!("{name} bare: expected exit 1: {bare:?}"));
        }
        let shim = run(&program, &[], Mode::Shim(&[]));
        if shim.code != Some(0) || shim.stderr.contains("eintrfix") {
            failures.push(format!("{name} under the shim: {shim:?}"));
        }
    }
    for &(name, family, transport) in STDIO {
        let program = common::root()
            .join("target/oldglibc")
            .join(version)
            .join(name);
        let program = if program.exists() {
            program
        } else {
            build(&dir, version, name)
        };
        let bare = run(&program, &[family, transport], Mode::Bare);
        if !stdio_failed_bare(&bare) {
            failures.push(format!("{name} {family} {transport} bare: {bare:?}"));
        }
        let shim = run(&program, &[family, transport], Mode::Shim(&[]));
        if shim.code != Some(0) || shim.stderr.contains("eintrfix") {
            failures.push(format!(
                "{name} {family} {transport} under the shim: {shim:?}"
            ));
        }
    }
    // The command needs no glibc at all (it is static) and runs a program
    // built for this one.
    let program = build(&dir, version, "read_pipe");
    let through = output(
        Command::new(command())
            .arg("--")
            .arg(&program)
            .env_remove("LD_PRELOAD"),
    );
    if through.status.code() != Some(0) {
        failures.push(format!("eintrfix -- read_pipe: {through:?}"));
    }
    let check = output(Command::new(command()).arg("check").arg(&program));
    if !String::from_utf8_lossy(&check.stdout).contains("reachable") {
        failures.push(format!("eintrfix check read_pipe: {check:?}"));
    }
    // A runtime loaded after the first handler install: known from the
    // next install on (this glibc has no `_dl_find_object`).
    let library = build_library(&dir, version, "late_read");
    let late = build(&dir, version, "rt_late_load");
    for (again, code) in [(false, 0), (true, 1)] {
        if let Err(e) = late_runtime(&late, &library, again, code) {
            failures.push(e);
        }
    }
    // First calls resolve without the loader's lock, also where dlsym is
    // libdl's and libpthread's functions come before libc's.
    let library = build_library(&dir, version, "first_calls");
    let locked = build(&dir, version, "first_call_locked");
    let library = library.to_str().unwrap_or_default();
    for mode in [Mode::Bare, Mode::Shim(&[])] {
        let first = run(&locked, &[library], mode);
        if first.code != Some(0) {
            failures.push(format!("first_call_locked: {first:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "glibc {version}:\n{}",
        failures.join("\n")
    );
}

/// `c-tests/lib/NAME.c` built by the `cc` wrapper of the runtime in `dir`
/// into target/oldglibc/VERSION/libNAME.so.
fn build_library(dir: &Path, version: &str, name: &str) -> PathBuf {
    let out = common::root()
        .join("target/oldglibc")
        .join(version)
        .join(format!("lib{name}.so"));
    compile_library(Command::new(dir.join("cc")), name, &out);
    out
}

/// `c-tests/lib/NAME.c` built by `cc` (gcc, or a runtime's `cc` wrapper)
/// into `out`.
fn compile_library(mut cc: Command, name: &str, out: &Path) {
    cc.args(["-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC"])
        .args(["-static-libgcc", "-Wl,-z,now", "-o"])
        .arg(out)
        .arg(common::root().join(format!("c-tests/lib/{name}.c")))
        .arg("-l:libpthread.so.0");
    let built = output(&mut cc);
    assert!(built.status.success(), "lib{name}.so: {built:?}");
}

/// Runs `rt_late_load LIBRARY [again]` with the library named as a
/// runtime: exit 1 when its read kept its EINTR, 0 when it was retried.
fn late_runtime(program: &Path, library: &Path, again: bool, code: i32) -> Result<(), String> {
    let library = library.to_str().unwrap_or_default();
    let mut args = vec![library];
    if again {
        args.push("again");
    }
    let bare = run(program, &args, Mode::Bare);
    if bare.code != Some(1) {
        return Err(format!("rt_late_load bare: {bare:?}"));
    }
    let shim = run(
        program,
        &args,
        Mode::Shim(&[("EINTRFIX_RUNTIMES", "liblate_read.so")]),
    );
    if shim.code != Some(code) {
        return Err(format!(
            "rt_late_load {args:?}: expected exit {code}: {shim:?}"
        ));
    }
    Ok(())
}

/// Where glibc has `_dl_find_object` (2.35 and later: the build machine's),
/// a runtime loaded later is known at once.
#[test]
fn a_runtime_loaded_later_is_known_at_once_with_dl_find_object() {
    // SAFETY: a NUL-terminated name; RTLD_DEFAULT is a valid handle.
    let find = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_dl_find_object".as_ptr()) };
    if find.is_null() {
        eprintln!("skipped: this glibc has no _dl_find_object");
        return;
    }
    let program = common::c_program("rt_late_load");
    let library = common::root().join("target/c-tests/liblate_read.so");
    compile_library(Command::new("gcc"), "late_read", &library);
    for again in [false, true] {
        late_runtime(&program, &library, again, 1).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn legacy_programs_on_glibc_2_17_fail_bare_and_work_under_the_shim() {
    on_old_glibc("2.17");
}

#[test]
fn legacy_programs_on_glibc_2_28_fail_bare_and_work_under_the_shim() {
    on_old_glibc("2.28");
}

/// The last x86-64 system call of Linux 3.10, the oldest kernel supported
/// (`finit_module`, 3.8; `sched_setattr`, 314, came with 3.14).
const LAST_SYSCALL_OF_3_10: u32 = 313;

/// A seccomp filter that answers every x86-64 system call newer than
/// Linux 3.10 with ENOSYS, as that kernel would, and `denied` with EPERM
/// (what a container's policy answers).
#[cfg(target_arch = "x86_64")]
fn old_kernel_filter(denied: &[i64]) -> Vec<libc::sock_filter> {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let ret_errno = |errno: i32| {
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | errno as u32,
        )
    };
    let allow = stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW);
    let mut filter = vec![
        // seccomp_data: nr at 0, arch at 4.
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 4),
        jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            AUDIT_ARCH_X86_64,
            1,
            0,
        ),
        allow,
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        jump(
            libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K,
            LAST_SYSCALL_OF_3_10,
            0,
            1,
        ),
        ret_errno(libc::ENOSYS),
    ];
    for &number in denied {
        filter.push(jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            number as u32,
            0,
            1,
        ));
        filter.push(ret_errno(libc::EPERM));
    }
    filter.push(allow);
    filter
}

/// Makes `cmd` run under `filter` (installed between fork and exec).
#[cfg(target_arch = "x86_64")]
fn under_filter(cmd: &mut Command, filter: &[libc::sock_filter]) {
    use std::os::unix::process::CommandExt;
    // The filter outlives the child's exec: it is leaked.
    let filter: &'static [libc::sock_filter] = Box::leak(filter.to_vec().into_boxed_slice());
    // SAFETY: only prctl between fork and exec, with a filter that lives
    // as long as the process.
    unsafe {
        cmd.pre_exec(move || {
            let program = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr().cast_mut(),
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &program) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// On a kernel without the system calls newer than Linux 3.10 (ENOSYS),
/// and where `process_vm_readv` is refused (EPERM, as Docker's default
/// policy does before Linux 4.8), the legacy and stdio programs still work
/// under the shim, and the command still runs them.
#[cfg(target_arch = "x86_64")]
#[test]
fn on_an_old_kernel_nothing_fails_that_worked() {
    let mut failures = Vec::new();
    for denied in [&[][..], &[libc::SYS_process_vm_readv][..]] {
        let filter = old_kernel_filter(denied);
        let label = if denied.is_empty() {
            "3.10"
        } else {
            "3.10, process_vm_readv refused"
        };
        for name in LEGACY {
            let program = common::c_program(name);
            let shim = common::run_with(&program, &[], Mode::Shim(&[]), |cmd| {
                under_filter(cmd, &filter)
            });
            if shim.code != Some(0) || shim.stderr.contains("eintrfix") {
                failures.push(format!("{label}: {name} under the shim: {shim:?}"));
            }
        }
        for &(name, family, transport) in STDIO {
            let program = common::c_program(name);
            let args = [family, transport];
            let bare = common::run_with(&program, &args, Mode::Bare, |cmd| {
                under_filter(cmd, &filter)
            });
            if !stdio_failed_bare(&bare) {
                failures.push(format!(
                    "{label}: {name} {family} {transport} bare: {bare:?}"
                ));
            }
            let shim = common::run_with(&program, &args, Mode::Shim(&[]), |cmd| {
                under_filter(cmd, &filter)
            });
            if shim.code != Some(0) || shim.stderr.contains("eintrfix") {
                failures.push(format!(
                    "{label}: {name} {family} {transport} under the shim: {shim:?}"
                ));
            }
        }
        let program = common::c_program("read_pipe");
        let through = common::run_with(
            &command(),
            &["--", program.to_str().unwrap_or_default()],
            Mode::Bare,
            |cmd| under_filter(cmd, &filter),
        );
        if through.code != Some(0) {
            failures.push(format!("{label}: eintrfix -- read_pipe: {through:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
