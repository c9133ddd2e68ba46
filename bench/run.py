#!/usr/bin/env python3
"""The eintrfix benchmarks (`make bench`; `make bench BENCH_QUICK=1` for a
smoke run). Python 3 standard library only.

Four tables, each row marked ok / MISSED against its target:

1. Fast path: instructions each hooked call adds (callgrind, the slope
   between two loop lengths, so start-up and constructors cancel out),
   quiet and with EINTRFIX_LOG=info, beside a minimal hand-written C
   interposer that only retries (bench/retry_interposer.c); and wall time
   as a ratio to the bare program, runs interleaved, median of rounds,
   beside strace -Z and strace --seccomp-bpf on the same loop, and beside
   an interposer that only forwards with a tail call (it cannot retry:
   the floor of any interposer, bench/passthrough_interposer.c).
2. Slow path: signals per second absorbed by one blocked read(2) under a
   storm, and the CPU time each interrupted-and-retried call costs.
3. Deadline accuracy: the error of a 400 ms timeout under storms, beside a
   loop that re-sleeps `rem`.
4. Start-up: what loading the library costs every process, beside no
   preload and an empty preloaded library (the floor of any preload):
   posix_spawn of /bin/true (variants interleaved, ratios within a round,
   medians over rounds), private memory of a stopped process
   (bench/spawn.c), instructions (callgrind) and relocations
   (LD_DEBUG=statistics).

The script always exits 0 once the table is printed: it is a measurement,
not a test. It exits 2 only if it cannot run at all.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "bench")
LIB = os.path.join(ROOT, "target", "release", "libeintrfix.so")
REF = os.path.join(BIN, "libretry.so")
PASSTHROUGH = os.path.join(BIN, "libpassthrough.so")
EMPTY = os.path.join(BIN, "libempty.so")

# Targets.
ADDED_IR_TARGET = {"write": 25, "read": 25, "recv": 35}
WALL_RATIO_TARGET = 1.01
DEADLINE_ERROR_TARGET_MS = 2.0
TIMEOUT_MS = 400.0
# Start-up targets, against an empty preloaded library.
SPAWN_ADDED_US_TARGET = 40.0
PRIVATE_ADDED_KB_TARGET = 32

# Preloads compared on the fast path. `info` is tracing on.
VARIANTS = {
    "bare": {},
    "eintrfix": {"LD_PRELOAD": LIB},
    "eintrfix LOG=info": {"LD_PRELOAD": LIB, "EINTRFIX_LOG": "info"},
    "C retry-only": {"LD_PRELOAD": REF},
    "C tail call": {"LD_PRELOAD": PASSTHROUGH},
}
CALLS = ("write", "read", "recv")
# The system call each loop makes (glibc's recv is the recvfrom syscall).
SYSCALL = {"write": "write", "read": "read", "recv": "recvfrom"}
STORM_PERIODS_US = (1000, 100, 20)


def clean_env(extra):
    """The environment for one run: ours, minus any preload or EINTRFIX_*
    variable, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "LD_PRELOAD" and not k.startswith("EINTRFIX_")
    }
    env.update(extra)
    return env


