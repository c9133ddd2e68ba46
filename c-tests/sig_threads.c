/* The record is per thread: a SIGTERM handler runs over and over on one
 * thread (which waits in pause), while another thread's read(2) is
 * interrupted by SIGUSR1 every millisecond. Only that thread's own
 * signals count: its SIGUSR1s are retried, though SIGTERM would pass. */
#include "legacy.h"
#include <pthread.h>

static int p[2];
static volatile sig_atomic_t terms, done;
static ssize_t got;
static int read_errno;

static void on_term(int sig)
{
	(void)sig;
	terms++;
}

static void *reader(void *arg)
{
	char buf[64];
	(void)arg;
	got = read(p[0], buf, sizeof buf);
	read_errno = errno;
	done = 1;
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	while (!done)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t r, w;
	int i;

	if (pipe(p) != 0)
		fail("pipe");
	legacy_handle(SIGTERM, on_term);
	legacy_handle(SIGUSR1, legacy_count_signal);
	if (pthread_create(&r, NULL, reader, NULL) != 0 ||
	    pthread_create(&w, NULL, waiter, NULL) != 0)
		fail("pthread_create");
	for (i = 0; i < 300 && !done; i++) {
		pthread_kill(w, SIGTERM);
		pthread_kill(r, SIGUSR1);
		quiet_sleep_ms(1);
	}
	if (write(p[1], "late data", 9) != 9)
		fail("write");
	pthread_join(r, NULL);
	pthread_kill(w, SIGTERM);
	pthread_join(w, NULL);
	if (got < 0) {
		errno = read_errno;
		fail("read");
	}
	CHECK(got == 9);
	CHECK(terms > 10 && legacy_signals > 10);
	return 0;
}
