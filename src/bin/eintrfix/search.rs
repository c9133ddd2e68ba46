//! The needed libraries of a program, found the way the dynamic loader
//! finds them (RPATH, LD_LIBRARY_PATH, RUNPATH, /etc/ld.so.cache, the
//! default directories), breadth-first, each read once.

use crate::check::{HANDLER_INSTALLERS, INSIDE_LIBC};
use crate::elf::{self, Elf};
use crate::functions::Function;
use crate::shown;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;

/// The most distinct library names looked for in one check (a large
/// program needs a few hundred).
pub const MAX_LIBRARIES: usize = 4096;
/// The most candidate files looked at in one check.
pub const MAX_PROBES: usize = 100_000;
/// The most directories of `LD_LIBRARY_PATH` used.
const MAX_LIBRARY_PATH: usize = crate::dynamic::MAX_SEARCH_DIRS;
/// The most candidates refused that the details name.
const MAX_NOTES: usize = 8;

/// A library to find: its name and the search paths of the object that
/// needs it (shared by all the names that object needs).
struct Need {
    name: String,
    origin: Rc<String>,
    rpath: Rc<[String]>,
    runpath: Rc<[String]>,
}

/// What the search of a program's libraries found.
#[derive(Default)]
pub struct Libraries {
    /// Each object (the program, then its libraries breadth-first) that
    /// imports hooked functions, with them.
    pub imports: Vec<(PathBuf, Vec<&'static str>)>,
    /// The libraries found.
    pub libraries: Vec<String>,
    /// The libraries not found.
    pub missing: Vec<String>,
    /// Candidate files that were there but refused, and why (the first few).
    pub refused: Vec<String>,
    /// The libc-internal readers and handler installers imported.
    pub inside: Vec<String>,
}

/// Whether `check` needs to know that an object imports `name`.
pub fn wanted(name: &str) -> bool {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            INSIDE_LIBC
                .iter()
                .chain(HANDLER_INSTALLERS)
                .copied()
                .chain(Function::ALL.iter().map(|f| f.name()))
                .collect()
        })
        .contains(name)
}

/// The state of one search.
struct Search {
    cache: Vec<(String, String)>,
    library_path: Vec<String>,
    class64: bool,
    machine: u16,
    probes: usize,
    refused: Vec<String>,
    refusals: usize,
}

/// Finds and reads the program's libraries, breadth-first. Fails with one
/// line when a bound is passed.
pub fn libraries_of(path: &Path, program: &Elf) -> Result<Libraries, String> {
    let mut library_path: Vec<String> = Vec::new();
    let value = std::env::var_os("LD_LIBRARY_PATH").unwrap_or_default();
    for dir in value.to_string_lossy().split([':', ';']) {
        if !dir.is_empty() && !library_path.iter().any(|d| d == dir) {
            if library_path.len() == MAX_LIBRARY_PATH {
                return Err(format!(
                    "LD_LIBRARY_PATH lists more than {MAX_LIBRARY_PATH} directories"
                ));
            }
            library_path.push(dir.to_string());
        }
    }
    let mut search = Search {
        cache: elf::ld_so_cache(Path::new("/etc/ld.so.cache")),
        library_path,
        class64: program.class64,
        machine: program.machine,
        probes: 0,
        refused: Vec::new(),
        refusals: 0,
    };
    let mut found = Libraries::default();
    let mut seen_names: HashSet<String> = HashSet::new();
    let mut seen_paths: HashSet<PathBuf> = HashSet::new();
    let mut queue = VecDeque::new();

    let mut visit = |object: &Path, elf: &Elf, queue: &mut VecDeque<Need>| -> Result<(), String> {
        found.imports.push((object.to_path_buf(), hooked(elf)));
        for name in &elf.imports {
            let listed =
                INSIDE_LIBC.contains(&name.as_str()) || HANDLER_INSTALLERS.contains(&name.as_str());
            if listed && !found.inside.contains(name) {
                found.inside.push(name.clone());
            }
        }
        let origin = object
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(|p| p.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let (origin, rpath, runpath) = (
            Rc::new(origin),
            Rc::<[String]>::from(elf.rpath.as_slice()),
            Rc::<[String]>::from(elf.runpath.as_slice()),
        );
        for name in &elf.needed {
            if seen_names.insert(name.clone()) {
                if seen_names.len() > MAX_LIBRARIES {
                    return Err(format!(
                        "it and its libraries need more than {MAX_LIBRARIES} libraries"
                    ));
                }
                queue.push_back(Need {
                    name: name.clone(),
                    origin: origin.clone(),
                    rpath: rpath.clone(),
                    runpath: runpath.clone(),
                });
            }
        }
        Ok(())
    };
    visit(path, program, &mut queue)?;
    let (mut libraries, mut missing) = (Vec::new(), Vec::new());
    while let Some(need) = queue.pop_front() {
        match search.find(&need)? {
            Some((found, elf)) => {
                libraries.push(need.name.clone());
                if seen_paths.insert(found.canonicalize().unwrap_or(found.clone())) {
                    visit(&found, &elf, &mut queue)?;
                }
            }
            None => missing.push(need.name),
        }
    }
    // In the lists' order, whatever order the symbols came in.
    found.inside.sort_by_key(|name| {
        INSIDE_LIBC
            .iter()
            .chain(HANDLER_INSTALLERS)
            .position(|n| n == name)
    });
    found.libraries = libraries;
    found.missing = missing;
    found.imports.retain(|(_, hooked)| !hooked.is_empty());
    if search.refusals > search.refused.len() {
        search.refused.push(format!(
            "and {} more candidates refused",
            search.refusals - search.refused.len()
        ));
    }
    found.refused = search.refused;
    Ok(found)
}

/// The hooked functions an object imports, in catalogue order.
fn hooked(elf: &Elf) -> Vec<&'static str> {
    Function::ALL
        .iter()
        .map(|f| f.name())
        .filter(|name| elf.imports.contains(*name))
        .collect()
}

