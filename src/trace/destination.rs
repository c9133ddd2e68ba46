//! Where the shim's lines go: stderr, or the file `EINTRFIX_LOG_FILE`
//! names, one per process when the name holds `%p`. The one home of the
//! output fd; [`stderr`] is where lines about the shim itself go.
//!
//! Everything here is async-signal-safe and allocation-free, because it
//! runs on the event path: in signal handlers, in forked children of
//! threaded parents, in `atexit` handlers. Files are handled with raw
//! system calls (`openat`, `fcntl`, `dup3`, `close`): no libc wrapper that
//! the shim or another preloaded library may hook, no variadic call.
//!
//! - A program started with stderr closed gets no lines on stderr: the
//!   next file it opens would take fd 2 and the shim would write into it.
//! - The file is opened for `O_WRONLY | O_APPEND | O_CLOEXEC`, created
//!   with mode 0600 if missing, by the rules of [`open_rules`] (no link
//!   or file planted by another user in a shared sticky directory is
//!   written to), then moved to a high fd with `F_DUPFD_CLOEXEC` so that the
//!   program's own `close`/`dup2` of low fds leaves it alone. Each line is
//!   one `write` on an `O_APPEND` fd: lines from several processes sharing
//!   a file never interleave.
//! - With `%p`, a forked child must not write into its parent's file. The
//!   child notices the pid change at its first line (a file per child that
//!   never logs would be clutter) and opens its own file onto the same fd
//!   number with `dup3`, so a thread still writing to the fd never writes
//!   to a closed or reused descriptor. After `exec`, `O_CLOEXEC` closed the
//!   fd and the new image's constructor opens its file anew.
//! - A file that cannot be opened, or that the rules refuse: one line on
//!   stderr saying so, then stderr.
//! - In a secure-execution program (setuid, setgid, file capabilities:
//!   `getauxval(AT_SECURE)`), `EINTRFIX_LOG_FILE` is ignored, as glibc
//!   ignores its own debugging variables there: otherwise any user could
//!   make a privileged program create or append to any file.

use super::line::Line;
use super::open_rules::{self, Denied};
use crate::config::Config;
use crate::errno;
use crate::once::Once;
use crate::process;
use core::ffi::{c_char, c_int};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The longest `EINTRFIX_LOG_FILE` and expanded path accepted (PATH_MAX).
const MAX_PATH: usize = 4096;

/// Where the shim's lines go, the one home of the output fd: stderr; -1
/// (nowhere) when stderr was closed when the program started; or the log
/// file's high fd.
static FD: AtomicI32 = AtomicI32::new(libc::STDERR_FILENO);
/// Whether stderr was open when the library was loaded.
static STDERR_OPEN: AtomicBool = AtomicBool::new(true);
/// The process whose file `FD` is (meaningful with `%p`).
static OWNER: process::Owner = process::Owner::new();
/// The log file, set up once (`None`: there is none).
static LOG: Once<Option<LogFile>> = Once::new();

/// The log file's path as given, with `%p` unexpanded, made absolute.
struct LogFile {
    template: [u8; MAX_PATH],
    len: usize,
    /// Whether the path holds `%p` (each process opens its own file).
    per_process: bool,
}

impl LogFile {
    fn template(&self) -> &[u8] {
        self.template.get(..self.len).unwrap_or_default()
    }
}

