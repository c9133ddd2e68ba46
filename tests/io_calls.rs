//! The I/O and file families: `read`, `write` and their vectored,
//! positioned and fortified forms, and the calls of `src/hooks/files.rs`
//! (locks, FIFO opens), each in its legacy program under a 1 ms SIGALRM
//! storm (see `tests/common/legacy.rs`).

mod common;
use common::legacy::{case, every_mode, fortified_form_follows_its_base, legacy, met_eintr, Case};
use common::{run_c, Mode};

/// The programs of this family that run in every mode.
const CASES: &[Case] = &[
    case("read_pipe", "read", true),
    case("write_pipe", "write", true),
    // Built with -D_FORTIFY_SOURCE=2: the calls are glibc's checked forms.
    case("read_fortified", "__read_chk", true),
];

every_mode!(CASES);

#[test]
fn vectored_io_on_pipes() {
    for call in ["readv", "writev", "preadv2", "pwritev2"] {
        legacy("io_vectors", &[call]);
    }
}

#[test]
fn locks_and_fifo_opens() {
    for call in ["flock", "fcntl_setlkw", "fcntl_ofd_setlkw", "open_fifo"] {
        legacy("ipc_wait", &[call]);
    }
}

#[test]
fn the_fortified_read_follows_read() {
    fortified_form_follows_its_base("read_fortified", "read", "__read_chk");
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
