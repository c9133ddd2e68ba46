//! x86-64: the kernel's restart convention as a handler's context shows
//! it, the stack pointer, and the call instruction before a return address.
//!
//! **Restarts** (arch/x86/kernel/signal.c). When a handler interrupts a
//! system call that returned -ERESTARTSYS and the handler has SA_RESTART,
//! the kernel sets RAX back to the system call number and RIP back by the 2
//! bytes of the `syscall` instruction (`0f 05`), so the call is made again
//! when the handler returns. The handler's `ucontext_t` holds exactly those
//! registers, and sigreturn restores whatever the frame holds.
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
//!
//! **Calls.** A call pushes the address of the instruction after it, so a return
//! address is preceded by one of these encodings (the lengths are what
//! [`call_before`] checks, counting back from the return address):
//! - `e8 rel32`, 5 bytes: a direct call, through the PLT or not;
//! - `ff /2` with a ModRM byte whose reg field is 2: `ff d0` (`call *%rax`,
//!   2 bytes), `ff 50 08` (`call *8(%rax)`, 3), `ff 54 24 08` (`call
//!   *8(%rsp)`, 4), `ff 15 disp32` (`call *disp32(%rip)`, 6, the `-fno-plt`
//!   form), `ff 94 24 disp32` (7), each optionally after a REX prefix
//!   (`41 ff d2`, `call *%r10`) and CET's `notrack` prefix `3e`.
//!
//! Other bytes can look like these by chance (about one word in a hundred
//! that points into code passes), and a function pointer to a function
//! that follows a `call` to a function that does not return
//! (`__stack_chk_fail`) passes too. The callers of [`call_before`] know:
//! they also check where the call goes.

pub mod errno_check;
mod trampoline;

pub use trampoline::{trampoline, trampoline_address, Enter, Entered, Leave};

use super::{Call, Restart, State};
use crate::functions::Function;
use core::ffi::c_void;
use core::ptr::read_volatile;
use libc::{ucontext_t, REG_EFL, REG_R11, REG_RAX, REG_RCX, REG_RDI, REG_RIP, REG_RSP};

/// The decoder exists.
pub const SUPPORTED: bool = true;

/// The longest call recognised: `3e`, REX, `ff`, ModRM, SIB, disp32.
const LONGEST: usize = 9;

/// The stack pointer of the function this is inlined into.
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies a register into another; no memory is touched.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// Makes a valgrind client request (its six words: the request, then its
/// arguments) and returns the answer. Outside valgrind (or under any tool
/// that ignores it) it does nothing and answers 0: the sequence is four
/// rotations of RDI by 128 bits in all, then `xchg rbx, rbx`, the one
/// valgrind's documented ABI recognises.
fn valgrind_request(words: [u64; 6]) -> u64 {
    let answer: u64;
    // SAFETY: the sequence leaves every register as it was (RDI rotates
    // back to its value, RBX is exchanged with itself) but the flags and
    // RDX, declared clobbered; valgrind, when present, reads the six words
    // at RAX and writes its answer into RDX.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") words.as_ptr(),
            inout("rdx") 0u64 => answer,
            options(nostack, readonly),
        );
    }
    answer
}

/// Tells Valgrind's memcheck that `len` bytes at `addr` are defined. The
/// stack scan copies words that may be stale (never written by their
/// current frame) and branches on them by design; it marks its own copy,
/// never the program's memory, so that a program run under memcheck with
/// the shim preloaded reports nothing for it.
#[inline(always)]
pub fn mark_defined(addr: *const u8, len: usize) {
    /// `VG_USERREQ__MAKE_MEM_DEFINED`: tool base ('M', 'C'), then 2.
    const MAKE_MEM_DEFINED: u64 = (b'M' as u64) << 24 | (b'C' as u64) << 16 | 2;
    let _ = valgrind_request([MAKE_MEM_DEFINED, addr as u64, len as u64, 0, 0, 0]);
}

/// Whether the program runs under valgrind (`RUNNING_ON_VALGRIND`). Its
/// signal frames are its own: RCX and R11 do not show whether the thread
/// had entered the system call (a signal delivered just before the
/// `syscall` instruction looks like a pending restart), so the trampoline
/// must not rely on them there.
pub fn under_valgrind() -> bool {
    /// `VG_USERREQ__RUNNING_ON_VALGRIND`.
    const RUNNING_ON_VALGRIND: u64 = 0x1001;
    valgrind_request([RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]) != 0
}

