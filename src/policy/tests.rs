//! Unit tests of `policy`.

use super::*;

fn delivered(signals: &[i32], alarm_timeout: bool) -> Delivered {
    Delivered {
        signals: SignalSet::of(signals),
        alarm_timeout,
        ..Delivered::default()
    }
}

#[test]
fn fatal_defaults_and_thread_wakeups_pass() {
    let c = Config::DEFAULT;
    let fatal = Delivered {
        left_fatal: SignalSet::of(&[libc::SIGALRM]),
        ..delivered(&[libc::SIGALRM, libc::SIGUSR1], false)
    };
    assert_eq!(
        judge(&c, Function::sem_wait, fatal, Origin::Program, false, 1),
        (Decision::Pass, Reason::FatalDefault)
    );
    assert_eq!(
        reported_signal(&c, fatal, Reason::FatalDefault),
        Some(libc::SIGALRM)
    );
    let woken = Delivered {
        thread_aimed: SignalSet::of(&[libc::SIGUSR1]),
        ..delivered(&[libc::SIGUSR1], false)
    };
    assert_eq!(
        judge(&c, Function::read, woken, Origin::Program, false, 1),
        (Decision::Pass, Reason::ThreadSignal)
    );
    let c = Config {
        thread_signals: Policy::Retry,
        ..Config::DEFAULT
    };
    assert_eq!(
        judge(&c, Function::read, woken, Origin::Program, false, 1).0,
        Decision::Retry
    );
    // The function's own policy still wins.
    let mut c = Config::DEFAULT;
    c.named[Function::read.index()] = Some(Policy::Log);
    assert_eq!(
        judge(&c, Function::read, woken, Origin::Program, false, 1).1,
        Reason::LogPolicy
    );
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
            judge(
                &c,
                Function::read,
                delivered(signals, false),
                Origin::Program,
                false,
                1
            )
            .0,
            Decision::Retry
        );
    }
}

#[test]
fn stop_signals_and_alarm_timeouts_pass() {
    let c = Config::DEFAULT;
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[libc::SIGINT], false),
            Origin::Program,
            false,
            1
        ),
        (Decision::Pass, Reason::PassSignal)
    );
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[libc::SIGCHLD, libc::SIGTERM], false),
            Origin::Program,
            false,
            3
        )
        .1,
        Reason::PassSignal
    );
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[libc::SIGALRM], true),
            Origin::Program,
            false,
            1
        ),
        (Decision::Pass, Reason::AlarmTimeout)
    );
    let c = Config {
        alarm_timeouts: Policy::Retry,
        ..Config::DEFAULT
    };
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[libc::SIGALRM], true),
            Origin::Program,
            false,
            1
        )
        .0,
        Decision::Retry
    );
}

#[test]
fn policies_win_over_signals_and_max_retries_bounds() {
    let mut c = Config::DEFAULT;
    c.named[Function::connect.index()] = Some(Policy::Log);
    assert_eq!(
        judge(
            &c,
            Function::connect,
            delivered(&[], false),
            Origin::Program,
            false,
            1
        ),
        (Decision::Pass, Reason::LogPolicy)
    );
    c.default_policy = Policy::Pass;
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[], false),
            Origin::Program,
            false,
            1
        ),
        (Decision::Pass, Reason::PassPolicy)
    );
    let c = Config {
        max_retries: Some(2),
        ..Config::DEFAULT
    };
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[], false),
            Origin::Program,
            false,
            2
        )
        .0,
        Decision::Retry
    );
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[], false),
            Origin::Program,
            false,
            3
        ),
        (Decision::Pass, Reason::MaxRetries)
    );
    assert_eq!(
        judge(
            &Config::PASSTHROUGH,
            Function::read,
            delivered(&[], false),
            Origin::Runtime,
            false,
            1
        )
        .1,
        Reason::Disabled
    );
}

