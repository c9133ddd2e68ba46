//! `eintrfix audit [OPTIONS] -- PROGRAM [ARGS...]`: at which of its calls
//! would an interruption break the program?
//!
//! A reference run under the shim records the call sites the program
//! reaches (`EINTRFIX_AUDIT`) and its outcome; then one run per site lets
//! exactly one EINTR reach the program there (`EINTRFIX_INJECT`), and its
//! outcome is compared with the reference. See docs/audit.md.

#[path = "audit/report.rs"]
mod report;
#[path = "audit/run.rs"]
mod run;
#[path = "audit/symbols.rs"]
mod symbols;

use crate::{config, library};
use run::{Ending, Outcome, Program, TempDir};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Every site passed.
const ALL_PASSED: i32 = 0;
/// A site failed.
const SOME_FAILED: i32 = 1;
/// The audit itself could not run.
const COULD_NOT_RUN: i32 = 2;

pub const HELP: &str = "\
Usage: eintrfix audit [OPTIONS] -- PROGRAM [ARGS...]

Finds the calls at which an interruption (EINTR) would break PROGRAM. A
reference run under the shim records the call sites of hooked functions it
reaches and its outcome (exit status or fatal signal, a hash of stdout and
stderr); then one run per site lets exactly one EINTR reach the program
there, and its outcome is compared with the reference. A site passes when
the outcome is the same. Each run has its own process group, killed at its
end. The program must behave the same in every run: give it a
deterministic workload.

Options:
      --stdin FILE        standard input of every run (default /dev/null)
      --nth N             interrupt the Nth call at each site (default 1)
      --timeout SECONDS   the longest a run may take (default 10; decimals)
  -j, --jobs N            runs at once (default: the number of processors)
      --json              the results as JSON, for CI
      --no-stderr         do not compare standard error
      --fix-check         run each failing site again with the shim's retry
                          policy, to show whether the shim fixes it
      --signal            interrupt each hooked call with a real signal
                          while it blocks, instead of a synthetic EINTR
                          (calls the kernel restarts only: reads, writes,
                          accept, connect, waits)
      --no-follow-children  audit only the calls of PROGRAM's executable
                          (by default its children's are audited too,
                          each site keyed by its executable)
  -h, --help              this text

Exit status: 0 when every site passes, 1 when one fails, 2 when the audit
could not run. A failing site is printed with the command that reproduces
it (EINTRFIX_INJECT=...).
";

/// The command line.
struct Options {
    stdin: Option<PathBuf>,
    nth: u32,
    timeout: Duration,
    jobs: usize,
    json: bool,
    with_stderr: bool,
    fix_check: bool,
    signal: bool,
    follow_children: bool,
    argv: Vec<OsString>,
}

fn value<T: std::str::FromStr>(
    name: &str,
    args: &mut impl Iterator<Item = OsString>,
) -> Result<T, String> {
    let v = args.next().ok_or_else(|| format!("{name} needs a value"))?;
    v.to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{name}: bad value '{}'", v.to_string_lossy()))
}

