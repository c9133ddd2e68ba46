//! `eintrfix check PROGRAM`: whether preloading can reach a program, and
//! what it would change there. One verdict line, then details.
//!
//! Everything is read from the files themselves with the small ELF reader in
//! `elf.rs` (no `ldd`, `nm` or `readelf` needed, and nothing is executed):
//! the loader the program asks for, its needed libraries found the way the
//! loader finds them (RPATH, LD_LIBRARY_PATH, RUNPATH, /etc/ld.so.cache, the
//! default directories), and the undefined dynamic symbols of each, which
//! are what it calls through the PLT and so what a preloaded hook sees.

use crate::elf::{self, Elf};

use crate::config::Escaped;
use crate::library;
use crate::script::{self, Shebang};
use crate::search;
use crate::shown;
use crate::{EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_OWN_ERROR};
use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How far `#!` interpreters are followed (the kernel allows 4 levels).
const MAX_INTERPRETERS: usize = 4;

/// The answer.
enum Verdict {
    /// The shim can act: the program and its libraries call hooked functions.
    Reachable(String),
    /// Preloading cannot reach the program at all.
    Unreachable(String),
    /// The library would load but no hooked function is imported.
    NothingToHook(String),
    /// `eintrfix -- PROGRAM` would fail to start it, with this exit status
    /// (126 or 127, as `execvp` fails).
    CannotRun(i32, String),
}

/// Stdio and other libc entry points that block inside libc, where no
/// hook sees the system call they make: the kernel-restart path covers
/// them, behind handlers installed through libc.
pub const INSIDE_LIBC: &[&str] = &[
    "fgets",
    "fgetc",
    "getc",
    "getchar",
    "fread",
    "getline",
    "getdelim",
    "fscanf",
    "scanf",
    "__isoc99_fscanf",
    "__isoc99_scanf",
    "__fgets_chk",
    "__fread_chk",
    "_IO_getc",
    "fgets_unlocked",
    "fread_unlocked",
    "getc_unlocked",
    "fwrite",
    "fputs",
    "puts",
    "fputc",
    "putc",
    "putchar",
    "fprintf",
    "printf",
    "vfprintf",
    "__printf_chk",
    "__fprintf_chk",
    "__vfprintf_chk",
    "fflush",
    "fclose",
    "fwrite_unlocked",
    "fputc_unlocked",
    "system",
    "popen",
    "pclose",
];

/// The functions that install a signal handler through libc, and so
/// behind the shim's trampoline.
pub const HANDLER_INSTALLERS: &[&str] = &[
    "sigaction",
    "__sigaction",
    "signal",
    "bsd_signal",
    "ssignal",
    "sysv_signal",
    "__sysv_signal",
    "sigset",
];

/// Runs the check and returns the exit status: 0 when the shim can act, 1
/// when it cannot or would change nothing, 126 or 127 when the program
/// cannot be started (what `eintrfix -- PROGRAM` would exit with), 125 when
/// it cannot be read.
pub fn run(program: &OsStr) -> i32 {
    let path = match resolve(program) {
        Ok(path) => path,
        Err((EXIT_NOT_FOUND, reason)) => {
            crate::say(&format!("not found: '{}' {reason}\n", shown(program)));
            return EXIT_NOT_FOUND;
        }
        Err((status, reason)) => {
            crate::say(&format!("cannot run: '{}': {reason}\n", shown(program)));
            return status;
        }
    };
    let mut details = Vec::new();
    match library::find() {
        Ok(found) => details.push(format!("library: {} ({})", shown(&found.path), found.how)),
        Err(message) => details.push(format!("library: {message}")),
    }
    let verdict = match verdict_of(&path, 0, &mut details) {
        Ok(verdict) => verdict,
        Err(message) => {
            crate::say(&format!("error: {}: {message}\n", shown(&path)));
            return EXIT_OWN_ERROR;
        }
    };
    let (word, reason, status) = match verdict {
        Verdict::Reachable(reason) => ("reachable", reason, 0),
        Verdict::Unreachable(reason) => ("unreachable", reason, 1),
        Verdict::NothingToHook(reason) => ("nothing to hook", reason, 1),
        Verdict::CannotRun(status, reason) => ("cannot run", reason, status),
    };
    let mut text = format!("{word}: {}: {reason}\n", shown(&path));
    for line in details {
        text.push_str(&format!("  {line}\n"));
    }
    crate::say(&text);
    status
}

/// The exit status of `eintrfix --` when `execve` fails with `errno`.
fn exit_status(errno: Option<i32>) -> i32 {
    match errno {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => EXIT_NOT_FOUND,
        _ => EXIT_CANNOT_EXECUTE,
    }
}