/// The address an IFUNC resolves to: glibc calls an x86-64 resolver with
/// no arguments (aarch64 passes the hardware capabilities: `(hwcap |
/// _IFUNC_ARG_HWCAP, &ifunc_arg)`).
///
/// # Safety
/// `resolver` is the resolver of an IFUNC in a loaded object.
pub unsafe fn call_ifunc_resolver(resolver: usize) -> usize {
    // SAFETY: an IFUNC resolver takes nothing here and returns an address.
    let resolver: unsafe extern "C" fn() -> usize = unsafe { core::mem::transmute(resolver) };
    // SAFETY: the caller's contract.
    unsafe { resolver() }
}

/// The call instruction that ends at `ret`, if the bytes before it encode
/// one. No byte below `lowest` is read.
///
/// # Safety
/// The bytes from `max(lowest, ret - 9)` up to `ret` must be readable.
pub unsafe fn call_before(ret: usize, lowest: usize) -> Option<Call> {
    let available = ret.checked_sub(lowest)?.min(LONGEST);
    let mut bytes = [0u8; LONGEST];
    let start = LONGEST - available;
    for (i, byte) in bytes.iter_mut().enumerate().skip(start) {
        // SAFETY: `ret - (LONGEST - i)` lies in [ret - available, ret),
        // which the caller guarantees readable.
        *byte = unsafe { read_volatile((ret - (LONGEST - i)) as *const u8) };
    }
    decode(bytes.get(start..)?, ret)
}

/// The call that ends exactly at the end of `code`, the bytes before `ret`.
fn decode(code: &[u8], ret: usize) -> Option<Call> {
    let back = |k: usize| code.len().checked_sub(k).and_then(|i| code.get(i)).copied();
    if back(5) == Some(0xe8) {
        let rel = i32::from_le_bytes([back(4)?, back(3)?, back(2)?, back(1)?]);
        return Some(Call::Direct(ret.wrapping_add_signed(rel as isize)));
    }
    (2..=code.len()).find_map(|length| indirect(code.get(code.len() - length..)?, ret))
}

/// `code` is exactly one `ff /2` call, with its prefixes.
fn indirect(code: &[u8], ret: usize) -> Option<Call> {
    let mut at = 0;
    if code.first() == Some(&0x3e) {
        at += 1;
    }
    if code.get(at).is_some_and(|b| (0x40..=0x4f).contains(b)) {
        at += 1;
    }
    if code.get(at) != Some(&0xff) {
        return None;
    }
    let modrm = *code.get(at + 1)?;
    if (modrm >> 3) & 7 != 2 {
        return None;
    }
    let (mode, rm) = (modrm >> 6, modrm & 7);
    let sib = mode != 3 && rm == 4;
    let displacement = match mode {
        0 if rm == 5 => 4,
        0 if sib && code.get(at + 2).is_some_and(|s| s & 7 == 5) => 4,
        1 => 1,
        2 => 4,
        _ => 0,
    };
    if at + 2 + usize::from(sib) + displacement != code.len() {
        return None;
    }
    if mode == 0 && rm == 5 {
        let disp = i32::from_le_bytes(code.get(code.len() - 4..)?.try_into().ok()?);
        return Some(Call::Slot(ret.wrapping_add_signed(disp as isize)));
    }
    Some(Call::Indirect)
}

/// If the code at `entry` is a PLT stub (`jmp *disp32(%rip)`, after an
/// optional `endbr64` and `bnd` prefix, as in `.plt`, `.plt.sec` and
/// `.plt.got`), the address of the slot it jumps through. No byte at or
/// above `end` is read.
///
/// # Safety
/// The bytes from `entry` up to `min(end, entry + 11)` must be readable.
pub unsafe fn plt_slot(entry: usize, end: usize) -> Option<usize> {
    const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];
    let mut code = [0u8; 11];
    let available = end.checked_sub(entry)?.min(code.len());
    for (i, byte) in code.iter_mut().enumerate().take(available) {
        // SAFETY: `entry + i` lies in [entry, entry + available), which
        // the caller guarantees readable.
        *byte = unsafe { read_volatile((entry + i) as *const u8) };
    }
    let code = code.get(..available)?;
    let mut at = 0;
    if code.get(..4) == Some(&ENDBR64[..]) {
        at += 4;
    }
    if code.get(at) == Some(&0xf2) {
        at += 1;
    }
    if code.get(at..at + 2) != Some(&[0xff, 0x25][..]) {
        return None;
    }
    let disp = i32::from_le_bytes(code.get(at + 2..at + 6)?.try_into().ok()?);
    Some((entry + at + 6).wrapping_add_signed(disp as isize))
}

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
pub unsafe fn state(context: *mut c_void) -> Option<State> {
    // SAFETY: the caller's contract.
    if let Some(restart) = unsafe { pending_restart(context) } {
        return Some(State::Restart(restart));
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
        State::Failed { stack }
    } else {
        State::Running { pc, stack }
    })
}

