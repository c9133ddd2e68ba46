//! What an injected EINTR must be to be one a real interruption could
//! cause: only calls that can wait interruptibly are interrupted
//! ([`can_block`]), and the EINTR leaves behind what a real one does
//! ([`before_eintr`]).

use crate::functions::Function;
use core::ffi::c_int;

/// Whether a call with these arguments can block in a way a signal
/// interrupts, as it may in production: not on a descriptor in
/// non-blocking mode, not with MSG_DONTWAIT or WNOHANG, not a poll with no
/// timeout; not a read or write of a regular file, directory or block
/// device (Linux waits for disks uninterruptibly), not an `open` of
/// anything but a FIFO or a character device, nor one with O_NONBLOCK;
/// not an `fcntl` but one that waits for a lock; never a `close` (Linux
/// releases the descriptor first, and only some network filesystems'
/// flush reports EINTR). Calls not known here can.
pub fn can_block(function: Function, arguments: &[usize]) -> bool {
    use Function as F;
    let argument = |i: usize| arguments.get(i).copied().unwrap_or(0);
    let flag = |i: usize, bit: c_int| argument(i) as c_int & bit != 0;
    crate::errno::preserved(|| match function.base() {
        F::close => false,
        F::open | F::open64 => {
            !flag(1, libc::O_NONBLOCK) && waits_to_open(libc::AT_FDCWD, argument(0))
        }
        F::openat | F::openat64 => {
            !flag(2, libc::O_NONBLOCK) && waits_to_open(argument(0) as c_int, argument(1))
        }
        F::fcntl => crate::functions::fcntl_waits(argument(1) as c_int),
        F::recv | F::send | F::recvfrom | F::sendto | F::recvmsg | F::sendmsg => {
            let flags_at = match function {
                F::__recv_chk | F::__recvfrom_chk => 4,
                _ if matches!(function.base(), F::recvmsg | F::sendmsg) => 2,
                _ => 3,
            };
            !flag(flags_at, libc::MSG_DONTWAIT) && waits_on(argument(0) as c_int)
        }
        F::waitpid => !flag(2, libc::WNOHANG),
        F::wait3 => !flag(1, libc::WNOHANG),
        F::wait4 => !flag(2, libc::WNOHANG),
        F::waitid => !flag(3, libc::WNOHANG),
        F::poll => argument(2) as c_int != 0,
        F::epoll_wait | F::epoll_pwait => argument(3) as c_int != 0,
        F::read
        | F::write
        | F::readv
        | F::writev
        | F::pread
        | F::pwrite
        | F::pread64
        | F::pwrite64
        | F::preadv
        | F::pwritev
        | F::preadv2
        | F::pwritev2
        | F::recvmmsg
        | F::sendmmsg
        | F::accept
        | F::accept4
        | F::connect
        | F::mq_receive
        | F::mq_send
        | F::mq_timedreceive
        | F::mq_timedsend => waits_on(argument(0) as c_int),
        _ => true,
    })
}

/// Whether I/O on `fd` can wait interruptibly: not in non-blocking mode,
/// and not a regular file, directory or block device.
fn waits_on(fd: c_int) -> bool {
    // SAFETY: F_GETFL only reads the descriptor's flags.
    let flags = unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFL) };
    if flags >= 0 && flags as c_int & libc::O_NONBLOCK != 0 {
        return false;
    }
    // SAFETY: a zeroed stat is valid; fstat writes at most it.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    let known = unsafe { libc::syscall(libc::SYS_fstat, fd, &mut status as *mut libc::stat) } == 0;
    !(known && disk_like(status.st_mode))
}

fn disk_like(mode: libc::mode_t) -> bool {
    matches!(
        mode & libc::S_IFMT,
        libc::S_IFREG | libc::S_IFDIR | libc::S_IFBLK
    )
}

/// Whether opening `path` (a C string, relative to `dirfd`) can wait:
/// a FIFO or a character device (a terminal, a serial line).
fn waits_to_open(dirfd: c_int, path: usize) -> bool {
    if path == 0 {
        return false;
    }
    // SAFETY: a zeroed stat is valid.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `path` is the caller's NUL-terminated path (open's
    // contract); newfstatat writes at most `status`.
    let found = unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            dirfd,
            path,
            &mut status as *mut libc::stat,
            0,
        )
    } == 0;
    found && matches!(status.st_mode & libc::S_IFMT, libc::S_IFIFO | libc::S_IFCHR)
}