/// Run first by the constructor: when the program was started with stderr
/// closed, the shim's lines go nowhere, because the next file the program
/// opens would get fd 2 and the shim would write into it.
pub fn init() {
    // SAFETY: F_GETFD on fd 2 only asks whether it is open; the raw
    // system call, not libc's fcntl, which is one of the hooked names.
    let closed = errno::preserved(|| unsafe {
        libc::syscall(libc::SYS_fcntl, libc::STDERR_FILENO, libc::F_GETFD) == -1
            && errno::get() == libc::EBADF
    });
    if closed {
        STDERR_OPEN.store(false, Ordering::Relaxed);
        let _ = FD.compare_exchange(
            libc::STDERR_FILENO,
            -1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

/// Where lines about the shim itself go (a bad variable, a log file that
/// cannot be opened): stderr, or -1 if it was closed at start-up.
pub fn stderr() -> c_int {
    if STDERR_OPEN.load(Ordering::Relaxed) {
        libc::STDERR_FILENO
    } else {
        -1
    }
}

/// Whether `fd` is a regular file.
fn is_regular(fd: c_int) -> bool {
    let mut stat = core::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: fstat into a zeroed structure of the right type.
    let ok =
        errno::preserved(|| unsafe { libc::syscall(libc::SYS_fstat, fd, stat.as_mut_ptr()) }) == 0;
    // SAFETY: zeroed is a valid stat, filled on success.
    ok && unsafe { stat.assume_init() }.st_mode & libc::S_IFMT == libc::S_IFREG
}

/// Where lines go now, without setting anything up (for a panic's line).
pub fn current() -> c_int {
    FD.load(Ordering::Relaxed)
}

/// Opens the log file `config` names, once: from the constructor, or
/// lazily from the first line if a hook runs before it.
pub fn setup(config: &Config) {
    LOG.get_or_init(|| open(config));
}

/// Opens the log file, if there is one and it may be opened. Out of line:
/// its path buffers would otherwise make every caller's frame (the
/// constructor's) pages deep, and the stack probes touch those pages in
/// every process.
#[inline(never)]
fn open(config: &Config) -> Option<LogFile> {
    if process::secure_execution() {
        return None;
    }
    let path = config.log_file?;
    let mut file = LogFile {
        template: [0; MAX_PATH],
        len: 0,
        per_process: false,
    };
    let Some(len) = absolute(path, &mut file.template) else {
        report_failure(path, libc::ENAMETOOLONG);
        return None;
    };
    file.len = len;
    file.per_process = has_pid_pattern(file.template());
    let pid = process::getpid();
    match open_log(file.template(), pid) {
        Some(-1) => FD.store(-1, Ordering::Relaxed),
        Some(fd) => {
            if let Some(fd) = move_high(fd) {
                super::line::regular_file(if is_regular(fd) { fd } else { -1 });
                FD.store(fd, Ordering::Relaxed);
            }
        }
        None => {}
    }
    OWNER.set(pid);
    Some(file)
}

/// Writes `path` into `out`, made absolute against the current directory
/// (a child that changes directory still opens its file where the parent
/// would). Returns its length, or None if it does not fit.
fn absolute(path: &[u8], out: &mut [u8; MAX_PATH]) -> Option<usize> {
    let mut len = 0;
    if path.first() != Some(&b'/') {
        // SAFETY: `out` is valid for MAX_PATH bytes; the system call writes
        // the NUL-terminated path into it, or fails. (The system call, not
        // libc's getcwd: one import less for every process to bind.)
        let cwd = unsafe {
            libc::syscall(
                libc::SYS_getcwd,
                out.as_mut_ptr().cast::<c_char>(),
                MAX_PATH,
            )
        };
        // A directory outside a chroot comes back as "(unreachable)/...",
        // which glibc's getcwd reports as a failure: so does this.
        if cwd > 0 && out.first() == Some(&b'/') {
            len = out.iter().position(|&b| b == 0)?;
            *out.get_mut(len)? = b'/';
            len += 1;
        }
    }
    let end = len.checked_add(path.len()).filter(|&end| end < MAX_PATH)?;
    out.get_mut(len..end)?.copy_from_slice(path);
    Some(end)
}

/// The fd to write the next line to, for process `pid`. In a forked child
/// of a `%p` configuration, first opens the child's own file.
pub fn fd(config: &Config, pid: c_int) -> c_int {
    let log = LOG.get_or_init(|| open(config));
    let fd = FD.load(Ordering::Relaxed);
    // No log file, or another caller is opening it: stderr (or nowhere).
    let Some(Some(file)) = log else {
        return fd;
    };
    if fd == libc::STDERR_FILENO || fd < 0 || !file.per_process {
        return fd;
    }
    if OWNER.take_over(pid) {
        reopen_for(file, fd, pid);
    }
    fd
}

/// In a child: points `fd` at the child's own file, or at stderr if it
/// cannot be opened.
fn reopen_for(file: &LogFile, fd: c_int, pid: c_int) {
    let source = match open_log(file.template(), pid) {
        Some(fd) if fd >= 0 => fd,
        _ => libc::STDERR_FILENO,
    };
    super::line::regular_file(-1);
    let regular = is_regular(source);
    // SAFETY: plain system calls on integer fds.
    unsafe {
        libc::syscall(libc::SYS_dup3, source, fd, libc::O_CLOEXEC);
        if source != libc::STDERR_FILENO {
            libc::syscall(libc::SYS_close, source);
        }
    }
    if regular {
        super::line::regular_file(fd);
    }
}

/// Whether `path` holds `%p`, not counting `%%p` (a literal `%p`).
fn has_pid_pattern(path: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = path.get(i) {
        if b == b'%' {
            if path.get(i + 1) == Some(&b'p') {
                return true;
            }
            i += 1;
        }
        i += 1;
    }
    false
}

/// A cursor over a path buffer, keeping the last byte for the NUL.
struct PathWriter<'a> {
    out: &'a mut [u8; MAX_PATH],
    len: usize,
    overflow: bool,
}

impl PathWriter<'_> {
    fn push(&mut self, bytes: &[u8]) {
        match self.out.get_mut(self.len..self.len + bytes.len()) {
            Some(dst) if self.len + bytes.len() < MAX_PATH => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            _ => self.overflow = true,
        }
    }
}

impl Write for PathWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Expands `%p` to `pid` and `%%` to `%` into `out` (NUL-terminated).
/// Returns false if the result does not fit.
fn expand(template: &[u8], pid: c_int, out: &mut [u8; MAX_PATH]) -> bool {
    out.fill(0);
    let mut path = PathWriter {
        out,
        len: 0,
        overflow: false,
    };
    let mut i = 0;
    while let Some(&b) = template.get(i) {
        match (b, template.get(i + 1)) {
            (b'%', Some(b'p')) => {
                let _ = write!(path, "{pid}");
                i += 2;
            }
            (b'%', Some(b'%')) => {
                path.push(b"%");
                i += 2;
            }
            _ => {
                path.push(&[b]);
                i += 1;
            }
        }
    }
    !path.overflow && !template.contains(&0)
}

/// Opens the log file for process `pid`; on failure, says so on stderr.
/// `Some(-1)`: the file is this process's own, written by its image
/// before a privilege-dropping `exec`, and cannot be opened now: lines go
/// nowhere, and nothing is said.
fn open_log(template: &[u8], pid: c_int) -> Option<c_int> {
    let mut path = [0u8; MAX_PATH];
    if !expand(template, pid, &mut path) {
        report_failure(template, libc::ENAMETOOLONG);
        return None;
    }
    let len = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    let flags =
        libc::O_WRONLY | libc::O_APPEND | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
    let error = match open_rules::open(&mut path, len, flags, 0o600) {
        Ok(fd) => return Some(unblocked(fd)),
        Err(Denied::Error(error)) => error,
        Err(Denied::Refused(refusal)) => {
            report(refusal.path, &refusal);
            return None;
        }
    };
    if matches!(error, libc::EACCES | libc::EPERM) && has_pid_pattern(template) && exists(&path) {
        // This process's own file, made by its image before an `exec`
        // that dropped privileges (`setpriv --reuid`, gosu): it was said
        // there, and the program's stderr is the program's.
        return Some(-1);
    }
    report_failure(path.get(..len).unwrap_or_default(), error);
    None
}

/// The log file's fd, made blocking again.
fn unblocked(fd: c_int) -> c_int {
    // O_NONBLOCK only kept the open of a FIFO without a reader from
    // blocking the program (it fails with ENXIO instead); lines are then
    // written blocking, as to stderr.
    // SAFETY: fcntl(F_SETFL) on the fd just opened.
    unsafe {
        libc::syscall(
            libc::SYS_fcntl,
            fd,
            libc::F_SETFL,
            libc::O_WRONLY | libc::O_APPEND,
        )
    };
    fd
}

/// Whether something is at the NUL-terminated `path` (not following a
/// final link).
fn exists(path: &[u8; MAX_PATH]) -> bool {
    let mut stat = core::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `path` is NUL-terminated (expand's contract); `stat` is a
    // valid buffer.
    errno::preserved(|| unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            libc::AT_FDCWD,
            path.as_ptr(),
            stat.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    }) == 0
}

/// The first fd tried for the log: high enough that programs that number
/// their own fds, or `dup2` onto 0..N, do not meet it; below 1024 so that
/// `select` users are not pushed past `FD_SETSIZE` by it.
fn high_fd_floor() -> c_int {
    let mut limit = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is valid for writes; prlimit64 with no new limit
    // only reads this process's (the system call: one import less).
    let read = unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            libc::RLIMIT_NOFILE,
            core::ptr::null::<libc::rlimit64>(),
            &mut limit as *mut libc::rlimit64,
        )
    };
    let cur = if read == 0 {
        limit.rlim_cur.min(1024)
    } else {
        1024
    };
    c_int::try_from(cur / 4 * 3).unwrap_or(768)
}

