//! Programs nobody here wrote, from Debian packages, bare and under the
//! shim (run through the `eintrfix` command, as a user would). Each one
//! fails bare with EINTR and works under the shim; docs/runtimes.md's "Real
//! programs" section records these and what the shim cannot fix.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The built command (beside the built library, which it finds there).
fn eintrfix() -> PathBuf {
    common::library();
    common::root().join("target/release/eintrfix")
}

fn script(name: &str) -> PathBuf {
    common::root().join("tests/real").join(name)
}

/// A command with no EINTRFIX_* variables and no LD_PRELOAD inherited,
/// bare or through `eintrfix --`. Panics naming `program` if it is not
/// installed.
fn command(shim: bool, program: &str, args: &[&Path]) -> Command {
    common::installed(program);
    if shim {
        with_options(&[], program, args)
    } else {
        clean(Command::new(program), args)
    }
}

/// `eintrfix OPTIONS -- program args`.
fn with_options(options: &[&str], program: &str, args: &[&Path]) -> Command {
    common::installed(program);
    let mut cmd = Command::new(eintrfix());
    cmd.args(options).args(["--", program]);
    clean(cmd, args)
}

fn clean(mut cmd: Command, args: &[&Path]) -> Command {
    cmd.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") || key == "LD_PRELOAD" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Kills a child still running when the test ends (a failed assertion).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a forking-server run gave.
struct Served {
    /// Clients answered with their own line echoed.
    answered: usize,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Starts the perlipc-style server, drives `clients` clients at it one
/// after another (a pause after each, so that the child serving it exits,
/// and SIGCHLD arrives, while the parent blocks in accept), and collects
/// the server's output.
fn forking_server(shim: bool, clients: usize) -> Served {
    let server = script("forking_server.pl");
    let count = clients.to_string();
    let child = common::spawn(
        command(shim, "perl", &[&server, Path::new(&count)])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut child = Reaped(child);
    let mut stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("the server prints its port");
    let port: u16 = first
        .trim()
        .strip_prefix("port=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));

    let mut answered = 0;
    for i in 0..clients {
        let line = format!("hello {i}\n");
        let reply = (|| -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            stream.write_all(line.as_bytes())?;
            let mut reply = String::new();
            stream.read_to_string(&mut reply)?;
            Ok(reply)
        })();
        if reply.ok().as_deref() == Some(&format!("echo: {line}")) {
            answered += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout");
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    Served {
        answered,
        code: status.code(),
        stdout: rest,
        stderr,
    }
}

#[test]
fn perl_forking_server_dies_bare_and_serves_everyone_under_the_shim() {
    let bare = forking_server(false, 5);
    assert_ne!(bare.code, Some(0), "bare must die: {}", bare.stderr);
    assert!(
        bare.stderr
            .contains("accept failed: Interrupted system call"),
        "{}",
        bare.stderr
    );
    assert!(bare.answered < 5, "bare answered everyone");

    let fixed = forking_server(true, 5);
    assert_eq!(fixed.code, Some(0), "stderr: {}", fixed.stderr);
    assert_eq!(fixed.answered, 5);
    assert_eq!(fixed.stdout.trim(), "served=5");
    assert_eq!(fixed.stderr, "");
}

/// Runs the ctypes script for one libc call.
fn ctypes(shim: bool, call: &str) -> common::Run {
    let start = Instant::now();
    let out = common::output(
        command(
            shim,
            "python3",
            &[&script("ctypes_calls.py"), Path::new(call)],
        )
        .stdin(Stdio::null()),
    );
    common::Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

#[test]
fn python_ctypes_calls_fail_bare_with_errno_4_and_work_under_the_shim() {
    for call in ["read", "recv", "waitpid", "nanosleep"] {
        let bare = ctypes(false, call);
        assert_eq!(bare.code, Some(1), "{call} bare: {bare:?}");
        assert!(
            bare.stderr
                .contains(&format!("{call}: [Errno 4] Interrupted system call")),
            "{call} bare: {}",
            bare.stderr
        );
        let fixed = ctypes(true, call);
        assert_eq!(fixed.code, Some(0), "{call} under the shim: {fixed:?}");
        assert!(fixed.stdout.contains(&format!("ok {call}")), "{fixed:?}");
    }
}

#[test]
fn python_ctypes_nanosleep_keeps_its_deadline_under_the_shim() {
    // 300 ms asked under a 1 kHz storm: re-sleeping `rem` would drift by
    // about 20 ms; the shim's fixed deadline stays within a few ms.
    let fixed = ctypes(true, "nanosleep");
    assert_eq!(fixed.code, Some(0), "{fixed:?}");
    let slept = fixed.figure_ms("nanosleep");
    assert!((300.0..450.0).contains(&slept), "slept {slept} ms");
}

/// Starts the SIGHUP daemon, sends it SIGHUP while it blocks in sysread,
/// then a line of work and end of input.
fn hup_daemon(shim: bool, interpreter: &str, file: &str) -> common::Run {
    let start = Instant::now();
    let mut cmd = command(shim, interpreter, &[&script(file)]);
    // A shell cannot trap a signal that was ignored when it started (as
    // under nohup): give the daemon SIGHUP's default disposition.
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_DFL);
            Ok(())
        })
    };
    let child = common::spawn(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut child = Reaped(child);
    let mut stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("the daemon prints its pid");
    let pid: i32 = first
        .trim()
        .strip_prefix("pid=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {first:?}"));
    // Let it reach sysread, then reload it.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill has no memory effects; pid is our child, still unreaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    std::thread::sleep(Duration::from_millis(200));
    let mut stdin = child.0.stdin.take().expect("stdin");
    let _ = stdin.write_all(b"work\n");
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout");
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.0.wait().expect("wait");
    common::Run {
        code: status.code(),
        stdout: rest,
        stderr,
        elapsed: start.elapsed(),
    }
}

#[test]
fn perl_daemon_survives_a_sighup_reload_under_the_shim() {
    let bare = hup_daemon(false, "perl", "hup_daemon.pl");
    assert_ne!(bare.code, Some(0), "{bare:?}");
    assert!(
        bare.stderr.contains("read failed: Interrupted system call"),
        "{bare:?}"
    );
    let fixed = hup_daemon(true, "perl", "hup_daemon.pl");
    assert_eq!(fixed.code, Some(0), "{fixed:?}");
    // Perl runs its handler only once the retried sysread has returned:
    // the reload happens, late, before the line is processed.
    assert_eq!(fixed.stdout, "got=work reloads=1\ndone reloads=1\n");
}

#[test]
fn lua_posix_daemon_survives_a_sighup_reload_under_the_shim() {
    // lua5.3 and lua-posix: scripts/test-deps installs them.
    let bare = hup_daemon(false, "lua5.3", "hup_daemon.lua");
    assert_eq!(bare.code, Some(1), "{bare:?}");
    assert!(
        bare.stderr.contains("read failed: Interrupted system call"),
        "{bare:?}"
    );
    let fixed = hup_daemon(true, "lua5.3", "hup_daemon.lua");
    assert_eq!(fixed.code, Some(0), "{fixed:?}");
    assert_eq!(fixed.stdout, "got=work reloads=1\ndone reloads=1\n");
}

/// A known limit, tested so that docs/runtimes.md stays true: Perl dies when one
/// signal is pending more than 120 times before its handler can run, and a
/// retried call does not let it run. `--max-retries` under 120 hands the
/// EINTR back to Perl often enough (Perl's own waitpid then retries).
#[test]
fn perl_pending_signal_limit_and_its_workaround() {
    let storm = script("perl_waitpid_storm.pl");
    let run = |options: &[&str]| {
        common::output(with_options(options, "perl", &[&storm]).stdin(Stdio::null()))
    };
    let bare = common::output(&mut command(false, "perl", &[&storm]));
    assert_eq!(bare.status.code(), Some(0), "Perl retries waitpid itself");
    let retried = run(&[]);
    let stderr = String::from_utf8_lossy(&retried.stderr);
    assert_ne!(retried.status.code(), Some(0));
    assert!(
        stderr.contains("Maximal count of pending signals (120) exceeded"),
        "{stderr}"
    );
    let bounded = run(&["--max-retries", "100", "--log", "error"]);
    let stdout = String::from_utf8_lossy(&bounded.stdout);
    assert_eq!(
        bounded.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bounded.stderr)
    );
    assert!(stdout.starts_with("status=7 "), "{stdout}");
}

#[test]
fn dash_read_loop_loses_its_input_bare_and_keeps_it_under_the_shim() {
    let bare = hup_daemon(false, "dash", "hup_daemon.sh");
    // No error message and exit status 0: the input is just not read.
    assert_eq!(bare.code, Some(0), "{bare:?}");
    assert_eq!(bare.stdout, "done reloads=1\n", "{bare:?}");
    let fixed = hup_daemon(true, "dash", "hup_daemon.sh");
    assert_eq!(fixed.code, Some(0), "{fixed:?}");
    assert_eq!(fixed.stdout, "got=work reloads=1\ndone reloads=1\n");
}
