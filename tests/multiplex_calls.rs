//! The multiplexing family: `poll`, `select`, `epoll` and their masked and
//! fortified forms keep their timeouts and report the ready fd under a 1 ms
//! SIGALRM storm (see `tests/common/legacy.rs`).

mod common;
use common::legacy::{legacy, within, TIMEOUT_MS};
use common::{c_program, run, Mode};

#[test]
fn multiplexers_report_the_ready_fd_and_keep_their_timeouts() {
    for call in [
        "poll",
        "ppoll",
        "select",
        "pselect",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
    ] {
        // A retried select still watches the original sets and reports the
        // fd that became ready; its timeval holds what was left.
        legacy("mux_wait", &[call, "ready"]);
        let fixed = legacy("mux_wait", &[call, "timeout"]);
        within(&fixed, "waited", TIMEOUT_MS.0, TIMEOUT_MS.1, call);
    }
}

#[test]
fn fortified_poll_and_ppoll() {
    for call in ["poll", "ppoll"] {
        let fixed = legacy("mux_fortified", &[call]);
        within(&fixed, "waited", TIMEOUT_MS.0, TIMEOUT_MS.1, call);
    }
}

#[test]
fn a_mask_that_unblocks_signals_keeps_its_eintr() {
    for call in ["ppoll", "pselect", "epoll_pwait", "epoll_pwait2"] {
        let path = c_program("mux_wait");
        for mode in [Mode::Bare, Mode::Shim(&[])] {
            let r = run(&path, &[call, "masked"], mode);
            assert_eq!(r.code, Some(0), "{call} masked {mode:?}: {r:?}");
        }
    }
}

#[test]
fn a_per_function_policy_names_the_hook() {
    let path = c_program("mux_wait");
    let r = run(
        &path,
        &["poll", "timeout"],
        Mode::Shim(&[("EINTRFIX_POLICY", "poll=pass")]),
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    let r = run(
        &path,
        &["select", "timeout"],
        Mode::Shim(&[("EINTRFIX_POLICY", "poll=pass")]),
    );
    assert_eq!(r.code, Some(0), "{r:?}");
}
