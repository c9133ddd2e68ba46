//! One interruption as one event line: filtered by `EINTRFIX_LOG`'s level,
//! formatted on the stack ([`Record`] into a [`Line`]) and written with one
//! real `write(2)` to the [`destination`].
//!
//! Text: `2026-11-23T09:39:35.827597Z  INFO eintrfix: read fd=3 signal=SIGALRM ...`;
//! JSON: one flat object per line. Fields, in this order: `function`, `fd`
//! (only for calls that have one), `signal`, `action`, `reason`,
//! `attempt`, `waited_us`, `pid`, `tid`.

use super::destination;
use super::format::{Record, Timestamp};
use super::line::Line;
use crate::config::{Config, LogLevel, LOG_TARGET};
use crate::functions::Function;
use crate::process;
use crate::signum::SignalName;
use core::ffi::c_int;

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

/// One interruption as the sink writes and counts it: plain data, the one
/// event the policy engine reports, in its own words ([`Event::of_call`],
/// then the decision).
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// The hooked function, or the one named after the system call.
    pub function: Function,
    /// Where the call was made.
    pub site: Site,
    /// The call's fd, where it has one.
    pub fd: Option<c_int>,
    /// The signal whose handler ran, if known.
    pub signal: Option<c_int>,
    /// Who sent it (`kernel`, `timer`, `thread`, `self`, `process`,
    /// `child`, `unknown`).
    pub sender: &'static str,
    /// `Info`, or `Warn` for what is shown by default.
    pub level: LogLevel,
    /// What was done (`retried`, `passed`).
    pub action: &'static str,
    /// Whether the call was made again (the summary counts both kinds).
    pub retried: bool,
    /// Why (`retry_policy`, `pass_signal`, ...).
    pub reason: &'static str,
    /// 1 for the first interruption of this call, then 2, ...
    pub attempt: u32,
    /// Microseconds since the call's first interruption.
    pub waited_us: u64,
    /// Whether the EINTR was left to a runtime that handles it itself (the
    /// summary counts those).
    pub runtime: bool,
}

impl Event {
    /// The event of an interruption of `function`'s call at `site`, before
    /// the policy engine fills in what it decided and why.
    pub const fn of_call(
        function: Function,
        site: Site,
        fd: Option<c_int>,
        attempt: u32,
        waited_us: u64,
    ) -> Event {
        Event {
            function,
            site,
            fd,
            signal: None,
            sender: "unknown",
            level: LogLevel::Info,
            action: "",
            retried: false,
            reason: "",
            attempt,
            waited_us,
            runtime: false,
        }
    }

    /// The call's name in events and the summary.
    pub const fn name(&self) -> CallName {
        CallName {
            function: self.function,
            site: self.site,
        }
    }
}

/// A call's name in events and the summary: the function's, or
/// `libc:NAME` for a call inside libc. Composed when it is written, rather
/// than kept as a table of strings (each a relocation at start-up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallName {
    /// The function, or the one named after the system call.
    pub function: Function,
    /// Where the call was made.
    pub site: Site,
}

/// What a call inside libc's name starts with.
const LIBC_PREFIX: &str = "libc:";

impl CallName {
    /// The name, composed in `buf`.
    pub fn as_str(self, buf: &mut [u8; 64]) -> &str {
        let name = self.function.name();
        let prefix = match self.site {
            Site::Hook => "",
            Site::Libc => LIBC_PREFIX,
        };
        let len = (prefix.len() + name.len()).min(buf.len());
        for (slot, byte) in buf.iter_mut().zip(prefix.bytes().chain(name.bytes())) {
            *slot = byte;
        }
        core::str::from_utf8(buf.get(..len).unwrap_or_default()).unwrap_or(name)
    }

    /// Its length in bytes (for aligning the summary).
    pub fn width(self) -> usize {
        let prefix = match self.site {
            Site::Hook => 0,
            Site::Libc => LIBC_PREFIX.len(),
        };
        prefix + self.function.name().len()
    }
}

impl core::fmt::Display for CallName {
    /// The name, padded as the format asks.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut buf = [0u8; 64];
        f.pad(self.as_str(&mut buf))
    }
}

