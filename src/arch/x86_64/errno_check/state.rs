//! What one path knows about errno, and what each instruction does to it
//! (see `errno_check.rs`, which follows the paths and judges the compare).

use super::decode::{Insn, Memory};
use super::{Code, Target, EINTR};

/// Stack slots remembered as holding errno's value.
const SLOTS: usize = 4;
/// Registers a call may change (System V ABI): rax, rcx, rdx, rsi, rdi,
/// r8–r11.
const CLOBBERED: u16 = 0b0000_1111_1100_0111;
const RAX: u8 = 0;
const RDX: u8 = 2;
const RSP: u8 = 4;
const RBP: u8 = 5;

/// What one path knows about errno.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct State {
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
    pub(super) acted: bool,
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
pub(super) enum Step {
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
pub(super) fn step(code: &impl Code, insn: &Insn, next: usize, state: &mut State) -> Step {
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

/// Notes what `insn` does with the object's data, before [`step`] applies
/// it: a load from it (or through a register loaded from it) marks the
/// destination; a compare or test of such a value, or of the data itself,
/// is the path looking at its state.
pub(super) fn look(insn: &Insn, state: &mut State) {
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
pub(super) fn mark_loaded(insn: &Insn, state: &mut State) {
    let from_data = insn
        .memory
        .is_some_and(|m| m.rip || m.base.is_some_and(|b| state.loaded & 1 << b != 0));
    if !insn.vex && from_data && matches!(insn.opcode, 0x8b | 0x0fb6 | 0x0fb7 | 0x63) {
        if let Some(to) = insn.reg() {
            state.loaded |= 1 << to;
        }
    }
}
