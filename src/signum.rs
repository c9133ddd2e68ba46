//! Facts about signal numbers, in one place: the highest one, which
//! signals are ignored or stop the process by default, sets of them, and
//! their names. Compiled into the CLI too.

use core::fmt;

/// The highest signal number Linux has (`SIGRTMAX` is at most this).
pub const MAX: i32 = 64;

/// The length of a table indexed by signal number, 0 (unused, or an
/// unknown signal) to [`MAX`].
pub const SLOTS: usize = MAX as usize + 1;

/// Whether `signal`'s default action leaves the process running: it is
/// ignored (SIGCONT's only continues a stopped process).
pub const fn ignored_by_default(signal: i32) -> bool {
    matches!(
        signal,
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT
    )
}

/// Whether `signal`'s default action kills the process (or dumps core):
/// every signal but those ignored by default and the stop signals.
pub const fn kills_by_default(signal: i32) -> bool {
    !ignored_by_default(signal)
        && !matches!(
            signal,
            libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
        )
}

/// A set of signal numbers 1..=[`MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SignalSet(u64);

impl SignalSet {
    /// No signal.
    pub const EMPTY: SignalSet = SignalSet(0);

    /// The set holding `signals`.
    pub const fn of(signals: &[i32]) -> SignalSet {
        let mut set = SignalSet::EMPTY;
        let mut i = 0;
        while i < signals.len() {
            set = set.with(signals[i]);
            i += 1;
        }
        set
    }

    /// This set with `signal` added; numbers outside 1..=[`MAX`] are ignored.
    pub const fn with(self, signal: i32) -> SignalSet {
        if signal >= 1 && signal <= MAX {
            SignalSet(self.0 | 1u64 << (signal - 1))
        } else {
            self
        }
    }

    /// Whether `signal` is in the set.
    pub const fn contains(self, signal: i32) -> bool {
        signal >= 1 && signal <= MAX && self.0 & (1u64 << (signal - 1)) != 0
    }

    /// The raw bits: bit `n - 1` is signal `n`.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set with these raw bits.
    pub const fn from_bits(bits: u64) -> SignalSet {
        SignalSet(bits)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest signal in the set.
    pub const fn first(self) -> Option<i32> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() as i32 + 1)
        }
    }
}

/// The names of the signals below the real-time ones, without `SIG`
/// (with glibc's other names: `IOT`, `CLD`, `POLL`).
const NAMES: &[(&[u8], i32)] = &[
    (b"HUP", libc::SIGHUP),
    (b"INT", libc::SIGINT),
    (b"QUIT", libc::SIGQUIT),
    (b"ILL", libc::SIGILL),
    (b"TRAP", libc::SIGTRAP),
    (b"ABRT", libc::SIGABRT),
    (b"IOT", libc::SIGIOT),
    (b"BUS", libc::SIGBUS),
    (b"FPE", libc::SIGFPE),
    (b"KILL", libc::SIGKILL),
    (b"USR1", libc::SIGUSR1),
    (b"SEGV", libc::SIGSEGV),
    (b"USR2", libc::SIGUSR2),
    (b"PIPE", libc::SIGPIPE),
    (b"ALRM", libc::SIGALRM),
    (b"TERM", libc::SIGTERM),
    (b"STKFLT", libc::SIGSTKFLT),
    (b"CHLD", libc::SIGCHLD),
    (b"CLD", libc::SIGCHLD),
    (b"CONT", libc::SIGCONT),
    (b"STOP", libc::SIGSTOP),
    (b"TSTP", libc::SIGTSTP),
    (b"TTIN", libc::SIGTTIN),
    (b"TTOU", libc::SIGTTOU),
    (b"URG", libc::SIGURG),
    (b"XCPU", libc::SIGXCPU),
    (b"XFSZ", libc::SIGXFSZ),
    (b"VTALRM", libc::SIGVTALRM),
    (b"PROF", libc::SIGPROF),
    (b"WINCH", libc::SIGWINCH),
    (b"IO", libc::SIGIO),
    (b"POLL", libc::SIGPOLL),
    (b"PWR", libc::SIGPWR),
    (b"SYS", libc::SIGSYS),
];

/// The signal named `name` (without `SIG`, in any case), below the
/// real-time ones.
pub fn named(name: &[u8]) -> Option<i32> {
    NAMES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|&(_, n)| n)
}

/// Displays a signal number as its name: `SIGALRM`, `SIGRTMIN+2`, or the
/// number itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalName(pub i32);

impl fmt::Display for SignalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if let Some((name, _)) = NAMES.iter().find(|&&(_, s)| s == n) {
            f.write_str("SIG")?;
            return name
                .iter()
                .try_for_each(|&b| fmt::Write::write_char(f, b as char));
        }
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        match n {
            _ if n == min => f.write_str("SIGRTMIN"),
            _ if n == max => f.write_str("SIGRTMAX"),
            _ if n > min && n < max => write!(f, "SIGRTMIN+{}", n - min),
            _ => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_set_bits() {
        let s = SignalSet::of(&[1, MAX, 0, MAX + 1]);
        assert!(s.contains(1) && s.contains(MAX) && !s.contains(0) && !s.contains(MAX + 1));
        assert_eq!(s.first(), Some(1));
        assert_eq!(SignalSet::EMPTY.first(), None);
    }

    #[test]
    fn default_actions() {
        assert!(kills_by_default(libc::SIGALRM) && kills_by_default(libc::SIGTERM));
        assert!(!kills_by_default(libc::SIGCHLD) && !kills_by_default(libc::SIGTSTP));
        assert!(ignored_by_default(libc::SIGWINCH) && !ignored_by_default(libc::SIGSTOP));
        assert_eq!(named(b"alrm"), Some(libc::SIGALRM));
        assert_eq!(named(b"RTMIN"), None);
    }
}
