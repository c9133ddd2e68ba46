//! The `EINTRFIX_*` variables: every name, and the one parser of their
//! values, allocation-free, so the same code serves the library (which
//! reads them from its environment once: [`from_environment`]) and the CLI
//! (which validates its options with it before starting anything).
//!
//! An empty variable counts as unset. Any error names the variable, the bad
//! part and what is accepted; the library then changes nothing.

use crate::functions::Function;
use crate::signum::SignalSet;
// The parsers others call (the library and the CLI each use some).
use core::fmt;
use values::{
    error, match_ignore_case, parse_bool, parse_log_directives, parse_policy, pass_or_retry, trim,
};
#[allow(unused_imports)]
pub use values::{parse_runtimes, parse_signals, parse_u32, runtime_names};

/// What to do with a call that failed with EINTR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Call again, keeping any timeout on a fixed deadline.
    Retry,
    /// Return the EINTR to the program unchanged.
    Pass,
    /// Return the EINTR unchanged and report it (a `warn` event).
    Log,
}

impl Policy {
    fn parse(word: &[u8]) -> Option<Policy> {
        match_ignore_case(
            word,
            &[
                (b"retry", Policy::Retry),
                (b"pass", Policy::Pass),
                (b"log", Policy::Log),
            ],
        )
    }

    /// The word that selects it.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::Retry => "retry",
            Policy::Pass => "pass",
            Policy::Log => "log",
        }
    }
}

/// The output format of events, from `EINTRFIX_LOG_FORMAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One human line per event.
    Text,
    /// One flat JSON object per line.
    Json,
}

/// How much of the event log is shown, from `EINTRFIX_LOG`: an event is
/// written when its level is at most this verbose. Also the level of an
/// event (`Info` or `Warn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Errors only.
    Error,
    /// Warnings and errors: the default.
    Warn,
    /// Every interruption.
    Info,
    /// As `info` (the shim has no debug events).
    Debug,
    /// As `info` (the shim has no trace events).
    Trace,
}

impl LogLevel {
    /// Every level, least verbose first, with the word that selects it.
    const WORDS: [(&'static [u8], LogLevel); 6] = [
        (b"off", LogLevel::Off),
        (b"error", LogLevel::Error),
        (b"warn", LogLevel::Warn),
        (b"info", LogLevel::Info),
        (b"debug", LogLevel::Debug),
        (b"trace", LogLevel::Trace),
    ];

    /// As events show it: `WARN`, `INFO`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Off => "OFF",
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }
}

/// Whose own calls keep their EINTR (`EINTRFIX_RUNTIMES`): code that
/// handles EINTR itself, and runs its signal handlers before it retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runtimes {
    /// The runtimes eintrfix recognises by itself (`auto`): CPython 3.5
    /// and later.
    pub auto: bool,
    /// Whether the variable names objects of its own (see
    /// [`runtime_names`]).
    pub named: bool,
}

impl Runtimes {
    /// `auto`, the default.
    pub const AUTO: Runtimes = Runtimes {
        auto: true,
        named: false,
    };
    /// `none`: every call follows the usual rules.
    pub const NONE: Runtimes = Runtimes {
        auto: false,
        named: false,
    };

    /// Whether any code is treated as a runtime.
    pub const fn any(self) -> bool {
        self.auto || self.named
    }
}

/// Everything the variables say, as plain data; `'a` is the lifetime of
/// the values read (the environment's, for the library).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config<'a> {
    /// False when a variable was bad: the shim then passes everything through.
    pub enabled: bool,
    /// The policy of functions not named in `EINTRFIX_POLICY`.
    pub default_policy: Policy,
    /// Policies set by name, by `Function::index`.
    pub named: [Option<Policy>; Function::COUNT],
    /// Signals whose interruptions pass through (`EINTRFIX_PASS_SIGNALS`).
    pub pass_signals: SignalSet,
    /// How one-shot SIGALRM timeouts are treated (`EINTRFIX_ALARM_TIMEOUTS`).
    pub alarm_timeouts: Policy,
    /// How a signal that a thread of the process aims at the interrupted
    /// thread (`pthread_kill`, `tgkill`) is treated (`EINTRFIX_THREAD_SIGNALS`).
    pub thread_signals: Policy,
    /// Retries of one call before its EINTR passes (`EINTRFIX_MAX_RETRIES`).
    pub max_retries: Option<u32>,
    /// The most verbose level of event written (`EINTRFIX_LOG`).
    pub log_level: LogLevel,
    /// Event format (`EINTRFIX_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Whether to print a summary at exit (`EINTRFIX_SUMMARY`).
    pub summary: bool,
    /// Whose own calls keep their EINTR (`EINTRFIX_RUNTIMES`).
    pub runtimes: Runtimes,
    /// Whether a call site whose code handles EINTR itself keeps it
    /// (`EINTRFIX_PER_SITE`, on by default).
    pub per_site: bool,
    /// Where events and the summary go (`EINTRFIX_LOG_FILE`, `%p`
    /// unexpanded); `None`: stderr.
    pub log_file: Option<&'a [u8]>,
    /// `EINTRFIX_RUNTIMES`'s value when it names objects (see
    /// [`runtime_names`]); empty otherwise.
    pub runtime_names: &'a [u8],
}

