//! `eintrfix check --system`: before the library goes into
//! `/etc/ld.so.preload`, whether the loader would preload it into every
//! program running on the machine, and into the programs of the enabled
//! systemd services. Each running process's program is read through
//! `/proc/PID/exe` (the file it runs, even if it has since been replaced or
//! deleted), each service's from its unit's `ExecStart=`, with the ELF
//! reader of `elf.rs`; none is executed, and no process is touched. The one
//! program run is `/bin/true`, under the library, to see that it loads.
//!
//! Out of reach: static programs (no loader runs), programs that ask for
//! musl's loader (it cannot load a glibc library), and programs of another
//! class or machine than the library (the loader prints an error in each
//! of them and goes on without it). Go programs that are dynamically linked
//! load the library but make their own system calls: they are named, and
//! do not make the machine unready.

use crate::check::{bits, count, has_capabilities};
use crate::elf::{self, Elf};
use crate::library;
use crate::script::{self, Shebang};
use crate::{shown, EXIT_OWN_ERROR};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The file the loader reads at every start.
const PRELOAD_FILE: &str = "/etc/ld.so.preload";

/// What one program is, for the loader.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Dynamically linked through glibc's loader, of the library's class and
    /// machine: the library is preloaded.
    Reachable,
    /// As `Reachable`, but a Go program: its own system calls bypass libc.
    Go,
    /// Out of reach, with why.
    Unreachable(String),
}

/// A program and the processes running it.
struct Program {
    kind: Kind,
    pids: Vec<u32>,
    /// Runs with privileges its caller may lack (setuid, setgid, file
    /// capabilities): `/etc/ld.so.preload` reaches it, `LD_PRELOAD` not.
    privileged: bool,
}

