//! `alarm`, `ualarm` and `setitimer(ITIMER_REAL)`: interposed only to note
//! what kind of timer is armed, one-shot or periodic.

use crate::real;
use crate::signals::{self, TimerKind};
use core::ffi::{c_int, c_uint};
use libc::{itimerval, useconds_t};

/// Notes the kind of timer about to be armed, arms it with `arm`, and puts
/// the note back if arming failed.
fn arm_timer<R: PartialEq>(kind: TimerKind, failed: R, arm: impl FnOnce() -> R) -> R {
    let before = signals::timer_state().kind();
    signals::timer_armed(kind);
    let result = arm();
    if result == failed {
        signals::timer_armed(before);
    }
    result
}

hooks! {
    pass_through:
    /// `alarm(2)`: a one-shot SIGALRM timer, noted as a timeout (0 disarms).
    fn alarm(seconds: c_uint) -> c_uint
        => {
            let kind = if seconds == 0 { TimerKind::Disarmed } else { TimerKind::OneShot };
            signals::timer_armed(kind);
            real::alarm(seconds)
        };
    /// `ualarm(3)`: one-shot, or periodic when it has an interval.
    fn ualarm(value: useconds_t, interval: useconds_t) -> useconds_t
        => {
            let kind = match (value, interval) {
                (0, _) => TimerKind::Disarmed,
                (_, 0) => TimerKind::OneShot,
                _ => TimerKind::Periodic,
            };
            arm_timer(kind, useconds_t::MAX, || real::ualarm(value, interval))
        };
    /// `setitimer(2)`: for ITIMER_REAL, one-shot when its interval is zero,
    /// else periodic; the other timers do not send SIGALRM.
    fn setitimer(which: c_int, new: *const itimerval, old: *mut itimerval) -> c_int
        => match new.as_ref() {
            Some(timer) if which == libc::ITIMER_REAL => {
                let zero = |t: &libc::timeval| t.tv_sec == 0 && t.tv_usec == 0;
                let kind = if zero(&timer.it_value) {
                    TimerKind::Disarmed
                } else if zero(&timer.it_interval) {
                    TimerKind::OneShot
                } else {
                    TimerKind::Periodic
                };
                arm_timer(kind, -1, || real::setitimer(which, new, old))
            }
            _ => real::setitimer(which, new, old),
        };
}
