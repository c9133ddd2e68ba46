/* A periodic timer written by hand: the SIGALRM handler re-arms a one-shot
 * ualarm(1000) every time. These SIGALRMs are not timeouts: under the shim
 * the read waits for the data a child writes at 300 ms. */
#include "legacy.h"
#include <sys/wait.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
	(void)sig;
	ticks++;
	ualarm(1000, 0);
}

int main(void)
{
	int p[2];
	char buf[64];
	ssize_t n;
	pid_t child;

	child = late_pipe(p, 300, "late data");
	legacy_handle(SIGALRM, on_alarm);
	ualarm(1000, 0);
	n = read(p[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	signal(SIGALRM, SIG_IGN);
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	CHECK(ticks > 10);
	waitpid(child, NULL, 0);
	return 0;
}
