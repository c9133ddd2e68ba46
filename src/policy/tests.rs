//! Unit tests of `policy`.

use super::*;

fn delivered(signals: &[i32], alarm_timeout: bool) -> Delivered {
    Delivered {
        signals: SignalSet::of(signals),
        alarm_timeout,
        ..Delivered::default()
    }
}

/// One interrupted call to judge: by default a `read` by the program,
/// not waiting on a terminal, interrupted for the first time.
#[derive(Clone, Copy)]
struct Case {
    function: Function,
    delivered: Delivered,
    origin: Origin,
    terminal: bool,
    attempt: u32,
}

/// A `read` interrupted by `signals`.
fn read(signals: &[i32]) -> Case {
    Case {
        function: Function::read,
        delivered: delivered(signals, false),
        origin: Origin::Program,
        terminal: false,
        attempt: 1,
    }
}

/// A `read` interrupted by SIGALRM from a one-shot timer.
fn alarm_timeout() -> Case {
    Case {
        delivered: delivered(&[libc::SIGALRM], true),
        ..read(&[])
    }
}

const RETRY: (Decision, Reason) = (Decision::Retry, Reason::RetryPolicy);

const fn pass(reason: Reason) -> (Decision, Reason) {
    (Decision::Pass, reason)
}

/// Judges each row's case under its configuration, naming the row that
/// does not come out as expected.
fn check(rows: &[(&Config, Case, (Decision, Reason))]) {
    for (row, (config, case, expected)) in rows.iter().enumerate() {
        let got = judge(
            config,
            case.function,
            case.delivered,
            case.origin,
            case.terminal,
            case.attempt,
        );
        assert_eq!(got, *expected, "row {row}");
    }
}

/// The default configuration with `read`'s own policy set to `log`.
fn read_logged() -> Config<'static> {
    let mut c = Config::DEFAULT;
    c.named[Function::read.index()] = Some(Policy::Log);
    c
}

/// The default configuration with the default policy set to `pass`.
fn passing() -> Config<'static> {
    Config {
        default_policy: Policy::Pass,
        ..Config::DEFAULT
    }
}

#[test]
fn fatal_defaults_and_thread_wakeups_pass() {
    let c = Config::DEFAULT;
    let fatal = Delivered {
        left_fatal: SignalSet::of(&[libc::SIGALRM]),
        ..delivered(&[libc::SIGALRM, libc::SIGUSR1], false)
    };
    let woken = Case {
        delivered: Delivered {
            thread_aimed: SignalSet::of(&[libc::SIGUSR1]),
            ..delivered(&[libc::SIGUSR1], false)
        },
        ..read(&[])
    };
    let thread_retry = Config {
        thread_signals: Policy::Retry,
        ..Config::DEFAULT
    };
    let sem_wait = Case {
        function: Function::sem_wait,
        delivered: fatal,
        ..read(&[])
    };
    check(&[
        (&c, sem_wait, pass(Reason::FatalDefault)),
        (&c, woken, pass(Reason::ThreadSignal)),
        (&thread_retry, woken, RETRY),
        // The function's own policy still wins.
        (&read_logged(), woken, pass(Reason::LogPolicy)),
    ]);
    assert_eq!(
        reported_signal(&c, fatal, Reason::FatalDefault),
        Some(libc::SIGALRM)
    );
}

#[test]
fn default_retries_unknown_and_ordinary_signals() {
    let c = Config::DEFAULT;
    check(&[
        (&c, read(&[]), RETRY),
        (&c, read(&[libc::SIGCHLD]), RETRY),
        (&c, read(&[libc::SIGALRM]), RETRY),
        (&c, read(&[libc::SIGUSR1, libc::SIGWINCH]), RETRY),
    ]);
}

#[test]
fn stop_signals_and_alarm_timeouts_pass() {
    let c = Config::DEFAULT;
    let alarm_retry = Config {
        alarm_timeouts: Policy::Retry,
        ..Config::DEFAULT
    };
    let third = Case {
        attempt: 3,
        ..read(&[libc::SIGCHLD, libc::SIGTERM])
    };
    check(&[
        (&c, read(&[libc::SIGINT]), pass(Reason::PassSignal)),
        (&c, third, pass(Reason::PassSignal)),
        (&c, alarm_timeout(), pass(Reason::AlarmTimeout)),
        (&alarm_retry, alarm_timeout(), RETRY),
    ]);
}

