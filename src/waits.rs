//! What an interrupted call waits on, as far as the rules need it: whether
//! a terminal is among its fds (a SIGWINCH that interrupts a wait on a
//! terminal is a resize the program must see at once), and the fd whose
//! progress tells a program's own retry from a new call (see
//! [`crate::chain`]). Read on the slow path only, with raw system calls
//! (no hook runs, errno is kept).

use crate::errno;
use core::ffi::c_int;
use libc::{fd_set, pollfd};

/// Fds looked at, at most, in a `poll` or `select` set.
const MAX_FDS: usize = 16;

/// What a call waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waits {
    /// Nothing known (a sleep, a process wait).
    Nothing,
    /// One fd.
    Fd(c_int),
    /// The fds of a `poll` set.
    Poll(*const pollfd, usize),
    /// The fds of `select`'s sets (read, write), below `nfds`.
    Select(c_int, *const fd_set, *const fd_set),
}

impl Waits {
    /// The fds waited on, the first [`MAX_FDS`] of them, into `out`;
    /// returns how many.
    fn fds(self, out: &mut [c_int; MAX_FDS]) -> usize {
        let mut n = 0;
        let mut add = |fd: c_int| {
            if let Some(slot) = out.get_mut(n) {
                *slot = fd;
                n += 1;
            }
        };
        match self {
            Waits::Nothing => {}
            Waits::Fd(fd) => add(fd),
            Waits::Poll(fds, count) if !fds.is_null() => {
                for i in 0..count.min(MAX_FDS) {
                    // SAFETY: the caller's poll set holds `count` entries
                    // (poll's contract), read while the call is in progress.
                    let fd = unsafe { (*fds.add(i)).fd };
                    if fd >= 0 {
                        add(fd);
                    }
                }
            }
            Waits::Poll(..) => {}
            Waits::Select(nfds, read, write) => {
                for set in [read, write] {
                    if set.is_null() {
                        continue;
                    }
                    for fd in 0..nfds.clamp(0, libc::FD_SETSIZE as c_int) {
                        // SAFETY: a set of select's covers its `nfds` fds.
                        if unsafe { libc::FD_ISSET(fd, set) } {
                            add(fd);
                        }
                    }
                }
            }
        }
        n.min(MAX_FDS)
    }

    /// Whether a terminal is among the fds waited on.
    pub fn on_terminal(self) -> bool {
        let mut fds = [0; MAX_FDS];
        let n = self.fds(&mut fds);
        fds.iter().take(n).any(|&fd| is_terminal(fd))
    }

    /// The first fd waited on, if any.
    pub fn first_fd(self) -> Option<c_int> {
        let mut fds = [0; MAX_FDS];
        (self.fds(&mut fds) > 0).then_some(fds[0])
    }

    /// Whether nothing is waited on but time (a sleep, or `poll`/`select`
    /// with no fds).
    pub fn only_time(self) -> bool {
        let mut fds = [0; MAX_FDS];
        matches!(self, Waits::Nothing | Waits::Poll(..) | Waits::Select(..))
            && self.fds(&mut fds) == 0
    }
}

/// Whether `fd` is a terminal (`TCGETS` succeeds), errno kept.
pub fn is_terminal(fd: c_int) -> bool {
    // SAFETY: a zeroed termios is a valid buffer for TCGETS to fill.
    let mut termios: libc::termios = unsafe { core::mem::zeroed() };
    // SAFETY: TCGETS writes at most a termios into the buffer.
    let r = errno::preserved(|| unsafe {
        libc::syscall(
            libc::SYS_ioctl,
            fd,
            libc::TCGETS,
            &mut termios as *mut libc::termios,
        )
    });
    r == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_are_no_terminals_and_sets_are_read() {
        let mut p = [0; 2];
        // SAFETY: `p` holds two fds.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        assert!(!is_terminal(p[0]));
        assert!(!Waits::Fd(p[0]).on_terminal());
        let set = [
            pollfd {
                fd: -1,
                events: 0,
                revents: 0,
            },
            pollfd {
                fd: p[1],
                events: libc::POLLOUT,
                revents: 0,
            },
        ];
        let waits = Waits::Poll(set.as_ptr(), 2);
        assert_eq!(waits.first_fd(), Some(p[1]));
        assert!(!waits.only_time());
        assert!(Waits::Poll(set.as_ptr(), 1).only_time());
        assert!(Waits::Nothing.only_time());
        // SAFETY: a zeroed fd_set is empty.
        let mut read: fd_set = unsafe { core::mem::zeroed() };
        // SAFETY: `read` is a valid set and p[0] < FD_SETSIZE.
        unsafe { libc::FD_SET(p[0], &mut read) };
        let waits = Waits::Select(p[0] + 1, &read, core::ptr::null());
        assert_eq!(waits.first_fd(), Some(p[0]));
        assert!(Waits::Select(0, &read, core::ptr::null()).only_time());
        // SAFETY: closing the fds made above.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
    }
}
