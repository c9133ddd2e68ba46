/* The classic read with an alarm(1) timeout, while a POSIX timer sends
 * SIGUSR1 every millisecond. A helper child writes data at 2500 ms, in
 * case the timeout never cuts the read.
 * Exit 0: timed out (prints timeout_ms) or data came (prints data_ms);
 * 1: read failed with EINTR from SIGUSR1. */
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
	char buf[64];
	ssize_t n;
	pid_t child;
	double start;

	child = late_pipe(p, 2500, "data");
	legacy_handle(SIGALRM, on_alarm);
	timer_storm_start(SIGUSR1, 1000);
	start = now_ms();
	alarm(1);
	n = read(p[0], buf, sizeof buf);
	if (n < 0 && !(errno == EINTR && timed_out))
		fail("read");
	alarm(0);
	if (n < 0)
		report_ms("timeout", now_ms() - start);
	else
		report_ms("data", now_ms() - start);
	CHECK(legacy_signals > 10);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