/// Finds a program as `execvp` does: as given if it holds a slash, else
/// the first executable file of that name in `PATH` (a file there that is
/// not executable is passed over, and is the error if nothing else is
/// found; an error other than a missing file stops the search). The error
/// is the exit status `eintrfix --` would give, and why.
fn resolve(program: &OsStr) -> Result<PathBuf, (i32, String)> {
    if program.is_empty() {
        return Err((EXIT_NOT_FOUND, "is empty".into()));
    }
    if program.as_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        return match std::fs::metadata(&path) {
            Ok(_) => Ok(path),
            Err(e) => Err(match exit_status(e.raw_os_error()) {
                EXIT_NOT_FOUND => (EXIT_NOT_FOUND, "does not exist".into()),
                status => (status, io_reason(&e)),
            }),
        };
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let mut denied = None;
    for dir in std::env::split_paths(&search) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() && executable(&candidate) => return Ok(candidate),
            Ok(_) => {
                denied.get_or_insert(candidate);
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV) => {}
                Some(libc::EACCES) => {
                    denied.get_or_insert(candidate);
                }
                _ => {
                    return Err((
                        EXIT_CANNOT_EXECUTE,
                        format!("in PATH is {}: {}", shown(&candidate), io_reason(&e)),
                    ))
                }
            },
        }
    }
    Err(match denied {
        Some(candidate) => (
            EXIT_CANNOT_EXECUTE,
            format!(
                "in PATH is {}, which is not an executable file",
                shown(&candidate)
            ),
        ),
        None => (EXIT_NOT_FOUND, "is not a file and not in PATH".into()),
    })
}

