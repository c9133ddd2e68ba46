/* The stop-flag program over stdio: a SIGINT handler sets a flag, and the
 * fgets loop checks it when fgets fails with EINTR, under a 1 ms SIGALRM
 * storm. A helper child sends SIGINT at 300 ms (noting when, in shared
 * memory) and writes a line at 1500 ms, in case the flag is never seen.
 * Exit 0: stopped by SIGINT (prints stop_ms, from SIGINT to stop);
 * 1: fgets failed with EINTR before SIGINT; 3: the line came first. */
#include "legacy.h"
#include <sys/wait.h>

static volatile sig_atomic_t stop;

static void on_int(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	int p[2];
	char line[64];
	pid_t child;
	volatile double *sent_at;
	FILE *in;

	legacy_handle(SIGINT, on_int);
	child = late_signal(p, SIGINT, 300, 1200, "line\n", &sent_at);
	in = fdopen(p[0], "r");
	if (!in)
		fail("fdopen");
	storm_start(1000);
	while (fgets(line, sizeof line, in)) {
		storm_stop();
		fprintf(stderr, "read '%s': SIGINT did not stop the loop\n", line);
		return 3;
	}
	if (!(errno == EINTR && stop))
		fail("fgets");
	storm_stop();
	report_ms("stop", now_ms() - *sent_at);
	CHECK(legacy_signals > 10);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