impl Search {
    /// The library at `candidate`, if it is one of the program's class and
    /// machine. A file that is there but cannot be one is noted.
    fn fits(&mut self, candidate: &Path) -> Result<Option<(PathBuf, Elf)>, String> {
        self.probes += 1;
        if self.probes > MAX_PROBES {
            return Err(format!(
                "looked at more than {MAX_PROBES} candidate files for its libraries"
            ));
        }
        let read = elf::open(candidate).and_then(|file| elf::parse(&file, &wanted));
        Ok(match read {
            Ok(elf) if (elf.class64, elf.machine) == (self.class64, self.machine) => {
                Some((candidate.to_path_buf(), elf))
            }
            Ok(_) => None,
            Err(reason) => {
                // A file that is not there is the usual miss, not a refusal.
                if std::fs::symlink_metadata(candidate).is_ok() {
                    self.refusals += 1;
                    if self.refused.len() < MAX_NOTES {
                        self.refused.push(format!("{}: {reason}", shown(candidate)));
                    }
                }
                None
            }
        })
    }

    /// Finds a needed library the way the loader does, keeping only files
    /// of the program's class and machine.
    fn find(&mut self, need: &Need) -> Result<Option<(PathBuf, Elf)>, String> {
        if need.name.contains('/') {
            return self.fits(Path::new(&need.name));
        }
        let expand = |dir: &String| {
            PathBuf::from(
                dir.replace("${ORIGIN}", &need.origin)
                    .replace("$ORIGIN", &need.origin),
            )
        };
        let mut dirs: Vec<PathBuf> = Vec::new();
        if need.runpath.is_empty() {
            dirs.extend(need.rpath.iter().map(expand));
        }
        dirs.extend(self.library_path.iter().map(PathBuf::from));
        dirs.extend(need.runpath.iter().map(expand));
        let cached: Vec<PathBuf> = self
            .cache
            .iter()
            .filter(|(name, _)| *name == need.name)
            .map(|(_, path)| PathBuf::from(path))
            .collect();
        let defaults = [
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/lib",
            "/usr/lib",
        ];
        let candidates = dirs
            .iter()
            .map(|d| d.join(&need.name))
            .chain(cached)
            .chain(defaults.iter().map(|d| Path::new(d).join(&need.name)));
        for candidate in candidates {
            if let Some(found) = self.fits(&candidate)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}
