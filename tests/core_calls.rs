//! The legacy C programs for the core calls, in every mode.

mod common;
use common::{run_c, Mode};

#[test]
fn read_pipe_fails_bare_and_works_under_the_shim() {
    let bare = run_c("read_pipe", Mode::Bare);
    assert_eq!(bare.code, Some(1), "bare must meet EINTR: {bare:?}");
    assert!(bare.stderr.contains("Interrupted system call"));
    let fixed = run_c("read_pipe", Mode::Shim(&[]));
    assert_eq!(fixed.code, Some(0), "{fixed:?}");
    let passed = run_c("read_pipe", Mode::Shim(&[("EINTRFIX_POLICY", "pass")]));
    assert_eq!(passed.code, Some(1), "{passed:?}");
    let logged = run_c("read_pipe", Mode::Shim(&[("EINTRFIX_POLICY", "log")]));
    assert_eq!(logged.code, Some(1), "{logged:?}");
    assert!(
        logged.stderr.contains("eintrfix")
            && logged.stderr.contains("read")
            && logged.stderr.contains("fd=")
    );
}
