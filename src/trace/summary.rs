//! `EINTRFIX_SUMMARY=1`: per-function counts, printed when the process
//! exits: interruptions, how many were retried and passed, how many of the
//! passed were left to a runtime that handles EINTR itself, the time waited
//! and the count per signal.
//!
//! The counters are relaxed atomics in static memory, touched only on the
//! slow path (a call that failed with EINTR) and only when the summary is
//! on: no lock, no allocation, usable from signal handlers.
//!
//! When it is printed: from the library's ELF destructor (`.fini_array`,
//! in `lib.rs`), which `exit()` runs after the program's `atexit`
//! handlers, so interruptions in those handlers are counted. `_exit`, a fatal signal and `exec` run no
//! destructors: no summary then (after `exec`, the new image counts afresh
//! and prints its own). A forked child starts from zero (the counts are
//! reset in a `pthread_atfork` child handler), so parent and child each
//! report their own calls. A process in which no call was interrupted
//! prints nothing. The summary is written whatever `EINTRFIX_LOG` says.
//!
//! The sink calls these only when the summary is on.

use super::destination;
use super::event::Event;
use super::event::{CallName, Site};
use super::format::{Record, Timestamp};
use super::line::Line;
use crate::config::{Config, LogFormat, LOG_TARGET};
use crate::functions::Function;
use crate::process;
use crate::signum::{self, SignalName};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Signals count at their number; index 0 counts unknown signals.
const SIGNAL_SLOTS: usize = signum::SLOTS;

/// The counts of one function.
struct Counts {
    interruptions: AtomicU64,
    retried: AtomicU64,
    passed: AtomicU64,
    /// Of `passed`, those left to a runtime (`crate::policy::Reason::Runtime`).
    runtime: AtomicU64,
    waited_ns: AtomicU64,
    by_signal: [AtomicU32; SIGNAL_SLOTS],
}

impl Counts {
    const fn zero() -> Counts {
        Counts {
            interruptions: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            passed: AtomicU64::new(0),
            runtime: AtomicU64::new(0),
            waited_ns: AtomicU64::new(0),
            by_signal: [const { AtomicU32::new(0) }; SIGNAL_SLOTS],
        }
    }