/// Makes the injected EINTR what a real one before any transfer leaves
/// behind: a relative sleep reports all of its time left, a connection is
/// under way. Returns whether the call
/// must be made all the same: `close` (Linux releases the descriptor
/// before it can be interrupted, and a program must not close it again).
///
/// # Safety
/// `arguments` are the call's, valid under the function's contract.
pub unsafe fn before_eintr(name: &str, arguments: &[usize]) -> bool {
    if matches!(name, "close" | "__close") {
        return true;
    }
    if let ("connect" | "__connect", [fd, address, length, ..]) = (name, arguments) {
        // An interrupted connect goes on in the background: start it
        // without blocking (raw calls: no hook sees them).
        // SAFETY: fcntl on the caller's fd; connect with the caller's
        // address and length, valid under connect's contract.
        unsafe {
            let flags = libc::syscall(libc::SYS_fcntl, *fd, libc::F_GETFL);
            if flags >= 0 {
                libc::syscall(
                    libc::SYS_fcntl,
                    *fd,
                    libc::F_SETFL,
                    flags | libc::O_NONBLOCK as i64,
                );
                libc::syscall(libc::SYS_connect, *fd, *address, *length);
                libc::syscall(libc::SYS_fcntl, *fd, libc::F_SETFL, flags);
            }
        }
        return false;
    }
    match (name, arguments) {
        ("nanosleep" | "__nanosleep", [request, left, ..]) => {
            // SAFETY: nanosleep's contract: `request` readable, `left`
            // null or writable.
            unsafe { all_left(*request, *left) }
        }
        ("clock_nanosleep", [_, flags, request, left, ..])
            if *flags as c_int & libc::TIMER_ABSTIME == 0 =>
        {
            // SAFETY: clock_nanosleep's contract, as nanosleep's.
            unsafe { all_left(*request, *left) }
        }
        _ => {}
    }
    false
}

/// A sleep of `request` interrupted before any time passed: all of it is
/// left, in `left` (both `timespec`s, `left` possibly null).
///
/// # Safety
/// `request` is readable, `left` null or writable.
unsafe fn all_left(request: usize, left: usize) {
    let (request, left) = (
        request as *const libc::timespec,
        left as *mut libc::timespec,
    );
    if !request.is_null() && !left.is_null() {
        // SAFETY: the caller's contract.
        unsafe { *left = *request };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::timespec;

    #[test]
    fn only_the_fcntl_commands_that_wait_for_a_lock_can_block() {
        for function in [Function::fcntl, Function::fcntl64] {
            for (cmd, blocks) in [
                (libc::F_SETLKW, true),
                (libc::F_OFD_SETLKW, true),
                (libc::F_SETLK, false),
                (libc::F_OFD_SETLK, false),
                (libc::F_GETFL, false),
            ] {
                assert_eq!(can_block(function, &[0, cmd as usize, 0]), blocks, "{cmd}");
            }
        }
    }

    #[test]
    fn only_a_fifo_opened_without_o_nonblock_can_block() {
        let dir = std::env::temp_dir().join(format!("eintrfix-calls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo\0");
        let file = dir.join("file\0");
        let (fifo, file) = (fifo.to_str().unwrap(), file.to_str().unwrap());
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr().cast(), 0o600) }, 0);
        std::fs::write(file.trim_end_matches('\0'), b"").unwrap();
        let open = |path: &str, flags: c_int| {
            can_block(Function::open, &[path.as_ptr() as usize, flags as usize])
        };
        assert!(open(fifo, libc::O_RDONLY));
        assert!(!open(fifo, libc::O_RDONLY | libc::O_NONBLOCK));
        assert!(!open(file, libc::O_RDONLY));
        let at = |path: &str, flags: c_int| {
            let at = libc::AT_FDCWD as usize;
            can_block(
                Function::openat,
                &[at, path.as_ptr() as usize, flags as usize],
            )
        };
        assert!(at(fifo, libc::O_WRONLY));
        assert!(!at(fifo, libc::O_WRONLY | libc::O_NONBLOCK));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_injected_eintr_leaves_all_of_a_relative_sleep() {
        let request = timespec {
            tv_sec: 1,
            tv_nsec: 5,
        };
        let sleep = |name: &'static str, flags: c_int| {
            let mut left = timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let (req, rem) = (&request as *const _ as usize, &mut left as *mut _ as usize);
            let arguments = match name {
                "clock_nanosleep" => vec![libc::CLOCK_MONOTONIC as usize, flags as usize, req, rem],
                _ => vec![req, rem],
            };
            // SAFETY: both timespecs are valid.
            assert!(!unsafe { before_eintr(name, &arguments) });
            (left.tv_sec, left.tv_nsec)
        };
        assert_eq!(sleep("nanosleep", 0), (1, 5));
        assert_eq!(sleep("clock_nanosleep", 0), (1, 5));
        // An absolute sleep reports nothing.
        assert_eq!(sleep("clock_nanosleep", libc::TIMER_ABSTIME), (0, 0));
    }
}
