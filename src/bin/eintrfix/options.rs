//! The command line: each option sets one `EINTRFIX_*` variable, checked
//! with the library's own parser before anything is started.

use crate::config::Escaped;
use crate::{config, open_rules, shown};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// `-h`, `--help`.
    Help,
    /// `--version`.
    Version,
    /// `check PROGRAM`.
    Check(OsString),
    /// `check --system`.
    CheckSystem,
    /// Run a program under the shim.
    Run(Command),
}

/// A program to run and the variables the options set.
#[derive(Debug)]
pub struct Command {
    /// `(variable, value)`, one per variable, the last option given winning.
    pub variables: Vec<(&'static str, OsString)>,
    /// The program, searched in `PATH` unless it holds a slash.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
}

/// One option and the variable it sets.
struct Opt {
    long: &'static str,
    variable: &'static str,
    /// `None`: takes a value; `Some(v)`: a flag that sets `v`.
    flag: Option<&'static str>,
}

const OPTIONS: &[Opt] = &[
    Opt {
        long: "--policy",
        variable: config::POLICY,
        flag: None,
    },
    Opt {
        long: "--pass-signals",
        variable: config::PASS_SIGNALS,
        flag: None,
    },
    Opt {
        long: "--alarm-timeouts",
        variable: config::ALARM_TIMEOUTS,
        flag: None,
    },
    Opt {
        long: "--thread-signals",
        variable: config::THREAD_SIGNALS,
        flag: None,
    },
    Opt {
        long: "--max-retries",
        variable: config::MAX_RETRIES,
        flag: None,
    },
    Opt {
        long: "--log",
        variable: config::LOG,
        flag: None,
    },
    Opt {
        long: "--log-file",
        variable: config::LOG_FILE,
        flag: None,
    },
    Opt {
        long: "--log-format",
        variable: config::LOG_FORMAT,
        flag: None,
    },
    Opt {
        long: "--json",
        variable: config::LOG_FORMAT,
        flag: Some("json"),
    },
    Opt {
        long: "--summary",
        variable: config::SUMMARY,
        flag: Some("1"),
    },
    Opt {
        long: "--runtimes",
        variable: config::RUNTIMES,
        flag: None,
    },
    Opt {
        long: "--no-per-site",
        variable: config::PER_SITE,
        flag: Some("0"),
    },
];

/// The text of `--help`.
pub const HELP: &str = "\
Usage: eintrfix [OPTIONS] [--] PROGRAM [ARGS...]
       eintrfix check PROGRAM
       eintrfix check --system
       eintrfix audit [OPTIONS] -- PROGRAM [ARGS...]

Runs PROGRAM with libeintrfix.so preloaded, so that its blocking calls are
retried instead of failing with EINTR (\"Interrupted system call\") when a
signal it handles arrives. The program keeps eintrfix's process id, its
signals and its exit status. LD_PRELOAD keeps what it held; the library
goes first.

Options (each sets the variable named after it; the last one given wins):
      --policy LIST          EINTRFIX_POLICY: retry (default), pass or log,
                             and NAME=POLICY items, e.g. retry,connect=pass
      --pass-signals LIST    EINTRFIX_PASS_SIGNALS: signals whose
                             interruptions pass through (default INT,TERM,QUIT;
                             'none' for none)
      --alarm-timeouts WHAT  EINTRFIX_ALARM_TIMEOUTS: pass (default) or retry
                             for a one-shot SIGALRM (the program's own timeout)
      --thread-signals WHAT  EINTRFIX_THREAD_SIGNALS: pass (default) or retry
                             for a signal a thread aims at another of its
                             process (pthread_kill: a wake-up)
      --max-retries N        EINTRFIX_MAX_RETRIES: retries of one call before
                             its EINTR passes (default unlimited)
      --log DIRECTIVES       EINTRFIX_LOG: event filter, LEVEL or TARGET=LEVEL
                             items (off, error, warn, info, debug, trace)
      --log-file PATH        EINTRFIX_LOG_FILE: where events go; %p is the pid
      --log-format FORMAT    EINTRFIX_LOG_FORMAT: text (default) or json
      --json                 the same as --log-format json
      --summary              EINTRFIX_SUMMARY=1: a per-function summary at exit
      --runtimes LIST        EINTRFIX_RUNTIMES: code whose own calls keep their
                             EINTR because it retries them itself: auto
                             (default: CPython 3.5+), none, or object names
                             (libruby.so.3.1, /abs/path.so) with or without auto
      --no-per-site          EINTRFIX_PER_SITE=0: retry also at call sites
                             whose own code retries EINTR after running its
                             signal processing (by default those get their
                             EINTR, as without eintrfix)
  -h, --help                 this text
      --version              the version and the library this command uses

eintrfix check PROGRAM tells whether preloading reaches PROGRAM (found in
PATH): not a static or Go binary, not setuid/setgid or with file
capabilities, a script's interpreter followed; which hooked functions it
and its libraries import, and how many of their call sites handle EINTR
themselves (EINTRFIX_CHECK_SITES=list lists each). Exit status 0 when the
shim can act, 1 when not, 126 or 127 when 'eintrfix -- PROGRAM' would fail
to start it with that status, 125 when PROGRAM cannot be read or passes
check's limits.
eintrfix check --system tells whether /etc/ld.so.preload would reach every
program running now (not a static, musl or other-architecture one).

The library is EINTRFIX_LIB if set, else libeintrfix.so beside this command,
else, relative to it, ../lib/TUPLE/eintrfix/ (the Debian package; TUPLE is
the multiarch name, such as x86_64-linux-gnu), else ../lib/eintrfix/ (make
install); never the current directory.

Exit status: 125 for eintrfix's own errors, 126 when PROGRAM cannot be
executed, 127 when it is not found, else PROGRAM's own.
eintrfix audit finds the calls at which an interruption would break
PROGRAM ('eintrfix audit --help').
To run a program named 'check' or 'audit', write 'eintrfix -- check'.
";

/// Reads the arguments (without the command's own name).
pub fn parse(args: Vec<OsString>) -> Result<Invocation, String> {
    let mut variables: Vec<(&'static str, OsString)> = Vec::new();
    let mut args = args.into_iter();
    let mut first = true;
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        if first && bytes == b"check" {
            let program = args
                .next()
                .ok_or("check: no program given (eintrfix check PROGRAM)")?;
            if let Some(extra) = args.next() {
                return Err(format!(
                    "check: one program only; unexpected '{}'",
                    shown(&extra)
                ));
            }
            if program == "--system" {
                return Ok(Invocation::CheckSystem);
            }
            return Ok(Invocation::Check(program));
        }
        first = false;
        match bytes {
            b"-h" | b"--help" => return Ok(Invocation::Help),
            b"--version" => return Ok(Invocation::Version),
            b"--" => {
                let program = args.next().ok_or("no program given after '--'")?;
                return Ok(run(variables, program, args.collect()));
            }
            _ if bytes.starts_with(b"-") && bytes.len() > 1 => {
                let (name, inline) = match bytes.iter().position(|&b| b == b'=') {
                    Some(eq) => (&bytes[..eq], Some(OsStr::from_bytes(&bytes[eq + 1..]))),
                    None => (bytes, None),
                };
                let option = OPTIONS
                    .iter()
                    .find(|o| o.long.as_bytes() == name)
                    .ok_or_else(|| format!("unknown option '{}'", shown(&arg)))?;
                let value = match (option.flag, inline) {
                    (Some(_), Some(_)) => {
                        return Err(format!("{} takes no value", option.long));
                    }
                    (Some(fixed), None) => OsString::from(fixed),
                    (None, Some(value)) => value.to_owned(),
                    (None, None) => args
                        .next()
                        .ok_or_else(|| format!("{} needs a value", option.long))?,
                };
                if value.is_empty() {
                    return Err(format!("{}: empty value", option.long));
                }
                variables.retain(|(v, _)| *v != option.variable);
                variables.push((option.variable, value));
            }
            _ => return Ok(run(variables, arg, args.collect())),
        }
    }
    Err("no program given".into())
}

fn run(
    variables: Vec<(&'static str, OsString)>,
    program: OsString,
    args: Vec<OsString>,
) -> Invocation {
    Invocation::Run(Command {
        variables,
        program,
        args,
    })
}

/// The option that sets `variable` (the first, for `--log-format`).
fn option_for(variable: &str) -> &'static str {
    OPTIONS
        .iter()
        .find(|o| o.variable == variable)
        .map_or("?", |o| o.long)
}

/// Checks what the program would see: the options' values over the
/// environment's, with the library's own parser. A bad variable inherited
/// from the environment is an error too: the library would disable itself.
pub fn validate(set: &[(&'static str, OsString)]) -> Result<(), String> {
    let effective: Vec<(&'static str, Vec<u8>, bool)> = config::VARIABLES
        .iter()
        .filter_map(|&name| match set.iter().find(|(v, _)| *v == name) {
            Some((_, value)) => Some((name, value.as_bytes().to_vec(), true)),
            None => std::env::var_os(name).map(|v| (name, v.as_bytes().to_vec(), false)),
        })
        .collect();
    let from_option = |name: &str| effective.iter().any(|(v, _, opt)| *v == name && *opt);
    let source = |name: &'static str| {
        if from_option(name) {
            option_for(name).to_string()
        } else {
            format!("{name} (from the environment)")
        }
    };
    if let Err(e) = config::parse(|name| {
        effective
            .iter()
            .find(|(v, _, _)| *v == name)
            .map(|(_, value, _)| value.as_slice())
    }) {
        return Err(format!(
            "{}: {} '{}'; accepted: {}",
            source(e.variable),
            e.problem,
            Escaped(e.bad),
            e.accepted
        ));
    }
    if let Some((_, file, _)) = effective
        .iter()
        .find(|(v, value, _)| *v == config::LOG_FILE && !value.is_empty())
    {
        let path = Path::new(OsStr::from_bytes(file));
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(format!(
                "{}: the directory '{}' does not exist",
                source(config::LOG_FILE),
                shown(dir)
            ));
        }
        if let Err(refusal) = log_file_rules(file) {
            return Err(format!(
                "{}: refusing '{}': {refusal}",
                source(config::LOG_FILE),
                shown(path)
            ));
        }
    }
    Ok(())
}

/// The library's rules for the log file (`open_rules`), applied to `file`
/// without creating or opening it for writing: why it would refuse it, if
/// it would. Other errors are left to the library to report, as before. A
/// name holding `%` is not checked: the file each process opens is known
/// only then (its directory was checked).
fn log_file_rules(file: &[u8]) -> Result<(), String> {
    let name = file.rsplit(|&b| b == b'/').next().unwrap_or_default();
    if name.contains(&b'%') {
        return Ok(());
    }
    // The path, then room for the targets of the links followed.
    let mut buf = file.to_vec();
    buf.resize(file.len() + libc::PATH_MAX as usize + 1, 0);
    match open_rules::check(&mut buf, file.len()) {
        Err(open_rules::Denied::Refused(refusal)) => Err(refusal.to_string()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Invocation, String> {
        parse(args.iter().map(OsString::from).collect())
    }

    fn command(args: &[&str]) -> Command {
        match parse_strs(args) {
            Ok(Invocation::Run(c)) => c,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn options_set_their_variables_and_stop_at_the_program() {
        let c = command(&[
            "--policy",
            "pass",
            "--max-retries=3",
            "--json",
            "--summary",
            "--runtimes=auto,libruby.so.3.1",
            "prog",
            "--policy",
            "x",
        ]);
        assert_eq!(c.program, "prog");
        assert_eq!(c.args, ["--policy", "x"]);
        let get = |name| {
            c.variables
                .iter()
                .find(|(v, _)| *v == name)
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(get(config::POLICY), "pass");
        assert_eq!(get(config::MAX_RETRIES), "3");
        assert_eq!(get(config::LOG_FORMAT), "json");
        assert_eq!(get(config::SUMMARY), "1");
        assert_eq!(get(config::RUNTIMES), "auto,libruby.so.3.1");
    }

    #[test]
    fn the_last_option_wins() {
        let c = command(&["--json", "--log-format", "text", "prog"]);
        assert_eq!(c.variables, [(config::LOG_FORMAT, OsString::from("text"))]);
    }

    #[test]
    fn double_dash_and_check() {
        let c = command(&["--", "-weird-name", "a"]);
        assert_eq!(
            (c.program.as_os_str(), c.args.len()),
            (OsStr::new("-weird-name"), 1)
        );
        assert!(matches!(parse_strs(&["check", "ls"]), Ok(Invocation::Check(p)) if p == "ls"));
        assert!(matches!(
            parse_strs(&["check", "--system"]),
            Ok(Invocation::CheckSystem)
        ));
        assert_eq!(command(&["--", "check"]).program, "check");
        assert_eq!(command(&["--summary", "check"]).program, "check");
    }

    #[test]
    fn bad_command_lines() {
        for bad in [
            &[][..],
            &["--policy"],
            &["--bogus", "prog"],
            &["--json=yes", "prog"],
            &["--policy=", "prog"],
            &["--"],
            &["check"],
            &["check", "a", "b"],
        ] {
            assert!(parse_strs(bad).is_err(), "{bad:?} was accepted");
        }
    }

    /// The `EINTRFIX_*` names in `text`.
    fn variables_in(text: &str) -> std::collections::BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .filter(|word| word.starts_with("EINTRFIX_") && word.len() > "EINTRFIX_".len())
            .map(String::from)
            .collect()
    }

    /// A file of the source tree.
    fn document(path: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The text of `document` from `start` to the next `end`.
    fn section<'a>(document: &'a str, start: &str, end: &str) -> &'a str {
        let rest = document
            .split_once(start)
            .unwrap_or_else(|| panic!("no {start:?}"))
            .1;
        rest.split(end).next().unwrap_or_default()
    }

    /// The checklist for adding a variable (see [`config::VARIABLES`]):
    /// the library's list, the command's options, the README's
    /// configuration table and the man page's ENVIRONMENT section name the
    /// same variables (the audit's own only in the last), and the man page
    /// and `--help` every option.
    #[test]
    fn every_variable_has_an_option_a_readme_row_and_a_man_page_entry() {
        let library: std::collections::BTreeSet<String> =
            config::VARIABLES.iter().map(|v| v.to_string()).collect();
        let mut for_users = library.clone();
        for audit in config::SET_BY_AUDIT {
            assert!(for_users.remove(*audit), "{audit} not in config::VARIABLES");
        }
        let options: std::collections::BTreeSet<String> =
            OPTIONS.iter().map(|o| o.variable.to_string()).collect();
        assert_eq!(
            options, for_users,
            "the command's options against config::VARIABLES but SET_BY_AUDIT"
        );
        let mut documented = for_users.clone();
        documented.insert(config::LIB.to_string());
        let readme = document("README.md");
        let table: String = section(&readme, "\n## Configuration\n", "\n## ")
            .lines()
            .filter(|l| l.starts_with('|'))
            .map(|row| row.split('|').nth(1).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            variables_in(&table),
            documented,
            "README's Configuration table against config::VARIABLES but SET_BY_AUDIT, and EINTRFIX_LIB"
        );
        let manual = document("docs/eintrfix.1");
        assert_eq!(
            variables_in(section(&manual, "\n.SH ENVIRONMENT\n", "\n.SH ")),
            library
                .into_iter()
                .chain([config::LIB.to_string()])
                .collect(),
            "the man page's ENVIRONMENT against config::VARIABLES and EINTRFIX_LIB"
        );
        let man_options = section(&manual, "\n.SH OPTIONS\n", "\n.SH ").replace("\\-", "-");
        for option in OPTIONS {
            let named = |text: &str| {
                text.match_indices(option.long).any(|(at, _)| {
                    !text[at + option.long.len()..]
                        .starts_with(|c: char| c == '-' || c.is_ascii_alphanumeric())
                })
            };
            assert!(
                named(&man_options),
                "{} missing from the man page's OPTIONS",
                option.long
            );
            assert!(named(HELP), "{} missing from --help", option.long);
        }
    }
}
