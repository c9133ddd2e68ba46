//! x86-64: the kernel's restart convention (arch/x86/kernel/signal.c).
//!
//! When a handler interrupts a system call that returned -ERESTARTSYS and
//! the handler has SA_RESTART, the kernel sets RAX back to the system call
//! number and RIP back by the 2 bytes of the `syscall` instruction
//! (`0f 05`), so the call is made again when the handler returns. The
//! handler's `ucontext_t` holds exactly those registers, and sigreturn
//! restores whatever the frame holds.
//!
//! A signal that lands in user space just before a `syscall` instruction
//! shows the same RIP and RAX. What tells them apart is what the `syscall`
//! instruction itself leaves: it writes the address after it into RCX and
//! RFLAGS into R11, and the kernel saves those same values as the frame's
//! RIP and flags, so an interrupted system call shows RCX = RIP + 2 and
//! R11 = EFLAGS. RCX alone is not enough: a call made again at the same
//! instruction can find RCX still holding the address after it (seen under
//! valgrind, which delivers signals just before a `syscall` instruction);
//! the flags have changed by then.

use super::Restart;
use crate::functions::Function;
use core::ffi::c_void;
use libc::{ucontext_t, REG_EFL, REG_R11, REG_RAX, REG_RCX, REG_RDI, REG_RIP, REG_RSP};

/// The trampoline reads and changes contexts on this architecture.
pub const SUPPORTED: bool = true;

/// The encoding of `syscall`.
const SYSCALL: [u8; 2] = [0x0f, 0x05];
/// Its length, which the kernel subtracts from RIP to restart.
const SYSCALL_LEN: usize = SYSCALL.len();

/// The general registers of a handler's context.
///
/// # Safety
/// `context` is the third argument the kernel passed to an SA_SIGINFO
/// handler that is still running.
unsafe fn registers<'a>(context: *mut c_void) -> Option<&'a mut [i64; 23]> {
    // SAFETY: the kernel's context is a valid ucontext_t for as long as
    // the handler runs (caller's contract); null is checked.
    let context = unsafe { context.cast::<ucontext_t>().as_mut() }?;
    Some(&mut context.uc_mcontext.gregs)
}

fn get(registers: &[i64; 23], register: libc::c_int) -> i64 {
    usize::try_from(register)
        .ok()
        .and_then(|r| registers.get(r))
        .copied()
        .unwrap_or(0)
}

fn set(registers: &mut [i64; 23], register: libc::c_int, value: i64) {
    if let Some(slot) = usize::try_from(register)
        .ok()
        .and_then(|r| registers.get_mut(r))
    {
        *slot = value;
    }
}

/// The system call the kernel will make again when this handler returns,
/// if the context shows one: RIP at a `syscall` instruction, RCX just past
/// it, R11 equal to the flags, RAX a system call number.
///
/// # Safety
/// `context` is the third argument of a running SA_SIGINFO handler.
pub unsafe fn pending_restart(context: *mut c_void) -> Option<Restart> {
    // SAFETY: the caller's contract.
    let registers = unsafe { registers(context) }?;
    let pc = get(registers, REG_RIP) as usize;
    let number = get(registers, REG_RAX);
    let entered = get(registers, REG_RCX) as usize == pc.wrapping_add(SYSCALL_LEN)
        && get(registers, REG_R11) == get(registers, REG_EFL);
    if !entered || !(0..1024).contains(&number) {
        return None;
    }
    // SAFETY: RCX = RIP + 2 means the thread was in a system call made by
    // the instruction at RIP, which is mapped executable (and readable:
    // x86-64 Linux has no execute-only user mappings).
    let instruction = unsafe { core::ptr::read_unaligned(pc as *const [u8; 2]) };
    (instruction == SYSCALL).then(|| Restart {
        number,
        first_argument: get(registers, REG_RDI),
        pc,
        stack: get(registers, REG_RSP) as usize,
    })
}

/// Where a signal found the thread: in a system call that the kernel will
/// make again, in one that has just failed with EINTR (both: `syscall` was
/// executed, RCX and R11 show it), or running code at `pc`.
///
/// # Safety
/// `context` is the third argument of a running SA_SIGINFO handler.
pub unsafe fn state(context: *mut c_void) -> Option<super::State> {
    // SAFETY: the caller's contract.
    if let Some(restart) = unsafe { pending_restart(context) } {
        return Some(super::State::Restart(restart));
    }
    // SAFETY: the caller's contract.
    let registers = unsafe { registers(context) }?;
    let pc = get(registers, REG_RIP) as usize;
    let stack = get(registers, REG_RSP) as usize;
    let returned = get(registers, REG_RCX) as usize == pc
        && get(registers, REG_R11) == get(registers, REG_EFL)
        && get(registers, REG_RAX) == -i64::from(libc::EINTR);
    let failed = returned && {
        // SAFETY: RCX = RIP means a `syscall` instruction just before RIP
        // returned here: those bytes are mapped text.
        unsafe { core::ptr::read_unaligned((pc - SYSCALL_LEN) as *const [u8; 2]) == SYSCALL }
    };
    Some(if failed {
        super::State::Failed { stack }
    } else {
        super::State::Running { pc, stack }
    })
}

