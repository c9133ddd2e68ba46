//! The per-site rule: a call site whose own code handles EINTR gets it, as
//! bare, for every signal; a site that does not keeps the usual rules. C
//! programs of the `site_` family in `c-tests/`; the real programs and
//! libraries are in tests/real_programs.rs and tests/real_libraries.rs.

mod common;

use common::{run_c, Mode, Run};

fn exited(run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "{run:?}");
}

#[test]
fn a_reload_handler_around_read_runs_at_once_as_bare() {
    let bare = run_c("site_reload", Mode::Bare);
    exited(&bare, 0);
    let shim = run_c("site_reload", Mode::Shim(&[("EINTRFIX_LOG", "info")]));
    exited(&shim, 0);
    // The reload follows the signal within 50 ms (the data come 1.2 s
    // after it), and the event names the rule.
    let reload = shim.figure_ms("reload");
    assert!((0.0..50.0).contains(&reload), "{shim:?}");
    assert!(
        shim.stderr.contains("signal=SIGHUP") && shim.stderr.contains("reason=caller_handles"),
        "{shim:?}"
    );
}

#[test]
fn turned_off_the_reload_waits_for_the_data() {
    // EINTRFIX_PER_SITE=0: the usual rules retry the read, so the reload
    // never happens before the data (CHECK fails: exit 2).
    let off = run_c("site_reload", Mode::Shim(&[("EINTRFIX_PER_SITE", "0")]));
    exited(&off, 2);
}

#[test]
fn a_legacy_read_or_die_stays_fixed() {
    exited(&run_c("site_legacy_hup", Mode::Bare), 1);
    let shim = run_c("site_legacy_hup", Mode::Shim(&[("EINTRFIX_LOG", "info")]));
    exited(&shim, 0);
    assert!(shim.stderr.contains("reason=retry_policy"), "{shim:?}");
}

/// A site that retries by itself with its whole timeout, under a storm
/// that lasts 3 s: bare, it times out only once the storm has stopped
/// (after 4 s); under the shim, on its first 1 s timeout.
fn retries_its_own_timeout(call: &str) {
    let program = common::c_program("site_retry_timeout");
    let bare = common::run(&program, &[call], Mode::Bare);
    exited(&bare, 0);
    assert!(bare.figure_ms("timeout") > 3000.0, "{bare:?}");
    let shim = common::run(&program, &[call], Mode::Shim(&[]));
    exited(&shim, 0);
    let took = shim.figure_ms("timeout");
    assert!((990.0..1200.0).contains(&took), "{call}: {shim:?}");
}

#[test]
fn a_recv_retried_by_its_caller_keeps_its_first_socket_timeout() {
    retries_its_own_timeout("recv");
}

#[test]
fn a_poll_loop_that_restarts_its_timeout_keeps_the_first() {
    retries_its_own_timeout("poll");
}
