//! The legacy C programs for the core calls, every one in every mode.
//!
//! Each program blocks in one call under a 1 ms SIGALRM storm with a
//! handler installed without SA_RESTART, and exits 1 when that call fails
//! with EINTR, 0 when its work completed and the data were right, 2 on any
//! other wrong result. The table says which hooked function each program
//! exercises and, for the timed ones, the bounds its figure must keep under
//! the shim.
//!
//! Timings are only asserted in one test, which runs its programs one after
//! the other; the bounds are two-sided and tolerant of a loaded machine.

mod common;
use common::{c_program, run_c, Mode, Run};
use std::process::Command;

/// A figure a program prints (`NAME_ms=`) and the bounds it must keep
/// under the shim, in milliseconds.
struct Figure {
    name: &'static str,
    at_least: f64,
    at_most: f64,
}

/// One legacy program and what it exercises.
struct Case {
    /// The program in `target/c-tests/`.
    program: &'static str,
    /// The hooked function its blocking call reaches, as the shim names it.
    function: &'static str,
    /// Whether that call has an fd (the log line then names it).
    has_fd: bool,
    /// The figure it prints, for the timed cases.
    figure: Option<Figure>,
}

const fn case(program: &'static str, function: &'static str, has_fd: bool) -> Case {
    Case {
        program,
        function,
        has_fd,
        figure: None,
    }
}

const fn timed(
    program: &'static str,
    function: &'static str,
    has_fd: bool,
    name: &'static str,
    at_least: f64,
    at_most: f64,
) -> Case {
    Case {
        program,
        function,
        has_fd,
        figure: Some(Figure {
            name,
            at_least,
            at_most,
        }),
    }
}

/// Every program in `c-tests/` (a test below checks that none is missing).
const CASES: &[Case] = &[
    case("read_pipe", "read", true),
    case("write_pipe", "write", true),
    case("recv_socket", "recv", true),
    case("send_socket", "send", true),
    case("recvfrom_socket", "recvfrom", true),
    case("accept_late", "accept", true),
    case("accept4_late", "accept4", true),
    // The helper accepts 300 ms after the storm starts (the program's clock
    // starts a little later: 20 ms of slack); TCP then waits for the
    // client's SYN, which the kernel dropped, to be sent again (after 1 s,
    // then 3 s).
    timed("connect_backlog", "connect", true, "connect", 280.0, 4500.0),
    // AF_UNIX: the connect goes through as soon as the helper accepts.
    timed(
        "connect_unix_backlog",
        "connect",
        true,
        "connect",
        280.0,
        600.0,
    ),
    case("waitpid_late", "waitpid", false),
    // A 400 ms sleep under a 1 kHz storm.
    timed(
        "nanosleep_storm",
        "nanosleep",
        false,
        "nanosleep",
        400.0,
        500.0,
    ),
    // Socket timeouts of 300 ms end with EAGAIN (EINPROGRESS for TCP
    // connect) at 300 ms, not 300 ms after the last signal.
    timed("recv_timeout", "recv", true, "recv_timeout", 300.0, 450.0),
    timed("send_timeout", "send", true, "send_timeout", 300.0, 450.0),
    timed(
        "accept_timeout",
        "accept",
        true,
        "accept_timeout",
        300.0,
        450.0,
    ),
    timed(
        "connect_timeout",
        "connect",
        true,
        "connect_timeout",
        300.0,
        450.0,
    ),
    timed(
        "connect_unix_timeout",
        "connect",
        true,
        "connect_timeout",
        300.0,
        450.0,
    ),
    // Built with -D_FORTIFY_SOURCE=2: the calls are glibc's checked forms.
    case("read_fortified", "__read_chk", true),
    case("recv_fortified", "__recv_chk", true),
    case("recvfrom_fortified", "__recvfrom_chk", true),
];