def run(argv, extra=None, timeout=600):
    """Runs argv; returns (exit code, stdout, stderr)."""
    p = subprocess.run(
        argv,
        env=clean_env(extra or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    return p.returncode, p.stdout, p.stderr


def figures(text):
    """`name=value` pairs of a program's output, as floats."""
    return {k: float(v) for k, v in re.findall(r"(\w+)=([-0-9.]+)", text)}


def say(*args):
    print(*args, file=sys.stderr, flush=True)


def ensure_tools():
    """The measuring tools available: valgrind and strace. `make bench`
    installs them first (scripts/test-deps bench, the one list of packages);
    run directly, a missing one leaves its columns saying so."""
    wanted = ("valgrind", "strace")
    have = {tool for tool in wanted if shutil.which(tool)}
    for tool in sorted(set(wanted) - have):
        say(f"bench: {tool} is not available (scripts/test-deps bench installs it); its columns will say so")
    return have


def hooked(symbol):
    """Whether the library exports `symbol`."""
    try:
        out = subprocess.run(
            ["nm", "-D", "--defined-only", LIB], stdout=subprocess.PIPE, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return any(line.split()[-1] == symbol for line in out.splitlines() if line.strip())


# --- fast path -------------------------------------------------------------


def callgrind_ir(call, n, extra):
    """Instructions executed by the loop making `n` calls, under callgrind."""
    out = os.path.join(BIN, f"callgrind.{os.getpid()}.out")
    try:
        code, _, err = run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             os.path.join(BIN, "loop"), call, str(n), "1"],
            extra,
        )
        if code != 0:
            raise RuntimeError(f"callgrind run failed ({code}): {err[-500:]}")
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
        raise RuntimeError("no instruction total in callgrind's output")
    finally:
        if os.path.exists(out):
            os.unlink(out)


def instructions_per_call(quick):
    """{call: {variant: instructions per call}} from callgrind slopes."""
    short, long = (10_000, 60_000) if quick else (20_000, 220_000)
    slopes = {}
    for call in CALLS:
        slopes[call] = {}
        for name, extra in VARIANTS.items():
            a = callgrind_ir(call, short, extra)
            b = callgrind_ir(call, long, extra)
            slopes[call][name] = (b - a) / (long - short)
            say(f"bench: callgrind {call:5} {name:18} {slopes[call][name]:7.2f} instructions/call")
    return slopes


def loop_ns(call, calls, batches, extra, prefix=()):
    """ns per call of the loop: its fastest batch."""
    code, out, err = run([*prefix, os.path.join(BIN, "loop"), call, str(calls), str(batches)], extra)
    if code != 0:
        raise RuntimeError(f"loop {call} failed ({code}): {err[-500:]}")
    return figures(out)["min_batch_ns_per_call"]


def wall_ratios(quick):
    """{call: {variant: (median ns/call, median ratio to bare)}}.

    Each round runs every variant once, in an order rotated from round to
    round, so slow phases of the machine hit all of them alike; each run
    reports its fastest batch; the ratio of a round is variant/bare in that
    round, and the result is the median over rounds."""
    calls, batches = (200_000, 20) if quick else (1_000_000, 100)
    rounds = 3 if quick else 15
    names = list(VARIANTS)
    result = {}
    for call in CALLS:
        samples = {name: [] for name in names}
        for r in range(rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                samples[name].append(loop_ns(call, calls, batches, VARIANTS[name]))
        result[call] = {}
        for name in names:
            ratios = [v / b for v, b in zip(samples[name], samples["bare"])]
            result[call][name] = (statistics.median(samples[name]), statistics.median(ratios))
        say(f"bench: wall {call:5} " + "  ".join(
            f"{n}={result[call][n][1]:.4f}" for n in names))
    return result


def strace_ratios(quick, bare_ns):
    """{call: {mode: ratio to bare}} for strace on the same loop (fewer
    calls: every call stops the process twice)."""
    calls = 10_000 if quick else 20_000
    rounds = 1 if quick else 3
    modes = {
        "strace -Z": ["-f", "-qq", "-o", "/dev/null", "-Z"],
        "strace --seccomp-bpf": ["-f", "-qq", "-o", "/dev/null", "--seccomp-bpf"],
    }
    result = {}
    for call in CALLS:
        result[call] = {}
        for mode, flags in modes.items():
            prefix = ["strace", *flags, "-e", f"trace={SYSCALL[call]}"]
            ns = statistics.median(loop_ns(call, calls, 1, {}, prefix) for _ in range(rounds))
            result[call][mode] = ns / bare_ns[call]
            say(f"bench: {mode} {call}: {result[call][mode]:.1f}x")
    return result


# --- slow path -------------------------------------------------------------


def absorb(period_us, duration_ms, extra, mode=None):
    """`mode`: None (read(2), the hook retries), "restart" (the program's
    own SA_RESTART) or "stdio" (fgetc's read inside libc: under the shim
    the kernel restarts it, as the trampoline decides)."""
    argv = [os.path.join(BIN, "absorb"), str(period_us), str(duration_ms)]
    if mode:
        argv.append(mode)
    code, out, err = run(argv, extra)
    if code == 1:
        return None  # the read failed with EINTR
    if code != 0:
        raise RuntimeError(f"absorb failed ({code}): {err[-500:]}")
    return figures(out)


# The slow-path variants: (environment, absorb's mode).
SLOW_VARIANTS = {
    "bare, SA_RESTART": ({}, "restart"),
    "bare": ({}, None),
    "C retry-only": ({"LD_PRELOAD": REF}, None),
    "eintrfix": ({"LD_PRELOAD": LIB}, None),
    "eintrfix, in libc": ({"LD_PRELOAD": LIB}, "stdio"),
}


def slow_path(quick):
    """{period: {variant: (signals/s, cpu µs per signal) or None}}."""
    duration = 300 if quick else 1000
    rounds = 1 if quick else 3
    result = {}
    for period in STORM_PERIODS_US:
        result[period] = {}
        for name, (extra, mode) in SLOW_VARIANTS.items():
            runs = [absorb(period, duration, extra, mode) for _ in range(rounds)]
            if any(r is None for r in runs):
                result[period][name] = None
                continue
            rate = statistics.median(r["signals"] * 1000 / r["elapsed_ms"] for r in runs)
            cost = statistics.median(
                r["cpu_ms"] * 1000 / r["signals"] for r in runs if r["signals"] > 0
            )
            result[period][name] = (rate, cost)
        say(f"bench: storm {period} µs done")
    return result


def slow_path_instructions():
    """User-space instructions per absorbed signal (handler and retry),
    from callgrind: the slope between two storm lengths at 1 ms."""
    result = {}
    for name in ("C retry-only", "eintrfix", "eintrfix, in libc"):
        extra, mode = SLOW_VARIANTS[name]
        points = []
        for duration in (200, 600):
            out = os.path.join(BIN, f"callgrind.{os.getpid()}.out")
            code, stdout, err = run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                 os.path.join(BIN, "absorb"), "1000", str(duration), *([mode] if mode else [])],
                extra,
            )
            ir = None
            if code == 0 and os.path.exists(out):
                with open(out) as f:
                    for line in f:
                        if line.startswith(("summary:", "totals:")):
                            ir = int(line.split()[1])
            if os.path.exists(out):
                os.unlink(out)
            if ir is None:
                break
            points.append((figures(stdout)["signals"], ir))
        if len(points) == 2 and points[1][0] != points[0][0]:
            result[name] = (points[1][1] - points[0][1]) / (points[1][0] - points[0][0])
        else:
            result[name] = None
    return result


