/* legacy.h: what every legacy-style test program shares.
 *
 * Each program is written the way old code is: a handler installed without
 * SA_RESTART, a blocking call, and "if it fails, die". Exit codes:
 *   0  the work completed and the data were right;
 *   1  a call failed with EINTR (the message names the call);
 *   2  any other wrong result.
 */
#ifndef EINTRFIX_LEGACY_H
#define EINTRFIX_LEGACY_H

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t legacy_signals;

static void legacy_count_signal(int sig)
{
	(void)sig;
	legacy_signals++;
}

/* Installs `handler` for `sig` without SA_RESTART, as legacy code does. */
static inline void legacy_handle(int sig, void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	if (sigaction(sig, &sa, NULL) != 0) {
		perror("sigaction");
		exit(2);
	}
}

/* Stops the storm (children inherit no timer, but be explicit). */
static inline void storm_stop(void)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Signals left in a storm that ends by itself (storm_start_for). */
static volatile sig_atomic_t legacy_storm_left;

/* Counts a signal of a storm that ends by itself; stops it at the last. */
static void legacy_count_down(int sig)
{
	legacy_count_signal(sig);
	if (--legacy_storm_left == 0)
		storm_stop();
}

/* Installs `handler` for SIGALRM and sends one every `period_us`
 * microseconds. */
static inline void legacy_storm(void (*handler)(int), long period_us)
{
	struct itimerval it;
	legacy_handle(SIGALRM, handler);
	it.it_interval.tv_sec = period_us / 1000000;
	it.it_interval.tv_usec = period_us % 1000000;
	it.it_value = it.it_interval;
	if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
		perror("setitimer");
		exit(2);
	}
}

/* Starts a SIGALRM storm: one signal every `period_us` microseconds,
 * counted in legacy_signals. */
static inline void storm_start(long period_us)
{
	legacy_storm(legacy_count_signal, period_us);
}

/* Starts a SIGALRM storm that stops by itself after `count` signals: for
 * code whose own wait outlasts the storm bare (a timeout restarted whole
 * at each signal), so that the program ends either way. */
static inline void storm_start_for(long period_us, int count)
{
	legacy_storm_left = count;
	legacy_storm(legacy_count_down, period_us);
}

/* A call failed: exit 1 if with EINTR, else 2, naming the call. */
static inline void fail(const char *call)
{
	int e = errno;
	fprintf(stderr, "%s: %s\n", call, strerror(e));
	exit(e == EINTR ? 1 : 2);
}

/* A wrong result that is not a failed call: exit 2. */
#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                \
			exit(2);                                           \
		}                                                          \
	} while (0)

/* Milliseconds on CLOCK_MONOTONIC. */
static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Sleeps without being cut short by signals (for helper children). */
static inline void quiet_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Makes the pipe p[] and forks a child that, if `sig` is not 0, sends it
 * to this process after `signal_ms` milliseconds (noting when in *sent_at,
 * memory shared with this process, unless NULL), then writes `data` into
 * the pipe after `write_ms` more. The parent keeps only the read end p[0].
 * Returns the child's pid. */
static inline pid_t late_child(int p[2], int sig, long signal_ms, long write_ms,
			       const char *data, volatile double *sent_at)
{
	pid_t child;
	size_t len = strlen(data);

	if (pipe(p) != 0)
		fail("pipe");
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(p[0]);
		if (sig) {
			quiet_sleep_ms(signal_ms);
			if (sent_at)
				*sent_at = now_ms();
			kill(getppid(), sig);
		}
		quiet_sleep_ms(write_ms);
		_exit(write(p[1], data, len) == (ssize_t)len ? 0 : 3);
	}
	close(p[1]);
	return child;
}

/* A pipe whose writer (a child) writes `data` after `ms` milliseconds. */
static inline pid_t late_pipe(int p[2], long ms, const char *data)
{
	return late_child(p, 0, 0, ms, data, NULL);
}

/* A pipe whose writer sends `sig` to this process after `signal_ms`
 * (noting when in *sent_at, shared memory), then writes `data` after
 * `write_ms` more, in case the signal did not end the wait. */
static inline pid_t late_signal(int p[2], int sig, long signal_ms, long write_ms,
				const char *data, volatile double **sent_at)
{
	*sent_at = mmap(NULL, sizeof **sent_at, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (*sent_at == MAP_FAILED)
		fail("mmap");
	return late_child(p, sig, signal_ms, write_ms, data, *sent_at);
}

/* Makes fds[] a pipe (`transport` "pipe") or an AF_UNIX stream socketpair
 * (anything else): fds[0] reads, fds[1] writes. */
static inline void open_channel(const char *transport, int fds[2])
{
	if (!strcmp(transport, "pipe")) {
		if (pipe(fds) != 0)
			fail("pipe");
	} else if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
		fail("socketpair");
	}
}

/* Starts a POSIX timer that sends `sig` every `period_us` microseconds,
 * counted by legacy_count_signal (installed without SA_RESTART): a storm
 * that leaves ITIMER_REAL to the program's own alarm(). */
static inline timer_t timer_storm_start(int sig, long period_us)
{
	struct sigevent ev;
	struct itimerspec its;
	timer_t timer;

	legacy_handle(sig, legacy_count_signal);
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = sig;
	if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0)
		fail("timer_create");
	its.it_interval.tv_sec = period_us / 1000000;
	its.it_interval.tv_nsec = (period_us % 1000000) * 1000;
	its.it_value = its.it_interval;
	if (timer_settime(timer, 0, &its, NULL) != 0)
		fail("timer_settime");
	return timer;
}

/* Stops a storm that timer_storm_start started. */
static inline void timer_storm_stop(timer_t timer)
{
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	timer_settime(timer, 0, &its, NULL);
}

/* Prints the elapsed time for the test harness to check bounds. */
static inline void report_ms(const char *what, double ms)
{
	printf("%s_ms=%.3f\n", what, ms);
	fflush(stdout);
}

#endif