#[test]
fn a_runtimes_own_calls_pass_after_the_function_policies() {
    let c = Config::DEFAULT;
    for signals in [&[][..], &[libc::SIGHUP], &[libc::SIGALRM], &[libc::SIGINT]] {
        for alarm in [false, true] {
            assert_eq!(
                judge(
                    &c,
                    Function::read,
                    delivered(signals, alarm),
                    Origin::Runtime,
                    false,
                    1
                ),
                (Decision::Pass, Reason::Runtime),
                "{signals:?} {alarm}"
            );
        }
    }
    // Unlimited retries or not, the first interruption passes.
    let bounded = Config {
        max_retries: Some(0),
        ..Config::DEFAULT
    };
    assert_eq!(
        judge(
            &bounded,
            Function::read,
            delivered(&[], false),
            Origin::Runtime,
            false,
            1
        )
        .1,
        Reason::Runtime
    );
    // A function's own policy wins; so does a bad configuration.
    let mut logged = Config::DEFAULT;
    logged.named[Function::read.index()] = Some(Policy::Log);
    assert_eq!(
        judge(
            &logged,
            Function::read,
            delivered(&[], false),
            Origin::Runtime,
            false,
            1
        )
        .1,
        Reason::LogPolicy
    );
    let mut passed = Config::DEFAULT;
    passed.default_policy = Policy::Pass;
    assert_eq!(
        judge(
            &passed,
            Function::read,
            delivered(&[], false),
            Origin::Runtime,
            false,
            1
        )
        .1,
        Reason::PassPolicy
    );
    // EINTRFIX_RUNTIMES=none: the usual rules.
    let none = Config {
        runtimes: crate::config::Runtimes::NONE,
        ..Config::DEFAULT
    };
    assert_eq!(
        judge(
            &none,
            Function::read,
            delivered(&[], false),
            Origin::Runtime,
            false,
            1
        ),
        (Decision::Retry, Reason::RetryPolicy)
    );
    // Any other caller: the usual rules.
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[libc::SIGHUP], false),
            Origin::Program,
            false,
            1
        ),
        (Decision::Retry, Reason::RetryPolicy)
    );
}

#[test]
fn handling_sites_and_terminal_resizes_pass() {
    let c = Config::DEFAULT;
    let handles = Origin::Handles(0x1234);
    for signals in [&[][..], &[libc::SIGHUP], &[libc::SIGUSR1], &[libc::SIGINT]] {
        assert_eq!(
            judge(
                &c,
                Function::read,
                delivered(signals, false),
                handles,
                false,
                1
            ),
            (Decision::Pass, Reason::CallerHandles),
            "{signals:?}"
        );
    }
    // The function's policy still wins; EINTRFIX_PER_SITE=0 turns it off.
    let mut logged = Config::DEFAULT;
    logged.named[Function::read.index()] = Some(Policy::Log);
    assert_eq!(
        judge(
            &logged,
            Function::read,
            delivered(&[], false),
            handles,
            false,
            1
        )
        .1,
        Reason::LogPolicy
    );
    let off = Config {
        per_site: false,
        ..Config::DEFAULT
    };
    assert_eq!(
        judge(
            &off,
            Function::read,
            delivered(&[libc::SIGHUP], false),
            handles,
            false,
            1
        ),
        (Decision::Retry, Reason::RetryPolicy)
    );
    // A SIGWINCH passes only where the call waits on a terminal.
    let winch = delivered(&[libc::SIGWINCH], false);
    assert_eq!(
        judge(&c, Function::read, winch, Origin::Program, true, 1),
        (Decision::Pass, Reason::TerminalResize)
    );
    assert_eq!(
        reported_signal(&c, winch, Reason::TerminalResize),
        Some(libc::SIGWINCH)
    );
    assert_eq!(
        judge(&c, Function::read, winch, Origin::Program, false, 1),
        (Decision::Retry, Reason::RetryPolicy)
    );
    assert_eq!(
        judge(
            &c,
            Function::read,
            delivered(&[libc::SIGHUP], false),
            Origin::Program,
            true,
            1
        ),
        (Decision::Retry, Reason::RetryPolicy)
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
