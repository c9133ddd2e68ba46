//! The process family: `waitpid` and the rest of the wait family, each in
//! its legacy program under a 1 ms SIGALRM storm (see
//! `tests/common/legacy.rs`).

mod common;
use common::legacy::{case, every_mode, legacy, Case};

/// The programs of this family that run in every mode.
const CASES: &[Case] = &[case("waitpid_late", "waitpid", false)];

every_mode!(CASES);

#[test]
fn the_wait_family() {
    for call in ["wait", "wait3", "wait4", "waitid"] {
        legacy("proc_wait", &[call]);
    }
}
