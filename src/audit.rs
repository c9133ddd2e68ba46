//! The audit mode, behind `eintrfix audit`: records the call sites of
//! hooked functions a program reaches (`EINTRFIX_AUDIT`), and lets exactly
//! one EINTR reach it at one of them (`EINTRFIX_INJECT`, see
//! [`crate::config::inject`]).
//!
//! Off (neither variable set) it costs the constructor two `getenv`s and
//! nothing else: the hooks' fast path is unchanged. On, the constructor
//! points the real-function slots of the functions it watches at wrappers
//! of the same prototype ([`crate::real::divert`]), which call
//! [`at_call`] before the real function. A wrapper finds its call site as
//! the policy engine finds a hook's caller (the first return address
//! outside the shim, [`code::scan::hook_caller`]) and names it by its object and
//! offset there ([`code::object_of`]). At the chosen site and call it
//! returns -1 with EINTR without calling libc; the hook's slow path then
//! asks the engine, which lets that one EINTR pass ([`take_injected`]),
//! or judges it like any other (`retry` in the spec: the `--fix-check`
//! run).
//!
//! Exactly one EINTR per run: the first process of the run to reach the
//! chosen call claims it by creating the record's path with `.injected`
//! (`O_EXCL`), so that two processes of one executable do not both
//! inject.
//!
//! The record is a file of lines, each written whole with one `write(2)`
//! (`O_APPEND`, so every process of the program can share it):
//! - `site PID EXE FUNCTION OBJECT 0xOFFSET` at a site's first call;
//! - `count PID EXE FUNCTION OBJECT 0xOFFSET N` for each site at exit;
//! - `injected PID EXE FUNCTION OBJECT 0xOFFSET N` when the EINTR is made;
//! - `nonblocking PID EXE FUNCTION OBJECT 0xOFFSET N` when the chosen
//!   call cannot block (a non-blocking descriptor, MSG_DONTWAIT, WNOHANG,
//!   a poll with no timeout): no signal could interrupt it, and the next
//!   call there that can block gets the EINTR.
//!
//! Fields are separated by tabs. All of it is async-signal-safe: a fixed
//! table of sites claimed with compare-and-swap, raw system calls for the
//! file (the shim's own `write` goes through the wrappers).

use crate::code;
use crate::config;
use crate::functions::Function;
use crate::real::Audited;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use record::{emit_site, matches_target, Kind};

mod calls;
mod record;
mod sampling;

pub use record::take_injected;

/// Whether the audit mode is on in this process.
static ON: AtomicBool = AtomicBool::new(false);
/// The thread whose hook is retrying a call (0: none): the calls it
/// makes meanwhile are not the program's.
static RETRYING_TID: AtomicI32 = AtomicI32::new(0);

/// From the constructor: turns the audit mode on when either variable is
/// set (its wrappers take the real functions' places once
/// `real::divert` has resolved them all).
pub fn init(config: &'static config::Config<'static>) {
    if !config::variables_set() {
        return;
    }
    let record = config::environment(config::AUDIT).filter(|v| !v.is_empty());
    let inject = config::environment(config::INJECT).filter(|v| !v.is_empty());
    if record.is_none() && inject.is_none() {
        return;
    }
    code::init(config);
    record::learn_exe();
    if let Some(path) = record {
        record::open_record(path);
    }
    let target = inject.and_then(|value| {
        let spec = config::inject::parse(value);
        if spec.is_none() {
            let mut line = crate::trace::line::Line::new();
            let _ = write!(
                line,
                "eintrfix: {} is not {}: nothing is injected",
                config::INJECT,
                config::inject::ACCEPTS
            );
            line.write_to(crate::trace::destination::stderr());
        }
        spec.filter(|s| s.exe.map_or(true, |e| e == record::exe()))
    });
    if let Some(spec) = target {
        record::TARGET.get_or_init(|| spec);
    }
    // The unwinder is loaded now, in the constructor, not in a hook (for
    // any function: only the loading matters here).
    let _ = record::program_caller(Function::read);
    ON.store(true, Ordering::Release);
    sampling::start(target.is_some_and(|t| t.signal || t.function.starts_with(b"libc:")));
    let all = record.is_some();
    crate::real::divert(
        |name| {
            Function::from_name(name.as_bytes()).is_some()
                && (all || target.is_some_and(|t| t.function == name.as_bytes()))
        },
        at_call,
    );
}

/// From a wrapper, before the real function: records the call's site and
/// says what to do with the call: make it, or fail it with EINTR (made
/// first for a `close`, see [`calls::before_eintr`]).
fn at_call(name: &'static str, arguments: &[usize]) -> Audited {
    if !ON.load(Ordering::Acquire) {
        return Audited::Call;
    }
    let retrying = RETRYING_TID.load(Ordering::Relaxed);
    if retrying != 0 && retrying == crate::process::gettid() {
        return Audited::Call;
    }
    let Some(function) = Function::from_name(name.as_bytes()) else {
        return Audited::Call;
    };
    let Some(address) = record::program_caller(function) else {
        return Audited::Call;
    };
    emit_site(Kind::Hook, function, address);
    let block = || calls::can_block(function, arguments);
    if !matches_target(Kind::Hook, function, address, block) {
        return Audited::Call;
    }
    // SAFETY: the wrapper's arguments, valid under its function's contract.
    if unsafe { calls::before_eintr(name, arguments) } {
        Audited::CallThenFail
    } else {
        Audited::Fail
    }
}

/// From the policy engine: whether the calling thread's hook is about to
/// retry its call (`true`), or is done with it. The calls it makes
/// meanwhile (the retry, a wait for readiness) are neither counted nor
/// interrupted. One thread at a time is tracked: the audit's counts are
/// exact for a program whose threads are not interrupted at once.
pub fn retrying(yes: bool) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let tid = crate::process::gettid();
    if yes {
        let _ = RETRYING_TID.compare_exchange(0, tid, Ordering::Relaxed, Ordering::Relaxed);
    } else {
        let _ = RETRYING_TID.compare_exchange(tid, 0, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// At exit: writes each site's count.
pub fn exiting() {
    if ON.load(Ordering::Acquire) {
        record::write_counts();
    }
}
