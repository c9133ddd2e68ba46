/* popen + fgets while short-lived children send SIGCHLD every few ms (a
 * thread forks them; its handler counts them, installed without
 * SA_RESTART, as legacy code does). The command answers after 300 ms.
 * Legacy code: fgets or die, pclose or die. Exit 0: the line arrived and
 * the command's status was read; 1: a call failed with EINTR. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t children;
static volatile int done;

static void reaped(int sig)
{
	(void)sig;
	children++;
}

static void *spawner(void *arg)
{
	struct timespec ts = { 0, 3000000L };
	(void)arg;
	while (!done) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		ts.tv_nsec = 3000000L;
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	sigset_t chld;
	pthread_t thread;
	char line[64];
	FILE *f;
	int status;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = reaped;
	sigaction(SIGCHLD, &sa, NULL);
	/* The spawner blocks SIGCHLD: the main thread takes every one. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, NULL);
	pthread_create(&thread, NULL, spawner, NULL);
	pthread_sigmask(SIG_UNBLOCK, &chld, NULL);
	f = popen("sleep 0.3; echo hello", "r");
	if (!f) {
		perror("popen");
		return errno == EINTR ? 1 : 2;
	}
	if (!fgets(line, sizeof line, f)) {
		fprintf(stderr, "fgets: %s (%d SIGCHLD)\n", strerror(errno), (int)children);
		return errno == EINTR ? 1 : 2;
	}
	status = pclose(f);
	if (status == -1) {
		fprintf(stderr, "pclose: %s\n", strerror(errno));
		return errno == EINTR ? 1 : 2;
	}
	done = 1;
	pthread_join(thread, NULL);
	printf("read '%.5s' after %d SIGCHLD, status %d\n", line, (int)children, status);
	return !strcmp(line, "hello\n") && status == 0 && children > 10 ? 0 : 2;
}
