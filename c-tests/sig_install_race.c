/* Threads racing to install two different actions for one signal, while
 * the main thread queries it and raises it: every query must show one
 * action whole (its handler with its own mask and flags), never a mix, and
 * every delivery must reach one of the two handlers. No EINTR here: the
 * test asserts it works bare and under the shim alike. */
#include "legacy.h"
#include <pthread.h>

static volatile sig_atomic_t ran1, ran2;
static volatile int stop;

static void h1(int sig) { (void)sig; ran1++; }
static void h2(int sig, siginfo_t *info, void *uc) { (void)sig; (void)info; (void)uc; ran2++; }

static void action(int which, struct sigaction *out)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	if (which == 1) {
		sa.sa_handler = h1;
		sigaddset(&sa.sa_mask, SIGUSR2);
		sa.sa_flags = SA_RESTART;
	} else {
		sa.sa_sigaction = h2;
		sigaddset(&sa.sa_mask, SIGHUP);
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	}
	*out = sa;
}

static void *installer(void *arg)
{
	struct sigaction sa;

	action(*(int *)arg, &sa);
	while (!stop)
		if (sigaction(SIGUSR1, &sa, NULL) != 0)
			fail("sigaction");
	return NULL;
}

int main(void)
{
	static int one = 1, two = 2;
	pthread_t a, b;
	struct sigaction q;
	int i, mixed = 0, seen1 = 0, seen2 = 0;

	action(1, &q);
	if (sigaction(SIGUSR1, &q, NULL) != 0)
		fail("sigaction");
	if (pthread_create(&a, NULL, installer, &one) != 0 ||
	    pthread_create(&b, NULL, installer, &two) != 0)
		fail("pthread_create");
	for (i = 0; i < 20000; i++) {
		if (sigaction(SIGUSR1, NULL, &q) != 0)
			fail("sigaction query");
		if (q.sa_handler == h1) {
			seen1++;
			mixed += !(sigismember(&q.sa_mask, SIGUSR2) == 1 &&
				   sigismember(&q.sa_mask, SIGHUP) == 0 &&
				   (q.sa_flags & (SA_RESTART | SA_SIGINFO | SA_NODEFER)) == SA_RESTART);
		} else if (q.sa_sigaction == h2) {
			seen2++;
			mixed += !(sigismember(&q.sa_mask, SIGHUP) == 1 &&
				   sigismember(&q.sa_mask, SIGUSR2) == 0 &&
				   (q.sa_flags & (SA_RESTART | SA_SIGINFO | SA_NODEFER)) ==
					   (SA_SIGINFO | SA_NODEFER));
		}
		if (i % 100 == 0)
			raise(SIGUSR1);
	}
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("mixed=%d delivered=%d\n", mixed, (int)(ran1 + ran2));
	CHECK(mixed == 0);
	CHECK(ran1 + ran2 == 200);
	CHECK(seen1 + seen2 == 20000);
	return 0;
}
