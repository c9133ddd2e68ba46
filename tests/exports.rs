//! The README's table of hooked functions and the library's exported
//! symbols must agree, so the documentation cannot drift: every exported
//! symbol is in the table, and every function in the table is exported.
//! The signal bookkeeping group never fails with EINTR, so it has no
//! policy name in `src/functions.rs`.

mod common;
use std::collections::BTreeSet;
use std::process::Command;

/// The row group of hooks that are not EINTR hooks.
const SIGNAL_GROUP: &str = "signal bookkeeping";

/// The names in backquotes in the first column of each row of the README's
/// "Hooked functions" table, as (name, in the signal group).
fn documented() -> Vec<(String, bool)> {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README.md");
    let section = readme
        .split("\n## Hooked functions\n")
        .nth(1)
        .expect("a Hooked functions section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut names = Vec::new();
    for row in section.lines().filter(|l| l.starts_with('|')).skip(2) {
        let first = row.split('|').nth(1).unwrap_or_default();
        let signal = first.contains(SIGNAL_GROUP);
        // Backquoted words that are C names (not `TIMER_ABSTIME`-like flags:
        // the first column holds only function names).
        for (i, part) in first.split('`').enumerate() {
            if i % 2 == 1 {
                names.push((part.to_string(), signal));
            }
        }
    }
    names
}

/// The library's exported (defined, dynamic) symbols.
fn exported() -> BTreeSet<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(common::library())
        .output()
        .expect("nm runs (binutils)");
    assert!(out.status.success(), "nm failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .collect()
}

#[test]
fn every_exported_symbol_is_documented_and_every_hook_exported() {
    let documented = documented();
    let exported = exported();
    assert!(exported.len() > 50, "too few exports: {exported:?}");
    let all: BTreeSet<&str> = documented.iter().map(|(n, _)| n.as_str()).collect();
    let mut seen = BTreeSet::new();
    for (name, _) in &documented {
        assert!(seen.insert(name.as_str()), "`{name}` twice in the table");
    }
    let undocumented: Vec<&String> = exported
        .iter()
        .filter(|n| !all.contains(n.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "exported but not in README's Hooked functions: {undocumented:?}"
    );
    let missing: Vec<&str> = documented
        .iter()
        .filter(|(name, _)| !exported.contains(name))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "in README's Hooked functions but not exported: {missing:?}"
    );
}

/// The names in `src/functions.rs`'s catalogue: what `EINTRFIX_POLICY`
/// accepts and tracing reports.
fn catalogued() -> BTreeSet<String> {
    let source =
        std::fs::read_to_string(common::root().join("src/functions.rs")).expect("src/functions.rs");
    let body = source
        .split("\ncatalogue! {")
        .nth(1)
        .expect("the catalogue")
        .split("\n}")
        .next()
        .unwrap_or_default();
    body.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .flat_map(|l| l.split(','))
        .filter_map(|item| item.split("=>").next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn every_hook_has_a_policy_name_and_every_name_a_hook() {
    let catalogued = catalogued();
    let exported = exported();
    let signal_group: BTreeSet<String> = documented()
        .into_iter()
        .filter(|(_, signal)| *signal)
        .map(|(name, _)| name)
        .collect();
    let unnamed: Vec<&String> = exported
        .iter()
        .filter(|n| !catalogued.contains(*n) && !signal_group.contains(*n))
        .collect();
    assert!(
        unnamed.is_empty(),
        "exported hooks missing from src/functions.rs: {unnamed:?}"
    );
    let unhooked: Vec<&String> = catalogued
        .iter()
        .filter(|n| !exported.contains(*n))
        .collect();
    assert!(
        unhooked.is_empty(),
        "catalogued but not exported: {unhooked:?}"
    );
}

/// The aliases, large-file and fortified entry points that a program or a
/// library may call by name, and that can wait interruptibly: each in
/// `c-tests/alias_calls.c`, which finds it with `dlsym`, fails bare with
/// EINTR under a storm, keeps it with `pass`, and works under the shim.
const ALIASES: &[&str] = &[
    "__read",
    "__write",
    "__send",
    "__connect",
    "__poll",
    "__select",
    "__nanosleep",
    "__wait",
    "__waitpid",
    "open64",
    "openat",
    "openat64",
    "__open_2",
    "__open64_2",
    "__openat_2",
    "__openat64_2",
    "fcntl64",
];

/// Hooked functions no test interrupts, and why.
const NOT_INTERRUPTED: &[(&str, &str)] = &[
    ("pread", POSITIONED),
    ("pwrite", POSITIONED),
    ("pread64", POSITIONED),
    ("pwrite64", POSITIONED),
    ("preadv", POSITIONED),
    ("pwritev", POSITIONED),
    ("__pread_chk", POSITIONED),
    ("__pread64_chk", POSITIONED),
    (
        "__close",
        "close is never retried, and no descriptor here waits in close",
    ),
];

/// Why the positioned forms are not interrupted (`preadv2` and
/// `pwritev2` are: an offset of -1 uses a pipe's current position).
const POSITIONED: &str = "needs a seekable descriptor, and none of those waits interruptibly";

#[test]
fn every_alias_that_can_wait_is_retried_as_its_base() {
    for name in ALIASES {
        common::legacy::legacy("alias_calls", &[name]);
    }
}

/// Every catalogued function is named by a test or a test program (its
/// legacy program, or [`ALIASES`]), or listed in [`NOT_INTERRUPTED`].
#[test]
fn every_hooked_function_is_tested_or_says_why_not() {
    let root = common::root();
    let mut sources = String::new();
    for dir in ["tests", "c-tests", "audit-tests"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("a test folder") {
            let path = entry.expect("an entry").path();
            let is_test = matches!(path.extension().and_then(|e| e.to_str()), Some("rs" | "c"));
            if is_test && !path.ends_with("exports.rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                sources.push('\n');
            }
        }
    }
    let named = |name: &str| {
        sources.match_indices(name).any(|(at, _)| {
            let before = sources[..at].chars().next_back();
            let after = sources[at + name.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !word(before) && !word(after)
        })
    };
    let untested: Vec<String> = catalogued()
        .into_iter()
        .filter(|name| {
            !named(name)
                && !ALIASES.contains(&name.as_str())
                && !NOT_INTERRUPTED.iter().any(|(n, _)| n == name)
        })
        .collect();
    assert!(
        untested.is_empty(),
        "hooked functions no test names, and not in NOT_INTERRUPTED: {untested:?}"
    );
    for (name, _) in NOT_INTERRUPTED {
        assert!(
            !named(name),
            "{name} is tested now: take it out of NOT_INTERRUPTED"
        );
    }
}
