//! Runtimes that handle EINTR themselves keep their own behaviour under the
//! shim: CPython's own calls get their EINTR as they would bare,
//! so its signal handlers run on time, while calls made through ctypes in
//! the same process are still retried. Scripts in `tests/real/`; the C
//! programs of the `rt_` family in `c-tests/`.

mod common;

use common::{c_program, run_c, Mode, Run};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The built command (beside the built library, which it finds there).
fn eintrfix() -> PathBuf {
    common::library();
    common::root().join("target/release/eintrfix")
}

fn script(name: &str) -> PathBuf {
    common::root().join("tests/real").join(name)
}

/// The CPython interpreters to try: Debian's `/usr/bin/python3` (the
/// interpreter is in the executable itself) and the `python3` found in
/// PATH when it is another one (a source build: the interpreter in
/// `libpython3.X.so`, the socket and select modules in `lib-dynload`).
fn interpreters() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for candidate in ["/usr/bin/python3", "python3"] {
        let out = Command::new(candidate)
            .args(["-c", "import sys; print(sys.executable)"])
            .stdin(Stdio::null())
            .output();
        let Ok(out) = out else { continue };
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let real = std::fs::canonicalize(&path).unwrap_or(path);
        if out.status.success() && !found.contains(&real) {
            found.push(real);
        }
    }
    assert!(!found.is_empty(), "no python3");
    found
}

/// Runs `python_runtime.py` with these checks, bare or through
/// `eintrfix OPTIONS --`, with no EINTRFIX_* variables inherited.
fn python(python: &Path, shim: Option<&[&str]>, checks: &[&str]) -> Run {
    let mut cmd = match shim {
        Some(options) => {
            let mut cmd = Command::new(eintrfix());
            cmd.args(options).arg("--").arg(python);
            cmd
        }
        None => Command::new(python),
    };
    cmd.arg(script("python_runtime.py")).args(checks);
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") || key == "LD_PRELOAD" {
            cmd.env_remove(key);
        }
    }
    let start = Instant::now();
    let child = with_default_signals(&mut cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    // A time limit for a run that hangs (the scripts use SIGALRM
    // themselves, so alarm(2) cannot be the limit).
    let pid = child.id() as libc::pid_t;
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(60)).is_err() {
            // SAFETY: kill has no memory effects; the child is not reaped
            // until `done` is sent.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().expect("python runs");
    let _ = done.send(());
    let _ = watchdog.join();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// SIGINT and SIGHUP start at their defaults, even when the tests run from
/// a background job or under nohup.
fn with_default_signals(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGHUP, libc::SIG_DFL);
            Ok(())
        })
    }
}

/// Python's own checks: what must behave exactly as bare.
const OWN: &[&str] = &[
    "watchdog",
    "hup_sleep",
    "hup_read",
    "ctrl_c",
    "alarm",
    "storm_read",
];
/// The ctypes calls, made in the same process after the own checks.
const CTYPES: &[&str] = &[
    "ctypes_read",
    "ctypes_recv",
    "ctypes_waitpid",
    "ctypes_nanosleep",
];

fn assert_within(what: &str, value: f64, low: f64, high: f64) {
    assert!(
        (low..=high).contains(&value),
        "{what} = {value:.2} ms, expected {low}..{high}"
    );
}