/// SIGINT, SIGTERM and SIGQUIT: the program asked to be interrupted.
pub const DEFAULT_PASS_SIGNALS: SignalSet =
    SignalSet::of(&[libc::SIGINT, libc::SIGTERM, libc::SIGQUIT]);

impl<'a> Config<'a> {
    /// What applies when no variable is set.
    pub const DEFAULT: Config<'a> = Config {
        enabled: true,
        default_policy: Policy::Retry,
        named: [None; Function::COUNT],
        pass_signals: DEFAULT_PASS_SIGNALS,
        alarm_timeouts: Policy::Pass,
        thread_signals: Policy::Pass,
        max_retries: None,
        log_level: LogLevel::Warn,
        log_format: LogFormat::Text,
        summary: false,
        runtimes: Runtimes::AUTO,
        per_site: true,
        log_file: None,
        runtime_names: &[],
    };

    /// What applies after a bad variable: nothing is changed.
    pub const PASSTHROUGH: Config<'a> = Config {
        enabled: false,
        default_policy: Policy::Pass,
        ..Config::DEFAULT
    };

    /// The policy for `function`: its own, else its base's, else the default.
    pub fn policy(&self, function: Function) -> Policy {
        self.named
            .get(function.index())
            .copied()
            .flatten()
            .or_else(|| self.named.get(function.base().index()).copied().flatten())
            .unwrap_or(self.default_policy)
    }

    /// Whether the EINTR of any function can be retried or logged: the
    /// shim is enabled and the default policy, or one function's, is not
    /// `pass`.
    pub fn acts_on_anything(&self) -> bool {
        self.enabled
            && (self.default_policy != Policy::Pass
                || self.named.iter().flatten().any(|p| *p != Policy::Pass))
    }
}

/// A variable that could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError<'a> {
    /// The variable, e.g. `EINTRFIX_POLICY`.
    pub variable: &'static str,
    /// The part of its value that is wrong.
    pub bad: &'a [u8],
    /// What is wrong with it.
    pub problem: &'static str,
    /// What is accepted instead.
    pub accepted: &'static str,
}

/// A value from outside (a variable's, a path, a link's target) as the
/// shim's lines show it: printable ASCII as it is, every other byte as
/// `\xNN` (a newline cannot forge a line, nor an escape sequence drive a
/// terminal), and cut after [`Escaped::SHOWN`] bytes with how long it was,
/// so that what the line says after the value (the verdict) always fits.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a [u8]);

impl Escaped<'_> {
    /// The most bytes of a value shown (each up to 4 characters escaped).
    pub const SHOWN: usize = 256;
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0.iter().take(Self::SHOWN) {
            if b.is_ascii_graphic() || b == b' ' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        if self.0.len() > Self::SHOWN {
            write!(f, "...({} bytes in all)", self.0.len())?;
        }
        Ok(())
    }
}

impl fmt::Display for ConfigError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "eintrfix: {}: {} '{}",
            self.variable,
            self.problem,
            Escaped(self.bad)
        )?;
        write!(
            f,
            "'; accepted: {}. eintrfix is disabled: every call passes through unchanged",
            self.accepted
        )
    }
}

