/* handlers: signal handlers that make hooked calls themselves, and handlers
 * that siglongjmp out of a call the shim is retrying.
 *
 *   handlers [-n ITERATIONS] [-p ALRM_PERIOD_US] write|nested|longjmp
 *
 * write    Every SIGALRM and SIGUSR1 handler writes one byte into a pipe with
 *          write(2) (a hooked call inside a handler; SIGUSR1 can interrupt the
 *          SIGALRM handler's write: an EINTR nested in a handler). A drainer
 *          thread counts the bytes; meanwhile two threads pump a checksummed
 *          stream. Bytes counted must equal handler runs, exactly.
 * nested   The main thread blocks in read(A). A helper process sends SIGUSR1;
 *          its handler blocks in read(B), which the SIGALRM storm interrupts
 *          (an EINTR nested in a handler during an interrupted call). Then B
 *          gets data, the handler returns, A gets data. Both must be right.
 * longjmp  A SIGALRM handler siglongjmps out of read, recv with SO_RCVTIMEO
 *          (the shim's poll path) and nanosleep while the shim retries them.
 *          Afterwards hooked calls must still work, in this process and in a
 *          forked child, and no fd may have leaked.
 */
#include "stress.h"
#include <setjmp.h>
#include <sys/socket.h>

static int iterations = 200;
static long alrm_us = 100;

/* A call in a handler failed: says so as fail() would (async-signal-safe:
 * no stdio, no strerror) and exits 1 for EINTR, 2 for anything else. */
static void handler_failed(const char *what)
{
	int eintr = errno == EINTR;
	const char *why = eintr ? ": Interrupted system call\n" : ": failed\n";
	syscall(SYS_write, 2, what, strlen(what));
	syscall(SYS_write, 2, why, strlen(why));
	_exit(eintr ? 1 : 2);
}

/* ---- write ---- */

static int handler_pipe[2];
static volatile unsigned long handler_writes;

static void write_a_byte(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	if (write(handler_pipe[1], &b, 1) != 1)
		handler_failed("write in a handler");
	__atomic_fetch_add(&handler_writes, 1, __ATOMIC_RELAXED);
	errno = saved;
}

static void *drainer(void *arg)
{
	unsigned long *count = arg;
	unsigned char buf[4096];
	ssize_t n;
	sigset_t all;
	sigfillset(&all);
	/* a handler on this thread could block on the full pipe it drains */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while ((n = read(handler_pipe[0], buf, sizeof buf)) != 0) {
		if (n < 0)
			fail("drainer read");
		*count += (unsigned long)n;
	}
	return NULL;
}

struct stream {
	int fds[2];
	uint64_t total, received;
};

static void *stream_writer(void *arg)
{
	struct stream *s = arg;
	unsigned char buf[16384];
	uint64_t pos = 0, state = 9;
	while (pos < s->total) {
		size_t n = 1 + rnd(&state) % sizeof buf;
		if (n > s->total - pos)
			n = (size_t)(s->total - pos);
		stream_fill(77, pos, buf, n);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(s->fds[1], buf + off, n - off);
			if (w <= 0)
				fail("stream write");
			off += (size_t)w;
		}
		pos += n;
		progress("pumping beside handlers");
	}
	close(s->fds[1]);
	return NULL;
}

static void *stream_reader(void *arg)
{
	struct stream *s = arg;
	unsigned char buf[16384];
	ssize_t n;
	while ((n = read(s->fds[0], buf, sizeof buf)) != 0) {
		if (n < 0)
			fail("stream read");
		CHECK(stream_check(77, s->received, buf, (size_t)n) == (size_t)n);
		s->received += (uint64_t)n;
	}
	return NULL;
}

static int run_write(void)
{
	unsigned long drained = 0;
	pthread_t d, w, r;
	struct stream s = { .total = (uint64_t)iterations << 16 };
	/* SIGUSR1 stays blocked until the pipe its handler writes to exists:
	 * the signaller starts before the pipes so that it holds no pipe end */
	sigset_t usr1_set;
	sigemptyset(&usr1_set);
	sigaddset(&usr1_set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1_set, NULL);
	pid_t usr1 = signaller_start(SIGUSR1, 700);
	if (pipe(handler_pipe) != 0 || pipe(s.fds) != 0)
		fail("pipe");
	legacy_handle(SIGUSR1, write_a_byte);
	if (pthread_create(&d, NULL, drainer, &drained) != 0)
		fail("pthread_create");
	storm_start(alrm_us);
	legacy_handle(SIGALRM, write_a_byte);
	pthread_sigmask(SIG_UNBLOCK, &usr1_set, NULL);
	if (pthread_create(&w, NULL, stream_writer, &s) != 0 ||
	    pthread_create(&r, NULL, stream_reader, &s) != 0)
		fail("pthread_create");
	/* the storm lands on the pumping threads */
	sigset_t storm;
	sigemptyset(&storm);
	sigaddset(&storm, SIGALRM);
	sigaddset(&storm, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &storm, NULL);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	storm_stop();
	signaller_stop(usr1);
	close(handler_pipe[1]);
	pthread_join(d, NULL);
	printf("handler_writes=%lu drained=%lu stream=%llu\n", (unsigned long)handler_writes,
	       drained, (unsigned long long)s.received);
	CHECK(s.received == s.total);
	CHECK(drained == handler_writes);
	CHECK(handler_writes > 10);
	return 0;
}