fn parse(args: Vec<OsString>) -> Result<Option<Options>, String> {
    let mut options = Options {
        stdin: None,
        nth: 1,
        timeout: Duration::from_secs(10),
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        json: false,
        with_stderr: true,
        fix_check: false,
        signal: false,
        follow_children: true,
        argv: Vec::new(),
    };
    // `--name=value` and `-jN` are `--name value` and `-j N`.
    let mut split = Vec::new();
    let mut args = args.into_iter();
    for arg in args.by_ref() {
        let text = arg.to_str().unwrap_or("");
        if text == "--" {
            split.push(arg);
            break;
        }
        match (text.split_once('='), text.strip_prefix("-j")) {
            (Some((name, value)), _) if name.starts_with("--") => {
                split.push(name.into());
                split.push(value.into());
            }
            (_, Some(jobs)) if !jobs.is_empty() => {
                split.push("-j".into());
                split.push(jobs.into());
            }
            _ => split.push(arg),
        }
    }
    let mut args = split.into_iter().chain(args);
    while let Some(arg) = args.next() {
        match arg.to_str().unwrap_or("") {
            "-h" | "--help" => return Ok(None),
            "--stdin" => options.stdin = Some(value::<PathBuf>("--stdin", &mut args)?),
            "--nth" => {
                options.nth = value("--nth", &mut args)?;
                if options.nth == 0 {
                    return Err("--nth counts from 1".into());
                }
            }
            "--timeout" => {
                let seconds: f64 = value("--timeout", &mut args)?;
                if !(seconds > 0.0 && seconds < 1e6) {
                    return Err("--timeout: a number of seconds above 0".into());
                }
                options.timeout = Duration::from_secs_f64(seconds);
            }
            "-j" | "--jobs" => options.jobs = value::<usize>("--jobs", &mut args)?.max(1),
            "--json" => options.json = true,
            "--no-stderr" => options.with_stderr = false,
            "--fix-check" => options.fix_check = true,
            "--signal" => options.signal = true,
            "--follow-children" => options.follow_children = true,
            "--no-follow-children" => options.follow_children = false,
            "--" => {
                options.argv = args.collect();
                break;
            }
            _ => {
                return Err(format!(
                    "audit: unknown option '{}' (the program goes after '--')",
                    arg.to_string_lossy()
                ))
            }
        }
    }
    if options.argv.is_empty() {
        return Err(
            "audit: no program given (eintrfix audit [OPTIONS] -- PROGRAM [ARGS...])".into(),
        );
    }
    Ok(Some(options))
}

/// A call site: the executable whose process made the call, the hooked
/// function, and the return address as object and offset.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site {
    pub exe: String,
    pub function: String,
    pub object: String,
    pub offset: u64,
}

impl Site {
    /// The `EINTRFIX_INJECT` value that interrupts the `nth` call here
    /// (with a real signal: `signal`).
    fn spec(&self, nth: u32, retry: bool, signal: bool) -> String {
        let mut spec = format!(
            "{}@{}+{:#x},exe={}",
            self.function, self.object, self.offset, self.exe
        );
        if nth > 1 {
            spec.push_str(&format!(",nth={nth}"));
        }
        if retry {
            spec.push_str(",retry");
        }
        if signal && !self.function.starts_with("libc:") {
            spec.push_str(",signal");
        }
        spec
    }
}

/// What a record file says of its run.
struct Record {
    /// Each site, with the most calls one process made there.
    sites: Vec<(Site, u64)>,
    /// Whether an EINTR was injected.
    injected: bool,
    /// Whether the chosen call could not block.
    nonblocking: bool,
}

fn read_record(path: &Path) -> Record {
    let text = std::fs::read(path).unwrap_or_default();
    let mut sites: Vec<(Site, u64)> = Vec::new();
    let mut injected = false;
    let mut nonblocking = false;
    for line in String::from_utf8_lossy(&text).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (kind, exe, function, object, offset) = match fields.as_slice() {
            [kind, _pid, exe, function, object, offset, ..] => {
                (*kind, exe, function, object, offset)
            }
            _ => continue,
        };
        let Some(offset) = offset
            .strip_prefix("0x")
            .and_then(|o| u64::from_str_radix(o, 16).ok())
        else {
            continue;
        };
        let calls = fields.get(6).and_then(|c| c.parse().ok()).unwrap_or(1);
        let site = Site {
            exe: exe.to_string(),
            function: function.to_string(),
            object: object.to_string(),
            offset,
        };
        match kind {
            "injected" => injected = true,
            "nonblocking" => nonblocking = true,
            "site" | "count" => match sites.iter_mut().find(|(s, _)| *s == site) {
                Some((_, n)) => *n = (*n).max(calls),
                None => sites.push((site, calls)),
            },
            _ => {}
        }
    }
    Record {
        sites,
        injected,
        nonblocking,
    }
}