/// Turns the pending restart into what the kernel reports without
/// SA_RESTART: RAX = -EINTR, RIP past the `syscall` instruction.
///
/// A context on an alternate signal stack is the program's memory, which
/// another thread may have made read-only while the handler ran: there the
/// two registers are written with `process_vm_writev`, which fails rather
/// than faults, and the restart stays as it was if it cannot.
///
/// # Safety
/// `context` is the third argument of a running SA_SIGINFO handler, and
/// [`pending_restart`] found a restart in it.
pub unsafe fn fail_with_eintr(context: *mut c_void) {
    // SAFETY: the caller's contract.
    let Some(frame) = (unsafe { context.cast::<ucontext_t>().as_mut() }) else {
        return;
    };
    let alternate = frame.uc_stack.ss_sp as usize;
    let on_alternate = (context as usize).wrapping_sub(alternate) < frame.uc_stack.ss_size;
    let registers = &mut frame.uc_mcontext.gregs;
    let pc = get(registers, REG_RIP).wrapping_add(SYSCALL_LEN as i64);
    let eintr = -i64::from(libc::EINTR);
    if !on_alternate {
        set(registers, REG_RAX, eintr);
        set(registers, REG_RIP, pc);
        return;
    }
    let slot = |register: libc::c_int| {
        usize::try_from(register)
            .ok()
            .and_then(|r| registers.get(r))
            .map_or(core::ptr::null_mut(), |r| r as *const i64 as *mut c_void)
    };
    let (rax, rip) = (slot(REG_RAX), slot(REG_RIP));
    if rax.is_null() || rip.is_null() {
        return;
    }
    let values = [eintr, pc];
    let local = libc::iovec {
        iov_base: values.as_ptr() as *mut c_void,
        iov_len: 16,
    };
    let remote = [
        libc::iovec {
            iov_base: rax,
            iov_len: 8,
        },
        libc::iovec {
            iov_base: rip,
            iov_len: 8,
        },
    ];
    // SAFETY: the kernel reads `values` and writes the two registers'
    // slots in this process, checking that they are writable. The process
    // id is asked each time: a cached one could name the parent in a
    // child made by a raw `clone`.
    crate::errno::preserved(|| unsafe {
        libc::syscall(
            libc::SYS_process_vm_writev,
            crate::process::getpid(),
            &local as *const libc::iovec,
            1usize,
            remote.as_ptr(),
            2usize,
            0usize,
        )
    });
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
pub fn hooks_can_block_in(number: i64) -> bool {
    number == libc::SYS_futex || syscall_function(number).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `code` as the bytes just before a return address at 0x1000.
    fn before(code: &[u8]) -> Option<Call> {
        decode(code, 0x1000)
    }

    #[test]
    fn direct_and_rip_relative_calls_give_their_targets() {
        assert_eq!(
            before(&[0x90, 0xe8, 0x10, 0, 0, 0]),
            Some(Call::Direct(0x1010))
        );
        assert_eq!(
            before(&[0xe8, 0xf0, 0xff, 0xff, 0xff]),
            Some(Call::Direct(0xff0))
        );
        assert_eq!(
            before(&[0xff, 0x15, 0x20, 0, 0, 0]),
            Some(Call::Slot(0x1020))
        );
    }

    #[test]
    fn every_indirect_form_assembled_by_gas() {
        // `as` on x86-64: call *%rax, *%r10, *8(%rax), *8(%rsp),
        // *0x100(%rbx), *0x100(%rsp), *(%rax), *(%r11), *0x12345678,
        // notrack call *%rax, *0x100(%r12).
        for code in [
            &[0xff, 0xd0][..],
            &[0x41, 0xff, 0xd2],
            &[0xff, 0x50, 0x08],
            &[0xff, 0x54, 0x24, 0x08],
            &[0xff, 0x93, 0x00, 0x01, 0x00, 0x00],
            &[0xff, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00],
            &[0xff, 0x10],
            &[0x41, 0xff, 0x13],
            &[0xff, 0x14, 0x25, 0x78, 0x56, 0x34, 0x12],
            &[0x3e, 0xff, 0xd0],
            &[0x41, 0xff, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00],
        ] {
            let mut padded = vec![0x90; LONGEST - code.len()];
            padded.extend_from_slice(code);
            assert_eq!(before(&padded), Some(Call::Indirect), "{code:02x?}");
        }
    }

    #[test]
    fn other_code_is_no_call() {
        for code in [
            &[0x90; 9][..],
            &[0xc3],
            &[],
            // jmp *%rax (ff /4) and push *8(%rax) (ff /6)
            &[0x90, 0xff, 0xe0],
            &[0x90, 0xff, 0x70, 0x08],
            // a call one byte further back than the return address
            &[0xff, 0xd0, 0x90],
        ] {
            assert_eq!(before(code), None, "{code:02x?}");
        }
    }

    #[test]
    fn reads_no_byte_below_lowest() {
        let code = [0xe8u8, 0x10, 0, 0, 0];
        let ret = code.as_ptr() as usize + code.len();
        // SAFETY: the bytes read lie in `code`.
        unsafe {
            assert!(matches!(
                call_before(ret, code.as_ptr() as usize),
                Some(Call::Direct(_))
            ));
            assert_eq!(call_before(ret, code.as_ptr() as usize + 1), None);
            assert_eq!(call_before(ret, ret), None);
        }
    }

    #[test]
    fn plt_stubs_of_each_kind() {
        // .plt: jmp *0x10(%rip); push $0; jmp .plt
        let plt = [0xffu8, 0x25, 0x10, 0, 0, 0, 0x68, 0, 0, 0, 0];
        // .plt.sec: endbr64; bnd jmp *0x10(%rip)
        let sec = [0xf3u8, 0x0f, 0x1e, 0xfa, 0xf2, 0xff, 0x25, 0x10, 0, 0, 0];
        let call = [0xe8u8, 0, 0, 0, 0, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90];
        // SAFETY: each read stays within the array named.
        unsafe {
            let at = plt.as_ptr() as usize;
            assert_eq!(plt_slot(at, at + plt.len()), Some(at + 6 + 0x10));
            let at = sec.as_ptr() as usize;
            assert_eq!(plt_slot(at, at + sec.len()), Some(at + 11 + 0x10));
            assert_eq!(plt_slot(at, at + 8), None, "cut short by `end`");
            let at = call.as_ptr() as usize;
            assert_eq!(plt_slot(at, at + call.len()), None);
        }
    }

    #[test]
    fn only_calls_hooks_can_block_in_are_named() {
        assert_eq!(syscall_function(libc::SYS_pread64), Some(Function::pread));
        assert_eq!(syscall_function(libc::SYS_futex), None);
        assert_eq!(syscall_function(libc::SYS_clone), None);
        assert!(hooks_can_block_in(libc::SYS_futex) && hooks_can_block_in(libc::SYS_read));
        assert!(!hooks_can_block_in(libc::SYS_clone));
    }

    /// The hooked functions no system call is named after here, each with
    /// why. A hook added to the catalogue must be named by
    /// [`syscall_function`] or listed here: otherwise libc's own calls of
    /// its system call (inside stdio, `system`) are left unpoliced.
    const NOT_NAMED: &[Function] = &[
        // Another hooked function's system call, named after that one.
        Function::pread64,
        Function::pwrite64,
        Function::open64,
        Function::openat64,
        Function::recv,
        Function::send,
        Function::waitpid,
        Function::wait,
        Function::wait3,
        Function::mq_send,
        Function::mq_receive,
        // System calls the kernel never restarts after a handler: their
        // EINTR reaches the hook whatever the flags.
        Function::close,
        Function::nanosleep,
        Function::clock_nanosleep,
        Function::usleep,
        Function::sleep,
        Function::poll,
        Function::ppoll,
        Function::select,
        Function::pselect,
        Function::epoll_wait,
        Function::epoll_pwait,
        Function::epoll_pwait2,
        Function::msgrcv,
        Function::msgsnd,
        Function::semop,
        Function::semtimedop,
        // Futex waits, told apart by `hooks_can_block_in` instead.
        Function::sem_wait,
        Function::sem_timedwait,
        Function::sem_clockwait,
    ];

    #[test]
    fn every_hooked_function_is_named_by_its_system_call_or_listed() {
        let named: Vec<Function> = (0..1024).filter_map(syscall_function).collect();
        for &function in Function::ALL {
            if function.base() != function {
                continue;
            }
            let listed = NOT_NAMED.contains(&function);
            assert!(
                named.contains(&function) != listed,
                "{}: name it in syscall_function or list it in NOT_NAMED (not both)",
                function.name()
            );
        }
    }
}
