//! Tracing: events in both formats, per-process files, the exit summary,
//! and logging where it is dangerous (signal handlers interrupting malloc,
//! forks of threaded processes, atexit and thread-exit paths, setuid).

mod common;
use common::{c_program, library, run, run_c, Mode, Run};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------
// A small JSON reader: enough for the shim's flat lines and the summary's
// one nested object. Any syntax error fails the test that reads the line.

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> &str {
        match self.get(key) {
            Some(Json::Str(s)) => s,
            other => panic!("{key} is not a string: {other:?} in {self:?}"),
        }
    }

    fn num(&self, key: &str) -> u64 {
        match self.get(key) {
            Some(&Json::Num(n)) if n >= 0.0 && n.fract() == 0.0 => n as u64,
            other => panic!("{key} is not a whole number: {other:?} in {self:?}"),
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Json::Obj(fields) => fields.iter().map(|(k, _)| k.as_str()).collect(),
            _ => vec![],
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn parse(line: &str) -> Result<Json, String> {
        let mut p = Parser {
            s: line.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing text at {} in {line}", p.i));
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at {}", b as char, self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => self.object(),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            other => Err(format!("unexpected {other:?} at {}", self.i)),
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {}", self.i))
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_digit() || b"-+.eE".contains(b))
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
        text.parse()
            .map(Json::Num)
            .map_err(|e| format!("bad number {text}: {e}"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = *self.s.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("bad escape")?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            let c = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                            self.i += 4;
                            let c = char::from_u32(c).ok_or("bad \\u")?;
                            out.extend_from_slice(c.to_string().as_bytes());
                        }
                        _ => return Err(format!("bad escape \\{}", e as char)),
                    }
                }
                0..=0x1f => return Err("raw control character in string".into()),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }

    fn object(&mut self) -> Result<Json, String> {
        self.eat(b'{')?;
        let mut fields = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Obj(fields));
        }
        loop {
            self.ws();
            let key = self.string()?;
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(format!("duplicate key {key}"));
            }
            self.eat(b':')?;
            let value = self.value()?;
            fields.push((key, value));
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Obj(fields));
                }
                _ => return Err(format!("expected ',' or '}}' at {}", self.i)),
            }
        }
    }
}

