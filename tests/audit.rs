//! `eintrfix audit`: it finds each legacy program's unhandled blocking
//! call at exactly its line, `--fix-check` shows the shim fixes it, a
//! program that handles EINTR everywhere passes at every site, and the
//! audit leaves nothing behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn eintrfix() -> PathBuf {
    common::library();
    common::root().join("target/release/eintrfix")
}

/// The program that handles EINTR everywhere, built once with the C
/// programs' warnings as errors.
fn eintr_safe() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = common::root().join("target/audit-tests");
            std::fs::create_dir_all(&dir).unwrap();
            let out = dir.join("eintr_safe");
            let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "gcc".into()))
                .args(["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-o"])
                .arg(&out)
                .arg(common::root().join("audit-tests/eintr_safe.c"))
                .status()
                .expect("the C compiler runs");
            assert!(status.success(), "audit-tests/eintr_safe.c does not build");
            out
        })
        .clone()
}

/// A fresh temporary directory for one audit, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("eintrfix-audit-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `eintrfix audit OPTIONS -- PROGRAM` with its temporary files in
/// `tmp`.
fn audit(tmp: &Path, options: &[&str], program: &Path) -> Output {
    audit_args(tmp, options, program, &[])
}

/// The same, with arguments for the program.
fn audit_args(tmp: &Path, options: &[&str], program: &Path, args: &[&str]) -> Output {
    Command::new(eintrfix())
        .arg("audit")
        .args(options)
        .arg("--")
        .arg(program)
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .expect("eintrfix runs")
}

/// The JSON an audit printed, after checking its exit status.
fn json_of(out: &Output, status: i32, what: &str) -> String {
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(status),
        "{what}: {json}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json
}

/// That the audit left nothing in its temporary directory.
fn nothing_left(dir: &Path, what: &str) {
    assert!(
        std::fs::read_dir(dir).unwrap().next().is_none(),
        "{what}: files left behind"
    );
}

/// A JSON value's sites, each as (function, line, result, fixed), read
/// with plain string handling (the report is one object per site).
fn sites(json: &str) -> Vec<(String, String, String, String)> {
    let field = |site: &str, name: &str| -> String {
        let key = format!("\"{name}\":");
        let Some(at) = site.find(&key) else {
            return String::new();
        };
        let rest = &site[at + key.len()..];
        if let Some(quoted) = rest.strip_prefix('"') {
            quoted[..quoted.find('"').unwrap_or(0)].to_string()
        } else {
            rest[..rest.find([',', '}']).unwrap_or(rest.len())].to_string()
        }
    };
    json.split("{\"executable\":")
        .skip(1)
        .map(|site| {
            (
                field(site, "function"),
                field(site, "line"),
                field(site, "result"),
                field(site, "fixed"),
            )
        })
        .collect()
}

/// The line of the first line of `c-tests/PROGRAM.c` holding `call`.
fn line_of(program: &str, call: &str) -> String {
    let path = common::root().join(format!("c-tests/{program}.c"));
    let source = std::fs::read_to_string(&path).unwrap();
    let line = source
        .lines()
        .position(|l| l.contains(call))
        .unwrap_or_else(|| panic!("{call} not in {}", path.display()));
    format!("c-tests/{program}.c:{}", line + 1)
}

/// Legacy programs with their arguments, the function of their blocking
/// call and its text. The stdio programs block inside libc, in the
/// stream's own read or write.
const LEGACY: &[(&str, &[&str], &str, &str)] = &[
    ("read_pipe", &[], "read", "n = read(p[0]"),
    ("write_pipe", &[], "write", "n = write(p[1]"),
    ("recv_socket", &[], "recv", "n = recv(sv[0]"),
    ("send_socket", &[], "send", "n = send(sv[0]"),
    ("accept_late", &[], "accept", "fd = accept(listener"),
    ("waitpid_late", &[], "waitpid", "got = waitpid(child"),
    ("proc_wait", &[], "wait", "got = wait(&status)"),
    ("stdio_read", &["fgets", "pipe"], "libc:read", ": fgets(buf"),
    (
        "stdio_write",
        &["fputs", "pipe"],
        "libc:write",
        "fputs(line, out)",
    ),
];

