//! The socket options and names the slow paths read and set: a socket's
//! timeouts (SO_RCVTIMEO, SO_SNDTIMEO), its pending error (SO_ERROR) and
//! its family; and which way a call moves data, which says the timeout
//! that applies and what readiness to wait for.
//!
//! They are read with the raw system calls rather than libc's wrappers:
//! each libc function the library imports is one more symbol every process
//! binds when it loads the library, and these are used only on slow paths.

use crate::errno;
use core::ffi::{c_int, c_short, c_void};
use core::time::Duration;
use libc::socklen_t;

/// Which way a call moves data, and so which timeout applies to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Reads, receives, accepts: SO_RCVTIMEO, wait for POLLIN.
    Receive,
    /// Writes, sends, connects: SO_SNDTIMEO, wait for POLLOUT.
    Send,
}

impl Direction {
    /// The socket option that holds the timeout in this direction.
    pub fn timeout_option(self) -> c_int {
        match self {
            Direction::Receive => libc::SO_RCVTIMEO,
            Direction::Send => libc::SO_SNDTIMEO,
        }
    }

    /// What `poll` waits for in this direction.
    pub fn poll_events(self) -> c_short {
        match self {
            Direction::Receive => libc::POLLIN,
            Direction::Send => libc::POLLOUT,
        }
    }
}

/// Reads the SOL_SOCKET option `option` of `fd` into `value`, keeping
/// errno; the error number when it cannot.
fn get_option<T>(fd: c_int, option: c_int, value: &mut T) -> Result<(), c_int> {
    let mut len = core::mem::size_of::<T>() as socklen_t;
    errno::preserved(|| {
        // SAFETY: `value` and `len` are valid for writes and `len` is its
        // size.
        let r = unsafe {
            libc::syscall(
                libc::SYS_getsockopt,
                fd,
                libc::SOL_SOCKET,
                option,
                (value as *mut T).cast::<c_void>(),
                &mut len,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(errno::get())
        }
    })
}

/// The socket's timeout in that direction; `None` when it has none or `fd`
/// is not a socket.
pub fn socket_timeout(fd: c_int, direction: Direction) -> Option<Duration> {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    get_option(fd, direction.timeout_option(), &mut tv).ok()?;
    let secs = u64::try_from(tv.tv_sec).ok()?;
    let micros = u32::try_from(tv.tv_usec).ok()?;
    let timeout = Duration::from_secs(secs) + Duration::from_micros(u64::from(micros));
    (!timeout.is_zero()).then_some(timeout)
}

/// Whether `fd` is an AF_UNIX socket.
pub fn is_unix_socket(fd: c_int) -> bool {
    // SAFETY: a zeroed sockaddr_storage is a valid value.
    let mut addr: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<libc::sockaddr_storage>() as socklen_t;
    // SAFETY: `addr` and `len` are valid for writes and `len` is its size.
    let r = errno::preserved(|| unsafe {
        libc::syscall(
            libc::SYS_getsockname,
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast::<c_void>(),
            &mut len,
        )
    });
    r == 0 && c_int::from(addr.ss_family) == libc::AF_UNIX
}

/// The pending error of a socket, as SO_ERROR reports it (or the error
/// reading it met).
pub fn pending_error(fd: c_int) -> c_int {
    let mut error: c_int = 0;
    match get_option(fd, libc::SO_ERROR, &mut error) {
        Ok(()) => error,
        Err(reading) => reading,
    }
}

/// Sets the socket's timeout in that direction, rounded up to a whole
/// microsecond (a zero timeout would mean none), keeping errno.
pub fn set_socket_timeout(fd: c_int, direction: Direction, timeout: Duration) {
    let micros = timeout.as_nanos().div_ceil(1000).max(1);
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(micros / 1_000_000).unwrap_or(libc::time_t::MAX),
        // Below 1e6, so it fits any suseconds_t.
        tv_usec: (micros % 1_000_000) as libc::suseconds_t,
    };
    // SAFETY: `tv` is a valid timeval and the length is its size.
    errno::preserved(|| unsafe {
        libc::syscall(
            libc::SYS_setsockopt,
            fd,
            libc::SOL_SOCKET,
            direction.timeout_option(),
            (&tv as *const libc::timeval).cast::<c_void>(),
            core::mem::size_of::<libc::timeval>() as socklen_t,
        )
    });
}
