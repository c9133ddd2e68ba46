//! Real libraries under the signals that break real users, each a legacy
//! program that fails bare and works under the shim: ZeroMQ's `zmq_recv`
//! under a profiler's SIGPROF and a periodic SIGALRM, hiredis's socket
//! timeout under a storm, `popen` + `fgets` under SIGCHLD from short-lived
//! children, libcurl writing to a slow pipe under a storm; and Perl's
//! `sysread ... or die` under a storm from another process. The C programs
//! are in `tests/libraries/`, built here against the installed library
//! (scripts/test-deps installs the -dev packages); one line says so when
//! one is missing.

mod common;

use common::{run, Mode, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `tests/libraries/NAME.c` with `libs` (and `c-tests/` searched
/// for headers: the storm in `legacy.h`), or `None` (with one line on
/// stderr) when `header` is not installed.
fn build(name: &str, header: &str, libs: &[&str]) -> Option<PathBuf> {
    if !Path::new("/usr/include").join(header).exists()
        && !Path::new("/usr/include/x86_64-linux-gnu")
            .join(header)
            .exists()
    {
        eprintln!("skipped {name}: {header} is not installed (scripts/test-deps test)");
        return None;
    }
    let root = common::root();
    let dir = root.join("target/lib-tests");
    std::fs::create_dir_all(&dir).expect("target/lib-tests");
    let out = dir.join(name);
    let status = common::status(
        Command::new("gcc")
            .args(["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-I"])
            .arg(root.join("c-tests"))
            .arg("-o")
            .arg(&out)
            .arg(root.join("tests/libraries").join(format!("{name}.c")))
            .args(libs),
    );
    assert!(status.success(), "gcc {name}");
    Some(out)
}

fn exited(run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "{run:?}");
}

/// Bare: exit 1 (a call failed with EINTR, or libcurl's write did);
/// under the shim: exit 0.
fn fails_bare_works_under_the_shim(program: &Path, args: &[&str]) {
    exited(&run(program, args, Mode::Bare), 1);
    exited(&run(program, args, Mode::Shim(&[])), 0);
}

#[test]
fn zmq_recv_under_a_profilers_sigprof() {
    if let Some(program) = build("zmq_recv", "zmq.h", &["-lzmq", "-lpthread"]) {
        fails_bare_works_under_the_shim(&program, &["prof"]);
    }
}

#[test]
fn zmq_recv_under_a_periodic_sigalrm() {
    if let Some(program) = build("zmq_recv", "zmq.h", &["-lzmq", "-lpthread"]) {
        fails_bare_works_under_the_shim(&program, &["alarm"]);
    }
}

#[test]
fn hiredis_times_out_on_time_through_a_storm() {
    let Some(program) = build("hiredis_timeout", "hiredis/hiredis.h", &["-lhiredis"]) else {
        return;
    };
    // Bare, hiredis retries its read with the whole timeout at each
    // signal: the 1 s timeout comes only after the 3 s storm.
    let bare = run(&program, &[], Mode::Bare);
    exited(&bare, 0);
    assert!(bare.figure_ms("timeout") > 3000.0, "{bare:?}");
    let shim = run(&program, &[], Mode::Shim(&[]));
    exited(&shim, 0);
    let took = shim.figure_ms("timeout");
    assert!((990.0..1300.0).contains(&took), "{shim:?}");
}

#[test]
fn popen_and_fgets_under_sigchld_from_short_lived_children() {
    if let Some(program) = build("popen_sigchld", "stdio.h", &["-lpthread"]) {
        fails_bare_works_under_the_shim(&program, &[]);
    }
}

#[test]
fn libcurl_writes_its_body_to_a_slow_pipe_through_a_storm() {
    if let Some(program) = build("curl_slow_pipe", "curl/curl.h", &["-lcurl"]) {
        fails_bare_works_under_the_shim(&program, &[]);
    }
}

#[test]
fn perl_sysread_or_die_under_a_storm_from_another_process() {
    let script = common::root().join("tests/real/perl_sysread_storm.pl");
    let perl = Path::new("/usr/bin/perl");
    let bare = run(perl, &[script.to_str().unwrap()], Mode::Bare);
    assert_ne!(bare.code, Some(0), "{bare:?}");
    assert!(
        bare.stderr.contains("sysread: Interrupted system call"),
        "{bare:?}"
    );
    let shim = run(perl, &[script.to_str().unwrap()], Mode::Shim(&[]));
    exited(&shim, 0);
    assert!(shim.stdout.starts_with("got late data"), "{shim:?}");
}
