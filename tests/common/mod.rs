//! What every integration test shares: the built library, the built C
//! programs, and running a program bare or under the shim.
#![allow(dead_code)]

pub mod check;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The project's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the release library and command (what users run: `make lib`,
/// which links the command statically) once, and returns the library's
/// path.
pub fn library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let status = Command::new("make")
            .args(["-s", "lib", "CARGO_FLAGS=--quiet"])
            .env("CARGO", env!("CARGO"))
            .current_dir(root())
            .status()
            .expect("make runs");
        assert!(status.success(), "make lib failed");
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

/// What to do about a program the tests need that is not installed.
const INSTALL_HINT: &str =
    "scripts/test-deps installs what the tests need (`make test` runs it first)";

/// The path of `program` as `execvp` would find it in PATH. Panics naming
/// the program when it is not installed, so that a test that needs an
/// interpreter says which one is missing, whether it runs it bare or
/// through `eintrfix --`.
pub fn installed(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .unwrap_or_else(|| panic!("{program} is not installed (not in PATH); {INSTALL_HINT}"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Panics naming the program `cmd` could not start, and why.
fn cannot_start(cmd: &Command, err: std::io::Error) -> ! {
    let program = cmd.get_program().to_string_lossy();
    if err.kind() == std::io::ErrorKind::NotFound {
        panic!("cannot start {program}: {err}; {INSTALL_HINT}")
    }
    panic!("cannot start {program}: {err}")
}

/// `cmd.spawn()`, or a panic that names the program that did not start.
pub fn spawn(cmd: &mut Command) -> Child {
    cmd.spawn().unwrap_or_else(|e| cannot_start(cmd, e))
}

/// `cmd.output()`, or a panic that names the program that did not start.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| cannot_start(cmd, e))
}

/// `cmd.status()`, or a panic that names the program that did not start.
pub fn status(cmd: &mut Command) -> ExitStatus {
    cmd.status().unwrap_or_else(|e| cannot_start(cmd, e))
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
    run_with(program, args, mode, |_| {})
}

/// [`run`], with the command changed by `prepare` first.
pub fn run_with(
    program: &Path,
    args: &[&str],
    mode: Mode,
    prepare: impl FnOnce(&mut Command),
) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    prepare(&mut cmd);
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
    let out = output(cmd.arg0_timeout(Duration::from_secs(30)));
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
pub mod legacy;