/// Writes an event as one line, if `EINTRFIX_LOG` lets its level through.
pub fn emit(config: &Config, event: &Event) {
    let level = event.level;
    if level > config.log_level {
        return;
    }
    let pid = process::getpid();
    let mut line = Line::new();
    let mut record = Record::start(
        &mut line,
        config.log_format,
        Timestamp::now(),
        level.as_str(),
        LOG_TARGET,
    );
    let mut name = [0u8; 64];
    record.str("function", event.name().as_str(&mut name));
    if let Some(fd) = event.fd {
        record.num("fd", fd);
    }
    match event.signal {
        Some(s) => record.display("signal", &SignalName(s)),
        None => record.str("signal", "unknown"),
    }
    record.str("sender", event.sender);
    record.str("action", event.action);
    record.str("reason", event.reason);
    record.num("attempt", event.attempt);
    record.num("waited_us", event.waited_us);
    record.num("pid", pid);
    record.num("tid", process::gettid());
    record.finish();
    line.write_to(destination::fd(config, pid));
}

#[cfg(test)]
mod tests {
    use crate::config::{self, LogLevel, LOG};
    use tracing::callsite::{DefaultCallsite, Identifier};
    use tracing::field::FieldSet;
    use tracing::metadata::Kind;
    use tracing::{Level, Metadata};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::{EnvFilter, Registry};

    macro_rules! callsite {
        ($callsite:ident, $meta:ident, $level:expr) => {
            static $callsite: DefaultCallsite = DefaultCallsite::new(&$meta);
            static $meta: Metadata<'static> = Metadata::new(
                "interruption",
                config::LOG_TARGET,
                $level,
                Some(file!()),
                Some(line!()),
                Some(module_path!()),
                FieldSet::new(&["function"], Identifier(&$callsite)),
                Kind::EVENT,
            );
        };
    }

    callsite!(INFO_CALLSITE, INFO_META, Level::INFO);
    callsite!(WARN_CALLSITE, WARN_META, Level::WARN);

    /// What `EnvFilter` itself decides for an event of the shim: the
    /// directives without the blanks the configuration accepts around
    /// items and `=` (which `EnvFilter` would reject).
    fn env_filter_enables(directives: &str, meta: &'static Metadata<'static>) -> bool {
        let normalized = directives
            .split(',')
            .map(|item| item.split('=').map(str::trim).collect::<Vec<_>>().join("="))
            .collect::<Vec<_>>()
            .join(",");
        let filter = EnvFilter::builder()
            .parse(normalized)
            .unwrap_or_else(|e| panic!("{directives:?}: {e}"));
        let dispatch = tracing::Dispatch::new(Registry::default().with(filter));
        INFO_CALLSITE.register();
        WARN_CALLSITE.register();
        dispatch.enabled(meta)
    }

    #[test]
    fn events_are_filtered_as_env_filter_filters_them() {
        for directives in [
            "warn",
            "info",
            "off",
            "error",
            "trace",
            "INFO",
            "eintrfix=info",
            "warn,eintrfix=info",
            "eintrfix=info,warn",
            "info,eintrfix=warn",
            "eintrfix=warn,info",
            "eint=info",
            "eintrfix=off,info",
            "other=info",
            "other=info,warn",
            "info,warn",
            "warn,info",
            "eintrfix=info,eintrfix=warn",
            "eintrfix=warn,eintrfix=info",
            "eintrfix::x=info",
            "e=info,eintrfix=error",
            "eintrfix=error,e=info",
            " eintrfix = info , off ",
            "Eintrfix=info",
        ] {
            let parsed = config::parse(|name| (name == LOG).then_some(directives.as_bytes()))
                .unwrap_or_else(|e| panic!("{directives:?}: {e}"));
            for (meta, level) in [(&INFO_META, LogLevel::Info), (&WARN_META, LogLevel::Warn)] {
                assert_eq!(
                    level <= parsed.log_level,
                    env_filter_enables(directives, meta),
                    "{directives:?} at {level:?}"
                );
            }
        }
    }
}