#[test]
fn python_handlers_run_on_time_and_ctypes_calls_are_still_retried() {
    for interpreter in interpreters() {
        let who = interpreter.display();
        let bare = python(&interpreter, None, OWN);
        assert_eq!(bare.code, Some(0), "{who} bare: {bare:?}");
        let checks: Vec<&str> = OWN.iter().chain(CTYPES).copied().collect();
        let fixed = python(
            &interpreter,
            Some(&["--log", "info", "--json", "--summary"]),
            &checks,
        );
        assert_eq!(fixed.code, Some(0), "{who} under the shim: {fixed:?}");
        for check in &checks {
            assert!(
                fixed.stdout.contains(&format!("ok {check}\n")),
                "{who}: {check} {fixed:?}"
            );
        }
        // The watchdog: a 0.5 s repeating timer whose handler raises, around
        // a read nobody answers. Bare it fires after 500 ms; retried, never.
        let (b, f) = (bare.figure_ms("watchdog"), fixed.figure_ms("watchdog"));
        assert_within("bare watchdog", b, 499.0, 600.0);
        assert_within("watchdog under the shim", f, 499.0, 600.0);
        assert!((f - b).abs() < 25.0, "{who}: watchdog {f} ms, bare {b} ms");
        // A SIGHUP handler during time.sleep(3) and during os.read: it runs
        // as soon as the signal arrives (retried, 2.7 s later or never).
        for hup in ["hup_sleep", "hup_read"] {
            assert_within(&format!("bare {hup}"), bare.figure_ms(hup), 0.0, 25.0);
            assert_within(hup, fixed.figure_ms(hup), 0.0, 25.0);
        }
        // Ctrl+C and signal.alarm, as before: 300 ms and 1 s.
        for (name, at) in [("ctrl_c", 300.0), ("alarm", 1000.0)] {
            assert_within(name, bare.figure_ms(name), at - 1.0, at + 100.0);
            assert_within(name, fixed.figure_ms(name), at - 1.0, at + 100.0);
        }
        // Python's own read under a 1 kHz storm: it retries by itself, and
        // the data, written 300 ms late, arrive intact.
        assert_within("storm_read", fixed.figure_ms("storm_read"), 299.0, 450.0);
        assert_within(
            "ctypes nanosleep",
            fixed.figure_ms("nanosleep"),
            299.0,
            450.0,
        );
        check_reasons(&fixed.stderr, &format!("{who}"));
    }
}

/// The events say which rule decided: Python's own calls (os.read,
/// time.sleep's clock_nanosleep) were left to it; the ctypes calls (read,
/// recv, waitpid, nanosleep through libffi) were retried. The summary
/// counts what was left to the runtime.
fn check_reasons(stderr: &str, who: &str) {
    let events: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("\"action\"") && !l.contains("\"summary\""))
        .collect();
    let field = |line: &str, name: &str| -> String {
        let key = format!("\"{name}\":\"");
        line.split(&key)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("")
            .to_string()
    };
    let with = |function: &str, reason: &str| {
        events
            .iter()
            .filter(|l| field(l, "function") == function && field(l, "reason") == reason)
            .count()
    };
    assert!(with("clock_nanosleep", "runtime") >= 1, "{who}: {stderr}");
    assert_eq!(
        with("clock_nanosleep", "retry_policy"),
        0,
        "{who}: {stderr}"
    );
    // os.read in five checks, then the storm's reads; the ctypes read is
    // retried at every signal of its storm.
    assert!(with("read", "runtime") >= 5, "{who}: {stderr}");
    assert!(with("read", "retry_policy") > 10, "{who}: {stderr}");
    for function in ["recv", "waitpid", "nanosleep"] {
        assert!(with(function, "retry_policy") > 10, "{who}: {function}");
        assert_eq!(with(function, "runtime"), 0, "{who}: {function}");
    }
    let summary = stderr
        .lines()
        .find(|l| l.contains("\"summary\":true") && l.contains("\"function\":\"read\""))
        .unwrap_or_else(|| panic!("{who}: no summary for read: {stderr}"));
    let runtime: usize = summary
        .split("\"runtime\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{who}: {summary}"));
    assert_eq!(runtime, with("read", "runtime"), "{who}: {summary}");
}