/// Runs the check: 0 when every running program and every enabled
/// service's program is reachable, 1 when one is not or some process could
/// not be read, 125 without `/proc`.
pub fn run() -> i32 {
    let entries = match std::fs::read_dir("/proc") {
        Ok(entries) => entries,
        Err(e) => {
            sayln!("error: /proc: cannot read it: {e}");
            return EXIT_OWN_ERROR;
        }
    };
    let found = library::find();
    let reference = found
        .as_ref()
        .map(|f| f.path.clone())
        .or_else(|_| std::env::current_exe())
        .ok()
        .and_then(|path| elf::parse(&elf::open(&path).ok()?, &|_| false).ok());
    let library_path = found.as_ref().ok().map(|f| f.path.clone());

    let mut programs: BTreeMap<PathBuf, Program> = BTreeMap::new();
    // Programs already read, by device and inode (one read per file).
    let mut kinds: BTreeMap<(u64, u64), (Kind, bool)> = BTreeMap::new();
    let (mut kernel_threads, mut unreadable, mut loaded, mut running) =
        (0u32, 0u32, 0usize, 0usize);
    let me = std::process::id();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let proc_dir = entry.path();
        let exe = proc_dir.join("exe");
        let name = match std::fs::read_link(&exe) {
            Ok(name) => name,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                unreadable += 1;
                continue;
            }
            Err(_) => {
                // A kernel thread has no program; the process may be gone.
                kernel_threads += u32::from(proc_dir.exists());
                continue;
            }
        };
        let meta = match std::fs::metadata(&exe) {
            Ok(meta) => meta,
            Err(e) => {
                unreadable += u32::from(e.kind() == std::io::ErrorKind::PermissionDenied);
                continue;
            }
        };
        let key = (meta.dev(), meta.ino());
        let (kind, privileged) = match kinds.get(&key) {
            Some(known) => known.clone(),
            None => {
                let file = match elf::open(&exe) {
                    Ok(file) => file,
                    Err(_) => {
                        unreadable += u32::from(
                            std::fs::File::open(&exe)
                                .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied),
                        );
                        continue;
                    }
                };
                let privileged = meta.mode() & 0o6000 != 0 || has_capabilities(&exe);
                let kind = classify(&file, reference.as_ref());
                kinds.insert(key, (kind.clone(), privileged));
                (kind, privileged)
            }
        };
        running += 1;
        if let Some(lib) = &library_path {
            if maps_library(&proc_dir, lib) {
                loaded += 1;
            }
        }
        programs
            .entry(name)
            .or_insert_with(|| Program {
                kind,
                pids: Vec::new(),
                privileged,
            })
            .pids
            .push(pid);
    }

    let out_of_reach: Vec<(&PathBuf, &Program)> = programs
        .iter()
        .filter(|(_, p)| matches!(p.kind, Kind::Unreachable(_)))
        .collect();
    // The enabled services' programs that are not running now.
    let services = services();
    let mut services_out = Vec::new();
    for (unit, path) in &services {
        if programs.contains_key(path) {
            if let Some(Program {
                kind: Kind::Unreachable(why),
                ..
            }) = programs.get(path)
            {
                services_out.push((unit, path, why.clone()));
            }
            continue;
        }
        if let Some(Kind::Unreachable(why)) = classify_file(path, reference.as_ref()) {
            services_out.push((unit, path, why));
        }
    }
    let total = programs.len();
    let enabled = if services.is_empty() {
        String::new()
    } else {
        let units: BTreeSet<&String> = services.iter().map(|(u, _)| u).collect();
        format!(" and {}", count(units.len(), "enabled service"))
    };
    let bad = out_of_reach.len() + services_out.len();
    let unloadable = match &library_path {
        Some(library) => trial(library).err(),
        None => Some("no library found to preload".to_string()),
    };
    if let (0, Some(why)) = (bad, &unloadable) {
        sayln!("not ready: {why}");
    } else if bad == 0 && unreadable == 0 {
        sayln!(
            "ready: all {} running ({}){enabled} are dynamically linked through glibc's \
             loader: {PRELOAD_FILE} would reach each",
            count(total, "program"),
            processes(running)
        );
    } else if bad == 0 {
        sayln!(
            "incomplete: {} could not be read (run as root); the {} read{enabled} are reachable",
            processes(unreadable as usize),
            count(total, "program")
        );
    } else {
        let units: BTreeSet<&String> = services.iter().map(|(u, _)| u).collect();
        let units_out: BTreeSet<&String> = services_out.iter().map(|(u, _, _)| *u).collect();
        let of_services = if units.is_empty() {
            String::new()
        } else {
            format!(
                ", and {} of {},",
                units_out.len(),
                count(units.len(), "enabled service")
            )
        };
        sayln!(
            "not ready: {} of {} running{of_services} {} out of reach of {PRELOAD_FILE}",
            out_of_reach.len(),
            count(total, "program"),
            if bad == 1 { "is" } else { "are" }
        );
    }
    for (path, program) in &out_of_reach {
        if let Kind::Unreachable(why) = &program.kind {
            sayln!("  {}: {why} ({})", shown(path), pids(&program.pids));
        }
    }
    for (unit, path, why) in &services_out {
        sayln!("  service {}: {}: {why}", shown(unit), shown(path));
    }
    if let (1.., Some(why)) = (bad, &unloadable) {
        sayln!("  {why}");
    }
    match found {
        Ok(found) => sayln!("  library: {} ({})", shown(&found.path), found.how),
        Err(message) => sayln!("  library: {message}"),
    }
    sayln!("  {}", preload_file());
    if library_path.is_some() {
        sayln!("  the library is loaded in {}", processes(loaded));
    }
    for (path, program) in programs.iter().filter(|(_, p)| p.kind == Kind::Go) {
        sayln!(
            "  {}: a Go program: the library loads, but Go makes its own system calls ({})",
            shown(path),
            pids(&program.pids)
        );
    }
    let privileged: Vec<String> = programs
        .iter()
        .filter(|(_, p)| p.privileged && !matches!(p.kind, Kind::Unreachable(_)))
        .map(|(path, _)| shown(path).to_string())
        .collect();
    if !privileged.is_empty() {
        sayln!(
            "  setuid, setgid or with file capabilities, reached by {PRELOAD_FILE} (not by \
             LD_PRELOAD), where the library runs in secure-execution mode: {}",
            privileged.join(" ")
        );
    }
    if unreadable > 0 {
        sayln!(
            "  {} could not be read (another user's without root, or one that forbids it)",
            processes(unreadable as usize)
        );
    }
    if kernel_threads > 0 {
        sayln!(
            "  {} without a program (kernel threads) skipped",
            processes(kernel_threads as usize)
        );
    }
    sayln!(
        "  programs not running now (timers, services started on demand) are not seen: \
         check each with 'eintrfix check PROGRAM'"
    );
    i32::from(!(bad == 0 && unreadable == 0 && unloadable.is_none()))
}