/// Audits `program args` with `--fix-check` (and `options`), asserts it
/// found `function` failing at the line of `call` and that the shim fixes
/// every failing site, and returns the sites.
fn fails_at_its_line(
    options: &[&str],
    program: &str,
    args: &[&str],
    function: &str,
    call: &str,
) -> Vec<(String, String, String, String)> {
    let what = format!("{program} {}", args.join(" "));
    let tmp = Scratch::new(&what.trim_end().replace(' ', "-"));
    let options = [&["--json", "--fix-check", "-j", "2"], options].concat();
    let out = audit_args(&tmp.0, &options, &common::c_program(program), args);
    let json = json_of(&out, 1, &what);
    let expected = line_of(program, call);
    let found = sites(&json);
    let site = found
        .iter()
        .find(|(f, line, _, _)| f == function && line.ends_with(&expected))
        .unwrap_or_else(|| panic!("{what}: no {function} site at {expected}: {found:?}"));
    assert_eq!(
        (site.2.as_str(), site.3.as_str()),
        ("fail", "true"),
        "{what}: {site:?}"
    );
    // Every failing site is one the shim fixes.
    for (f, line, result, fixed) in &found {
        if result == "fail" {
            assert_eq!(fixed, "true", "{what}: {f} at {line}");
        }
    }
    nothing_left(&tmp.0, &what);
    found
}

#[test]
fn finds_each_legacy_programs_blocking_call_and_the_shim_fixes_it() {
    for &(program, args, function, call) in LEGACY {
        fails_at_its_line(&[], program, args, function, call);
    }
}

/// The variadic calls and a call that returns its error number: an `open`
/// that waits for a FIFO's writer, an `fcntl` that waits for a lock
/// another process holds, a relative `clock_nanosleep` (its output left
/// out: `quiet`). Their helpers fail when interrupted and leave the
/// program waiting: the runs are cut at 5 s.
const WAITS: &[(&str, &[&str], &str, &str)] = &[
    (
        "ipc_wait",
        &["open_fifo"],
        "open",
        "done(open(path, O_RDONLY))",
    ),
    (
        "ipc_wait",
        &["fcntl_setlkw"],
        "fcntl",
        "done(fcntl(fd, strstr(call",
    ),
    (
        "time_sleeps",
        &["clock_nanosleep", "quiet"],
        "clock_nanosleep",
        "clock_nanosleep(clock, flags, &req, NULL)",
    ),
];

#[test]
fn finds_the_waits_of_variadic_calls_and_of_clock_nanosleep() {
    for &(program, args, function, call) in WAITS {
        let found = fails_at_its_line(&["--timeout", "5"], program, args, function, call);
        if args == ["fcntl_setlkw"] {
            // Opening a regular file and a lock that does not wait
            // (F_SETLK, in the lock holder) are reached, not interrupted.
            for (function, call) in [
                ("open", "fd = open(path, O_RDWR | O_CREAT, 0600)"),
                ("fcntl", "kind == 1 ? F_SETLK : F_OFD_SETLK"),
            ] {
                let expected = line_of(program, call);
                assert!(
                    found.iter().any(|(f, line, result, _)| f == function
                        && line.ends_with(&expected)
                        && result == "unreached"),
                    "{function} at {expected}: {found:?}"
                );
            }
        }
    }
}

#[test]
fn a_program_that_handles_eintr_everywhere_passes_at_every_site() {
    let tmp = Scratch::new("safe");
    let out = audit(&tmp.0, &["--json"], &eintr_safe());
    let json = json_of(&out, 0, "eintr_safe");
    let found = sites(&json);
    // Its reads, writes, sleeps, polls and waits were all interrupted.
    for function in ["read", "write", "nanosleep", "poll", "waitpid"] {
        assert!(
            found
                .iter()
                .any(|(f, _, r, _)| f == function && r == "pass"),
            "{function}: {found:?}"
        );
    }
    // A close cannot be interrupted: reached, not interrupted.
    assert!(
        found
            .iter()
            .any(|(f, _, r, _)| f == "close" && r == "unreached"),
        "{found:?}"
    );
    assert!(
        found.iter().all(|(f, _, r, _)| r == "pass" || f == "close"),
        "{found:?}"
    );
    nothing_left(&tmp.0, "eintr_safe");
}