/* ---- nested ---- */

static int pipe_b[2];
static volatile sig_atomic_t in_usr1, alarms_in_usr1, usr1_done;
static char nested_got[16];

static void nested_alarm(int sig)
{
	(void)sig;
	if (in_usr1)
		alarms_in_usr1++;
}

static void nested_usr1(int sig)
{
	int saved = errno;
	(void)sig;
	in_usr1 = 1;
	ssize_t n = read(pipe_b[0], nested_got, sizeof nested_got);
	in_usr1 = 0;
	if (n != 6) {
		if (n >= 0)
			errno = 0;
		handler_failed("read in the SIGUSR1 handler");
	}
	usr1_done = 1;
	errno = saved;
}

static int run_nested(void)
{
	int total_alarms = 0;
	legacy_handle(SIGUSR1, nested_usr1);
	for (int i = 0; i < iterations; i++) {
		int pipe_a[2];
		char got[16];
		progress("a nested iteration");
		if (pipe(pipe_a) != 0 || pipe(pipe_b) != 0)
			fail("pipe");
		usr1_done = 0;
		alarms_in_usr1 = 0;
		pid_t parent = getpid();
		pid_t helper = fork();
		if (helper < 0)
			fail("fork");
		if (helper == 0) {
			die_with_parent(parent);
			quiet_sleep_ms(3);
			kill(parent, SIGUSR1);
			quiet_sleep_ms(10);
			if (write(pipe_b[1], "inside", 6) != 6)
				_exit(2);
			quiet_sleep_ms(5);
			if (write(pipe_a[1], "outside", 7) != 7)
				_exit(2);
			_exit(0);
		}
		storm_start(alrm_us);
		legacy_handle(SIGALRM, nested_alarm);
		ssize_t n = read(pipe_a[0], got, sizeof got);
		if (n < 0)
			fail("outer read");
		storm_stop();
		CHECK(n == 7 && memcmp(got, "outside", 7) == 0);
		CHECK(usr1_done && memcmp(nested_got, "inside", 6) == 0);
		total_alarms += alarms_in_usr1;
		int status;
		if (waitpid(helper, &status, 0) != helper)
			fail("waitpid");
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(pipe_a[0]);
		close(pipe_a[1]);
		close(pipe_b[0]);
		close(pipe_b[1]);
	}
	printf("nested_iterations=%d alarms_inside_handlers=%d\n", iterations, total_alarms);
	CHECK(total_alarms > iterations);
	return 0;
}

/* ---- longjmp ---- */

static sigjmp_buf jump_back;
static volatile sig_atomic_t armed, hits;

static void jumping_alarm(int sig)
{
	(void)sig;
	if (armed && ++hits >= 5) {
		armed = 0;
		siglongjmp(jump_back, 1);
	}
}

static void round_trip(const char *where)
{
	int fds[2];
	unsigned char out[100000], in[100000];
	if (pipe(fds) != 0)
		fail("pipe");
	stream_fill(5, 0, out, sizeof out);
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		for (size_t off = 0; off < sizeof out;) {
			ssize_t w = write(fds[1], out + off, sizeof out - off);
			if (w <= 0)
				_exit(2);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	size_t got = 0;
	while (got < sizeof in) {
		ssize_t n = read(fds[0], in + got, sizeof in - got);
		if (n <= 0) {
			fprintf(stderr, "after jumps, %s: ", where);
			fail("read");
		}
		got += (size_t)n;
	}
	close(fds[0]);
	CHECK(memcmp(in, out, sizeof in) == 0);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int run_longjmp(void)
{
	int idle[2], sv[2];
	volatile int jumps = 0;
	if (pipe(idle) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail("pipe");
	struct timeval tv = { 30, 0 };
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
		fail("setsockopt");
	int fds_before = open_fds();
	storm_start(alrm_us);
	legacy_handle(SIGALRM, jumping_alarm);
	for (int i = 0; i < iterations; i++) {
		char buf[16];
		struct timespec ts = { 30, 0 };
		progress("a jump iteration");
		if (sigsetjmp(jump_back, 1) == 0) {
			hits = 0;
			armed = 1;
			switch (i % 3) {
			case 0: (void)!read(idle[0], buf, sizeof buf); break;
			case 1: (void)!recv(sv[0], buf, sizeof buf, 0); break;
			case 2: (void)!nanosleep(&ts, NULL); break;
			}
			fprintf(stderr, "iteration %d: the call returned instead of being jumped out of\n", i);
			return 2;
		}
		jumps++;
	}
	round_trip("under the storm");
	storm_stop();
	round_trip("after the storm");
	CHECK(open_fds() == fds_before);
	printf("jumps=%d\n", jumps);
	return 0;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "n:p:")) != -1) {
		switch (opt) {
		case 'n': iterations = atoi(optarg); break;
		case 'p': alrm_us = atol(optarg); break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || iterations <= 0 || alrm_us <= 0)
		goto usage;
	watchdog_start(20);
	if (strcmp(argv[optind], "write") == 0)
		return run_write();
	if (strcmp(argv[optind], "nested") == 0)
		return run_nested();
	if (strcmp(argv[optind], "longjmp") == 0)
		return run_longjmp();
usage:
	fprintf(stderr, "usage: handlers [-n N] [-p US] write|nested|longjmp\n");
	return 2;
}