/// Every line of `text` as a JSON object; panics on any line that is not.
fn json_lines(text: &str) -> Vec<Json> {
    text.lines()
        .map(|l| Parser::parse(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

#[test]
fn the_json_reader_reads_what_it_should() {
    let v = Parser::parse(r#"{"a":"x\"\u0041","b":-1.5,"c":true,"d":{"e":2},"f":null}"#).unwrap();
    assert_eq!(v.str("a"), "x\"A");
    assert_eq!(v.get("d").unwrap().num("e"), 2);
    for bad in [
        r#"{"a":1,}"#,
        r#"{"a":1"#,
        r#"{"a":1,"a":2}"#,
        "{\"a\":\"\n\"}",
        "{} x",
    ] {
        assert!(Parser::parse(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------
// Helpers.

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "eintrfix-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `cmd` with no EINTRFIX_* variables or LD_PRELOAD but `vars`.
fn run_command(mut cmd: Command, vars: &[(&str, &str)]) -> Run {
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") || key == "LD_PRELOAD" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(vars.iter().copied());
    let start = Instant::now();
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// A `key=value` figure the program printed on stdout.
fn figure(run: &Run, key: &str) -> u64 {
    let prefix = format!("{key}=");
    run.stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in stdout: {run:?}"))
}

/// Asserts that a program fails with EINTR without the shim.
fn fails_bare(program: &str) {
    let bare = run_c(program, Mode::Bare);
    assert_eq!(
        bare.code,
        Some(1),
        "bare {program} must meet EINTR: {bare:?}"
    );
    assert!(
        bare.stderr.contains("Interrupted system call"),
        "{program}: {bare:?}"
    );
}

/// Whether `s` starts with an RFC 3339 UTC timestamp with microseconds.
fn starts_with_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 27
        && b[..27].iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            26 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

const INFO_JSON: [(&str, &str); 2] = [("EINTRFIX_LOG", "info"), ("EINTRFIX_LOG_FORMAT", "json")];

// ---------------------------------------------------------------------
// Events.

#[test]
fn json_events_carry_the_fields_with_the_right_values() {
    fails_bare("trace_json");
    let run = run_c("trace_json", Mode::Shim(&INFO_JSON));
    assert_eq!(run.code, Some(0), "{run:?}");
    let read_fd = figure(&run, "read_fd");
    let events = json_lines(&run.stderr);
    let (reads, sleeps): (Vec<&Json>, Vec<&Json>) =
        events.iter().partition(|e| e.str("function") == "read");
    assert!(reads.len() >= 20, "{} read events", reads.len());
    assert!(sleeps.len() >= 10, "{} nanosleep events", sleeps.len());
    let pid = events[0].num("pid");
    for e in &events {
        assert!(starts_with_timestamp(e.str("timestamp")), "{e:?}");
        assert_eq!(e.str("level"), "INFO");
        assert_eq!(e.str("target"), "eintrfix");
        assert_eq!(e.str("signal"), "SIGALRM", "{e:?}");
        assert_eq!(e.str("action"), "retried");
        assert_eq!(e.num("pid"), pid);
        assert_eq!(e.num("tid"), pid, "single-threaded: tid is the pid");
    }
    for e in &reads {
        assert_eq!(e.num("fd"), read_fd, "{e:?}");
        assert_eq!(
            e.keys(),
            [
                "timestamp",
                "level",
                "target",
                "function",
                "fd",
                "signal",
                "sender",
                "action",
                "reason",
                "attempt",
                "waited_us",
                "pid",
                "tid"
            ]
        );
    }
    for e in &sleeps {
        assert_eq!(e.str("function"), "nanosleep");
        assert!(e.get("fd").is_none(), "nanosleep has no fd: {e:?}");
    }
    // Attempts count 1, 2, ... within each call; waited time only grows.
    for call in [&reads, &sleeps] {
        for (i, e) in call.iter().enumerate() {
            assert_eq!(e.num("attempt"), i as u64 + 1);
        }
        assert!(call
            .windows(2)
            .all(|w| w[0].num("waited_us") <= w[1].num("waited_us")));
    }
    // The writer is 200 ms late; the nap is 100 ms.
    let read_waited = reads.last().unwrap().num("waited_us");
    assert!(
        (120_000..=350_000).contains(&read_waited),
        "read waited {read_waited} us"
    );
    let nap_waited = sleeps.last().unwrap().num("waited_us");
    assert!(
        (50_000..=250_000).contains(&nap_waited),
        "nanosleep waited {nap_waited} us"
    );
}

#[test]
fn quiet_by_default_and_text_lines_when_asked() {
    let quiet = run_c("trace_json", Mode::Shim(&[]));
    assert_eq!(quiet.code, Some(0), "{quiet:?}");
    assert_eq!(quiet.stderr, "", "retries are silent by default");

    let info = run_c("trace_json", Mode::Shim(&[("EINTRFIX_LOG", "info")]));
    assert_eq!(info.code, Some(0), "{info:?}");
    let fd = figure(&info, "read_fd");
    let lines: Vec<&str> = info.stderr.lines().collect();
    assert!(lines.len() >= 30, "{info:?}");
    for line in &lines {
        assert!(starts_with_timestamp(line), "{line}");
        let rest = &line[27..];
        assert!(
            rest.starts_with("  INFO eintrfix: read fd=")
                || rest.starts_with("  INFO eintrfix: nanosleep signal="),
            "{line}"
        );
        assert!(
            line.contains(" action=retried reason=retry_policy attempt="),
            "{line}"
        );
    }
    assert!(info.stderr.contains(&format!("eintrfix: read fd={fd} ")));

    // The log policy passes the EINTR and warns, which the default shows.
    let logged = run_c("trace_json", Mode::Shim(&[("EINTRFIX_POLICY", "log")]));
    assert_eq!(logged.code, Some(1), "{logged:?}");
    let warn: Vec<&str> = logged
        .stderr
        .lines()
        .filter(|l| l.contains("eintrfix"))
        .collect();
    assert_eq!(warn.len(), 1, "{logged:?}");
    assert!(starts_with_timestamp(warn[0]));
    assert!(
        warn[0].contains(&format!("  WARN eintrfix: read fd={fd} signal="))
            && warn[0].contains(" action=passed reason=log_policy attempt=1 "),
        "{}",
        warn[0]
    );

    // Exhausted retries warn too; the retries before them stay silent.
    let bounded = run_c("trace_json", Mode::Shim(&[("EINTRFIX_MAX_RETRIES", "3")]));
    assert_eq!(bounded.code, Some(1), "{bounded:?}");
    let lines: Vec<&str> = bounded
        .stderr
        .lines()
        .filter(|l| l.contains("eintrfix"))
        .collect();
    assert_eq!(lines.len(), 1, "{bounded:?}");
    assert!(
        lines[0].contains(" WARN eintrfix: read fd=")
            && lines[0].contains("reason=max_retries attempt=4")
    );

    // EINTRFIX_LOG=off silences even warnings.
    let off = run_c(
        "trace_json",
        Mode::Shim(&[("EINTRFIX_POLICY", "log"), ("EINTRFIX_LOG", "off")]),
    );
    assert_eq!(off.code, Some(1));
    assert!(!off.stderr.contains("eintrfix"), "{off:?}");

    // Directives by target work as EnvFilter's do.
    let targeted = run_c(
        "trace_json",
        Mode::Shim(&[("EINTRFIX_LOG", "warn,eintrfix=info")]),
    );
    assert!(targeted.stderr.lines().count() >= 30, "{targeted:?}");
    let other = run_c("trace_json", Mode::Shim(&[("EINTRFIX_LOG", "other=info")]));
    assert_eq!(other.stderr, "", "{other:?}");
}

// ---------------------------------------------------------------------
// The summary.

#[test]
fn json_summary_is_consistent_with_the_events() {
    let mut vars = INFO_JSON.to_vec();
    vars.push(("EINTRFIX_SUMMARY", "1"));
    let run = run_c("trace_json", Mode::Shim(&vars));
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines = json_lines(&run.stderr);
    let first_summary = lines
        .iter()
        .position(|l| l.get("summary").is_some())
        .expect("a summary");
    let (events, summaries) = lines.split_at(first_summary);
    assert_eq!(summaries.len(), 2, "one object per function: {summaries:?}");
    for s in summaries {
        assert_eq!(s.get("summary"), Some(&Json::Bool(true)));
        assert_eq!(s.str("target"), "eintrfix");
        let function = s.str("function");
        let mine: Vec<&Json> = events
            .iter()
            .filter(|e| e.str("function") == function)
            .collect();
        let count = |action: &str| mine.iter().filter(|e| e.str("action") == action).count() as u64;
        assert_eq!(s.num("interruptions"), mine.len() as u64, "{function}");
        assert_eq!(s.num("retried"), count("retried"));
        assert_eq!(s.num("passed"), count("passed"));
        let left = mine.iter().filter(|e| e.str("reason") == "runtime").count();
        assert_eq!(s.num("runtime"), left as u64);
        assert_eq!(s.num("pid"), events[0].num("pid"));
        let Some(Json::Obj(signals)) = s.get("signals") else {
            panic!("no signals object: {s:?}")
        };
        for (name, n) in signals {
            let events_with = mine.iter().filter(|e| e.str("signal") == name).count() as f64;
            assert_eq!(*n, Json::Num(events_with), "{function} {name}");
        }
        let total: f64 = signals
            .iter()
            .map(|(_, n)| if let Json::Num(n) = n { *n } else { 0.0 })
            .sum();
        assert_eq!(total as u64, mine.len() as u64);
        // The summary counts each call to its end, the events to its last
        // interruption: a little more, never less.
        let last_waited = mine.last().unwrap().num("waited_us");
        let waited = s.num("waited_us");
        assert!(
            waited >= last_waited && waited <= last_waited + 100_000,
            "{function}: summary {waited} us, last event {last_waited} us"
        );
    }
}

#[test]
fn text_summary_is_an_aligned_table_of_eintrfix_lines() {
    let run = run_c("trace_json", Mode::Shim(&[("EINTRFIX_SUMMARY", "1")]));
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "header, columns, read, nanosleep: {run:?}");
    assert!(lines.iter().all(|l| l.starts_with("eintrfix ")), "{run:?}");
    assert!(
        lines[0].contains("interruptions in 2 functions"),
        "{}",
        lines[0]
    );
    let header = lines[1];
    for column in [
        "function",
        "interruptions",
        "retried",
        "passed",
        "runtime",
        "waited_ms",
        "signals",
    ] {
        assert!(header.contains(column), "{header}");
    }
    // Each number ends where its column's title ends.
    for row in &lines[2..] {
        for title in ["interruptions", "retried", "passed", "runtime", "waited_ms"] {
            let end = header.find(title).unwrap() + title.len();
            assert!(
                row.as_bytes()[end - 1].is_ascii_digit() && row.as_bytes()[end] == b' ',
                "{title} misaligned:\n{header}\n{row}"
            );
        }
        let words: Vec<&str> = row.split_whitespace().collect();
        let n = |i: usize| words[i].parse::<u64>().unwrap();
        assert!(n(2) > 0 && n(2) == n(3) + n(4), "{row}");
        assert_eq!(n(5), 0, "a C program is no runtime: {row}");
        assert!(words[7].starts_with("SIGALRM="), "{row}");
    }
    assert!(lines[2].starts_with("eintrfix read ") && lines[3].starts_with("eintrfix nanosleep "));
}

#[test]
fn no_summary_when_nothing_was_interrupted() {
    let run = run(
        Path::new("/bin/true"),
        &[],
        Mode::Shim(&[("EINTRFIX_SUMMARY", "1"), ("EINTRFIX_LOG", "info")]),
    );
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stderr, "");
}

// ---------------------------------------------------------------------
// Files.

#[test]
fn pid_files_for_forked_and_execd_children() {
    fails_bare("trace_fork");
    let dir = TempDir::new("pidfiles");
    let template = dir.path().join("trace-%p.log");
    let mut vars = INFO_JSON.to_vec();
    let template = template.to_str().unwrap();
    vars.push(("EINTRFIX_LOG_FILE", template));
    vars.push(("EINTRFIX_SUMMARY", "1"));
    let run = run_c("trace_fork", Mode::Shim(&vars));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stderr, "", "everything goes to the files");
    let pids = ["parent", "forked", "execd"].map(|k| figure(&run, k));
    let expected: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = pids
            .iter()
            .map(|p| dir.path().join(format!("trace-{p}.log")))
            .collect();
        v.sort();
        v
    };
    assert_eq!(dir.files(), expected, "one file per logging process");
    for (pid, path) in pids
        .iter()
        .zip(pids.map(|p| dir.path().join(format!("trace-{p}.log"))))
    {
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{path:?}");
        let mut events = json_lines(&fs::read_to_string(&path).unwrap());
        // Each process ends its file with its own summary: a forked child
        // does not count its parent's calls.
        let summary = events.pop().unwrap();
        assert_eq!(summary.get("summary"), Some(&Json::Bool(true)), "{path:?}");
        assert_eq!(summary.num("pid"), *pid);
        assert_eq!(
            summary.num("interruptions"),
            events.len() as u64,
            "{path:?}"
        );
        assert!(events.len() >= 20, "{path:?}: {} events", events.len());
        for e in &events {
            assert_eq!(e.num("pid"), *pid, "{path:?}: {e:?}");
            assert_eq!(e.str("function"), "read");
        }
    }
}

#[test]
fn an_unopenable_log_file_falls_back_to_stderr_with_one_line() {
    // A FIFO nobody reads: opening it must not block the program.
    let dir = TempDir::new("fifo");
    let fifo = dir.path().join("fifo");
    let c_fifo = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
    for (path, error) in [
        (
            "/nonexistent-eintrfix-dir/x.log",
            "ENOENT (No such file or directory)",
        ),
        ("/dev/null/x.log", "ENOTDIR (Not a directory)"),
        (fifo.to_str().unwrap(), "ENXIO (No such device or address)"),
    ] {
        let run = run_c(
            "trace_json",
            Mode::Shim(&[("EINTRFIX_LOG_FILE", path), ("EINTRFIX_POLICY", "log")]),
        );
        assert_eq!(run.code, Some(1), "{run:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(
            lines[0],
            format!("eintrfix: EINTRFIX_LOG_FILE: cannot open '{path}': {error}; logging to stderr instead")
        );
        assert_eq!(
            run.stderr.matches("cannot open").count(),
            1,
            "one line only: {run:?}"
        );
        assert!(lines[1].contains(" WARN eintrfix: read fd="), "{run:?}");
    }
}

// ---------------------------------------------------------------------
// Safety.

#[test]
fn no_allocation_on_the_event_path_nor_when_a_child_opens_its_file() {
    fails_bare("trace_no_malloc");
    for format in ["json", "text"] {
        let dir = TempDir::new("nomalloc");
        let template = dir.path().join("%p.log");
        let run = run_c(
            "trace_no_malloc",
            Mode::Shim(&[
                ("EINTRFIX_LOG", "info"),
                ("EINTRFIX_LOG_FORMAT", format),
                ("EINTRFIX_SUMMARY", "1"),
                ("EINTRFIX_LOG_FILE", template.to_str().unwrap()),
            ]),
        );
        assert_eq!(run.code, Some(0), "{format}: {run:?}");
        assert_eq!(figure(&run, "allocations"), 0);
        assert_eq!(figure(&run, "child_allocations"), 0);
        let files = dir.files();
        assert_eq!(files.len(), 2, "parent and child files: {files:?}");
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            assert!(
                text.lines().filter(|l| l.contains("read")).count() >= 20,
                "{file:?}"
            );
        }
    }
}

#[test]
fn logging_from_a_handler_that_interrupted_malloc() {
    fails_bare("trace_storm");
    let dir = TempDir::new("storm");
    let log = dir.path().join("storm.log");
    let mut vars = INFO_JSON.to_vec();
    vars.push(("EINTRFIX_LOG_FILE", log.to_str().unwrap()));
    // Its SIGUSR1 storm comes from a thread (pthread_kill): ticks, not a
    // wake-up to pass.
    vars.push(("EINTRFIX_THREAD_SIGNALS", "retry"));
    let run = run_c("trace_storm", Mode::Shim(&vars));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.elapsed >= Duration::from_millis(1000) && run.elapsed <= Duration::from_secs(10),
        "{:?}",
        run.elapsed
    );
    let write_fd = figure(&run, "write_fd");
    let events = json_lines(&fs::read_to_string(&log).unwrap());
    let writes = events
        .iter()
        .filter(|e| e.str("function") == "write" && e.num("fd") == write_fd)
        .count();
    assert!(writes >= 50, "{writes} write events from the handler");
}

#[test]
fn hundreds_of_forks_of_a_threaded_logging_process_never_hang() {
    fails_bare("trace_forks");
    let dir = TempDir::new("forks");
    let log = dir.path().join("forks.log");
    let mut vars = INFO_JSON.to_vec();
    vars.push(("EINTRFIX_LOG_FILE", log.to_str().unwrap()));
    let start = Instant::now();
    let run = run_c("trace_forks", Mode::Shim(&vars));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(figure(&run, "children"), 300);
    assert_eq!(figure(&run, "hung"), 0);
    assert!(
        start.elapsed() >= Duration::from_millis(900) && start.elapsed() <= Duration::from_secs(25)
    );
    // Parent threads and children share one O_APPEND file: every line is
    // whole.
    let events = json_lines(&fs::read_to_string(&log).unwrap());
    let pids: BTreeSet<u64> = events.iter().map(|e| e.num("pid")).collect();
    let by_parent_threads = events
        .iter()
        .filter(|e| e.num("tid") != e.num("pid"))
        .count();
    assert!(pids.len() >= 200, "{} processes logged", pids.len());
    assert!(
        by_parent_threads >= 100,
        "{by_parent_threads} parent-thread events"
    );
}

#[test]
fn interruptions_in_atexit_and_thread_key_destructors_are_logged() {
    fails_bare("trace_exit_paths");
    let run = run_c(
        "trace_exit_paths",
        Mode::Shim(&[("EINTRFIX_LOG", "info"), ("EINTRFIX_SUMMARY", "1")]),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("atexit_done"));
    let events: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(" INFO eintrfix: nanosleep "))
        .collect();
    let field = |line: &str, key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut by_thread: BTreeMap<bool, usize> = BTreeMap::new();
    for e in &events {
        *by_thread
            .entry(field(e, "tid=") == field(e, "pid="))
            .or_default() += 1;
    }
    assert!(
        by_thread.get(&false) >= Some(&10),
        "thread-exit events: {run:?}"
    );
    assert!(by_thread.get(&true) >= Some(&10), "atexit events: {run:?}");
    // The summary comes after the atexit handler, and counts its calls.
    let summary = run.stderr.lines().next_back().unwrap();
    assert!(summary.starts_with("eintrfix nanosleep "), "{run:?}");
    let counted: usize = summary.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert_eq!(counted, events.len(), "{run:?}");
}

// ---------------------------------------------------------------------
// Before the constructor.

#[test]
fn events_before_the_constructor_are_written_and_filtered() {
    // A library preloaded after the shim is initialised before it: its
    // constructor's interrupted read reaches the hook first.
    let early = common::root().join("target/c-tests/libtrace_early.so");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o",
        ])
        .arg(&early)
        .arg(common::root().join("c-tests/lib/trace_early.c"))
        .status()
        .unwrap();
    assert!(status.success());
    let preload = format!("{} {}", library().display(), early.display());
    let run_true = |vars: &[(&str, &str)]| {
        let mut all = vec![("LD_PRELOAD", preload.as_str()), ("EINTRFIX_POLICY", "log")];
        all.extend_from_slice(vars);
        run_command(Command::new("/bin/true"), &all)
    };
    let json = run_true(&[("EINTRFIX_LOG_FORMAT", "json")]);
    assert_eq!(json.code, Some(0), "{json:?}");
    let lines: Vec<&str> = json.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{json:?}");
    let event = Parser::parse(lines[0]).unwrap();
    assert_eq!(
        (
            event.str("level"),
            event.str("function"),
            event.str("reason")
        ),
        ("WARN", "read", "log_policy")
    );
    assert_eq!(lines[1], "early: read: EINTR");
    // EINTRFIX_LOG is honoured there too.
    let off = run_true(&[("EINTRFIX_LOG", "off")]);
    assert_eq!(off.stderr, "early: read: EINTR\n", "{off:?}");
}

