/* Stopping a worker thread: the main thread sets a flag and wakes the
 * worker, blocked in read(2), with pthread_kill(SIGUSR1), whose handler is
 * installed without SA_RESTART so that the read fails with EINTR; the
 * worker then sees the flag. Meanwhile a 1 ms SIGALRM storm interrupts
 * the read too (the worker must retry those, as legacy code does not).
 * A helper child writes data at 1500 ms, in case the wake-up is lost.
 * Exit 0: the worker stopped on the wake-up (prints stop_ms, from
 * pthread_kill to the worker's exit); 1: the read failed with EINTR
 * without the flag (bare: the storm); 3: the data came first. */
#include "legacy.h"
#include <pthread.h>
#include <sys/wait.h>

static volatile sig_atomic_t stop;
static int pipe_fds[2];
static double woken_at;
static int outcome = -1;

static void on_usr1(int sig)
{
	(void)sig;
}

static void *worker(void *arg)
{
	char buf[16];
	sigset_t alrm;
	(void)arg;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	ssize_t n = read(pipe_fds[0], buf, sizeof buf);
	if (n >= 0) {
		outcome = 3;
		return NULL;
	}
	if (errno == EINTR && stop) {
		outcome = 0;
		return NULL;
	}
	fail("read");
	return NULL;
}

int main(void)
{
	pthread_t t;
	pid_t child;
	sigset_t alrm;

	child = late_pipe(pipe_fds, 1500, "data");
	legacy_handle(SIGUSR1, on_usr1);
	/* The storm goes to the worker: the main thread blocks it. */
	storm_start(1000);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		fail("pthread_create");
	quiet_sleep_ms(300);
	stop = 1;
	woken_at = now_ms();
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	double ms = now_ms() - woken_at;
	storm_stop();
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (outcome == 3) {
		fprintf(stderr, "read returned data: the wake-up was retried\n");
		return 3;
	}
	CHECK(outcome == 0);
	report_ms("stop", ms);
	return 0;
}
