//! The `eintrfix` command: options, exit codes, LD_PRELOAD, library lookup
//! from the build tree and from an installed prefix, `check`, and
//! `make install`/`make uninstall`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The built command, beside the built library (the build tree).
fn eintrfix() -> PathBuf {
    common::library();
    common::root().join("target/release/eintrfix")
}

/// A fresh, empty directory for one test, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        self.0.join(path)
    }
    fn to_str(&self) -> Option<&str> {
        self.0.to_str()
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "eintrfix-cli-{}-{}-{name}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

/// Runs `program args` with no EINTRFIX_* variables and no LD_PRELOAD
/// inherited, plus `env`.
fn run_with(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") || key == "LD_PRELOAD" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("runs")
}

fn cli(args: &[&str]) -> Output {
    run_with(&eintrfix(), args, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What a program sees of one variable, through `sh -c 'printf %s "$VAR"'`.
fn seen(args: &[&str], env: &[(&str, &str)], variable: &str) -> String {
    let mut all: Vec<&str> = args.to_vec();
    let script = format!("printf '%s' \"${variable}\"");
    all.extend(["--", "sh", "-c", &script]);
    let out = run_with(&eintrfix(), &all, env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn help_and_version() {
    let help = cli(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    for option in [
        "--policy",
        "--pass-signals",
        "--alarm-timeouts",
        "--thread-signals",
        "--max-retries",
        "--log",
        "--log-file",
        "--log-format",
        "--json",
        "--summary",
        "--version",
        "EINTRFIX_LIB",
        "check PROGRAM",
    ] {
        assert!(help.contains(option), "--help lacks {option}");
    }
    assert_eq!(text(&cli(&["-h"]).stdout), help);
    let version = cli(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    let version = text(&version.stdout);
    assert!(version.starts_with(&format!("eintrfix {}\n", env!("CARGO_PKG_VERSION"))));
    assert!(
        version.contains("libeintrfix.so (beside the command)"),
        "{version}"
    );
}

#[test]
fn each_option_sets_its_variable() {
    for (args, variable, value) in [
        (
            &["--policy", "pass,connect=retry"][..],
            "EINTRFIX_POLICY",
            "pass,connect=retry",
        ),
        (&["--policy=log"], "EINTRFIX_POLICY", "log"),
        (
            &["--pass-signals", "INT,HUP"],
            "EINTRFIX_PASS_SIGNALS",
            "INT,HUP",
        ),
        (
            &["--alarm-timeouts", "retry"],
            "EINTRFIX_ALARM_TIMEOUTS",
            "retry",
        ),
        (
            &["--thread-signals", "retry"],
            "EINTRFIX_THREAD_SIGNALS",
            "retry",
        ),
        (&["--max-retries", "7"], "EINTRFIX_MAX_RETRIES", "7"),
        (&["--log", "eintrfix=info"], "EINTRFIX_LOG", "eintrfix=info"),
        (
            &["--log-file", "/tmp/x.%p.log"],
            "EINTRFIX_LOG_FILE",
            "/tmp/x.%p.log",
        ),
        (&["--log-format", "json"], "EINTRFIX_LOG_FORMAT", "json"),
        (&["--json"], "EINTRFIX_LOG_FORMAT", "json"),
        (&["--summary"], "EINTRFIX_SUMMARY", "1"),
        (
            &["--runtimes", "auto,libruby.so.3.1"],
            "EINTRFIX_RUNTIMES",
            "auto,libruby.so.3.1",
        ),
    ] {
        assert_eq!(seen(args, &[], variable), value, "{args:?}");
    }
    // The last option wins, and an option overrides the environment.
    assert_eq!(
        seen(
            &["--policy", "pass", "--policy", "log"],
            &[("EINTRFIX_POLICY", "retry")],
            "EINTRFIX_POLICY"
        ),
        "log"
    );
    // A variable no option set is left as it was.
    assert_eq!(
        seen(
            &[],
            &[("EINTRFIX_MAX_RETRIES", "3")],
            "EINTRFIX_MAX_RETRIES"
        ),
        "3"
    );
}

#[test]
fn bad_options_and_variables_exit_125_before_starting_anything() {
    let dir = temp_dir("bad");
    let marker = dir.join("started");
    let touch = format!("touch {}", marker.display());
    for (args, env, expected) in [
        (
            &["--policy", "retyr"][..],
            &[][..],
            "--policy: unknown policy 'retyr'",
        ),
        (&["--policy", "reed=pass"], &[], "unknown function 'reed'"),
        (
            &["--pass-signals", "SIGFOO"],
            &[],
            "--pass-signals: unknown signal 'SIGFOO'",
        ),
        (&["--alarm-timeouts", "log"], &[], "--alarm-timeouts"),
        (&["--thread-signals", "log"], &[], "--thread-signals"),
        (&["--max-retries", "-1"], &[], "--max-retries: not a number"),
        (&["--log", "loud"], &[], "--log: unknown level"),
        (
            &["--log-format", "xml"],
            &[],
            "--log-format: unknown format 'xml'",
        ),
        (
            &["--log-file", "/nonexistent-dir/x.log"],
            &[],
            "does not exist",
        ),
        (
            &["--runtimes", "lib/libruby.so"],
            &[],
            "--runtimes: a relative path 'lib/libruby.so'",
        ),
        (
            &[],
            &[("EINTRFIX_RUNTIMES", "auto,none")],
            "EINTRFIX_RUNTIMES (from the environment): a list holding 'none'",
        ),
        (&["--bogus"], &[], "unknown option '--bogus'"),
        (&["--json=1"], &[], "--json takes no value"),
        (&["--policy="], &[], "--policy: empty value"),
        (
            &[],
            &[("EINTRFIX_POLICY", "sometimes")],
            "EINTRFIX_POLICY (from the environment): unknown policy",
        ),
    ] {
        let mut all = args.to_vec();
        all.extend(["--", "sh", "-c", &touch]);
        let out = run_with(&eintrfix(), &all, env);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(stderr.starts_with("eintrfix: "), "{stderr}");
        assert!(!marker.exists(), "{args:?} started the program");
    }
    let out = cli(&["--policy"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("--policy needs a value"));
    for args in [&[][..], &["--summary"], &["--"]] {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert!(text(&out.stderr).contains("no program given"));
    }
}

#[test]
fn a_log_file_planted_in_a_shared_directory_exits_125_before_starting_anything() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to make files of another user");
        return;
    }
    use std::os::unix::fs::{lchown, symlink};
    let shared = temp_dir("shared");
    std::fs::set_permissions(&*shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let private = temp_dir("private");
    std::fs::set_permissions(&*private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let victim = private.join("victim");
    std::fs::write(&victim, "").unwrap();
    let marker = private.join("started");
    let touch = format!("touch {}", marker.display());
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let _ = std::fs::remove_file(&marker);
        let mut all = args.to_vec();
        all.extend(["--", "sh", "-c", &touch]);
        let out = run_with(&eintrfix(), &all, env);
        (out.status.code(), text(&out.stderr), marker.exists())
    };
    let planted = shared.join("app.log");
    symlink(&victim, &planted).unwrap();
    lchown(&planted, Some(65534), None).unwrap();
    let planted = planted.to_str().unwrap();
    let reason = "it is a symbolic link owned by uid 65534 in a sticky world-writable \
                  directory, and the protected_symlinks rule follows one there only if owned \
                  by the effective uid (0) or the directory's owner (0)";
    assert_eq!(
        run(&["--log-file", planted], &[]),
        (
            Some(125),
            format!("eintrfix: --log-file: refusing '{planted}': {reason}\n"),
            false
        )
    );
    assert_eq!(
        run(&[], &[("EINTRFIX_LOG_FILE", planted)]),
        (
            Some(125),
            format!(
                "eintrfix: EINTRFIX_LOG_FILE (from the environment): refusing '{planted}': \
                 {reason}\n"
            ),
            false
        )
    );
    let theirs = shared.join("theirs.log");
    std::fs::write(&theirs, "").unwrap();
    lchown(&theirs, Some(65534), None).unwrap();
    let (code, stderr, started) = run(&["--log-file", theirs.to_str().unwrap()], &[]);
    assert_eq!((code, started), (Some(125), false), "{stderr}");
    assert!(stderr.contains("the protected_regular rule"), "{stderr}");

    // What the rules allow runs (and the library, loaded in `sh`, creates
    // the file at start-up).
    let own = shared.join("own.log");
    symlink(private.join("own-target.log"), &own).unwrap();
    let elsewhere = private.join("link.log");
    symlink(&victim, &elsewhere).unwrap();
    lchown(&elsewhere, Some(65534), None).unwrap();
    let per_process = shared.join("app-%p.log");
    for allowed in [&own, &elsewhere, &shared.join("new.log"), &per_process] {
        let got = run(&["--log-file", allowed.to_str().unwrap()], &[]);
        assert_eq!(got, (Some(0), String::new(), true), "{allowed:?}");
    }
    assert!(private.join("own-target.log").exists());
    assert!(shared.join("new.log").exists());
}

#[test]
fn exit_codes_like_env() {
    let dir = temp_dir("exit");
    let not_exec = dir.join("not-executable");
    std::fs::write(&not_exec, "#!/bin/sh\nexit 0\n").unwrap();
    let out = cli(&[not_exec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Permission denied"));
    let out = cli(&[dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126), "a directory");

    let out = cli(&["no-such-program-eintrfix"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        text(&out.stderr),
        "eintrfix: cannot run 'no-such-program-eintrfix': No such file or directory\n"
    );
    assert_eq!(
        cli(&[dir.join("missing").to_str().unwrap()]).status.code(),
        Some(127)
    );

    for code in ["0", "1", "42", "125", "126", "127"] {
        let out = cli(&["sh", "-c", &format!("exit {code}")]);
        assert_eq!(out.status.code(), Some(code.parse().unwrap()));
    }
}

#[test]
fn the_program_keeps_the_commands_pid_and_signals() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(eintrfix())
        .args(["--", "sh", "-c", "echo $$; exec sleep 30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(
        line.trim().parse::<u32>().unwrap(),
        child.id(),
        "execvp keeps the pid"
    );
    // SAFETY: kill has no memory effects; the child is ours and unreaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
}

#[test]
fn the_library_goes_first_in_ld_preload_and_keeps_what_was_there() {
    let lib = common::library().canonicalize().unwrap();
    let lib = lib.to_str().unwrap();
    assert_eq!(seen(&[], &[], "LD_PRELOAD"), lib);
    // Another preload stays, after ours; it must be loadable, so use libm.
    let libm = "libm.so.6";
    assert_eq!(
        seen(&[], &[("LD_PRELOAD", libm)], "LD_PRELOAD"),
        format!("{lib}:{libm}")
    );
    // A nested eintrfix does not list the library twice.
    let nested = run_with(
        &eintrfix(),
        &[
            "--",
            eintrfix().to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "printf %s \"$LD_PRELOAD\"",
        ],
        &[("LD_PRELOAD", libm)],
    );
    assert_eq!(text(&nested.stdout), format!("{lib}:{libm}"));
    // The shim is really loaded in the program: a legacy program works.
    let read_pipe = common::c_program("read_pipe");
    let out = run_with(
        &eintrfix(),
        &[read_pipe.to_str().unwrap()],
        &[("LD_PRELOAD", libm)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run_with(&read_pipe, &[], &[]);
    assert_eq!(out.status.code(), Some(1), "bare must fail");
    // Options reach the library: --policy pass lets the EINTR through.
    let out = cli(&["--policy", "pass", read_pipe.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn library_lookup_override_build_tree_installed_and_never_the_current_directory() {
    let built = common::library().canonicalize().unwrap();
    // EINTRFIX_LIB overrides: a copy elsewhere.
    let dir = temp_dir("lookup");
    let copy = dir.join("copy-of-libeintrfix.so");
    std::fs::copy(&built, &copy).unwrap();
    let out = run_with(
        &eintrfix(),
        &["--version"],
        &[("EINTRFIX_LIB", copy.to_str().unwrap())],
    );
    assert!(text(&out.stdout).contains(&format!("{} (from EINTRFIX_LIB)", copy.display())));
    let out = run_with(
        &eintrfix(),
        &["true"],
        &[("EINTRFIX_LIB", "/nonexistent/lib.so")],
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("EINTRFIX_LIB"));

    // An installed layout: PREFIX/bin/eintrfix and PREFIX/lib/eintrfix/.
    let prefix = dir.join("prefix");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    std::fs::create_dir_all(prefix.join("lib/eintrfix")).unwrap();
    let command = prefix.join("bin/eintrfix");
    std::fs::copy(eintrfix(), &command).unwrap();
    let installed = prefix.join("lib/eintrfix/libeintrfix.so");
    std::fs::copy(&built, &installed).unwrap();
    let out = run_with(&command, &["--version"], &[]);
    assert!(
        text(&out.stdout).contains(&format!(
            "{} (in the installed libdir)",
            installed.canonicalize().unwrap().display()
        )),
        "{}",
        text(&out.stdout)
    );

    // The Debian package's layout: /usr/bin/eintrfix and
    // /usr/lib/TUPLE/eintrfix/ (TUPLE as gcc names it, as make deb does).
    let tuple = text(&common::output(Command::new("gcc").arg("-print-multiarch")).stdout)
        .trim()
        .to_owned();
    let usr = dir.join("usr");
    let packaged = usr.join("lib").join(&tuple).join("eintrfix");
    std::fs::create_dir_all(usr.join("bin")).unwrap();
    std::fs::create_dir_all(&packaged).unwrap();
    std::fs::copy(eintrfix(), usr.join("bin/eintrfix")).unwrap();
    std::fs::copy(&built, packaged.join("libeintrfix.so")).unwrap();
    let out = run_with(&usr.join("bin/eintrfix"), &["--version"], &[]);
    assert!(
        text(&out.stdout).contains(&format!(
            "{} (in the multiarch libdir)",
            packaged
                .join("libeintrfix.so")
                .canonicalize()
                .unwrap()
                .display()
        )),
        "{}",
        text(&out.stdout)
    );

    // Without a library, the command fails with 125, even when the current
    // directory holds one.
    std::fs::remove_file(&installed).unwrap();
    std::fs::copy(&built, dir.join("libeintrfix.so")).unwrap();
    let out = Command::new(&command)
        .args(["true"])
        .current_dir(&*dir)
        .env_remove("EINTRFIX_LIB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("cannot find libeintrfix.so"));
}

/// `eintrfix check` on `target`: (exit code, verdict line, whole output).
fn check(target: &str) -> (Option<i32>, String, String) {
    let out = cli(&["check", target]);
    let stdout = text(&out.stdout);
    let verdict = stdout.lines().next().unwrap_or_default().to_string();
    (out.status.code(), verdict, stdout)
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn check_a_dynamic_program_lists_its_hooked_imports() {
    let (code, verdict, out) = check("perl");
    assert_eq!(code, Some(0), "{out}");
    assert!(verdict.starts_with("reachable: /"), "{verdict}");
    assert!(
        out.contains(" accept4") && out.contains(" waitpid"),
        "{out}"
    );
    // A program that imports none of the hooked functions.
    let (code, verdict, _) = check("true");
    assert_eq!(code, Some(1));
    assert!(verdict.starts_with("nothing to hook: "), "{verdict}");
    let (code, verdict, _) = check("no-such-program-eintrfix");
    assert_eq!(code, Some(127));
    assert!(verdict.starts_with("not found: "));
}

#[test]
fn check_says_calls_inside_libc_are_covered_behind_libc_handlers() {
    let program = common::c_program("stdio_read");
    let (code, verdict, out) = check(program.to_str().unwrap());
    assert_eq!(code, Some(0), "{out}");
    assert!(verdict.starts_with("reachable: "), "{verdict}");
    let line = out
        .lines()
        .find(|l| l.contains("calls inside libc through"))
        .unwrap_or_else(|| panic!("no line about calls inside libc: {out}"));
    assert!(
        line.contains(" fgets") && line.contains(" getdelim") && line.contains("(sigaction)"),
        "{line}"
    );
    assert!(line.contains("the kernel restarts them"), "{line}");
    // true writes through stdio but installs no handler.
    let (_, _, out) = check("true");
    assert!(
        out.contains("nothing it imports installs a signal handler through libc"),
        "{out}"
    );
}

#[test]
fn check_a_fortified_program_names_the_chk_forms() {
    let dir = temp_dir("fortified");
    let source = dir.join("fortified.c");
    std::fs::write(
        &source,
        "#include <unistd.h>\n#include <sys/socket.h>\n\
         int main(int argc, char **argv) {\n\
           char buf[16];\n\
           (void)argv;\n\
           ssize_t n = read(0, buf, (size_t)argc * 4);\n\
           n += recv(0, buf, (size_t)argc * 4, 0);\n\
           return n > 0;\n\
         }\n",
    )
    .unwrap();
    let binary = dir.join("fortified");
    let status = common::status(
        Command::new("gcc")
            .args(["-O2", "-D_FORTIFY_SOURCE=2", "-o"])
            .arg(&binary)
            .arg(&source),
    );
    assert!(status.success());
    let (code, verdict, out) = check(binary.to_str().unwrap());
    assert_eq!(code, Some(0), "{out}");
    assert!(verdict.starts_with("reachable: "), "{verdict}");
    assert!(
        out.contains("__read_chk") && out.contains("__recv_chk"),
        "{out}"
    );
    assert!(out.contains("fortified forms"), "{out}");
}

#[test]
fn check_a_static_program_says_preloading_cannot_reach_it() {
    // Debian's libc6-dev ships libc.a, which `gcc -static` needs.
    let dir = temp_dir("static");
    let source = dir.join("static.c");
    std::fs::write(
        &source,
        "#include <unistd.h>\nint main(void) { return (int)sleep(0); }\n",
    )
    .unwrap();
    let binary = dir.join("static");
    let status = common::status(
        Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&binary)
            .arg(&source),
    );
    assert!(
        status.success(),
        "gcc -static failed: is libc.a (libc6-dev) installed?"
    );
    let (code, verdict, out) = check(binary.to_str().unwrap());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        verdict.contains("unreachable: ") && verdict.contains("statically linked"),
        "{verdict}"
    );

    // Go is recognised by the sections its linker writes (no Go toolchain
    // here: a C program carrying a .go.buildinfo section stands in).
    let go_source = dir.join("go.c");
    std::fs::write(
        &go_source,
        "__attribute__((used, section(\".go.buildinfo\"))) static const char info[] = \"\\xff Go buildinf:\";\n\
         int main(void) { return 0; }\n",
    )
    .unwrap();
    for (flags, expected) in [
        (&["-static"][..], "a statically linked Go program"),
        (
            &[],
            "a Go program: the Go runtime makes its system calls itself",
        ),
    ] {
        let go = dir.join("go");
        let status = common::status(
            Command::new("gcc")
                .args(flags)
                .arg("-o")
                .arg(&go)
                .arg(&go_source),
        );
        assert!(status.success());
        let (code, verdict, out) = check(go.to_str().unwrap());
        assert_eq!(code, Some(1), "{out}");
        assert!(verdict.contains(expected), "{verdict}");
    }
}

#[test]
fn check_a_setuid_or_capable_copy_explains_secure_execution() {
    let dir = temp_dir("setuid");
    // A harmless program (coreutils sleep) in a private directory, removed
    // at the end: a setuid-root copy of an interpreter would be a hole.
    std::fs::set_permissions(&*dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let copy = dir.join("sleep-setuid");
    std::fs::copy(which("sleep"), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let (code, verdict, out) = check(copy.to_str().unwrap());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        verdict.contains("setuid") && verdict.contains("secure-execution"),
        "{verdict}"
    );
    // Its imports are still listed: what it would change if run by its owner.
    assert!(
        out.contains("imports 1 hooked function: nanosleep"),
        "{out}"
    );

    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o2755)).unwrap();
    let (code, verdict, _) = check(copy.to_str().unwrap());
    assert_eq!(code, Some(1));
    assert!(verdict.contains("setgid"), "{verdict}");

    // File capabilities, where setcap works (root, a filesystem with xattrs).
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let capable = have("setcap")
        && Command::new("setcap")
            .arg("cap_net_bind_service=ep")
            .arg(&copy)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if capable {
        let (code, verdict, _) = check(copy.to_str().unwrap());
        assert_eq!(code, Some(1));
        assert!(verdict.contains("file capabilities"), "{verdict}");
    } else {
        eprintln!("setcap unavailable here: file capabilities not checked");
    }
}

fn which(program: &str) -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    PathBuf::from(text(&out.stdout).trim())
}

#[test]
fn check_a_script_follows_its_interpreter() {
    let dir = temp_dir("script");
    let direct = dir.join("direct.pl");
    let perl = common::installed("perl");
    std::fs::write(&direct, format!("#!{} -w\nprint 1;\n", perl.display())).unwrap();
    let via_env = dir.join("via-env.pl");
    std::fs::write(&via_env, "#!/usr/bin/env perl\nprint 1;\n").unwrap();
    let no_shebang = dir.join("plain");
    std::fs::write(&no_shebang, "echo hi\n").unwrap();
    let to_static = dir.join("to-missing");
    std::fs::write(&to_static, "#!/nonexistent/interpreter\n").unwrap();
    for file in [&direct, &via_env, &no_shebang, &to_static] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (code, verdict, out) = check(direct.to_str().unwrap());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        verdict.contains(&format!("a script run by {}", perl.display())),
        "{verdict}"
    );
    let (code, verdict, out) = check(via_env.to_str().unwrap());
    assert_eq!(code, Some(0), "{out}");
    assert!(verdict.contains("a script run by /"), "{verdict}");
    assert!(out.contains("env runs perl"), "{out}");
    let (_, verdict, out) = check(no_shebang.to_str().unwrap());
    assert!(verdict.contains("/bin/sh"), "{out}");
    // What `eintrfix --` would exit with: 127 (execve fails with ENOENT).
    let (code, verdict, _) = check(to_static.to_str().unwrap());
    assert_eq!(code, Some(127));
    assert!(
        verdict.starts_with("cannot run: ") && verdict.contains("does not exist"),
        "{verdict}"
    );
    // Not ELF and not executable: 126.
    let text_file = dir.join("data.txt");
    std::fs::write(&text_file, "data").unwrap();
    let (code, verdict, _) = check(text_file.to_str().unwrap());
    assert_eq!(code, Some(126));
    assert!(verdict.contains("not executable"), "{verdict}");
}

#[test]
fn make_install_and_uninstall_into_a_temporary_destdir() {
    eintrfix();
    let destdir = temp_dir("install");
    let make = |target: &str| {
        let out = Command::new("make")
            .args(["-s", target, "PREFIX=/opt/eintrfix-test"])
            .arg(format!("DESTDIR={}", destdir.display()))
            .current_dir(common::root())
            .output()
            .unwrap();
        assert!(out.status.success(), "make {target}: {}", text(&out.stderr));
    };
    make("install");
    let prefix = destdir.join("opt/eintrfix-test");
    let files = [
        "bin/eintrfix",
        "lib/eintrfix/libeintrfix.so",
        "share/man/man1/eintrfix.1",
    ];
    for file in files {
        assert!(prefix.join(file).is_file(), "{file} not installed");
    }
    let mode = |f: &str| {
        std::fs::metadata(prefix.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("bin/eintrfix"), 0o755);
    assert_eq!(mode("lib/eintrfix/libeintrfix.so"), 0o644);
    // Both are stripped: no symbol table, no debug sections.
    for file in ["bin/eintrfix", "lib/eintrfix/libeintrfix.so"] {
        let sections = common::output(
            Command::new("readelf")
                .args(["-S", "-W"])
                .arg(prefix.join(file)),
        );
        let sections = text(&sections.stdout);
        assert!(
            !sections.contains(".symtab") && !sections.contains(".debug_info"),
            "{file} is not stripped: {sections}"
        );
    }

    // The installed command finds the installed library with no variable
    // set, and the shim works there.
    let command = prefix.join("bin/eintrfix");
    let out = Command::new(&command)
        .arg(common::c_program("read_pipe"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let version = text(
        &Command::new(&command)
            .arg("--version")
            .env_clear()
            .output()
            .unwrap()
            .stdout,
    );
    assert!(version.contains("in the installed libdir"), "{version}");

    make("uninstall");
    for file in files {
        assert!(!prefix.join(file).exists(), "{file} left behind");
    }
    assert!(!prefix.join("lib/eintrfix").exists());
}
