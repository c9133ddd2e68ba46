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

#[path = "decode.rs"]
mod decode;

pub use super::super::call_site::{Code, Target, Verdict};
use decode::{decode, Insn, Memory};

/// Instructions decoded at most, over all paths.
pub const MAX_INSTRUCTIONS: usize = 320;
/// Instructions followed on one path, from the return address or a fork.
const MAX_PATH: usize = 64;
/// Paths waiting to be followed at most; more forks are dropped.
const MAX_PENDING: usize = 16;
/// Places already followed from, remembered to cut loops.
const MAX_SEEN: usize = 48;
/// Instructions followed on the EINTR side of a compare.
const MAX_EFFECT: usize = 48;
/// Stack slots remembered as holding errno's value.
const SLOTS: usize = 4;
/// Registers a call may change (System V ABI): rax, rcx, rdx, rsi, rdi,
/// r8–r11.
const CLOBBERED: u16 = 0b0000_1111_1100_0111;
const RAX: u8 = 0;
const RDX: u8 = 2;
const RSP: u8 = 4;
const RBP: u8 = 5;
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

/// What one path knows about errno.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    /// Registers holding errno's address.
    address: u16,
    /// Registers holding errno's value.
    value: u16,
    /// Frame slots holding errno's value: (base register, displacement).
    slots: [Option<(u8, i64)>; SLOTS],
    /// Whether the path has called something since the return address:
    /// errno may then be another call's, and a compare no longer counts.
    called: bool,
    /// On the EINTR side of a compare: whether the path has looked at
    /// something, a call or a test of the object's data (a flag a handler
    /// sets), before coming back to the call.
    acted: bool,
    /// Registers holding a value loaded from the object's data, or through
    /// such a value (a flag, or a GOT entry's address of one).
    loaded: u16,
}

impl State {
    fn forget(&mut self, reg: u8) {
        let bit = !(1u16 << (reg & 15));
        self.address &= bit;
        self.value &= bit;
        self.loaded &= bit;
    }
    fn copy(&mut self, to: u8, from: u8) {
        let (to_bit, from_bit) = (1u16 << (to & 15), 1u16 << (from & 15));
        self.forget(to);
        if self.address & from_bit != 0 {
            self.address |= to_bit;
        }
        if self.value & from_bit != 0 {
            self.value |= to_bit;
        }
    }
    fn holds_value(&self, reg: u8) -> bool {
        self.value & 1 << (reg & 15) != 0
    }
    fn slot(m: &Memory) -> Option<(u8, i64)> {
        match m.base {
            Some(base @ (RSP | RBP)) if !m.index && !m.rip => Some((base, m.disp)),
            _ => None,
        }
    }
    fn slot_holds(&self, m: &Memory) -> bool {
        Self::slot(m).is_some_and(|s| self.slots.contains(&Some(s)))
    }
    fn is_errno(&self, m: &Memory) -> bool {
        !m.index && !m.rip && m.disp == 0 && m.base.is_some_and(|b| self.address & 1 << b != 0)
    }
    fn store_slot(&mut self, m: &Memory, holds: bool) {
        let Some(slot) = Self::slot(m) else { return };
        for s in self.slots.iter_mut() {
            if *s == Some(slot) {
                *s = None;
            }
        }
        if holds {
            if let Some(free) = self.slots.iter_mut().find(|s| s.is_none()) {
                *free = Some(slot);
            }
        }
    }
    fn after_call(&mut self) {
        self.address &= !CLOBBERED;
        self.value &= !CLOBBERED;
        self.loaded &= !CLOBBERED;
    }
    /// After a call that is not `__errno_location`'s.
    fn after_other_call(&mut self) {
        self.after_call();
        self.called = true;
        self.slots = [None; SLOTS];
    }
}

