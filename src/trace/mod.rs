//! The tracing sink: every interruption the policy engine handles is
//! reported here as one [`Report`].
//!
//! Nothing here runs on the fast path: a call that does not fail with EINTR
//! never reaches this module.

pub mod line;

use crate::config::SignalName;
use core::ffi::c_int;
use core::fmt::Write;

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
    /// `EINTRFIX_MAX_RETRIES` was reached.
    MaxRetries,
    /// The configuration was bad, so the shim changes nothing.
    Disabled,
}

impl Reason {
    /// As reported in events.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::Policy => "policy retry",
            Reason::PassPolicy => "policy pass",
            Reason::LogPolicy => "policy log",
            Reason::PassSignal => "pass signal",
            Reason::AlarmTimeout => "alarm timeout",
            Reason::MaxRetries => "max retries reached",
            Reason::Disabled => "disabled",
        }
    }

    /// Whether events with this reason are warnings (shown by default).
    pub const fn is_warning(self) -> bool {
        matches!(self, Reason::LogPolicy | Reason::MaxRetries)
    }
}

/// One interruption of one call.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// The C name of the hooked function.
    pub function: &'static str,
    /// The call's fd, where it has one.
    pub fd: Option<c_int>,
    /// The signal whose handler ran, if known.
    pub signal: Option<c_int>,
    /// What was done.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// 1 for the first interruption of this call, then 2, ...
    pub attempt: u32,
    /// Microseconds since the call's first interruption.
    pub waited_us: u64,
}

/// Sets up the sink, from the constructor.
pub fn init() {}

/// Reports one interruption. Warnings (the `log` policy, exhausted
/// retries) are written as one line on the shim's output.
pub fn interruption(report: &Report) {
    if !report.reason.is_warning() {
        return;
    }
    let mut line = line::Line::new();
    let _ = write!(line, "eintrfix: {}", report.function);
    if let Some(fd) = report.fd {
        let _ = write!(line, " fd={fd}");
    }
    let _ = match report.signal {
        Some(s) => write!(line, " interrupted by {}", SignalName(s)),
        None => write!(line, " interrupted by an unknown signal"),
    };
    let _ = write!(
        line,
        ": EINTR {} ({}, attempt {})",
        report.action.name(),
        report.reason.name(),
        report.attempt
    );
    line.emit();
}
