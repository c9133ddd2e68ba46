//! Unit tests of `errno_check`.

use super::*;

/// Code in a byte array at address `BASE`; `__errno_location` is at
/// `ERRNO`.
struct Bytes<'a>(&'a [u8]);
const BASE: usize = 0x1000;
const ERRNO: usize = 0x9000;

impl Code for Bytes<'_> {
    fn read(&self, addr: usize, buf: &mut [u8]) -> usize {
        let Some(at) = addr.checked_sub(BASE) else {
            return 0;
        };
        let Some(rest) = self.0.get(at..) else {
            return 0;
        };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        n
    }
    fn is_errno_location(&self, target: Target) -> bool {
        target == Target::Direct(ERRNO)
    }
    fn is_hooked(&self, target: Target) -> bool {
        target == Target::Direct(0x8000)
    }
}

/// `call __errno_location` placed at offset `at` of the code.
fn call_errno(at: usize) -> [u8; 5] {
    let rel = (ERRNO as i64 - (BASE + at + 5) as i64) as i32;
    let r = rel.to_le_bytes();
    [0xe8, r[0], r[1], r[2], r[3]]
}

#[test]
fn decodes_lengths_of_common_instructions() {
    for (code, len) in [
        (&[0x48, 0x83, 0xf8, 0xff][..], 4),               // cmp $-1,%rax
        (&[0x83, 0x38, 0x04], 3),                         // cmpl $4,(%rax)
        (&[0x8b, 0x00], 2),                               // mov (%rax),%eax
        (&[0x48, 0x8b, 0x45, 0xf8], 4),                   // mov -8(%rbp),%rax
        (&[0x0f, 0x85, 0, 0, 0, 0], 6),                   // jne rel32
        (&[0xf3, 0x0f, 0x1e, 0xfa], 4),                   // endbr64
        (&[0x66, 0x0f, 0x1f, 0x44, 0, 0], 6),             // nopw 0(%rax,%rax)
        (&[0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8], 10),      // movabs
        (&[0xc5, 0xf9, 0xef, 0xc0], 4),                   // vpxor
        (&[0x48, 0x8d, 0x05, 0, 0, 0, 0], 7),             // lea rip
        (&[0x41, 0xc7, 0x44, 0x24, 0x08, 1, 0, 0, 0], 9), // movl $1,8(%r12)
        (&[0x66, 0x81, 0x7d, 0xf0, 0x34, 0x12], 6),       // cmpw $0x1234,-16(%rbp)
    ] {
        assert_eq!(decode(code).map(|i| i.len), Some(len), "{code:02x?}");
    }
    assert!(decode(&[0x62, 0xf1, 0x7d, 0x48]).is_none(), "EVEX");
}

/// `call read` at BASE (to 0x8000), then `tail`: the return address is
/// BASE + 5.
fn after_call(tail: &[u8]) -> Vec<u8> {
    let rel = (0x8000i64 - (BASE as i64 + 5)) as i32;
    let mut code = vec![0xe8];
    code.extend(rel.to_le_bytes());
    code.extend(tail);
    code
}

#[test]
fn an_eintr_loop_back_to_the_call_handles_it() {
    // 5: cmpq $-1,%rax; 9: jne 32; 11: call __errno_location;
    // 16: mov (%rax),%eax; 18: cmp $4,%eax; 21: jne 32;
    // 23: cmpl $0,0x100(%rip) (a flag); 30: jmp back to BASE (the call);
    // 32: ret
    let mut tail = vec![0x48, 0x83, 0xf8, 0xff, 0x75, 0x15];
    tail.extend(call_errno(11));
    tail.extend([0x8b, 0x00, 0x83, 0xf8, 0x04, 0x75, 0x09]);
    tail.extend([0x83, 0x3d, 0x00, 0x01, 0x00, 0x00, 0x00]);
    tail.extend([0xeb, (-32i8) as u8, 0xc3]);
    assert_eq!(
        classify(&Bytes(&after_call(&tail)), BASE + 5),
        Verdict::Handles
    );
    // Without the flag's load: a bare retry loop, the usual rules.
    let mut tail = vec![0x48, 0x83, 0xf8, 0xff, 0x75, 0x0e];
    tail.extend(call_errno(11));
    tail.extend([0x8b, 0x00, 0x83, 0xf8, 0x04, 0x75, 0x02]);
    tail.extend([0xeb, (-25i8) as u8, 0xc3]);
    assert_eq!(
        classify(&Bytes(&after_call(&tail)), BASE + 5),
        Verdict::Ignores
    );
}