/// What one instruction does to the walk.
enum Step {
    /// Go on at the next instruction.
    Next,
    /// Go on at the target (an unconditional jump).
    Jump(usize),
    /// Both: a conditional branch (condition code, target).
    Branch(u8, usize),
    /// The path ends: a return.
    Return,
    /// The path ends: nothing more can be known (indirect jump, trap).
    Stop,
    /// A call, not to `__errno_location`: where, when known.
    Call(Option<Target>),
    /// A jump through a pointer in the object's data: a tail call (the
    /// path ends, having called something).
    TailCall,
    /// A compare of errno's value with EINTR.
    Compare,
}

/// Applies `insn` at `pc` (ending at `next`) to `state`.
fn step(code: &impl Code, insn: &Insn, next: usize, state: &mut State) -> Step {
    let rel = |imm: i64| next.wrapping_add_signed(imm as isize);
    if insn.vex {
        if let Some(reg) = insn.reg() {
            state.forget(reg);
        }
        return Step::Next;
    }
    let op = insn.opcode;
    match op {
        0xe8 => {
            state.after_call();
            if code.is_errno_location(Target::Direct(rel(insn.imm))) {
                state.address |= 1 << RAX;
                return Step::Next;
            }
            state.after_other_call();
            Step::Call(Some(Target::Direct(rel(insn.imm))))
        }
        0xff => match insn.digit() {
            Some(2 | 3) => {
                state.after_call();
                let mut target = None;
                if let Some(m) = insn.memory.filter(|m| m.rip) {
                    let slot = Target::Slot(next.wrapping_add_signed(m.disp as isize));
                    if code.is_errno_location(slot) {
                        state.address |= 1 << RAX;
                        return Step::Next;
                    }
                    target = Some(slot);
                }
                state.after_other_call();
                Step::Call(target)
            }
            // `jmp *disp32(%rip)`: a tail call through the GOT, or a PLT
            // stub the path jumped into.
            Some(4) if insn.memory.is_some_and(|m| m.rip) => Step::TailCall,
            Some(4 | 5) => Step::Stop,
            Some(0 | 1) => {
                if let Some(r) = insn.rm_reg() {
                    state.forget(r);
                }
                if let Some(m) = insn.memory {
                    state.store_slot(&m, false);
                }
                Step::Next
            }
            _ => Step::Next,
        },
        0xe9 | 0xeb => Step::Jump(rel(insn.imm)),
        0x70..=0x7f => Step::Branch((op & 0xf) as u8, rel(insn.imm)),
        0x0f80..=0x0f8f => Step::Branch((op & 0xf) as u8, rel(insn.imm)),
        0xe0..=0xe3 => Step::Branch(0xff, rel(insn.imm)),
        0xc2 | 0xc3 | 0xca | 0xcb | 0xcf => Step::Return,
        0xcc | 0xcd | 0xf4 | 0x0f0b | 0x0f05 => Step::Stop,
        // cmp r/m, imm
        0x80 | 0x81 | 0x83 if insn.digit() == Some(7) => {
            let eintr = insn.imm == EINTR
                && !state.called
                && match (insn.rm_reg(), insn.memory) {
                    (Some(r), _) => state.holds_value(r),
                    (None, Some(m)) => state.is_errno(&m) || state.slot_holds(&m),
                    _ => false,
                };
            if eintr {
                Step::Compare
            } else {
                Step::Next
            }
        }
        0x3d if insn.imm == EINTR && !state.called && state.holds_value(RAX) => Step::Compare,
        // cmp, test: no register written.
        0x38..=0x3d | 0x84 | 0x85 | 0xa8 | 0xa9 => Step::Next,
        0xf6 | 0xf7 if insn.digit().is_some_and(|d| d < 2) => Step::Next,
        // mov r/m, r
        0x88 | 0x89 => {
            match (insn.rm_reg(), insn.memory, insn.reg()) {
                (Some(to), _, Some(from)) if op == 0x89 => state.copy(to, from),
                (Some(to), _, _) => state.forget(to),
                (None, Some(m), Some(from)) => {
                    state.store_slot(&m, op == 0x89 && !insn.rex_w && state.holds_value(from))
                }
                _ => {}
            }
            Step::Next
        }
        // mov r, r/m
        0x8b => {
            let Some(to) = insn.reg() else {
                return Step::Next;
            };
            match (insn.rm_reg(), insn.memory) {
                (Some(from), _) => state.copy(to, from),
                (None, Some(m)) => {
                    let loads_errno = !insn.rex_w && (state.is_errno(&m) || state.slot_holds(&m));
                    state.forget(to);
                    if loads_errno {
                        state.value |= 1 << to;
                    }
                }
                _ => state.forget(to),
            }
            Step::Next
        }
        // mov m, imm: a store.
        0xc6 | 0xc7 => {
            match (insn.rm_reg(), insn.memory) {
                (Some(r), _) => state.forget(r),
                (None, Some(m)) => state.store_slot(&m, false),
                _ => {}
            }
            Step::Next
        }
        0x50..=0x57 | 0x68 | 0x6a | 0x90 | 0x0f1f | 0x0f1e | 0x0f18 | 0x0f0d => Step::Next,
        0x58..=0x5f | 0xb0..=0xbf | 0x91..=0x97 => {
            // Without the REX.B bit the decoder keeps, forget both the
            // low register and its r8-r15 counterpart.
            state.forget((op & 7) as u8);
            state.forget((op & 7) as u8 | 8);
            if (0x91..=0x97).contains(&op) {
                state.forget(RAX);
            }
            Step::Next
        }
        _ => {
            // Anything else: forget every register it may write.
            match insn.modrm {
                Some((mode, reg, rm)) => {
                    state.forget(reg);
                    if mode == 3 {
                        state.forget(rm);
                    } else if let Some(m) = insn.memory {
                        state.store_slot(&m, false);
                    }
                }
                None => {
                    state.forget(RAX);
                    state.forget(RDX);
                }
            }
            Step::Next
        }
    }
}

