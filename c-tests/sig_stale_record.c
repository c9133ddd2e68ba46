/* A SIGINT handled between calls must not make a later EINTR pass.
 * The program counts SIGINTs (it does not stop on them): it raises one
 * while it is not in any call, then reads a pipe whose writer is 300 ms
 * late, under a 1 ms SIGALRM storm.
 * Exit 0: the data came; 1: read failed with EINTR (bare: the storm; a
 * shim that kept the SIGINT's record would pass the first SIGALRM's). */
#include "legacy.h"
#include <sys/wait.h>

static volatile sig_atomic_t interrupts;

static void on_int(int sig)
{
	(void)sig;
	interrupts++;
}

int main(void)
{
	int p[2];
	char buf[16];
	pid_t child;

	legacy_handle(SIGINT, on_int);
	raise(SIGINT); /* handled here, in no call */
	CHECK(interrupts == 1);
	child = late_pipe(p, 300, "data");
	storm_start(1000);
	ssize_t n = read(p[0], buf, sizeof buf);
	storm_stop();
	if (n < 0)
		fail("read");
	CHECK(n == 4 && memcmp(buf, "data", 4) == 0);
	CHECK(legacy_signals > 10);
	waitpid(child, NULL, 0);
	return 0;
}
