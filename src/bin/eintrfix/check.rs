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
use crate::functions::Function;
use crate::library;
use crate::{EXIT_NOT_FOUND, EXIT_OWN_ERROR};
use std::collections::HashSet;
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
}

/// Stdio and other libc entry points that block inside libc, where no
/// hook sees the system call they make: the kernel-restart path covers
/// them, behind handlers installed through libc.
const INSIDE_LIBC: &[&str] = &[
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
const HANDLER_INSTALLERS: &[&str] = &[
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
/// when it cannot or would change nothing, 127 when the program is not
/// found, 125 when it cannot be read.
pub fn run(program: &OsStr) -> i32 {
    let Some(path) = resolve(program) else {
        println!(
            "not found: '{}' is not a file and not in PATH",
            program.to_string_lossy()
        );
        return EXIT_NOT_FOUND;
    };
    let mut details = Vec::new();
    match library::find() {
        Ok(found) => details.push(format!("library: {} ({})", found.path.display(), found.how)),
        Err(message) => details.push(format!("library: {message}")),
    }
    let verdict = match examine(&path, 0, &mut details) {
        Ok(verdict) => verdict,
        Err(message) => {
            println!("error: {}: {message}", path.display());
            return EXIT_OWN_ERROR;
        }
    };
    let (word, reason, status) = match verdict {
        Verdict::Reachable(reason) => ("reachable", reason, 0),
        Verdict::Unreachable(reason) => ("unreachable", reason, 1),
        Verdict::NothingToHook(reason) => ("nothing to hook", reason, 1),
    };
    println!("{word}: {}: {reason}", path.display());
    for line in details {
        println!("  {line}");
    }
    status
}

/// Finds a program as `execvp` does: as given if it holds a slash, else
/// the first executable file of that name in `PATH`.
fn resolve(program: &OsStr) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.as_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        return path.exists().then_some(path);
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    std::env::split_paths(&search)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            }
            .join(program)
        })
        .find(|candidate| candidate.is_file() && executable(candidate))
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

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))
}

/// Looks at one file (a program, or a script's interpreter).
fn examine(path: &Path, depth: usize, details: &mut Vec<String>) -> Result<Verdict, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot inspect it: {e}"))?;
    if !meta.is_file() {
        return Ok(Verdict::Unreachable("not a regular file".into()));
    }
    if !executable(path) {
        return Ok(Verdict::Unreachable(
            "not executable (no execute permission for you)".into(),
        ));
    }
    let data = read(path)?;
    if !elf::is_elf(&data) {
        return script(path, &data, depth, details);
    }
    let program = elf::parse(&data)?;
    let reference = reference_elf();
    details.push(format!("file: {}: {}", path.display(), describe(&program)));

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
            "it asks for musl's loader ({loader}); the library is built for glibc"
        ));
    }

    let (imports, libraries, missing, inside) = walk(path, &program);
    let mut total: Vec<&'static str> = Vec::new();
    for (object, hooked) in &imports {
        details.push(format!(
            "{} imports {}: {}",
            object.display(),
            count(hooked.len(), "hooked function"),
            hooked.join(" ")
        ));
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
        details.push(format!("needed libraries read: {}", libraries.join(" ")));
    }
    for name in &missing {
        details.push(format!("needed library not found: {name}"));
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
        Some(loader) => format!("dynamically linked, loader {loader}"),
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
    elf::parse(&std::fs::read(path).ok()?).ok()
}

/// A file that is not ELF: a `#!` script (its interpreter is checked), or a
/// file `execvp` hands to /bin/sh.
fn script(
    path: &Path,
    data: &[u8],
    depth: usize,
    details: &mut Vec<String>,
) -> Result<Verdict, String> {
    if depth >= MAX_INTERPRETERS {
        return Ok(Verdict::Unreachable(
            "too many nested #! interpreters".into(),
        ));
    }
    let Some(line) = data.strip_prefix(b"#!") else {
        details.push(format!(
            "{}: not ELF and no #! line: execvp runs it with /bin/sh",
            path.display()
        ));
        return wrap(
            Path::new("/bin/sh"),
            "a file run by /bin/sh",
            depth,
            details,
        );
    };
    let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line).trim().to_string();
    let mut words = line.split_whitespace();
    let Some(interpreter) = words.next() else {
        return Ok(Verdict::Unreachable(
            "a script with an empty #! line".into(),
        ));
    };
    details.push(format!("{}: a script: #!{line}", path.display()));
    if Path::new(interpreter).file_name() == Some(OsStr::new("env")) {
        // `#!/usr/bin/env [-S] [VAR=VALUE...] NAME`: env finds NAME in PATH
        // and the preloaded shim goes along with its environment.
        let target = words.find(|w| !w.starts_with('-') && !w.contains('='));
        if let Some(target) = target {
            let Some(found) = resolve(OsStr::new(target)) else {
                return Ok(Verdict::Unreachable(format!(
                    "a script run by '{target}' through env, which is not in PATH"
                )));
            };
            details.push(format!(
                "env runs {target}: {}; the shim stays preloaded across env's exec",
                found.display()
            ));
            return wrap(
                &found,
                &format!("a script run by {}", found.display()),
                depth,
                details,
            );
        }
    }
    wrap(
        Path::new(interpreter),
        &format!("a script run by {interpreter}"),
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
    if !interpreter.exists() {
        return Ok(Verdict::Unreachable(format!(
            "{what}, which does not exist"
        )));
    }
    Ok(match examine(interpreter, depth + 1, details)? {
        Verdict::Reachable(r) => Verdict::Reachable(format!("{what}: {r}")),
        Verdict::Unreachable(r) => Verdict::Unreachable(format!("{what}: {r}")),
        Verdict::NothingToHook(r) => Verdict::NothingToHook(format!("{what}: {r}")),
    })
}

