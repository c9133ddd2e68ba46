//! Who made an interrupted call, as far as the slow path can tell: a
//! runtime that handles EINTR itself (`EINTRFIX_RUNTIMES`), a call site
//! whose own code handles it (the per-site rule, `EINTRFIX_PER_SITE`: see
//! [`sites`] and `docs/per-site-rule.md`), or anything else. The policy
//! engine passes the EINTR of the first two, as bare.

use crate::arch::errno_check::Verdict;
use crate::code::scan::Caller;
use crate::code::sites::{self, Site};
use crate::code::Owner;
use crate::config::Config;
use crate::functions::Function;
use crate::waits::Waits;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Who made an interrupted call, as far as the slow path can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A runtime that handles EINTR itself (`EINTRFIX_RUNTIMES`): the
    /// call's return address is in its code, and the call instruction
    /// there provably calls the hooked function (or libc, for a call
    /// inside it).
    Runtime,
    /// Code whose own instructions after the call compare errno with EINTR
    /// and handle it (see [`sites`]), at this return address.
    Handles(usize),
    /// Anything else, or not known.
    Program,
}

impl Origin {
    /// Who called the running hook (from its slow path): the call site
    /// that provably called this hook's function ([`sites::hook_site`]);
    /// a runtime's, by [`Origin::of_owner`]; else, with the per-site rule
    /// on, that site if its code handles EINTR. No site proved: the
    /// program's.
    pub fn of_hook(config: &Config, function: Function, only_time: bool) -> Origin {
        let Some(site) = hook_site(function) else {
            return Origin::Program;
        };
        let origin = Origin::of_owner(config, site.owner, only_time);
        if origin != Origin::Program || !config.per_site {
            return origin;
        }
        Origin::site(site.address)
    }

    /// Who made a call inside libc, from `caller`, the first return
    /// address above libc's frames (from the signal trampoline), if its
    /// call provably went into libc.
    pub fn of_libc_call(config: &Config, caller: Option<Caller>) -> Origin {
        let Some(Caller {
            owner,
            calls_skipped: true,
            address,
        }) = caller
        else {
            return Origin::Program;
        };
        let origin = Origin::of_owner(config, owner, false);
        match owner {
            Owner::Other | Owner::Deferring if origin == Origin::Program && config.per_site => {
                Origin::site(address)
            }
            _ => origin,
        }
    }

    /// The origin of a call made by code of `owner`, at a call site that
    /// provably called the hooked function (or libc, for a call inside
    /// it): a runtime's, when runtimes are recognised, or a deferring
    /// interpreter's (Perl's) wait on nothing but time (`only_time`: a
    /// sleep, `select` with no fds), whose EINTR it gets as a runtime's.
    fn of_owner(config: &Config, owner: Owner, only_time: bool) -> Origin {
        match owner {
            Owner::Runtime if config.runtimes.any() => Origin::Runtime,
            Owner::Deferring if config.runtimes.auto && only_time => Origin::Runtime,
            _ => Origin::Program,
        }
    }

    /// The call site at the return address `site`, by its code.
    fn site(site: usize) -> Origin {
        match sites::verdict(site) {
            Verdict::Handles => Origin::Handles(site),
            Verdict::Ignores | Verdict::Unknown => Origin::Program,
        }
    }

    /// Whether the scans are worth making under `config`.
    pub fn asked(config: &Config) -> bool {
        config.enabled && (config.runtimes.any() || config.per_site)
    }
}

/// This library's definitions of the hooked functions, found once each
/// ([`sites::entry_of`]): 0 until then.
static ENTRIES: [AtomicUsize; Function::COUNT] = [const { AtomicUsize::new(0) }; Function::COUNT];

/// The call site of the running hook of `function`, from its slow path:
/// the first return address on the stack whose call provably reached this
/// library's `function` (see [`sites::hook_site`]).
pub fn hook_site(function: Function) -> Option<Site> {
    let cached = ENTRIES.get(function.index())?;
    let entry = match cached.load(Ordering::Relaxed) {
        0 => {
            let entry = sites::entry_of(function.name().as_bytes())?;
            cached.store(entry, Ordering::Relaxed);
            entry
        }
        entry => entry,
    };
    sites::hook_site(entry)
}

/// Whether a call of `function` waiting on `waits` waits for nothing but
/// time: a sleep, or `poll`/`select` with no fds.
pub fn only_time(function: Function, waits: Waits) -> bool {
    match function.base() {
        Function::sleep | Function::usleep | Function::nanosleep | Function::clock_nanosleep => {
            true
        }
        Function::poll | Function::ppoll | Function::select | Function::pselect => {
            waits.only_time()
        }
        _ => false,
    }
}