// ---------------------------------------------------------------------
// Secure execution.

/// Whether this test process can make a setuid-root program and run it as
/// another user.
fn can_test_setuid() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() == 0 };
    root && Path::new("/usr/bin/setpriv").exists()
}

#[test]
fn secure_execution_ignores_the_log_file() {
    if !can_test_setuid() {
        eprintln!("skipped: needs root and setpriv to make and run a setuid program");
        return;
    }
    fails_bare("trace_secure");
    // Readable and executable by everyone, writable by root only: if the
    // shim honoured EINTRFIX_LOG_FILE in the setuid program, its root euid
    // would create the file here.
    let dir = TempDir::new("secure");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let program = dir.path().join("trace_secure");
    let lib = dir.path().join("libeintrfix.so");
    fs::copy(c_program("trace_secure"), &program).unwrap();
    fs::copy(library(), &lib).unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(&lib, fs::Permissions::from_mode(0o755)).unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    fs::set_permissions(&logs, fs::Permissions::from_mode(0o755)).unwrap();
    let template = logs.join("secure-%p.log");

    let run_as = |user: Option<&str>| -> Run {
        let mut cmd = match user {
            Some(uid) => {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={uid}"),
                    &format!("--regid={uid}"),
                    "--clear-groups",
                ])
                .arg(&program);
                c
            }
            None => Command::new(&program),
        };
        cmd.arg(&lib);
        run_command(
            cmd,
            &[
                ("EINTRFIX_LOG", "info"),
                ("EINTRFIX_LOG_FILE", template.to_str().unwrap()),
            ],
        )
    };
    let count_logs = || fs::read_dir(&logs).unwrap().count();

    // Control: run by its owner, the program is not in secure mode and the
    // shim writes the file.
    let plain = run_as(None);
    assert_eq!(plain.code, Some(0), "{plain:?}");
    assert_eq!(figure(&plain, "at_secure"), 0);
    assert_eq!(count_logs(), 1, "the control run writes its file");
    for entry in fs::read_dir(&logs).unwrap() {
        fs::remove_file(entry.unwrap().path()).unwrap();
    }

    // Setuid root, run by nobody: the kernel sets AT_SECURE, the shim
    // logs to stderr and creates nothing.
    let secure = run_as(Some("65534"));
    assert_eq!(secure.code, Some(0), "{secure:?}");
    assert_eq!(figure(&secure, "at_secure"), 1, "{secure:?}");
    assert_eq!(
        count_logs(),
        0,
        "EINTRFIX_LOG_FILE must be ignored: {secure:?}"
    );
    assert!(
        secure
            .stderr
            .lines()
            .filter(|l| l.contains(" INFO eintrfix: read fd="))
            .count()
            >= 20,
        "{secure:?}"
    );
}

