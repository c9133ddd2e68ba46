//! Following the code's paths from one address: the bounded walk over
//! both sides of every branch, with what [`step`] tells of each
//! instruction (see `errno_check.rs`, which judges what the walk meets).

use super::decode::{decode, Insn};
use super::state::{look, mark_loaded, step, State, Step};
use super::Code;

/// Paths waiting to be followed at most; more forks are dropped.
const MAX_PENDING: usize = 16;
/// Places already followed from, remembered to cut loops.
const MAX_SEEN: usize = 48;

/// Reads and decodes the instruction at `pc`: `Err(true)` where the code
/// ends (past a call that does not return, at the end of a section),
/// `Err(false)` where it cannot be decoded.
pub(super) fn fetch(code: &impl Code, pc: usize) -> Result<Insn, bool> {
    let mut buf = [0u8; 15];
    let n = code.read(pc, &mut buf);
    if n == 0 {
        return Err(true);
    }
    buf.get(..n).and_then(decode).ok_or(false)
}

/// Places in the code with the state a path is in there, at most `N`:
/// the paths waiting to be followed ([`Pending`]), and the places already
/// followed ([`Seen`]).
struct Places<const N: usize> {
    items: [(usize, State); N],
    len: usize,
}

/// Paths waiting to be followed, a stack.
type Pending = Places<MAX_PENDING>;
/// Places already followed, with the state they were followed in.
type Seen = Places<MAX_SEEN>;

impl<const N: usize> Places<N> {
    fn new() -> Places<N> {
        Places {
            items: [(0, State::default()); N],
            len: 0,
        }
    }
    /// Adds a place; returns false when full (the place is dropped).
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
    /// Takes the place added last.
    fn pop(&mut self) -> Option<(usize, State)> {
        self.len = self.len.checked_sub(1)?;
        self.items.get(self.len).copied()
    }
    /// Whether `pc` is here with this state; adds it if not.
    fn check(&mut self, pc: usize, state: &State) -> bool {
        if self
            .items
            .iter()
            .take(self.len)
            .any(|(p, s)| *p == pc && s == state)
        {
            return true;
        }
        self.push(pc, *state);
        false
    }
}

/// What a walk's visitor makes of one instruction, once applied.
#[derive(Clone, Copy)]
pub(super) enum Flow {
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
pub(super) struct Walked {
    /// The visitor found what it looked for.
    pub(super) found: bool,
    /// Some path met code that could not be decoded or followed.
    pub(super) lost: bool,
    /// Some path ran out of budget, or of room among the pending paths.
    pub(super) truncated: bool,
}

/// How a walk orders the two ways of a conditional branch.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    /// The way on first, every branch target later.
    OnFirst,
    /// A branch back (a loop) first, the way on later: for the EINTR side
    /// of a compare, whose retry back to the call is short and would
    /// otherwise wait behind every path the way on forks into.
    LoopsFirst,
}

/// Follows the code from `start` in `state`, every path at most
/// `max_path` instructions and all of them `budget`, forking at
/// conditional branches in `order`; `visit` sees each instruction after
/// [`step`] applied it, with the address after it.
pub(super) fn walk(
    code: &impl Code,
    start: usize,
    state: State,
    max_path: usize,
    order: Order,
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
            let back = match stepped {
                Step::Branch(_, to) if to < pc && order == Order::LoopsFirst => Some(to),
                Step::Branch(_, to) => {
                    walked.truncated |= !pending.push(to, state);
                    None
                }
                _ => None,
            };
            let flow = visit(stepped, next, &mut state, budget);
            match (back, flow) {
                (Some(back), Flow::Go(to)) if to == next => {
                    walked.truncated |= !pending.push(next, state);
                    pc = back;
                    continue;
                }
                (Some(back), _) => walked.truncated |= !pending.push(back, state),
                (None, _) => {}
            }
            match flow {
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
pub(super) fn onward(stepped: Step, next: usize) -> Flow {
    match stepped {
        Step::Jump(to) => Flow::Go(to),
        Step::Return | Step::TailCall => Flow::End,
        Step::Stop => Flow::Lost,
        Step::Next | Step::Compare | Step::Call(_) | Step::Branch(..) => Flow::Go(next),
    }
}