# --- deadlines -------------------------------------------------------------


def deadline_run(call, period_us, extra):
    code, out, err = run([os.path.join(BIN, "deadline"), call, str(period_us)], extra, timeout=60)
    if code == 1:
        return "EINTR"
    if code != 0:
        return f"error ({err.strip()[-80:]})"
    f = figures(out)
    if f.get("gave_up"):
        return "gave up"
    return f["elapsed_ms"] - TIMEOUT_MS


def deadlines(quick):
    """{row: {period: (median error ms, worst error ms) or a string}}."""
    rounds = 1 if quick else 5
    rows = {
        "nanosleep, eintrfix": ("nanosleep", {"LD_PRELOAD": LIB}),
        "poll, eintrfix": ("poll", {"LD_PRELOAD": LIB}),
        "recv SO_RCVTIMEO, eintrfix": ("recv", {"LD_PRELOAD": LIB}),
        "nanosleep re-sleeping rem, bare": ("nanosleep_rem", {}),
    }
    result = {}
    for row, (call, extra) in rows.items():
        result[row] = {}
        for period in STORM_PERIODS_US:
            runs = [deadline_run(call, period, extra) for _ in range(rounds)]
            failures = [r for r in runs if isinstance(r, str)]
            if failures:
                result[row][period] = failures[0]
            else:
                worst = max(runs, key=abs)
                result[row][period] = (statistics.median(runs), worst)
        say(f"bench: deadline {row} done")
    return result


