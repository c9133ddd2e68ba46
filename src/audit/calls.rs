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
/// anything but a FIFO or a character device; never a `close` (Linux
/// releases the descriptor first, and only some network filesystems'
/// flush reports EINTR). Calls not known here can.
pub fn can_block(function: Function, arguments: &[usize]) -> bool {
    use Function as F;
    let argument = |i: usize| arguments.get(i).copied().unwrap_or(0);
    let flag = |i: usize, bit: c_int| argument(i) as c_int & bit != 0;
    crate::errno::preserved(|| match function.base() {
        F::close => false,
        F::open | F::open64 => waits_to_open(libc::AT_FDCWD, argument(0)),
        F::openat | F::openat64 => waits_to_open(argument(0) as c_int, argument(1)),
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
/// behind: a sleep reports all of its time left, a connection is under
/// way. Returns whether the call
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
    if let ("nanosleep" | "__nanosleep", [request, left, ..]) = (name, arguments) {
        let (request, left) = (
            *request as *const libc::timespec,
            *left as *mut libc::timespec,
        );
        if !request.is_null() && !left.is_null() {
            // SAFETY: nanosleep's contract: `request` readable, `left`
            // null or writable.
            unsafe { *left = *request };
        }
    }
    false
}
