//! What every integration test shares: the built library, the built C
//! programs, and running a program bare or under the shim.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The project's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the release library (what users run) once, and returns its path.
pub fn library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --release failed");
        let lib = root().join("target/release/libeintrfix.so");
        assert!(lib.exists(), "{} missing", lib.display());
        lib
    })
}

/// Builds the C programs once (`make c-tests`) and returns one's path.
pub fn c_program(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new("make")
            .args(["-s", "c-tests"])
            .current_dir(root())
            .status()
            .expect("make runs");
        assert!(status.success(), "make c-tests failed");
    });
    let path = root().join("target/c-tests").join(name);
    assert!(path.exists(), "{} missing", path.display());
    path
}

/// How to run a program.
#[derive(Clone, Copy, Debug)]
pub enum Mode<'a> {
    /// Without the shim.
    Bare,
    /// Preloaded with the shim and these variables.
    Shim(&'a [(&'a str, &'a str)]),
}

/// What a run gave.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// A `NAME_ms=VALUE` figure the program printed.
    pub fn figure_ms(&self, name: &str) -> f64 {
        let key = format!("{name}_ms=");
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in stdout: {}", self.stdout))
    }
}

/// Runs `program` with `args` in `mode`, with no EINTRFIX_* variables but
/// those given, and a 30 s limit.
pub fn run(program: &Path, args: &[&str], mode: Mode) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") || key == "LD_PRELOAD" {
            cmd.env_remove(key);
        }
    }
    if let Mode::Shim(vars) = mode {
        cmd.env("LD_PRELOAD", library());
        for (k, v) in vars {
            cmd.env(k, v);
        }
    }
    let start = Instant::now();
    let out: Output = cmd
        .arg0_timeout(Duration::from_secs(30))
        .output()
        .expect("program runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Runs a C test program by name.
pub fn run_c(name: &str, mode: Mode) -> Run {
    run(&c_program(name), &[], mode)
}

/// A command that kills its child after a time limit.
trait Timeout {
    fn arg0_timeout(&mut self, limit: Duration) -> &mut Self;
}

impl Timeout for Command {
    /// Runs the command under `timeout(1)` semantics: SIGKILL after `limit`.
    fn arg0_timeout(&mut self, limit: Duration) -> &mut Self {
        use std::os::unix::process::CommandExt;
        let secs = limit.as_secs().max(1);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            self.pre_exec(move || {
                libc::alarm(secs as libc::c_uint);
                Ok(())
            })
        }
    }
}