# --- start-up --------------------------------------------------------------

# Start-up variants: (name, argument of bench/spawn.c, environment).
STARTUP_VARIANTS = (
    ("bare", "-", {}),
    ("empty preload", EMPTY, {"LD_PRELOAD": EMPTY}),
    ("eintrfix", LIB, {"LD_PRELOAD": LIB}),
    ("eintrfix, LOG=info SUMMARY=1", f"{LIB},EINTRFIX_LOG=info,EINTRFIX_SUMMARY=1",
     {"LD_PRELOAD": LIB, "EINTRFIX_LOG": "info", "EINTRFIX_SUMMARY": "1"}),
)


def startup_spawns(quick):
    """({variant: (median µs per spawn, median ratio to bare)},
    median µs eintrfix adds over the empty preload, {variant: memory},
    {variant: (median child CPU µs, median page faults)})."""
    spawns, rounds = (300, 5) if quick else (1000, 15)
    code, out, err = run(
        [os.path.join(BIN, "spawn"), str(spawns), str(rounds), os.path.join(BIN, "stopper"),
         *(arg for _, arg, _ in STARTUP_VARIANTS)],
        timeout=1200,
    )
    if code != 0:
        raise RuntimeError(f"spawn failed ({code}): {err[-500:]}")
    per_round = {}
    samples = {}
    for line in out.splitlines():
        f = figures(line)
        name = STARTUP_VARIANTS[int(f["variant"])][0]
        if "round" in f:
            per_round.setdefault(int(f["round"]), {})[name] = f
        else:
            samples.setdefault(name, []).append(f)
    memory = {n: {k: statistics.median(f[k] for f in fs) for k in fs[0]}
              for n, fs in samples.items()}
    names = [name for name, _, _ in STARTUP_VARIANTS]
    rounds_ = list(per_round.values())
    times = {
        n: (statistics.median(r[n]["spawn_us"] for r in rounds_),
            statistics.median(r[n]["spawn_us"] / r["bare"]["spawn_us"] for r in rounds_))
        for n in names
    }
    added = statistics.median(
        r["eintrfix"]["spawn_us"] - r["empty preload"]["spawn_us"] for r in rounds_)
    child = {
        n: (statistics.median(r[n]["cpu_us"] for r in rounds_),
            statistics.median(r[n]["faults"] for r in rounds_))
        for n in names
    }
    say("bench: start-up " + "  ".join(f"{n}={times[n][0]:.1f}us" for n in names))
    return times, added, memory, child


def startup_instructions():
    """{variant: instructions of /bin/true under callgrind}."""
    result = {}
    for name, _, extra in STARTUP_VARIANTS:
        out = os.path.join(BIN, f"callgrind.{os.getpid()}.out")
        try:
            code, _, _ = run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                              "/bin/true"], extra)
            result[name] = None
            if code == 0:
                with open(out) as f:
                    for line in f:
                        if line.startswith(("summary:", "totals:")):
                            result[name] = int(line.split()[1])
        finally:
            if os.path.exists(out):
                os.unlink(out)
    return result


def startup_relocations():
    """{variant: (relative relocations, symbol relocations)} of /bin/true,
    from the dynamic linker's own statistics."""
    result = {}
    for name, _, extra in STARTUP_VARIANTS:
        _, _, err = run(["/bin/true"], dict(extra, LD_DEBUG="statistics"))
        rel = re.search(r"number of relative relocations: (\d+)", err)
        sym = re.search(r"final number of relocations: (\d+)", err)
        result[name] = (int(rel.group(1)) if rel else None, int(sym.group(1)) if sym else None)
    return result


# --- report ----------------------------------------------------------------


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(r) for r in rows]
    )


