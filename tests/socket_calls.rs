//! The socket family: receives, sends, `accept`, `connect` and their
//! timeouts, messages and fortified forms, each in its legacy program under
//! a 1 ms SIGALRM storm (see `tests/common/legacy.rs`).

mod common;
use common::legacy::{
    case, every_mode, fortified_form_follows_its_base, legacy, timed, within, Case, TIMEOUT_MS,
};

/// The programs of this family that run in every mode.
const CASES: &[Case] = &[
    case("recv_socket", "recv", true),
    case("send_socket", "send", true),
    case("recvfrom_socket", "recvfrom", true),
    case("accept_late", "accept", true),
    case("accept4_late", "accept4", true),
    // The helper accepts 300 ms after the storm starts (the program's clock
    // starts a little later: 20 ms of slack); TCP then waits for the
    // client's SYN, which the kernel dropped, to be sent again (after 1 s,
    // then 3 s).
    timed("connect_backlog", "connect", true, "connect", 280.0, 4500.0),
    // AF_UNIX: the connect goes through as soon as the helper accepts.
    timed(
        "connect_unix_backlog",
        "connect",
        true,
        "connect",
        280.0,
        600.0,
    ),
    // Socket timeouts of 300 ms end with EAGAIN (EINPROGRESS for TCP
    // connect) at 300 ms, not 300 ms after the last signal.
    timed("recv_timeout", "recv", true, "recv_timeout", 300.0, 450.0),
    timed("send_timeout", "send", true, "send_timeout", 300.0, 450.0),
    timed(
        "accept_timeout",
        "accept",
        true,
        "accept_timeout",
        300.0,
        450.0,
    ),
    timed(
        "connect_timeout",
        "connect",
        true,
        "connect_timeout",
        300.0,
        450.0,
    ),
    timed(
        "connect_unix_timeout",
        "connect",
        true,
        "connect_timeout",
        300.0,
        450.0,
    ),
    case("recv_fortified", "__recv_chk", true),
    case("recvfrom_fortified", "__recvfrom_chk", true),
];

every_mode!(CASES);

#[test]
fn socket_messages_and_their_timeouts() {
    for call in [
        "recvmsg", "recvmmsg", "sendto", "sendmsg", "sendmmsg", "readv", "writev",
    ] {
        legacy("sock_msgs", &[call]);
        let timed = format!("{call}_timeout");
        let fixed = legacy("sock_msgs", &[&timed]);
        within(&fixed, "waited", TIMEOUT_MS.0, TIMEOUT_MS.1, &timed);
    }
}

#[test]
fn fortified_receives_follow_their_base_function() {
    fortified_form_follows_its_base("recv_fortified", "recv", "__recv_chk");
    fortified_form_follows_its_base("recvfrom_fortified", "recvfrom", "__recvfrom_chk");
}
