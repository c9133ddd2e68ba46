//! Which interruptions pass through: stop flags, alarm timeouts, the
//! transparency of `sigaction` and friends, and interpreters.

mod common;
use common::{library, run, run_c, Mode, Run};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Asserts that `name` fails bare with EINTR (exit 1) and works under the
/// shim with default settings, and returns the shim's run.
fn fails_bare_works_under_shim(name: &str) -> Run {
    let bare = run_c(name, Mode::Bare);
    assert_eq!(bare.code, Some(1), "{name} bare must meet EINTR: {bare:?}");
    assert!(bare.stderr.contains("Interrupted system call"), "{bare:?}");
    let fixed = run_c(name, Mode::Shim(&[]));
    assert_eq!(fixed.code, Some(0), "{name} under the shim: {fixed:?}");
    fixed
}

fn assert_within(what: &str, ms: f64, low: f64, high: f64) {
    assert!(
        (low..=high).contains(&ms),
        "{what}: {ms:.1} ms, expected within [{low}, {high}] ms"
    );
}

#[test]
fn a_stop_flag_stops_the_program_within_100_ms_of_sigterm() {
    let fixed = fails_bare_works_under_shim("sig_stop_flag");
    assert_within("SIGTERM to stop", fixed.figure_ms("stop"), 0.0, 100.0);
}

#[test]
fn pass_signals_none_retries_sigterm_too() {
    // The data the helper writes at 1.5 s ends the read: SIGTERM was retried.
    let run = run_c(
        "sig_stop_flag",
        Mode::Shim(&[("EINTRFIX_PASS_SIGNALS", "none")]),
    );
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_within(
        "run",
        run.elapsed.as_secs_f64() * 1e3,
        1500.0,
        1500.0 + 1000.0,
    );
}

#[test]
fn pass_signals_alrm_makes_storm_programs_fail_as_bare() {
    let alrm = [("EINTRFIX_PASS_SIGNALS", "ALRM")];
    for name in ["sig_stop_flag", "sig_longjmp", "read_pipe"] {
        let run = run_c(name, Mode::Shim(&alrm));
        assert_eq!(run.code, Some(1), "{name}: {run:?}");
        assert!(run.stderr.contains("Interrupted system call"), "{run:?}");
    }
    // Signals not in the set are still retried.
    let run = run_c("sig_siginfo", Mode::Shim(&alrm));
    assert_eq!(run.code, Some(0), "{run:?}");
}

#[test]
fn an_alarm_timeout_cuts_a_read_at_one_second_through_a_signal_storm() {
    let fixed = fails_bare_works_under_shim("sig_alarm_timeout");
    assert_within(
        "alarm(1) timeout",
        fixed.figure_ms("timeout"),
        990.0,
        1300.0,
    );
    // With the rule off, the alarm is retried like any signal: the data
    // written at 2.5 s ends the read.
    let retried = run_c(
        "sig_alarm_timeout",
        Mode::Shim(&[("EINTRFIX_ALARM_TIMEOUTS", "retry")]),
    );
    assert_eq!(retried.code, Some(0), "{retried:?}");
    assert_within("data", retried.figure_ms("data"), 2490.0, 2900.0);
}

#[test]
fn a_timer_its_handler_rearms_is_periodic() {
    fails_bare_works_under_shim("sig_alarm_rearm");
}

#[test]
fn queries_round_trip_exactly_as_bare() {
    let bare = run_c("sig_roundtrip", Mode::Bare);
    assert_eq!(bare.code, Some(0), "{bare:?}");
    let shim = run_c("sig_roundtrip", Mode::Shim(&[]));
    assert_eq!(shim.code, Some(0), "{shim:?}");
    assert_eq!(bare.stdout, shim.stdout);
    // The output says what was checked, so that a no-op would not pass.
    for line in [
        "h3 siginfo: handler=h3",
        "signal h2 prev=h1",
        "bsd_signal h2 prev=h1",
        "sysv_signal h2 prev=h1",
        "resethand fired=1",
        "after resethand: handler=DFL",
        "sigset hold again prev=HOLD",
        "fired=1 errno=1234",
    ] {
        assert!(
            shim.stdout.contains(line),
            "{line} missing: {}",
            shim.stdout
        );
    }
}

#[test]
fn siginfo_payloads_arrive_intact() {
    let fixed = fails_bare_works_under_shim("sig_siginfo");
    assert!(fixed.stdout.contains("received=200 wrong=0 last=200"));
}

#[test]
fn siglongjmp_out_of_a_handler_during_a_hooked_call() {
    let fixed = fails_bare_works_under_shim("sig_longjmp");
    // Five 50 ms timers, each jumped out of.
    assert_within("five jumps", fixed.figure_ms("jumps"), 250.0, 250.0 + 150.0);
}