/// An I/O error's text without Rust's "(os error N)".
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    text.split(" (os error")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn executable(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path that lives across the call.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

/// Whether the file carries capabilities (`security.capability`).
pub fn has_capabilities(path: &Path) -> bool {
    let (Ok(c), name) = (
        CString::new(path.as_os_str().as_bytes()),
        c"security.capability",
    ) else {
        return false;
    };
    // SAFETY: both are NUL-terminated strings that live across the call; a
    // null buffer of size 0 asks only for the value's size.
    unsafe { libc::getxattr(c.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) >= 0 }
}

/// Looks at one file (a program, or a script's interpreter).
fn verdict_of(path: &Path, depth: usize, details: &mut Vec<String>) -> Result<Verdict, String> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            return Ok(Verdict::CannotRun(
                exit_status(e.raw_os_error()),
                io_reason(&e),
            ))
        }
    };
    if !meta.is_file() {
        return Ok(Verdict::CannotRun(
            EXIT_CANNOT_EXECUTE,
            "not a regular file: execve refuses it (EACCES)".into(),
        ));
    }
    if !executable(path) {
        return Ok(Verdict::CannotRun(
            EXIT_CANNOT_EXECUTE,
            "not executable (no execute permission for you)".into(),
        ));
    }
    let file = elf::open(path)?;
    let head = file.head(script::HEAD as u64)?;
    if !elf::is_elf(&head) {
        return from_script(path, &head, depth, details);
    }
    let program = elf::parse(&file, &search::wanted)?;
    let reference = reference_elf();
    details.push(format!("file: {}: {}", shown(path), describe(&program)));

    if let Some(reference) = &reference {
        if (reference.class64, reference.machine) != (program.class64, program.machine) {
            return Ok(Verdict::Unreachable(format!(
                "a {}-bit {} program, and the library is {}-bit {}: the loader skips it",
                bits(&program),
                elf::machine_name(program.machine),
                bits(reference),
                elf::machine_name(reference.machine)
            )));
        }
    }
    if program.kind != elf::ET_EXEC && program.kind != elf::ET_DYN {
        return Ok(Verdict::Unreachable(format!(
            "not an executable (ELF type {})",
            program.kind
        )));
    }
    let go = program
        .sections
        .iter()
        .any(|s| s == ".go.buildinfo" || s == ".note.go.buildid" || s == ".gopclntab");
    let Some(loader) = &program.interpreter else {
        return Ok(Verdict::Unreachable(if go {
            "a statically linked Go program: no dynamic loader runs, so nothing reads \
             LD_PRELOAD (and Go makes its system calls itself, retrying EINTR on its own)"
                .into()
        } else if program.kind == elf::ET_DYN && !program.needed.is_empty() {
            "a shared library, not a program: check the program that loads it".into()
        } else {
            "statically linked: no dynamic loader runs, so nothing reads LD_PRELOAD".into()
        }));
    };

    if let Err(e) = std::fs::metadata(loader) {
        return Ok(Verdict::CannotRun(
            exit_status(e.raw_os_error()),
            format!(
                "the loader it asks for, {}: {}",
                shown(loader),
                io_reason(&e)
            ),
        ));
    }
    let mut barriers = Vec::new();
    if meta.mode() & 0o4000 != 0 {
        barriers.push(format!("setuid (owner uid {})", meta.uid()));
    }
    if meta.mode() & 0o2000 != 0 {
        barriers.push(format!("setgid (group gid {})", meta.gid()));
    }
    if has_capabilities(path) {
        barriers.push("has file capabilities (security.capability)".to_string());
    }
    if !barriers.is_empty() {
        let privileges = barriers.join(", ");
        barriers = vec![format!(
            "{privileges}: the loader runs it in secure-execution mode and ignores the library"
        )];
        details.push(
            "secure-execution mode: when it runs with privileges its caller lacks, the loader \
             ignores LD_PRELOAD entries holding a slash (and LD_LIBRARY_PATH), so the shim is \
             not loaded; it is loaded only when the caller already has those privileges"
                .into(),
        );
    }
    if loader.contains("musl") {
        barriers.push(format!(
            "it asks for musl's loader ({}); the library is built for glibc",
            shown(loader)
        ));
    }

    let search::Libraries {
        imports,
        libraries,
        missing,
        refused,
        inside,
    } = search::libraries_of(path, &program)?;
    let mut total: Vec<&'static str> = Vec::new();
    for (object, hooked) in &imports {
        details.push(format!(
            "{} imports {}: {}",
            shown(object),
            count(hooked.len(), "hooked function"),
            hooked.join(" ")
        ));
        details.extend(crate::sites::report(object, hooked));
        for name in hooked {
            if !total.contains(name) {
                total.push(name);
            }
        }
    }
    let fortified: Vec<&str> = total
        .iter()
        .copied()
        .filter(|n| n.ends_with("_chk"))
        .collect();
    if !fortified.is_empty() {
        details.push(format!(
            "fortified forms (built with _FORTIFY_SOURCE; hooked too): {}",
            fortified.join(" ")
        ));
    }
    if !libraries.is_empty() {
        let names: Vec<String> = libraries.iter().map(|n| shown(n).to_string()).collect();
        details.push(format!("needed libraries read: {}", names.join(" ")));
    }
    for name in &missing {
        details.push(format!("needed library not found: {}", shown(name)));
    }
    for refusal in &refused {
        details.push(format!("passed over as a library: {refusal}"));
    }
    let (installers, inside): (Vec<String>, Vec<String>) = inside
        .into_iter()
        .partition(|name| HANDLER_INSTALLERS.contains(&name.as_str()));
    let covered = !inside.is_empty() && !installers.is_empty();
    if covered {
        details.push(format!(
            "calls inside libc through {}: no hook sees them, but the kernel restarts them \
             behind the handlers it installs through libc ({}), when the policy says retry",
            inside.join(" "),
            installers.join(" ")
        ));
    } else if !inside.is_empty() {
        details.push(format!(
            "calls inside libc through {}: nothing it imports installs a signal handler \
             through libc, so no handler of its own can interrupt them (one installed by a \
             raw rt_sigaction system call would be out of reach)",
            inside.join(" ")
        ));
    }
    if go {
        barriers.push(
            "a Go program: the Go runtime makes its system calls itself (retrying EINTR on \
             its own); only cgo code goes through libc"
                .into(),
        );
    }

    Ok(if !barriers.is_empty() {
        Verdict::Unreachable(barriers.join("; "))
    } else if total.is_empty() && !covered {
        Verdict::NothingToHook(
            "dynamically linked, but neither it nor its libraries import a hooked function; \
             only libraries it loads at run time (dlopen) could reach the shim"
                .into(),
        )
    } else if total.is_empty() {
        Verdict::Reachable(
            "dynamically linked; it imports no hooked function, but its calls inside libc \
             (stdio) are restarted behind the handlers it installs"
                .into(),
        )
    } else {
        Verdict::Reachable(format!(
            "dynamically linked; it and its libraries import {}",
            count(total.len(), "hooked function")
        ))
    })
}

pub fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

pub fn bits(elf: &Elf) -> u32 {
    if elf.class64 {
        64
    } else {
        32
    }
}

fn describe(elf: &Elf) -> String {
    let kind = match (elf.kind, &elf.interpreter) {
        (elf::ET_DYN, Some(_)) => "position-independent executable",
        (elf::ET_DYN, None) if elf.needed.is_empty() => "static position-independent executable",
        (elf::ET_DYN, None) => "shared object",
        (elf::ET_EXEC, _) => "executable",
        _ => "other",
    };
    let linking = match &elf.interpreter {
        Some(loader) => format!("dynamically linked, loader {}", shown(loader)),
        None => "statically linked".into(),
    };
    format!(
        "ELF {}-bit {} {}, {kind}, {linking}",
        bits(elf),
        if elf.little_endian { "LSB" } else { "MSB" },
        elf::machine_name(elf.machine)
    )
}

