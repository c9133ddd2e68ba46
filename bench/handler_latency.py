#!/usr/bin/env python3
"""How late an interpreter's SIGHUP handler runs while the script blocks,
bare and under the shim: the table of docs/runtimes.md.

Each script installs a SIGHUP handler that prints "reload", prints "ready"
and blocks: in a read of stdin, or in a 3 s sleep. This driver sends
SIGHUP 300 ms after "ready", writes a line to stdin 2 s after the signal,
and reports how long after the signal "reload" arrived. A handler that
runs at once shows a fraction of a millisecond; one delayed by a retried
call shows about 2000 ms (the read) or 2700 ms (the sleep).

Other signals that programs act on while they wait, each against its own
marker: dd's status line on SIGUSR1 while its input is idle, and a
terminal resize (SIGWINCH, sent by the kernel when the terminal's size
changes) seen by a curses program's getch (KEY_RESIZE) and by vim (its
VimResized autocommand), both in a pseudo-terminal.

Usage: bench/handler_latency.py [--runs N] [NAME...]. Python 3 standard
library only; interpreters that are not installed are skipped. A
measurement, not a test: it always exits 0.
"""

import argparse
import fcntl
import os
import struct
import termios
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "target", "release", "libeintrfix.so")

SCRIPTS = {
    "py_read.py": """import os, signal
signal.signal(signal.SIGHUP, lambda s, f: os.write(1, b"reload\\n"))
os.write(1, b"ready\\n")
os.read(0, 100)
""",
    "py_sleep.py": """import os, signal, time
signal.signal(signal.SIGHUP, lambda s, f: os.write(1, b"reload\\n"))
os.write(1, b"ready\\n")
time.sleep(3)
""",
    "perl_read.pl": """$| = 1; $SIG{HUP} = sub { syswrite STDOUT, "reload\\n" };
print "ready\\n";
while (1) { my $n = sysread(STDIN, my $buf, 100); next if !defined $n && $!{EINTR}; last }
""",
    "perl_sleep.pl": """$| = 1; $SIG{HUP} = sub { syswrite STDOUT, "reload\\n" };
print "ready\\n";
select(undef, undef, undef, 3);
""",
    "perl_readline.pl": """$| = 1; $SIG{HUP} = sub { syswrite STDOUT, "reload\\n" };
print "ready\\n";
my $line = <STDIN>;
""",
    "perl_sleep3.pl": """$| = 1; $SIG{HUP} = sub { syswrite STDOUT, "reload\\n" };
print "ready\\n";
sleep 3;
""",
    "py_curses.py": """import curses, os
def main(scr):
    os.write(3, b"ready\\n")
    while True:
        if scr.getch() == curses.KEY_RESIZE:
            os.write(3, b"reload\\n")
            return
curses.wrapper(main)
""",
    "lua_read.lua": """local signal = require "posix.signal"; local unistd = require "posix.unistd"
signal.signal(signal.SIGHUP, function() unistd.write(1, "reload\\n") end)
unistd.write(1, "ready\\n")
while true do local b, e, errno = unistd.read(0, 100); if b or errno ~= 4 then break end end
""",
    "lua_sleep.lua": """local signal = require "posix.signal"; local unistd = require "posix.unistd"
signal.signal(signal.SIGHUP, function() unistd.write(1, "reload\\n") end)
unistd.write(1, "ready\\n")
require("posix.time").nanosleep({tv_sec = 3, tv_nsec = 0})
""",
    "sh_read.sh": """trap 'echo reload' HUP
echo ready
read -r line
""",
    "sh_wait.sh": """trap 'echo reload' HUP
echo ready
sleep 3 &
wait
""",
    "node_timer.js": """process.on('SIGHUP', () => process.stdout.write('reload\\n'));
process.stdout.write('ready\\n');
setTimeout(() => {}, 3000);
""",
    "Hup.java": """public class Hup {
  public static void main(String[] a) throws Exception {
    sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> { System.out.println("reload"); System.out.flush(); });
    System.out.println("ready"); System.out.flush();
    Thread.sleep(3000);
  }
}
""",
}

# name: (interpreter, script, extra EINTRFIX_* variables under the shim)
CASES = {
    "python3 os.read": ("/usr/bin/python3", "py_read.py", {}),
    "python3 time.sleep": ("/usr/bin/python3", "py_sleep.py", {}),
    "perl sysread": ("perl", "perl_read.pl", {}),
    "perl select sleep": ("perl", "perl_sleep.pl", {}),
    "perl readline <STDIN>": ("perl", "perl_readline.pl", {}),
    "perl sleep": ("perl", "perl_sleep3.pl", {}),
    "lua5.3 posix read": ("lua5.3", "lua_read.lua", {}),
    "lua5.3 posix nanosleep": ("lua5.3", "lua_sleep.lua", {}),
    "dash read": ("dash", "sh_read.sh", {}),
    "dash wait": ("dash", "sh_wait.sh", {}),
    "bash read": ("bash", "sh_read.sh", {}),
    "bash read, RUNTIMES=auto,bash": ("bash", "sh_read.sh", {"EINTRFIX_RUNTIMES": "auto,bash"}),
    "bash wait": ("bash", "sh_wait.sh", {}),
    "node setTimeout": ("node", "node_timer.js", {}),
    "java Thread.sleep": ("java", "Hup.java", {}),
}


