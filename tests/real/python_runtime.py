"""CPython's own blocking calls, and its signal handlers, under the shim.

CPython (3.5 and later, PEP 475) retries EINTR in its own C code and runs
the script's signal handlers before each retry: that is how a Python
handler runs while the program blocks. Each check below times how late a
handler runs; run bare and under the shim, the figures must agree.

Usage: python_runtime.py CHECK...  (the checks run in order, in one process)
Prints one NAME_ms=VALUE line per figure and "ok CHECK" after each check;
exits 1 with a message when a check fails.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctypes_calls  # noqa: E402  (the ctypes checks, run in this process)


class Watchdog(Exception):
    pass


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def figure(name, seconds):
    print(f"{name}_ms={seconds * 1000:.2f}", flush=True)


def blocking_read():
    """A read of a pipe nobody writes: returns only by an exception."""
    r, w = os.pipe()
    try:
        os.read(r, 1)
    finally:
        os.close(r)
        os.close(w)
    fail("the read returned")


def check_watchdog():
    """A repeating timer whose handler raises, around a blocking read."""

    def expired(_sig, _frame):
        raise Watchdog()

    signal.signal(signal.SIGALRM, expired)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
    try:
        blocking_read()
    except Watchdog:
        figure("watchdog", time.monotonic() - start)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def hup_later(delay):
    """Forks a child that sends SIGHUP to this process after `delay`
    seconds; returns (pid, fd) where fd gives the child's send time."""
    r, w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        time.sleep(delay)
        sent = time.monotonic()
        os.kill(parent, signal.SIGHUP)
        os.write(w, repr(sent).encode())
        os._exit(0)
    os.close(w)
    return pid, r


class Reload(Exception):
    pass


def hup_latency(name, blocking):
    """How long after a SIGHUP its handler runs while `blocking` blocks.
    The handler records when it ran and raises, so that `blocking` ends."""
    ran = []

    def reload(_sig, _frame):
        ran.append(time.monotonic())
        raise Reload()

    signal.signal(signal.SIGHUP, reload)
    pid, fd = hup_later(0.3)
    try:
        blocking()
    except Reload:
        pass
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    sent = float(os.read(fd, 64).decode())
    os.close(fd)
    os.waitpid(pid, 0)
    if not ran:
        fail(f"{name}: the handler never ran")
    figure(name, ran[0] - sent)


def check_hup_sleep():
    hup_latency("hup_sleep", lambda: time.sleep(3))


def check_hup_read():
    hup_latency("hup_read", blocking_read)


def check_ctrl_c():
    """SIGINT, as Ctrl+C sends it: KeyboardInterrupt during a read."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    r, w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        time.sleep(0.3)
        os.kill(parent, signal.SIGINT)
        os._exit(0)
    start = time.monotonic()
    try:
        os.read(r, 1)
        fail("ctrl_c: the read returned")
    except KeyboardInterrupt:
        figure("ctrl_c", time.monotonic() - start)
    os.waitpid(pid, 0)
    os.close(r)
    os.close(w)


def check_alarm():
    """signal.alarm as a timeout around a read."""

    def expired(_sig, _frame):
        raise Watchdog()

    signal.signal(signal.SIGALRM, expired)
    start = time.monotonic()
    signal.alarm(1)
    try:
        blocking_read()
    except Watchdog:
        figure("alarm", time.monotonic() - start)
    signal.alarm(0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def check_storm_read():
    """Python's own read under a 1 kHz storm whose handler only counts:
    Python retries, the data arrives intact."""
    r, w = os.pipe()
    pid = ctypes_calls.later(lambda: os.write(w, b"hello"))
    ctypes_calls.storm()
    start = time.monotonic()
    data = os.read(r, 16)
    ctypes_calls.calm()
    os.waitpid(pid, 0)
    if data != b"hello":
        fail(f"storm_read: got {data!r}")
    figure("storm_read", time.monotonic() - start)


CHECKS = {
    "watchdog": check_watchdog,
    "hup_sleep": check_hup_sleep,
    "hup_read": check_hup_read,
    "ctrl_c": check_ctrl_c,
    "alarm": check_alarm,
    "storm_read": check_storm_read,
}
for call in ctypes_calls.CHECKS:
    CHECKS["ctypes_" + call] = ctypes_calls.CHECKS[call]

if __name__ == "__main__":
    for check in sys.argv[1:]:
        CHECKS[check]()
        print(f"ok {check}", flush=True)
