//! Reliability: a quick pass of every stress program, the shim
//! loaded into a Rust program, and the CLI's arguments.
//!
//! `cargo test` runs each program of `stress/` once with small figures
//! (seconds in all); `make stress-short` (CI) and `make stress` (long) run
//! them with large ones through `stress/run.sh`, with sanitizers, Python
//! and shell hosts.

mod common;

use common::{root, run, Mode, Run};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Builds the stress programs once and returns one's path.
fn stress_program(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new("make")
            .args(["-s", "stress-programs", "c-tests"])
            .current_dir(root())
            .status()
            .expect("make runs");
        assert!(status.success(), "make stress-programs failed");
    });
    root().join("target/stress").join(name)
}

/// Runs a stress program bare (it must meet EINTR: exit 1) and under the
/// shim (it must pass), with `args`.
fn bare_fails_and_shim_passes(name: &str, args: &[&str]) -> Run {
    let program = stress_program(name);
    let bare = run(&program, args, Mode::Bare);
    assert_eq!(
        bare.code,
        Some(1),
        "{name} {args:?} bare must meet EINTR: {bare:?}"
    );
    assert!(bare.stderr.contains("Interrupted system call"), "{bare:?}");
    shim_passes(name, args)
}

/// pump's kicker and per_thread aim their SIGUSR ticks at threads with
/// tgkill: ticks, not wake-ups, so the stress programs run with the thread
/// rule off (stress/run.sh does the same).
const THREAD_TICKS: &[(&str, &str)] = &[("EINTRFIX_THREAD_SIGNALS", "retry")];

fn shim_passes(name: &str, args: &[&str]) -> Run {
    let fixed = run(&stress_program(name), args, Mode::Shim(THREAD_TICKS));
    assert_eq!(
        fixed.code,
        Some(0),
        "{name} {args:?} under the shim: {fixed:?}"
    );
    fixed
}

#[test]
fn pump_moves_every_byte_exactly_once() {
    let r = bare_fails_and_shim_passes("pump", &["-t", "5", "-m", "4", "-p", "50"]);
    assert!(r.stdout.contains("bytes=20971520"), "{r:?}");
    bare_fails_and_shim_passes("pump_fortified", &["-t", "3", "-m", "2", "-p", "50"]);
}

#[test]
fn stdio_pump_moves_every_byte_exactly_once() {
    let args = ["-t", "4", "-m", "4", "-p", "50"];
    let program = stress_program("stdio_pump");
    let bare = run(&program, &args, Mode::Bare);
    // Bare, a thread reports the EINTR (exit 1), or a reader the hole
    // glibc left when it dropped a buffer whose write failed (exit 2).
    assert!(
        matches!(bare.code, Some(1 | 2)) && bare.stderr.contains("Interrupted system call")
            || bare.code == Some(2) && bare.stderr.contains("wrong"),
        "stdio_pump bare must fail: {bare:?}"
    );
    let r = shim_passes("stdio_pump", &args);
    assert!(r.stdout.contains("pairs=4 "), "{r:?}");
}

#[test]
fn per_thread_signals_stay_on_their_thread() {
    bare_fails_and_shim_passes("per_thread", &["-n", "5"]);
}

#[test]
fn children_run_and_exit_codes_arrive() {
    let r = bare_fails_and_shim_passes("procs", &["-n", "70", "-p", "100"]);
    assert!(r.stdout.contains("iterations=70"), "{r:?}");
}

#[test]
fn handlers_that_call_hooks_and_jump_out() {
    bare_fails_and_shim_passes("handlers", &["-n", "300", "-p", "20", "write"]);
    bare_fails_and_shim_passes("handlers", &["-n", "5", "nested"]);
    let r = shim_passes("handlers", &["-n", "60", "longjmp"]);
    assert!(r.stdout.contains("jumps=60"), "{r:?}");
}

