//! `eintrfix check` agrees with `eintrfix --` on what the kernel does with
//! a script's `#!` line and with a symbolic link loop, and every value the
//! command prints is escaped.

mod common;

use common::check::{check_bounded, eintrfix, write_executable, TempDir};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

/// `eintrfix -- target` with no EINTRFIX_* variables: (exit code, stdout,
/// stderr).
fn run_under(target: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(eintrfix());
    cmd.arg("--").arg(target).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    let out = common::output(&mut cmd);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_and_the_command_agree_on_scripts_the_kernel_reads_its_way() {
    let dir = TempDir::new("scripts");
    let body = "\necho \"shim:$LD_PRELOAD\"\n";
    let long = format!("#!/{}", "x".repeat(300));
    for (name, line, runs) in [
        // The kernel trims spaces and tabs only: the interpreter is
        // "/bin/sh\r", which does not exist (ENOENT, 127).
        ("crlf", "#!/bin/sh\r", false),
        // The kernel refuses these (ENOEXEC) and execvp runs /bin/sh.
        ("empty", "#!", true),
        ("blank", "#!  \t", true),
        ("long", long.as_str(), true),
    ] {
        let script = dir.join(name);
        write_executable(&script, format!("{line}{body}").as_bytes());
        let got = check_bounded(&dir.0, &script);
        let (code, stdout, stderr) = run_under(&script, &[]);
        if runs {
            assert_eq!(got.code, Some(0), "{name}: {}", got.stdout);
            assert!(
                got.verdict().starts_with("reachable: ")
                    && got.verdict().contains("a file run by /bin/sh"),
                "{name}: {}",
                got.stdout
            );
            assert_eq!(code, Some(0), "{name}: {stderr}");
            assert!(
                stdout.starts_with("shim:/") && stdout.contains("libeintrfix.so"),
                "{name}: {stdout}"
            );
        } else {
            assert_eq!(got.code, Some(127), "{name}: {}", got.stdout);
            assert!(
                got.verdict().starts_with("cannot run: ")
                    && got.verdict().contains("/bin/sh\\x0d, which does not exist"),
                "{name}: {}",
                got.stdout
            );
            assert_eq!(code, Some(127), "{name}: {stderr}");
        }
    }
}

#[test]
fn check_and_the_command_agree_on_a_symbolic_link_loop() {
    let dir = TempDir::new("loop");
    let looped = dir.join("loop");
    symlink(&looped, &looped).unwrap();
    let got = check_bounded(&dir.0, &looped);
    let (code, _, stderr) = run_under(&looped, &[]);
    assert_eq!(code, Some(126), "{stderr}");
    assert_eq!(got.code, Some(126), "{}", got.stdout);
    assert!(
        got.verdict().starts_with("cannot run: ")
            && got.verdict().contains("Too many levels of symbolic links"),
        "{}",
        got.stdout
    );
    // Found through PATH, the same.
    let out = common::output(
        Command::new(eintrfix())
            .args(["check", "loop"])
            .env("PATH", &dir.0),
    );
    assert_eq!(out.status.code(), Some(126));
    let out = common::output(Command::new(eintrfix()).arg("loop").env("PATH", &dir.0));
    assert_eq!(out.status.code(), Some(126));
}

/// Whether `text` is one line ending in a newline, with no other control
/// character.
fn one_clean_line(text: &str) -> bool {
    text.ends_with('\n') && !text[..text.len() - 1].chars().any(|c| c.is_control())
}

/// Variables to set.
type Env<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn values_in_the_commands_messages_are_escaped() {
    let dir = TempDir::new("escape");
    let forged = "x\neintrfix: forged\x1b[2J";
    let shown = "x\\x0aeintrfix: forged\\x1b[2J";
    let cases: Vec<(Vec<String>, Env)> = vec![
        (vec![format!("./{forged}")], vec![]),
        (vec![format!("--{forged}"), "prog".into()], vec![]),
        (
            vec!["--policy".into(), forged.into(), "prog".into()],
            vec![],
        ),
        (vec!["prog".into()], vec![("EINTRFIX_POLICY", forged)]),
        (vec!["prog".into()], vec![("EINTRFIX_LIB", forged)]),
        (
            vec![
                "--log-file".into(),
                format!("/nonexistent/{forged}/log"),
                "prog".into(),
            ],
            vec![],
        ),
        (vec!["check".into(), "a".into(), forged.into()], vec![]),
    ];
    for (args, env) in cases {
        let out = common::output(
            Command::new(eintrfix())
                .args(&args)
                .envs(env.iter().copied())
                .current_dir(&dir.0),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains(shown) && one_clean_line(&format!("{first}\n")),
            "{args:?} {env:?}: {stderr:?}"
        );
        assert!(!stderr.contains(forged), "{args:?}: {stderr:?}");
    }
    // check: a file whose name forges a verdict, and a name not found.
    let named = dir.join(format!("{forged}\nreachable: fake"));
    write_executable(&named, b"#!/bin/sh\n");
    for target in [named, dir.join(forged)] {
        let got = check_bounded(&dir.0, &target);
        assert!(
            got.verdict().contains(shown) && !got.stdout.contains(forged),
            "{:?}",
            got.stdout
        );
        assert!(!got.stdout.lines().any(|l| l.starts_with("reachable: fake")));
    }
}

#[test]
fn the_target_of_a_refused_link_is_escaped() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to make links of another user");
        return;
    }
    let shared = TempDir::new("refused-link");
    std::fs::set_permissions(&shared.0, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let forged = "t\neintrfix: forged\x1b[2J";
    let planted = shared.join(forged);
    symlink("/nonexistent", &planted).unwrap();
    std::os::unix::fs::lchown(&planted, Some(65534), None).unwrap();
    let ours = shared.join("app.log");
    symlink(&planted, &ours).unwrap();
    let out = common::output(
        Command::new(eintrfix())
            .arg("--log-file")
            .arg(&ours)
            .args(["--", "true"]),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("its link target '")
            && stderr.contains("t\\x0aeintrfix: forged\\x1b[2J' is a symbolic link")
            && one_clean_line(&stderr),
        "{stderr:?}"
    );
}
