//! Fixed deadlines on CLOCK_MONOTONIC, so that a retried call waits only
//! what is left of its timeout. Re-arming a relative timeout after each
//! interruption drifts (about 64 µs per signal here) or, under a steady
//! signal storm, never expires at all.

use core::time::Duration;
use libc::timespec;

/// A point in time on CLOCK_MONOTONIC, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    at_ns: u64,
}

/// Now on CLOCK_MONOTONIC, in nanoseconds.
pub fn now_ns() -> u64 {
    let mut ts = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; clock_gettime is
    // async-signal-safe and is not hooked by this library.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    timespec_ns(&ts)
}

/// A timespec as nanoseconds, negative parts as zero, saturating.
pub fn timespec_ns(ts: &timespec) -> u64 {
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// Nanoseconds as a timespec.
pub fn ns_timespec(ns: u64) -> timespec {
    timespec {
        tv_sec: libc::time_t::try_from(ns / 1_000_000_000).unwrap_or(libc::time_t::MAX),
        // Below 1e9, so it fits any c_long.
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    }
}

impl Deadline {
    /// The deadline `timeout` after `now_ns`.
    pub fn after_at(now_ns: u64, timeout: Duration) -> Deadline {
        let timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        Deadline {
            at_ns: now_ns.saturating_add(timeout_ns),
        }
    }

    /// The deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        Self::after_at(now_ns(), timeout)
    }

    /// The deadline `ms` milliseconds after `now_ns` (a poll-style timeout).
    pub fn after_ms_at(now_ns: u64, ms: u64) -> Deadline {
        Self::after_at(now_ns, Duration::from_millis(ms))
    }

    /// An absolute CLOCK_MONOTONIC time.
    pub fn at(ts: &timespec) -> Deadline {
        Deadline {
            at_ns: timespec_ns(ts),
        }
    }

    /// Nanoseconds left at `now_ns`; zero once passed.
    pub fn remaining_ns_at(self, now_ns: u64) -> u64 {
        self.at_ns.saturating_sub(now_ns)
    }

    /// Time left from now; zero once passed.
    pub fn remaining(self) -> Duration {
        Duration::from_nanos(self.remaining_ns_at(now_ns()))
    }

    /// Whether it has passed at `now_ns`.
    pub fn passed_at(self, now_ns: u64) -> bool {
        now_ns >= self.at_ns
    }

    /// Whether it has passed.
    pub fn passed(self) -> bool {
        self.passed_at(now_ns())
    }

    /// Milliseconds left at `now_ns` for `poll`, rounded up so the wait never
    /// ends early, capped at `c_int::MAX`.
    pub fn poll_ms_at(self, now_ns: u64) -> libc::c_int {
        let ms = self.remaining_ns_at(now_ns).div_ceil(1_000_000);
        libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
    }

    /// Milliseconds left now, for `poll`.
    pub fn poll_ms(self) -> libc::c_int {
        self.poll_ms_at(now_ns())
    }

    /// The deadline as an absolute timespec, for `TIMER_ABSTIME` waits.
    pub fn as_timespec(self) -> timespec {
        ns_timespec(self.at_ns)
    }

    /// Time left from now, as a timespec (what `nanosleep` reports in `rem`).
    pub fn remaining_timespec(self) -> timespec {
        ns_timespec(self.remaining_ns_at(now_ns()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_rounds_up() {
        let d = Deadline::after_ms_at(1_000, 5);
        assert_eq!(d.remaining_ns_at(1_000), 5_000_000);
        assert_eq!(d.poll_ms_at(1_000), 5);
        assert_eq!(d.poll_ms_at(1_001), 5, "a partial millisecond rounds up");
        assert_eq!(d.poll_ms_at(5_000_999), 1);
        assert_eq!(d.poll_ms_at(5_001_000), 0);
        assert!(d.passed_at(5_001_000) && !d.passed_at(5_000_999));
        assert_eq!(d.remaining_ns_at(u64::MAX), 0);
        let far = Deadline::after_at(u64::MAX - 1, Duration::from_secs(10));
        assert_eq!(far.poll_ms_at(0), libc::c_int::MAX);
    }

    #[test]
    fn timespec_conversions() {
        let ts = timespec {
            tv_sec: 3,
            tv_nsec: 250_000_000,
        };
        assert_eq!(timespec_ns(&ts), 3_250_000_000);
        let back = ns_timespec(3_250_000_000);
        assert_eq!((back.tv_sec, back.tv_nsec), (3, 250_000_000));
        assert_eq!(
            timespec_ns(&timespec {
                tv_sec: -1,
                tv_nsec: -5
            }),
            0
        );
        assert_eq!(
            Deadline::at(&ts).remaining_ns_at(3_000_000_000),
            250_000_000
        );
    }

    #[test]
    fn the_clock_moves_forward() {
        let a = now_ns();
        let d = Deadline::after(Duration::from_millis(20));
        assert!(!d.passed());
        assert!(d.remaining() <= Duration::from_millis(20));
        assert!(now_ns() >= a);
    }
}
