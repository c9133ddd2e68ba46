//! One line of the shim's own output, formatted on the stack and written with
//! one real `write(2)` to the fd it is given (which fd: [`super::destination`]):
//! no allocation, no lock, nothing that goes back through the hooks, so it
//! is safe in signal handlers, forked children, `atexit` handlers and
//! thread-key destructors.

use core::ffi::c_int;
use core::fmt;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// Lines longer than this are cut; a pipe write this size is atomic.
pub const MAX_LINE: usize = 4096;

/// A line being built in a fixed buffer.
pub struct Line {
    buf: [u8; MAX_LINE],
    len: usize,
    truncated: bool,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    /// An empty line.
    pub const fn new() -> Line {
        Line {
            buf: [0; MAX_LINE],
            len: 0,
            truncated: false,
        }
    }

    /// Appends bytes, keeping room for the final newline.
    pub fn push(&mut self, bytes: &[u8]) {
        let room = MAX_LINE - 1 - self.len;
        let n = bytes.len().min(room);
        if n < bytes.len() {
            self.truncated = true;
        }
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + n), bytes.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
    }

    /// What has been written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// How many bytes have been written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops what was written after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
            self.truncated = false;
        }
    }

    /// Whether something did not fit.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Ends the line with a newline and writes it to `fd` in one call,
    /// keeping `errno` as it was; see [`write_line`].
    pub fn write_to(&mut self, fd: c_int) {
        if self.as_bytes().last() != Some(&b'\n') {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b'\n';
                self.len += 1;
            }
        }
        write_line(fd, self.as_bytes());
    }
}

/// The log file's fd when it is a regular file (no SIGPIPE can come of a
/// write to it), else -1: set by [`super::destination`].
static REGULAR: AtomicI32 = AtomicI32::new(-1);

/// Notes that `fd` is the log file and a regular file (-1: none is).
pub fn regular_file(fd: c_int) {
    REGULAR.store(fd, Ordering::Relaxed);
}

/// Lines the shim could not write (a pipe whose reader left, a full
/// disk), for the summary.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// How many lines could not be written so far.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Writes one line to `fd` with one `write(2)`, keeping `errno`, without
/// ever raising SIGPIPE in the program: the shim's output must not kill a
/// program that never writes to its stderr. Unless `fd` is the log file
/// and a regular file ([`regular_file`]), the write is made
/// with SIGPIPE blocked on this thread (pipes, FIFOs, sockets, terminals
/// alike), and a SIGPIPE it raised (EPIPE) is taken back with a
/// zero-timeout `rt_sigtimedwait`, unless one was already pending (the
/// program's own, which stays: looked for only when the program had
/// SIGPIPE blocked, since an unblocked one would have been delivered).
/// A line that cannot be written is dropped and counted ([`dropped`]); a
/// signal interrupting the write makes it again, whole; a partial write is
/// left as it is (writing the rest would break the line's atomicity). Raw
/// system calls: nothing here goes back through the hooks.
fn write_line(fd: c_int, bytes: &[u8]) {
    crate::errno::preserved(|| {
        let write = || loop {
            // SAFETY: `bytes` is valid for reads of its length.
            let n = unsafe { libc::syscall(libc::SYS_write, fd, bytes.as_ptr(), bytes.len()) };
            if n >= 0 || crate::errno::get() != libc::EINTR {
                break n;
            }
        };
        let written = if fd >= 0 && fd == REGULAR.load(Ordering::Relaxed) {
            write()
        } else {
            let pipe_bit = 1u64 << (libc::SIGPIPE - 1);
            let mut old = 0u64;
            // SAFETY: 8-byte signal sets, as the kernel takes them.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigprocmask,
                    libc::SIG_BLOCK,
                    &pipe_bit,
                    &mut old,
                    8usize,
                )
            };
            let mut pending = 0u64;
            if old & pipe_bit != 0 {
                // SAFETY: as above.
                unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut pending, 8usize) };
            }
            let written = write();
            if written < 0 && crate::errno::get() == libc::EPIPE && pending & pipe_bit == 0 {
                let zero = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: takes back the SIGPIPE this write raised, if any.
                unsafe {
                    libc::syscall(
                        libc::SYS_rt_sigtimedwait,
                        &pipe_bit,
                        core::ptr::null_mut::<libc::siginfo_t>(),
                        &zero,
                        8usize,
                    )
                };
            }
            if old & pipe_bit == 0 {
                // SAFETY: puts back the thread's mask.
                unsafe {
                    libc::syscall(
                        libc::SYS_rt_sigprocmask,
                        libc::SIG_UNBLOCK,
                        &pipe_bit,
                        core::ptr::null_mut::<u64>(),
                        8usize,
                    )
                };
            }
            written
        };
        if written < 0 && fd >= 0 {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    });
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    fn line_name() -> &'static str {
        "read"
    }

    #[test]
    fn a_line_to_a_pipe_whose_reader_left_is_dropped_and_counted() {
        let mut fds = [0; 2];
        // SAFETY: a pipe into a valid array; its read end closed at once.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            libc::close(fds[0]);
        }
        let before = dropped();
        let mut line = Line::new();
        line.push(b"eintrfix: a line nobody reads");
        line.write_to(fds[1]);
        assert_eq!(dropped(), before + 1);
        // SAFETY: the write end, ours.
        unsafe { libc::close(fds[1]) };
    }

    #[test]
    fn formats_and_truncates() {
        let mut line = Line::new();
        write!(line, "eintrfix: {} fd={}", line_name(), 3).unwrap();
        assert_eq!(line.as_bytes(), b"eintrfix: read fd=3");
        let long = [b'x'; MAX_LINE * 2];
        line.push(&long);
        assert!(line.truncated());
        assert_eq!(line.as_bytes().len(), MAX_LINE - 1);
    }
}
