//! `eintrfix [OPTIONS] [--] PROGRAM [ARGS...]`: runs a program with
//! libeintrfix.so preloaded, and `eintrfix check PROGRAM`: tells whether
//! preloading can reach a program and what it would change.
//!
//! The binary does not link the library (it is a cdylib only): linking it
//! would interpose the command's own `read` and `write`. It compiles the
//! library's variable parser, function catalogue and log-file rules into
//! itself instead, so that it accepts exactly what the library accepts.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

/// One line to stdout through [`say`]: a reader that left ends nothing.
macro_rules! sayln {
    ($($arg:tt)*) => {
        $crate::say(&format!("{}\n", format_args!($($arg)*)))
    };
}

#[allow(dead_code)]
#[path = "../config.rs"]
mod config;
/// The ELF format's constants, shared with the library (`elf` below is
/// the command's own reader of files).
#[allow(dead_code)]
#[path = "../elf.rs"]
mod elf_format;
#[allow(dead_code)]
#[path = "../errno.rs"]
mod errno;
#[allow(dead_code)]
#[path = "../functions.rs"]
mod functions;
#[allow(dead_code)]
#[path = "../trace/open_rules.rs"]
mod open_rules;
#[allow(dead_code)]
#[path = "../signum.rs"]
mod signum;

#[path = "eintrfix/audit.rs"]
mod audit;
#[path = "../arch/call_site.rs"]
mod call_site;
#[path = "eintrfix/check.rs"]
mod check;
#[path = "eintrfix/dynamic.rs"]
mod dynamic;
#[path = "eintrfix/elf.rs"]
mod elf;
#[path = "eintrfix/library.rs"]
mod library;
#[path = "eintrfix/options.rs"]
mod options;
#[path = "eintrfix/script.rs"]
mod script;
#[path = "eintrfix/search.rs"]
mod search;
#[path = "eintrfix/sites.rs"]
mod sites;
#[path = "eintrfix/system.rs"]
mod system;

use options::{Command, Invocation};
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::process::exit;

/// Exit status for the command's own errors (bad options, no library).
pub const EXIT_OWN_ERROR: i32 = 125;
/// Exit status when the program exists but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit status when the program is not found.
pub const EXIT_NOT_FOUND: i32 = 127;

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "audit") {
        exit(audit::main(args.into_iter().skip(1).collect()));
    }
    let invocation = match options::parse(args) {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("eintrfix: {message}");
            eprintln!("Try 'eintrfix --help' for more information.");
            exit(EXIT_OWN_ERROR);
        }
    };
    match invocation {
        Invocation::Help => say(options::HELP),
        Invocation::Version => {
            let library = match library::find() {
                Ok(found) => format!("{} ({})", shown(&found.path), found.how),
                Err(message) => message,
            };
            say(&format!(
                "eintrfix {}\nlibrary: {library}\n",
                env!("CARGO_PKG_VERSION")
            ));
        }
        Invocation::Check(program) => exit(check::run(&program)),
        Invocation::CheckSystem => exit(system::run()),
        Invocation::Run(command) => exit(run(command)),
    }
}

/// Sets the variables, prepends the library to `LD_PRELOAD` and replaces
/// this process with the program. Returns only on failure, with the exit
/// status to use.
fn run(command: Command) -> i32 {
    if let Err(message) = options::validate(&command.variables) {
        eprintln!("eintrfix: {message}");
        return EXIT_OWN_ERROR;
    }
    let library = match library::find() {
        Ok(found) => found.path,
        Err(message) => {
            eprintln!("eintrfix: {message}");
            return EXIT_OWN_ERROR;
        }
    };
    let preload = match library::preload_value(&library, std::env::var_os("LD_PRELOAD")) {
        Ok(value) => value,
        Err(message) => {
            eprintln!("eintrfix: {message}");
            return EXIT_OWN_ERROR;
        }
    };
    let (Some(program), Ok(argv)) = (
        cstring(&command.program),
        std::iter::once(&command.program)
            .chain(&command.args)
            .map(|a| cstring(a).ok_or(()))
            .collect::<Result<Vec<CString>, ()>>(),
    ) else {
        eprintln!("eintrfix: an argument holds a NUL byte");
        return EXIT_OWN_ERROR;
    };
    for (name, value) in &command.variables {
        std::env::set_var(name, value);
    }
    std::env::set_var("LD_PRELOAD", preload);

    let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    // SAFETY: `program` and every `argv` pointer are NUL-terminated strings
    // that outlive the call, and the array ends with a null pointer.
    unsafe { libc::execvp(program.as_ptr(), pointers.as_ptr()) };
    let error = std::io::Error::last_os_error();
    let reason = error.to_string();
    let reason = reason.split(" (os error").next().unwrap_or_default();
    eprintln!(
        "eintrfix: cannot run '{}': {reason}",
        shown(&command.program)
    );
    match error.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => EXIT_NOT_FOUND,
        _ => EXIT_CANNOT_EXECUTE,
    }
}

/// Writes `text` to stdout in one go; a reader that went away (`| head`)
/// is not an error worth a panic.
pub fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A value (a path, an argument, a name read from a file) as the
/// command's messages show it: escaped, so that it can forge no line.
pub fn shown(value: &(impl AsRef<OsStr> + ?Sized)) -> config::Escaped<'_> {
    config::Escaped(value.as_ref().as_bytes())
}

fn cstring(s: &OsStr) -> Option<CString> {
    CString::new(s.as_bytes()).ok()
}