def measure(argv, shim, extra):
    """Milliseconds from SIGHUP to the handler's line, or None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EINTRFIX_") and k != "LD_PRELOAD"}
    if shim:
        env["LD_PRELOAD"] = LIB
        env.update(extra)
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
    )
    try:
        if proc.stdout.readline() != b"ready\n":
            return None
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        got, wrote = None, False
        while True:
            left = 5.0 if wrote else max(sent + 2.0 - time.monotonic(), 0)
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    break
                if line == b"reload\n" and got is None:
                    got = (time.monotonic() - sent) * 1000
            elif not wrote:
                try:
                    proc.stdin.write(b"line\n")
                    proc.stdin.flush()
                except BrokenPipeError:
                    pass
                wrote = True
            else:
                break
        return got
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.kill()
        proc.wait()


def environment(shim):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EINTRFIX_") and k != "LD_PRELOAD"}
    if shim:
        env["LD_PRELOAD"] = LIB
    return env


def wait_for(fd, marker, deadline):
    """Reads `fd` until `marker` appears; the time it did, or None."""
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            return None
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return None
        if not chunk:
            return None
        seen += chunk
        if marker in seen:
            return time.monotonic()
    return None


def measure_dd(shim):
    """dd reading an idle pipe: ms from SIGUSR1 to its status line."""
    r, w = os.pipe()
    proc = subprocess.Popen(["dd", "of=/dev/null"], stdin=r, stderr=subprocess.PIPE, env=environment(shim))
    os.close(r)
    try:
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGUSR1)
        got = wait_for(proc.stderr.fileno(), b"copied", sent + 3.0)
        return None if got is None else (got - sent) * 1000
    finally:
        os.close(w)
        proc.kill()
        proc.wait()


def in_terminal(argv, shim, ready, marker, marker_fd=None):
    """Runs argv on a new pseudo-terminal, 80x24; once `ready` is seen,
    resizes it to 100x30 and returns the ms until `marker` (read from the
    pipe on fd 3 when `marker_fd`, else from the terminal)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    out_r, out_w = os.pipe()

    def child():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        os.dup2(out_w, 3)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)

    env = environment(shim)
    env["TERM"] = "xterm"
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            preexec_fn=child, close_fds=False)
    os.close(slave)
    os.close(out_w)
    watch = out_r if marker_fd else master
    try:
        if wait_for(watch if marker_fd else master, ready, time.monotonic() + 5.0) is None:
            return None
        time.sleep(0.3)
        sent = time.monotonic()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        got = wait_for(watch, marker, sent + 3.0)
        return None if got is None else (got - sent) * 1000
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
        os.close(out_r)


# name: (program, how to measure it with the shim or not)
OTHERS = {
    "dd SIGUSR1 status, input idle": ("dd", measure_dd),
    "python3 curses getch resize": (
        "/usr/bin/python3",
        lambda shim: in_terminal(["/usr/bin/python3", os.path.join(TMP, "py_curses.py")], shim,
                                 b"ready", b"reload", marker_fd=True),
    ),
    "vim resize (VimResized)": (
        "vim",
        lambda shim: in_terminal(
            ["vim", "-u", "NONE", "-i", "NONE", "-N", "-n",
             "-c", "autocmd VimResized * call writefile(['reload'], '/dev/fd/3')",
             "-c", "call writefile(['ready'], '/dev/fd/3')"],
            shim, b"ready", b"reload", marker_fd=True),
    ),
}
TMP = ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (the median is shown)")
    parser.add_argument("names", nargs="*", help="cases to run (default: all)")
    args = parser.parse_args()
    if not os.path.exists(LIB):
        print(f"{LIB} missing: run make first", file=sys.stderr)
        return 0
    show = lambda ms: "never" if ms is None else f"{ms:.1f} ms"
    global TMP
    with tempfile.TemporaryDirectory() as tmp:
        TMP = tmp
        for name, text in SCRIPTS.items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        print(f"{'SIGHUP handler during':34s} {'bare':>10s} {'eintrfix':>10s}")
        for name in args.names or list(CASES) + list(OTHERS):
            if name in OTHERS:
                program, how = OTHERS[name]
                if not shutil.which(program):
                    print(f"{name:34s} (no {program})")
                    continue
                cells = []
                for shim in (False, True):
                    runs = [how(shim) for _ in range(args.runs)]
                    done = [ms for ms in runs if ms is not None]
                    cells.append(statistics.median(done) if len(done) == len(runs) else None)
                print(f"{name:34s} {show(cells[0]):>10s} {show(cells[1]):>10s}", flush=True)
                continue
            interpreter, script, extra = CASES[name]
            if not shutil.which(interpreter):
                print(f"{name:34s} (no {interpreter})")
                continue
            argv = [interpreter, os.path.join(tmp, script)]
            cells = []
            for shim in (False, True):
                runs = [measure(argv, shim, extra) for _ in range(args.runs)]
                done = [ms for ms in runs if ms is not None]
                cells.append(statistics.median(done) if len(done) == len(runs) else None)
            print(f"{name:34s} {show(cells[0]):>10s} {show(cells[1]):>10s}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
