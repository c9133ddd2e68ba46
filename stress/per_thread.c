/* per_thread: a signal on one thread never makes another thread's call pass
 * or retry wrongly.
 *
 *   per_thread [-n ITERATIONS] [-p USR1_PERIOD_US]
 *
 * Each iteration: thread B blocks in read(B) under a SIGUSR1 storm aimed
 * at B alone (tgkill); thread A blocks in read(A). SIGTERM (passed through
 * by default: EINTRFIX_PASS_SIGNALS) is sent to A alone. Then B's data
 * arrive, then A's.
 *
 * B must never see EINTR: a SIGTERM on A must not make B's interruptions
 * pass. When the shim tracks which signal interrupted a call (its
 * `sigaction` is the one the program calls), A's read must fail
 * with EINTR (SIGTERM passes) and B's SIGUSR1 interruptions must not make
 * A's call be retried; without tracking, every interruption is of an
 * unknown signal and is retried, so A's read returns A's data.
 */
#include "stress.h"

static volatile pid_t tid_a, tid_b;
static int pipe_a[2], pipe_b[2];
static volatile int stop_storm;
static volatile unsigned long term_on_a, usr1_on_b, wrong_thread;

struct outcome {
	ssize_t n;
	int error;
	char data[8];
};

static void on_term(int sig)
{
	(void)sig;
	if (syscall(SYS_gettid) == tid_a)
		term_on_a++;
	else
		wrong_thread++;
}

static void on_usr1(int sig)
{
	(void)sig;
	if (syscall(SYS_gettid) == tid_b)
		usr1_on_b++;
	else
		wrong_thread++;
}

static void *reader_a(void *arg)
{
	struct outcome *o = arg;
	tid_a = (pid_t)syscall(SYS_gettid);
	o->n = read(pipe_a[0], o->data, sizeof o->data);
	o->error = o->n < 0 ? errno : 0;
	return NULL;
}

static void *reader_b(void *arg)
{
	struct outcome *o = arg;
	tid_b = (pid_t)syscall(SYS_gettid);
	o->n = read(pipe_b[0], o->data, sizeof o->data);
	o->error = o->n < 0 ? errno : 0;
	return NULL;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
}

int main(int argc, char **argv)
{
	int iterations = 50, opt;
	long usr1_us = 50;
	while ((opt = getopt(argc, argv, "n:p:")) != -1) {
		switch (opt) {
		case 'n': iterations = atoi(optarg); break;
		case 'p': usr1_us = atol(optarg); break;
		default:
			fprintf(stderr, "usage: per_thread [-n N] [-p US]\n");
			return 2;
		}
	}
	int tracking = shim_tracks_signals();
	int a_passed = 0, a_retried = 0;
	watchdog_start(20);
	legacy_handle(SIGTERM, on_term);
	legacy_handle(SIGUSR1, on_usr1);
	/* only the two readers take signals */
	sigset_t both;
	sigemptyset(&both);
	sigaddset(&both, SIGTERM);
	sigaddset(&both, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &both, NULL);
	for (int i = 0; i < iterations; i++) {
		struct outcome a = { 0 }, b = { 0 };
		pthread_t ta, tb;
		progress("an iteration");
		if (pipe(pipe_a) != 0 || pipe(pipe_b) != 0)
			fail("pipe");
		tid_a = tid_b = 0;
		pthread_sigmask(SIG_UNBLOCK, &both, NULL);
		if (pthread_create(&ta, NULL, reader_a, &a) != 0 ||
		    pthread_create(&tb, NULL, reader_b, &b) != 0)
			fail("pthread_create");
		pthread_sigmask(SIG_BLOCK, &both, NULL);
		while (!tid_a || !tid_b)
			sched_yield();
		pid_t pid = getpid();
		/* 20 ms of SIGUSR1 at B, with one SIGTERM at A in the middle */
		for (long t = 0; t < 20000; t += usr1_us) {
			syscall(SYS_tgkill, pid, tid_b, SIGUSR1);
			if (t >= 10000 && t < 10000 + usr1_us)
				syscall(SYS_tgkill, pid, tid_a, SIGTERM);
			sleep_us(usr1_us);
		}
		if (write(pipe_b[1], "for B", 5) != 5)
			fail("write B");
		pthread_join(tb, NULL);
		if (b.n < 0) {
			fprintf(stderr, "B's read failed while only A had SIGTERM: %s\n",
				strerror(b.error));
			return b.error == EINTR ? 1 : 2;
		}
		CHECK(b.n == 5 && memcmp(b.data, "for B", 5) == 0);
		if (write(pipe_a[1], "for A", 5) != 5)
			fail("write A");
		pthread_join(ta, NULL);
		if (a.n < 0) {
			CHECK(a.error == EINTR);
			a_passed++;
		} else {
			CHECK(a.n == 5 && memcmp(a.data, "for A", 5) == 0);
			a_retried++;
		}
		close(pipe_a[0]);
		close(pipe_a[1]);
		close(pipe_b[0]);
		close(pipe_b[1]);
	}
	printf("tracking=%d a_passed=%d a_retried=%d term_on_a=%lu usr1_on_b=%lu\n", tracking,
	       a_passed, a_retried, (unsigned long)term_on_a, (unsigned long)usr1_on_b);
	CHECK(wrong_thread == 0);
	CHECK(term_on_a == (unsigned long)iterations && usr1_on_b > (unsigned long)iterations);
	if (tracking && a_retried) {
		fprintf(stderr, "A's read was retried %d times although SIGTERM, a pass signal, "
				"interrupted it\n", a_retried);
		return 2;
	}
	if (!shim_loaded() && a_passed == 0) {
		fprintf(stderr, "bare, A's read should have failed with EINTR\n");
		return 2;
	}
	return 0;
}
