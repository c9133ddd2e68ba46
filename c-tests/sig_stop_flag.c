/* The stop-flag program: a SIGTERM handler sets a flag, and the read loop
 * checks it when read(2) fails with EINTR, under a 1 ms SIGALRM storm.
 * A helper child sends SIGTERM at 300 ms (noting when, in shared memory)
 * and writes data at 1500 ms, in case the flag is never seen.
 * Exit 0: stopped by SIGTERM (prints stop_ms, from SIGTERM to stop);
 * 1: read failed with EINTR before SIGTERM; 3: data came first. */
#include "legacy.h"
#include <sys/wait.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	int p[2];
	char buf[64];
	ssize_t n;
	pid_t child;
	volatile double *sent_at;

	legacy_handle(SIGTERM, on_term);
	child = late_signal(p, SIGTERM, 300, 1200, "data", &sent_at);
	storm_start(1000);
	for (;;) {
		n = read(p[0], buf, sizeof buf);
		if (n >= 0) {
			storm_stop();
			fprintf(stderr, "read %zd bytes: SIGTERM did not stop the loop\n", n);
			return 3;
		}
		if (errno == EINTR && stop)
			break;
		fail("read");
	}
	storm_stop();
	report_ms("stop", now_ms() - *sent_at);
	CHECK(legacy_signals > 10);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
