/* absorb.c: the slow path. `absorb PERIOD_US DURATION_MS [restart|stdio]`
 *
 * Blocks in read(2) on an empty pipe under a SIGALRM storm of one signal
 * every PERIOD_US microseconds, handler installed without SA_RESTART (with
 * it if `restart` is given: the kernel's own restart, the floor). With
 * `stdio` the read is the one fgetc makes inside libc, which no hook sees:
 * under the shim each signal is then absorbed by the kernel's restart, as
 * the trampoline decides at delivery, rather than by the hook's retry. A helper
 * thread, with every signal blocked, writes one byte after DURATION_MS.
 * Every signal is one interrupted call that must be retried. Prints
 *   signals=N elapsed_ms=... cpu_ms=...
 * where cpu_ms is the process's user+system time during the read. Exits 1
 * if the read fails with EINTR (bare, nobody retries), 2 on other errors.
 */
#include "../c-tests/legacy.h"
#include <pthread.h>
#include <sys/resource.h>

static int pipe_fds[2];
static long duration_ms;

static void *writer(void *arg)
{
	(void)arg;
	quiet_sleep_ms(duration_ms);
	if (write(pipe_fds[1], "x", 1) != 1)
		fail("write");
	return NULL;
}

static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: absorb PERIOD_US DURATION_MS [restart|stdio]\n");
		return 2;
	}
	long period_us = atol(argv[1]);
	duration_ms = atol(argv[2]);
	int restart = argc > 3 && strcmp(argv[3], "restart") == 0;
	int stdio = argc > 3 && strcmp(argv[3], "stdio") == 0;
	CHECK(period_us > 0 && duration_ms > 0);
	if (pipe(pipe_fds) != 0)
		fail("pipe");
	FILE *in = fdopen(pipe_fds[0], "r");
	if (!in)
		fail("fdopen");

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t thread;
	CHECK(pthread_create(&thread, NULL, writer, NULL) == 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	storm_start(period_us);
	if (restart) {
		struct sigaction sa;
		sigaction(SIGALRM, NULL, &sa);
		sa.sa_flags |= SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
	}
	double cpu0 = cpu_ms(), t0 = now_ms();
	int before = legacy_signals;
	char c = 0;
	ssize_t n;
	if (stdio) {
		int got = fgetc(in);
		n = got == EOF ? -1 : 1;
		c = (char)got;
	} else {
		n = read(pipe_fds[0], &c, 1);
	}
	double t1 = now_ms(), cpu1 = cpu_ms();
	int signals = legacy_signals - before;
	storm_stop();
	if (n != 1)
		fail(stdio ? "fgetc" : "read");
	CHECK(c == 'x');
	pthread_join(thread, NULL);
	printf("signals=%d elapsed_ms=%.3f cpu_ms=%.3f\n", signals, t1 - t0,
	       cpu1 - cpu0);
	return 0;
}
