//! # eintrfix
//!
//! An `LD_PRELOAD` library that stops unmodified programs from failing with
//! EINTR. It interposes libc's blocking calls; when one fails with EINTR it
//! asks the [policy engine](policy) whether to retry it (keeping any
//! timeout on a fixed [deadline](deadline)) or pass the EINTR through, and
//! reports the interruption to the [tracing sink](trace).
//!
//! Map of the crate, each module above the ones it uses (no module imports
//! one that imports it back: `tests/layout.rs`):
//! - [`hooks`]: the exported functions, by family, generated from tables;
//!   [`hooks::retry`]: the slow paths several families share;
//! - [`policy`]: the engine every slow path calls, with its vocabulary
//!   (why it decided, what it did) and the configuration in force;
//! - [`trace`]: the sink the engine hands each interruption to, with the
//!   configuration; it knows nothing of policies;
//! - [`signals`]: which signal interrupted a call (fed by the handler
//!   trampoline in [`hooks::signals`]);
//! - [`real`]: the one place that resolves libc's real functions;
//! - [`deadline`]: fixed deadlines for calls with timeouts;
//! - [`code`]: whose code is where (libc, the shim, a runtime that handles
//!   EINTR itself), and who called a hook, with [`arch`] decoding calls
//!   and reading a handler's context;
//! - [`restart`]: what the trampoline decides for a call the kernel would
//!   restart (calls inside libc: stdio);
//! - [`config`] and [`functions`]: every `EINTRFIX_*` variable, their one
//!   parser and the names they accept (shared with the CLI in `src/bin/`);
//! - [`once`], [`per_thread`](mod@per_thread), [`process`], [`errno`]: the run-once
//!   primitive, per-thread statics, the process's and thread's ids, errno
//!   and its names.

// Without std: std would bring its panic and backtrace machinery (and
// libgcc_s) into every process the library is loaded into, for nothing the
// library uses (docs/performance.md). Unit tests run with std.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[macro_use]
pub mod per_thread;
#[macro_use]
pub mod hooks;

pub mod arch;
pub mod audit;
pub mod chain;
pub mod code;
pub mod config;
pub mod deadline;
pub mod elf;
pub mod errno;
pub mod functions;
pub mod once;
pub mod origin;
pub mod policy;
pub mod process;
pub mod real;
pub mod restart;
pub mod settings;
pub mod signal_stack;
pub mod signals;
pub mod signum;
pub mod trace;
pub mod waits;

/// Runs when the library is loaded, before `main`: notes whether stderr is
/// open, prepares the real functions' resolution (so that a first call,
/// even in a signal handler, resolves without the loader's lock) and reads
/// the configuration, so that the hooks' slow paths find both ready, and
/// sets up the signal table and the tracing sink. Hooks that run earlier
/// resolve and read lazily.
extern "C" fn init() {
    trace::destination::init();
    real::init();
    let config = settings::config();
    process::init();
    trace::init(config);
    audit::init(config);
}

/// Registers [`init`] as an ELF constructor.
#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

/// Runs at `exit()`, after the program's `atexit` handlers (so their
/// interruptions count): prints the summary when it is on.
extern "C" fn fini() {
    trace::exiting(settings::config());
    audit::exiting();
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
