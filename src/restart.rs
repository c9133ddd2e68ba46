//! Calls the kernel restarts: how an interruption that no hook sees (a
//! `read` inside `fgets`, a `write` inside `fflush`, `system`'s `waitpid`)
//! is retried without glibc ever seeing the EINTR.
//!
//! Every handler the program installs goes to the kernel with SA_RESTART
//! (see [`crate::hooks::signals`]), so the kernel would make any
//! restartable system call again when the handler returns. After the
//! program's handler ran, the trampoline calls [`after_handler`], which
//! looks at the handler's context ([`crate::arch`]):
//!
//! - no restart pending (the signal landed in user code, or the call is one
//!   the kernel never restarts: timeouts, sleeps, `poll`): nothing to do;
//!   the hooks handle those EINTRs as before;
//! - the program's own handler asked for SA_RESTART: the kernel restarts
//!   it, as it would without the shim;
//! - a hook made the call (see `made_by_a_hook`), or the table of loaded
//!   code ([`crate::code`]) is not built yet, so that a hook's call cannot
//!   be told from libc's: the restart becomes the EINTR the program asked
//!   for, and any hook decides with its own name, policy and deadline;
//! - otherwise the policy engine decides for the function named after the
//!   system call ([`crate::policy::at_delivery`]): retry lets the kernel
//!   restart it, pass turns it into the EINTR the program would have seen
//!   without the shim; a call a runtime's own code made (CPython's, see
//!   [`crate::code`]), or one whose caller's code handles EINTR (the
//!   per-site rule), passes, as bare;
//! - a system call with no hooked namesake (`futex`, `ioctl`, `clone`) is
//!   left to restart, as under SA_RESTART. Turning it into EINTR could be
//!   wrong in two ways the context cannot tell apart: `fork` and `clone`
//!   are restarted by the kernel whatever the flags (-ERESTARTNOINTR: bare,
//!   they never fail with EINTR), and glibc's internal futex waits (in
//!   `pthread_once`, under the unwinder of a cancelled thread) abort on an
//!   error they do not expect.

use crate::arch::{self, State};
use crate::code::{self, Owner};
use crate::functions::Function;
use crate::policy::{self, Decision, Origin};
use core::ffi::{c_int, c_void};

/// Whether handlers are installed with SA_RESTART behind the program's
/// back: the trampoline can read contexts on this processor (natively:
/// valgrind's signal frames do not show enough, see
/// [`arch::under_valgrind`]), and the configuration is good (a bad one
/// changes nothing) and can retry or log something (under
/// `EINTRFIX_POLICY=pass` handlers are as the program installed them, so
/// every call behaves exactly as bare).
pub fn forced() -> bool {
    arch::SUPPORTED && crate::settings::config().acts_on_anything() && !arch::under_valgrind()
}

/// Whether a system call's first argument is its fd, worth reporting.
fn fd_of(function: Function, first_argument: i64) -> Option<c_int> {
    let no_fd = matches!(
        function,
        Function::wait4 | Function::waitid | Function::open | Function::openat
    );
    (!no_fd)
        .then(|| c_int::try_from(first_argument).ok())
        .flatten()
}

/// Whether a hook made the system call interrupted with `stack` as its
/// stack pointer. For a call named after a hooked function (`read`,
/// `write`, ...), whose libc wrapper a hook calls directly: the first
/// return address above the stack pointer is this library's, after a call
/// through a pointer; a read deep inside stdio shows libc's own return
/// address first, whatever stale words of the shim's lie further up in the
/// uninitialised slots of its frames (`fscanf`'s are large). For the
/// futex waits of `sem_wait` and friends, which run under libc's own
/// frames: the first code above libc's frames is this library's (stdio
/// never waits in a futex for its I/O). Until the table of loaded code is
/// built (at the first handler install; a second thread installing at the
/// same moment can find it still being built), a hook's call cannot be
/// told from libc's, so every call counts as a hook's (the hooks then
/// decide, as they always have).
fn made_by_a_hook(stack: usize, named: bool) -> bool {
    if !code::ready() {
        return true;
    }
    if named {
        code::scan::first_return(stack) == Some((Owner::Shim, true))
    } else {
        caller_above_libc(stack) == Some(Owner::Shim)
    }
}

/// The owner of the first code above libc's frames at `stack`, or `None`.
/// A runtime counts only when its call provably went into libc (the
/// runtime rule's proof, see [`code::scan::first_caller`]).
fn caller_above_libc(stack: usize) -> Option<Owner> {
    let caller = code::scan::first_caller(stack, |owner| owner == Owner::Libc)?;
    match caller.owner {
        Owner::Runtime if !caller.calls_skipped => Some(Owner::Other),
        owner => Some(owner),
    }
}

