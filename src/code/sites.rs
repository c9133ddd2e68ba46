//! Call sites: which one made the running hook's call ([`hook_site`], for
//! the runtime rule and the per-site rule alike), and which ones handle
//! EINTR themselves (the per-site rule's memory).
//!
//! A call site is named by its return address. The first time one of its
//! calls is interrupted, the code after it is decoded
//! ([`arch::errno_check`]) within the text segment that holds it, in an
//! object the table knows (loaded at start-up, or a runtime); the verdict
//! is kept in a fixed open-addressed table of atomic words, each the
//! return address shifted left by two with the verdict in the low bits,
//! written once by a compare-and-swap. No lock, no allocation: usable in a
//! signal handler. A full neighbourhood of the table just means the site
//! is decoded again next time.

use super::scan::{call_target, read_word, scan, CallTarget};
use super::{find_object, locate, own_base, Owner, Place};
use crate::arch::errno_check::{self, Code, Target, Verdict};
use crate::arch::{self};
use crate::elf::{gnu_hash, sysv_hash, Image, SHN_UNDEF};
use core::ptr::read_volatile;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Sites remembered at most.
const SITES: usize = 1024;
/// Entries probed from a site's home slot.
const PROBES: usize = 8;
/// GOT slots of `__errno_location` looked for in one object.
const MAX_SLOTS: usize = 4;

static CACHE: [AtomicUsize; SITES] = [const { AtomicUsize::new(0) }; SITES];

fn code_of(verdict: Verdict) -> usize {
    match verdict {
        Verdict::Handles => 1,
        Verdict::Ignores => 2,
        Verdict::Unknown => 3,
    }
}

fn verdict_of(code: usize) -> Verdict {
    match code & 3 {
        1 => Verdict::Handles,
        2 => Verdict::Ignores,
        _ => Verdict::Unknown,
    }
}

fn home(ret: usize) -> usize {
    ((ret as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize
}

fn cached(ret: usize) -> Option<Verdict> {
    (0..PROBES).find_map(|i| {
        let entry = CACHE
            .get(home(ret).wrapping_add(i) % SITES)?
            .load(Ordering::Relaxed);
        (entry >> 2 == ret).then(|| verdict_of(entry))
    })
}

fn remember(ret: usize, verdict: Verdict) {
    let entry = ret << 2 | code_of(verdict);
    for i in 0..PROBES {
        let Some(slot) = CACHE.get(home(ret).wrapping_add(i) % SITES) else {
            return;
        };
        match slot.compare_exchange(0, entry, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(other) if other >> 2 == ret => return,
            Err(_) => {}
        }
    }
}

/// Whether the code after the return address `ret` handles an EINTR of
/// the call before it: decoded once, then remembered. `Unknown` for code
/// outside the objects the table can read.
pub fn verdict(ret: usize) -> Verdict {
    if ret >> (usize::BITS - 2) != 0 {
        return Verdict::Unknown;
    }
    if let Some(known) = cached(ret) {
        return known;
    }
    let verdict = match locate(ret) {
        Place::Known { segment, .. } if segment.is_text() => {
            let mut loaded = Loaded {
                start: segment.start,
                end: segment.end,
                errno_location: libc::__errno_location as *const () as usize,
                slots: [0; MAX_SLOTS],
                slot_count: 0,
            };
            loaded.find_slots(ret);
            errno_check::classify(&loaded, ret)
        }
        _ => Verdict::Unknown,
    };
    remember(ret, verdict);
    verdict
}

/// A call site on the stack: the return address, and whose code it is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    /// The return address.
    pub address: usize,
    /// Whose code holds it.
    pub owner: Owner,
}

/// The call site of the running hook, found from its slow path: the first
/// word on the stack, above the shim's own frames, that returns just past
/// a call which provably reaches `entry`, this library's definition of the
/// hooked function ([`entry_of`]): a call through the caller's PLT stub or
/// through a slot (`call *slot(%rip)`) that holds `entry`, or a direct
/// call to it. A bound GOT slot holds the definition its name resolved to,
/// so a call through the caller's slot for `read` proves a call of `read`;
/// the live call's slot is bound by the time the hook runs (the loader's
/// lazy resolver binds it before it jumps to the hook).
///
/// Stale return addresses, left by earlier calls in the slots that the
/// hook's frames reserve but never write, are passed over when their call
/// provably went elsewhere (another hook, other code), and so are words in
/// libc's or a runtime's code whose call cannot be proved. No site is
/// found (the call follows the usual rules) at a word in other code whose
/// call cannot be proved (through a register, or to code not known: a
/// function pointer's call may be the live one), at a word in an object
/// loaded later that is not a runtime (never read: libffi under `ctypes`),
/// or when a tail call into the hook left no word of its caller's. So a
/// word further up, stale or not, never stands for such a call.
#[inline(never)]
pub fn hook_site(entry: usize) -> Option<Site> {
    site_above(arch::stack_pointer(), entry)
}

/// [`hook_site`]'s scan from `sp`, in a frame of its own below `sp`: the
/// scan's buffer is not among the words it reads.
#[inline(never)]
fn site_above(sp: usize, entry: usize) -> Option<Site> {
    let found = scan(sp, |word| match locate(word) {
        Place::Known { owner, segment } if segment.is_text() && owner != Owner::Shim => {
            // SAFETY: the bytes before `word`, down to the segment's start
            // at most, are in a readable code segment.
            let call = unsafe { arch::call_before(word, segment.start) }?;
            if calls_entry(call, entry) {
                return Some(Some(Site {
                    address: word,
                    owner,
                }));
            }
            // An unproved call of the program's (or its libraries') may be
            // the live one, through a function pointer: the scan ends.
            // libc calls no hook through a pointer; an unproved word of a
            // runtime's leaves the call a runtime's, or the program's (the
            // safe side) when a proved word of the program's lies above.
            let unproved = owner == Owner::Other
                && call_target(call, &|owner| owner == Owner::Shim) == CallTarget::Unknown;
            unproved.then_some(None)
        }
        Place::Opaque => Some(None),
        _ => None,
    });
    found.flatten()
}

/// Whether `call` provably reaches `entry`: directly, or through its PLT
/// stub's slot or the slot it names, holding `entry`.
fn calls_entry(call: arch::Call, entry: usize) -> bool {
    let slot = match call {
        arch::Call::Direct(target) if target == entry => return true,
        arch::Call::Direct(stub) => match locate(stub) {
            // SAFETY: a stub in a known code segment; reads stop at the
            // end of that segment.
            Place::Known { segment, .. } if segment.is_text() => unsafe {
                arch::plt_slot(stub, segment.end)
            },
            _ => None,
        },
        arch::Call::Slot(slot) => Some(slot),
        arch::Call::Indirect => None,
    };
    slot.and_then(read_word) == Some(entry)
}

/// This library's definition of the dynamic symbol `name` (a hook's entry
/// point, what a caller's GOT slot for `name` holds once bound), read from
/// its own symbol table; `None` before the table is built, or if it
/// defines no such symbol. Out of line: looked up once per function, it
/// does not widen the frames that a scan reads.
#[cold]
#[inline(never)]
pub fn entry_of(name: &[u8]) -> Option<usize> {
    let base = own_base()?;
    // SAFETY: this library stays loaded while its code runs, and its first
    // segment (at its load address) maps its ELF header.
    let image = unsafe { Image::from_mapping(base, base) }?;
    let symbols = image.symbols()?;
    let defined = |index: u32| {
        let sym = symbols.symbol(index)?;
        let named = sym.st_shndx != SHN_UNDEF && sym.st_value != 0 && symbols.name_is(&sym, name);
        named.then(|| base.wrapping_add(sym.st_value as usize))
    };
    if symbols.has_gnu_hash() {
        symbols.gnu_chain(gnu_hash(name), defined)
    } else {
        symbols.sysv_chain(sysv_hash(name), defined)
    }
}

/// The image of the loaded object that holds `addr` (`_dl_find_object`).
fn loaded_image(addr: usize) -> Option<Image<'static>> {
    let found = find_object(addr).filter(|f| !f.link_map.is_null())?;
    // SAFETY: the loader's record of a loaded object.
    let base = unsafe { (*found.link_map).addr };
    // SAFETY: the object is loaded (its code is on the stack) and its
    // mapping starts at `map_start`.
    unsafe { Image::from_mapping(found.map_start, base) }
}

