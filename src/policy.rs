//! The policy engine: every hook calls it on the slow path, once for each
//! EINTR, and does what it decides.
//!
//! The configuration is read once, by the constructor or lazily by the
//! first interruption if a hook runs earlier ([`Once`]): reading it takes
//! no lock, so it is safe in signal handlers and forked children. The
//! tracing sink below the engine is handed it with each report.

use crate::config::{self, Config, LogLevel, Policy, SignalSet};
use crate::deadline::now_ns;
use crate::errno;
use crate::functions::Function;
use crate::once::Once;
use crate::signals::{self, Interrupting};
use crate::trace;
use core::ffi::c_int;

static CONFIG: Once<Config<'static>> = Once::new();

/// The configuration in force, read from the `EINTRFIX_*` variables at the
/// first call. A bad variable is reported on stderr and makes the shim pass
/// everything through. While another caller reads it (a hook running
/// inside the reading, another thread), the defaults.
pub fn config() -> &'static Config<'static> {
    CONFIG
        .get_or_init(|| {
            config::from_environment().unwrap_or_else(|error| {
                trace::warning(&error);
                Config::PASSTHROUGH
            })
        })
        .unwrap_or(&Config::DEFAULT)
}

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
            Reason::Policy => "retry_policy",
            Reason::PassPolicy => "pass_policy",
            Reason::LogPolicy => "log_policy",
            Reason::PassSignal => "pass_signal",
            Reason::AlarmTimeout => "alarm_timeout",
            Reason::MaxRetries => "max_retries",
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
    /// The hooked function.
    pub function: Function,
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