/// Turns the pending restart into what the kernel reports without
/// SA_RESTART: RAX = -EINTR, RIP past the `syscall` instruction.
///
/// # Safety
/// `context` is the third argument of a running SA_SIGINFO handler, and
/// [`pending_restart`] found a restart in it.
pub unsafe fn fail_with_eintr(context: *mut c_void) {
    // SAFETY: the caller's contract.
    if let Some(registers) = unsafe { registers(context) } {
        let pc = get(registers, REG_RIP);
        set(registers, REG_RAX, -i64::from(libc::EINTR));
        set(registers, REG_RIP, pc.wrapping_add(SYSCALL_LEN as i64));
    }
}

/// The hooked function named after a system call that can be restarted
/// (one that returns -ERESTARTSYS): the name a call inside libc answers to
/// in `EINTRFIX_POLICY` and in reports. Positioned reads and writes answer
/// to `pread`/`pwrite`, glibc's `send`/`recv` make `sendto`/`recvfrom`,
/// `waitpid` and `wait` make `wait4`, `mq_send`/`mq_receive` make their
/// timed forms. System calls with no hooked namesake (futex, ioctl, ...)
/// are left to the program, as without the shim.
pub fn syscall_function(number: i64) -> Option<Function> {
    Some(match number {
        libc::SYS_read => Function::read,
        libc::SYS_write => Function::write,
        libc::SYS_open => Function::open,
        libc::SYS_pread64 => Function::pread,
        libc::SYS_pwrite64 => Function::pwrite,
        libc::SYS_readv => Function::readv,
        libc::SYS_writev => Function::writev,
        libc::SYS_connect => Function::connect,
        libc::SYS_accept => Function::accept,
        libc::SYS_sendto => Function::sendto,
        libc::SYS_recvfrom => Function::recvfrom,
        libc::SYS_sendmsg => Function::sendmsg,
        libc::SYS_recvmsg => Function::recvmsg,
        libc::SYS_wait4 => Function::wait4,
        libc::SYS_fcntl => Function::fcntl,
        libc::SYS_flock => Function::flock,
        libc::SYS_mq_timedsend => Function::mq_timedsend,
        libc::SYS_mq_timedreceive => Function::mq_timedreceive,
        libc::SYS_waitid => Function::waitid,
        libc::SYS_openat => Function::openat,
        libc::SYS_accept4 => Function::accept4,
        libc::SYS_preadv => Function::preadv,
        libc::SYS_pwritev => Function::pwritev,
        libc::SYS_recvmmsg => Function::recvmmsg,
        libc::SYS_sendmmsg => Function::sendmmsg,
        libc::SYS_preadv2 => Function::preadv2,
        libc::SYS_pwritev2 => Function::pwritev2,
        _ => return None,
    })
}

/// Whether a hook's real call can block in this system call and be
/// restarted: the calls named above, and the futex waits of `sem_wait`,
/// `sem_timedwait` and `sem_clockwait`.
pub fn hooks_make(number: i64) -> bool {
    number == libc::SYS_futex || syscall_function(number).is_some()
}

/// How the instruction before a return address called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `call rel32` (`e8`): a direct call.
    Direct,
    /// `call *disp32(%rip)` (`ff 15`, what `-fno-plt` code makes), `call
    /// *%reg`, `call *(%reg)`, `call *disp8(%reg)` or `call *disp32(%reg)`
    /// (`ff /2`, 2 to 6 bytes, with or without a REX prefix or SIB byte):
    /// through a pointer.
    Indirect,
}

/// The call instruction `address` follows, as a return address does, if
/// its bytes encode one.
///
/// # Safety
/// The 7 bytes before `address` are mapped and readable (it lies at least
/// 7 bytes into a loaded object's text).
pub unsafe fn call_before(address: usize) -> Option<Call> {
    // SAFETY: the caller's contract.
    let before = unsafe { core::ptr::read_unaligned((address - 7) as *const [u8; 7]) };
    let [_, b1, b2, b3, b4, b5, b6] = before;
    let indirect = |opcode: u8, modrm: u8| opcode == 0xff && modrm & 0x38 == 0x10;
    let through_pointer = (b1 == 0xff && b2 == 0x15)
        || (indirect(b5, b6)
            && (b6 & 0xc0 == 0xc0 || (b6 & 0xc0 == 0 && !matches!(b6 & 7, 4 | 5))))
        || (indirect(b1, b2) && b2 & 0xc0 == 0x80)
        || (indirect(b4, b5) && b5 & 0xc0 == 0x40)
        || (indirect(b4, b5) && b5 & 0xc7 == 0x04)
        || (indirect(b3, b4) && b4 & 0xc7 == 0x44);
    if through_pointer {
        Some(Call::Indirect)
    } else if b2 == 0xe8 {
        Some(Call::Direct)
    } else {
        None
    }
}

