//! x86-64 instruction decoding for the errno walk (`errno_check`): the
//! length of an instruction and the operands the walk needs (ModRM, a
//! memory operand, the immediate). Legacy, two- and three-byte opcodes and
//! VEX; AVX-512's EVEX and anything unknown decode to `None`.

/// A memory operand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub base: Option<u8>,
    pub index: bool,
    pub disp: i64,
    pub rip: bool,
}

/// One decoded instruction: what the walk needs of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Insn {
    pub len: usize,
    /// `0x0f_xx` for two-byte opcodes, `0x0f38_xx`/`0x0f3a_xx` for
    /// three-byte ones; VEX-encoded ones are marked `vex`.
    pub opcode: u32,
    pub vex: bool,
    pub rex_w: bool,
    /// ModRM: `mode`, `reg` and `rm` (with REX), and the memory operand.
    pub modrm: Option<(u8, u8, u8)>,
    pub memory: Option<Memory>,
    pub imm: i64,
}

impl Insn {
    pub fn reg(&self) -> Option<u8> {
        self.modrm.map(|(_, reg, _)| reg)
    }
    /// The register operand of ModRM's r/m field, when it is one.
    pub fn rm_reg(&self) -> Option<u8> {
        match self.modrm {
            Some((3, _, rm)) => Some(rm),
            _ => None,
        }
    }
    /// The `/digit` of a group opcode.
    pub fn digit(&self) -> Option<u8> {
        self.reg().map(|r| r & 7)
    }
}

/// Which one-byte opcodes have a ModRM byte.
fn one_byte_modrm(op: u8) -> bool {
    matches!(op,
        0x00..=0x03 | 0x08..=0x0b | 0x10..=0x13 | 0x18..=0x1b |
        0x20..=0x23 | 0x28..=0x2b | 0x30..=0x33 | 0x38..=0x3b |
        0x63 | 0x69 | 0x6b | 0x80..=0x8f | 0xc0 | 0xc1 | 0xc6 | 0xc7 |
        0xd0..=0xd3 | 0xd8..=0xdf | 0xf6 | 0xf7 | 0xfe | 0xff)
}

/// The immediate's size of a one-byte opcode (`wide`: REX.W, `short`: 66).
fn one_byte_imm(op: u8, digit: u8, wide: bool, short: bool) -> Option<usize> {
    let z = if short { 2 } else { 4 };
    Some(match op {
        0x04 | 0x0c | 0x14 | 0x1c | 0x24 | 0x2c | 0x34 | 0x3c => 1,
        0x05 | 0x0d | 0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d => z,
        0x68 | 0x69 | 0x81 | 0xa9 | 0xc7 => z,
        0x6a | 0x6b | 0x80 | 0x83 | 0xa8 | 0xc0 | 0xc1 | 0xc6 | 0xcd => 1,
        0x70..=0x7f | 0xe0..=0xe3 | 0xeb | 0xb0..=0xb7 | 0xe4..=0xe7 => 1,
        0xb8..=0xbf if wide => 8,
        0xb8..=0xbf => z,
        0xe8 | 0xe9 => 4,
        0xc2 | 0xca => 2,
        0xc8 => 3,
        0xa0..=0xa3 => 8,
        0xf6 if digit < 2 => 1,
        0xf7 if digit < 2 => z,
        0x06
        | 0x07
        | 0x0e
        | 0x16
        | 0x17
        | 0x1e
        | 0x1f
        | 0x27
        | 0x2f
        | 0x37
        | 0x3f
        | 0x60..=0x62
        | 0x82
        | 0x9a
        | 0xc4
        | 0xc5
        | 0xce
        | 0xd4
        | 0xd5
        | 0xd6
        | 0xea => return None,
        _ => 0,
    })
}

/// Which two-byte (`0f xx`) opcodes have a ModRM byte.
fn two_byte_modrm(op: u8) -> bool {
    !matches!(op,
        0x04..=0x09 | 0x0a..=0x0c | 0x0e | 0x30..=0x37 | 0x77 | 0x80..=0x8f |
        0xa0..=0xa2 | 0xa8..=0xaa | 0xc8..=0xcf)
}

/// The immediate's size of a two-byte opcode.
fn two_byte_imm(op: u8) -> usize {
    match op {
        0x70..=0x73 | 0xa4 | 0xac | 0xba | 0xc2 | 0xc4..=0xc6 | 0x0f => 1,
        0x80..=0x8f => 4,
        _ => 0,
    }
}