/// A library to find: its name and the search paths of the object that
/// needs it.
struct Need {
    name: String,
    origin: PathBuf,
    rpath: Vec<String>,
    runpath: Vec<String>,
}

/// Each object (the program, then its libraries breadth-first) with the
/// hooked functions it imports, the libraries found, the libraries not
/// found, and the libc-internal readers it imports.
type Walked = (
    Vec<(PathBuf, Vec<&'static str>)>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
);

fn walk(path: &Path, program: &Elf) -> Walked {
    let cache = std::fs::read("/etc/ld.so.cache")
        .map(|data| elf::ld_so_cache(&data))
        .unwrap_or_default();
    let library_path: Vec<String> = std::env::var("LD_LIBRARY_PATH")
        .map(|v| {
            v.split([':', ';'])
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut objects = Vec::new();
    let mut missing = Vec::new();
    let mut libraries = Vec::new();
    let mut inside: Vec<String> = Vec::new();
    let mut seen_names: HashSet<String> = HashSet::new();
    let mut seen_paths: HashSet<PathBuf> = HashSet::new();
    let mut queue = std::collections::VecDeque::new();

    let mut visit = |object: &Path, elf: &Elf, queue: &mut std::collections::VecDeque<Need>| {
        objects.push((object.to_path_buf(), hooked(elf)));
        for name in &elf.imports {
            let listed =
                INSIDE_LIBC.contains(&name.as_str()) || HANDLER_INSTALLERS.contains(&name.as_str());
            if listed && !inside.contains(name) {
                inside.push(name.clone());
            }
        }
        let origin = object
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        for name in &elf.needed {
            queue.push_back(Need {
                name: name.clone(),
                origin: origin.clone(),
                rpath: elf.rpath.clone(),
                runpath: elf.runpath.clone(),
            });
        }
    };
    visit(path, program, &mut queue);
    while let Some(need) = queue.pop_front() {
        if !seen_names.insert(need.name.clone()) {
            continue;
        }
        match find_library(&need, program, &library_path, &cache) {
            Some((found, elf)) => {
                libraries.push(need.name.clone());
                if seen_paths.insert(found.canonicalize().unwrap_or(found.clone())) {
                    visit(&found, &elf, &mut queue);
                }
            }
            None => missing.push(need.name),
        }
    }
    objects.retain(|(_, hooked)| !hooked.is_empty());
    (objects, libraries, missing, inside)
}

/// The hooked functions an object imports, in catalogue order.
fn hooked(elf: &Elf) -> Vec<&'static str> {
    Function::ALL
        .iter()
        .map(|f| f.name())
        .filter(|name| elf.imports.iter().any(|i| i == name))
        .collect()
}

/// Finds a needed library the way the loader does, keeping only files of
/// the program's class and machine.
fn find_library(
    need: &Need,
    program: &Elf,
    library_path: &[String],
    cache: &[(String, String)],
) -> Option<(PathBuf, Elf)> {
    let fits = |candidate: &Path| -> Option<(PathBuf, Elf)> {
        let elf = elf::parse(&std::fs::read(candidate).ok()?).ok()?;
        ((elf.class64, elf.machine) == (program.class64, program.machine))
            .then(|| (candidate.to_path_buf(), elf))
    };
    if need.name.contains('/') {
        return fits(Path::new(&need.name));
    }
    let origin = need.origin.to_string_lossy();
    let expand = |dir: &String| {
        PathBuf::from(
            dir.replace("${ORIGIN}", &origin)
                .replace("$ORIGIN", &origin),
        )
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    if need.runpath.is_empty() {
        dirs.extend(need.rpath.iter().map(expand));
    }
    dirs.extend(library_path.iter().map(PathBuf::from));
    dirs.extend(need.runpath.iter().map(expand));
    let from_dirs = dirs.iter().find_map(|d| fits(&d.join(&need.name)));
    from_dirs
        .or_else(|| {
            cache
                .iter()
                .filter(|(name, _)| *name == need.name)
                .find_map(|(_, path)| fits(Path::new(path)))
        })
        .or_else(|| {
            [
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib/aarch64-linux-gnu",
                "/usr/lib/aarch64-linux-gnu",
                "/lib64",
                "/usr/lib64",
                "/lib",
                "/usr/lib",
            ]
            .iter()
            .find_map(|d| fits(&Path::new(d).join(&need.name)))
        })
}