/// One text segment of a loaded object, read in place.
struct Loaded {
    start: usize,
    end: usize,
    /// libc's `__errno_location`.
    errno_location: usize,
    /// The object's GOT slots for `__errno_location`.
    slots: [usize; MAX_SLOTS],
    slot_count: usize,
}

impl Loaded {
    /// Finds the object's GOT slots for `__errno_location` from its
    /// relocations (its mapping found with `_dl_find_object`), so that a
    /// call through a slot the loader has not bound yet is recognised.
    fn find_slots(&mut self, ret: usize) {
        if let Some(image) = loaded_image(ret) {
            self.slot_count = image.import_slots(b"__errno_location", &mut self.slots);
        }
    }

    fn is_slot(&self, slot: usize) -> bool {
        self.slots.iter().take(self.slot_count).any(|&s| s == slot)
            || read_word(slot) == Some(self.errno_location)
    }
}

impl Code for Loaded {
    fn read(&self, addr: usize, buf: &mut [u8]) -> usize {
        if addr < self.start || addr >= self.end {
            return 0;
        }
        let n = (self.end - addr).min(buf.len());
        for (i, byte) in buf.iter_mut().take(n).enumerate() {
            // SAFETY: `addr + i` lies in the text segment, mapped readable
            // while its object is loaded.
            *byte = unsafe { read_volatile((addr + i) as *const u8) };
        }
        n
    }

    fn is_errno_location(&self, target: Target) -> bool {
        match target {
            Target::Direct(to) if to == self.errno_location => true,
            Target::Direct(to) if to >= self.start && to < self.end => {
                // SAFETY: from `to` up to the segment's end is readable.
                unsafe { arch::plt_slot(to, self.end) }.is_some_and(|slot| self.is_slot(slot))
            }
            Target::Direct(_) => false,
            Target::Slot(slot) => self.is_slot(slot),
        }
    }

    fn is_hooked(&self, target: Target) -> bool {
        let call = match target {
            Target::Direct(to) => arch::Call::Direct(to),
            Target::Slot(slot) => arch::Call::Slot(slot),
        };
        call_target(call, &|owner| owner == Owner::Shim) == CallTarget::Skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_each_sites_verdict() {
        remember(0x5555_0000_1234, Verdict::Handles);
        remember(0x5555_0000_1238, Verdict::Ignores);
        assert_eq!(cached(0x5555_0000_1234), Some(Verdict::Handles));
        assert_eq!(cached(0x5555_0000_1238), Some(Verdict::Ignores));
        assert_eq!(cached(0x5555_0000_1230), None);
        // Remembering again changes nothing.
        remember(0x5555_0000_1234, Verdict::Unknown);
        assert_eq!(cached(0x5555_0000_1234), Some(Verdict::Handles));
    }
}
