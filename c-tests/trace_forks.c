/* Hundreds of forks of a process whose threads are logging.
 *
 * THREADS threads sleep 1 ms at a time under a 100 us SIGUSR1 storm (a
 * POSIX timer, no SA_RESTART), so under the shim they log without pause.
 * The main thread (SIGUSR1 blocked) forks CHILDREN children meanwhile;
 * each child arms alarm(2) (a hang kills it; it needs a few ms), has its
 * own nanosleep interrupted (and logged), and exits. A logging path that
 * took a lock would leave some children hung on a lock held by a thread
 * that does not exist in the child (a mutex around the write hung 1 to 4
 * children in 3 runs of 4). Prints children=N hung=H. */
#include "legacy.h"
#include <pthread.h>
#include <sys/wait.h>

#define CHILDREN 300
#define THREADS 4

static volatile int stop;
static volatile sig_atomic_t thread_eintr;

static void on_usr1(int sig)
{
	(void)sig;
}

/* A SIGUSR1 storm from a POSIX timer, every `period_us`. */
static void usr1_storm(long period_us)
{
	timer_t timer;
	struct sigevent ev;
	struct itimerspec its;

	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	CHECK(timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0);
	its.it_interval.tv_sec = 0;
	its.it_interval.tv_nsec = period_us * 1000L;
	its.it_value = its.it_interval;
	CHECK(timer_settime(timer, 0, &its, NULL) == 0);
}

static void *sleeper(void *arg)
{
	struct timespec ms = { 0, 1000000L };

	(void)arg;
	while (!stop) {
		if (nanosleep(&ms, NULL) != 0 && errno == EINTR) {
			thread_eintr = 1;
			break;
		}
	}
	return NULL;
}

static void child(void)
{
	struct timespec nap = { 0, 3000000L };
	sigset_t usr1;

	alarm(2);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	usr1_storm(200);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	if (nanosleep(&nap, NULL) != 0)
		_exit(errno == EINTR ? 1 : 2);
	exit(0);
}

int main(void)
{
	pthread_t threads[THREADS];
	sigset_t usr1;
	int i, status, hung = 0, failed = 0;

	legacy_handle(SIGUSR1, on_usr1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, sleeper, NULL) == 0);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	usr1_storm(100);
	fflush(stdout);
	for (i = 0; i < CHILDREN; i++) {
		pid_t pid = fork();

		if (pid < 0)
			fail("fork");
		if (pid == 0)
			child();
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFSIGNALED(status))
			hung++;
		else if (WEXITSTATUS(status) != 0)
			failed = WEXITSTATUS(status);
	}
	stop = 1;
	for (i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	printf("children=%d hung=%d\n", CHILDREN, hung);
	if (thread_eintr || failed == 1) {
		errno = EINTR;
		fail("nanosleep");
	}
	CHECK(failed == 0 && hung == 0);
	return 0;
}