/// The ELF the program must match: the library if found, else this command.
fn reference_elf() -> Option<Elf> {
    let path = library::find()
        .map(|f| f.path)
        .or_else(|_| std::env::current_exe())
        .ok()?;
    elf::parse(&elf::open(&path).ok()?, &|_| false).ok()
}

/// A file that is not ELF: a `#!` script (its interpreter is checked), or a
/// file the kernel refuses (ENOEXEC), which `execvp` hands to /bin/sh.
fn from_script(
    path: &Path,
    head: &[u8],
    depth: usize,
    details: &mut Vec<String>,
) -> Result<Verdict, String> {
    if depth >= MAX_INTERPRETERS {
        return Ok(Verdict::CannotRun(
            EXIT_CANNOT_EXECUTE,
            "too many nested #! interpreters: execve fails with ELOOP".into(),
        ));
    }
    let (name, arg) = match script::shebang(head) {
        None => {
            details.push(format!(
                "{}: not ELF and no #! line: execve refuses it (ENOEXEC) and execvp runs it \
                 with /bin/sh",
                shown(path)
            ));
            return wrap(
                Path::new("/bin/sh"),
                "a file run by /bin/sh",
                depth,
                details,
            );
        }
        Some(Shebang::Refused(why)) => {
            details.push(format!(
                "{}: its #! line is {why}: execve refuses it (ENOEXEC) and execvp runs it \
                 with /bin/sh",
                shown(path)
            ));
            return wrap(
                Path::new("/bin/sh"),
                &format!("a file run by /bin/sh ({why})"),
                depth,
                details,
            );
        }
        Some(Shebang::Interpreter { name, arg }) => (name, arg),
    };
    details.push(format!(
        "{}: a script: #!{}{}",
        shown(path),
        Escaped(&name),
        arg.as_ref()
            .map(|a| format!(" {}", Escaped(a)))
            .unwrap_or_default()
    ));
    if name.is_empty() {
        return Ok(Verdict::CannotRun(
            EXIT_CANNOT_EXECUTE,
            "a script whose #! interpreter path is empty: execve fails with EACCES".into(),
        ));
    }
    let interpreter = Path::new(OsStr::from_bytes(&name));
    if interpreter.file_name() == Some(OsStr::new("env")) {
        // `#!/usr/bin/env [-S] [VAR=VALUE...] NAME`: env finds NAME in PATH
        // and the preloaded shim goes along with its environment. The
        // kernel passes one argument: only -S splits it.
        let arg = String::from_utf8_lossy(arg.as_deref().unwrap_or_default()).into_owned();
        let words: Vec<&str> = match arg.strip_prefix("-S") {
            Some(rest) => rest.split([' ', '\t']).filter(|w| !w.is_empty()).collect(),
            None => vec![arg.as_str()],
        };
        if let Some(target) = words
            .into_iter()
            .find(|w| !w.is_empty() && !w.starts_with('-') && !w.contains('='))
        {
            let found = match resolve(OsStr::new(target)) {
                Ok(found) => found,
                Err((status, reason)) => {
                    return Ok(Verdict::CannotRun(
                        status,
                        format!(
                            "a script run through env by '{}', which {reason}",
                            shown(target)
                        ),
                    ))
                }
            };
            details.push(format!(
                "env runs {}: {}; the shim stays preloaded across env's exec",
                shown(target),
                shown(&found)
            ));
            return wrap(
                &found,
                &format!("a script run by {}", shown(&found)),
                depth,
                details,
            );
        }
    }
    wrap(
        interpreter,
        &format!("a script run by {}", shown(interpreter)),
        depth,
        details,
    )
}

/// Checks an interpreter and words the verdict for the script.
fn wrap(
    interpreter: &Path,
    what: &str,
    depth: usize,
    details: &mut Vec<String>,
) -> Result<Verdict, String> {
    if let Err(e) = std::fs::metadata(interpreter) {
        let status = exit_status(e.raw_os_error());
        let reason = if status == EXIT_NOT_FOUND {
            "does not exist".to_string()
        } else {
            io_reason(&e)
        };
        return Ok(Verdict::CannotRun(
            status,
            format!("{what}, which {reason}"),
        ));
    }
    Ok(match verdict_of(interpreter, depth + 1, details)? {
        Verdict::Reachable(r) => Verdict::Reachable(format!("{what}: {r}")),
        Verdict::Unreachable(r) => Verdict::Unreachable(format!("{what}: {r}")),
        Verdict::NothingToHook(r) => Verdict::NothingToHook(format!("{what}: {r}")),
        Verdict::CannotRun(status, r) => Verdict::CannotRun(status, format!("{what}: {r}")),
    })
}
