//! # eintrfix
//!
//! An `LD_PRELOAD` library that stops unmodified programs from failing with
//! EINTR. It interposes libc's blocking calls; when one fails with EINTR it
//! asks the [policy engine](policy) whether to retry it (keeping any
//! timeout on a fixed [deadline](deadline)) or pass the EINTR through, and
//! reports the interruption to the [tracing sink](trace).
//!
//! Map of the crate:
//! - [`hooks`]: the exported functions, by family, generated from tables;
//! - [`real`]: the one place that resolves libc's real functions;
//! - [`policy`]: the engine every hook's slow path calls;
//! - [`deadline`]: fixed deadlines for calls with timeouts;
//! - [`signals`]: which signal interrupted a call;
//! - [`trace`]: where interruptions are reported;
//! - [`config`] and [`functions`]: the `EINTRFIX_*` variables and the
//!   names they accept (shared with the CLI in `src/bin/`).

// Without std: std would bring its panic and backtrace machinery (and
// libgcc_s) into every process the library is loaded into, for nothing the
// library uses (README, Performance). Unit tests run with std.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[macro_use]
pub mod per_thread;
#[macro_use]
pub mod hooks;

pub mod config;
pub mod deadline;
pub mod errno;
pub mod functions;
pub mod once;
pub mod policy;
pub mod process;
pub mod real;
pub mod signals;
pub mod trace;

/// Runs when the library is loaded, before `main`: resolves every real
/// function and reads the configuration, so that the hooks' slow paths
/// find both ready. Hooks that run earlier resolve and read lazily.
extern "C" fn init() {
    trace::destination::init();
    real::resolve_all();
    let config = policy::config();
    hooks::signals::init();
    trace::init(config);
}

/// Registers [`init`] as an ELF constructor.
#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

/// Runs at `exit()`, after the program's `atexit` handlers (so their
/// interruptions count): prints the summary when it is on.
extern "C" fn fini() {
    trace::exiting(policy::config());
}

/// Registers [`fini`] as an ELF destructor.
#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = fini;

/// A panic is a bug in the shim: say where on the shim's output, in one
/// line, then abort (`panic = "abort"`; nothing unwinds through a hook).
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    let mut line = trace::line::Line::new();
    let _ = write!(line, "eintrfix: bug: {info}");
    line.write_to(trace::destination::current());
    // SAFETY: abort has no preconditions.
    unsafe { libc::abort() }
}