/// Runs every case with `check`, and fails once, listing every case that
/// went wrong.
fn for_every_case(check: impl Fn(&Case) -> Result<(), String>) {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| check(case).err().map(|e| format!("{}: {e}", case.program)))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Checks that a run exited with `code`.
fn exited(run: &Run, code: i32) -> Result<(), String> {
    if run.code == Some(code) {
        Ok(())
    } else {
        Err(format!("expected exit {code}, got {run:?}"))
    }
}

/// Checks that a run met EINTR in its blocking call, as bare programs do.
fn met_eintr(run: &Run) -> Result<(), String> {
    exited(run, 1)?;
    if run.stderr.contains("Interrupted system call") {
        Ok(())
    } else {
        Err(format!("no EINTR message: {run:?}"))
    }
}

/// Prefixes of the programs that other test files own: the families of
/// tests/blocking_calls.rs, tests/signals.rs, tests/tracing.rs,
/// tests/runtimes.rs and tests/reliability.rs (`hostile_`).
const OTHER_FAMILIES: &[&str] = &[
    "hostile_", "io_", "ipc_", "mux_", "proc_", "rt_", "sig_", "site_", "sock_", "stdio_", "time_",
    "trace_",
];

#[test]
fn the_table_lists_every_program() {
    let mut sources: Vec<String> = std::fs::read_dir(common::root().join("c-tests"))
        .expect("c-tests/ is readable")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".c").map(str::to_owned)
        })
        .filter(|name| !OTHER_FAMILIES.iter().any(|p| name.starts_with(p)))
        .collect();
    sources.sort();
    let mut listed: Vec<&str> = CASES.iter().map(|c| c.program).collect();
    listed.sort();
    assert_eq!(sources, listed);
}

#[test]
fn bare_every_program_meets_eintr() {
    for_every_case(|case| met_eintr(&run_c(case.program, Mode::Bare)));
}

#[test]
fn under_the_shim_every_program_works() {
    for_every_case(|case| exited(&run_c(case.program, Mode::Shim(&[])), 0));
}

/// Timed runs are made one after the other, in this one test, so that
/// they do not load the machine for each other.
#[test]
fn under_the_shim_timeouts_and_sleeps_keep_their_time() {
    for_every_case(|case| {
        let Some(figure) = &case.figure else {
            return Ok(());
        };
        let run = run_c(case.program, Mode::Shim(&[]));
        exited(&run, 0)?;
        let ms = run.figure_ms(figure.name);
        if (figure.at_least..=figure.at_most).contains(&ms) {
            Ok(())
        } else {
            Err(format!(
                "{}_ms={ms} outside [{}, {}]",
                figure.name, figure.at_least, figure.at_most
            ))
        }
    });
}

#[test]
fn policy_pass_returns_the_eintr() {
    for_every_case(|case| {
        met_eintr(&run_c(
            case.program,
            Mode::Shim(&[("EINTRFIX_POLICY", "pass")]),
        ))
    });
}

#[test]
fn policy_log_returns_the_eintr_and_reports_it() {
    for_every_case(|case| {
        let run = run_c(case.program, Mode::Shim(&[("EINTRFIX_POLICY", "log")]));
        met_eintr(&run)?;
        let name = format!(" {}", case.function);
        let reported = run.stderr.lines().any(|line| {
            line.contains("eintrfix") && line.contains(&name) && line.contains("fd=") == case.has_fd
        });
        if reported {
            Ok(())
        } else {
            Err(format!(
                "no log line naming {}{}: {run:?}",
                case.function,
                if case.has_fd { " and fd=" } else { "" }
            ))
        }
    });
}

/// A function none of the programs' blocking calls reaches, to name in an
/// override that must change nothing for this case.
fn another_function(case: &Case) -> &'static str {
    if case.function == "waitpid" {
        "nanosleep"
    } else {
        "waitpid"
    }
}