#[test]
fn policies_win_over_signals_and_max_retries_bounds() {
    let mut connect_logged = Config::DEFAULT;
    connect_logged.named[Function::connect.index()] = Some(Policy::Log);
    let connect = Case {
        function: Function::connect,
        ..read(&[])
    };
    let bounded = Config {
        max_retries: Some(2),
        ..Config::DEFAULT
    };
    let attempt = |attempt| Case {
        attempt,
        ..read(&[])
    };
    let runtime = Case {
        origin: Origin::Runtime,
        ..read(&[])
    };
    check(&[
        (&connect_logged, connect, pass(Reason::LogPolicy)),
        (&passing(), read(&[]), pass(Reason::PassPolicy)),
        (&bounded, attempt(2), RETRY),
        (&bounded, attempt(3), pass(Reason::MaxRetries)),
        (&Config::PASSTHROUGH, runtime, pass(Reason::Disabled)),
    ]);
}

#[test]
fn a_runtimes_own_calls_pass_after_the_function_policies() {
    let c = Config::DEFAULT;
    let runtime = |signals| Case {
        origin: Origin::Runtime,
        ..read(signals)
    };
    for signals in [&[][..], &[libc::SIGHUP], &[libc::SIGALRM], &[libc::SIGINT]] {
        for alarm in [false, true] {
            let case = Case {
                delivered: delivered(signals, alarm),
                ..runtime(signals)
            };
            check(&[(&c, case, pass(Reason::Runtime))]);
        }
    }
    let bounded = Config {
        max_retries: Some(0),
        ..Config::DEFAULT
    };
    // EINTRFIX_RUNTIMES=none: the usual rules.
    let none = Config {
        runtimes: crate::config::Runtimes::NONE,
        ..Config::DEFAULT
    };
    check(&[
        // Unlimited retries or not, the first interruption passes.
        (&bounded, runtime(&[]), pass(Reason::Runtime)),
        // A function's own policy wins; so does a bad configuration.
        (&read_logged(), runtime(&[]), pass(Reason::LogPolicy)),
        (&passing(), runtime(&[]), pass(Reason::PassPolicy)),
        (&none, runtime(&[]), RETRY),
        // Any other caller: the usual rules.
        (&c, read(&[libc::SIGHUP]), RETRY),
    ]);
}

#[test]
fn handling_sites_and_terminal_resizes_pass() {
    let c = Config::DEFAULT;
    let handles = |signals| Case {
        origin: Origin::Handles(0x1234),
        ..read(signals)
    };
    let off = Config {
        per_site: false,
        ..Config::DEFAULT
    };
    let on_terminal = |signals| Case {
        terminal: true,
        ..read(signals)
    };
    check(&[
        (&c, handles(&[]), pass(Reason::CallerHandles)),
        (&c, handles(&[libc::SIGHUP]), pass(Reason::CallerHandles)),
        (&c, handles(&[libc::SIGUSR1]), pass(Reason::CallerHandles)),
        (&c, handles(&[libc::SIGINT]), pass(Reason::CallerHandles)),
        // The function's policy still wins; EINTRFIX_PER_SITE=0 turns it off.
        (&read_logged(), handles(&[]), pass(Reason::LogPolicy)),
        (&off, handles(&[libc::SIGHUP]), RETRY),
        // A SIGWINCH passes only where the call waits on a terminal.
        (
            &c,
            on_terminal(&[libc::SIGWINCH]),
            pass(Reason::TerminalResize),
        ),
        (&c, read(&[libc::SIGWINCH]), RETRY),
        (&c, on_terminal(&[libc::SIGHUP]), RETRY),
    ]);
    assert_eq!(
        reported_signal(
            &c,
            delivered(&[libc::SIGWINCH], false),
            Reason::TerminalResize
        ),
        Some(libc::SIGWINCH)
    );
}

#[test]
fn reports_name_the_deciding_signal() {
    let c = Config::DEFAULT;
    let b = delivered(&[libc::SIGALRM, libc::SIGTERM], false);
    assert_eq!(
        reported_signal(&c, b, Reason::PassSignal),
        Some(libc::SIGTERM)
    );
    assert_eq!(
        reported_signal(&c, b, Reason::RetryPolicy),
        Some(libc::SIGALRM)
    );
    assert_eq!(
        reported_signal(&c, delivered(&[], false), Reason::RetryPolicy),
        None
    );
}
