//! One run of the audited program: in its own process group, standard
//! input from a file, its output into files of the audit's temporary
//! directory, bounded by a timeout; the whole group killed at the end.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Set by SIGINT, SIGTERM or SIGHUP: every run stops and the audit cleans up.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `exit(N)`.
    Exit(i32),
    /// A fatal signal.
    Signal(i32),
    /// Still running at the timeout (the group was killed).
    Timeout,
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Exit(n) => write!(f, "exit {n}"),
            Ending::Signal(s) => write!(f, "signal {}", signal_name(*s)),
            Ending::Timeout => write!(f, "timeout"),
        }
    }
}

/// A signal's name, `SIGSEGV`, or its number.
pub fn signal_name(signal: i32) -> String {
    const NAMES: &[(i32, &str)] = &[
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGILL, "SIGILL"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGBUS, "SIGBUS"),
        (libc::SIGFPE, "SIGFPE"),
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGALRM, "SIGALRM"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGUSR2, "SIGUSR2"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == signal)
        .map_or_else(|| signal.to_string(), |(_, name)| (*name).to_string())
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub ending: Ending,
    /// FNV-1a 64 of standard output, and its length.
    pub stdout: (u64, u64),
    /// The same for standard error (`None` under `--no-stderr`).
    pub stderr: Option<(u64, u64)>,
}

/// What changed from `reference` to `other`, in words; empty when nothing.
pub fn changes(reference: &Outcome, other: &Outcome) -> Vec<String> {
    let mut changed = Vec::new();
    if reference.ending != other.ending {
        changed.push(format!("{} -> {}", reference.ending, other.ending));
    }
    if reference.stdout != other.stdout {
        changed.push(format!(
            "stdout ({} -> {} bytes)",
            reference.stdout.1, other.stdout.1
        ));
    }
    if let (Some(a), Some(b)) = (reference.stderr, other.stderr) {
        if a != b {
            changed.push(format!("stderr ({} -> {} bytes)", a.1, b.1));
        }
    }
    changed
}

/// FNV-1a, 64 bits, of everything read from `from`, and its length.
fn hash_all(mut from: impl Read) -> (u64, u64) {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut total = 0u64;
    let mut buf = [0u8; 65536];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return (hash, total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return (hash, total),
        };
        total += n as u64;
        for &b in &buf[..n] {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// How late the audit starts to feed standard input and to read the
/// output: so that the program's first read blocks, and a program that
/// writes more than a pipe holds blocks in a write, as in a pipeline
/// (where such calls are the ones a signal interrupts).
const LATE: Duration = Duration::from_millis(50);

/// Reads a pipe to its end in a thread of its own; the receiver gets the
/// hash.
fn hash_in_thread(from: impl Read + Send + 'static) -> mpsc::Receiver<(u64, u64)> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        std::thread::sleep(LATE);
        let _ = send.send(hash_all(from));
    });
    receive
}

/// What to run, the same for every run but the variables.
pub struct Program {
    pub argv: Vec<std::ffi::OsString>,
    pub stdin: Option<PathBuf>,
    pub timeout: Duration,
    pub with_stderr: bool,
    /// `LD_PRELOAD`'s value, the library first.
    pub preload: std::ffi::OsString,
}

/// Runs the program once with `variables` set. Its standard input,
/// output and error are pipes, as when it runs in a pipeline (where its
/// reads and writes can block, and so be interrupted): the input is
/// copied from `--stdin`'s file, the output hashed as it comes. An error
/// is the audit's own failure.
pub fn run(program: &Program, variables: &[(&str, String)]) -> Result<Outcome, String> {
    let input = match &program.stdin {
        Some(path) => {
            Some(File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?)
        }
        None => None,
    };
    let (first, rest) = program.argv.split_first().ok_or("no program")?;
    let mut command = Command::new(first);
    command
        .args(rest)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LD_PRELOAD", &program.preload)
        .process_group(0);
    for (name, value) in variables {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", first.to_string_lossy()))?;
    let group = child.id() as i32;
    if let (Some(mut input), Some(mut pipe)) = (input, child.stdin.take()) {
        // Ends when the input is copied or the program is gone (EPIPE:
        // this command ignores SIGPIPE, as Rust programs do).
        std::thread::spawn(move || {
            std::thread::sleep(LATE);
            let _ = std::io::copy(&mut input, &mut pipe);
        });
    }
    let stdout = child.stdout.take().map(hash_in_thread);
    let stderr = child.stderr.take().map(hash_in_thread);
    let deadline = Instant::now() + program.timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for the program: {e}")),
        }
        if Instant::now() >= deadline || STOP.load(Ordering::Relaxed) {
            break None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    // The whole group, whatever the program left behind (its children,
    // a helper in the background).
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let ending = match status {
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => Ending::Exit(code),
            (None, Some(signal)) => Ending::Signal(signal),
            (None, None) => Ending::Exit(-1),
        },
        None => {
            let _ = child.wait();
            if STOP.load(Ordering::Relaxed) {
                return Err("interrupted".into());
            }
            Ending::Timeout
        }
    };
    // A process that left the group may hold the pipes open: its output
    // after this second is not counted.
    let collect = |receiver: Option<mpsc::Receiver<(u64, u64)>>| {
        receiver
            .and_then(|r| r.recv_timeout(Duration::from_secs(1)).ok())
            .unwrap_or((0, 0))
    };
    let stdout = collect(stdout);
    let stderr = collect(stderr);
    Ok(Outcome {
        ending,
        stdout,
        stderr: program.with_stderr.then_some(stderr),
    })
}

/// A directory of the audit's own, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Result<TempDir, String> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = base.join(format!(
                "eintrfix-audit-{}-{nanos:x}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        Err("cannot create a temporary directory".into())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

extern "C" fn stop(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// SIGINT, SIGTERM and SIGHUP stop the audit cleanly (runs killed, the
/// temporary directory removed) instead of killing it.
pub fn catch_stops() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `stop` only stores to an atomic: async-signal-safe.
        unsafe {
            libc::signal(
                signal,
                stop as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
}
