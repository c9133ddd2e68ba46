//! The IPC family: semaphores, message queues and System V IPC, and their
//! timeouts, under a 1 ms SIGALRM storm (see `tests/common/legacy.rs`).

mod common;
use common::legacy::{legacy, within, TIMEOUT_MS};

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