#[test]
fn cancellation_acts_in_every_hooked_call() {
    let r = bare_fails_and_shim_passes("cancel", &["-n", "100"]);
    assert!(r.stdout.starts_with("cancelled=100"), "{r:?}");
    shim_passes("cancel_fortified", &["-n", "30"]);
}

/// Regression: with stderr closed at start, the shim's warnings went into
/// the next file the program opened (which got fd 2).
#[test]
fn warnings_stay_out_of_a_file_that_took_fd_2() {
    let hostile = stress_program("hostile");
    let status = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" stderr-closed 2>&-")
        .arg(&hostile)
        .env("LD_PRELOAD", common::library())
        .env("EINTRFIX_POLICY", "log")
        .stdout(Stdio::piped())
        .output()
        .expect("sh runs");
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
fn fd_limit_and_late_dlopen() {
    bare_fails_and_shim_passes("hostile", &["fd-limit"]);
    let lib = common::library().to_str().expect("utf-8 path");
    let r = run(&stress_program("hostile"), &["dlopen", lib], Mode::Bare);
    assert_eq!(r.code, Some(0), "{r:?}");
}

// ---- the shim loaded into a Rust program ----

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// Byte `k` of test stream `seed`.
fn stream_byte(seed: u64, k: u64) -> u8 {
    let mut x = (seed ^ (k >> 3).wrapping_mul(0x100000001b3)).wrapping_add(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    ((x ^ (x >> 31)) >> ((k & 7) * 8)) as u8
}

/// What the child does under a storm, counting the EINTRs std hands it.
fn rust_workload(seconds: u64) {
    let interrupted = std::sync::Arc::new(AtomicUsize::new(0));
    // SAFETY: a plain handler without SA_RESTART, as legacy code installs.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()), 0);
        let period = libc::timeval {
            tv_sec: 0,
            tv_usec: 100,
        };
        let it = libc::itimerval {
            it_interval: period,
            it_value: period,
        };
        assert_eq!(
            libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()),
            0
        );
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut bytes = 0u64;
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        // threads pumping through socket pairs, checking every byte
        let mut handles = Vec::new();
        for pair in 0..4u64 {
            let seed = round * 16 + pair;
            let (mut a, mut b) = std::os::unix::net::UnixStream::pair().expect("pair");
            let eintr = interrupted.clone();
            handles.push(std::thread::spawn(move || {
                let total = 1u64 << 20;
                let mut pos = 0u64;
                let mut buf = vec![0u8; 7919];
                while pos < total {
                    let n = (buf.len() as u64).min(total - pos) as usize;
                    for (i, b) in buf.iter_mut().take(n).enumerate() {
                        *b = stream_byte(seed, pos + i as u64);
                    }
                    let mut off = 0;
                    while off < n {
                        match a.write(&buf[off..n]) {
                            Ok(w) => off += w,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                                eintr.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("write: {e}"),
                        }
                    }
                    pos += n as u64;
                }
            }));
            let eintr = interrupted.clone();
            handles.push(std::thread::spawn(move || {
                let mut pos = 0u64;
                let mut buf = vec![0u8; 6007];
                loop {
                    match b.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            for (i, &byte) in buf[..n].iter().enumerate() {
                                assert_eq!(
                                    byte,
                                    stream_byte(seed, pos + i as u64),
                                    "lost or duplicated"
                                );
                            }
                            pos += n as u64;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                            eintr.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("read: {e}"),
                    }
                }
                assert_eq!(pos, 1 << 20);
            }));
        }
        // accept (std calls accept4) with a late client
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            s.write_all(b"hi").expect("send");
        });
        let mut conn = loop {
            match listener.accept() {
                Ok((c, _)) => break c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    interrupted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        let mut hi = Vec::new();
        conn.read_to_end(&mut hi).expect("recv");
        assert_eq!(hi, b"hi");
        client.join().expect("client");
        // a child process and its exit code
        let status = Command::new("sh")
            .args(["-c", "sleep 0.02; exit 3"])
            .status()
            .expect("spawn");
        assert_eq!(status.code(), Some(3));
        std::thread::sleep(Duration::from_millis(5));
        for h in handles {
            h.join().expect("pump thread");
        }
        bytes += 4 << 20;
    }
    println!(
        "rust host: interrupted={} bytes={bytes} signals={}",
        interrupted.load(Ordering::Relaxed),
        SIGNALS.load(Ordering::Relaxed)
    );
}

