//! The deployment recipes of README.md and docs/deploying.md, tested as far
//! as a machine without a running service manager or a container engine
//! allows: the systemd drop-in with `systemd-analyze verify` and its
//! variables on a legacy program; the Dockerfile's steps against a tree
//! staged as the package installs it; `eintrfix check` on a musl program;
//! eintrfix as PID 1 of a new PID namespace; the Kubernetes volume; `eintrfix
//! check --system`; and a second preload library from Debian beside the
//! shim. The snippets are read from the documents, so they cannot drift.

mod common;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

fn temp_dir(name: &str) -> TempDir {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "eintrfix-deploy-{}-{}-{name}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The built command (beside the built library).
fn eintrfix() -> PathBuf {
    common::library();
    common::root().join("target/release/eintrfix")
}

/// The fenced code block of `document` whose first line is `first`.
fn snippet(document: &str, first: &str) -> String {
    let source = std::fs::read_to_string(common::root().join(document)).expect(document);
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("```") {
            let block: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            if block.first().map(|l| l.trim()) == Some(first) {
                return block.join("\n") + "\n";
            }
        }
    }
    panic!("{document}: no code block starting with {first:?}");
}

/// Debian's multiarch name for this machine (x86_64-linux-gnu).
fn multiarch() -> String {
    let out = common::output(Command::new("gcc").arg("-print-multiarch"));
    let tuple = text(&out.stdout).trim().to_string();
    assert!(!tuple.is_empty(), "gcc -print-multiarch printed nothing");
    tuple
}

/// `make install` into `root` with `PREFIX=prefix` (and `LIBDIR=libdir`).
fn stage(root: &Path, prefix: &str, libdir: Option<String>) {
    eintrfix();
    let out = Command::new("make")
        .args(["-s", "install"])
        .arg(format!("PREFIX={prefix}"))
        .args(libdir.map(|dir| format!("LIBDIR={dir}")))
        .arg(format!("DESTDIR={}", root.display()))
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(out.status.success(), "make install: {}", text(&out.stderr));
}

/// The package's tree, staged by `make install` as `make deb` stages it,
/// and in it the library at `preload`, which must be there.
fn stage_package(name: &str, preload: &str) -> (TempDir, PathBuf) {
    let root = temp_dir(name);
    stage(&root, "/usr", Some(format!("/usr/lib/{}", multiarch())));
    let library = root.join(preload.trim_start_matches('/'));
    assert!(
        library.is_file(),
        "{preload} is not what the package installs"
    );
    (root, library)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

// --- systemd ---

const DROP_IN: &str = "# /etc/systemd/system/legacyd.service.d/eintrfix.conf";

/// A unit for the drop-in, as strict as services get.
fn unit(dir: &Path, drop_in: &str) -> PathBuf {
    let unit = dir.join("legacyd.service");
    std::fs::write(
        &unit,
        format!(
            "[Unit]\nDescription=A legacy daemon\n\n[Service]\nExecStart={}\n\
             DynamicUser=yes\nProtectSystem=strict\n",
            common::c_program("read_pipe").display()
        ),
    )
    .unwrap();
    let drop_ins = dir.join("legacyd.service.d");
    std::fs::create_dir_all(&drop_ins).unwrap();
    std::fs::write(drop_ins.join("eintrfix.conf"), drop_in).unwrap();
    unit
}

fn verify(unit: &Path) -> Output {
    common::output(
        Command::new(common::installed("systemd-analyze"))
            .args(["verify", "--man=no"])
            .arg(unit),
    )
}

#[test]
fn the_systemd_drop_in_passes_systemd_analyze_verify() {
    let drop_in = snippet("README.md", DROP_IN);
    assert_eq!(drop_in, snippet("docs/deploying.md", DROP_IN));
    let dir = temp_dir("systemd");
    let out = verify(&unit(&dir, &drop_in));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // verify reads the drop-in: a misspelt key in it is reported.
    let out = verify(&unit(&dir, &format!("{drop_in}LogsDirectroy=legacyd\n")));
    assert!(
        text(&out.stderr).contains("LogsDirectroy"),
        "a bad key in the drop-in went unnoticed: {}",
        text(&out.stderr)
    );
}

/// The drop-in's `Environment=` assignments, with systemd's `%%` unescaped.
fn environment(drop_in: &str) -> Vec<(String, String)> {
    drop_in
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .flat_map(|l| l.split_whitespace())
        .map(|item| {
            assert!(
                !item.replace("%%", "").contains('%'),
                "a bare % in {item}: systemd would expand it"
            );
            let (name, value) = item.split_once('=').expect("NAME=VALUE");
            (name.to_string(), value.replace("%%", "%"))
        })
        .collect()
}

#[test]
fn the_drop_ins_variables_fix_a_legacy_program_and_log_into_logs_directory() {
    let drop_in = snippet("README.md", DROP_IN);
    let variables = environment(&drop_in);
    let get = |name: &str| {
        variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} not in the drop-in"))
    };
    // The library's path is the one the package installs.
    let (_staged, library) = stage_package("systemd-stage", &get("LD_PRELOAD"));
    // The log file is under the directory LogsDirectory= makes.
    let logs = drop_in
        .lines()
        .find_map(|l| l.strip_prefix("LogsDirectory="))
        .expect("LogsDirectory= in the drop-in");
    let file = get("EINTRFIX_LOG_FILE");
    let under = format!("/var/log/{logs}/");
    let name = file
        .strip_prefix(&under)
        .unwrap_or_else(|| panic!("{file} is not under {under}"));

    let program = common::c_program("read_pipe");
    assert_eq!(
        common::output(&mut Command::new(&program)).status.code(),
        Some(1)
    );
    let log_dir = temp_dir("systemd-logs");
    let mut cmd = Command::new(&program);
    cmd.env_remove("LD_PRELOAD");
    for (n, v) in &variables {
        cmd.env(n, v);
    }
    cmd.env("LD_PRELOAD", &library)
        .env("EINTRFIX_LOG_FILE", log_dir.join(name));
    let out = common::output(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files: Vec<PathBuf> = std::fs::read_dir(&*log_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one file per process: {files:?}");
    let log = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        log.lines().all(|l| l.starts_with('{') && l.ends_with('}')),
        "not JSON lines: {log}"
    );
    assert!(log.contains("\"action\":\"retried\""), "{log}");
    assert!(log.contains("\"summary\":true"), "{log}");
}

// --- containers ---

const DOCKERFILE: &str = "# Dockerfile: the package, in a Debian or Ubuntu image";

/// The Dockerfile's instructions, continuation lines joined.
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let joined = dockerfile.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (word, rest) = l.split_once(' ').expect("INSTRUCTION arguments");
            (word.to_string(), rest.trim().to_string())
        })
        .collect()
}

