#!/usr/bin/env python3
"""CPython's own signal and EINTR test suites, bare and under the shim
(`make cpython-suites`). Python 3 standard library only.

Each suite (test_eintr, test_signal, test_threading, test_subprocess,
test_os by default) runs with `python3 -m test SUITE -v` twice: bare, and
with LD_PRELOAD=target/release/libeintrfix.so, never with an EINTRFIX_*
variable. Every per-test result line (`test_x (module.Class.test_x) ...
ok`, and test_eintr's child script's lines) is compared. A test whose
outcome differs is run again, alone, bare and under the shim, --reruns
times each: it counts as a difference only if no outcome seen bare was
ever seen under the shim; otherwise it is reported as flaky. A test that
keeps its outcome but is much slower under the shim (SLOWER_BY), in the
suite run and in every run alone, is listed without failing the run.

The interpreter is $PYTHON, else Debian's /usr/bin/python3, else python3
on PATH. If its test package is missing (Debian's libpython3.X-testsuite,
which `make cpython-suites` installs first through scripts/test-deps),
one line says what to install and the script exits 2.

Prints a table (suite, tests, same, differ, flaky, seconds bare and under
the shim), every test that differs, the flaky and the slower ones. Exits 0 when every outcome
matches, 1 when one differs (or a run timed out or crashed), 2 when it
cannot run. Logs are kept in target/cpython-suites/.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "target", "release", "libeintrfix.so")
LOGS = os.path.join(ROOT, "target", "cpython-suites")
SUITES = ("test_eintr", "test_signal", "test_threading", "test_subprocess", "test_os")
MODES = ("bare", "shim")
# A test that takes this many seconds more than twice its bare time under
# the shim, in its suite run and in every run alone, is listed: a handler
# run late shows so when the test still passes.
SLOWER_BY = 1.0

# Suites whose tests run in a child script (its result lines name
# `__main__`): a test of theirs is run again through that script.
CHILD_SCRIPTS = {"test_eintr": "_test_eintr.py"}

# `name (id)` at the start of a line, then an optional subtest's
# parameters and the rest; the status ends a line after ` ... `.
START = re.compile(r"^(?P<sub>  )?(?P<name>\w+) \((?P<id>[\w.]+)\)(?P<params> \(.*?\))?(?P<rest>( \.\.\. .*)?)$")
STATUS = r"(?P<status>ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)"
STATUS_AFTER = re.compile(r"\.\.\. " + STATUS + r"\s*$")
STATUS_ALONE = re.compile(r"^" + STATUS + r"\s*$")


def die(text):
    """Cannot run: one line on stderr, exit status 2."""
    print(f"cpython-suites: {text}", file=sys.stderr, flush=True)
    sys.exit(2)


def note(text):
    print(text, flush=True)


def find_python():
    """The interpreter to test, as an absolute path."""
    chosen = os.environ.get("PYTHON")
    if not chosen:
        chosen = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else shutil.which("python3")
    if not chosen:
        die("no python3 found (set PYTHON=/path/to/python3)")
    # Resolve through the interpreter itself: a pyenv shim or a wrapper
    # script would otherwise run under the preload too.
    real = subprocess.run([chosen, "-c", "import sys; print(sys.executable)"],
                          capture_output=True, text=True, check=False)
    if real.returncode != 0 or not real.stdout.strip():
        die(f"{chosen} does not run")
    return real.stdout.strip()


def has_test_package(python, suites):
    imports = "; ".join(f"import test.{s}" for s in suites)
    return subprocess.run([python, "-c", imports], capture_output=True, check=False).returncode == 0


def require_test_package(python, suites):
    """Stops with one line if `import test.test_eintr` (and the others)
    fails: `make cpython-suites` installs the package first."""
    if has_test_package(python, suites):
        return
    version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if python.startswith("/usr/bin/"):
        die(f"{python} has no test package (import test.test_eintr fails): install "
            f"libpython{version}-testsuite (scripts/test-deps cpython does, as root or with sudo -n)")
    die(f"{python} has no test package (import test.test_eintr fails): install its test "
        f"suite, or set PYTHON to Debian's /usr/bin/python3")


def environment(mode):
    """Ours, minus any preload and every EINTRFIX_* variable; the shim's
    library preloaded in `shim` mode."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("EINTRFIX_") and k != "LD_PRELOAD"}
    if mode == "shim":
        env["LD_PRELOAD"] = LIB
    return env


