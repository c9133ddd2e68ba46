//! The legacy programs of the hooked families (`tests/*_calls.rs`): each
//! blocks in one call under a 1 ms SIGALRM storm with a handler installed
//! without SA_RESTART, and exits 1 when that call fails with EINTR, 0 when
//! its work completed and the data were right, 2 on any other wrong
//! result.
//!
//! A family's table of [`Case`]s runs every program in every mode
//! ([`every_mode`]); a program that exercises several calls, one per
//! argument, runs through [`legacy`]. Timings are asserted in one test of
//! each family, which runs its programs one after the other; the bounds are
//! two-sided and tolerant of a loaded machine.

use super::{c_program, run, run_c, Mode, Run};

/// A figure a program prints (`NAME_ms=`) and the bounds it must keep
/// under the shim, in milliseconds.
pub struct Figure {
    pub name: &'static str,
    pub at_least: f64,
    pub at_most: f64,
}

/// One legacy program and what it exercises.
pub struct Case {
    /// The program in `target/c-tests/`.
    pub program: &'static str,
    /// The hooked function its blocking call reaches, as the shim names it.
    pub function: &'static str,
    /// Whether that call has an fd (the log line then names it).
    pub has_fd: bool,
    /// The figure it prints, for the timed cases.
    pub figure: Option<Figure>,
}

pub const fn case(program: &'static str, function: &'static str, has_fd: bool) -> Case {
    Case {
        program,
        function,
        has_fd,
        figure: None,
    }
}

pub const fn timed(
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

/// Runs every case with `check`, and fails once, listing every case that
/// went wrong.
pub fn for_every_case(cases: &[Case], check: impl Fn(&Case) -> Result<(), String>) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| check(case).err().map(|e| format!("{}: {e}", case.program)))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Checks that a run exited with `code`.
pub fn exited(run: &Run, code: i32) -> Result<(), String> {
    if run.code == Some(code) {
        Ok(())
    } else {
        Err(format!("expected exit {code}, got {run:?}"))
    }
}

/// Checks that a run met EINTR in its blocking call, as bare programs do.
pub fn met_eintr(run: &Run) -> Result<(), String> {
    exited(run, 1)?;
    if run.stderr.contains("Interrupted system call") {
        Ok(())
    } else {
        Err(format!("no EINTR message: {run:?}"))
    }
}

/// A function none of the programs' blocking calls reaches, to name in an
/// override that must change nothing for this case.
pub fn another_function(case: &Case) -> &'static str {
    if case.function == "waitpid" {
        "nanosleep"
    } else {
        "waitpid"
    }
}

/// Runs `program args` bare, with `pass`, and under the shim; asserts the
/// first two die with EINTR and the last works, and returns its run.
pub fn legacy(program: &str, args: &[&str]) -> Run {
    let path = c_program(program);
    let what = format!("{program} {}", args.join(" "));
    let bare = run(&path, args, Mode::Bare);
    assert_eq!(bare.code, Some(1), "{what}: bare must meet EINTR: {bare:?}");
    assert!(
        bare.stderr.contains("Interrupted system call"),
        "{what}: {bare:?}"
    );
    let passed = run(&path, args, Mode::Shim(&[("EINTRFIX_POLICY", "pass")]));
    assert_eq!(passed.code, Some(1), "{what}: pass keeps EINTR: {passed:?}");
    let fixed = run(&path, args, Mode::Shim(&[]));
    assert_eq!(fixed.code, Some(0), "{what}: the shim fixes it: {fixed:?}");
    fixed
}

/// Asserts a figure the program printed lies within [low, high] ms.
pub fn within(run: &Run, figure: &str, low: f64, high: f64, what: &str) {
    let ms = run.figure_ms(figure);
    assert!(
        (low..=high).contains(&ms),
        "{what}: {figure} {ms} ms, not within [{low}, {high}]"
    );
}

/// The bounds for a 300 ms timeout under a storm.
pub const TIMEOUT_MS: (f64, f64) = (300.0, 450.0);

/// A fortified program's blocking call follows its base function's
/// policy, and the program imports glibc's checked entry point (that its
/// blocking call goes through it is shown by the `log` test, whose line
/// names it; its helpers may still import the plain form).
pub fn fortified_form_follows_its_base(program: &str, base: &str, checked: &str) {
    let policy = format!("{base}=pass");
    let run = run_c(program, Mode::Shim(&[("EINTRFIX_POLICY", &policy)]));
    assert!(met_eintr(&run).is_ok(), "{program} with {policy}: {run:?}");
    let policy = format!("pass,{base}=retry");
    let run = run_c(program, Mode::Shim(&[("EINTRFIX_POLICY", &policy)]));
    assert_eq!(run.code, Some(0), "{program} with {policy}: {run:?}");
    let out = std::process::Command::new("nm")
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

/// The tests every table runs, each over all its cases: bare, every program
/// meets EINTR; under the shim it works, its timed figures keep their
/// bounds; `pass` and `log` return the EINTR (`log` reports it); a
/// per-function override applies to that function only; a bad policy says
/// so once and changes nothing.
#[allow(unused_macros)]
macro_rules! every_mode {
    ($cases:ident) => {
        mod every_mode {
            use $crate::common::legacy::{
                another_function, exited, for_every_case, met_eintr, Case,
            };
            use $crate::common::{run_c, Mode};

            const CASES: &[Case] = super::$cases;

            #[test]
            fn bare_every_program_meets_eintr() {
                for_every_case(CASES, |case| met_eintr(&run_c(case.program, Mode::Bare)));
            }

            #[test]
            fn under_the_shim_every_program_works() {
                for_every_case(CASES, |case| {
                    exited(&run_c(case.program, Mode::Shim(&[])), 0)
                });
            }

            /// Timed runs are made one after the other, in this one test, so that
            /// they do not load the machine for each other.
            #[test]
            fn under_the_shim_timeouts_and_sleeps_keep_their_time() {
                for_every_case(CASES, |case| {
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
                for_every_case(CASES, |case| {
                    met_eintr(&run_c(
                        case.program,
                        Mode::Shim(&[("EINTRFIX_POLICY", "pass")]),
                    ))
                });
            }

            #[test]
            fn policy_log_returns_the_eintr_and_reports_it() {
                for_every_case(CASES, |case| {
                    let run = run_c(case.program, Mode::Shim(&[("EINTRFIX_POLICY", "log")]));
                    met_eintr(&run)?;
                    let name = format!(" {}", case.function);
                    let reported = run.stderr.lines().any(|line| {
                        line.contains("eintrfix")
                            && line.contains(&name)
                            && line.contains("fd=") == case.has_fd
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

            #[test]
            fn a_per_function_override_applies_to_that_function_only() {
                for_every_case(CASES, |case| {
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

            /// With a bad EINTRFIX_POLICY the shim prints one line naming the variable
            /// and changes nothing: the program fails exactly as it does bare.
            #[test]
            fn a_bad_policy_says_so_once_and_changes_nothing() {
                for_every_case(CASES, |case| {
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
                            l.contains("EINTRFIX_POLICY")
                                && l.contains("'sometimes'")
                                && l.contains("retry")
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
        }
    };
}
#[allow(unused_imports)]
pub(crate) use every_mode;
