//! What the shim adds must never crash, stall or corrupt a program: bad
//! pointers fail as bare, small alternate signal stacks, many threads
//! under storms, the shim's own output. See docs/reliability.md.

mod common;
use common::{run_c, Mode};

const POLICIES: [&[(&str, &str)]; 4] = [
    &[],
    &[("EINTRFIX_POLICY", "pass")],
    &[("EINTRFIX_POLICY", "log")],
    &[("EINTRFIX_LOG", "info")],
];

/// `program` with no `EINTRFIX_*` variable and no `LD_PRELOAD` from the
/// caller's environment.
fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") || key == "LD_PRELOAD" {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(std::process::Stdio::null());
    cmd
}

/// A new directory with `mode`, for a test that needs root; `None` (the
/// test says it skipped) otherwise.
fn root_dir(name: &str, mode: u32, why: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root, {why}");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("eintrfix-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    Some(dir)
}

#[test]
fn select_with_an_unreadable_set_fails_with_efault_as_bare() {
    let bare = run_c("hostile_select", Mode::Bare);
    assert_eq!(bare.code, Some(0), "bare: {bare:?}");
    for vars in POLICIES {
        let shim = run_c("hostile_select", Mode::Shim(vars));
        assert_eq!(shim.code, Some(0), "under the shim with {vars:?}: {shim:?}");
    }
}

/// The bytes of an alternate signal stack the deepest delivery touched.
fn altstack_used(mode: Mode) -> usize {
    let run = common::run(&common::c_program("hostile_altstack"), &["measure"], mode);
    assert_eq!(run.code, Some(0), "{run:?}");
    run.stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("used="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no used= in {run:?}"))
}

/// What the trampoline may add to the program's handler on its stack.
const ADDED_AT_MOST: usize = 128;

#[test]
fn the_trampoline_adds_at_most_128_bytes_on_an_alternate_stack() {
    let bare = altstack_used(Mode::Bare);
    for vars in POLICIES {
        let shim = altstack_used(Mode::Shim(vars));
        assert!(
            shim <= bare + ADDED_AT_MOST,
            "with {vars:?}: {shim} bytes used under the shim, {bare} bare"
        );
    }
}

/// Runs `hostile_altstack ARGS` bare and under the shim in every policy: each must
/// exit 0.
fn altstack_works(args: &[&str]) {
    let program = common::c_program("hostile_altstack");
    let bare = common::run(&program, args, Mode::Bare);
    assert_eq!(bare.code, Some(0), "bare {args:?}: {bare:?}");
    for vars in POLICIES {
        let shim = common::run(&program, args, Mode::Shim(vars));
        assert_eq!(shim.code, Some(0), "{args:?} with {vars:?}: {shim:?}");
    }
}

#[test]
fn a_stack_just_big_enough_bare_is_big_enough_under_the_shim() {
    let size = (altstack_used(Mode::Bare) + ADDED_AT_MOST).to_string();
    altstack_works(&["read", &size]);
    altstack_works(&["stdio", &size]);
}

#[test]
fn stdio_under_a_storm_on_a_sigstksz_stack_with_a_guard_page() {
    altstack_works(&["stdio", "8192"]);
}

#[test]
fn nothing_below_an_alternate_stack_without_a_guard_page_is_written() {
    altstack_works(&["noguard", "8192"]);
    let size = (altstack_used(Mode::Bare) + ADDED_AT_MOST).to_string();
    altstack_works(&["noguard", &size]);
}

#[test]
fn an_alternate_stack_made_read_only_during_the_handler() {
    altstack_works(&["readonly"]);
}

/// The calls of each name `strace -f -c` counted in a run of `program`
/// under the shim, with `padding` bytes of environment (which moves the
/// main thread's stack).
fn syscall_counts(
    program: &std::path::Path,
    args: &[&str],
    padding: usize,
) -> std::collections::HashMap<String, u64> {
    let out = std::env::temp_dir().join(format!("eintrfix-strace-{}", std::process::id()));
    let mut cmd = clean_command(common::installed("strace"));
    cmd.args(["-f", "-c", "-o"])
        .arg(&out)
        .arg("-E")
        .arg(format!("LD_PRELOAD={}", common::library().display()))
        .arg(program)
        .args(args)
        .env("PADDING", "x".repeat(padding));
    let run = common::output(&mut cmd);
    assert!(run.status.success(), "{program:?} under strace: {run:?}");
    let text = std::fs::read_to_string(&out).expect("strace's table");
    let _ = std::fs::remove_file(&out);
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields.last()?.to_string();
            let calls = fields.get(3)?.parse().ok()?;
            Some((name, calls))
        })
        .collect()
}

