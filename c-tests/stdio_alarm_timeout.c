/* fgets with an alarm(1) timeout, while a POSIX timer sends SIGUSR1 every
 * millisecond (ITIMER_REAL is the alarm itself). A helper child writes a
 * line at 2500 ms, in case the timeout never cuts the read.
 * Exit 0: timed out (prints timeout_ms) or the line came (prints data_ms);
 * 1: fgets failed with EINTR from SIGUSR1. */
#include "legacy.h"
#include <sys/wait.h>

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

int main(void)
{
	int p[2];
	char line[64];
	pid_t child;
	double start;
	FILE *in;
	char *got;

	child = late_pipe(p, 2500, "line\n");
	in = fdopen(p[0], "r");
	if (!in)
		fail("fdopen");
	legacy_handle(SIGALRM, on_alarm);
	timer_storm_start(SIGUSR1, 1000);
	start = now_ms();
	alarm(1);
	got = fgets(line, sizeof line, in);
	if (!got && !(errno == EINTR && timed_out))
		fail("fgets");
	alarm(0);
	if (!got)
		report_ms("timeout", now_ms() - start);
	else
		report_ms("data", now_ms() - start);
	CHECK(legacy_signals > 10);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
