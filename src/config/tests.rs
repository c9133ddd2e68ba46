//! Unit tests of `config`.

use super::values::signal_number;
use super::*;
use crate::signum::{self, SignalName};

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
    assert!(text.contains("EINTRFIX_POLICY") && text.contains("'bogus'") && text.contains("retry"));
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
    for n in 1..=signum::MAX {
        let name = SignalName(n).to_string();
        assert_eq!(signal_number(name.as_bytes()), Some(n), "{name}");
    }
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
    let config = parse_with(&[(RUNTIMES, "auto,libruby.so.3.1")]).unwrap();
    assert_eq!(config.runtime_names, b"auto,libruby.so.3.1");
    let config = parse_with(&[(RUNTIMES, "auto")]).unwrap();
    assert_eq!(config.runtime_names, b"");
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

/// The parser's row of the checklist for adding a variable (see
/// `VARIABLES`): `parse` reads every variable but those `eintrfix audit`
/// sets, which the audit mode reads itself.
#[test]
fn parse_reads_every_variable_but_the_audits() {
    let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let _ = parse(|name| {
        asked.borrow_mut().insert(name.to_string());
        None
    });
    let expected: std::collections::BTreeSet<String> = VARIABLES
        .iter()
        .filter(|v| !SET_BY_AUDIT.contains(v))
        .map(|v| v.to_string())
        .collect();
    assert_eq!(asked.into_inner(), expected);
}