/// The stack is read in place when the interrupted stack pointer is at
/// least 256 bytes into its page (see `src/code/words.rs`): of eight runs
/// whose stacks are 512 bytes apart, at most one is not. A signal that
/// lands while the thread runs inside libc scans further, past that page
/// (the copy then costs a system call), more often on a loaded machine:
/// so the bound is on all eight runs together, half a system call per
/// delivery (the previous version made four per delivery; idle, this one
/// makes under 0.05).
#[test]
fn a_delivery_into_a_blocked_call_makes_no_system_call_of_the_shims() {
    for (program, args) in [
        ("read_pipe", &[][..]),
        ("stdio_read", &["fgets", "pipe"][..]),
    ] {
        let mut runs = Vec::new();
        for shift in 0..8 {
            let counts = syscall_counts(&common::c_program(program), args, shift * 512);
            let count = |name: &str| counts.get(name).copied().unwrap_or(0);
            let signals = count("rt_sigreturn");
            assert!(
                signals >= 20,
                "{program}: only {signals} signals: {counts:?}"
            );
            let shims: u64 = ["getpid", "gettid", "process_vm_readv", "rt_sigaction"]
                .iter()
                .map(|name| count(name))
                .sum();
            runs.push((signals, shims));
        }
        // Start-up and the first handler install make a few.
        let deliveries: u64 = runs.iter().map(|&(signals, _)| signals).sum();
        let shims: u64 = runs.iter().map(|&(_, shims)| shims).sum();
        assert!(
            shims <= 80 + deliveries / 2,
            "{program}: (deliveries, the shim's system calls) per run: {runs:?}"
        );
    }
}

/// Runs `read_pipe` (a storm program that never writes to stderr) with
/// `EINTRFIX_LOG=info` and `vars`, its stderr piped to a reader that reads
/// one line and leaves, as `2>&1 >/dev/null | head -1` does.
fn lines_to_a_reader_that_leaves(
    vars: &[(&str, &str)],
    reader: impl FnOnce(&mut std::process::Child),
) -> std::process::ExitStatus {
    use std::process::Stdio;
    let mut cmd = clean_command(common::c_program("read_pipe"));
    cmd.env("LD_PRELOAD", common::library())
        .env("EINTRFIX_LOG", "info")
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = common::spawn(&mut cmd);
    reader(&mut child);
    child.wait().expect("wait")
}

