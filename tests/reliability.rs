//! What the shim adds must never crash, stall or corrupt a program: bad
//! pointers fail as bare, small alternate signal stacks, many threads
//! under storms, the shim's own output. See docs/reliability.md.

mod common;
use common::{run_c, Mode};

const POLICIES: [&[(&str, &str)]; 4] = [
    &[],
    &[("EINTRFIX_POLICY", "pass")],
    &[("EINTRFIX_POLICY", "log")],
    &[("EINTRFIX_LOG", "info")],
];

#[test]
fn select_with_an_unreadable_set_fails_with_efault_as_bare() {
    let bare = run_c("select_efault", Mode::Bare);
    assert_eq!(bare.code, Some(0), "bare: {bare:?}");
    for vars in POLICIES {
        let shim = run_c("select_efault", Mode::Shim(vars));
        assert_eq!(shim.code, Some(0), "under the shim with {vars:?}: {shim:?}");
    }
}
