//! x86-64: whether the code after a call compares `errno` with EINTR, and
//! then does something about it (the per-site rule, see
//! `docs/per-site-rule.md`).
//!
//! The walk starts at a return address and decodes forward, following
//! jumps and both sides of conditional branches, within fixed budgets of
//! instructions, paths and bytes. It tracks, per path, three things:
//! - registers that hold errno's address: `rax` after a call to
//!   `__errno_location` (the caller tells which calls those are), copied
//!   by `mov`;
//! - registers that hold errno's value: a 32-bit load through such an
//!   address, copied by `mov`;
//! - stack slots that hold errno's value (`-O0` code stores it in a local).
//!
//! Any other write to a register forgets it, and a call forgets the
//! registers a call may clobber. A compare made after another call on the
//! path does not count: errno may then be that call's (a walk that runs
//! on past the site's own check meets the checks of later calls). An EINTR check is a compare of errno's
//! value (or of errno in memory) with 4, followed at once by `je` or `jne`.
//! The side taken when errno is EINTR then decides: it **handles** EINTR
//! when one of its paths first looks at the program's signal state (calls
//! something: dd's `process_signals`, bash's `check_signals_and_traps`;
//! or tests its data: a reload flag a handler set, Perl's
//! `PL_sig_pending`) and then comes back to the same call, a retry. A bare
//! retry loop (`while (read(...) < 0 && errno == EINTR);`) gains nothing
//! from the EINTR, so it keeps the usual rules, and with them the shim's
//! deadlines; so does a loop that only notes the EINTR. Any other use of
//! the compare does not count: returning the failure to a caller the shim
//! does not see (`errno_assert(errno == EINTR); return -1;` in ZeroMQ),
//! stopping a loop on a flag set by a handler (`if (errno == EINTR &&
//! stop) break;` and die otherwise), choosing an exit status. Such calls
//! keep the usual rules, stop flags included.
//!
//! The decoder reads only through [`Code::read`], never past the budgets:
//! at most [`MAX_INSTRUCTIONS`] instructions of at most 15 bytes. What it
//! cannot decode (AVX-512's EVEX prefix, an indirect jump) ends that path
//! as unknown. Nothing here allocates or locks, so it is usable in a signal
//! handler; it depends on nothing else in the crate, so that `eintrfix
//! check` compiles the same file to count a program's call sites.
//!
//! What aarch64 would need (see `src/arch/mod.rs`): instructions are 4
//! bytes, so decoding is a table lookup. `bl __errno_location` (through
//! the PLT) leaves the address in x0; the load is `ldr w1, [x0]`, the
//! compare `cmp w1, #4` (`subs wzr, w1, #4`) followed by `b.eq`/`b.ne`,
//! or the fused `cbz`/`cbnz` after a `sub`; a retry loop is a `b` back.
//! Callee-saved registers are x19–x28; x0–x18 are clobbered by a call.
//!
//! Here: what counts as a check and as handling it, and the verdict. What
//! one path knows of errno and what each instruction does to it:
//! `errno_check/state.rs`; following the paths within the budgets:
//! `errno_check/paths.rs`; decoding: `decode.rs`.

#[path = "decode.rs"]
mod decode;

#[path = "errno_check/paths.rs"]
mod paths;
#[path = "errno_check/state.rs"]
mod state;

pub use super::super::call_site::{Code, Target, Verdict};
use decode::decode;
use paths::{fetch, onward, walk, Flow, Order};
use state::{step, State, Step};

/// Instructions decoded at most, over all paths.
pub const MAX_INSTRUCTIONS: usize = 320;
/// Instructions followed on one path, from the return address or a fork.
const MAX_PATH: usize = 64;
/// Instructions followed on the EINTR side of a compare.
const MAX_EFFECT: usize = 48;
/// EINTR on Linux.
const EINTR: i64 = 4;