    fn reset(&self) {
        if self.interruptions.swap(0, Ordering::Relaxed) == 0 {
            return;
        }
        self.retried.store(0, Ordering::Relaxed);
        self.passed.store(0, Ordering::Relaxed);
        self.runtime.store(0, Ordering::Relaxed);
        self.waited_ns.store(0, Ordering::Relaxed);
        for slot in &self.by_signal {
            if slot.load(Ordering::Relaxed) != 0 {
                slot.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// The counts of each function's hooked calls, then of the calls of its
/// name inside libc (see [`slot`]).
static COUNTS: [Counts; 2 * Function::COUNT] = [const { Counts::zero() }; 2 * Function::COUNT];

/// Where the counts of `function`'s calls made at `site` are.
const fn slot(function: Function, site: Site) -> usize {
    match site {
        Site::Hook => function.index(),
        Site::Libc => Function::COUNT + function.index(),
    }
}

/// The name of the calls counted at a [`slot`].
fn slot_name(index: usize) -> Option<CallName> {
    let function = *Function::ALL.get(index % Function::COUNT)?;
    let site = if index < Function::COUNT {
        Site::Hook
    } else {
        Site::Libc
    };
    Some(CallName { function, site })
}
/// Set once the summary has been printed (a destructor may run twice if
/// the library is both preloaded and `dlopen`ed).
static PRINTED: AtomicBool = AtomicBool::new(false);

/// Has every fork child start its summary from zero, from the
/// constructor.
pub fn init() {
    // `forked_child` only stores to atomics, which is allowed in a child
    // of a threaded parent.
    crate::process::on_fork_child(forked_child);
}

/// In a forked child: its summary covers its own calls only.
extern "C" fn forked_child() {
    for counts in &COUNTS {
        counts.reset();
    }
    PRINTED.store(false, Ordering::Relaxed);
}

/// Counts one interruption.
pub fn count(event: &Event) {
    let Some(counts) = COUNTS.get(slot(event.function, event.site)) else {
        return;
    };
    counts.interruptions.fetch_add(1, Ordering::Relaxed);
    if event.retried {
        counts.retried.fetch_add(1, Ordering::Relaxed);
    } else {
        counts.passed.fetch_add(1, Ordering::Relaxed);
    }
    if event.runtime {
        counts.runtime.fetch_add(1, Ordering::Relaxed);
    }
    let slot = event
        .signal
        .and_then(|s| usize::try_from(s).ok())
        .filter(|&s| s < SIGNAL_SLOTS)
        .unwrap_or(0);
    if let Some(by_signal) = counts.by_signal.get(slot) {
        by_signal.fetch_add(1, Ordering::Relaxed);
    }
}

/// Adds the time a call spent from its first interruption to its end.
pub fn finished(function: Function, first_ns: u64) {
    if let Some(counts) = COUNTS.get(slot(function, Site::Hook)) {
        let waited = crate::deadline::now_ns().saturating_sub(first_ns);
        counts.waited_ns.fetch_add(waited, Ordering::Relaxed);
    }
}

/// One function's counts, read once.
struct Row {
    /// Its slot in [`COUNTS`].
    index: usize,
    name: CallName,
    interruptions: u64,
    retried: u64,
    passed: u64,
    runtime: u64,
    waited_ns: u64,
}

fn rows() -> impl Iterator<Item = Row> {
    COUNTS.iter().enumerate().filter_map(|(index, counts)| {
        let interruptions = counts.interruptions.load(Ordering::Relaxed);
        let name = slot_name(index)?;
        (interruptions > 0).then(|| Row {
            index,
            name,
            interruptions,
            retried: counts.retried.load(Ordering::Relaxed),
            passed: counts.passed.load(Ordering::Relaxed),
            runtime: counts.runtime.load(Ordering::Relaxed),
            waited_ns: counts.waited_ns.load(Ordering::Relaxed),
        })
    })
}

/// The signal counts of a function: (slot, count) for each non-zero one,
/// known signals first, unknown last.
fn signal_counts(index: usize) -> impl Iterator<Item = (usize, u64)> {
    let counts = COUNTS.get(index);
    (1..SIGNAL_SLOTS).chain(0..1).filter_map(move |slot| {
        let n = counts?.by_signal.get(slot)?.load(Ordering::Relaxed);
        (n > 0).then_some((slot, u64::from(n)))
    })
}

/// Displays a signal slot: its name, or `unknown`.
struct SlotName(usize);

impl core::fmt::Display for SlotName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match i32::try_from(self.0) {
            Ok(s) if s > 0 => write!(f, "{}", SignalName(s)),
            _ => f.write_str("unknown"),
        }
    }
}

/// Prints the summary now, once.
pub fn print(config: &Config) {
    if PRINTED.swap(true, Ordering::Relaxed) {
        return;
    }
    let (functions, total) =
        rows().fold((0u64, 0u64), |(f, t), row| (f + 1, t + row.interruptions));
    if functions == 0 {
        return;
    }
    let pid = process::getpid();
    let fd = destination::fd(config, pid);
    match config.log_format {
        LogFormat::Text => print_text(fd, pid, functions, total),
        LogFormat::Json => print_json(fd, pid),
    }
}

const HEADERS: [(&str, usize); 5] = [
    ("interruptions", 13),
    ("retried", 10),
    ("passed", 10),
    ("runtime", 10),
    ("waited_ms", 12),
];

fn print_text(fd: libc::c_int, pid: libc::c_int, functions: u64, total: u64) {
    let mut line = Line::new();
    let _ = write!(
        line,
        "eintrfix summary pid={pid}: {total} interruption{} in {functions} function{}",
        if total == 1 { "" } else { "s" },
        if functions == 1 { "" } else { "s" },
    );
    let dropped = super::line::dropped();
    if dropped > 0 {
        let _ = write!(
            line,
            "; {dropped} line{} could not be written",
            if dropped == 1 { "" } else { "s" }
        );
    }
    line.write_to(fd);
    let name_width = rows()
        .map(|row| row.name.width())
        .fold("function".len(), usize::max);
    let mut line = Line::new();
    let _ = write!(line, "eintrfix {:<name_width$}", "function");
    for (header, width) in HEADERS {
        let _ = write!(line, " {header:>width$}");
    }
    let _ = write!(line, "  signals");
    line.write_to(fd);
    for row in rows() {
        let mut line = Line::new();
        let [(_, w1), (_, w2), (_, w3), (_, w4), (_, w5)] = HEADERS;
        let _ = write!(
            line,
            "eintrfix {:<name_width$} {:>w1$} {:>w2$} {:>w3$} {:>w4$} {:>w5$.3} ",
            row.name,
            row.interruptions,
            row.retried,
            row.passed,
            row.runtime,
            row.waited_ns as f64 / 1e6,
        );
        for (slot, n) in signal_counts(row.index) {
            let _ = write!(line, " {}={n}", SlotName(slot));
        }
        line.write_to(fd);
    }
}

fn print_json(fd: libc::c_int, pid: libc::c_int) {
    for row in rows() {
        let mut line = Line::new();
        let mut record = Record::start(
            &mut line,
            LogFormat::Json,
            Timestamp::now(),
            "INFO",
            LOG_TARGET,
        );
        record.bool("summary", true);
        let mut name = [0u8; 64];
        record.str("function", row.name.as_str(&mut name));
        record.num("pid", pid);
        record.num("interruptions", row.interruptions);
        record.num("retried", row.retried);
        record.num("passed", row.passed);
        record.num("runtime", row.runtime);
        record.num("waited_us", row.waited_ns / 1000);
        record.num("lines_dropped", super::line::dropped());
        record.open_object("signals");
        for (i, (slot, n)) in signal_counts(row.index).enumerate() {
            record.object_entry(i == 0, &SlotName(slot), n);
        }
        record.close_object();
        record.finish();
        line.write_to(fd);
    }
}
