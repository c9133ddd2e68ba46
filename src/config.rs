//! The `EINTRFIX_*` variables: every name, and the one parser of their
//! values, allocation-free, so the same code serves the library (which
//! reads them from its environment once: [`from_environment`]) and the CLI
//! (which validates its options with it before starting anything).
//!
//! An empty variable counts as unset. Any error names the variable, the bad
//! part and what is accepted; the library then changes nothing.

use crate::functions::Function;
use core::fmt;

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

/// A set of signal numbers 1..=64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SignalSet(u64);

impl SignalSet {
    /// No signal.
    pub const EMPTY: SignalSet = SignalSet(0);

    /// The set holding `signals`.
    pub const fn of(signals: &[i32]) -> SignalSet {
        let mut set = SignalSet::EMPTY;
        let mut i = 0;
        while i < signals.len() {
            set = set.with(signals[i]);
            i += 1;
        }
        set
    }

    /// This set with `signal` added; numbers outside 1..=64 are ignored.
    pub const fn with(self, signal: i32) -> SignalSet {
        if signal >= 1 && signal <= 64 {
            SignalSet(self.0 | 1u64 << (signal - 1))
        } else {
            self
        }
    }

    /// Whether `signal` is in the set.
    pub const fn contains(self, signal: i32) -> bool {
        signal >= 1 && signal <= 64 && self.0 & (1u64 << (signal - 1)) != 0
    }

    /// The raw bits: bit `n - 1` is signal `n`.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set with these raw bits.
    pub const fn from_bits(bits: u64) -> SignalSet {
        SignalSet(bits)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest signal in the set.
    pub const fn first(self) -> Option<i32> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() as i32 + 1)
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
/// The library the `eintrfix` command preloads: read by the command only,
/// so not in [`VARIABLES`].
pub const LIB: &str = "EINTRFIX_LIB";

const POLICY_ACCEPTS: &str = "a comma-separated list of at most one default policy, 'retry' (the \
     default), 'pass' or 'log', and NAME=POLICY items, NAME a hooked function such as read or connect";
const SIGNALS_ACCEPTS: &str = "'none', or a comma-separated list of signal names with or without \
     SIG (INT, SIGTERM), numbers 1-64, RTMIN+n or RTMAX-n";

/// A `pass` (the default) or `retry` variable.
fn pass_or_retry<'a>(variable: &'static str, value: &'a [u8]) -> Result<Policy, ConfigError<'a>> {
    match Policy::parse(trim(value)) {
        Some(p @ (Policy::Pass | Policy::Retry)) => Ok(p),
        _ => Err(error(
            variable,
            value,
            "unknown value",
            "'pass' (the default) or 'retry'",
        )),
    }
}
const RUNTIMES_ACCEPTS: &str = "'auto' (the default: CPython 3.5 and later), 'none', or a \
     comma-separated list of loaded objects, each a file name (libruby.so.3.1) or an absolute path, \
     and 'auto' among them to keep the known runtimes too";

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
    parse(environment)
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

fn error<'a>(
    variable: &'static str,
    bad: &'a [u8],
    problem: &'static str,
    accepted: &'static str,
) -> ConfigError<'a> {
    ConfigError {
        variable,
        bad,
        problem,
        accepted,
    }
}

fn parse_policy<'a>(value: &'a [u8], config: &mut Config) -> Result<(), ConfigError<'a>> {
    let mut default_seen = false;
    for raw in value.split(|&b| b == b',') {
        let item = trim(raw);
        if item.is_empty() {
            return Err(error(POLICY, value, "empty item in", POLICY_ACCEPTS));
        }
        match item.iter().position(|&b| b == b'=') {
            None => {
                let policy = Policy::parse(item)
                    .ok_or_else(|| error(POLICY, item, "unknown policy", POLICY_ACCEPTS))?;
                if default_seen {
                    return Err(error(
                        POLICY,
                        item,
                        "a second default policy",
                        POLICY_ACCEPTS,
                    ));
                }
                default_seen = true;
                config.default_policy = policy;
            }
            Some(eq) => {
                let (name, rest) = item.split_at(eq);
                let word = trim(rest.get(1..).unwrap_or_default());
                let function = Function::from_name(trim(name))
                    .ok_or_else(|| error(POLICY, trim(name), "unknown function", POLICY_ACCEPTS))?;
                let policy = Policy::parse(word)
                    .ok_or_else(|| error(POLICY, item, "unknown policy in", POLICY_ACCEPTS))?;
                let slot = config
                    .named
                    .get_mut(function.index())
                    .ok_or_else(|| error(POLICY, item, "unknown function", POLICY_ACCEPTS))?;
                if slot.is_some() {
                    return Err(error(
                        POLICY,
                        item,
                        "a function named twice",
                        POLICY_ACCEPTS,
                    ));
                }
                *slot = Some(policy);
            }
        }
    }
    Ok(())
}

