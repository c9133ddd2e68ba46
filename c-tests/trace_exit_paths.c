/* Interruptions on the paths where thread-locals are torn down: a
 * nanosleep(2) in a thread-key destructor (as a thread exits) and one in
 * an atexit handler (as the process exits), both under a 1 ms SIGALRM
 * storm. Under the shim both are retried and logged, and nothing aborts. */
#include "legacy.h"
#include <pthread.h>

static pthread_key_t key;
static volatile int destructor_eintr, destructor_ran;

static int interrupted_sleep(void)
{
	struct timespec nap = { 0, 50 * 1000000L };

	return nanosleep(&nap, NULL);
}

static void destructor(void *value)
{
	(void)value;
	if (interrupted_sleep() != 0 && errno == EINTR)
		destructor_eintr = 1;
	destructor_ran = 1;
}

static void *thread(void *arg)
{
	sigset_t alrm;

	(void)arg;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	pthread_setspecific(key, &key);
	return NULL;
}

static void at_exit(void)
{
	if (interrupted_sleep() != 0) {
		fprintf(stderr, "nanosleep in atexit: %s\n", strerror(errno));
		_exit(errno == EINTR ? 1 : 2);
	}
	printf("atexit_done\n");
	fflush(stdout);
}

int main(void)
{
	pthread_t t;
	sigset_t alrm;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	CHECK(pthread_key_create(&key, destructor) == 0);
	storm_start(1000);
	/* The storm's signals go to the exiting thread (which unblocks them). */
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	CHECK(pthread_create(&t, NULL, thread, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	CHECK(destructor_ran);
	if (destructor_eintr) {
		errno = EINTR;
		fail("nanosleep in a thread-key destructor");
	}
	CHECK(atexit(at_exit) == 0);
	return 0;
}