/// The child half of [`rust_program_hosts_the_shim`]; does nothing unless
/// that test started it.
#[test]
#[ignore = "run by rust_program_hosts_the_shim in a child process"]
fn rust_program_child() {
    if let Ok(seconds) = std::env::var("STRESS_RUST_CHILD") {
        rust_workload(seconds.parse().unwrap_or(2));
    }
}

/// This test program itself, a Rust program, runs its workload under a
/// SIGALRM storm bare (std hands it EINTRs) and under the shim (none, and
/// every byte right). `STRESS_SECONDS` sets the time (default 2).
#[test]
fn rust_program_hosts_the_shim() {
    let seconds = std::env::var("STRESS_SECONDS").unwrap_or_else(|_| "2".into());
    let child = |preload: bool| {
        let mut cmd = Command::new(std::env::current_exe().expect("exe"));
        cmd.args([
            "--exact",
            "rust_program_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STRESS_RUST_CHILD", &seconds)
        .env_remove("LD_PRELOAD");
        if preload {
            cmd.env("LD_PRELOAD", common::library());
        }
        let out = cmd.output().expect("child runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "preload={preload}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let figure = |name: &str| -> u64 {
            stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {stdout}"))
        };
        (figure("interrupted="), figure("signals="))
    };
    let (bare_eintr, bare_signals) = child(false);
    assert!(
        bare_eintr > 0,
        "bare, std must see EINTR ({bare_signals} signals)"
    );
    let (shim_eintr, shim_signals) = child(true);
    assert_eq!(
        shim_eintr, 0,
        "under the shim, through {shim_signals} signals"
    );
    assert!(shim_signals > 100);
}

// ---- the CLI's arguments ----

/// Random arguments to `eintrfix`: it never panics and exits 125, 126 or
/// 127 (its own errors) or with the code of the program it ran.
#[test]
fn cli_never_panics_on_random_arguments() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let cli = common::library().with_file_name("eintrfix");
    const WORDS: &[&str] = &[
        "--",
        "-",
        "--policy",
        "--policy=",
        "retry",
        "pass",
        "log",
        "read=pass",
        "bogus",
        "--log",
        "info",
        "--log-file",
        "/nonexistent/x",
        "--pass-signals",
        "INT",
        "SIGFOO",
        "--max-retries",
        "-1",
        "99999999999",
        "--summary",
        "--help",
        "-h",
        "--version",
        "-V",
        "check",
        "--json",
        "-x",
        "--unknown",
        "=",
        "",
        " ",
        "\u{e9}",
        "true",
        "false",
        "/nonexistent/program",
        "/dev/null",
    ];
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let args = prop::collection::vec(
        prop_oneof![
            prop::sample::select(WORDS).prop_map(str::to_string),
            // random options only: a random word could name a real program
            "--[ -~]{0,12}",
        ],
        0..6,
    );
    runner
        .run(&args, |args| {
            let out = Command::new(&cli)
                .args(&args)
                .stdin(Stdio::null())
                .env("RUST_BACKTRACE", "0")
                .output()
                .expect("the CLI runs");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            prop_assert!(!text.contains("panicked"), "{:?}: {}", args, text);
            let code = out.status.code();
            prop_assert!(code.is_some(), "{:?} killed by a signal: {}", args, text);
            // the programs it can run here exit 0 (true; or --help) or 1 (false)
            prop_assert!(
                matches!(code, Some(0 | 1 | 125 | 126 | 127)),
                "{:?} exited {:?}: {}",
                args,
                code,
                text
            );
            Ok(())
        })
        .unwrap();
}