/// Reads and decodes the instruction at `pc`: `Err(true)` where the code
/// ends (past a call that does not return, at the end of a section),
/// `Err(false)` where it cannot be decoded.
fn fetch(code: &impl Code, pc: usize) -> Result<Insn, bool> {
    let mut buf = [0u8; 15];
    let n = code.read(pc, &mut buf);
    if n == 0 {
        return Err(true);
    }
    buf.get(..n).and_then(decode).ok_or(false)
}

/// A small fixed queue of paths to follow.
struct Pending {
    items: [(usize, State); MAX_PENDING],
    len: usize,
}

impl Pending {
    fn new() -> Pending {
        Pending {
            items: [(0, State::default()); MAX_PENDING],
            len: 0,
        }
    }
    /// Adds a path; returns false when full (the path is dropped).
    fn push(&mut self, pc: usize, state: State) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = (pc, state);
                self.len += 1;
                true
            }
            None => false,
        }
    }
    fn pop(&mut self) -> Option<(usize, State)> {
        self.len = self.len.checked_sub(1)?;
        self.items.get(self.len).copied()
    }
}

/// Places already followed, with the state they were followed in.
struct Seen {
    items: [(usize, State); MAX_SEEN],
    len: usize,
}

impl Seen {
    fn new() -> Seen {
        Seen {
            items: [(0, State::default()); MAX_SEEN],
            len: 0,
        }
    }
    /// Whether `pc` was followed with this state; remembers it if not.
    fn check(&mut self, pc: usize, state: &State) -> bool {
        if self
            .items
            .iter()
            .take(self.len)
            .any(|(p, s)| *p == pc && s == state)
        {
            return true;
        }
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = (pc, *state);
            self.len += 1;
        }
        false
    }
}

/// What the EINTR side of a compare does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Handles,
    Returns,
    Unknown,
}

