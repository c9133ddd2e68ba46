/* Many threads, each with its own 1 ms timer (timer_create with
 * SIGEV_THREAD_ID), each blocked in read(2) on its own pipe until its
 * handler has run SIGNALS times (the handler then writes the byte that
 * ends the read). Prints elapsed_ms: the time for THREADS * SIGNALS
 * deliveries into blocked reads.
 * Usage: thread_storm THREADS SIGNALS restart|plain
 *   restart: the handler has SA_RESTART (the kernel restarts the read);
 *   plain:   it does not (a legacy program: bare, the read fails). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static __thread int count, wake_fd;
static int target;

static void on_tick(int sig)
{
	(void)sig;
	if (++count == target && write(wake_fd, "x", 1) != 1)
		_exit(3);
}

static void *worker(void *arg)
{
	int fds[2];
	timer_t timer;
	struct sigevent ev;
	struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } };
	char c;
	(void)arg;
	if (pipe(fds) != 0)
		exit(2);
	wake_fd = fds[1];
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGUSR1;
	ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0 || timer_settime(timer, 0, &its, NULL) != 0) {
		perror("timer");
		exit(2);
	}
	if (read(fds[0], &c, 1) != 1) {
		fprintf(stderr, "read: %s\n", strerror(errno));
		exit(errno == EINTR ? 1 : 2);
	}
	timer_delete(timer);
	close(fds[0]);
	close(fds[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 300;
	struct sigaction sa;
	struct timespec t0, t1;
	pthread_attr_t attr;
	pthread_t *ids = calloc((size_t)threads, sizeof *ids);
	target = argc > 2 ? atoi(argv[2]) : 200;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_tick;
	sa.sa_flags = argc > 3 && !strcmp(argv[3], "restart") ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (!ids || sigaction(SIGUSR1, &sa, NULL) != 0)
		return 2;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&ids[i], &attr, worker, NULL) != 0)
			return 2;
	for (int i = 0; i < threads; i++)
		pthread_join(ids[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("elapsed_ms=%.1f\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