#[test]
fn the_dockerfiles_steps_work_on_a_tree_staged_as_the_package_installs() {
    let dockerfile = snippet("README.md", DOCKERFILE);
    assert_eq!(dockerfile, snippet("docs/deploying.md", DOCKERFILE));
    let steps = instructions(&dockerfile);
    for (word, _) in &steps {
        assert!(
            ["FROM", "COPY", "RUN", "ENV", "CMD", "ENTRYPOINT"].contains(&word.as_str()),
            "unexpected instruction {word}"
        );
    }
    let last_run = steps.iter().rposition(|(w, _)| w == "RUN").expect("a RUN");
    let env = steps.iter().position(|(w, _)| w == "ENV").expect("an ENV");
    assert!(env > last_run, "LD_PRELOAD is set before a RUN step");

    // The package file it copies is the one `make deb` names.
    let version = env!("CARGO_PKG_VERSION");
    let arch = match multiarch().split('-').next() {
        Some("x86_64") => "amd64",
        Some("aarch64") => "arm64",
        other => panic!("no Debian architecture known for {other:?}"),
    };
    let deb = format!("eintrfix_{version}-1_{arch}.deb");
    assert!(dockerfile.contains(&format!("COPY {deb} /tmp/")), "{deb}");

    let preload = steps[env]
        .1
        .strip_prefix("LD_PRELOAD=")
        .expect("ENV LD_PRELOAD=...");
    let (root, library) = stage_package("docker", preload);
    // `RUN eintrfix check ...`: the installed command finds the installed
    // library by itself, and reaches a legacy program.
    let check = steps
        .iter()
        .find(|(w, a)| w == "RUN" && a.starts_with("eintrfix check "))
        .expect("RUN eintrfix check");
    assert!(check.1.split_whitespace().count() == 3, "{}", check.1);
    let out = Command::new(root.join("usr/bin/eintrfix"))
        .arg("check")
        .arg(common::c_program("read_pipe"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("reachable:"), "{stdout}");
    assert!(stdout.contains("in the multiarch libdir"), "{stdout}");
    // `ENV LD_PRELOAD=...`, then the program.
    let out = Command::new(common::c_program("read_pipe"))
        .env_clear()
        .env("LD_PRELOAD", &library)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Builds a small C program with `compiler` (extra flags after the source).
fn build_c(dir: &Path, name: &str, source: &str, compiler: &str, flags: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let binary = dir.join(name);
    let out = common::output(
        Command::new(common::installed(compiler))
            .arg("-o")
            .arg(&binary)
            .arg(&c)
            .args(flags),
    );
    assert!(out.status.success(), "{compiler}: {}", text(&out.stderr));
    binary
}

/// Sleeps until killed; the pause is a system call no hook touches.
const SLEEPER: &str = "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n";

#[test]
fn check_says_a_musl_program_is_out_of_reach() {
    let dir = temp_dir("musl");
    let program = build_c(&dir, "musl_program", SLEEPER, "musl-gcc", &[]);
    let out = common::output(Command::new(eintrfix()).arg("check").arg(&program));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("unreachable:"), "{stdout}");
    assert!(stdout.contains("musl's loader (/lib/ld-musl-"), "{stdout}");
}

// --- PID 1 ---

/// Whether this process may make a PID namespace (root, and allowed).
fn pid_namespaces() -> bool {
    if !is_root() {
        eprintln!("skipped: PID namespaces need root");
        return false;
    }
    let ok = Command::new(common::installed("unshare"))
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: unshare --pid is not allowed here");
    }
    ok
}

