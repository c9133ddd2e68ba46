/* Logging from a signal handler that interrupted malloc.
 *
 * The main thread allocates and frees without pause. A 4 ms SIGALRM storm
 * runs a handler that writes 4 KiB to a pipe kept full, so the write
 * blocks; a helper thread interrupts it with SIGUSR1 every 100 us (no
 * SA_RESTART) and another makes room for each write 1 ms after it starts,
 * so each write is interrupted several times before it completes. Under the shim every
 * interruption is logged from inside the handler, while the interrupted
 * main thread may hold malloc's locks. Prints write_fd=N. */
#include "legacy.h"
#include <fcntl.h>
#include <pthread.h>

#define RUN_MS 1000

static int rfd, wfd;
static pthread_t main_thread;
static volatile int stop;
static volatile sig_atomic_t handler_eintr, handler_writes, want_drain;

static void on_alarm(int sig)
{
	static char block[4096];
	int saved = errno;
	ssize_t n;

	(void)sig;
	want_drain = 1;
	n = write(wfd, block, sizeof block);
	if (n < 0 && errno == EINTR)
		handler_eintr = 1;
	else if (n == (ssize_t)sizeof block)
		handler_writes++;
	errno = saved;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000L };
	nanosleep(&ts, NULL);
}

static void *kicker(void *arg)
{
	(void)arg;
	while (!stop) {
		pthread_kill(main_thread, SIGUSR1);
		pause_us(100);
	}
	return NULL;
}

static void *drainer(void *arg)
{
	char buf[4096];

	(void)arg;
	while (!stop) {
		if (!want_drain) {
			pause_us(100);
			continue;
		}
		/* Let the handler's write block for 1 ms, then make room. */
		pause_us(1000);
		want_drain = 0;
		if (read(rfd, buf, sizeof buf) < 0 && errno != EAGAIN)
			_exit(2);
	}
	return NULL;
}

int main(void)
{
	int p[2];
	char chunk[4096] = { 0 };
	void *blocks[64] = { 0 };
	pthread_t threads[2];
	sigset_t all, old;
	unsigned seed = 1;
	double start;
	long rounds = 0;

	if (pipe(p) != 0)
		fail("pipe");
	rfd = p[0];
	wfd = p[1];
	/* Fill the pipe, then make its write end blocking again. */
	CHECK(fcntl(wfd, F_SETFL, O_NONBLOCK) == 0);
	while (write(wfd, chunk, sizeof chunk) > 0)
		;
	CHECK(fcntl(wfd, F_SETFL, 0) == 0);
	CHECK(fcntl(rfd, F_SETFL, O_NONBLOCK) == 0);

	printf("write_fd=%d\n", wfd);
	fflush(stdout);
	main_thread = pthread_self();
	legacy_handle(SIGUSR1, on_usr1);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	CHECK(pthread_create(&threads[0], NULL, kicker, NULL) == 0);
	CHECK(pthread_create(&threads[1], NULL, drainer, NULL) == 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	storm_start(4000);
	legacy_handle(SIGALRM, on_alarm);
	start = now_ms();
	while (now_ms() - start < RUN_MS && !handler_eintr) {
		unsigned i = (seed = seed * 1103515245u + 12345u) % 64;
		size_t size = 16 + (seed >> 8) % 65536;

		free(blocks[i]);
		blocks[i] = malloc(size);
		CHECK(blocks[i] != NULL);
		memset(blocks[i], (int)i, size < 256 ? size : 256);
		rounds++;
	}
	storm_stop();
	stop = 1;
	pthread_join(threads[0], NULL);
	pthread_join(threads[1], NULL);
	for (int i = 0; i < 64; i++)
		free(blocks[i]);
	if (handler_eintr) {
		errno = EINTR;
		fail("write in the SIGALRM handler");
	}
	printf("handler_writes=%d rounds=%ld\n", (int)handler_writes, rounds);
	CHECK(handler_writes > 20);
	return 0;
}
