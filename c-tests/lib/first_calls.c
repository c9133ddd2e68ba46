/* Loaded with dlopen by c-tests/first_call_locked.c. Its constructor,
 * which runs under the loader's lock, starts a thread that makes the
 * process's first calls of several hooked functions, and waits up to 5 s
 * for it: exit 1 if the thread did not get through them (its calls waited
 * for the loader's lock), 2 on a setup error. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int done[2];

static void *first_calls(void *unused)
{
	struct epoll_event event;
	struct timespec pause = { 0, 1000 };
	char byte = 'x';

	(void)unused;
	/* Each fails or returns at once; what matters is that it returns. */
	(void)epoll_wait(-1, &event, 1, 0);
	(void)recv(-1, &byte, 1, 0);
	(void)accept(-1, NULL, NULL);
	(void)waitpid(-1, NULL, WNOHANG);
	(void)nanosleep(&pause, NULL);
	(void)write(done[1], &byte, 1);
	return NULL;
}

__attribute__((constructor)) static void start(void)
{
	pthread_t thread;
	struct pollfd ready;
	int err;

	if (pipe(done) != 0) {
		perror("first_calls: pipe");
		_exit(2);
	}
	err = pthread_create(&thread, NULL, first_calls, NULL);
	if (err != 0) {
		errno = err;
		perror("first_calls: pthread_create");
		_exit(2);
	}
	ready.fd = done[0];
	ready.events = POLLIN;
	if (poll(&ready, 1, 5000) != 1) {
		fprintf(stderr, "first_calls: the thread's first calls waited "
				"for the loader's lock\n");
		_exit(1);
	}
	pthread_join(thread, NULL);
}
