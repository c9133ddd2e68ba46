//! The catalogue of every function the shim hooks: the names that
//! `EINTRFIX_POLICY` accepts, that tracing reports, and that the CLI's
//! `check` looks for.
//!
//! A fortified or aliased entry point (`__read_chk`) names its base function
//! (`read`): a policy set for the base applies to it too, unless the entry
//! point is named itself.
//!
//! # Adding a hook
//!
//! Six rows, each checked by the compiler or a test:
//!
//! 1. the real function's C prototype in `src/real.rs`, in its family's
//!    group (the `hooks!` row calls it: without it nothing compiles);
//! 2. the hook's row in its family's `hooks!` table under `src/hooks/`:
//!    prototype and slow path (see `src/hooks/mod.rs`);
//! 3. its name in the catalogue below, with its base for an alias or a
//!    fortified form (the `hooks!` row names it: without it nothing
//!    compiles);
//! 4. its row in README's Hooked functions table (`tests/exports.rs`
//!    fails on an exported function missing there, and on a catalogued
//!    name with no hook);
//! 5. the system call it makes, in `syscall_function` of each
//!    `src/arch/` port, so that libc's own calls of it (inside stdio,
//!    `system`) are policed when the kernel would restart them; or the
//!    function listed in that port's `NOT_NAMED`, with why (the unit test
//!    `every_hooked_function_is_named_by_its_system_call_or_listed` fails
//!    on a function in neither);
//! 6. for a function named there, whether its first argument is the fd
//!    reported, in `fd_of` of `src/restart.rs` (its unit test
//!    `a_call_inside_libc_reports_an_fd_as_its_hook_does` compares it with
//!    what the hook's row hands the policy).
//!
//! The prototype is written twice (rows 1 and 2) because the real
//! functions are resolved from one list, at their first calls, and a hook
//! may call a real function other than its own (`usleep` sleeps with
//! `nanosleep`, a socket's `read` retries with `recv`).

/// Expands to the base of a row: the named one, or the function itself.
macro_rules! base_of {
    ($name:ident) => {
        Function::$name
    };
    ($name:ident, $base:ident) => {
        Function::$base
    };
}

macro_rules! catalogue {
    ($( $name:ident $(=> $base:ident)? ),* $(,)?) => {
        /// A hooked libc function, named exactly as C names it.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Function { $($name),* }

        impl Function {
            /// Every hooked function, in catalogue order.
            pub const ALL: &'static [Function] = &[$(Function::$name),*];
            /// How many there are.
            pub const COUNT: usize = Self::ALL.len();

            /// The C name.
            pub const fn name(self) -> &'static str {
                match self { $(Function::$name => stringify!($name)),* }
            }

            /// The function whose policy this one follows when it has none of its own.
            pub const fn base(self) -> Function {
                match self { $(Function::$name => base_of!($name $(, $base)?)),* }
            }
        }
    };
}

catalogue! {
    // I/O
    read, write, readv, writev, pread, pwrite, pread64, pwrite64,
    preadv, pwritev, preadv2, pwritev2,
    __read_chk => read, __pread_chk => pread, __pread64_chk => pread64,
    close, flock, fcntl, open, open64, openat, openat64,
    // sockets
    recv, send, recvfrom, sendto, recvmsg, sendmsg, recvmmsg, sendmmsg,
    accept, accept4, connect,
    __recv_chk => recv, __recvfrom_chk => recvfrom,
    // processes
    waitpid, wait, wait3, wait4, waitid,
    // time
    nanosleep, clock_nanosleep, usleep, sleep,
    // multiplexing
    poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2,
    __poll_chk => poll, __ppoll_chk => ppoll,
    // semaphores and message queues
    sem_wait, sem_timedwait, sem_clockwait,
    mq_receive, mq_timedreceive, mq_send, mq_timedsend,
    msgrcv, msgsnd, semop, semtimedop,
    // the variadic calls' other names and fortified forms
    fcntl64 => fcntl, __open_2 => open, __open64_2 => open64,
    __openat_2 => openat, __openat64_2 => openat64,
    // public aliases of the core calls
    __read => read, __write => write, __close => close, __connect => connect,
    __send => send, __waitpid => waitpid, __wait => wait, __nanosleep => nanosleep,
    __poll => poll, __select => select,
}

/// Whether an `fcntl` command waits, for a lock held elsewhere:
/// `F_SETLKW` and `F_OFD_SETLKW` are the only commands that block, and so
/// the only ones a signal can interrupt.
#[inline(always)]
pub fn fcntl_waits(cmd: core::ffi::c_int) -> bool {
    cmd == libc::F_SETLKW || cmd == libc::F_OFD_SETLKW
}

impl Function {
    /// Finds a function by its C name.
    pub fn from_name(name: &[u8]) -> Option<Function> {
        Self::ALL
            .iter()
            .copied()
            .find(|f| f.name().as_bytes() == name)
    }

    /// Its position in per-function tables.
    pub const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::Function;

    #[test]
    fn names_round_trip() {
        for &f in Function::ALL {
            assert_eq!(Function::from_name(f.name().as_bytes()), Some(f));
            assert_eq!(Function::ALL[f.index()], f);
        }
        assert_eq!(Function::from_name(b"reed"), None);
    }

    #[test]
    fn fortified_forms_follow_their_base() {
        assert_eq!(Function::__read_chk.base(), Function::read);
        assert_eq!(Function::__recvfrom_chk.base(), Function::recvfrom);
        assert_eq!(Function::read.base(), Function::read);
    }
}
