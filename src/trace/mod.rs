//! The tracing sink: every interruption the policy engine handles is
//! reported here as one [`Report`].
//!
//! Nothing here runs on the fast path: a call that does not fail with EINTR
//! never reaches this module.
//!
//! Each report becomes a `tracing` event (target `eintrfix`; `info` when
//! retried or passed by the rules, `warn` for the `log` policy and for
//! exhausted retries) filtered by an `EnvFilter` built from `EINTRFIX_LOG`
//! (default `warn`), and written by [`layer::LineLayer`]: formatted on the
//! stack, one real `write(2)` per line, to the [destination]. When the
//! summary is on, each report is also counted ([`summary`]).
//!
//! # Why the event path is safe anywhere
//! A hook may report from a signal handler that interrupted `malloc`, from
//! the forked child of a threaded parent, from an `atexit` handler or a
//! thread-key destructor. So, after [`init`], an event takes no lock,
//! allocates nothing and touches no thread-local:
//! - the subscriber is the *global* default, and no scoped dispatcher is
//!   ever set, so `tracing` reads it from a static (no thread-local);
//! - the two callsites are registered by [`init`] (registration takes a
//!   lock), and `EINTRFIX_LOG` only accepts static directives (`LEVEL`,
//!   `TARGET=LEVEL`), so each callsite's interest is cached as `always` or
//!   `never`: the filter is decided by one atomic load, and `EnvFilter`'s
//!   per-thread span scope is never used;
//! - no span is ever created or looked up, so the `Registry`'s per-thread
//!   span stacks are never touched;
//! - the layer formats into a fixed stack buffer and writes with
//!   `crate::real::write`, on an fd opened with raw system calls.
//!
//! # Before the constructor
//! A hook can run before the library's constructor (another preloaded
//! library's constructor calling `write`). Building the subscriber
//! allocates, so it is never done lazily: until [`init`] has run, events
//! are written directly ([`layer::write_direct`]) in the same format to the
//! same destination, filtered by `EINTRFIX_LOG` as `EnvFilter` would filter
//! them ([`layer::directives_enable`], checked against `EnvFilter` by a
//! unit test).

pub mod destination;
pub mod format;
pub mod layer;
pub mod line;
pub mod open_rules;
pub mod summary;

use crate::functions::Function;
use core::ffi::c_int;
use core::sync::atomic::{AtomicBool, Ordering};

/// The target of every event.
pub const TARGET: &str = "eintrfix";

/// What the engine did with an interruption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The call was made again.
    Retried,
    /// The EINTR went back to the program.
    Passed,
}

impl Action {
    /// As reported in events.
    pub const fn name(self) -> &'static str {
        match self {
            Action::Retried => "retried",
            Action::Passed => "passed",
        }
    }
}

/// Why the engine decided as it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The function's policy is `retry` and nothing said otherwise.
    Policy,
    /// The function's policy is `pass`.
    PassPolicy,
    /// The function's policy is `log`.
    LogPolicy,
    /// The signal is in `EINTRFIX_PASS_SIGNALS`.
    PassSignal,
    /// A one-shot SIGALRM: the program's own timeout.
    AlarmTimeout,
    /// A handler left its signal at SIG_DFL, whose default action kills:
    /// a retry could run into the next one.
    FatalDefault,
    /// A thread of the process aimed the signal at this thread
    /// (`pthread_kill`), and `EINTRFIX_THREAD_SIGNALS` is `pass`.
    ThreadSignal,
    /// `EINTRFIX_MAX_RETRIES` was reached.
    MaxRetries,
    /// The call was made by a runtime that handles EINTR itself (see
    /// `EINTRFIX_RUNTIMES`): it gets the EINTR, as it would bare.
    Runtime,
    /// The configuration was bad, so the shim changes nothing.
    Disabled,
}

impl Reason {
    /// As reported in events.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::Policy => "retry_policy",
            Reason::PassPolicy => "pass_policy",
            Reason::LogPolicy => "log_policy",
            Reason::PassSignal => "pass_signal",
            Reason::AlarmTimeout => "alarm_timeout",
            Reason::FatalDefault => "fatal_default",
            Reason::ThreadSignal => "thread_signal",
            Reason::MaxRetries => "max_retries",
            Reason::Runtime => "runtime",
            Reason::Disabled => "disabled",
        }
    }

    /// Whether events with this reason are warnings (shown by default).
    pub const fn is_warning(self) -> bool {
        matches!(self, Reason::LogPolicy | Reason::MaxRetries)
    }
}

/// Where an interrupted call was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// Through a hook, which decided.
    Hook,
    /// Inside libc (stdio, `system`, ...) or anywhere else no hook sees: the
    /// signal trampoline found the call and decided whether the kernel
    /// restarts it.
    Libc,
}

/// One interruption of one call.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// The hooked function, or the one named after the system call.
    pub function: Function,
    /// Where the call was made.
    pub site: Site,
    /// The call's fd, where it has one.
    pub fd: Option<c_int>,
    /// The signal whose handler ran, if known.
    pub signal: Option<c_int>,
    /// Who sent it.
    pub sender: crate::signals::Sender,
    /// What was done.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// 1 for the first interruption of this call, then 2, ...
    pub attempt: u32,
    /// Microseconds since the call's first interruption.
    pub waited_us: u64,
}

impl Report {
    /// The call's name in events and the summary: the function's, or
    /// `libc:NAME` for a call inside libc.
    pub const fn name(&self) -> &'static str {
        match self.site {
            Site::Hook => self.function.name(),
            Site::Libc => self.function.libc_name(),
        }
    }
}

/// Set once the subscriber is the global default and the callsites are
/// registered.
static READY: AtomicBool = AtomicBool::new(false);

/// Sets up the sink, from the constructor: opens the destination, builds
/// the subscriber (this allocates, once), registers the callsites.
pub fn init() {
    destination::setup();
    summary::init();
    if layer::install() {
        READY.store(true, Ordering::Release);
    }
}

/// Reports one interruption: counts it for the summary and emits it.
pub fn interruption(report: &Report) {
    summary::count(report);
    if READY.load(Ordering::Acquire) {
        layer::emit(report);
    } else {
        layer::write_direct(report);
    }
}

/// A call whose first interruption was at `first_ns` (CLOCK_MONOTONIC) is
/// over: its time counts as waited in the summary. Keeps `errno`, which
/// holds the call's result.
pub fn finished(function: Function, first_ns: u64) {
    let saved = crate::errno::get();
    summary::finished(function, first_ns);
    crate::errno::set(saved);
}