#[test]
fn strict_c99_signal_is_system_v_and_still_works() {
    let bare = run_c("sig_sysv_c99", Mode::Bare);
    let fixed = fails_bare_works_under_shim("sig_sysv_c99");
    let expected = "handler_is_ours=1 resethand=1 nodefer=1 restart=0 siginfo=0";
    assert!(bare.stdout.contains(expected), "{bare:?}");
    assert_eq!(bare.stdout, fixed.stdout);
}

/// The storm programs aim their SIGUSR1 ticks at a thread with
/// `pthread_kill`: ticks, not wake-ups, so they run with the thread rule
/// off (a wake-up passes by default: see sig_thread_wakeup).
const THREAD_TICKS: (&str, &str) = ("EINTRFIX_THREAD_SIGNALS", "retry");

#[test]
fn the_record_is_per_thread() {
    let bare = run_c("sig_threads", Mode::Bare);
    assert_eq!(
        bare.code,
        Some(1),
        "sig_threads bare must meet EINTR: {bare:?}"
    );
    let fixed = run_c("sig_threads", Mode::Shim(&[THREAD_TICKS]));
    assert_eq!(fixed.code, Some(0), "sig_threads under the shim: {fixed:?}");
    // By default the ticks are wake-ups, and the read fails as bare.
    let woken = run_c("sig_threads", Mode::Shim(&[]));
    assert_eq!(woken.code, Some(1), "{woken:?}");
}

#[test]
fn an_eintr_after_which_no_handler_ran_is_retried() {
    fails_bare_works_under_shim("sig_stop_cont");
}

#[test]
fn max_retries_passes_the_eintr_and_says_so() {
    let run = run_c("read_pipe", Mode::Shim(&[("EINTRFIX_MAX_RETRIES", "3")]));
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("reason=max_retries"), "{run:?}");
}

/// A Python script under the shim (or bare), with `args` after `-c`.
fn python(script: &str, shim: bool) -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", script]).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("EINTRFIX_") || key == "LD_PRELOAD" {
            cmd.env_remove(key);
        }
    }
    if shim {
        cmd.env("LD_PRELOAD", library());
    }
    // Python installs no handler for a signal ignored at start (as SIGINT
    // is for a shell's background jobs): start with the defaults.
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGALRM, libc::SIG_DFL);
            Ok(())
        })
    };
    cmd
}

/// Runs `cmd` to its end, killing it after `limit` (a retried alarm would
/// otherwise hang the test forever).
fn output_within(cmd: &mut Command, limit: Duration) -> std::process::Output {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let pid = child.id() as i32;
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > limit {
                    // SAFETY: kill with the child's pid, which `done` says is not
                    // yet reaped (a reuse within one 20 ms poll is not a concern).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let out = child.wait_with_output().expect("waits");
    done.store(true, Ordering::SeqCst);
    watchdog.join().expect("watchdog");
    out
}

#[test]
fn python_alarm_with_a_raising_handler_cuts_a_blocking_read_at_one_second() {
    let script = r#"
import os, signal, time
class Timeout(Exception): pass
def on_alarm(signum, frame): raise Timeout()
signal.signal(signal.SIGALRM, on_alarm)
r, w = os.pipe()
start = time.monotonic()
signal.alarm(1)
try:
    os.read(r, 1)
    print("read returned")
except Timeout:
    print("timeout_ms=%.3f" % ((time.monotonic() - start) * 1e3))
"#;
    for shim in [false, true] {
        let out = output_within(&mut python(script, shim), Duration::from_secs(20));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "shim={shim}: {out:?}");
        let ms: f64 = stdout
            .trim()
            .strip_prefix("timeout_ms=")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("shim={shim}: {stdout}"));
        assert_within("python alarm(1)", ms, 990.0, 1300.0);
    }
}

#[test]
fn python_sigint_ends_time_sleep_at_once() {
    let script = "import time\nprint('sleeping')\ntime.sleep(10)\nprint('slept')";
    for shim in [false, true] {
        let mut child = python(script, shim)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reads");
        assert_eq!(line.trim(), "sleeping");
        std::thread::sleep(Duration::from_millis(200));
        assert!(child.try_wait().expect("waits").is_none(), "still asleep");
        let sent = Instant::now();
        // SAFETY: kill with a valid pid and signal.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
        let out = child.wait_with_output().expect("waits");
        let ms = sent.elapsed().as_secs_f64() * 1e3;
        assert_within("SIGINT to exit", ms, 0.0, 500.0);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("KeyboardInterrupt"),
            "shim={shim}: {out:?}"
        );
    }
}

#[test]
fn a_shell_trap_still_cuts_wait() {
    // A real program nobody here wrote: the shell's trap handler, installed
    // through the hooked sigaction, runs and cuts `wait` short as bare.
    let sh = std::path::Path::new("/bin/sh");
    let run = run(
        sh,
        &["-c", "trap 'echo trapped' USR1; (sleep 0.3; kill -USR1 $$) & sleep 5 >/dev/null 2>&1 & wait $!; echo done"],
        Mode::Shim(&[]),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("trapped\ndone"), "{run:?}");
    assert_within(
        "trap",
        run.elapsed.as_secs_f64() * 1e3,
        300.0,
        300.0 + 1500.0,
    );
}

