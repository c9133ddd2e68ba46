/* read(2) reached through a wrapper that jumps to it (a tail call), from
 * the main thread and then from a second thread, each on a pipe whose
 * writer is late, under a 1 ms SIGALRM storm.
 *
 * The shim looks for the hook's caller on the stack; here the wrapper's
 * caller is the only return address, and its call goes to the wrapper,
 * not to the shim, so the search goes on up the stack: it must stop
 * within the stack (at the thread's start, or at __libc_stack_end for the
 * main thread) and the calls are retried like any program's. */
#include "legacy.h"
#include <pthread.h>

/* Built with -O2 this is `jmp read@plt`. */
__attribute__((noinline)) static ssize_t read_via_jump(int fd, void *buf, size_t count)
{
	return read(fd, buf, count);
}

static void read_late(const char *who)
{
	int p[2];
	char buf[16];
	ssize_t n;

	late_pipe(p, 200, "late");
	n = read_via_jump(p[0], buf, sizeof buf);
	if (n < 0)
		fail(who);
	CHECK(n == 4 && memcmp(buf, "late", 4) == 0);
	close(p[0]);
}

static void *thread_main(void *arg)
{
	sigset_t alarm;
	(void)arg;
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alarm, NULL);
	read_late("read in a thread");
	return NULL;
}

int main(void)
{
	pthread_t thread;
	sigset_t alarm;
	int before;

	storm_start(1000);
	read_late("read");
	CHECK(legacy_signals > 10);

	/* Only the thread takes the storm now. */
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm, NULL);
	before = legacy_signals;
	CHECK(pthread_create(&thread, NULL, thread_main, NULL) == 0);
	CHECK(pthread_join(thread, NULL) == 0);
	storm_stop();
	CHECK(legacy_signals - before > 10);
	return 0;
}