/// Whether the library loads on this machine, as the loader would preload
/// it from `/etc/ld.so.preload`: `/bin/true` run with it preloaded (and no
/// `EINTRFIX_*` variable) must exit 0 and print nothing. A library built
/// for a newer glibc would stop every program from starting.
fn trial(library: &Path) -> Result<(), String> {
    let value = library::preload_value(library, None)?;
    let mut command = std::process::Command::new("/bin/true");
    for name in crate::config::VARIABLES {
        command.env_remove(name);
    }
    let out = command
        .env("LD_PRELOAD", value)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run /bin/true to try the library: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && stderr.trim().is_empty() {
        return Ok(());
    }
    let said = stderr.lines().next().unwrap_or_default().trim();
    Err(format!(
        "the library does not load here: /bin/true under it {} ({said})",
        match out.status.code() {
            Some(0) => "printed an error".to_string(),
            Some(code) => format!("exited with {code}"),
            None => "was killed".to_string(),
        }
    ))
}

/// Where systemd looks for system units: `$SYSTEMD_UNIT_PATH` if set, else
/// its directories, the administrator's first.
fn unit_dirs() -> Vec<PathBuf> {
    match std::env::var_os("SYSTEMD_UNIT_PATH") {
        Some(path) if !path.is_empty() => std::env::split_paths(&path).collect(),
        _ => [
            "/etc/systemd/system",
            "/run/systemd/system",
            "/lib/systemd/system",
            "/usr/lib/systemd/system",
        ]
        .iter()
        .map(PathBuf::from)
        .collect(),
    }
}

/// The enabled services (a `*.service` in a `*.wants` or `*.requires`
/// directory) and the absolute programs of their `ExecStart=` lines, read
/// from the first unit file of that name (drop-ins are not read).
fn services() -> Vec<(String, PathBuf)> {
    let dirs = unit_dirs();
    let mut names = BTreeSet::new();
    for dir in &dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".wants") && !name.ends_with(".requires") {
                continue;
            }
            for unit in std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let unit = unit.file_name().to_string_lossy().into_owned();
                if unit.ends_with(".service") {
                    names.insert(unit);
                }
            }
        }
    }
    let mut found = Vec::new();
    for name in names {
        // An instance (getty@tty1.service) is defined by its template.
        let template = name
            .split_once('@')
            .map(|(base, _)| format!("{base}@.service"));
        let text = dirs.iter().find_map(|dir| {
            std::fs::read_to_string(dir.join(&name)).ok().or_else(|| {
                let template = template.as_ref()?;
                std::fs::read_to_string(dir.join(template)).ok()
            })
        });
        for line in text.unwrap_or_default().lines() {
            let Some(command) = line.trim().strip_prefix("ExecStart=") else {
                continue;
            };
            let program = command
                .trim_start_matches(['@', '-', ':', '+', '!'])
                .split_whitespace()
                .next()
                .unwrap_or_default();
            if program.starts_with('/') {
                found.push((name.clone(), PathBuf::from(program)));
            }
        }
    }
    found
}

