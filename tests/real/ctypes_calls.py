"""Python 3 calling libc directly through ctypes, under a SIGALRM storm.

CPython retries EINTR in its own wrappers (PEP 475), but a function called
through ctypes.CDLL(None) is plain libc: with Python's handlers installed
without SA_RESTART, it fails with EINTR.

Usage: ctypes_calls.py read|recv|waitpid|nanosleep
Exit 0 with "ok CALL" when the call did its work; exit 1 with
"CALL: [Errno 4] Interrupted system call" when it failed with EINTR; 2 else.
"""
import ctypes
import os
import signal
import socket
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
DELAY = 0.3  # the helper child unblocks the call this late
signals = 0


def count(_sig, _frame):
    global signals
    signals += 1


def storm():
    signal.signal(signal.SIGALRM, count)
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)


def calm():
    signal.setitimer(signal.ITIMER_REAL, 0, 0)


def failed(call):
    err = ctypes.get_errno()
    print(f"{call}: [Errno {err}] {os.strerror(err)}", file=sys.stderr)
    sys.exit(1 if err == 4 else 2)


def later(action):
    """Forks a child that does `action` after DELAY seconds, then exits."""
    pid = os.fork()
    if pid == 0:
        time.sleep(DELAY)
        action()
        os._exit(7)
    return pid


def check_read():
    r, w = os.pipe()
    later(lambda: os.write(w, b"hello"))
    buf = ctypes.create_string_buffer(16)
    storm()
    n = libc.read(r, buf, 16)
    calm()
    if n < 0:
        failed("read")
    assert buf.raw[:n] == b"hello", buf.raw[:n]


def check_recv():
    a, b = socket.socketpair()
    later(lambda: b.send(b"hello"))
    buf = ctypes.create_string_buffer(16)
    storm()
    n = libc.recv(a.fileno(), buf, 16, 0)
    calm()
    if n < 0:
        failed("recv")
    assert buf.raw[:n] == b"hello", buf.raw[:n]


def check_waitpid():
    pid = later(lambda: None)
    status = ctypes.c_int(0)
    storm()
    got = libc.waitpid(pid, ctypes.byref(status), 0)
    calm()
    if got < 0:
        failed("waitpid")
    assert got == pid and os.WEXITSTATUS(status.value) == 7, (got, status.value)


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def check_nanosleep():
    asked = Timespec(0, int(DELAY * 1e9))
    left = Timespec(0, 0)
    start = time.monotonic()
    storm()
    rc = libc.nanosleep(ctypes.byref(asked), ctypes.byref(left))
    calm()
    if rc != 0:
        failed("nanosleep")
    print(f"nanosleep_ms={(time.monotonic() - start) * 1000:.1f}")


CHECKS = {
    "read": check_read,
    "recv": check_recv,
    "waitpid": check_waitpid,
    "nanosleep": check_nanosleep,
}

if __name__ == "__main__":
    CHECKS[sys.argv[1]]()
    print(f"ok {sys.argv[1]} signals={signals}")
