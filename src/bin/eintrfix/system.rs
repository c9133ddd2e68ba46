//! `eintrfix check --system`: before the library goes into
//! `/etc/ld.so.preload`, whether the loader would preload it into every
//! program running on the machine. Each running process's program is read
//! through `/proc/PID/exe` (the file it runs, even if it has since been
//! replaced or deleted) with the ELF reader of `elf.rs`; nothing is
//! executed, and no process is touched.
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
use crate::EXIT_OWN_ERROR;
use std::collections::BTreeMap;
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

/// Runs the check: 0 when every running program is reachable, 1 when one
/// is not or some process could not be read, 125 without `/proc`.
pub fn run() -> i32 {
    let entries = match std::fs::read_dir("/proc") {
        Ok(entries) => entries,
        Err(e) => {
            println!("error: /proc: cannot read it: {e}");
            return EXIT_OWN_ERROR;
        }
    };
    let found = library::find();
    let reference = found
        .as_ref()
        .map(|f| f.path.clone())
        .or_else(|_| std::env::current_exe())
        .ok()
        .and_then(|path| elf::parse(&std::fs::read(path).ok()?).ok());
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
                let data = match std::fs::read(&exe) {
                    Ok(data) => data,
                    Err(e) => {
                        unreadable += u32::from(e.kind() == std::io::ErrorKind::PermissionDenied);
                        continue;
                    }
                };
                let privileged = meta.mode() & 0o6000 != 0 || has_capabilities(&exe);
                let kind = classify(&data, reference.as_ref());
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
    let total = programs.len();
    if out_of_reach.is_empty() && unreadable == 0 {
        println!(
            "ready: all {} running ({}) are dynamically linked through glibc's loader: \
             {PRELOAD_FILE} would reach each",
            count(total, "program"),
            processes(running)
        );
    } else if out_of_reach.is_empty() {
        println!(
            "incomplete: {} could not be read (run as root); the {} read are reachable",
            processes(unreadable as usize),
            count(total, "program")
        );
    } else {
        println!(
            "not ready: {} of {} running {} out of reach of {PRELOAD_FILE}",
            out_of_reach.len(),
            count(total, "program"),
            if out_of_reach.len() == 1 { "is" } else { "are" }
        );
    }
    for (path, program) in &out_of_reach {
        if let Kind::Unreachable(why) = &program.kind {
            println!("  {}: {why} ({})", path.display(), pids(&program.pids));
        }
    }
    match found {
        Ok(found) => println!("  library: {} ({})", found.path.display(), found.how),
        Err(message) => println!("  library: {message}"),
    }
    println!("  {}", preload_file());
    if library_path.is_some() {
        println!("  the library is loaded in {}", processes(loaded));
    }
    for (path, program) in programs.iter().filter(|(_, p)| p.kind == Kind::Go) {
        println!(
            "  {}: a Go program: the library loads, but Go makes its own system calls ({})",
            path.display(),
            pids(&program.pids)
        );
    }
    let privileged: Vec<String> = programs
        .iter()
        .filter(|(_, p)| p.privileged && !matches!(p.kind, Kind::Unreachable(_)))
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !privileged.is_empty() {
        println!(
            "  setuid, setgid or with file capabilities, reached by {PRELOAD_FILE} (not by \
             LD_PRELOAD), where the library runs in secure-execution mode: {}",
            privileged.join(" ")
        );
    }
    if unreadable > 0 {
        println!(
            "  {} could not be read (another user's without root, or one that forbids it)",
            processes(unreadable as usize)
        );
    }
    if kernel_threads > 0 {
        println!(
            "  {} without a program (kernel threads) skipped",
            processes(kernel_threads as usize)
        );
    }
    println!(
        "  programs not running now (timers, services started on demand) are not seen: \
         check each with 'eintrfix check PROGRAM'"
    );
    i32::from(!(out_of_reach.is_empty() && unreadable == 0))
}

/// What a program is for the loader.
fn classify(data: &[u8], reference: Option<&Elf>) -> Kind {
    if !elf::is_elf(data) {
        return Kind::Unreachable("not an ELF file".into());
    }
    let program = match elf::parse(data) {
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
            "it asks for musl's loader ({loader}), which cannot load a glibc library"
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