/// Moves `fd` to a high fd (close-on-exec); keeps it where it is if none
/// is free.
fn move_high(fd: c_int) -> Option<c_int> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on our own fd.
    let high = errno::preserved(|| unsafe {
        libc::syscall(libc::SYS_fcntl, fd, libc::F_DUPFD_CLOEXEC, high_fd_floor())
    });
    match c_int::try_from(high) {
        Ok(high) if high >= 0 => {
            // SAFETY: our own fd, now duplicated.
            unsafe { libc::syscall(libc::SYS_close, fd) };
            Some(high)
        }
        _ => Some(fd),
    }
}

/// One line on stderr: the file cannot be opened because of `error`, and
/// lines go to stderr.
fn report_failure(path: &[u8], error: c_int) {
    report(
        path,
        &format_args!("{} ({})", errno::ErrorName(error), errno::ErrorText(error)),
    );
}

/// One line on stderr: the file cannot be opened, for `reason`, and lines
/// go to stderr.
#[cold]
#[inline(never)]
fn report(path: &[u8], reason: &dyn core::fmt::Display) {
    errno::preserved(|| {
        let mut line = Line::new();
        let _ = write!(
            line,
            "eintrfix: {}: cannot open '{}': {reason}; logging to stderr instead",
            crate::config::LOG_FILE,
            crate::config::Escaped(path)
        );
        line.write_to(stderr());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(template: &str, pid: c_int) -> Option<String> {
        let mut out = [0u8; MAX_PATH];
        expand(template.as_bytes(), pid, &mut out).then(|| {
            let end = out.iter().position(|&b| b == 0).unwrap();
            String::from_utf8(out[..end].to_vec()).unwrap()
        })
    }

    #[test]
    fn pid_patterns() {
        assert_eq!(expanded("/tmp/x.%p.log", 42).unwrap(), "/tmp/x.42.log");
        assert_eq!(expanded("%p-%p", 7).unwrap(), "7-7");
        assert_eq!(expanded("a%%p%", 7).unwrap(), "a%p%");
        assert!(has_pid_pattern(b"/tmp/%p"));
        assert!(!has_pid_pattern(b"/tmp/%%p"));
        assert!(has_pid_pattern(b"/tmp/%%%p"));
        assert!(!has_pid_pattern(b"/tmp/x"));
        assert!(expanded(&"%p".repeat(2048), 12345).is_none());
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        let mut out = [0u8; MAX_PATH];
        let len = absolute(b"/var/log/x", &mut out).unwrap();
        assert_eq!(&out[..len], b"/var/log/x");
        let len = absolute(b"x-%p.log", &mut out).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            std::str::from_utf8(&out[..len]).unwrap(),
            format!("{}/x-%p.log", cwd.display())
        );
        assert!(absolute(&[b'a'; MAX_PATH], &mut out).is_none());
    }
}
