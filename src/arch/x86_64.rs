//! x86-64: the stack pointer, and the call instruction before a return
//! address.
//!
//! A call pushes the address of the instruction after it, so a return
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

use super::Call;
use core::ptr::read_volatile;

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

/// Tells Valgrind's memcheck that `len` bytes at `addr` are defined. The
/// stack scan copies words that may be stale (never written by their
/// current frame) and branches on them by design; it marks its own copy,
/// never the program's memory, so that a program run under memcheck with
/// the shim preloaded reports nothing for it. Outside Valgrind this is the
/// client-request sequence of Valgrind's documented ABI doing nothing: four
/// rotations of `rdi` by 128 bits in all, and `xchg rbx, rbx`.
#[inline(always)]
pub fn mark_defined(addr: *const u8, len: usize) {
    /// `VG_USERREQ__MAKE_MEM_DEFINED`: tool base ('M', 'C'), then 2.
    const MAKE_MEM_DEFINED: u64 = (b'M' as u64) << 24 | (b'C' as u64) << 16 | 2;
    let request: [u64; 6] = [MAKE_MEM_DEFINED, addr as u64, len as u64, 0, 0, 0];
    // SAFETY: the sequence leaves every register as it was (rdi is rotated
    // back to its value, rbx exchanged with itself) but the flags; Valgrind,
    // when present, reads the six words and writes the result into rdx.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") request.as_ptr(),
            inout("rdx") 0u64 => _,
            inout("rdi") 0u64 => _,
            options(nostack),
        );
    }
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
}