def machine():
    """The CPU (model name, family and model: Intel and AMD differ in what a
    system call's return costs), kernel and libc."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name", "unknown")
    if "cpu family" in fields and "model" in fields:
        cpu += f", family {fields['cpu family']} model {fields['model']}"
    glibc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "?"
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {os.uname().release}, {glibc}"


def mark(ok):
    return "ok" if ok else "MISSED"


def report(quick, tools, only):
    out = []
    emit = out.append
    emit(f"eintrfix benchmarks{' (quick mode: fewer rounds, shorter runs)' if quick else ''}")
    emit(f"machine: {machine()}")
    emit("")
    if only in (None, "fast"):
        fast_path_tables(quick, tools, emit)
    if only in (None, "slow"):
        slow_path_table(quick, tools, emit)
        thread_storm_table(quick, emit)
    if only in (None, "deadline"):
        deadline_table(quick, emit)
    if only in (None, "startup"):
        startup_table(quick, tools, emit)
    return "\n".join(out).rstrip("\n")


def fast_path_tables(quick, tools, emit):
    # 1. Fast path: instructions.
    slopes = None
    if "valgrind" in tools:
        slopes = instructions_per_call(quick)
        emit("Fast path, instructions per call (callgrind, slope between two loop lengths)")
        rows = []
        for call in CALLS:
            s = slopes[call]
            added = {n: s[n] - s["bare"] for n in VARIANTS}
            target = ADDED_IR_TARGET[call]
            ok = added["eintrfix"] <= target and abs(added["eintrfix LOG=info"] - added["eintrfix"]) < 0.5
            rows.append([
                {"write": "write /dev/null", "read": "read /dev/zero", "recv": "recv EAGAIN"}[call],
                f"{s['bare']:.1f}",
                f"+{added['eintrfix']:.1f}",
                f"+{added['eintrfix LOG=info']:.1f}",
                f"+{added['C retry-only']:.1f}",
                f"+{added['C tail call']:.1f}",
                f"<= {target}",
                mark(ok),
            ])
        emit(table(["call", "bare", "eintrfix", "LOG=info", "C retry-only", "C tail call",
                    "target", ""], rows))
    else:
        emit("Fast path, instructions: valgrind not available, skipped")
    emit("")

    # 1b. Fast path: wall time.
    walls = wall_ratios(quick)
    bare_ns = {c: walls[c]["bare"][0] for c in CALLS}
    straces = strace_ratios(quick, bare_ns) if "strace" in tools else None
    emit("Fast path, wall time as a ratio to bare ("
         + ("200k calls per run, fastest of 20 batches, median of 3" if quick else
            "1M calls per run, fastest of 100 batches, median of 15")
         + " interleaved rounds; strace: "
         + ("10k calls, 1 run)" if quick else "20k calls, median of 3)"))
    rows = []
    for call in CALLS:
        w = walls[call]
        ok = max(w["eintrfix"][1], w["eintrfix LOG=info"][1]) <= WALL_RATIO_TARGET
        row = [call, f"{w['bare'][0]:.1f} ns", f"{w['eintrfix'][1]:.4f}",
               f"{w['eintrfix LOG=info'][1]:.4f}", f"{w['C retry-only'][1]:.4f}",
               f"{w['C tail call'][1]:.4f}"]
        if straces:
            row += [f"{straces[call]['strace -Z']:.0f}x", f"{straces[call]['strace --seccomp-bpf']:.0f}x"]
        else:
            row += ["n/a", "n/a"]
        row += [f"<= {WALL_RATIO_TARGET}", mark(ok)]
        rows.append(row)
    emit(table(["call", "bare", "eintrfix", "LOG=info", "C retry-only", "C tail call", "strace -Z",
                "strace --seccomp-bpf", "target", ""], rows))
    frames = [figures(run([os.path.join(BIN, "frame_cost")])[1]) for _ in range(3 if quick else 7)]
    med = {k: statistics.median(f[k] for f in frames) for k in frames[0]}
    emit(f"Why: one more stack frame (a call and a return) costs {med['frame_around_syscall_ns']:.1f} ns"
         f" around a system call and {med['frame_around_code_ns']:.1f} ns around plain code;"
         f" left by an indirect jump instead of a return, the same frame costs"
         f" {med['frame_jmp_exit_ns']:.1f} ns, and the one return after the system call"
         f" in a bare call costs {med['first_return_ns']:.1f} ns: returns after a system call"
         f" are mispredicted (bench/frame_cost.c)")
    emit("")


def thread_storms(quick):
    """{threads: (bare SA_RESTART ms, eintrfix ms)}: each thread has its
    own 1 ms timer and waits in read(2) until its handler ran N times."""
    signals = 100 if quick else 300
    rounds = 1 if quick else 3
    result = {}
    for threads in (300, 1000):
        times = {}
        for name, extra, mode in (("bare", {}, "restart"), ("eintrfix", {"LD_PRELOAD": LIB}, "plain")):
            argv = [os.path.join(BIN, "thread_storm"), str(threads), str(signals), mode]
            runs = []
            for _ in range(rounds):
                code, out, err = run(argv, extra)
                if code != 0:
                    raise RuntimeError(f"thread_storm failed ({code}): {err[-500:]}")
                runs.append(figures(out)["elapsed_ms"])
            times[name] = statistics.median(runs)
        result[threads] = (times["bare"], times["eintrfix"])
        say(f"bench: thread storm {threads} done")
    return result


def thread_storm_table(quick, emit):
    storms = thread_storms(quick)
    emit("Thread storms: each thread has its own 1 ms timer (timer_create, SIGEV_THREAD_ID)"
         " and waits in read(2) until its handler ran "
         f"{100 if quick else 300} times (goal: eintrfix <= 2.5x bare with SA_RESTART)")
    rows = [[str(n), f"{b:,.0f} ms", f"{e:,.0f} ms", f"{e / b:.2f}x {mark(e / b <= 2.5)}"]
            for n, (b, e) in storms.items()]
    emit(table(["threads", "bare, SA_RESTART", "eintrfix", "ratio"], rows))
    emit("")


def slow_path_table(quick, tools, emit):
    # 2. Slow path.
    slow = slow_path(quick)
    emit("Slow path: one read(2) blocked under a SIGALRM storm; every signal is one"
         " interrupted call to retry")
    emit("(signals/s absorbed; CPU µs per signal, kernel delivery included;"
         " `bare` dies at the first signal; `in libc`: the read fgetc makes,"
         " restarted by the kernel as the trampoline decides)")
    rows = []
    names = list(SLOW_VARIANTS)
    for period in STORM_PERIODS_US:
        row = [f"{period} µs"]
        for name in names:
            v = slow[period][name]
            row.append("EINTR" if v is None else f"{v[0]:,.0f}/s, {v[1]:.1f} µs")
        rows.append(row)
    emit(table(["storm period", *names], rows))
    if "valgrind" in tools and not quick:
        ir = slow_path_instructions()
        parts = [f"{n}: {'n/a' if v is None else f'{v:,.0f}'}" for n, v in ir.items()]
        emit("User-space instructions per absorbed signal (callgrind, handler included): "
             + ", ".join(parts))
    emit("")


def deadline_table(quick, emit):
    # 3. Deadlines.
    dl = deadlines(quick)
    poll_hooked = hooked("poll")
    emit(f"Deadline accuracy: error of a {TIMEOUT_MS:.0f} ms timeout under a storm"
         f" (median{'' if quick else ' of 5, worst'}; target within {DEADLINE_ERROR_TARGET_MS:g} ms)")
    rows = []
    for row, cells in dl.items():
        line = [row]
        reference = "rem" in row
        verdicts = []
        for period in STORM_PERIODS_US:
            v = cells[period]
            if isinstance(v, str):
                text = v
                if v == "EINTR" and row.startswith("poll") and poll_hooked is False:
                    text = "EINTR: not hooked"
                elif v == "gave up":
                    text = "> 4000 ms (gave up)"
                line.append(text)
                verdicts.append(False)
            else:
                median, worst = v
                line.append(f"{median:+.2f} ms" + ("" if quick else f" ({worst:+.2f})"))
                verdicts.append(abs(median) <= DEADLINE_ERROR_TARGET_MS)
        if reference:
            line.append("reference")
        elif row.startswith("poll") and poll_hooked is False:
            line.append("not hooked")
        else:
            line.append(mark(all(verdicts)))
        rows.append(line)
    emit(table(["call", "1 kHz", "10 kHz", "50 kHz", ""], rows))
    emit("")


def startup_table(quick, tools, emit):
    # 4. Start-up.
    times, added_us, memory, child = startup_spawns(quick)
    instructions = startup_instructions() if "valgrind" in tools else None
    relocations = startup_relocations()
    names = [name for name, _, _ in STARTUP_VARIANTS]
    emit("Start-up, per process: posix_spawn and wait of /bin/true ("
         + ("300 spawns of each a round, median of 5 rounds" if quick else
            "1000 spawns of each a round, median of 15 rounds")
         + ", the variants taking turns spawn by spawn, ratio to bare within each round);"
         " private memory"
         " (Private_Clean + Private_Dirty of smaps_rollup) of a second stopped process"
         " while a first keeps the files mapped, median of 7")
    private = {n: int(memory[n]["private_kb"]) for n in names}
    added_kb = private["eintrfix"] - private["empty preload"]
    rows = [
        ["spawn and wait", f"{times['bare'][0]:.0f} µs"]
        + [f"{times[n][1]:.3f}" for n in names[1:]]
        + [f"{added_us:+.0f} µs", f"<= +{SPAWN_ADDED_US_TARGET:g} µs",
           mark(added_us <= SPAWN_ADDED_US_TARGET)],
        ["child CPU time"] + [f"{child[n][0]:.0f} µs" for n in names]
        + [f"{child['eintrfix'][0] - child['empty preload'][0]:+.0f} µs", "", ""],
        ["page faults"] + [f"{child[n][1]:.1f}" for n in names]
        + [f"{child['eintrfix'][1] - child['empty preload'][1]:+.1f}", "", ""],
        ["private memory"] + [f"{private[n]} kB" for n in names]
        + [f"{added_kb:+d} kB", f"<= +{PRIVATE_ADDED_KB_TARGET} kB",
           mark(added_kb <= PRIVATE_ADDED_KB_TARGET)],
    ]
    if instructions:
        ok = all(instructions[n] is not None for n in names)
        rows.append(["instructions (callgrind)"]
                    + [f"{instructions[n]:,}" if instructions[n] else "n/a" for n in names]
                    + [f"{instructions['eintrfix'] - instructions['empty preload']:+,}" if ok else "n/a",
                       "", ""])
    rel = lambda n: "/".join("?" if x is None else str(x) for x in relocations[n])
    rows.append(["relocations, relative/symbol"] + [rel(n) for n in names] + ["", "", ""])
    emit(table(["per process", *names, "eintrfix - empty", "target", ""], rows))
    emit("")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, under a minute")
    parser.add_argument("--only", choices=("fast", "slow", "deadline", "startup"),
                        help="run one table only")
    args = parser.parse_args()
    programs = ("loop", "absorb", "deadline", "frame_cost", "spawn", "stopper", "thread_storm")
    for path in (LIB, REF, PASSTHROUGH, EMPTY, *(os.path.join(BIN, p) for p in programs)):
        if not os.path.exists(path):
            say(f"bench: {path} is missing: run `make bench`")
            return 2
    tools = ensure_tools()
    start = time.monotonic()
    text = report(args.quick, tools, args.only)
    print(text)
    print(f"\n({time.monotonic() - start:.0f} s)")
    with open(os.path.join(BIN, "results.txt"), "w") as f:
        f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