#[test]
fn under_eintrfix_the_program_itself_is_pid_1() {
    if !pid_namespaces() {
        return;
    }
    let out = common::output(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(eintrfix())
            .args(["--", "sh", "-c", "echo $$; cat /proc/1/comm"]),
    );
    assert_eq!(text(&out.stdout), "1\nsh\n", "{}", text(&out.stderr));

    // PID 1 gets only the signals it handles: a SIGTERM sent from outside
    // to a program that installs no handler does nothing.
    let mut unshare = Command::new("unshare")
        .args(["--pid", "--fork"])
        .arg(eintrfix())
        .args(["--", "sleep", "30"])
        .spawn()
        .unwrap();
    let children = format!("/proc/{0}/task/{0}/children", unshare.id());
    let mut pid = None;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(10));
        let list = std::fs::read_to_string(&children).unwrap_or_default();
        let found = list.split_whitespace().next().and_then(|p| p.parse().ok());
        let comm = found.and_then(|p: i32| std::fs::read_to_string(format!("/proc/{p}/comm")).ok());
        if comm.as_deref() == Some("sleep\n") {
            pid = found;
            break;
        }
    }
    let pid = pid.expect("the program in the namespace");
    // SAFETY: kill has no memory preconditions; pid is our grandchild.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(300));
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let alive = state
        .rsplit(')')
        .next()
        .is_some_and(|s| !s.trim_start().starts_with('Z'));
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = unshare.wait();
    assert!(alive, "PID 1 was killed by a SIGTERM it does not handle");
}

// --- Kubernetes ---