/// Parses a signal list such as `INT,SIGTERM,10,RTMIN+2` or `none`.
pub fn parse_signals(value: &[u8]) -> Result<SignalSet, ConfigError<'_>> {
    if eq_ignore_case(trim(value), b"none") {
        return Ok(SignalSet::EMPTY);
    }
    let mut set = SignalSet::EMPTY;
    for raw in value.split(|&b| b == b',') {
        let item = trim(raw);
        if item.is_empty() {
            return Err(error(PASS_SIGNALS, value, "empty item in", SIGNALS_ACCEPTS));
        }
        let signal = signal_number(item)
            .ok_or_else(|| error(PASS_SIGNALS, item, "unknown signal", SIGNALS_ACCEPTS))?;
        set = set.with(signal);
    }
    Ok(set)
}

/// Parses `EINTRFIX_RUNTIMES`: `auto`, `none`, or a list of object names
/// (file names or absolute paths) that may include `auto`.
pub fn parse_runtimes(value: &[u8]) -> Result<Runtimes, ConfigError<'_>> {
    if eq_ignore_case(trim(value), b"none") {
        return Ok(Runtimes::NONE);
    }
    let mut runtimes = Runtimes::NONE;
    for raw in value.split(|&b| b == b',') {
        let item = trim(raw);
        let problem = if item.is_empty() {
            return Err(error(RUNTIMES, value, "empty item in", RUNTIMES_ACCEPTS));
        } else if eq_ignore_case(item, b"auto") {
            runtimes.auto = true;
            continue;
        } else if eq_ignore_case(item, b"none") {
            "a list holding"
        } else if item.contains(&b'/') && !item.starts_with(b"/") {
            "a relative path"
        } else if item.ends_with(b"/") {
            "a directory"
        } else if item.len() > RUNTIME_NAME_MAX {
            "a name too long"
        } else if item.iter().any(|b| b.is_ascii_control()) {
            "a control character in"
        } else {
            runtimes.named = true;
            continue;
        };
        return Err(error(RUNTIMES, item, problem, RUNTIMES_ACCEPTS));
    }
    Ok(runtimes)
}

/// The object names in a valid `EINTRFIX_RUNTIMES` value, trimmed, without
/// `auto` (`none` gives none).
pub fn runtime_names(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim).filter(|item| {
        !item.is_empty() && !eq_ignore_case(item, b"auto") && !eq_ignore_case(item, b"none")
    })
}

const SIGNAL_NAMES: &[(&[u8], i32)] = &[
    (b"HUP", libc::SIGHUP),
    (b"INT", libc::SIGINT),
    (b"QUIT", libc::SIGQUIT),
    (b"ILL", libc::SIGILL),
    (b"TRAP", libc::SIGTRAP),
    (b"ABRT", libc::SIGABRT),
    (b"IOT", libc::SIGIOT),
    (b"BUS", libc::SIGBUS),
    (b"FPE", libc::SIGFPE),
    (b"KILL", libc::SIGKILL),
    (b"USR1", libc::SIGUSR1),
    (b"SEGV", libc::SIGSEGV),
    (b"USR2", libc::SIGUSR2),
    (b"PIPE", libc::SIGPIPE),
    (b"ALRM", libc::SIGALRM),
    (b"TERM", libc::SIGTERM),
    (b"STKFLT", libc::SIGSTKFLT),
    (b"CHLD", libc::SIGCHLD),
    (b"CLD", libc::SIGCHLD),
    (b"CONT", libc::SIGCONT),
    (b"STOP", libc::SIGSTOP),
    (b"TSTP", libc::SIGTSTP),
    (b"TTIN", libc::SIGTTIN),
    (b"TTOU", libc::SIGTTOU),
    (b"URG", libc::SIGURG),
    (b"XCPU", libc::SIGXCPU),
    (b"XFSZ", libc::SIGXFSZ),
    (b"VTALRM", libc::SIGVTALRM),
    (b"PROF", libc::SIGPROF),
    (b"WINCH", libc::SIGWINCH),
    (b"IO", libc::SIGIO),
    (b"POLL", libc::SIGPOLL),
    (b"PWR", libc::SIGPWR),
    (b"SYS", libc::SIGSYS),
];

