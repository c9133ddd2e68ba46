#!/usr/bin/env bash
# The stress suite: stress/run.sh short|long
#
# short: what CI runs (`make stress-short`), under 4 minutes on 2 cores.
# long:  `make stress`, the same steps with far more data, iterations and
#        time (837 s here).
# Expects the library, the C tests and the stress programs built (the make
# targets build them). Every step runs under a time limit; every step that
# runs a legacy-style program under the shim also runs it bare first and
# requires it to fail there (exit 1, EINTR), so that the storm is real.
# Prints one line per step and exits 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

level=${1:-short}
case $level in
short) x=4 ;;
long) x=40 ;;
*)
    echo "usage: stress/run.sh short|long" >&2
    exit 2
    ;;
esac

LIB=$PWD/target/release/libeintrfix.so
S=$PWD/target/stress
C=$PWD/target/c-tests
work=$(mktemp -d /tmp/eintrfix-stress.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=()
steps=0
suite_start=$(date +%s)

# Nothing from the caller's environment may change the shim's behaviour.
for v in $(env | sed -n 's/^\(EINTRFIX_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD

# run NAME LIMIT_S EXPECTED_CODE COMMAND...: runs COMMAND with a time limit
# and checks its exit code.
run() {
    local name=$1 limit=$2 want=$3
    shift 3
    local log=$work/step.log start end code
    steps=$((steps + 1))
    start=$(date +%s.%N)
    timeout -k 5 "$limit" "$@" >"$log" 2>&1
    code=$?
    end=$(date +%s.%N)
    local took
    took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    if [[ $code == "$want" ]]; then
        printf 'ok    %-58s %6s s  %s\n' "$name" "$took" "$(grep -m1 -E '=|through|kept|taken' "$log" | cut -c1-60)"
    else
        printf 'FAIL  %-58s %6s s  exit %s, wanted %s%s\n' "$name" "$took" "$code" "$want" \
            "$([[ $code == 124 || $code == 137 ]] && echo ' (time limit)')"
        sed 's/^/      | /' "$log" | tail -n 15
        failures+=("$name")
    fi
}

# shim NAME LIMIT [VAR=VALUE...] -- COMMAND...: must exit 0 under the shim.
# pump's kicker and per_thread aim their SIGUSR ticks at threads (tgkill):
# ticks, not the wake-ups that pass by default, so every step runs with
# EINTRFIX_THREAD_SIGNALS=retry (tests/signals.rs checks the default).
shim() {
    local name=$1 limit=$2
    shift 2
    local vars=()
    while [[ $1 != -- ]]; do
        vars+=("$1")
        shift
    done
    shift
    run "$name" "$limit" 0 env LD_PRELOAD="$LIB" EINTRFIX_THREAD_SIGNALS=retry "${vars[@]}" "$@"
}

# bare NAME COMMAND...: must fail with EINTR (exit 1) without the shim.
bare() {
    local name=$1
    shift
    run "bare: $name (must fail with EINTR)" 60 1 "$@"
}

# bare_or_lost NAME COMMAND...: must fail without the shim, with EINTR
# (exit 1) or with data lost (exit 2), whichever a thread reports first.
bare_or_lost() {
    local name=$1
    shift
    run "bare: $name (must fail: EINTR or data lost)" 60 0 \
        sh -c '"$@"; code=$?; [ $code = 1 ] || [ $code = 2 ]' sh "$@"
}

# Trace files written by a traced run must hold whole lines only.
check_traces() {
    local name=$1 dir=$2 bad=0 f
    for f in "$dir"/*; do
        [[ -s $f ]] || continue
        if [[ $(tail -c1 "$f" | od -An -c | tr -d ' ') != '\n' ]]; then
            bad=1
        fi
    done
    run "$name: trace files end in whole lines" 10 0 test "$bad" = 0
}

# A traced variant: EINTRFIX_LOG=info into per-process files.
traced() {
    local name=$1 limit=$2
    shift 2
    local dir=$work/trace-$steps
    mkdir -p "$dir"
    shim "$name, traced to files" "$limit" EINTRFIX_LOG=info EINTRFIX_LOG_FILE="$dir/trace.%p" -- "$@"
    check_traces "$name" "$dir"
}

echo "== eintrfix stress ($level) =="

echo "-- data integrity under storms"
bare "pump" "$S/pump" -t 4 -m 4 -p 50
shim "pump: 8 pairs x $((32 * x)) MiB, SIGALRM 20 us" $((90 * x)) -- \
    "$S/pump" -t 8 -m $((32 * x)) -p 20 -u 500 -k 200
shim "pump: 16 pairs x $((8 * x)) MiB, SIGALRM 100 us" $((90 * x)) -- \
    "$S/pump" -t 16 -m $((8 * x)) -p 100 -u 1000 -k 500
bare "pump, fortified" "$S/pump_fortified" -t 4 -m 4 -p 50
shim "pump, fortified (__read_chk, __recv_chk, __recvfrom_chk)" $((90 * x)) -- \
    "$S/pump_fortified" -t 6 -m $((16 * x)) -p 20
traced "pump" $((90 * x)) "$S/pump" -t 5 -m $((8 * x)) -p 50
run "a bad variable: the shim changes nothing (pump fails as bare)" 60 1 \
    env LD_PRELOAD="$LIB" EINTRFIX_POLICY=bogus "$S/pump" -t 2 -m 2 -p 50

echo "-- stdio: reads and writes inside libc, restarted by the kernel"
# 4 pairs: 100 MiB in all (short), 1 GiB (long).
stdio_mib=$((x * 32 / 5))
bare_or_lost "stdio_pump" "$S/stdio_pump" -t 4 -m 4 -p 50
shim "stdio_pump: 4 pairs x $stdio_mib MiB (fwrite/fread, fprintf/fgets), SIGALRM 50 us" $((30 * x)) -- \
    "$S/stdio_pump" -t 4 -m $stdio_mib -p 50 -u 500
shim "stdio_pump: 8 pairs x $((stdio_mib / 4)) MiB, SIGALRM 20 us" $((30 * x)) -- \
    "$S/stdio_pump" -t 8 -m $((stdio_mib / 4)) -p 20 -u 300
traced "stdio_pump" $((30 * x)) "$S/stdio_pump" -t 4 -m $((stdio_mib / 4)) -p 100

echo "-- per-thread state"
bare "per_thread" "$S/per_thread" -n 3
shim "per_thread: SIGTERM on one thread, SIGUSR1 storm on another" $((60 * x)) -- \
    "$S/per_thread" -n $((30 * x))

echo "-- fork, vfork, posix_spawn, exec, system() in a threaded process"
bare "procs" "$S/procs" -n 20
shim "procs: $((700 * x)) children, SIGALRM 50 us, 2 pumping pairs" $((120 * x)) -- \
    "$S/procs" -n $((700 * x)) -p 50 -t 2
traced "procs: $((350 * x)) children" $((120 * x)) "$S/procs" -n $((350 * x)) -p 100 -t 2

echo "-- handlers that make hooked calls, nested EINTR, siglongjmp"
bare "handlers write" "$S/handlers" -n 300 -p 20 write
shim "handlers: write(2) in every handler, SIGALRM 20 us" $((60 * x)) -- \
    "$S/handlers" -n $((300 * x)) -p 20 write
traced "handlers: write(2) in every handler" $((60 * x)) "$S/handlers" -n $((100 * x)) -p 50 write
bare "handlers nested" "$S/handlers" -n 5 nested
shim "handlers: EINTR nested in a handler, $((60 * x)) times" $((60 * x)) -- \
    "$S/handlers" -n $((60 * x)) nested
shim "handlers: siglongjmp out of retried calls, $((600 * x)) times" $((60 * x)) -- \
    "$S/handlers" -n $((600 * x)) -p 50 longjmp

echo "-- pthread_cancel of threads blocked in hooked calls"
bare "cancel" "$S/cancel" -n 20
shim "cancel: $((400 * x)) cancels in 10 kinds of call, SIGALRM 50 us" $((90 * x)) -- \
    "$S/cancel" -n $((400 * x))
shim "cancel, fortified: $((200 * x)) cancels" $((90 * x)) -- "$S/cancel_fortified" -n $((200 * x))
traced "cancel: $((200 * x)) cancels" $((90 * x)) "$S/cancel" -n $((200 * x))

echo "-- hostile environment"
run "stderr closed: the shim's warnings stay out of the program's fd 2" 60 0 \
    sh -c "LD_PRELOAD='$LIB' EINTRFIX_POLICY=log '$S/hostile' stderr-closed 2>&-"
run "stderr closed and a bad variable: no crash, EINTR as bare" 60 1 \
    sh -c "LD_PRELOAD='$LIB' EINTRFIX_POLICY=bogus '$S/pump' -t 2 -m 2 -p 50 2>&-"
bare "fd limit" "$S/hostile" fd-limit
shim "fd limit reached (EMFILE), then hooked calls, fork and wait" 60 -- "$S/hostile" fd-limit
shim "fd limit reached, traced to files" 60 EINTRFIX_LOG=info \
    EINTRFIX_LOG_FILE="$work/fdlimit.%p" -- "$S/hostile" fd-limit
shim "log file unwritable" 60 EINTRFIX_LOG=info EINTRFIX_LOG_FILE=/nonexistent/dir/x.%p -- \
    "$S/pump" -t 2 -m 4 -p 50
shim "log file on a full disk (/dev/full)" 60 EINTRFIX_LOG=info EINTRFIX_LOG_FILE=/dev/full -- \
    "$S/procs" -n 70 -p 100
shim "LD_PRELOAD of the library twice (same path)" 60 LD_PRELOAD="$LIB $LIB" -- \
    "$S/pump" -t 4 -m 4 -p 50
cp "$LIB" "$work/libeintrfix-copy.so"
shim "LD_PRELOAD of two copies: hooks stacked on hooks" 60 \
    LD_PRELOAD="$LIB $work/libeintrfix-copy.so" -- "$S/pump" -t 4 -m 4 -p 50
shim "two copies: cancel through both" 60 LD_PRELOAD="$LIB $work/libeintrfix-copy.so" -- \
    "$S/cancel" -n 100
shim "two copies: procs" 60 LD_PRELOAD="$LIB $work/libeintrfix-copy.so" -- "$S/procs" -n 70
run "dlopen'ed late instead of preloaded" 60 0 "$S/hostile" dlopen "$LIB"
bare "python host" python3 stress/python_host.py
shim "a Python process (ctypes calls, threads, subprocess)" 60 -- python3 stress/python_host.py
run "a Rust program (std threads, sockets, processes; bare and shim)" $((180 * x)) 0 \
    env STRESS_SECONDS=$((5 * x)) cargo test -q --test stress rust_program -- --nocapture
expected=$(yes 0123456789 | head -c 50000000 | tr 0-9 a-j | sha256sum)
shim "a shell pipeline: 50 MB through yes | head | tr | sha256sum" 60 -- \
    sh -c "test \"\$(yes 0123456789 | head -c 50000000 | tr 0-9 a-j | sha256sum)\" = '$expected'"
shim "a shell pipeline of stress programs" 60 -- \
    sh -c "'$S/procs' -n 70 | cat | grep -q iterations=70"

echo "-- sanitizers"
if command -v valgrind >/dev/null; then
    vg=(valgrind -q --error-exitcode=99 --trace-children=no)
    shim "valgrind memcheck: read_pipe" 120 -- "${vg[@]}" "$C/read_pipe"
    shim "valgrind memcheck: pump" 120 -- "${vg[@]}" "$S/pump" -t 2 -m $((2 * x)) -p 200
    shim "valgrind memcheck: handlers write" 120 -- "${vg[@]}" "$S/handlers" -n $((50 * x)) write
    shim "valgrind memcheck: handlers nested" 120 -- "${vg[@]}" "$S/handlers" -n $((5 * x)) nested
    # At a 10 kHz storm (the default) valgrind 3.19 itself hangs or jumps to
    # a garbage address when a handler siglongjmps out of a blocked call:
    # bench/retry_interposer.c, a minimal C retry loop, fails the same way,
    # and natively (above) and under ASan (below) the test passes. 5 kHz
    # passed every time; memcheck runs it at 1 kHz.
    shim "valgrind memcheck: handlers longjmp" 120 -- "${vg[@]}" "$S/handlers" -n $((30 * x)) -p 1000 longjmp
    shim "valgrind memcheck: cancel" 120 -- "${vg[@]}" "$S/cancel" -n $((30 * x))
    shim "valgrind memcheck: procs" 120 -- "${vg[@]}" "$S/procs" -n $((21 * x))
    shim "valgrind memcheck: per_thread" 120 -- "${vg[@]}" "$S/per_thread" -n $((3 * x))
    shim "valgrind memcheck: fd limit" 120 -- "${vg[@]}" "$S/hostile" fd-limit
else
    echo "FAIL  valgrind is not installed (scripts/test-deps stress installs it)"
    failures+=("valgrind")
fi
asan=(ASAN_OPTIONS=verify_asan_link_order=0:exitcode=98:detect_leaks=1)
shim "ASan: pump" 120 "${asan[@]}" -- "$S/pump_asan" -t 4 -m $((8 * x)) -p 50
shim "ASan: procs" 120 "${asan[@]}" -- "$S/procs_asan" -n $((140 * x))
shim "ASan: handlers write" 120 "${asan[@]}" -- "$S/handlers_asan" -n $((100 * x)) write
shim "ASan: handlers nested" 120 "${asan[@]}" -- "$S/handlers_asan" -n $((10 * x)) nested
shim "ASan: handlers longjmp" 120 "${asan[@]}" -- "$S/handlers_asan" -n $((100 * x)) longjmp
shim "ASan: cancel" 120 "${asan[@]}" -- "$S/cancel_asan" -n $((100 * x))
shim "ASan: per_thread" 120 "${asan[@]}" -- "$S/per_thread_asan" -n $((5 * x))
shim "ASan: fd limit" 120 "${asan[@]}" -- "$S/hostile_asan" fd-limit
shim "ASan: stdio_pump" 120 "${asan[@]}" -- "$S/stdio_pump_asan" -t 4 -m $((stdio_mib / 4)) -p 50
# Crash tests (they pass bare too): a bad fd_set pointer, handlers on a
# small alternate signal stack under a 1 ms storm.
shim "ASan: select with an unreadable fd_set: EFAULT as bare" 60 "${asan[@]}" -- "$S/hostile_select_asan"
for ((i = 0; i < x / 4; i++)); do
    shim "ASan: alternate stack of 8 KiB with a guard page, stdio storm" 60 "${asan[@]}" -- \
        "$S/hostile_altstack_asan" stdio 8192
    shim "ASan: alternate stack of 8 KiB, stdio storm, EINTRFIX_LOG=info" 60 "${asan[@]}" \
        EINTRFIX_LOG=info EINTRFIX_LOG_FILE=/dev/null -- "$S/hostile_altstack_asan" stdio 8192
    shim "ASan: alternate stack without a guard page: nothing below written" 60 "${asan[@]}" -- \
        "$S/hostile_altstack_asan" noguard 8192
    shim "ASan: alternate stack made read-only during the handler" 60 "${asan[@]}" -- \
        "$S/hostile_altstack_asan" readonly
done

took=$(($(date +%s) - suite_start))
if ((${#failures[@]})); then
    echo "== ${#failures[@]} of $steps steps FAILED in ${took} s: ${failures[*]}"
    exit 1
fi
echo "== all $steps steps passed in ${took} s"
