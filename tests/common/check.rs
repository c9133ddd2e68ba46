//! Running `eintrfix check` bounded in time and memory, in a scratch
//! directory: what the tests of `check` on hostile files and of its
//! verdicts share.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most a check may take.
pub const TIME: Duration = Duration::from_secs(3);
/// The address space a check runs in.
pub const MEMORY: u64 = 200 << 20;

pub fn eintrfix() -> PathBuf {
    super::library();
    super::root().join("target/release/eintrfix")
}

/// A fresh directory for one test, removed when it ends.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("eintrfix-hostile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        self.0.join(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a bounded check gave.
pub struct Checked {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Checked {
    pub fn verdict(&self) -> &str {
        self.stdout.lines().next().unwrap_or_default()
    }
}

/// `eintrfix check target` in `dir`, in at most [`MEMORY`] of address
/// space, with a peak resident size under 64 MB; killed and failed if it
/// takes over [`TIME`].
pub fn check_bounded(dir: &Path, target: &Path) -> Checked {
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
    let mut child = super::spawn(&mut cmd);
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

/// Writes `data` to `path`, executable.
pub fn write_executable(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