#[test]
fn a_per_function_override_applies_to_that_function_only() {
    for_every_case(|case| {
        let own = format!("retry,{}=pass", case.function);
        met_eintr(&run_c(
            case.program,
            Mode::Shim(&[("EINTRFIX_POLICY", &own)]),
        ))
        .map_err(|e| format!("with {own}: {e}"))?;
        let other = format!("retry,{}=pass", another_function(case));
        exited(
            &run_c(case.program, Mode::Shim(&[("EINTRFIX_POLICY", &other)])),
            0,
        )
        .map_err(|e| format!("with {other}: {e}"))?;
        let only = format!("pass,{}=retry", case.function);
        exited(
            &run_c(case.program, Mode::Shim(&[("EINTRFIX_POLICY", &only)])),
            0,
        )
        .map_err(|e| format!("with {only}: {e}"))
    });
}

#[test]
fn fortified_forms_follow_their_base_function() {
    for (program, base) in [
        ("read_fortified", "read"),
        ("recv_fortified", "recv"),
        ("recvfrom_fortified", "recvfrom"),
    ] {
        let policy = format!("{base}=pass");
        let run = run_c(program, Mode::Shim(&[("EINTRFIX_POLICY", &policy)]));
        assert!(met_eintr(&run).is_ok(), "{program} with {policy}: {run:?}");
        let policy = format!("pass,{base}=retry");
        let run = run_c(program, Mode::Shim(&[("EINTRFIX_POLICY", &policy)]));
        assert_eq!(run.code, Some(0), "{program} with {policy}: {run:?}");
    }
}

/// The fortified builds import glibc's checked entry points (that their
/// blocking call goes through one is shown by the `log` test, whose line
/// names it; their helpers may still import the plain form).
#[test]
fn fortified_programs_really_call_the_checked_entry_points() {
    for (program, checked) in [
        ("read_fortified", "__read_chk"),
        ("recv_fortified", "__recv_chk"),
        ("recvfrom_fortified", "__recvfrom_chk"),
    ] {
        let out = Command::new("nm")
            .args(["-D", "--undefined-only"])
            .arg(c_program(program))
            .output()
            .expect("nm runs");
        assert!(out.status.success(), "nm failed: {out:?}");
        let imports: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().last())
            .map(|symbol| symbol.split('@').next().unwrap_or(symbol).to_owned())
            .collect();
        assert!(
            imports.iter().any(|s| s == checked),
            "{program} does not import {checked}: {imports:?}"
        );
    }
}

/// With a bad EINTRFIX_POLICY the shim prints one line naming the variable
/// and changes nothing: the program fails exactly as it does bare.
#[test]
fn a_bad_policy_says_so_once_and_changes_nothing() {
    for_every_case(|case| {
        let bare = run_c(case.program, Mode::Bare);
        let run = run_c(
            case.program,
            Mode::Shim(&[("EINTRFIX_POLICY", "retry,sometimes")]),
        );
        let (ours, theirs): (Vec<&str>, Vec<&str>) = run
            .stderr
            .lines()
            .partition(|line| line.starts_with("eintrfix:"));
        if ours.len() != 1
            || !ours.iter().all(|l| {
                l.contains("EINTRFIX_POLICY") && l.contains("'sometimes'") && l.contains("retry")
            })
        {
            return Err(format!("expected one line about the variable: {run:?}"));
        }
        if run.code != bare.code || theirs != bare.stderr.lines().collect::<Vec<_>>() {
            return Err(format!("differs from bare {bare:?}: {run:?}"));
        }
        Ok(())
    });
}

#[test]
fn every_bad_policy_value_is_refused() {
    for bad in [
        "retyr",
        "retry,,pass",
        "retry,",
        "reed=pass",
        "read=sometimes",
        "retry,pass",
        "read=pass,read=log",
    ] {
        let run = run_c("read_pipe", Mode::Shim(&[("EINTRFIX_POLICY", bad)]));
        let ours: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.starts_with("eintrfix:"))
            .collect();
        assert!(
            ours.len() == 1 && ours[0].contains("EINTRFIX_POLICY"),
            "{bad}: {run:?}"
        );
        assert!(met_eintr(&run).is_ok(), "{bad}: {run:?}");
    }
}