/// Reads a ModRM byte, its SIB and displacement, at `at` of `b`.
fn modrm_at(b: &[u8], at: &mut usize, rex: u8) -> Option<((u8, u8, u8), Option<Memory>)> {
    let m = *b.get(*at)?;
    *at += 1;
    let (mode, reg, rm) = (m >> 6, (m >> 3) & 7 | (rex & 4) << 1, m & 7);
    if mode == 3 {
        return Some(((3, reg, rm | (rex & 1) << 3), None));
    }
    let mut memory = Memory::default();
    let mut disp_len = match mode {
        1 => 1,
        2 => 4,
        _ => 0,
    };
    if rm == 4 {
        let sib = *b.get(*at)?;
        *at += 1;
        let index = (sib >> 3) & 7 | (rex & 2) << 2;
        memory.index = index != 4;
        let base = sib & 7;
        if mode == 0 && base == 5 {
            disp_len = 4;
        } else {
            memory.base = Some(base | (rex & 1) << 3);
        }
    } else if mode == 0 && rm == 5 {
        memory.rip = true;
        disp_len = 4;
    } else {
        memory.base = Some(rm | (rex & 1) << 3);
    }
    memory.disp = match disp_len {
        1 => i64::from(*b.get(*at)? as i8),
        4 => i64::from(i32::from_le_bytes(b.get(*at..*at + 4)?.try_into().ok()?)),
        _ => 0,
    };
    *at += disp_len;
    Some(((mode, reg, rm | (rex & 1) << 3), Some(memory)))
}

fn imm_at(b: &[u8], at: usize, len: usize) -> Option<i64> {
    Some(match len {
        0 => 0,
        1 => i64::from(*b.get(at)? as i8),
        2 => i64::from(i16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?)),
        4 => i64::from(i32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)),
        8 => i64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?),
        3 => i64::from(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?)),
        _ => return None,
    })
}

/// Decodes the instruction at the start of `b` (up to 15 bytes).
pub fn decode(b: &[u8]) -> Option<Insn> {
    let mut at = 0;
    let mut short = false;
    let mut rex = 0u8;
    loop {
        match *b.get(at)? {
            0x66 => short = true,
            0x67 | 0xf0 | 0xf2 | 0xf3 | 0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 => {}
            _ => break,
        }
        at += 1;
        if at > 14 {
            return None;
        }
    }
    if (0x40..=0x4f).contains(b.get(at)?) {
        rex = *b.get(at)? & 0xf;
        at += 1;
    }
    let mut insn = Insn {
        rex_w: rex & 8 != 0,
        ..Insn::default()
    };
    let op = *b.get(at)?;
    at += 1;
    if op == 0xc4 || op == 0xc5 {
        return vex(b, at, op, insn);
    }
    if op == 0x0f {
        let op2 = *b.get(at)?;
        at += 1;
        let (opcode, has_modrm, imm) = match op2 {
            0x38 => (0x000f_3800 | u32::from(*b.get(at)?), true, 0),
            0x3a => (0x000f_3a00 | u32::from(*b.get(at)?), true, 1),
            _ => (
                0x0f00 | u32::from(op2),
                two_byte_modrm(op2),
                two_byte_imm(op2),
            ),
        };
        if op2 == 0x38 || op2 == 0x3a {
            at += 1;
        }
        insn.opcode = opcode;
        if has_modrm {
            let (modrm, memory) = modrm_at(b, &mut at, rex)?;
            insn.modrm = Some(modrm);
            insn.memory = memory;
        }
        insn.imm = imm_at(b, at, imm)?;
        insn.len = at + imm;
        return (insn.len <= 15).then_some(insn);
    }
    insn.opcode = u32::from(op);
    if one_byte_modrm(op) {
        let (modrm, memory) = modrm_at(b, &mut at, rex)?;
        insn.modrm = Some(modrm);
        insn.memory = memory;
    }
    let mut imm = one_byte_imm(op, insn.digit().unwrap_or(0), insn.rex_w, short)?;
    if (0xa0..=0xa3).contains(&op) && b.first() == Some(&0x67) {
        imm = 4;
    }
    // `rip`-relative operands are relative to the end of the instruction.
    insn.imm = imm_at(b, at, imm)?;
    insn.len = at + imm;
    (insn.len <= 15).then_some(insn)
}

/// The rest of a VEX-encoded instruction after its `c4`/`c5` byte.
fn vex(b: &[u8], mut at: usize, first: u8, mut insn: Insn) -> Option<Insn> {
    let (map, rex) = if first == 0xc5 {
        let p = *b.get(at)?;
        at += 1;
        (1, if p & 0x80 == 0 { 4 } else { 0 })
    } else {
        let p1 = *b.get(at)?;
        let p2 = *b.get(at + 1)?;
        at += 2;
        let inverted = !p1 >> 5 & 7;
        let rex = (inverted & 4) | (inverted & 2) | (inverted & 1) | (p2 >> 4 & 8);
        (p1 & 0x1f, rex)
    };
    let op = *b.get(at)?;
    at += 1;
    insn.vex = true;
    insn.opcode = match map {
        1 => 0x0f00 | u32::from(op),
        2 => 0x000f_3800 | u32::from(op),
        3 => 0x000f_3a00 | u32::from(op),
        _ => return None,
    };
    if !(map == 1 && op == 0x77) {
        let (modrm, memory) = modrm_at(b, &mut at, rex)?;
        insn.modrm = Some(modrm);
        insn.memory = memory;
    }
    let imm = match map {
        3 => 1,
        1 => two_byte_imm(op).min(1),
        _ => 0,
    };
    insn.len = at + imm;
    (insn.len <= 15).then_some(insn)
}
