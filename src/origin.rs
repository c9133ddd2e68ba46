//! Who made an interrupted call, as far as the slow path can tell: a
//! runtime that handles EINTR itself (`EINTRFIX_RUNTIMES`), a call site
//! whose own code handles it (the per-site rule, `EINTRFIX_PER_SITE`: see
//! [`sites`] and `docs/per-site-rule.md`), or anything else. The policy
//! engine passes the EINTR of the first two, as bare.

use crate::arch::errno_check::Verdict;
use crate::code::scan::Caller;
use crate::code::{self, sites, Owner};
use crate::config::Config;
use crate::functions::Function;
use crate::waits::Waits;

/// Who made an interrupted call, as far as the slow path can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A runtime that handles EINTR itself (`EINTRFIX_RUNTIMES`): the
    /// call's return address is in its code, and the call instruction
    /// there provably calls this library (or libc, for a call inside it).
    Runtime,
    /// Code whose own instructions after the call compare errno with EINTR
    /// and handle it (see [`sites`]), at this return address.
    Handles(usize),
    /// Anything else, or not known.
    Program,
}

impl Origin {
    /// Who called the running hook (from its slow path): a runtime, by
    /// [`Origin::of`]; else, with the per-site rule on, the site whose
    /// call provably went to this hook's function by name
    /// ([`sites::hook_site`]), if its code handles EINTR.
    pub fn of_hook(config: &Config, function: Function, only_time: bool) -> Origin {
        let origin = Origin::of(config, code::scan::hook_caller(), only_time);
        if origin != Origin::Program || !config.per_site {
            return origin;
        }
        sites::hook_site(function.name().as_bytes()).map_or(Origin::Program, Origin::site)
    }

    /// Who made a call inside libc, from `caller`, the first return
    /// address above libc's frames (from the signal trampoline).
    pub fn of_libc_call(config: &Config, caller: Option<Caller>) -> Origin {
        let origin = Origin::of(config, caller, false);
        match caller {
            Some(Caller {
                owner: Owner::Other | Owner::Deferring,
                calls_skipped: true,
                address,
            }) if origin == Origin::Program && config.per_site => Origin::site(address),
            _ => origin,
        }
    }

    /// The origin of a call made at `caller`, a return address found by
    /// a scan whose call provably went into the skipped code (the shim, or
    /// libc for a call inside it): a runtime's, when runtimes are
    /// recognised, or a deferring interpreter's (Perl's) wait on nothing
    /// but time (`only_time`: a sleep, `select` with no fds), whose EINTR
    /// it gets as a runtime's.
    pub fn of(config: &Config, caller: Option<Caller>, only_time: bool) -> Origin {
        match caller {
            Some(Caller {
                owner: Owner::Runtime,
                calls_skipped: true,
                ..
            }) if config.runtimes.any() => Origin::Runtime,
            Some(Caller {
                owner: Owner::Deferring,
                calls_skipped: true,
                ..
            }) if config.runtimes.auto && only_time => Origin::Runtime,
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