// ---------------------------------------------------------------------
// Log files in shared directories.

/// The other user of these tests: `nobody`.
const NOBODY: u32 = 65534;

/// The refusal line for a name of `nobody`'s in a root-owned sticky
/// world-writable directory, seen by a root process.
fn refusal_line(path: &Path, what: &str, rule: &str, verb: &str) -> String {
    format!(
        "eintrfix: EINTRFIX_LOG_FILE: cannot open '{}': it is {what} owned by uid 65534 in a \
         sticky world-writable directory, and the {rule} rule {verb} one there only if owned \
         by the effective uid (0) or the directory's owner (0); logging to stderr instead",
        path.display()
    )
}

/// How many `read` events of trace_json's, with `EINTRFIX_LOG=info`,
/// `text` holds.
fn read_events(text: &str) -> usize {
    text.lines()
        .filter(|l| l.contains(" INFO eintrfix: read fd="))
        .count()
}

#[test]
fn a_log_file_planted_in_a_shared_directory_is_not_written() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to make files of another user");
        return;
    }
    use std::os::unix::fs::{lchown, symlink};
    fails_bare("trace_json");
    // A root-owned sticky world-writable directory, as /tmp, and a private
    // one holding what a planted name would point at.
    let shared = TempDir::new("shared");
    fs::set_permissions(shared.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let private = TempDir::new("private");
    fs::set_permissions(private.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let victim = private.path().join("victim");
    fs::write(&victim, "precious\n").unwrap();
    let info = [("EINTRFIX_LOG", "info")];
    let reference = run_c("trace_json", Mode::Shim(&info));
    assert_eq!(reference.code, Some(0), "{reference:?}");
    let run_logging_to = |path: &Path| -> Run {
        let run = run_c(
            "trace_json",
            Mode::Shim(&[
                ("EINTRFIX_LOG", "info"),
                ("EINTRFIX_LOG_FILE", path.to_str().unwrap()),
            ]),
        );
        // The program's own output and exit status never change.
        assert_eq!(run.code, reference.code, "{path:?}: {run:?}");
        assert_eq!(run.stdout, reference.stdout, "{path:?}: {run:?}");
        run
    };
    let refused = |path: &Path, line: String| {
        let run = run_logging_to(path);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines[0], line, "{run:?}");
        assert_eq!(
            run.stderr.matches("EINTRFIX_LOG_FILE").count(),
            1,
            "{run:?}"
        );
        assert!(
            read_events(&run.stderr) >= 20,
            "events go to stderr: {run:?}"
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    };

    // nobody's link to a root-owned file: not followed.
    let planted = shared.path().join("app.log");
    symlink(&victim, &planted).unwrap();
    lchown(&planted, Some(NOBODY), None).unwrap();
    refused(
        &planted,
        refusal_line(&planted, "a symbolic link", "protected_symlinks", "follows"),
    );

    // nobody's regular file: not appended to.
    let theirs = shared.path().join("theirs.log");
    fs::write(&theirs, "").unwrap();
    lchown(&theirs, Some(NOBODY), None).unwrap();
    let run = run_logging_to(&theirs);
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        refusal_line(&theirs, "a regular file", "protected_regular", "writes to")
    );
    assert_eq!(fs::metadata(&theirs).unwrap().len(), 0, "{run:?}");

    // A second hard link to a root-owned file: anyone may have made it.
    let linked = shared.path().join("linked.log");
    fs::hard_link(&victim, &linked).unwrap();
    refused(
        &linked,
        format!(
            "eintrfix: EINTRFIX_LOG_FILE: cannot open '{}': it is a regular file with 2 hard \
             links in a sticky world-writable directory, and the hard-link rule writes to one \
             there only if it has a single link (another user may have made the others); \
             logging to stderr instead",
            linked.display()
        ),
    );

    // The process's own link there is followed, and a new file is created.
    let followed = |link: &Path, target: &Path| {
        let run = run_logging_to(link);
        assert_eq!(run.stderr, "", "{run:?}");
        let text = fs::read_to_string(target).unwrap();
        assert!(read_events(&text) >= 20, "{link:?}: {text}");
        fs::remove_file(target).unwrap();
    };
    let own = shared.path().join("own.log");
    let own_target = private.path().join("own-target.log");
    symlink(&own_target, &own).unwrap();
    followed(&own, &own_target);
    let new = shared.path().join("new.log");
    followed(&new, &new);

    // In a private directory, anyone's link is followed, as before.
    let elsewhere = private.path().join("link.log");
    let target = private.path().join("target.log");
    symlink(&target, &elsewhere).unwrap();
    lchown(&elsewhere, Some(NOBODY), None).unwrap();
    followed(&elsewhere, &target);
}