/// The variables' names, for the CLI and documentation.
///
/// Adding a variable takes five rows: its name's constant below and its
/// place in this list; its parser, called from [`parse`] into [`Config`];
/// the command's option that sets it (`OPTIONS` and `HELP` in
/// `src/bin/eintrfix/options.rs`); its row in README's Configuration
/// table; and its option in the man page's OPTIONS and its name in its
/// ENVIRONMENT (`docs/eintrfix.1`). A variable that `eintrfix audit` sets
/// for the processes it runs ([`SET_BY_AUDIT`]) has no option and no
/// README row, only its entry in the man page. The unit test
/// `parse_reads_every_variable_but_the_audits` fails on a variable that
/// is missing from this list or that [`parse`] does not read; the
/// command's `every_variable_has_an_option_a_readme_row_and_a_man_page_entry`
/// on any of the last three rows missing.
pub const VARIABLES: &[&str] = &[
    POLICY,
    PASS_SIGNALS,
    ALARM_TIMEOUTS,
    THREAD_SIGNALS,
    MAX_RETRIES,
    LOG,
    LOG_FORMAT,
    LOG_FILE,
    SUMMARY,
    RUNTIMES,
    PER_SITE,
    AUDIT,
    INJECT,
];
/// Default policy and per-function overrides.
pub const POLICY: &str = "EINTRFIX_POLICY";
/// Signals whose interruptions pass through.
pub const PASS_SIGNALS: &str = "EINTRFIX_PASS_SIGNALS";
/// `pass` or `retry` for one-shot SIGALRM timeouts.
pub const ALARM_TIMEOUTS: &str = "EINTRFIX_ALARM_TIMEOUTS";
/// `pass` or `retry` for signals a thread aims at another of its process.
pub const THREAD_SIGNALS: &str = "EINTRFIX_THREAD_SIGNALS";
/// Retries of one call before its EINTR passes.
pub const MAX_RETRIES: &str = "EINTRFIX_MAX_RETRIES";
/// Event filter directives.
pub const LOG: &str = "EINTRFIX_LOG";
/// `text` or `json`.
pub const LOG_FORMAT: &str = "EINTRFIX_LOG_FORMAT";
/// Where events go (`%p` is the pid).
pub const LOG_FILE: &str = "EINTRFIX_LOG_FILE";
/// Whether to print a summary at exit.
pub const SUMMARY: &str = "EINTRFIX_SUMMARY";
/// Code whose own calls keep their EINTR.
pub const RUNTIMES: &str = "EINTRFIX_RUNTIMES";
/// Whether call sites that handle EINTR themselves keep it.
pub const PER_SITE: &str = "EINTRFIX_PER_SITE";
/// The audit mode's record of call sites (`eintrfix audit`).
pub const AUDIT: &str = "EINTRFIX_AUDIT";
/// The audit mode's one call site to interrupt (see [`inject`]).
pub const INJECT: &str = "EINTRFIX_INJECT";
/// The variables `eintrfix audit` sets for the processes it runs, which no
/// option sets.
pub const SET_BY_AUDIT: &[&str] = &[AUDIT, INJECT];
/// The library the `eintrfix` command preloads: read by the command only,
/// so not in [`VARIABLES`].
pub const LIB: &str = "EINTRFIX_LIB";

/// The longest object name `EINTRFIX_RUNTIMES` accepts (`PATH_MAX` less
/// its NUL).
pub const RUNTIME_NAME_MAX: usize = 4095;

/// Parses every variable, reading them with `get` (`None` or empty: unset).
pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Config<'a>, ConfigError<'a>> {
    let get = |name: &str| get(name).filter(|v| !v.is_empty());
    let mut config = Config::DEFAULT;
    if let Some(value) = get(POLICY) {
        parse_policy(value, &mut config)?;
    }
    if let Some(value) = get(PASS_SIGNALS) {
        config.pass_signals = parse_signals(value)?;
    }
    if let Some(value) = get(ALARM_TIMEOUTS) {
        config.alarm_timeouts = pass_or_retry(ALARM_TIMEOUTS, value)?;
    }
    if let Some(value) = get(THREAD_SIGNALS) {
        config.thread_signals = pass_or_retry(THREAD_SIGNALS, value)?;
    }
    if let Some(value) = get(MAX_RETRIES) {
        config.max_retries = Some(parse_u32(trim(value)).ok_or_else(|| {
            error(
                MAX_RETRIES,
                value,
                "not a number",
                "a whole number from 0 to 4294967295",
            )
        })?);
    }
    if let Some(value) = get(LOG) {
        config.log_level = parse_log_directives(value)?;
    }
    if let Some(value) = get(LOG_FORMAT) {
        config.log_format = match_ignore_case(
            trim(value),
            &[(b"text", LogFormat::Text), (b"json", LogFormat::Json)],
        )
        .ok_or_else(|| {
            error(
                LOG_FORMAT,
                value,
                "unknown format",
                "'text' (the default) or 'json'",
            )
        })?;
    }
    config.log_file = get(LOG_FILE);
    if let Some(value) = get(SUMMARY) {
        config.summary = yes_or_no(SUMMARY, value)?;
    }
    if let Some(value) = get(RUNTIMES) {
        config.runtimes = parse_runtimes(value)?;
        if config.runtimes.named {
            config.runtime_names = value;
        }
    }
    if let Some(value) = get(PER_SITE) {
        config.per_site = yes_or_no(PER_SITE, value)?;
    }
    Ok(config)
}