#[test]
fn threads_racing_to_install_never_see_a_mixed_action() {
    for mode in [Mode::Bare, Mode::Shim(&[])] {
        let run = run_c("sig_install_race", mode);
        assert_eq!(run.code, Some(0), "{mode:?}: {run:?}");
        assert!(run.stdout.contains("mixed=0 delivered=200"), "{run:?}");
    }
}

#[test]
fn a_child_forked_while_another_thread_installs_can_install() {
    for mode in [Mode::Bare, Mode::Shim(&[])] {
        let run = run_c("sig_fork_install", mode);
        assert_eq!(run.code, Some(0), "{mode:?}: {run:?}");
        assert!(run.stdout.contains("hung=0"), "{run:?}");
    }
}

/// Regression: Python's subprocess resets every handler to SIG_DFL in its
/// vfork child before exec. The child shares the parent's memory, so the
/// shim recorded SIG_DFL for the parent too, and the parent's next SIGALRM
/// re-raised itself forever instead of reaching the handler.
#[test]
fn a_vfork_child_resetting_handlers_leaves_the_parents_alone() {
    let script = "import signal, subprocess, time\n\
                  hits = []\n\
                  signal.signal(signal.SIGALRM, lambda s, f: hits.append(s))\n\
                  subprocess.run(['true'], check=True)\n\
                  signal.setitimer(signal.ITIMER_REAL, 0.05)\n\
                  time.sleep(0.3)\n\
                  print('hits', len(hits))\n";
    for shim in [false, true] {
        let out = output_within(&mut python(script, shim), Duration::from_secs(10));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "hits 1",
            "shim={shim}: {out:?}"
        );
    }
}

// ---------------------------------------------------------------------
// Decisions from the delivery itself.

#[test]
fn a_signal_handled_between_calls_affects_no_later_call() {
    // The SIGINT raised before the read must not make the storm's first
    // EINTR pass.
    fails_bare_works_under_shim("sig_stale_record");
    let pass = run_c(
        "sig_stale_record",
        Mode::Shim(&[("EINTRFIX_POLICY", "pass")]),
    );
    assert_eq!(pass.code, Some(1), "{pass:?}");
}

#[test]
fn a_wake_up_a_thread_aims_at_another_passes() {
    let fixed = fails_bare_works_under_shim("sig_thread_wakeup");
    assert_within("pthread_kill to stop", fixed.figure_ms("stop"), 0.0, 100.0);
    let pass = run_c(
        "sig_thread_wakeup",
        Mode::Shim(&[("EINTRFIX_POLICY", "pass")]),
    );
    assert_eq!(pass.code, Some(1), "{pass:?}");
    // With the rule off, the wake-up is retried like the storm: the data
    // written at 1.5 s ends the read.
    let retried = run_c(
        "sig_thread_wakeup",
        Mode::Shim(&[("EINTRFIX_THREAD_SIGNALS", "retry")]),
    );
    assert_eq!(retried.code, Some(3), "{retried:?}");
    assert_within(
        "run",
        retried.elapsed.as_secs_f64() * 1e3,
        1500.0,
        1500.0 + 1000.0,
    );
    // Tracing names the facts the decision used.
    let traced = run_c("sig_thread_wakeup", Mode::Shim(&[("EINTRFIX_LOG", "info")]));
    assert_eq!(traced.code, Some(0), "{traced:?}");
    assert!(
        traced.stderr.lines().any(|l| l.contains(" read fd=")
            && l.contains("signal=SIGUSR1 sender=thread action=passed reason=thread_signal")),
        "{traced:?}"
    );
}

#[test]
fn an_alarm_whose_handler_resets_it_to_default_passes() {
    // glibc's tst-sem6: a retry would run into the second alarm and die.
    let fixed = fails_bare_works_under_shim("sig_alarm_default");
    assert_within("alarm(1)", fixed.figure_ms("alarm"), 990.0, 1300.0);
    let pass = run_c(
        "sig_alarm_default",
        Mode::Shim(&[("EINTRFIX_POLICY", "pass")]),
    );
    assert_eq!(pass.code, Some(1), "{pass:?}");
    // Even with alarm timeouts retried, the fatal default passes.
    let rule_off = run_c(
        "sig_alarm_default",
        Mode::Shim(&[
            ("EINTRFIX_ALARM_TIMEOUTS", "retry"),
            ("EINTRFIX_LOG", "info"),
        ]),
    );
    assert_eq!(rule_off.code, Some(0), "{rule_off:?}");
    assert!(
        rule_off
            .stderr
            .contains("signal=SIGALRM sender=kernel action=passed reason=fatal_default"),
        "{rule_off:?}"
    );
}