/// What a program file is for the loader, a script judged by its `#!`
/// interpreter; `None` if it cannot be read.
fn classify_file(path: &Path, reference: Option<&Elf>) -> Option<Kind> {
    let file = elf::open(path).ok()?;
    let head = file.head(script::HEAD as u64).ok()?;
    let Some(Shebang::Interpreter { name, .. }) = script::shebang(&head) else {
        return Some(classify(&file, reference));
    };
    let interpreter = Path::new(OsStr::from_bytes(&name));
    Some(match classify(&elf::open(interpreter).ok()?, reference) {
        Kind::Unreachable(why) => {
            Kind::Unreachable(format!("a script run by {}: {why}", shown(interpreter)))
        }
        other => other,
    })
}

/// What a program is for the loader.
fn classify(file: &elf::Opened, reference: Option<&Elf>) -> Kind {
    let program = match elf::parse(file, &|_| false) {
        Err(e) if e == elf::NOT_ELF => return Kind::Unreachable(e),
        Ok(program) => program,
        Err(e) => return Kind::Unreachable(format!("unreadable ELF: {e}")),
    };
    let go = program
        .sections
        .iter()
        .any(|s| s == ".go.buildinfo" || s == ".note.go.buildid" || s == ".gopclntab");
    let Some(loader) = &program.interpreter else {
        return Kind::Unreachable(if go {
            "a statically linked Go program: no loader runs".into()
        } else {
            "statically linked: no loader runs, so nothing reads /etc/ld.so.preload".into()
        });
    };
    if loader.contains("musl") {
        return Kind::Unreachable(format!(
            "it asks for musl's loader ({}), which cannot load a glibc library",
            shown(loader)
        ));
    }
    if let Some(reference) = reference {
        if (reference.class64, reference.machine) != (program.class64, program.machine) {
            return Kind::Unreachable(format!(
                "a {}-bit {} program: its loader cannot load the {}-bit {} library, and \
                 would print an error at every start",
                bits(&program),
                elf::machine_name(program.machine),
                bits(reference),
                elf::machine_name(reference.machine)
            ));
        }
    }
    if go {
        Kind::Go
    } else {
        Kind::Reachable
    }
}

/// Whether the process maps the library (already preloaded).
fn maps_library(proc_dir: &Path, library: &Path) -> bool {
    let Ok(maps) = std::fs::read_to_string(proc_dir.join("maps")) else {
        return false;
    };
    let canonical = library.canonicalize().unwrap_or_else(|_| library.into());
    let wanted = canonical.to_string_lossy();
    maps.lines().any(|line| {
        line.split_whitespace()
            .nth(5)
            .is_some_and(|path| path == wanted || path.ends_with("/libeintrfix.so"))
    })
}

/// What `/etc/ld.so.preload` holds now.
fn preload_file() -> String {
    match std::fs::read_to_string(PRELOAD_FILE) {
        Ok(text) => {
            let entries: Vec<&str> = text.split_whitespace().collect();
            if entries.is_empty() {
                format!("{PRELOAD_FILE}: empty")
            } else {
                format!("{PRELOAD_FILE}: holds {}", entries.join(" "))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!("{PRELOAD_FILE}: absent"),
        Err(e) => format!("{PRELOAD_FILE}: cannot read it: {e}"),
    }
}

fn pids(pids: &[u32]) -> String {
    let shown: Vec<String> = pids.iter().take(8).map(u32::to_string).collect();
    let more = pids.len().saturating_sub(shown.len());
    let word = if pids.len() == 1 { "pid" } else { "pids" };
    if more > 0 {
        format!("{word} {} and {more} more", shown.join(" "))
    } else {
        format!("{word} {}", shown.join(" "))
    }
}

fn processes(n: usize) -> String {
    format!("{n} process{}", if n == 1 { "" } else { "es" })
}