/// valgrind's client request that turns its error reports off (`1`) and
/// back on (`-1`) for this thread (`VG_USERREQ__CHANGE_ERR_DISABLEMENT`).
const VALGRIND_CHANGE_ERR_DISABLEMENT: usize = 0x1801;

/// valgrind's client request that answers how many valgrinds the program
/// runs under (0 natively: the request's default).
const VALGRIND_RUNNING_ON_VALGRIND: usize = 0x1001;

/// Makes a valgrind client request and returns its answer (0 natively, or
/// under any other tool that ignores it, where it does nothing: four
/// rotations of RDI by 128 bits in all, then `xchg rbx, rbx`, the sequence
/// valgrind recognises).
fn valgrind_request(request: usize, argument: usize) -> usize {
    let arguments: [usize; 6] = [request, argument, 0, 0, 0, 0];
    let answer: usize;
    // SAFETY: the sequence leaves every register as it was (RDI rotates
    // back to its value, RBX is exchanged with itself) but the flags and
    // RDX, declared clobbered; valgrind reads the six words at RAX.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") arguments.as_ptr(),
            inout("rdx") 0usize => answer,
            options(nostack, readonly),
        );
    }
    answer
}

/// Whether the program runs under valgrind. Its signal frames are its own:
/// RCX and R11 do not show whether the thread had entered the system call
/// (a signal delivered just before the `syscall` instruction looks like a
/// pending restart), so the trampoline must not rely on them there.
pub fn under_valgrind() -> bool {
    valgrind_request(VALGRIND_RUNNING_ON_VALGRIND, 0) != 0
}

/// Runs `scan` with valgrind's error reports off on this thread: a stack
/// scan reads padding that nobody initialised, on purpose, and memcheck
/// would report each such word. No effect outside valgrind.
pub fn unreported_by_valgrind<R>(scan: impl FnOnce() -> R) -> R {
    let _ = valgrind_request(VALGRIND_CHANGE_ERR_DISABLEMENT, 1);
    let result = scan();
    let _ = valgrind_request(VALGRIND_CHANGE_ERR_DISABLEMENT, usize::MAX);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `call_before` on `bytes` ending right before the return address.
    fn decoded(bytes: &[u8]) -> Option<Call> {
        let mut text = [0x90u8; 16];
        let start = text.len() - bytes.len();
        text[start..].copy_from_slice(bytes);
        // SAFETY: the 7 bytes before the end of `text` are readable.
        unsafe { call_before(text.as_ptr() as usize + text.len()) }
    }

    #[test]
    fn calls_before_return_addresses_are_decoded() {
        assert_eq!(decoded(&[0xe8, 1, 2, 3, 4]), Some(Call::Direct));
        for indirect in [
            &[0xff, 0x15, 1, 2, 3, 4][..], // call *disp32(%rip)
            &[0xff, 0xd0],                 // call *%rax
            &[0x41, 0xff, 0xd3],           // call *%r11
            &[0xff, 0x10],                 // call *(%rax)
            &[0xff, 0x50, 0x08],           // call *8(%rax)
            &[0xff, 0x14, 0x24],           // call *(%rsp)
            &[0xff, 0x54, 0x24, 0x08],     // call *8(%rsp)
            &[0xff, 0x90, 1, 2, 3, 4],     // call *disp32(%rax)
        ] {
            assert_eq!(decoded(indirect), Some(Call::Indirect), "{indirect:x?}");
        }
        for not_a_call in [
            &[0xff, 0xe0][..],   // jmp *%rax
            &[0xc3],             // ret
            &[0x48, 0x89, 0xc7], // mov %rax,%rdi
        ] {
            assert_eq!(decoded(not_a_call), None, "{not_a_call:x?}");
        }
    }

    #[test]
    fn only_calls_hooks_make_are_named() {
        assert_eq!(syscall_function(libc::SYS_pread64), Some(Function::pread));
        assert_eq!(syscall_function(libc::SYS_futex), None);
        assert_eq!(syscall_function(libc::SYS_clone), None);
        assert!(hooks_make(libc::SYS_futex) && hooks_make(libc::SYS_read));
        assert!(!hooks_make(libc::SYS_clone));
    }
}
