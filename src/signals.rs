//! Which signal interrupted a call.
//!
//! The hooks ask [`take_interrupting`] after an EINTR. Until the signal
//! family of hooks records the handlers that ran, every interruption is of
//! an unknown signal.

use crate::config::SignalSet;

/// The signals behind one EINTR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interrupting {
    /// The signals whose handlers ran on this thread since the last look.
    pub signals: SignalSet,
    /// Whether a SIGALRM among them came from a one-shot timer armed
    /// outside a handler: the program's own timeout.
    pub alarm_timeout: bool,
}

/// The signals whose handlers ran on this thread since the last call, and
/// forgets them.
pub fn take_interrupting() -> Interrupting {
    Interrupting::default()
}

/// Sets up signal tracking, from the constructor.
pub fn init() {}
