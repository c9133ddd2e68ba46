//! One line of the shim's own output, formatted on the stack and written with
//! one real `write(2)` to the fd it is given (which fd: [`super::destination`]):
//! no allocation, no lock, nothing that goes back through the hooks, so it
//! is safe in signal handlers, forked children, `atexit` handlers and
//! thread-key destructors.

use core::ffi::c_int;
use core::fmt;

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
    /// keeping `errno` as it was.
    pub fn write_to(&mut self, fd: c_int) {
        if self.as_bytes().last() != Some(&b'\n') {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b'\n';
                self.len += 1;
            }
        }
        let saved = crate::errno::get();
        let bytes = self.as_bytes();
        // A signal may interrupt the write (stderr a full pipe): write the
        // line again, whole, rather than lose it. A partial write is left
        // as it is: writing the rest would break the line's atomicity.
        // SAFETY: `bytes` is valid for reads of its length; this is libc's
        // write, not our hook, so it cannot recurse.
        while unsafe { crate::real::write(fd, bytes.as_ptr().cast(), bytes.len()) } < 0
            && crate::errno::get() == libc::EINTR
        {}
        crate::errno::set(saved);
    }
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
