//! The policy engine: every hook calls it on the slow path, once for each
//! EINTR, and does what it decides.
//!
//! It reads the configuration in force from [`crate::settings`]; the
//! tracing sink below the engine is handed it with each report.

use crate::chain;
use crate::config::{Config, LogLevel, Policy};
use crate::deadline::now_ns;
use crate::deadline::Deadline;
use crate::errno;
use crate::functions::Function;
use crate::origin::only_time;
pub use crate::origin::Origin;
use crate::settings::config;
use crate::signals::{self, Delivered, Sender};
use crate::signum::SignalSet;
use crate::trace::{self, Site};
use crate::waits::Waits;
use core::ffi::c_int;

/// Why the engine decided as it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The function's policy is `retry` and nothing said otherwise.
    RetryPolicy,
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
    /// The code after the call compares errno with EINTR and handles it
    /// (the per-site rule, `EINTRFIX_PER_SITE`): it gets the EINTR, as it
    /// would bare.
    CallerHandles,
    /// A SIGWINCH interrupted a wait on a terminal: a resize the program
    /// must see at once.
    TerminalResize,
    /// The call's site handles EINTR and retried by itself, with its whole
    /// timeout, until the first timeout passed: it ends as that timeout.
    Timeout,
    /// The configuration was bad, so the shim changes nothing.
    Disabled,
    /// The audit mode made this EINTR to see what the program does with it.
    Injected,
}

impl Reason {
    /// As reported in events.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::RetryPolicy => "retry_policy",
            Reason::PassPolicy => "pass_policy",
            Reason::LogPolicy => "log_policy",
            Reason::PassSignal => "pass_signal",
            Reason::AlarmTimeout => "alarm_timeout",
            Reason::FatalDefault => "fatal_default",
            Reason::ThreadSignal => "thread_signal",
            Reason::MaxRetries => "max_retries",
            Reason::Runtime => "runtime",
            Reason::CallerHandles => "caller_handles",
            Reason::TerminalResize => "terminal_resize",
            Reason::Timeout => "timeout",
            Reason::Disabled => "disabled",
            Reason::Injected => "injected",
        }
    }

    /// Whether events with this reason are warnings (shown by default).
    pub const fn is_warning(self) -> bool {
        matches!(self, Reason::LogPolicy | Reason::MaxRetries)
    }
}

/// What a hook does with an EINTR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Make the call again (within any deadline).
    Retry,
    /// Return the EINTR to the program.
    Pass,
}

impl Decision {
    /// What was done, as events report it.
    pub const fn reported(self) -> &'static str {
        match self {
            Decision::Retry => "retried",
            Decision::Pass => "passed",
        }
    }
}

/// The decision for one interruption, and why: the rules in one place.
///
/// In order: a bad configuration passes everything; a `pass` or `log`
/// policy passes; a call made by a runtime that handles EINTR itself, or
/// at a call site whose code handles it, passes (it retries, after running
/// its signal handlers, as it would bare); a SIGWINCH that interrupted a
/// wait on a terminal (`terminal`) passes (a resize); a signal in `EINTRFIX_PASS_SIGNALS` passes; a one-shot
/// SIGALRM (the program's own timeout) passes unless
/// `EINTRFIX_ALARM_TIMEOUTS=retry`; a signal whose handler left it at a
/// fatal SIG_DFL passes (a retry could run into the next one, which would
/// kill the process); a signal a thread of the process aimed at this one
/// passes unless `EINTRFIX_THREAD_SIGNALS=retry`; past
/// `EINTRFIX_MAX_RETRIES` it passes; anything else, an unknown signal
/// included, is retried.
pub fn judge(
    config: &Config,
    function: Function,
    delivered: Delivered,
    origin: Origin,
    terminal: bool,
    attempt: u32,
) -> (Decision, Reason) {
    if !config.enabled {
        return (Decision::Pass, Reason::Disabled);
    }
    match config.policy(function) {
        Policy::Pass => return (Decision::Pass, Reason::PassPolicy),
        Policy::Log => return (Decision::Pass, Reason::LogPolicy),
        Policy::Retry => {}
    }
    match origin {
        Origin::Runtime if config.runtimes.any() => return (Decision::Pass, Reason::Runtime),
        Origin::Handles(_) if config.per_site => return (Decision::Pass, Reason::CallerHandles),
        _ => {}
    }
    if terminal && delivered.signals.contains(libc::SIGWINCH) {
        return (Decision::Pass, Reason::TerminalResize);
    }
    if delivered.signals.bits() & config.pass_signals.bits() != 0 {
        return (Decision::Pass, Reason::PassSignal);
    }
    if delivered.alarm_timeout && config.alarm_timeouts == Policy::Pass {
        return (Decision::Pass, Reason::AlarmTimeout);
    }
    if delivered.left_fatal.bits() != 0 {
        return (Decision::Pass, Reason::FatalDefault);
    }
    if delivered.thread_aimed.bits() != 0 && config.thread_signals == Policy::Pass {
        return (Decision::Pass, Reason::ThreadSignal);
    }
    if config.max_retries.is_some_and(|max| attempt > max) {
        return (Decision::Pass, Reason::MaxRetries);
    }
    (Decision::Retry, Reason::RetryPolicy)
}

