# The SIGHUP daemon of hup_daemon.pl as a POSIX shell script, for dash
# (Debian's /bin/sh). dash's `read` builtin gives up when a trapped signal
# interrupts it: the loop ends as if the input had, and the rest of the
# input is silently not read. bash's `read` retries and is not affected.
reloads=0
trap 'reloads=$((reloads + 1))' HUP
echo "pid=$$"
while read -r line; do
    echo "got=$line reloads=$reloads"
done
echo "done reloads=$reloads"