#[test]
fn the_shims_lines_to_a_pipe_whose_reader_left_never_kill_the_program() {
    use std::io::BufRead;
    let status = lines_to_a_reader_that_leaves(&[], |child| {
        let stderr = child.stderr.take().expect("stderr");
        let mut first = String::new();
        std::io::BufReader::new(stderr)
            .read_line(&mut first)
            .expect("a line");
        assert!(first.contains("eintrfix"), "{first:?}");
    });
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn a_log_fifo_whose_reader_left_never_kills_the_program() {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("eintrfix-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("log");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    // The reader is there first (a FIFO without one is refused at open).
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            let file = std::fs::File::open(&fifo).expect("the FIFO opens");
            let mut first = String::new();
            std::io::BufReader::new(file)
                .read_line(&mut first)
                .expect("a line");
            first
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    let status =
        lines_to_a_reader_that_leaves(&[("EINTRFIX_LOG_FILE", fifo.to_str().unwrap())], |_| {});
    let first = reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(first.contains("eintrfix"), "{first:?}");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// What the library said on stderr about itself, when `read_pipe` ran with
/// `vars` (and a storm, which it survives whatever was said).
fn said(vars: &[(&str, &str)]) -> String {
    let run = run_c("read_pipe", Mode::Shim(vars));
    assert!(matches!(run.code, Some(0 | 1)), "{run:?}");
    run.stderr
}

#[test]
fn a_log_file_path_with_control_characters_is_escaped_in_cannot_open() {
    let stderr = said(&[(
        "EINTRFIX_LOG_FILE",
        "/nonexistent/a\nINFO eintrfix: forged\x1b[31m",
    )]);
    one_escaped_cannot_open(&stderr, "a\\x0aINFO eintrfix: forged\\x1b[31m");
    assert!(!stderr.contains("\nINFO eintrfix: forged"), "{stderr:?}");
}

/// Asserts that `stderr` holds one "cannot open" line, showing `shown`,
/// and no raw escape character.
fn one_escaped_cannot_open(stderr: &str, shown: &str) {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cannot open"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr:?}");
    assert!(lines[0].contains(shown), "{stderr:?}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

#[test]
fn a_huge_value_is_cut_and_the_verdict_kept() {
    let huge = "x".repeat(100 * 1024);
    let stderr = said(&[("EINTRFIX_POLICY", &huge)]);
    let line = stderr
        .lines()
        .find(|l| l.contains("EINTRFIX_POLICY"))
        .expect("a line");
    assert!(
        line.contains("eintrfix is disabled"),
        "{}",
        &line[line.len().saturating_sub(200)..]
    );
    assert!(line.len() < 4096, "{} bytes", line.len());
    let stderr = said(&[("EINTRFIX_LOG_FILE", &format!("/nonexistent/{huge}"))]);
    let line = stderr
        .lines()
        .find(|l| l.contains("cannot open"))
        .expect("a line");
    assert!(
        line.ends_with("logging to stderr instead"),
        "{}",
        &line[line.len().saturating_sub(200)..]
    );
}

#[test]
fn a_refused_link_target_with_control_characters_is_escaped() {
    let Some(dir) = root_dir("sticky", 0o1777, "to plant another user's link") else {
        return;
    };
    use std::os::unix::fs::{lchown, symlink};
    // The program's own link to another user's, whose name is hostile.
    let planted = dir.join("t\n\x1b[31mforged");
    symlink("/tmp/elsewhere", &planted).unwrap();
    lchown(&planted, Some(12345), Some(12345)).unwrap();
    let link = dir.join("log");
    symlink(&planted, &link).unwrap();
    let stderr = said(&[("EINTRFIX_LOG_FILE", link.to_str().unwrap())]);
    let _ = std::fs::remove_dir_all(&dir);
    one_escaped_cannot_open(&stderr, "/t\\x0a\\x1b[31mforged' is");
}

#[test]
fn a_per_process_log_across_a_privilege_dropping_exec_says_nothing_on_stderr() {
    let Some(dir) = root_dir("setpriv", 0o755, "to drop privileges") else {
        return;
    };
    let mut cmd = clean_command(common::installed("setpriv"));
    cmd.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(common::c_program("read_pipe"))
        .env("LD_PRELOAD", common::library())
        .env("EINTRFIX_LOG", "info")
        .env("EINTRFIX_LOG_FILE", dir.join("run-%p.log"));
    let out = common::output(&mut cmd);
    let files = std::fs::read_dir(&dir).unwrap().count();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(files, 1, "setpriv's own file");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "the program's stderr: {stderr:?}");
}