/// The signal to name in a report: the one that decided, else the first.
fn reported_signal(config: &Config, delivered: Delivered, reason: Reason) -> Option<c_int> {
    let deciding = match reason {
        Reason::PassSignal => {
            SignalSet::from_bits(delivered.signals.bits() & config.pass_signals.bits())
        }
        Reason::AlarmTimeout => SignalSet::EMPTY.with(libc::SIGALRM),
        Reason::FatalDefault => delivered.left_fatal,
        Reason::ThreadSignal => delivered.thread_aimed,
        Reason::TerminalResize => SignalSet::EMPTY.with(libc::SIGWINCH),
        _ => delivered.signals,
    };
    deciding.first()
}

/// Reports a decision to the tracing sink (unless the shim is disabled):
/// completes the sink's event for `event`'s call with the decision, the
/// deciding signal and its sender, in a frame of its own: the
/// sink formats on the stack (4 KiB), and inlined into
/// [`Interruption::decide`] that buffer would lie between the hook's caller
/// and the stack pointer from which [`Origin::of_hook`] scans.
#[inline(never)]
fn report(
    config: &Config,
    mut event: trace::Event,
    delivered: Delivered,
    decision: Decision,
    reason: Reason,
) {
    if !config.enabled {
        return;
    }
    let signal = reported_signal(config, delivered, reason);
    event.signal = signal;
    event.sender = signal
        .map_or(Sender::Unknown, |s| delivered.senders.of(s))
        .name();
    // `warn` for the `log` policy and exhausted retries (shown by
    // default), `info` for the rest.
    event.level = if reason.is_warning() {
        LogLevel::Warn
    } else {
        LogLevel::Info
    };
    event.action = decision.reported();
    event.retried = decision == Decision::Retry;
    event.reason = reason.name();
    event.runtime = reason == Reason::Runtime;
    trace::interruption(config, &event);
}

/// The interruptions of one hooked call: counts them, asks the engine
/// about each, and reports each to the tracing sink.
pub struct Interruption {
    function: Function,
    fd: Option<c_int>,
    waits: Waits,
    attempts: u32,
    first_ns: u64,
    origin: Origin,
    reason: Reason,
}

impl Interruption {
    /// A call of `function` (on `fd`) that has just failed with EINTR.
    pub fn new(function: Function, fd: Option<c_int>) -> Interruption {
        Interruption {
            function,
            fd,
            waits: fd.map_or(Waits::Nothing, Waits::Fd),
            attempts: 0,
            first_ns: 0,
            origin: Origin::Program,
            reason: Reason::RetryPolicy,
        }
    }

    /// The same, for a call that waits on the fds `waits` shows (`poll`,
    /// `select`), which events do not name.
    pub fn waiting(function: Function, waits: Waits) -> Interruption {
        let fd = match waits {
            Waits::Fd(fd) => Some(fd),
            _ => None,
        };
        Interruption {
            waits,
            ..Interruption::new(function, fd)
        }
    }