/// The length of the instruction at the start of `b`, and where it calls
/// if it is a direct or RIP-relative call (`pc`: its address). For a
/// linear sweep over a file's code (`eintrfix check`).
pub fn call_in(b: &[u8], pc: usize) -> Option<(usize, Option<Target>)> {
    let insn = decode(b)?;
    let next = pc.wrapping_add(insn.len);
    let target = match (insn.vex, insn.opcode, insn.digit(), insn.memory) {
        (false, 0xe8, _, _) => Some(Target::Direct(next.wrapping_add_signed(insn.imm as isize))),
        (false, 0xff, Some(2), Some(m)) if m.rip => {
            Some(Target::Slot(next.wrapping_add_signed(m.disp as isize)))
        }
        _ => None,
    };
    Some((insn.len, target))
}

/// What the EINTR side of a compare does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Handles,
    Returns,
    Unknown,
}

/// Follows the EINTR side of a compare from `pc`: see the module
/// documentation. `ret` is the return address the walk started from; the
/// side handles the EINTR when a path reaches the call that ends there
/// again (a retry), having looked at the signal state first.
fn effect(code: &impl Code, pc: usize, state: State, ret: usize, budget: &mut usize) -> Effect {
    let walked = walk(
        code,
        pc,
        state,
        MAX_EFFECT,
        Order::LoopsFirst,
        budget,
        |stepped, next, state, _| match stepped {
            Step::Call(_) if next == ret && state.acted => Flow::Found,
            Step::Call(_) if next == ret => Flow::End,
            Step::Call(target) => {
                state.acted |= !target.is_some_and(|t| code.is_hooked(t));
                Flow::Go(next)
            }
            other => onward(other, next),
        },
    );
    if walked.found {
        Effect::Handles
    } else if walked.lost || walked.truncated {
        Effect::Unknown
    } else {
        Effect::Returns
    }
}

/// Whether the code from the return address `ret` handles an EINTR of the
/// call before it. See the module documentation. [`Verdict::Unknown`]
/// when no compare was found and some path met code that could not be
/// followed (undecodable, an indirect jump); running out of budget, or of
/// room for more paths, only means no compare lies within it.
pub fn classify(code: &impl Code, ret: usize) -> Verdict {
    if fetch(code, ret).is_err() {
        return Verdict::Unknown;
    }
    let mut budget = MAX_INSTRUCTIONS;
    let mut compared = false;
    let mut unclear = false;
    let walked = walk(
        code,
        ret,
        State::default(),
        MAX_PATH,
        Order::OnFirst,
        &mut budget,
        |stepped, next, state, budget| {
            if let Step::Compare = stepped {
                compared = true;
                match eintr_side(code, next, *state, ret, budget) {
                    Some(Effect::Handles) => return Flow::Found,
                    Some(Effect::Unknown) | None => unclear = true,
                    Some(Effect::Returns) => {}
                }
            }
            onward(stepped, next)
        },
    );
    if walked.found {
        return Verdict::Handles;
    }
    match (compared, walked.lost || unclear) {
        (_, false) | (true, true) => Verdict::Ignores,
        (false, true) => Verdict::Unknown,
    }
}

/// After a compare with EINTR ending at `next`: the branch on it (within
/// two instructions that leave the flags alone), and what its EINTR side
/// does. `None` when no `je`/`jne` follows.
fn eintr_side(
    code: &impl Code,
    mut pc: usize,
    mut state: State,
    ret: usize,
    budget: &mut usize,
) -> Option<Effect> {
    for _ in 0..3 {
        let insn = fetch(code, pc).ok()?;
        let next = pc + insn.len;
        match step(code, &insn, next, &mut state) {
            Step::Branch(0x4, to) => return Some(effect(code, to, state, ret, budget)),
            Step::Branch(0x5, _) => return Some(effect(code, next, state, ret, budget)),
            Step::Next if matches!(insn.opcode, 0x88..=0x8b | 0x8d | 0xb8..=0xbf) => pc = next,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
#[path = "errno_check/tests.rs"]
mod tests;
