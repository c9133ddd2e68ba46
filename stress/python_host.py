"""The shim loaded into a Python process under a SIGALRM storm.

Python installs its handlers without SA_RESTART. Its own os.read and
socket calls retry EINTR themselves, but a C library called through ctypes
does not: bare, libc.read fails with EINTR ("Interrupted system call");
under the shim every call completes. Exit 0: all right; 1: EINTR; 2: wrong.
"""

import ctypes
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.read.restype = ctypes.c_ssize_t
libc.recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.recv.restype = ctypes.c_ssize_t
libc.waitpid.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
libc.waitpid.restype = ctypes.c_int


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


libc.nanosleep.argtypes = [ctypes.POINTER(Timespec), ctypes.POINTER(Timespec)]


def check(call, result):
    if result < 0:
        err = ctypes.get_errno()
        print(f"{call}: {os.strerror(err)}", file=sys.stderr)
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        sys.exit(1 if err == 4 else 2)
    return result


def c_read_late_pipe():
    r, w = os.pipe()
    writer = subprocess.Popen(["sh", "-c", "sleep 0.2; printf 'late data'"], stdout=w)
    os.close(w)
    buf = ctypes.create_string_buffer(64)
    n = check("read", libc.read(r, buf, 64))
    assert buf.raw[:n] == b"late data", buf.raw[:n]
    writer.wait()
    os.close(r)


def c_recv_late_socket():
    a, b = socket.socketpair()
    threading.Timer(0.2, lambda: b.send(b"late socket")).start()
    buf = ctypes.create_string_buffer(64)
    n = check("recv", libc.recv(a.fileno(), buf, 64, 0))
    assert buf.raw[:n] == b"late socket"
    a.close()
    b.close()


def c_waitpid():
    child = subprocess.Popen(["sh", "-c", "sleep 0.2; exit 7"])
    status = ctypes.c_int(0)
    pid = check("waitpid", libc.waitpid(child.pid, ctypes.byref(status), 0))
    assert pid == child.pid and os.WIFEXITED(status.value) and os.WEXITSTATUS(status.value) == 7
    child.returncode = 7  # reaped here


def c_nanosleep():
    start = time.monotonic()
    check("nanosleep", libc.nanosleep(ctypes.byref(Timespec(0, 200_000_000)), None))
    ms = (time.monotonic() - start) * 1000
    assert 200 <= ms <= 400, ms


def python_threads_and_children():
    a, b = socket.socketpair()
    data = os.urandom(1 << 20) * 16
    sender = threading.Thread(target=lambda: (b.sendall(data), b.close()))
    sender.start()
    got = hashlib.sha256()
    total = 0
    while chunk := a.recv(1 << 16):
        got.update(chunk)
        total += len(chunk)
    sender.join()
    assert total == len(data) and got.digest() == hashlib.sha256(data).digest()
    for code in range(30):
        assert subprocess.run(["sh", "-c", f"exit {code}"]).returncode == code


def main():
    signals = 0

    def handler(signum, frame):
        nonlocal signals
        signals += 1

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    for step in (c_read_late_pipe, c_recv_late_socket, c_waitpid, c_nanosleep,
                 python_threads_and_children):
        step()
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    print(f"python host: all steps done through {signals} signals")
    assert signals > 20, signals


if __name__ == "__main__":
    main()
