//! The library's modules import one another without cycles: each module
//! depends only on modules below it (docs/design.md, Layout). Read from the
//! sources: every `crate::...` and `super::...` path and every use of a
//! child module's name, outside comments and test modules, is an edge to
//! the module it names. And every legacy program in `c-tests/` is run by
//! some test, every source file in `src/` is named in the Layout, and
//! errno is kept around the shim's own calls by its one helper.

mod common;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The library's modules, by path (`trace::event`; the crate root is
/// ""), with their source outside test modules and comments.
fn modules() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    collect(&common::root().join("src"), &mut Vec::new(), &mut found);
    found
}

fn collect(dir: &Path, path: &mut Vec<String>, found: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = entry.path();
        if file.is_dir() {
            // src/bin is the command; src/config/ holds config's tests.
            if path.is_empty() && (name == "bin" || name == "config") {
                continue;
            }
            path.push(name);
            collect(&file, path, found);
            path.pop();
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let mut module = path.clone();
            if stem != "mod" && !(path.is_empty() && stem == "lib") {
                module.push(stem.to_string());
            }
            let source = std::fs::read_to_string(&file).unwrap();
            found.insert(module.join("::"), code_of(&source));
        }
    }
}

/// The source without comments and without its test modules.
fn code_of(source: &str) -> String {
    let mut code = String::new();
    let mut test_attribute = false;
    for line in source.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let trimmed = line.trim();
        if trimmed == "#[cfg(test)]" {
            test_attribute = true;
            continue;
        }
        if test_attribute && trimmed.starts_with("mod ") {
            break;
        }
        if !trimmed.starts_with("#[") {
            test_attribute = false;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// The modules `module` names, resolved to the longest module prefix.
fn dependencies(module: &str, code: &str, all: &BTreeMap<String, String>) -> BTreeSet<String> {
    let own: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.contains("::"))
        .collect();
    let mut found = BTreeSet::new();
    for word in words {
        let parts: Vec<&str> = word.split("::").filter(|p| !p.is_empty()).collect();
        if parts.len() < 2 {
            // `use super::*;` is an inline module's (`mod slot` in real.rs)
            // or a test's: not a module's import.
            continue;
        }
        let full: Vec<&str> = match parts.first() {
            Some(&"crate") => parts[1..].to_vec(),
            Some(&"super") => {
                // `super` of a module is its parent.
                let parent = &own[..own.len().saturating_sub(1)];
                parent
                    .iter()
                    .copied()
                    .chain(parts[1..].iter().copied())
                    .collect()
            }
            // A child module's name, used bare.
            Some(&first)
                if all.contains_key(
                    &own.iter()
                        .chain([&first])
                        .copied()
                        .collect::<Vec<_>>()
                        .join("::"),
                ) =>
            {
                own.iter().copied().chain(parts.iter().copied()).collect()
            }
            _ => continue,
        };
        let target = (0..=full.len())
            .rev()
            .map(|n| full[..n].join("::"))
            .find(|candidate| all.contains_key(candidate));
        if let Some(target) = target.filter(|t| t != module) {
            found.insert(target);
        }
    }
    found
}

/// A cycle through `start`, if there is one.
fn cycle_from(
    start: &str,
    graph: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let here = path.last().cloned().unwrap_or_else(|| start.to_string());
    for next in graph.get(&here).into_iter().flatten() {
        if next == start {
            let mut cycle = vec![start.to_string()];
            cycle.extend(path.iter().cloned());
            cycle.push(start.to_string());
            return Some(cycle);
        }
        if !path.contains(next) && next.as_str() > start {
            path.push(next.clone());
            if let Some(cycle) = cycle_from(start, graph, path) {
                return Some(cycle);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let all = modules();
    assert!(all.contains_key("trace::event") && all.contains_key("hooks::retry"));
    let graph: BTreeMap<String, BTreeSet<String>> = all
        .iter()
        .map(|(module, code)| (module.clone(), dependencies(module, code, &all)))
        .collect();
    assert!(graph["policy"].contains("trace"), "the reader sees imports");
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_from(m, &graph, &mut Vec::new()))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

/// Every program in `c-tests/` is named (in quotes) by a test under
/// `tests/`: the families' tables and runs (`tests/*_calls.rs`), signals,
/// tracing, stdio, runtimes and the rest.
#[test]
fn every_legacy_program_is_run_by_a_test() {
    let tests: String = std::fs::read_dir(common::root().join("tests"))
        .expect("tests/ is readable")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect();
    let mut unrun: Vec<String> = std::fs::read_dir(common::root().join("c-tests"))
        .expect("c-tests/ is readable")
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".c").map(str::to_owned)
        })
        .filter(|name| !tests.contains(&format!("\"{name}\"")))
        .collect();
    unrun.sort();
    assert!(unrun.is_empty(), "run by no test under tests/: {unrun:?}");
}

/// The rows of the Layout table in docs/design.md.
fn layout_rows() -> Vec<String> {
    let design = std::fs::read_to_string(common::root().join("docs/design.md"))
        .expect("docs/design.md is readable");
    design
        .split("\n## ")
        .find(|section| section.starts_with("Layout\n"))
        .expect("docs/design.md has a Layout section")
        .lines()
        .filter(|line| line.starts_with('|'))
        .map(str::to_owned)
        .collect()
}

/// The source files below `dir` (test modules left out), by path from
/// the clone's root.
fn sources(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            sources(&path, found);
        } else if (name.ends_with(".rs") || name.ends_with(".c"))
            && name != "tests.rs"
            && name != "proptests.rs"
        {
            let relative = path.strip_prefix(common::root()).unwrap();
            found.push(relative.to_string_lossy().into_owned());
        }
    }
}