/// Displays a signal number as its name: `SIGALRM`, `SIGRTMIN+2`, or the
/// number itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalName(pub i32);

impl fmt::Display for SignalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if let Some((name, _)) = SIGNAL_NAMES.iter().find(|&&(_, s)| s == n) {
            f.write_str("SIG")?;
            return name
                .iter()
                .try_for_each(|&b| fmt::Write::write_char(f, b as char));
        }
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        match n {
            _ if n == min => f.write_str("SIGRTMIN"),
            _ if n == max => f.write_str("SIGRTMAX"),
            _ if n > min && n < max => write!(f, "SIGRTMIN+{}", n - min),
            _ => write!(f, "{n}"),
        }
    }
}

/// The number of a signal given as a name (with or without `SIG`, any
/// case), a number, `RTMIN+n` or `RTMAX-n`.
pub fn signal_number(item: &[u8]) -> Option<i32> {
    if let Some(n) = parse_u32(item) {
        return i32::try_from(n).ok().filter(|n| (1..=64).contains(n));
    }
    let name = match item.get(..3) {
        Some(prefix) if eq_ignore_case(prefix, b"SIG") => item.get(3..).unwrap_or_default(),
        _ => item,
    };
    if let Some(&(_, n)) = SIGNAL_NAMES
        .iter()
        .find(|(known, _)| eq_ignore_case(known, name))
    {
        return Some(n);
    }
    realtime_signal(name)
}

fn realtime_signal(name: &[u8]) -> Option<i32> {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let (base, rest) = (name.get(..5)?, name.get(5..)?);
    let signal = if eq_ignore_case(base, b"RTMIN") {
        match rest.split_first() {
            None => min,
            Some((b'+', n)) => min.checked_add(i32::try_from(parse_u32(n)?).ok()?)?,
            _ => return None,
        }
    } else if eq_ignore_case(base, b"RTMAX") {
        match rest.split_first() {
            None => max,
            Some((b'-', n)) => max.checked_sub(i32::try_from(parse_u32(n)?).ok()?)?,
            _ => return None,
        }
    } else {
        return None;
    };
    (min..=max).contains(&signal).then_some(signal)
}

/// The target of every event the shim writes.
pub const LOG_TARGET: &str = "eintrfix";

/// Parses `EINTRFIX_LOG`: comma-separated `LEVEL` or `TARGET=LEVEL` items,
/// the `EnvFilter` syntax without spans or fields. Returns the most verbose
/// level it enables for the shim's events (target [`LOG_TARGET`]), decided
/// as `EnvFilter` decides with static directives: the matching directive
/// with the longest target (a prefix of the event's target) wins, a bare
/// level matches every target, the last of equals wins, and no match turns
/// logging off.
fn parse_log_directives(value: &[u8]) -> Result<LogLevel, ConfigError<'_>> {
    const ACCEPTS: &str = "comma-separated directives LEVEL or TARGET=LEVEL, \
         LEVEL one of off, error, warn, info, debug, trace (e.g. 'info' or 'eintrfix=info')";
    // (specificity, level) of the directive that decides so far.
    let mut best: Option<(usize, LogLevel)> = None;
    for raw in value.split(|&b| b == b',') {
        let item = trim(raw);
        if item.is_empty() {
            return Err(error(LOG, value, "empty directive in", ACCEPTS));
        }
        let (target, word) = match item.iter().position(|&b| b == b'=') {
            Some(eq) => {
                let target = trim(item.get(..eq).unwrap_or_default());
                if target.is_empty()
                    || !target
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b"_:-".contains(&b))
                {
                    return Err(error(LOG, item, "bad target in", ACCEPTS));
                }
                (Some(target), trim(item.get(eq + 1..).unwrap_or_default()))
            }
            None => (None, item),
        };
        let level = match_ignore_case(word, &LogLevel::WORDS)
            .ok_or_else(|| error(LOG, item, "unknown level in", ACCEPTS))?;
        let specificity = match target {
            None => 0,
            Some(t) if LOG_TARGET.as_bytes().starts_with(t) => t.len() + 1,
            Some(_) => continue,
        };
        if best.map_or(true, |(s, _)| specificity >= s) {
            best = Some((specificity, level));
        }
    }
    Ok(best.map_or(LogLevel::Off, |(_, level)| level))
}

