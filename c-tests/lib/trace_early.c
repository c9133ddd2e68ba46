/* A library whose constructor meets EINTR before the shim's constructor
 * has run (preloaded after the shim, it is initialised first): a read(2)
 * on an empty pipe, interrupted by a one-shot 20 ms SIGALRM. The tests
 * build it with `cc -shared`: it is a library, not one of the programs
 * that make builds from c-tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int sig)
{
	(void)sig;
}

__attribute__((constructor)) static void early_read(void)
{
	struct sigaction sa;
	struct itimerval once = { { 0, 0 }, { 0, 20000 } };
	int p[2];
	char c;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if (pipe(p) != 0)
		_exit(2);
	setitimer(ITIMER_REAL, &once, NULL);
	if (read(p[0], &c, 1) < 0 && errno == EINTR)
		(void)!write(2, "early: read: EINTR\n", 19);
	close(p[0]);
	close(p[1]);
}
