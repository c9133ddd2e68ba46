//! The legacy C programs for every blocking relative of the core calls
//! (issue 5), each under a 1 ms SIGALRM storm: bare they die with EINTR,
//! under the shim they work, and with `EINTRFIX_POLICY=pass` they die
//! again. Every call with a timeout must end within [300, 450] ms of its
//! 300 ms timeout: the lower bound catches a timeout cut short, the upper
//! one a timeout restarted at each signal.

mod common;
use common::{c_program, run, Mode, Run};

/// Runs `program args` bare, with `pass`, and under the shim; asserts the
/// first two die with EINTR and the last works, and returns its run.
fn legacy(program: &str, args: &[&str]) -> Run {
    let path = c_program(program);
    let what = format!("{program} {}", args.join(" "));
    let bare = run(&path, args, Mode::Bare);
    assert_eq!(bare.code, Some(1), "{what}: bare must meet EINTR: {bare:?}");
    assert!(
        bare.stderr.contains("Interrupted system call"),
        "{what}: {bare:?}"
    );
    let passed = run(&path, args, Mode::Shim(&[("EINTRFIX_POLICY", "pass")]));
    assert_eq!(passed.code, Some(1), "{what}: pass keeps EINTR: {passed:?}");
    let fixed = run(&path, args, Mode::Shim(&[]));
    assert_eq!(fixed.code, Some(0), "{what}: the shim fixes it: {fixed:?}");
    fixed
}

/// Asserts a figure the program printed lies within [low, high] ms.
fn within(run: &Run, figure: &str, low: f64, high: f64, what: &str) {
    let ms = run.figure_ms(figure);
    assert!(
        (low..=high).contains(&ms),
        "{what}: {figure} {ms} ms, not within [{low}, {high}]"
    );
}

/// The bounds for a 300 ms timeout under a storm.
const TIMEOUT_MS: (f64, f64) = (300.0, 450.0);

#[test]
fn vectored_io_on_pipes() {
    for call in ["readv", "writev", "preadv2", "pwritev2"] {
        legacy("io_vectors", &[call]);
    }
}

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
fn the_wait_family() {
    for call in ["wait", "wait3", "wait4", "waitid"] {
        legacy("proc_wait", &[call]);
    }
}

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
fn semaphores_queues_and_system_v_ipc() {
    for call in [
        "sem_wait",
        "mq_receive",
        "mq_send",
        "msgrcv",
        "msgsnd",
        "semop",
    ] {
        legacy("ipc_wait", &[call]);
    }
    for call in [
        "sem_timedwait_timeout",
        "sem_clockwait_timeout",
        "mq_timedreceive_timeout",
        "mq_timedsend_timeout",
        "semtimedop_timeout",
    ] {
        let fixed = legacy("ipc_wait", &[call]);
        within(&fixed, "waited", TIMEOUT_MS.0, TIMEOUT_MS.1, call);
    }
}

#[test]
fn locks_and_fifo_opens() {
    for call in ["flock", "fcntl_setlkw", "fcntl_ofd_setlkw", "open_fifo"] {
        legacy("ipc_wait", &[call]);
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