fn parse_bool(word: &[u8]) -> Option<bool> {
    match_ignore_case(
        word,
        &[
            (b"1", true),
            (b"true", true),
            (b"yes", true),
            (b"on", true),
            (b"0", false),
            (b"false", false),
            (b"no", false),
            (b"off", false),
        ],
    )
}

/// A decimal number that fits in a u32, digits only.
pub fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
        } else {
            None
        }
    })
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn match_ignore_case<T: Copy>(word: &[u8], table: &[(&[u8], T)]) -> Option<T> {
    let word = trim(word);
    table
        .iter()
        .find(|(name, _)| eq_ignore_case(name, word))
        .map(|&(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(vars: &[(&str, &'static str)]) -> Result<Config<'static>, ConfigError<'static>> {
        let vars: Vec<(String, &'static [u8])> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes()))
            .collect();
        parse(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| *v))
    }

    #[test]
    fn nothing_set_is_the_default() {
        assert_eq!(parse_with(&[]), Ok(Config::DEFAULT));
        assert_eq!(parse_with(&[(POLICY, "")]), Ok(Config::DEFAULT));
    }

    #[test]
    fn bare_word_sets_the_default_and_names_override() {
        let c = parse_with(&[(POLICY, "pass, connect=retry,nanosleep=LOG")]).unwrap();
        assert_eq!(c.default_policy, Policy::Pass);
        assert_eq!(c.policy(Function::connect), Policy::Retry);
        assert_eq!(c.policy(Function::nanosleep), Policy::Log);
        assert_eq!(c.policy(Function::read), Policy::Pass);
    }

    #[test]
    fn fortified_forms_follow_their_base_unless_named() {
        let c = parse_with(&[(POLICY, "read=pass")]).unwrap();
        assert_eq!(c.policy(Function::__read_chk), Policy::Pass);
        let c = parse_with(&[(POLICY, "read=pass,__read_chk=log")]).unwrap();
        assert_eq!(c.policy(Function::__read_chk), Policy::Log);
        assert_eq!(c.policy(Function::write), Policy::Retry);
    }

    #[test]
    fn bad_policies_name_the_bad_part() {
        let e = parse_with(&[(POLICY, "retyr")]).unwrap_err();
        assert_eq!((e.variable, e.bad), (POLICY, &b"retyr"[..]));
        let e = parse_with(&[(POLICY, "retry,reed=pass")]).unwrap_err();
        assert_eq!(e.bad, b"reed");
        assert_eq!(e.problem, "unknown function");
        for bad in [
            "retry,,pass",
            "retry,",
            "retry,pass",
            "read=pass,read=log",
            "read=",
            "=pass",
            "read=sometimes",
        ] {
            assert!(parse_with(&[(POLICY, bad)]).is_err(), "{bad} was accepted");
        }
        let text = parse_with(&[(POLICY, "bogus")]).unwrap_err().to_string();
        assert!(
            text.contains("EINTRFIX_POLICY") && text.contains("'bogus'") && text.contains("retry")
        );
    }

    #[test]
    fn signals_by_name_number_and_realtime_offset() {
        let set = parse_signals(b"INT, sigterm,10,RTMIN+2,rtmax").unwrap();
        for s in [
            libc::SIGINT,
            libc::SIGTERM,
            10,
            libc::SIGRTMIN() + 2,
            libc::SIGRTMAX(),
        ] {
            assert!(set.contains(s), "{s}");
        }
        assert!(!set.contains(libc::SIGALRM));
        assert_eq!(parse_signals(b"none"), Ok(SignalSet::EMPTY));
        for bad in [
            "",
            "0",
            "65",
            "SIGFOO",
            "RTMIN+99",
            "RTMAX+1",
            "INT,,TERM",
            "-1",
        ] {
            assert!(parse_signals(bad.as_bytes()).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn signal_names() {
        assert_eq!(SignalName(libc::SIGALRM).to_string(), "SIGALRM");
        assert_eq!(SignalName(libc::SIGRTMIN() + 3).to_string(), "SIGRTMIN+3");
        assert_eq!(SignalName(0).to_string(), "0");
        for n in 1..=64 {
            let name = SignalName(n).to_string();
            assert_eq!(signal_number(name.as_bytes()), Some(n), "{name}");
        }
    }

    #[test]
    fn signal_set_bits() {
        let s = SignalSet::of(&[1, 64, 0, 65]);
        assert!(s.contains(1) && s.contains(64) && !s.contains(0) && !s.contains(65));
        assert_eq!(s.first(), Some(1));
        assert_eq!(SignalSet::EMPTY.first(), None);
    }

    #[test]
    fn runtimes_auto_none_and_names() {
        assert_eq!(Config::DEFAULT.runtimes, Runtimes::AUTO);
        assert_eq!(parse_runtimes(b" None "), Ok(Runtimes::NONE));
        assert_eq!(parse_runtimes(b"AUTO"), Ok(Runtimes::AUTO));
        let named = parse_runtimes(b"libruby.so.3.1, /opt/tcl/lib/libtcl8.6.so").unwrap();
        assert_eq!(
            named,
            Runtimes {
                auto: false,
                named: true
            }
        );
        let both = parse_runtimes(b"libruby.so.3.1,auto").unwrap();
        assert!(both.auto && both.named);
        let names: Vec<&[u8]> = runtime_names(b" libruby.so.3.1 ,auto, /a/b.so").collect();
        assert_eq!(names, [&b"libruby.so.3.1"[..], b"/a/b.so"]);
        assert_eq!(runtime_names(b"none").count(), 0);
        for (bad, part) in [
            ("auto,,x.so", "auto,,x.so"),
            ("x.so,", "x.so,"),
            ("auto,none", "none"),
            ("lib/x.so", "lib/x.so"),
            ("/usr/lib/", "/usr/lib/"),
            ("a\tb.so", "a\tb.so"),
        ] {
            let e = parse_runtimes(bad.as_bytes()).unwrap_err();
            assert_eq!((e.variable, e.bad), (RUNTIMES, part.as_bytes()), "{bad}");
        }
        let long = format!("/{}", "x".repeat(RUNTIME_NAME_MAX));
        assert!(parse_runtimes(long.as_bytes()).is_err());
    }

    #[test]
    fn other_variables() {
        let c = parse_with(&[
            (ALARM_TIMEOUTS, "retry"),
            (THREAD_SIGNALS, " retry "),
            (MAX_RETRIES, "5"),
            (LOG, "eintrfix=info,warn"),
            (LOG_FORMAT, "JSON"),
            (SUMMARY, "yes"),
            (LOG_FILE, "/tmp/x.%p.log"),
        ])
        .unwrap();
        assert_eq!(c.log_file, Some(&b"/tmp/x.%p.log"[..]));
        assert_eq!(c.alarm_timeouts, Policy::Retry);
        assert_eq!(c.thread_signals, Policy::Retry);
        assert_eq!(c.max_retries, Some(5));
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.summary);
        for (var, bad) in [
            (ALARM_TIMEOUTS, "log"),
            (THREAD_SIGNALS, "sometimes"),
            (MAX_RETRIES, "-1"),
            (MAX_RETRIES, "4294967296"),
            (LOG, "loud"),
            (LOG, "=info"),
            (LOG_FORMAT, "xml"),
            (SUMMARY, "maybe"),
        ] {
            assert_eq!(
                parse_with(&[(var, bad)]).map_err(|e| e.variable),
                Err(var),
                "{var}={bad}"
            );
        }
    }
}

#[path = "config/inject.rs"]
pub mod inject;

#[cfg(test)]
#[path = "config/proptests.rs"]
mod proptests;