    /// After a [`Decision::Pass`]: whether the call must rather end as its
    /// own timeout would, ending at `own`: its site handles EINTR and has
    /// made the same call again on the same connection since the first
    /// deadline of the chain (see [`chain`]). Reported, with errno left to
    /// the caller to set.
    pub fn timed_out(&mut self, own: Deadline) -> bool {
        let (Origin::Handles(site), Reason::CallerHandles) = (self.origin, self.reason) else {
            return false;
        };
        let Some(fd) = self.fd.or_else(|| self.waits.first_fd()) else {
            return false;
        };
        let now = now_ns();
        if !chain::passing(site, self.function, fd, own, now) {
            return false;
        }
        let config = config();
        let waited_us = now.saturating_sub(self.first_ns) / 1000;
        let call =
            trace::Event::of_call(self.function, Site::Hook, self.fd, self.attempts, waited_us);
        report(
            config,
            call,
            Delivered::default(),
            Decision::Pass,
            Reason::Timeout,
        );
        true
    }

    /// Decides about the EINTR just returned and reports it. Leaves errno
    /// set to EINTR, so a `Pass` can return the failure as it is. At the
    /// first interruption it also looks for the hook's caller (a scan of
    /// the stack: only the slow path pays for it).
    pub fn decide(&mut self) -> Decision {
        let now = now_ns();
        let config = config();
        if self.attempts == 0 {
            self.first_ns = now;
            if Origin::asked(config) {
                self.origin =
                    Origin::of_hook(config, self.function, only_time(self.function, self.waits));
            }
        }
        self.attempts = self.attempts.saturating_add(1);
        let delivered = signals::take_delivered();
        let terminal = delivered.signals.contains(libc::SIGWINCH) && self.waits.on_terminal();
        let (decision, reason) = if crate::audit::take_injected() {
            (Decision::Pass, Reason::Injected)
        } else {
            judge(
                config,
                self.function,
                delivered,
                self.origin,
                terminal,
                self.attempts,
            )
        };
        self.reason = reason;
        let waited_us = now.saturating_sub(self.first_ns) / 1000;
        let call =
            trace::Event::of_call(self.function, Site::Hook, self.fd, self.attempts, waited_us);
        report(config, call, delivered, decision, reason);
        crate::audit::retrying(decision == Decision::Retry);
        errno::set(libc::EINTR);
        decision
    }
}

impl Drop for Interruption {
    /// The call is over: the tracing sink counts the time since its first
    /// interruption (for `EINTRFIX_SUMMARY`).
    fn drop(&mut self) {
        if self.attempts > 0 {
            trace::finished(config(), self.function, self.first_ns);
            crate::audit::retrying(false);
        }
    }
}

/// A call that no hook made (inside libc: stdio, `system`, ...) was
/// interrupted, and the kernel will make it again when the signal's
/// handler returns: decides whether it may, with the same rules as for a
/// hooked call (`caller`: who made it, asked only when the configuration
/// can use it), and
/// reports it. The call is named after its system call.
///
/// The shim sees neither where such a call starts nor where it ends, so
/// each interruption is judged and reported on its own (attempt 1, nothing
/// waited) and `EINTRFIX_MAX_RETRIES` does not bound it. When a hook is
/// waiting above the call after all (`hook_above`, asked only for a pass:
/// another interposer,
/// such as AddressSanitizer's, between the hook and libc), a passed EINTR
/// leaves the record of the signals behind it in place, for the hook to
/// judge the EINTR as the trampoline did. Called from the signal trampoline:
/// async-signal-safe, and errno is left as it was.
pub fn at_delivery(
    function: Function,
    fd: Option<c_int>,
    caller: impl FnOnce(&Config) -> Origin,
    hook_above: impl FnOnce() -> bool,
) -> Decision {
    errno::preserved(|| {
        let config = config();
        let delivered = signals::take_delivered();
        let origin = caller(config);
        let terminal =
            delivered.signals.contains(libc::SIGWINCH) && fd.is_some_and(crate::waits::is_terminal);
        let (decision, reason) = judge(config, function, delivered, origin, terminal, 1);
        if decision == Decision::Pass && hook_above() {
            signals::put_back(delivered);
        }
        let call = trace::Event::of_call(function, Site::Libc, fd, 1, 0);
        report(config, call, delivered, decision, reason);
        decision
    })
}

#[cfg(test)]
mod tests;
