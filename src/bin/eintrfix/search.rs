//! The needed libraries of a program, found the way the dynamic loader
//! finds them (RPATH, LD_LIBRARY_PATH, RUNPATH, /etc/ld.so.cache, the
//! default directories), breadth-first, each read once.

use crate::check::{HANDLER_INSTALLERS, INSIDE_LIBC};
use crate::elf::{self, Elf};
use crate::functions::Function;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

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

pub fn walk(path: &Path, program: &Elf) -> Walked {
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