/// Whether `row` names the file `path` (`src/code/words.rs`): by its path,
/// or by its name in code (`words`, `words.rs`) in a row that names a
/// folder or module it lies in (`src/code/`, `src/code.rs`); a `mod.rs`
/// by its folder.
fn names(row: &str, path: &str) -> bool {
    if row.contains(&format!("`{path}`")) {
        return true;
    }
    let (parent, file) = path.rsplit_once('/').unwrap();
    let (stem, extension) = file.rsplit_once('.').unwrap();
    let mut folder = parent;
    loop {
        let folder_named =
            row.contains(&format!("`{folder}/`")) || row.contains(&format!("`{folder}.rs`"));
        if folder_named && stem == "mod" && folder == parent {
            return true;
        }
        let file_named = [
            format!("`{stem}`"),
            format!("`{stem}.{extension}`"),
            format!("/{stem}.{extension}`"),
            format!("`{stem}/"),
            format!("/{stem}/`"),
        ]
        .iter()
        .any(|name| row.contains(name.as_str()));
        if folder_named && file_named {
            return true;
        }
        match folder.rsplit_once('/') {
            Some((up, _)) => folder = up,
            None => return false,
        }
    }
}

/// Every source file in `src/` is named in docs/design.md's Layout table,
/// so that a newcomer finds each file's job there.
#[test]
fn every_source_file_is_named_in_the_layout() {
    let rows = layout_rows();
    assert!(names(
        "| `src/code.rs`, `src/code/` | `words` reads |",
        "src/code/words.rs"
    ));
    assert!(!names(
        "| `src/code.rs` | `words` reads |",
        "src/trace/words.rs"
    ));
    assert!(names("| `src/hooks/` | by family |", "src/hooks/mod.rs"));
    let mut files = Vec::new();
    sources(&common::root().join("src"), &mut files);
    files.sort();
    assert!(files.len() > 50, "{files:?}");
    let unnamed: Vec<&String> = files
        .iter()
        .filter(|path| !rows.iter().any(|row| names(row, path)))
        .collect();
    assert!(
        unnamed.is_empty(),
        "not named in docs/design.md's Layout: {unnamed:#?}"
    );
}

/// errno is kept around the shim's own calls by `errno::preserved` alone:
/// no source file but `src/errno.rs` saves it in a variable
/// (`let saved = errno::get();`) that it later sets it back from.
#[test]
fn errno_is_kept_by_its_one_helper() {
    let mut files = Vec::new();
    sources(&common::root().join("src"), &mut files);
    let mut by_hand = Vec::new();
    for path in files.iter().filter(|p| p.as_str() != "src/errno.rs") {
        let source = std::fs::read_to_string(common::root().join(path)).unwrap();
        for line in source.lines() {
            let Some((left, _)) = line.split_once("errno::get();") else {
                continue;
            };
            let Some(name) = left
                .trim()
                .trim_end_matches("crate::")
                .trim_end()
                .strip_prefix("let ")
                .and_then(|rest| rest.strip_suffix('='))
                .map(|name| name.trim().trim_start_matches("mut "))
            else {
                continue;
            };
            if source.contains(&format!("errno::set({name})")) {
                by_hand.push(format!("{path}: {}", line.trim()));
            }
        }
    }
    assert!(by_hand.is_empty(), "errno saved by hand: {by_hand:#?}");
}