/// A yes-or-no variable.
fn yes_or_no<'a>(variable: &'static str, value: &'a [u8]) -> Result<bool, ConfigError<'a>> {
    parse_bool(trim(value)).ok_or_else(|| {
        error(
            variable,
            value,
            "not a yes or no",
            "1, 0, true, false, yes, no, on or off",
        )
    })
}

/// Parses the variables of this process's environment.
pub fn from_environment() -> Result<Config<'static>, ConfigError<'static>> {
    if variables_set() {
        parse(environment)
    } else {
        parse(|_| None)
    }
}

extern "C" {
    /// The process's environment (`environ@GLIBC_2.2.5` in every glibc).
    static environ: *const *const core::ffi::c_char;
}

/// Whether this process's environment sets one of [`VARIABLES`]: one pass
/// over it, so that a process without any (most of those the library is
/// loaded into) pays that instead of a `getenv` a variable.
pub fn variables_set() -> bool {
    const PREFIX: &[u8] = b"EINTRFIX_";
    // SAFETY: `environ` is the loader-initialised pointer to the
    // environment, a null-terminated array of NUL-terminated strings that
    // the process keeps alive (as getenv reads it).
    let mut entry = unsafe { core::ptr::addr_of!(environ).read() };
    if entry.is_null() {
        return false;
    }
    loop {
        // SAFETY: `entry` points into the array, before or at its null.
        let string = unsafe { entry.read() };
        if string.is_null() {
            return false;
        }
        // SAFETY: the string's bytes up to its NUL, which stops the
        // comparison (no byte of the prefix is NUL).
        let prefixed = PREFIX
            .iter()
            .enumerate()
            .all(|(i, &byte)| unsafe { string.add(i).cast::<u8>().read() } == byte);
        if prefixed {
            // SAFETY: a NUL-terminated string of the environment.
            let bytes = unsafe { core::ffi::CStr::from_ptr(string) }.to_bytes();
            let name = bytes.split(|&b| b == b'=').next().unwrap_or(bytes);
            if VARIABLES.iter().any(|v| v.as_bytes() == name) {
                return true;
            }
        }
        // SAFETY: not yet at the null that ends the array.
        entry = unsafe { entry.add(1) };
    }
}

/// A variable of this process's environment, as bytes, without allocating
/// (the environment outlives the library).
pub fn environment(name: &str) -> Option<&'static [u8]> {
    let mut cname = [0u8; 64];
    cname
        .get_mut(..name.len())?
        .copy_from_slice(name.as_bytes());
    if name.len() >= cname.len() {
        return None;
    }
    // SAFETY: `cname` is NUL-terminated (zero-filled past the name). The
    // pointer getenv returns, if any, is a NUL-terminated string in the
    // environment, which the process keeps alive.
    unsafe {
        let value = libc::getenv(cname.as_ptr().cast::<core::ffi::c_char>());
        (!value.is_null()).then(|| core::ffi::CStr::from_ptr(value).to_bytes())
    }
}

/// The target of every event the shim writes.
pub const LOG_TARGET: &str = "eintrfix";

#[cfg(test)]
#[path = "config/tests.rs"]
mod tests;

#[path = "config/inject.rs"]
pub mod inject;

#[path = "config/values.rs"]
mod values;

#[cfg(test)]
#[path = "config/proptests.rs"]
mod proptests;