/// How one site fared.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Same outcome as the reference.
    Pass,
    /// The outcome changed: how.
    Fail(Vec<String>),
    /// The chosen call was not interrupted: why.
    Unreached(&'static str),
    /// The run itself failed.
    Error(String),
}

/// A site with what the audit found there.
pub struct Finding {
    pub site: Site,
    pub calls: u64,
    pub verdict: Verdict,
    /// Under `--fix-check`, for a failing site: whether the retry policy
    /// restores the reference outcome.
    pub fixed: Option<bool>,
    pub symbol: Option<String>,
    pub line: Option<String>,
}

/// `eintrfix audit ARGS`: returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let options = match parse(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{HELP}");
            return ALL_PASSED;
        }
        Err(message) => {
            eprintln!("eintrfix: {message}");
            eprintln!("Try 'eintrfix audit --help' for more information.");
            return COULD_NOT_RUN;
        }
    };
    match audit(&options) {
        Ok(findings) => {
            let failed = findings
                .iter()
                .any(|f| matches!(f.verdict, Verdict::Fail(_)));
            let text = if options.json {
                format!("{}\n", report::json(&options, &findings))
            } else {
                report::table(&findings) + &report::reproduce(&options, &findings)
            };
            // A closed output (`| head`) is no reason to fail.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
            if failed {
                SOME_FAILED
            } else {
                ALL_PASSED
            }
        }
        Err(message) => {
            eprintln!("eintrfix audit: {message}");
            COULD_NOT_RUN
        }
    }
}

/// The program's path as its processes will see it in `/proc/self/exe`.
fn executable(program: &OsString) -> Option<String> {
    let path = Path::new(program);
    let found = if program.as_bytes().contains(&b'/') {
        Some(path.to_path_buf())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(path))
                .find(|candidate| candidate.is_file())
        })
    }?;
    let real = std::fs::canonicalize(found).ok()?;
    Some(real.to_string_lossy().into_owned())
}

fn audit(options: &Options) -> Result<Vec<Finding>, String> {
    if let Some(stdin) = &options.stdin {
        std::fs::metadata(stdin).map_err(|e| format!("--stdin {}: {e}", stdin.display()))?;
    }
    let library = library::find()?.path;
    let preload = library::preload_value(&library, std::env::var_os("LD_PRELOAD"))?;
    let program = Program {
        argv: options.argv.clone(),
        stdin: options.stdin.clone(),
        timeout: options.timeout,
        with_stderr: options.with_stderr,
        preload,
    };
    let main_exe = executable(&options.argv[0]);
    let dir = TempDir::new()?;
    run::catch_stops();
    let progress = Progress::new(!options.json);

    // The reference, twice: a program whose outcome changes by itself
    // cannot be audited.
    let mut sites: Vec<(Site, u64)> = Vec::new();
    let mut reference: Option<Outcome> = None;
    for round in 0..2 {
        progress.show(&format!("reference run {}/2", round + 1));
        let record = dir.0.join(format!("reference-{round}.rec"));
        let outcome = run::run(
            &program,
            &quiet(vec![(config::AUDIT, record.to_string_lossy().into_owned())]),
        )?;
        if outcome.ending == Ending::Timeout {
            return Err(format!(
                "the reference run did not finish within {:?} (--timeout)",
                options.timeout
            ));
        }
        // Every process that loads the shim in the audit mode creates the
        // record, sites or not.
        if !record.exists() {
            return Err(format!(
                "the library was not loaded into {} (statically linked, setuid, or not started?): see 'eintrfix check'",
                options.argv[0].to_string_lossy()
            ));
        }
        if let Some(first) = &reference {
            let changed = run::changes(first, &outcome);
            if !changed.is_empty() {
                return Err(format!(
                    "the program's outcome changes from one run to the next ({}): give it a deterministic workload",
                    changed.join(", ")
                ));
            }
        }
        reference = Some(outcome);
        for (site, calls) in read_record(&record).sites {
            match sites.iter_mut().find(|(s, _)| *s == site) {
                Some((_, n)) => *n = (*n).max(calls),
                None => sites.push((site, calls)),
            }
        }
    }
    let reference = reference.ok_or("no reference run")?;
    if !options.follow_children {
        sites.retain(|(site, _)| Some(&site.exe) == main_exe.as_ref());
    }
    sites.sort();
    if sites.is_empty() && !options.json {
        eprintln!("eintrfix audit: the program reached no call site that the audit watches");
    }

    // One run per site, `jobs` at once.
    let findings = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failure = Mutex::new(None::<String>);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.min(sites.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((site, calls)) = sites.get(i) else {
                    break;
                };
                let finding = match check_site(options, &program, &dir.0, i, site, &reference) {
                    Ok(verdict) => verdict,
                    Err(message) => {
                        if run::STOP.load(Ordering::Relaxed) {
                            *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
                            break;
                        }
                        (Verdict::Error(message), None)
                    }
                };
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress.show(&format!("{n}/{} sites", sites.len()));
                findings
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Finding {
                        site: site.clone(),
                        calls: *calls,
                        verdict: finding.0,
                        fixed: finding.1,
                        symbol: None,
                        line: None,
                    });
            });
        }
    });
    progress.clear();
    if let Some(message) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(message);
    }
    let mut findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    findings.sort_by(|a, b| a.site.cmp(&b.site));
    let places: Vec<(String, u64)> = findings
        .iter()
        .map(|f| (f.site.object.clone(), f.site.offset))
        .collect();
    let names = symbols::name_all(&places);
    for finding in &mut findings {
        if let Some((symbol, line)) = names.get(&(finding.site.object.clone(), finding.site.offset))
        {
            finding.symbol.clone_from(symbol);
            finding.line.clone_from(line);
        }
    }
    Ok(findings)
}