#[test]
fn the_kubernetes_preload_lies_in_the_volume_the_init_container_fills() {
    let yaml = snippet("docs/deploying.md", "spec:");
    let value = |key: &str, after: &str| -> String {
        let start = yaml
            .find(after)
            .unwrap_or_else(|| panic!("{after} in the YAML"));
        let rest = &yaml[start..];
        let at = rest
            .find(key)
            .unwrap_or_else(|| panic!("{key} after {after}"));
        rest[at + key.len()..]
            .split([',', '}', '\n'])
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    let preload = value("value:", "name: LD_PRELOAD");
    let mount = value("mountPath:", "- name: legacyd");
    let inside = preload
        .strip_prefix(&format!("{mount}/"))
        .unwrap_or_else(|| panic!("{preload} is not under the volume at {mount}"));
    // The init container copies /opt/eintrfix/. (the tarball's tree,
    // unpacked there) into the volume.
    assert!(yaml.contains("\"/opt/eintrfix/.\""), "{yaml}");
    let staged = temp_dir("kubernetes");
    stage(&staged, "/opt/eintrfix", None);
    assert!(
        staged.join("opt/eintrfix").join(inside).is_file(),
        "the tree has no {inside}"
    );
}

// --- the whole machine ---

/// `eintrfix check --system` in a PID namespace of its own, beside the
/// programs `sh -c script` starts there, with the systemd units of
/// `units` (where systemd looks when `SYSTEMD_UNIT_PATH` is set).
fn check_system(script: &str, units: &Path) -> Output {
    common::output(
        Command::new("unshare")
            .env_remove("EINTRFIX_LIB")
            .env("SYSTEMD_UNIT_PATH", units)
            .args(["--pid", "--fork", "--mount-proc", "sh", "-c"])
            .arg(format!(
                "{script}\nsleep 0.2\n'{}' check --system",
                eintrfix().display()
            )),
    )
}

#[test]
fn check_system_finds_static_and_musl_programs_running_and_among_the_services() {
    if !pid_namespaces() {
        return;
    }
    let units = temp_dir("units");
    let out = check_system("sleep 10 &", &units);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("ready: all "), "{stdout}");
    assert!(stdout.contains("/etc/ld.so.preload: "), "{stdout}");

    // A library the loader cannot load (here not even ELF) makes the
    // machine unready whatever runs: the check tries it under /bin/true.
    let broken = temp_dir("broken");
    let library = broken.join("libeintrfix.so");
    std::fs::write(&library, "not a library\n").unwrap();
    let out = common::output(
        Command::new(eintrfix())
            .args(["check", "--system"])
            .env("EINTRFIX_LIB", &library)
            .env("SYSTEMD_UNIT_PATH", &*units),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the library does not load here: /bin/true under it printed an error"),
        "{stdout}"
    );

    let dir = temp_dir("system");
    let sleeper = build_c(&dir, "static_sleeper", SLEEPER, "gcc", &["-static"]);
    let musl = build_c(&dir, "musl_sleeper", SLEEPER, "musl-gcc", &[]);
    // An enabled service whose program is static, not running now.
    let service = dir.join("static_service");
    std::fs::copy(&sleeper, &service).unwrap();
    std::fs::write(
        units.join("legacyd.service"),
        format!("[Service]\nExecStart=-{} --foreground\n", service.display()),
    )
    .unwrap();
    let wants = units.join("multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink("../legacyd.service", wants.join("legacyd.service")).unwrap();
    let out = check_system(
        &format!(
            "'{}' & '{}' & sleep 10 &",
            sleeper.display(),
            musl.display()
        ),
        &units,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("not ready: 2 of ") && stdout.contains("are out of reach"),
        "{stdout}"
    );
    let line = |path: &Path| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{}:", path.display())))
            .unwrap_or_else(|| panic!("{} not listed: {stdout}", path.display()))
            .to_string()
    };
    assert!(line(&sleeper).contains("statically linked"), "{stdout}");
    assert!(line(&sleeper).contains("(pid "), "{stdout}");
    assert!(line(&musl).contains("musl's loader"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "  service legacyd.service: {}: statically linked",
            service.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains(", and 1 of 1 enabled service,"), "{stdout}");
}

// --- another preload ---

/// A Debian library in this machine's multiarch libdir, or a panic naming
/// its package.
fn debian_library(relative: &str, package: &str) -> PathBuf {
    let path = PathBuf::from(format!("/usr/lib/{}/{relative}", multiarch()));
    assert!(
        path.is_file(),
        "{} is missing: install {package} (scripts/test-deps test)",
        path.display()
    );
    path
}

fn join(a: &Path, b: &Path) -> String {
    format!("{}:{}", a.display(), b.display())
}

#[test]
fn jemalloc_and_the_shim_are_both_active_in_either_order() {
    let jemalloc = debian_library("libjemalloc.so.2", "libjemalloc2");
    let shim = common::library();
    let program = common::c_program("read_pipe");
    assert_eq!(
        common::output(&mut Command::new(&program)).status.code(),
        Some(1)
    );
    let mut runs: Vec<(String, Command)> = Vec::new();
    for order in [join(shim, &jemalloc), join(&jemalloc, shim)] {
        let mut cmd = Command::new(&program);
        cmd.env("LD_PRELOAD", &order);
        runs.push((order, cmd));
    }
    // Through the command, with jemalloc already in LD_PRELOAD.
    let mut cmd = Command::new(eintrfix());
    cmd.arg("--").arg(&program).env("LD_PRELOAD", &jemalloc);
    runs.push((
        format!("eintrfix -- with LD_PRELOAD={}", jemalloc.display()),
        cmd,
    ));
    for (what, mut cmd) in runs {
        let out = common::output(cmd.env("MALLOC_CONF", "stats_print:true"));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{what}: {stderr}");
        assert!(
            stderr.contains("Begin jemalloc statistics"),
            "{what}: jemalloc was not active: {stderr}"
        );
    }
}

#[test]
fn libfaketime_and_the_shim_are_both_active_in_either_order() {
    let faketime = debian_library("faketime/libfaketime.so.1", "libfaketime");
    let shim = common::library();
    for order in [join(shim, &faketime), join(&faketime, shim)] {
        let env = |cmd: &mut Command| {
            cmd.env("LD_PRELOAD", &order)
                .env("FAKETIME", "@2000-01-01 00:00:00");
        };
        let mut date = Command::new("date");
        date.args(["-u", "+%Y"]);
        env(&mut date);
        assert_eq!(text(&common::output(&mut date).stdout), "2000\n", "{order}");
        // nanosleep goes through both libraries, and the shim keeps its
        // deadline under the storm.
        let mut sleep = Command::new(common::c_program("nanosleep_storm"));
        env(&mut sleep);
        let out = common::output(&mut sleep);
        assert_eq!(out.status.code(), Some(0), "{order}: {}", text(&out.stderr));
    }
}
