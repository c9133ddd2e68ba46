/* zmq_recv under a signal that is no stop request: argument "prof" for a
 * profiler's 1 ms ITIMER_PROF SIGPROF (its handler installed with
 * SA_RESTART, which does not restart poll), "alarm" for a periodic 1 ms
 * SIGALRM. A thread burns CPU (so ITIMER_PROF runs) and a peer thread
 * sends one message after 500 ms; only the main thread takes the signal.
 * Legacy code: zmq_recv or die. Exit 0: the message arrived; 1: zmq_recv
 * failed with EINTR. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static volatile sig_atomic_t ticks;
static volatile int done;

static void tick(int sig)
{
	(void)sig;
	ticks++;
}

static void *burn(void *arg)
{
	volatile unsigned long n = 0;
	(void)arg;
	while (!done)
		n++;
	return NULL;
}

static void *peer(void *ctx)
{
	void *out = zmq_socket(ctx, ZMQ_PAIR);
	struct timespec ts = { 0, 500000000L };
	zmq_connect(out, "inproc://late");
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	zmq_send(out, "late", 4, 0);
	zmq_close(out);
	return NULL;
}

int main(int argc, char **argv)
{
	int prof = argc > 1 && !strcmp(argv[1], "prof");
	int sig = prof ? SIGPROF : SIGALRM;
	struct sigaction sa;
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	sigset_t only;
	pthread_t burner, sender;
	char buf[16];
	void *ctx, *in;
	int n;

	/* Every thread but this one blocks the signal (they inherit it). */
	sigemptyset(&only);
	sigaddset(&only, sig);
	pthread_sigmask(SIG_BLOCK, &only, NULL);
	ctx = zmq_ctx_new();
	in = zmq_socket(ctx, ZMQ_PAIR);
	if (zmq_bind(in, "inproc://late") != 0) {
		perror("zmq_bind");
		return 2;
	}
	pthread_create(&burner, NULL, burn, NULL);
	pthread_create(&sender, NULL, peer, ctx);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tick;
	sa.sa_flags = prof ? SA_RESTART : 0;
	sigaction(sig, &sa, NULL);
	pthread_sigmask(SIG_UNBLOCK, &only, NULL);
	setitimer(prof ? ITIMER_PROF : ITIMER_REAL, &it, NULL);
	n = zmq_recv(in, buf, sizeof buf, 0);
	if (n < 0) {
		fprintf(stderr, "zmq_recv: %s (%d signals)\n", zmq_strerror(errno), (int)ticks);
		return errno == EINTR ? 1 : 2;
	}
	memset(&it, 0, sizeof it);
	setitimer(prof ? ITIMER_PROF : ITIMER_REAL, &it, NULL);
	done = 1;
	pthread_join(burner, NULL);
	pthread_join(sender, NULL);
	printf("received %d bytes after %d signals\n", n, (int)ticks);
	zmq_close(in);
	zmq_ctx_term(ctx);
	return n == 4 && !memcmp(buf, "late", 4) && ticks > 10 ? 0 : 2;
}
