//! The tracing sink: every interruption the policy engine handles is
//! handed here as one [`Event`], with the configuration in force. The sink
//! sits below the engine: it knows nothing of policies, only what to
//! write and count.
//!
//! Nothing here runs on the fast path: a call that does not fail with EINTR
//! never reaches this module.
//!
//! Each report becomes one event line (target `eintrfix`; `info` when
//! retried or passed by the rules, `warn` for the `log` policy and for
//! exhausted retries), written if `EINTRFIX_LOG`'s level lets it through
//! ([`event`]): formatted on the stack, one real `write(2)` per line, to
//! the [destination]. When the summary is on, each report is also counted
//! ([`summary`]).
//!
//! # Why the event path is safe anywhere
//! A hook may report from a signal handler that interrupted `malloc`, from
//! the forked child of a threaded parent, from an `atexit` handler or a
//! thread-key destructor, or before the library's constructor ran. So an
//! event takes no lock, allocates nothing and touches no thread-local: the
//! filter is one comparison with the level the configuration parsed, the
//! line is formatted into a fixed stack buffer and written with
//! `crate::real::write`, on an fd opened with raw system calls. Nothing
//! is built at start-up for it, so the path is the same before and after
//! the constructor.

pub mod destination;
pub mod event;
pub mod format;
pub mod line;
pub mod open_rules;
pub mod summary;

pub use event::{Event, Site};

use crate::config::Config;
use crate::functions::Function;

/// Writes one line about the shim itself (a bad variable, a log file that
/// cannot be opened) on stderr, unless stderr was closed when the program
/// started.
#[cold]
#[inline(never)]
pub fn warning(message: &dyn core::fmt::Display) {
    use core::fmt::Write;
    let mut line = line::Line::new();
    let _ = write!(line, "{message}");
    line.write_to(destination::stderr());
}

/// Sets up the sink, from the constructor: opens the destination, and
/// when the summary is on, registers its fork handler.
pub fn init(config: &Config) {
    destination::setup(config);
    if config.summary {
        summary::init();
    }
}

/// Reports one interruption: counts it for the summary and emits it.
pub fn interruption(config: &Config, event: &Event) {
    if config.summary {
        summary::count(event);
    }
    event::emit(config, event);
}

/// A call whose first interruption was at `first_ns` (CLOCK_MONOTONIC) is
/// over: its time counts as waited in the summary. Keeps `errno`, which
/// holds the call's result.
pub fn finished(config: &Config, function: Function, first_ns: u64) {
    if config.summary {
        crate::errno::preserved(|| summary::finished(function, first_ns));
    }
}

/// The process is exiting: prints the summary, when it is on.
pub fn exiting(config: &Config) {
    if config.summary {
        summary::print(config);
    }
}
