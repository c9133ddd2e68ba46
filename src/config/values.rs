//! The parsers of the variables' values, each allocation-free, with the
//! text of what each accepts: called by [`super::parse`].

use super::{
    Config, ConfigError, LogLevel, Policy, Runtimes, LOG, LOG_TARGET, PASS_SIGNALS, POLICY,
    RUNTIMES, RUNTIME_NAME_MAX,
};
use crate::functions::Function;
use crate::signum::{self, SignalSet};

pub(super) const POLICY_ACCEPTS: &str = "a comma-separated list of at most one default policy, 'retry' (the \
     default), 'pass' or 'log', and NAME=POLICY items, NAME a hooked function such as read or connect";
pub(super) const SIGNALS_ACCEPTS: &str =
    "'none', or a comma-separated list of signal names with or without \
     SIG (INT, SIGTERM), numbers 1-64, RTMIN+n or RTMAX-n";

/// A `pass` (the default) or `retry` variable.
pub(super) fn pass_or_retry<'a>(
    variable: &'static str,
    value: &'a [u8],
) -> Result<Policy, ConfigError<'a>> {
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
pub(super) const RUNTIMES_ACCEPTS: &str = "'auto' (the default: CPython 3.5 and later), 'none', or a \
     comma-separated list of loaded objects, each a file name (libruby.so.3.1) or an absolute path, \
     and 'auto' among them to keep the known runtimes too";

pub(super) fn error<'a>(
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

pub(super) fn parse_policy<'a>(
    value: &'a [u8],
    config: &mut Config,
) -> Result<(), ConfigError<'a>> {
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

/// The number of a signal given as a name (with or without `SIG`, any
/// case), a number, `RTMIN+n` or `RTMAX-n`.
pub fn signal_number(item: &[u8]) -> Option<i32> {
    if let Some(n) = parse_u32(item) {
        return i32::try_from(n)
            .ok()
            .filter(|n| (1..=signum::MAX).contains(n));
    }
    let name = match item.get(..3) {
        Some(prefix) if eq_ignore_case(prefix, b"SIG") => item.get(3..).unwrap_or_default(),
        _ => item,
    };
    signum::named(name).or_else(|| realtime_signal(name))
}

pub(super) fn realtime_signal(name: &[u8]) -> Option<i32> {
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

/// Parses `EINTRFIX_LOG`: comma-separated `LEVEL` or `TARGET=LEVEL` items,
/// the `EnvFilter` syntax without spans or fields. Returns the most verbose
/// level it enables for the shim's events (target [`LOG_TARGET`]), decided
/// as `EnvFilter` decides with static directives: the matching directive
/// with the longest target (a prefix of the event's target) wins, a bare
/// level matches every target, the last of equals wins, and no match turns
/// logging off.
pub(super) fn parse_log_directives(value: &[u8]) -> Result<LogLevel, ConfigError<'_>> {
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

pub(super) fn parse_bool(word: &[u8]) -> Option<bool> {
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

pub(super) fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

pub(super) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub(super) fn match_ignore_case<T: Copy>(word: &[u8], table: &[(&[u8], T)]) -> Option<T> {
    let word = trim(word);
    table
        .iter()
        .find(|(name, _)| eq_ignore_case(name, word))
        .map(|&(_, v)| v)
}
