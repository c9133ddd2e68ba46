//! How the library finds the real functions: as `dlsym(RTLD_NEXT)` finds
//! them (src/real/lookup.rs). An interposer preloaded after the shim must
//! stay between the shim and libc, whether the lookup reads the symbol
//! tables itself (the interposer defines `write` only: the walk goes
//! through it to libc) or stops at it (it defines `read` too, the
//! function the walk is anchored on).

mod common;
use common::{c_program, library, root};
use std::process::Command;

/// Builds `c-tests/lib/NAME.c` with `flags` into target/c-tests/OUT.
fn shared_library(name: &str, out: &str, flags: &[&str]) -> std::path::PathBuf {
    let out = root().join("target/c-tests").join(out);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC"])
        .arg("-o")
        .arg(&out)
        .arg(root().join(format!("c-tests/lib/{name}.c")))
        .args(flags)
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed");
    out
}

/// Builds `c-tests/lib/next_write.c` with `defines` into target/c-tests.
fn interposer(name: &str, defines: &[&str]) -> std::path::PathBuf {
    shared_library("next_write", name, &[defines, &["-ldl"]].concat())
}

/// Runs write_pipe (a 1 MiB write under a signal storm) with `preload`;
/// returns its exit code and how many writes the interposer saw.
fn writes_seen(preload: &str) -> (Option<i32>, u64, String) {
    let out = Command::new(c_program("write_pipe"))
        .env("LD_PRELOAD", preload)
        .env_remove("EINTRFIX_POLICY")
        .output()
        .expect("write_pipe runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let writes = stderr
        .lines()
        .find_map(|l| l.strip_prefix("next_write: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stderr:?}"));
    (out.status.code(), writes, stderr)
}

#[test]
fn an_interposer_loaded_after_the_shim_stays_between_it_and_libc() {
    for (name, defines) in [
        ("libnext_write.so", &[][..]),
        ("libnext_write_read.so", &["-DWITH_READ"][..]),
    ] {
        let next = interposer(name, defines);
        let preload = format!("{} {}", library().display(), next.display());
        let (code, writes, stderr) = writes_seen(&preload);
        assert_eq!(code, Some(0), "{name}: the shim retried nothing? {stderr}");
        assert!(
            writes > 0,
            "{name}: the shim's writes bypassed the interposer: {stderr}"
        );
    }
}

/// A first call of a hooked function resolves it without the loader's
/// lock: `c-tests/lib/first_calls.c`'s constructor, run by dlopen under
/// that lock, waits for a thread's first calls (bounded at 5 s, then exit
/// 1). A look-up through dlsym there would wait for the constructor.
#[test]
fn a_first_call_resolves_without_the_loaders_lock() {
    let library = shared_library("first_calls", "libfirst_calls.so", &["-lpthread"]);
    let program = c_program("first_call_locked");
    for preload in [None, Some(library_path())] {
        let mut cmd = Command::new(&program);
        cmd.arg(&library).env_remove("LD_PRELOAD");
        if let Some(preload) = &preload {
            cmd.env("LD_PRELOAD", preload);
        }
        let out = cmd.output().expect("first_call_locked runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "preload {preload:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn library_path() -> String {
    library().display().to_string()
}