impl Report {
    /// The report as the tracing sink takes it: `warn` for the `log`
    /// policy and exhausted retries (shown by default), `info` for the
    /// rest.
    pub fn event(&self) -> trace::Event {
        trace::Event {
            function: self.function,
            fd: self.fd,
            signal: self.signal,
            level: if self.reason.is_warning() {
                LogLevel::Warn
            } else {
                LogLevel::Info
            },
            action: self.action.name(),
            retried: self.action == Action::Retried,
            reason: self.reason.name(),
            attempt: self.attempt,
            waited_us: self.waited_us,
        }
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

/// The decision for one interruption, and why: the rules in one place.
///
/// In order: a bad configuration passes everything; a `pass` or `log`
/// policy passes; a signal in `EINTRFIX_PASS_SIGNALS` passes; a one-shot
/// SIGALRM (the program's own timeout) passes unless
/// `EINTRFIX_ALARM_TIMEOUTS=retry`; past `EINTRFIX_MAX_RETRIES` it passes;
/// anything else, an unknown signal included, is retried.
pub fn judge(
    config: &Config,
    function: Function,
    by: Interrupting,
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
    if by.signals.bits() & config.pass_signals.bits() != 0 {
        return (Decision::Pass, Reason::PassSignal);
    }
    if by.alarm_timeout && config.alarm_timeouts == Policy::Pass {
        return (Decision::Pass, Reason::AlarmTimeout);
    }
    if config.max_retries.is_some_and(|max| attempt > max) {
        return (Decision::Pass, Reason::MaxRetries);
    }
    (Decision::Retry, Reason::Policy)
}

/// The signal to name in a report: the one that decided, else the first.
fn reported_signal(config: &Config, by: Interrupting, reason: Reason) -> Option<c_int> {
    let deciding = match reason {
        Reason::PassSignal => SignalSet::from_bits(by.signals.bits() & config.pass_signals.bits()),
        Reason::AlarmTimeout => SignalSet::EMPTY.with(libc::SIGALRM),
        _ => by.signals,
    };
    deciding.first()
}

/// The interruptions of one hooked call: counts them, asks the engine
/// about each, and reports each to the tracing sink.
pub struct Interruption {
    function: Function,
    fd: Option<c_int>,
    attempts: u32,
    first_ns: u64,
}

impl Interruption {
    /// A call of `function` (on `fd`) that has just failed with EINTR.
    pub fn new(function: Function, fd: Option<c_int>) -> Interruption {
        Interruption {
            function,
            fd,
            attempts: 0,
            first_ns: 0,
        }
    }

    /// Decides about the EINTR just returned and reports it. Leaves errno
    /// set to EINTR, so a `Pass` can return the failure as it is.
    pub fn decide(&mut self) -> Decision {
        let now = now_ns();
        if self.attempts == 0 {
            self.first_ns = now;
        }
        self.attempts = self.attempts.saturating_add(1);
        let config = config();
        let by = signals::take_interrupting();
        let (decision, reason) = judge(config, self.function, by, self.attempts);
        if config.enabled {
            let report = Report {
                function: self.function,
                fd: self.fd,
                signal: reported_signal(config, by, reason),
                action: match decision {
                    Decision::Retry => Action::Retried,
                    Decision::Pass => Action::Passed,
                },
                reason,
                attempt: self.attempts,
                waited_us: now.saturating_sub(self.first_ns) / 1000,
            };
            trace::interruption(config, &report.event());
        }
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by(signals: &[i32], alarm_timeout: bool) -> Interrupting {
        Interrupting {
            signals: SignalSet::of(signals),
            alarm_timeout,
        }
    }

    #[test]
    fn default_retries_unknown_and_ordinary_signals() {
        let c = Config::DEFAULT;
        for signals in [
            &[][..],
            &[libc::SIGCHLD],
            &[libc::SIGALRM],
            &[libc::SIGUSR1, libc::SIGWINCH],
        ] {
            assert_eq!(
                judge(&c, Function::read, by(signals, false), 1).0,
                Decision::Retry
            );
        }
    }

    #[test]
    fn stop_signals_and_alarm_timeouts_pass() {
        let c = Config::DEFAULT;
        assert_eq!(
            judge(&c, Function::read, by(&[libc::SIGINT], false), 1),
            (Decision::Pass, Reason::PassSignal)
        );
        assert_eq!(
            judge(
                &c,
                Function::read,
                by(&[libc::SIGCHLD, libc::SIGTERM], false),
                3
            )
            .1,
            Reason::PassSignal
        );
        assert_eq!(
            judge(&c, Function::read, by(&[libc::SIGALRM], true), 1),
            (Decision::Pass, Reason::AlarmTimeout)
        );
        let c = Config {
            alarm_timeouts: Policy::Retry,
            ..Config::DEFAULT
        };
        assert_eq!(
            judge(&c, Function::read, by(&[libc::SIGALRM], true), 1).0,
            Decision::Retry
        );
    }

    #[test]
    fn policies_win_over_signals_and_max_retries_bounds() {
        let mut c = Config::DEFAULT;
        c.named[Function::connect.index()] = Some(Policy::Log);
        assert_eq!(
            judge(&c, Function::connect, by(&[], false), 1),
            (Decision::Pass, Reason::LogPolicy)
        );
        c.default_policy = Policy::Pass;
        assert_eq!(
            judge(&c, Function::read, by(&[], false), 1),
            (Decision::Pass, Reason::PassPolicy)
        );
        let c = Config {
            max_retries: Some(2),
            ..Config::DEFAULT
        };
        assert_eq!(
            judge(&c, Function::read, by(&[], false), 2).0,
            Decision::Retry
        );
        assert_eq!(
            judge(&c, Function::read, by(&[], false), 3),
            (Decision::Pass, Reason::MaxRetries)
        );
        assert_eq!(
            judge(&Config::PASSTHROUGH, Function::read, by(&[], false), 1).1,
            Reason::Disabled
        );
    }

    #[test]
    fn reports_name_the_deciding_signal() {
        let c = Config::DEFAULT;
        let b = by(&[libc::SIGALRM, libc::SIGTERM], false);
        assert_eq!(
            reported_signal(&c, b, Reason::PassSignal),
            Some(libc::SIGTERM)
        );
        assert_eq!(reported_signal(&c, b, Reason::Policy), Some(libc::SIGALRM));
        assert_eq!(reported_signal(&c, by(&[], false), Reason::Policy), None);
    }
}