/// Whether the signal found the thread in a call: the only signals that
/// count towards an EINTR (one handled between calls affects no later
/// call). In a call means: in a system call that the kernel will restart,
/// or one that has just failed with EINTR on behalf of a hook (a hook is
/// above it on the stack; a program's own `pause` does not count); in this
/// library's code (a hook between two attempts), or in libc's with a hook
/// above; or at the entry of the trampoline itself (two signals delivered
/// at once: the outer one, whose handler runs last, decides). Until the
/// table of loaded code is built, and under valgrind, whose frames do not
/// tell, every signal counts.
///
/// # Safety
/// `context` is the third argument of the running SA_SIGINFO handler.
pub unsafe fn in_call(context: *mut c_void, trampoline: usize) -> bool {
    if !code::ready() || arch::under_valgrind() {
        return true;
    }
    // SAFETY: the caller's contract.
    let Some(state) = (unsafe { arch::state(context) }) else {
        return true;
    };
    match state {
        State::Restart(_) => true,
        State::Failed { stack } => code::scan::hook_above(stack),
        State::Running { pc, .. } if pc == trampoline => true,
        State::Running { pc, stack } => match code::owner_of(pc) {
            Some(Owner::Shim) => true,
            Some(Owner::Libc) => code::scan::hook_above(stack),
            _ => false,
        },
    }
}

/// From the trampoline, after the program's handler returned (and the
/// signal was recorded): decides about a pending restart, if any. See the
/// module documentation. Async-signal-safe; errno is left as it was.
///
/// # Safety
/// `context` is the third argument of the running SA_SIGINFO handler.
pub unsafe fn after_handler(context: *mut c_void, program_asked_restart: bool) {
    if program_asked_restart {
        return;
    }
    // SAFETY: the caller's contract.
    let Some(restart) = (unsafe { arch::pending_restart(context) }) else {
        return;
    };
    let function = arch::syscall_function(restart.number);
    let by_hook = arch::hooks_can_block_in(restart.number)
        && made_by_a_hook(restart.stack, function.is_some());
    let decision = if by_hook {
        Decision::Pass
    } else {
        let Some(function) = function else {
            return;
        };
        policy::at_delivery(
            function,
            fd_of(function, restart.first_argument),
            |config| match Origin::asked(config) {
                true => Origin::of_libc_call(
                    config,
                    code::scan::first_caller(restart.stack, |owner| owner == Owner::Libc),
                ),
                false => Origin::Program,
            },
            || code::scan::hook_above(restart.stack),
        )
    };
    if decision == Decision::Pass {
        // SAFETY: the caller's contract; a restart is pending in it.
        unsafe { arch::fail_with_eintr(context) };
    }
}

#[cfg(test)]
mod tests {
    use super::fd_of;
    use crate::arch;
    use crate::functions::Function;

    /// The hooks' rows, as `(name, reports an fd)`: a row reports one when
    /// its slow path hands the policy its first argument, `Some(fd)` or
    /// `fd`, after `function`.
    fn hook_rows() -> Vec<(&'static str, bool)> {
        let sources = [
            include_str!("hooks/files.rs"),
            include_str!("hooks/io.rs"),
            include_str!("hooks/ipc.rs"),
            include_str!("hooks/multiplex.rs"),
            include_str!("hooks/process.rs"),
            include_str!("hooks/sockets.rs"),
            include_str!("hooks/time.rs"),
        ];
        let mut rows = Vec::new();
        for source in sources {
            for row in source.split("\n    fn ").skip(1) {
                let Some((_, slow)) = row.split_once("=> |result, function|") else {
                    continue;
                };
                let Some((name, arguments)) = row.split_once('(') else {
                    continue;
                };
                let first = arguments.split(':').next().unwrap_or_default().trim();
                let slow = slow.split(";\n").next().unwrap_or_default();
                let reports = !first.is_empty()
                    && (slow.contains(&format!("function, Some({first})"))
                        || slow.contains(&format!("function, {first},")));
                rows.push((name.trim(), reports));
            }
        }
        rows
    }

    #[test]
    fn a_call_inside_libc_reports_an_fd_as_its_hook_does() {
        let rows = hook_rows();
        assert!(rows.len() > 50, "too few hook rows: {}", rows.len());
        for function in (0..1024).filter_map(arch::syscall_function) {
            let Some(&(_, reports)) = rows.iter().find(|(name, _)| *name == function.name()) else {
                panic!("no hook row for {}", function.name());
            };
            assert_eq!(
                fd_of(function, 7).is_some(),
                reports,
                "{}: fd_of must agree with its hook's row",
                function.name()
            );
        }
        assert_eq!(fd_of(Function::read, -1), Some(-1));
    }
}