#[test]
fn runtimes_none_retries_python_calls_as_before() {
    let interpreter = &interpreters()[0];
    let run = python(interpreter, Some(&["--runtimes", "none"]), &["hup_sleep"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    // The handler waits for the 3 s sleep (the signal comes at 0.3 s).
    assert_within("hup_sleep", run.figure_ms("hup_sleep"), 2650.0, 3200.0);
}

#[test]
fn python_imports_its_blocking_calls_through_the_plt() {
    // What the runtime rule relies on: CPython calls these through its
    // PLT (or GOT), where the shim's hook is bound. Debian builds the
    // socket and select modules into the interpreter; a source build
    // loads them from lib-dynload, which `check` does not read.
    for interpreter in interpreters() {
        let out = Command::new(eintrfix())
            .arg("check")
            .arg(&interpreter)
            .output()
            .expect("eintrfix check runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        let mut expected = vec![
            "read",
            "write",
            "clock_nanosleep",
            "waitpid",
            "sem_clockwait",
        ];
        if text.contains("imports") && text.contains(" recv ") {
            expected.extend(["send", "accept4", "connect", "select", "poll"]);
        } else {
            assert!(
                !interpreter.starts_with("/usr/bin"),
                "Debian's python3 imports recv: {text}"
            );
        }
        for function in expected {
            assert!(
                text.split_whitespace().any(|w| w == function),
                "{}: {function} not imported: {text}",
                interpreter.display()
            );
        }
    }
}

/// A legacy C program named in EINTRFIX_RUNTIMES is treated as a runtime:
/// its own calls keep their EINTR, as bare.
#[test]
fn a_program_named_as_a_runtime_keeps_its_eintr() {
    let program = c_program("read_pipe");
    let path = program.to_str().expect("a UTF-8 path");
    for (value, code) in [
        ("read_pipe", 1),
        (path, 1),
        ("auto,read_pipe", 1),
        ("auto", 0),
        ("none", 0),
        ("libsomething.so.1", 0),
        ("/elsewhere/read_pipe", 0),
    ] {
        let run = run_c("read_pipe", Mode::Shim(&[("EINTRFIX_RUNTIMES", value)]));
        assert_eq!(run.code, Some(code), "EINTRFIX_RUNTIMES={value}: {run:?}");
        if code == 1 {
            assert!(
                run.stderr.contains("read: Interrupted system call"),
                "{run:?}"
            );
        }
    }
    let traced = run_c(
        "read_pipe",
        Mode::Shim(&[("EINTRFIX_RUNTIMES", "read_pipe"), ("EINTRFIX_LOG", "info")]),
    );
    assert!(
        traced.stderr.contains("action=passed reason=runtime"),
        "{traced:?}"
    );
}

/// A call reached by a jump (a tail call) has no return address of its
/// own caller on the stack: the search goes on up the stack, stops within
/// it, and the call is retried like any program's, in the main thread
/// and in another, even for a program named as a runtime.
#[test]
fn a_tail_called_read_is_retried_and_the_search_stays_on_the_stack() {
    let bare = run_c("rt_tail_call", Mode::Bare);
    assert_eq!(bare.code, Some(1), "{bare:?}");
    assert!(bare.stderr.contains("Interrupted system call"), "{bare:?}");
    for vars in [
        &[][..],
        &[("EINTRFIX_RUNTIMES", "rt_tail_call")],
        &[("EINTRFIX_LOG", "info")],
    ] {
        let run = run_c("rt_tail_call", Mode::Shim(vars));
        assert_eq!(run.code, Some(0), "{vars:?}: {run:?}");
    }
    // With almost no environment the main thread's stack ends right above
    // main's frame.
    let run = Command::new("env")
        .arg("-i")
        .arg(format!("LD_PRELOAD={}", common::library().display()))
        .arg(c_program("rt_tail_call"))
        .output()
        .expect("env runs");
    assert_eq!(run.status.code(), Some(0), "{run:?}");
}

/// `c-tests/lib/stale_words.c` built into target/c-tests, once.
fn stale_words_library() -> &'static Path {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let out = common::root().join("target/c-tests/libstale_words.so");
        let built = common::output(
            Command::new("cc")
                .args([
                    "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o",
                ])
                .arg(&out)
                .arg(common::root().join("c-tests/lib/stale_words.c")),
        );
        assert!(built.status.success(), "libstale_words.so: {built:?}");
        out
    })
}

/// A stale return address cannot stand for the live caller: the hook's
/// frames keep slots they never write, where the other side's earlier
/// calls of `write` left their return addresses; the read that meets the
/// storm right after is judged by its own call site. The program's read
/// after the runtime's words is retried; the runtime's read after the
/// program's words keeps its EINTR. Both fail bare.
#[test]
fn a_stale_return_address_is_not_taken_for_the_caller() {
    let program = c_program("rt_stale_word");
    let library = stale_words_library().to_str().expect("a UTF-8 path");
    for (side, code) in [("program", 0), ("runtime", 1)] {
        let bare = common::run(&program, &[library, side], Mode::Bare);
        assert_eq!(bare.code, Some(1), "{side} bare: {bare:?}");
        for (runtimes, code) in [("libstale_words.so", code), ("none", 0)] {
            let run = common::run(
                &program,
                &[library, side],
                Mode::Shim(&[("EINTRFIX_RUNTIMES", runtimes)]),
            );
            assert_eq!(
                run.code,
                Some(code),
                "{side}, EINTRFIX_RUNTIMES={runtimes}: {run:?}"
            );
        }
    }
}