#[test]
fn an_eintr_that_only_returns_or_stops_ignores_it() {
    // cmp $-1,%rax; jne ret; call __errno_location; cmpl $4,(%rax);
    // jne ret; mov $-1,%eax; ret
    let mut tail = vec![0x48, 0x83, 0xf8, 0xff, 0x75, 0x0d];
    tail.extend(call_errno(11));
    tail.extend([0x83, 0x38, 0x04, 0x75, 0x05, 0xb8, 0xff, 0xff, 0xff, 0xff]);
    tail.extend([0xc3]);
    assert_eq!(
        classify(&Bytes(&after_call(&tail)), BASE + 5),
        Verdict::Ignores
    );
    // The same with a call on the EINTR side, then a return (a stop
    // flag's loop exit, an exit status chosen): still no retry.
    let mut tail = vec![0x48, 0x83, 0xf8, 0xff, 0x75, 0x0d];
    tail.extend(call_errno(11));
    tail.extend([0x83, 0x38, 0x04, 0x75, 0x05, 0xe8, 0x00, 0x01, 0x00, 0x00]);
    tail.extend([0xc3]);
    assert_eq!(
        classify(&Bytes(&after_call(&tail)), BASE + 5),
        Verdict::Ignores
    );
}

#[test]
fn no_compare_ignores_and_garbage_is_unknown() {
    // cmp $-1,%rax; jne ret; call perror-ish; ret
    let code = [0x48, 0x83, 0xf8, 0xff, 0x75, 0x05, 0xe8, 0, 1, 0, 0, 0xc3];
    assert_eq!(classify(&Bytes(&code), BASE), Verdict::Ignores);
    assert_eq!(classify(&Bytes(&[0x62, 0xf1]), BASE), Verdict::Unknown);
    assert_eq!(classify(&Bytes(&[]), BASE), Verdict::Unknown);
    // A compare with 4 of something that is not errno.
    let code = [0x83, 0xf8, 0x04, 0x74, 0x00, 0xe8, 0, 1, 0, 0, 0xc3];
    assert_eq!(classify(&Bytes(&code), BASE), Verdict::Ignores);
}

#[test]
fn the_eintr_side_follows_its_loop_back_before_the_way_on() {
    // 5: cmpq $-1,%rax; 9: jne end (rel32); 15: call __errno_location;
    // 20: mov (%rax),%eax; 22: cmp $4,%eax; 25: jne end (rel32);
    // 31: cmpl $0,0x100(%rip) (a flag); 38: je BASE (the call again);
    // 40: forty forks (test %eax,%eax; jne +2; nop; nop); end: ret.
    // The forks' paths would spend the budget before the loop back.
    let end = 40 + 40 * 6;
    let rel32 = |from: usize| ((end as i64 - from as i64) as i32).to_le_bytes();
    let mut tail = vec![0x48, 0x83, 0xf8, 0xff, 0x0f, 0x85];
    tail.extend(rel32(15));
    tail.extend(call_errno(15));
    tail.extend([0x8b, 0x00, 0x83, 0xf8, 0x04, 0x0f, 0x85]);
    tail.extend(rel32(31));
    tail.extend([0x83, 0x3d, 0x00, 0x01, 0x00, 0x00, 0x00]);
    tail.extend([0x74, (-40i8) as u8]);
    for _ in 0..40 {
        tail.extend([0x85, 0xc0, 0x75, 0x02, 0x90, 0x90]);
    }
    tail.push(0xc3);
    assert_eq!(
        classify(&Bytes(&after_call(&tail)), BASE + 5),
        Verdict::Handles
    );
}