#[test]
fn the_table_names_the_site_and_the_command_reproduces_it() {
    let tmp = Scratch::new("table");
    let program = common::c_program("read_pipe");
    let out = audit(&tmp.0, &[], &program);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let expected = line_of("read_pipe", "n = read(p[0]");
    let row = text
        .lines()
        .find(|l| l.starts_with("FAIL") && l.contains(expected.rsplit('/').next().unwrap()))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains(" read ") && row.contains("main+0x") && row.contains("exit 0 -> exit 1"),
        "{row}"
    );
    // The printed command, run as it is, fails the same way.
    let command = text
        .lines()
        .skip_while(|l| {
            !(l.starts_with("reproduce read") && l.contains(expected.rsplit('/').next().unwrap()))
        })
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"))
        .trim();
    assert!(command.starts_with("EINTRFIX_INJECT=read@"), "{command}");
    let again = Command::new("sh").arg("-c").arg(command).output().unwrap();
    assert_eq!(again.status.code(), Some(1), "{command}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("read: Interrupted system call"));
    // Without the variable it passes.
    let bare = Command::new(eintrfix())
        .arg("--")
        .arg(&program)
        .output()
        .unwrap();
    assert_eq!(bare.status.code(), Some(0));
}

#[test]
fn a_hang_is_cut_at_the_timeout_and_its_group_killed() {
    let tmp = Scratch::new("timeout");
    let input = tmp.0.join("input");
    std::fs::write(&input, "x\n").unwrap();
    // A shell, and in its group a sleep that outlives the timeout.
    let script = format!("sleep 31.{}; : marker", std::process::id());
    let out = Command::new(eintrfix())
        .args(["audit", "--timeout", "0.5", "--json", "--stdin"])
        .arg(&input)
        .args(["--", "sh", "-c", &script])
        .env("TMPDIR", &tmp.0)
        .output()
        .unwrap();
    // The reference itself times out: the audit cannot run.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not finish"));
    std::thread::sleep(std::time::Duration::from_millis(100));
    let left = Command::new("pgrep")
        .args(["-f", &format!("sleep 31.{}", std::process::id())])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "a run's process was left running");
    assert!(
        std::fs::read_dir(&tmp.0)
            .unwrap()
            .all(|e| e.unwrap().file_name() == "input"),
        "files left behind"
    );
}

#[test]
fn the_real_signal_mode_interrupts_the_blocked_read_open_and_lock() {
    for &(program, args, function, call) in [LEGACY[0], WAITS[0], WAITS[1]].iter() {
        let tmp = Scratch::new(&format!("signal-{program}-{}", args.join("-")));
        let out = audit_args(
            &tmp.0,
            &["--json", "--signal", "--timeout", "5"],
            &common::c_program(program),
            args,
        );
        let json = json_of(&out, 1, &format!("{program} {args:?} --signal"));
        let expected = line_of(program, call);
        let found = sites(&json);
        assert!(
            found
                .iter()
                .any(|(f, line, r, _)| f == function && line.ends_with(&expected) && r == "fail"),
            "{program} {args:?}: {found:?}"
        );
    }
}

#[test]
fn a_static_program_is_exit_status_2() {
    let tmp = Scratch::new("static");
    let source = tmp.0.join("static.c");
    std::fs::write(&source, "int main(void) { return 0; }\n").unwrap();
    let program = tmp.0.join("static");
    let built = Command::new("gcc")
        .args(["-static", "-o"])
        .arg(&program)
        .arg(&source)
        .status()
        .unwrap();
    assert!(built.success());
    let out = audit(&tmp.0, &[], &program);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not loaded"));
}

#[test]
fn the_nth_call_and_the_shims_own_output() {
    // read_pipe reads once at its blocking call: there is no second call.
    let tmp = Scratch::new("nth");
    let out = Command::new(eintrfix())
        .args(["audit", "--json", "--nth", "2", "--"])
        .arg(common::c_program("read_pipe"))
        .env("TMPDIR", &tmp.0)
        // The shim's events would make stderr differ between runs.
        .env("EINTRFIX_LOG", "info")
        .env("EINTRFIX_SUMMARY", "1")
        .output()
        .unwrap();
    let json = json_of(&out, 0, "read_pipe --nth 2");
    let expected = line_of("read_pipe", "n = read(p[0]");
    assert!(
        sites(&json)
            .iter()
            .any(|(f, line, r, _)| f == "read" && line.ends_with(&expected) && r == "unreached"),
        "{json}"
    );
}

#[test]
fn errors_are_exit_status_2() {
    let tmp = Scratch::new("errors");
    let out = audit(&tmp.0, &[], Path::new("/nonexistent/program"));
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(eintrfix())
        .args(["audit", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(eintrfix())
        .args(["audit", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--fix-check"));
}
