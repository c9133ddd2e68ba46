//! The time family: `nanosleep`, `clock_nanosleep`, `usleep` and `sleep`
//! sleep their whole time under a 1 ms SIGALRM storm (see
//! `tests/common/legacy.rs`).

mod common;
use common::c_program;
use common::legacy::{every_mode, legacy, timed, within, Case, TIMEOUT_MS};

/// The programs of this family that run in every mode.
const CASES: &[Case] = &[
    // A 400 ms sleep under a 1 kHz storm.
    timed(
        "nanosleep_storm",
        "nanosleep",
        false,
        "nanosleep",
        400.0,
        500.0,
    ),
];

every_mode!(CASES);

#[test]
fn sleeps_sleep_the_whole_time() {
    for call in [
        "clock_nanosleep",
        "clock_nanosleep_abs",
        "clock_nanosleep_realtime",
        "clock_nanosleep_old",
        "usleep",
    ] {
        let fixed = legacy("time_sleeps", &[call]);
        within(&fixed, "slept", TIMEOUT_MS.0, TIMEOUT_MS.1, call);
    }
    let fixed = legacy("time_sleeps", &["sleep"]);
    within(&fixed, "slept", 2000.0, 2150.0, "sleep(2)");
}

#[test]
fn the_old_clock_nanosleep_version_is_what_the_program_links() {
    let out = std::process::Command::new("nm")
        .args(["-D", "--undefined-only"])
        .arg(c_program("time_sleeps"))
        .output()
        .expect("nm runs");
    let symbols = String::from_utf8_lossy(&out.stdout);
    assert!(symbols.contains("clock_nanosleep@GLIBC_2.2.5"), "{symbols}");
    assert!(symbols.contains("clock_nanosleep@GLIBC_2.17"), "{symbols}");
}
