/* fork() while another thread installs a handler: the child, which has
 * only the forking thread, must still be able to change dispositions.
 * 200 children each install a handler and exit; a child that hangs is
 * killed by its own alarm and counted. */
#include "legacy.h"
#include <pthread.h>
#include <sys/wait.h>

static volatile int stop;

static void h(int sig) { (void)sig; }

static void *installer(void *arg)
{
	(void)arg;
	while (!stop)
		if (signal(SIGUSR1, h) == SIG_ERR)
			fail("signal");
	return NULL;
}

int main(void)
{
	pthread_t t;
	int i, status, hung = 0;
	pid_t child;

	if (pthread_create(&t, NULL, installer, NULL) != 0)
		fail("pthread_create");
	for (i = 0; i < 200; i++) {
		child = fork();
		if (child < 0)
			fail("fork");
		if (child == 0) {
			alarm(5);
			if (signal(SIGUSR2, h) == SIG_ERR || signal(SIGUSR1, SIG_DFL) == SIG_ERR)
				_exit(3);
			_exit(0);
		}
		if (waitpid(child, &status, 0) != child)
			fail("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			hung++;
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("hung=%d\n", hung);
	CHECK(hung == 0);
	return 0;
}