/// Notes what `insn` does with the object's data, before [`step`] applies
/// it: a load from it (or through a register loaded from it) marks the
/// destination; a compare or test of such a value, or of the data itself,
/// is the path looking at its state.
fn look(insn: &Insn, state: &mut State) {
    let data = |m: &Memory| m.rip || m.base.is_some_and(|b| state.loaded & 1 << b != 0);
    let tested = match insn.opcode {
        0x38..=0x3b | 0x84 | 0x85 => true,
        0x80 | 0x81 | 0x83 => insn.digit() == Some(7),
        0xf6 | 0xf7 => insn.digit().is_some_and(|d| d < 2),
        _ => false,
    };
    if insn.vex {
        return;
    }
    if tested {
        let regs = insn.reg().map_or(0, |r| 1u16 << r) | insn.rm_reg().map_or(0, |r| 1u16 << r);
        let memory = insn.memory.is_some_and(|m| data(&m));
        let register_operands = match insn.opcode {
            0x80 | 0x81 | 0x83 | 0xf6 | 0xf7 => insn.rm_reg().map_or(0, |r| 1u16 << r),
            _ => regs,
        };
        if memory || state.loaded & register_operands != 0 {
            state.acted = true;
        }
    }
}

/// Marks the destination of a load from the object's data, after [`step`]
/// applied `insn` (which forgot the destination).
fn mark_loaded(insn: &Insn, state: &mut State) {
    let from_data = insn
        .memory
        .is_some_and(|m| m.rip || m.base.is_some_and(|b| state.loaded & 1 << b != 0));
    if !insn.vex && from_data && matches!(insn.opcode, 0x8b | 0x0fb6 | 0x0fb7 | 0x63) {
        if let Some(to) = insn.reg() {
            state.loaded |= 1 << to;
        }
    }
}

/// What a walk's visitor makes of one instruction, once applied.
enum Flow {
    /// Go on at this address.
    Go(usize),
    /// This path ends here.
    End,
    /// This path could not be followed (an indirect jump, a trap).
    Lost,
    /// The walk has found what it looked for.
    Found,
}

/// How a walk ended.
#[derive(Default)]
struct Walked {
    /// The visitor found what it looked for.
    found: bool,
    /// Some path met code that could not be decoded or followed.
    lost: bool,
    /// Some path ran out of budget, or of room among the pending paths.
    truncated: bool,
}

/// Follows the code from `start` in `state`, every path at most
/// `max_path` instructions and all of them `budget`, forking at
/// conditional branches; `visit` sees each instruction after [`step`]
/// applied it, with the address after it.
fn walk(
    code: &impl Code,
    start: usize,
    state: State,
    max_path: usize,
    budget: &mut usize,
    mut visit: impl FnMut(Step, usize, &mut State, &mut usize) -> Flow,
) -> Walked {
    let mut pending = Pending::new();
    let mut seen = Seen::new();
    let mut walked = Walked::default();
    pending.push(start, state);
    while let Some((start, mut state)) = pending.pop() {
        if seen.check(start, &state) {
            continue;
        }
        let mut pc = start;
        for steps in 0.. {
            if steps == max_path || *budget == 0 {
                walked.truncated = true;
                break;
            }
            *budget -= 1;
            let insn = match fetch(code, pc) {
                Ok(insn) => insn,
                Err(ended) => {
                    walked.lost |= !ended;
                    break;
                }
            };
            let next = pc + insn.len;
            look(&insn, &mut state);
            let stepped = step(code, &insn, next, &mut state);
            mark_loaded(&insn, &mut state);
            if let Step::Branch(_, to) = stepped {
                walked.truncated |= !pending.push(to, state);
            }
            match visit(stepped, next, &mut state, budget) {
                Flow::Go(to) => pc = to,
                Flow::End => break,
                Flow::Lost => {
                    walked.lost = true;
                    break;
                }
                Flow::Found => {
                    walked.found = true;
                    return walked;
                }
            }
        }
    }
    walked
}

/// Where a path goes on after a step that the visitor does not treat
/// itself.
fn onward(stepped: Step, next: usize) -> Flow {
    match stepped {
        Step::Jump(to) => Flow::Go(to),
        Step::Return | Step::TailCall => Flow::End,
        Step::Stop => Flow::Lost,
        Step::Next | Step::Compare | Step::Call(_) | Step::Branch(..) => Flow::Go(next),
    }
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