def run(command, mode, limit, log):
    """Runs `command` in its own session within `limit` seconds, output
    (stdout and stderr, interleaved as written) into `log`. Returns
    (exit status or "timeout", seconds, [(seconds since start, line)])."""
    started = time.monotonic()
    lines = []
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=environment(mode),
                             cwd=LOGS, start_new_session=True)

    def read():
        with open(log, "wb") as out:
            for raw in child.stdout:
                out.write(raw)
                lines.append((time.monotonic() - started, raw.decode("utf-8", "replace").rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        status = child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        # The whole session: regrtest's own children too.
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        status = "timeout"
    # A grandchild in a session of its own may hold the pipe open.
    reader.join(timeout=10)
    return status, time.monotonic() - started, list(lines)


def outcome_of(status):
    """`ok`, `FAIL`, `ERROR`, `skipped`, ... (a skip's reason dropped)."""
    return "skipped" if status.startswith("skipped") else status


def parse(lines):
    """Every test's outcome in regrtest's verbose output, from
    [(seconds, line)]: {id: outcome} and {id: seconds from the previous
    result line to its own, about the time the test took}. A subtest is
    `id (params)`. A test whose status line never came (its subtests
    failed, or the run ended inside it) is `FAIL (subtests)` or `no result`."""
    results, took = {}, {}
    pending = []  # tests started whose status has not come yet, innermost last
    last = 0.0

    def done(key, status, when):
        nonlocal last
        results[key] = outcome_of(status)
        took[key] = when - last
        last = when

    for when, line in lines:
        start = START.match(line)
        if start:
            key = start["id"] + (start["params"] or "")
            status = STATUS_AFTER.search(start["rest"])
            if status:
                done(key, status["status"], when)
            elif not start["sub"]:
                pending.append(key)
            continue
        status = STATUS_ALONE.match(line) or (pending and STATUS_AFTER.search(line))
        if status and pending:
            done(pending.pop(), status["status"], when)
    for key in pending:
        failed = any(k.startswith(key + " (") and v in ("FAIL", "ERROR") for k, v in results.items())
        results.setdefault(key, "FAIL (subtests)" if failed else "no result")
    return results, took


def suite_command(python, suite, match=None):
    command = [python, "-m", "test", suite, "-v"]
    if match:
        command += ["-m", match]
    return command


def rerun_command(python, suite, key):
    """The command that runs test `key` of `suite` alone."""
    test_id = key.split(" (")[0]  # a subtest runs with its test
    script = CHILD_SCRIPTS.get(suite)
    if script and test_id.startswith("__main__."):
        directory = subprocess.run([python, "-c", "import os, test; print(os.path.dirname(test.__file__))"],
                                   capture_output=True, text=True, check=True).stdout.strip()
        return [python, "-E", "-X", "faulthandler", "-u", os.path.join(directory, script), "-v",
                test_id[len("__main__."):]]
    return suite_command(python, suite, test_id)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", default=list(SUITES), help="suites to run (default: all five)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one suite run may take (default 900)")
    parser.add_argument("--reruns", type=int, default=3, help="runs of a differing test, each way (default 3)")
    parser.add_argument("--max-rechecks", type=int, default=40,
                        help="differing tests run again at most (default 40); the rest count as differences")
    parser.add_argument("--no-build", action="store_true", help="do not run make lib")
    args = parser.parse_args()

    python = find_python()
    require_test_package(python, args.suites)
    if not args.no_build:
        if subprocess.run(["make", "-s", "lib", "CARGO_FLAGS=--quiet"], cwd=ROOT, check=False).returncode:
            die("make lib failed")
    if not os.path.exists(LIB):
        die(f"{LIB} is missing")
    os.makedirs(LOGS, exist_ok=True)
    version = subprocess.run([python, "-V"], capture_output=True, text=True, check=False).stdout.strip()
    note(f"cpython-suites: {version} ({python}), logs in {os.path.relpath(LOGS, ROOT)}/")

    rows, differences, flaky, broken, slower = [], [], [], [], []
    rechecks = 0
    total_started = time.monotonic()
    for suite in args.suites:
        results, took, seconds, statuses = {}, {}, {}, {}
        for mode in MODES:
            log = os.path.join(LOGS, f"{suite}.{mode}.log")
            status, seconds[mode], output = run(suite_command(python, suite), mode, args.timeout, log)
            (results[mode], took[mode]), statuses[mode] = parse(output), status
            note(f"  {suite:16} {mode:5} {seconds[mode]:6.1f} s  exit {status}  "
                 f"{len(results[mode])} results")
            if status == "timeout":
                broken.append(f"{suite} {mode}: timed out after {args.timeout:.0f} s (log {log})")
            elif not results[mode]:
                broken.append(f"{suite} {mode}: no result lines, exit {status} (log {log})")
        keys = sorted(set(results["bare"]) | set(results["shim"]))
        differing = [k for k in keys if results["bare"].get(k, "absent") != results["shim"].get(k, "absent")]
        suite_flaky, suite_differ = [], []
        for key in differing:
            seen = {mode: {results[mode].get(key, "absent")} for mode in MODES}
            rechecked = rechecks < args.max_rechecks
            if rechecked:
                rechecks += 1
                for _ in range(args.reruns):
                    for mode in MODES:
                        log = os.path.join(LOGS, f"{suite}.rerun.{mode}.log")
                        _, _, output = run(rerun_command(python, suite, key), mode, min(args.timeout, 300), log)
                        seen[mode].add(parse(output)[0].get(key, "absent"))
            line = (f"{suite}: {key}: bare {results['bare'].get(key, 'absent')}, "
                    f"shim {results['shim'].get(key, 'absent')}")
            alone = (f" (alone, {args.reruns} runs each: bare {'/'.join(sorted(seen['bare']))}, "
                     f"shim {'/'.join(sorted(seen['shim']))})" if rechecked else " (not run again)")
            if seen["bare"] & seen["shim"]:
                suite_flaky.append(line + alone)
            else:
                suite_differ.append(line + alone)
        for key in keys:
            bare_s, shim_s = took["bare"].get(key), took["shim"].get(key)
            if key in differing or bare_s is None or shim_s is None or shim_s <= 2 * bare_s + SLOWER_BY:
                continue
            # One slow run can be the machine's: it counts only if every
            # run alone under the shim is slower than every run bare.
            times = {"bare": [bare_s], "shim": [shim_s]}
            if rechecks < args.max_rechecks:
                rechecks += 1
                for _ in range(args.reruns):
                    for mode in MODES:
                        log = os.path.join(LOGS, f"{suite}.rerun.{mode}.log")
                        _, _, output = run(rerun_command(python, suite, key), mode, min(args.timeout, 300), log)
                        times[mode].append(parse(output)[1].get(key, 0.0))
            if min(times["shim"]) > 2 * max(times["bare"]) + SLOWER_BY:
                slower.append(f"{suite}: {key}: bare {'/'.join(f'{t:.2f}' for t in times['bare'])} s, "
                              f"shim {'/'.join(f'{t:.2f}' for t in times['shim'])} s")
        differences += suite_differ
        flaky += suite_flaky
        rows.append((suite, len(keys), len(keys) - len(differing), len(suite_differ), len(suite_flaky),
                     seconds["bare"], seconds["shim"]))

    note("")
    note(f"{'suite':16} {'tests':>5} {'same':>5} {'differ':>6} {'flaky':>5} {'bare s':>7} {'shim s':>7}")
    for suite, tests, same, differ, flake, bare_s, shim_s in rows:
        note(f"{suite:16} {tests:5} {same:5} {differ:6} {flake:5} {bare_s:7.1f} {shim_s:7.1f}")
    note(f"total {time.monotonic() - total_started:.0f} s (tests: every result line, subtests and "
         f"child-script tests included)")
    for title, lines in (("differ", differences), ("flaky (an outcome seen both ways)", flaky),
                         ("runs that did not finish", broken),
                         (f"same outcome, slower under the shim (every run: more than twice the bare time plus {SLOWER_BY:.0f} s)",
                          slower)):
        if lines:
            note(f"\n{title}:")
            for line in lines:
                note(f"  {line}")
    return 1 if differences or broken else 0


if __name__ == "__main__":
    sys.exit(main())