/// `variables` and the shim's own output turned off: its events and
/// summary would make standard error differ from run to run (an empty
/// variable counts as unset).
fn quiet(mut variables: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    variables.push((config::LOG, "off".into()));
    variables.push((config::SUMMARY, String::new()));
    variables
}

/// The run for one site, and under `--fix-check` the second run of a
/// failing one.
fn check_site(
    options: &Options,
    program: &Program,
    dir: &Path,
    index: usize,
    site: &Site,
    reference: &Outcome,
) -> Result<(Verdict, Option<bool>), String> {
    let attempt = |retry: bool| -> Result<(Outcome, Record), String> {
        let tag = format!("site-{index}{}", if retry { "-fix" } else { "" });
        let record = dir.join(format!("{tag}.rec"));
        let outcome = run::run(
            program,
            &quiet(vec![
                (
                    config::INJECT,
                    site.spec(options.nth, retry, options.signal),
                ),
                (config::AUDIT, record.to_string_lossy().into_owned()),
            ]),
        )?;
        let record = read_record(&record);
        let _ = std::fs::remove_file(dir.join(format!("{tag}.rec")));
        Ok((outcome, record))
    };
    let (outcome, record) = attempt(false)?;
    if !record.injected {
        let why = if record.nonblocking {
            "no call there can be interrupted (non-blocking, a disk file, a close)"
        } else {
            "not interrupted in this run (fewer calls there, or it did not block)"
        };
        return Ok((Verdict::Unreached(why), None));
    }
    let changed = run::changes(reference, &outcome);
    if changed.is_empty() {
        return Ok((Verdict::Pass, None));
    }
    let fixed = if options.fix_check {
        let (outcome, _) = attempt(true)?;
        Some(run::changes(reference, &outcome).is_empty())
    } else {
        None
    };
    Ok((Verdict::Fail(changed), fixed))
}

/// The progress line, on standard error when it is a terminal.
struct Progress {
    on: bool,
}

impl Progress {
    fn new(wanted: bool) -> Progress {
        // SAFETY: isatty has no preconditions.
        let on = wanted && unsafe { libc::isatty(2) } == 1;
        Progress { on }
    }

    fn show(&self, what: &str) {
        if self.on {
            eprint!("\r\x1b[Keintrfix audit: {what}");
        }
    }

    fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[K");
        }
    }
}
