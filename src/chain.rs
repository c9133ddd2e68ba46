//! A program's own retries of a timed call: the deadline that carries on.
//!
//! A call site that handles EINTR gets it, as bare; many such sites then
//! make the same call again with the whole timeout (hiredis's `recv` on a
//! socket with SO_RCVTIMEO, a `poll` loop that restarts its timeout), so
//! under a signal storm the call would never time out, bare or not. So
//! when an EINTR goes back to such a site, the thread remembers the site,
//! the call, its fd, the deadline of the call's own timeout, and how far
//! the connection had got; when the same site makes the same call on the
//! same fd again and it is interrupted again, the first deadline carries
//! on, and once it has passed the call ends as the kernel's timeout would.
//!
//! What tells a retry from a new call is progress on the connection: a
//! TCP socket's bytes received and acknowledged (`TCP_INFO`). A call that
//! completed in between moved data, so the next one starts a new chain.
//! Other fds show no such count: there the deadline does not carry (a
//! long-running client under a profiler's storm, whose calls complete
//! between interruptions, would otherwise time out on a deadline of a call
//! that had long succeeded), and the program's own loop behaves as bare.
//!
//! Per-thread words only (see [`crate::per_thread`]): no lock, usable in
//! any context a hook runs in.

use crate::deadline::Deadline;
use crate::errno;
use crate::functions::Function;
use core::ffi::c_int;
use core::sync::atomic::{AtomicU64, Ordering};

crate::per_thread! {
    @from 8;
    /// The return address of the site the last EINTR went back to (0:
    /// none).
    static SITE: AtomicU64 = const { AtomicU64::new(0) };
    /// The function's index and the fd: `index << 32 | fd`.
    static CALL: AtomicU64 = const { AtomicU64::new(0) };
    /// The chain's deadline, in CLOCK_MONOTONIC nanoseconds.
    static DEADLINE: AtomicU64 = const { AtomicU64::new(0) };
    /// The connection's progress when the chain started.
    static PROGRESS: AtomicU64 = const { AtomicU64::new(0) };
    /// When the last EINTR went back.
    static LAST: AtomicU64 = const { AtomicU64::new(0) };
}

/// The longest pause between two interruptions of one chain.
const GAP_NS: u64 = 1_000_000_000;

/// An EINTR is going back to the handling site `site` (a return address)
/// of a call of `function` on `fd` whose own timeout ends at `own`, at
/// `now`. Returns whether the chain's first deadline has passed: the call
/// must then end as its timeout would, not with EINTR.
pub fn passing(site: usize, function: Function, fd: c_int, own: Deadline, now: u64) -> bool {
    let Some(progress) = progress(fd) else {
        SITE.with(|s| s.store(0, Ordering::Relaxed));
        return false;
    };
    let call = (function.index() as u64) << 32 | u64::from(fd as u32);
    let site = site as u64;
    let same = SITE.with(|s| s.load(Ordering::Relaxed)) == site
        && CALL.with(|c| c.load(Ordering::Relaxed)) == call
        && PROGRESS.with(|p| p.load(Ordering::Relaxed)) == progress
        && now.saturating_sub(LAST.with(|l| l.load(Ordering::Relaxed))) < GAP_NS;
    LAST.with(|l| l.store(now, Ordering::Relaxed));
    if same {
        if now >= DEADLINE.with(|d| d.load(Ordering::Relaxed)) {
            SITE.with(|s| s.store(0, Ordering::Relaxed));
            return true;
        }
        return false;
    }
    SITE.with(|s| s.store(site, Ordering::Relaxed));
    CALL.with(|c| c.store(call, Ordering::Relaxed));
    PROGRESS.with(|p| p.store(progress, Ordering::Relaxed));
    DEADLINE.with(|d| {
        d.store(
            now.saturating_add(own.remaining_ns_at(now)),
            Ordering::Relaxed,
        )
    });
    false
}

/// `struct tcp_info`'s `tcpi_bytes_acked` and `tcpi_bytes_received`
/// (Linux 4.1): byte offsets.
const BYTES_ACKED: usize = 120;
const BYTES_RECEIVED: usize = 128;

/// A TCP socket's bytes acknowledged plus received; `None` for any other
/// fd. Errno is kept.
fn progress(fd: c_int) -> Option<u64> {
    let mut info = [0u8; 232];
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: `info` and `len` are valid for writes; `len` is its size.
    let r = errno::preserved(|| unsafe {
        libc::syscall(
            libc::SYS_getsockopt,
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr(),
            &mut len,
        )
    });
    if r != 0 || (len as usize) < BYTES_RECEIVED + 8 {
        return None;
    }
    let word = |at: usize| {
        info.get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
    };
    Some(word(BYTES_ACKED)?.wrapping_add(word(BYTES_RECEIVED)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_needs_a_tcp_socket_and_carries_its_first_deadline() {
        let mut p = [0; 2];
        // SAFETY: `p` holds two fds.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        assert_eq!(progress(p[0]), None);
        let own = Deadline::after_ms_at(0, 100);
        assert!(!passing(0x1234, Function::read, p[0], own, 1));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        use std::os::fd::AsRawFd;
        let fd = client.as_raw_fd();
        let start = 1_000_000_000_000;
        let own = Deadline::after_ms_at(start, 100);
        assert!(!passing(0x1234, Function::recv, fd, own, start));
        // A retry 50 ms later with a fresh timeout: the first one carries.
        let later = start + 50_000_000;
        let fresh = Deadline::after_ms_at(later, 100);
        assert!(!passing(0x1234, Function::recv, fd, fresh, later));
        assert!(passing(
            0x1234,
            Function::recv,
            fd,
            fresh,
            start + 100_000_000
        ));
        // The chain ended: the next pass starts a new one.
        assert!(!passing(
            0x1234,
            Function::recv,
            fd,
            fresh,
            start + 120_000_000
        ));
        // Another site, or a pause past the gap, starts a new chain too.
        assert!(!passing(
            0x9999,
            Function::recv,
            fd,
            own,
            start + 230_000_000
        ));
        assert!(!passing(
            0x9999,
            Function::recv,
            fd,
            own,
            start + 2_300_000_000
        ));
        // SAFETY: closing the pipe made above.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
    }
}
