/* cancel: pthread_cancel of threads blocked in hooked calls, under a storm.
 *
 *   cancel [-n ITERATIONS] [-p ALRM_PERIOD_US]
 *
 * Each iteration starts a thread that blocks in one hooked call (read,
 * write to a full pipe, recv, recv on a socket with SO_RCVTIMEO (the shim
 * then waits in poll), accept, accept4 with SO_RCVTIMEO, AF_UNIX and TCP
 * connect to a full backlog, waitpid, nanosleep), lets the SIGALRM storm
 * interrupt it for a random while (so it is cancelled in the real call or
 * in the shim's slow path), and cancels it. The thread must end cancelled
 * within 5 s with its cleanup handler run; the whole process must not
 * abort (a forced unwind through the library's frames), leak an fd, or
 * leave anything held: afterwards hooked calls work in this process and in
 * a forked child. Built as cancel_fortified, read and recv are __read_chk
 * and __recv_chk.
 */
#include "stress.h"
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

enum { READ, WRITE_FULL, RECV, RECV_TIMEOUT, ACCEPT, ACCEPT4_TIMEOUT, CONNECT_UNIX,
       CONNECT_TCP, WAITPID, NANOSLEEP, KINDS };

static const char *kind_name[KINDS] = { "read", "write to a full pipe", "recv",
					"recv with SO_RCVTIMEO", "accept",
					"accept4 with SO_RCVTIMEO", "AF_UNIX connect",
					"TCP connect", "waitpid", "nanosleep" };

static int idle_pipe[2], full_pipe[2], sock_pair[2], timeout_pair[2];
static int unix_listener, tcp_listener, timeout_listener, idle_listener;
static struct sockaddr_un unix_addr;
static struct sockaddr_in tcp_addr;
static pid_t sleeper;
static volatile size_t read_len = 64; /* not provably within buf: fortified checks */

struct victim {
	int kind;
	volatile int entered;
	volatile int cleaned;
	int own_fd;
	int error;
	long result;
};

static void cleanup(void *arg)
{
	struct victim *v = arg;
	if (v->own_fd >= 0)
		close(v->own_fd);
	v->cleaned = 1;
}

static void *victim(void *arg)
{
	struct victim *v = arg;
	char buf[64] = { 0 };
	struct timespec ts = { 60, 0 };
	int status;
	volatile long r = 0;
	v->own_fd = -1;
	if (v->kind == CONNECT_UNIX)
		v->own_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (v->kind == CONNECT_TCP)
		v->own_fd = socket(AF_INET, SOCK_STREAM, 0);
	pthread_cleanup_push(cleanup, v);
	v->entered = 1;
	switch (v->kind) {
	case READ: r = read(idle_pipe[0], buf, read_len); break;
	case WRITE_FULL: r = write(full_pipe[1], buf, sizeof buf); break;
	case RECV: r = recv(sock_pair[0], buf, read_len, 0); break;
	case RECV_TIMEOUT: r = recv(timeout_pair[0], buf, read_len, 0); break;
	case ACCEPT: r = accept(idle_listener, NULL, NULL); break;
	case ACCEPT4_TIMEOUT: r = accept4(timeout_listener, NULL, NULL, SOCK_CLOEXEC); break;
	case CONNECT_UNIX:
		r = connect(v->own_fd, (struct sockaddr *)&unix_addr, sizeof unix_addr);
		break;
	case CONNECT_TCP:
		r = connect(v->own_fd, (struct sockaddr *)&tcp_addr, sizeof tcp_addr);
		break;
	case WAITPID: r = waitpid(sleeper, &status, 0); break;
	case NANOSLEEP: r = nanosleep(&ts, NULL); break;
	}
	v->error = r < 0 ? errno : 0;
	v->result = r;
	pthread_cleanup_pop(1);
	return NULL; /* not PTHREAD_CANCELED, which is (void *)-1 */
}

static int listener(int domain, const struct sockaddr *addr, socklen_t len)
{
	int fd = socket(domain, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, addr, len) != 0 || listen(fd, 0) != 0)
		fail("listener");
	return fd;
}

/* Makes connects to `fd` block: fills its backlog of 0 with one client. */
static void fill_backlog(int domain, const struct sockaddr *addr, socklen_t len)
{
	for (int i = 0; i < 2; i++) {
		int c = socket(domain, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c < 0)
			fail("socket");
		(void)!connect(c, addr, len); /* kept open on purpose */
	}
}

static void setup(void)
{
	if (pipe(idle_pipe) != 0 || pipe(full_pipe) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sock_pair) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, timeout_pair) != 0)
		fail("pipe");
	int fl = fcntl(full_pipe[1], F_GETFL);
	fcntl(full_pipe[1], F_SETFL, fl | O_NONBLOCK);
	char junk[4096] = { 0 };
	while (write(full_pipe[1], junk, sizeof junk) > 0)
		;
	fcntl(full_pipe[1], F_SETFL, fl);
	struct timeval tv = { 60, 0 };
	if (setsockopt(timeout_pair[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
		fail("setsockopt");

	unix_addr.sun_family = AF_UNIX;
	snprintf(unix_addr.sun_path + 1, sizeof unix_addr.sun_path - 1, "eintrfix-cancel-%d",
		 (int)getpid()); /* abstract: nothing to clean up */
	unix_listener = listener(AF_UNIX, (struct sockaddr *)&unix_addr, sizeof unix_addr);
	fill_backlog(AF_UNIX, (struct sockaddr *)&unix_addr, sizeof unix_addr);

	struct sockaddr_un idle_addr = { .sun_family = AF_UNIX };
	snprintf(idle_addr.sun_path + 1, sizeof idle_addr.sun_path - 1, "eintrfix-idle-%d",
		 (int)getpid());
	idle_listener = listener(AF_UNIX, (struct sockaddr *)&idle_addr, sizeof idle_addr);

	struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	tcp_listener = listener(AF_INET, (struct sockaddr *)&any, sizeof any);
	socklen_t len = sizeof tcp_addr;
	getsockname(tcp_listener, (struct sockaddr *)&tcp_addr, &len);
	fill_backlog(AF_INET, (struct sockaddr *)&tcp_addr, sizeof tcp_addr);

	timeout_listener = listener(AF_INET, (struct sockaddr *)&any, sizeof any);
	if (setsockopt(timeout_listener, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
		fail("setsockopt");

	pid_t parent = getpid();
	sleeper = fork();
	if (sleeper < 0)
		fail("fork");
	if (sleeper == 0) {
		die_with_parent(parent);
		for (;;)
			pause();
	}
}

static void round_trip(void)
{
	int fds[2];
	char buf[5];
	if (pipe(fds) != 0)
		fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		/* a child forked right after the cancels: the shim must hold nothing */
		if (write(fds[1], "hello", 5) != 5)
			_exit(2);
		_exit(0);
	}
	if (read(fds[0], buf, 5) != 5)
		fail("read after cancels");
	CHECK(memcmp(buf, "hello", 5) == 0);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[0]);
	close(fds[1]);
}

int main(int argc, char **argv)
{
	int iterations = 200, opt;
	long alrm_us = 50;
	uint64_t state = 12345;
	int cancelled[KINDS] = { 0 };
	while ((opt = getopt(argc, argv, "n:p:")) != -1) {
		switch (opt) {
		case 'n': iterations = atoi(optarg); break;
		case 'p': alrm_us = atol(optarg); break;
		default:
			fprintf(stderr, "usage: cancel [-n N] [-p US]\n");
			return 2;
		}
	}
	watchdog_start(20);
	setup();
	int fds_before = open_fds();
	storm_start(alrm_us);
	for (int i = 0; i < iterations; i++) {
		struct victim v = { .kind = i % KINDS };
		pthread_t t;
		void *ret;
		progress(kind_name[v.kind]);
		if (pthread_create(&t, NULL, victim, &v) != 0)
			fail("pthread_create");
		/* the storm goes to the victim: block it here while it runs */
		sigset_t alrm;
		sigemptyset(&alrm);
		sigaddset(&alrm, SIGALRM);
		pthread_sigmask(SIG_BLOCK, &alrm, NULL);
		while (!v.entered)
			sched_yield();
		struct timespec pause_for = { 0, (long)(rnd(&state) % 3000) * 1000 };
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &pause_for, NULL);
		if (pthread_cancel(t) != 0)
			fail("pthread_cancel");
		struct timespec limit;
		clock_gettime(CLOCK_REALTIME, &limit);
		limit.tv_sec += 5;
		int e = pthread_timedjoin_np(t, &ret, &limit);
		if (e != 0) {
			fprintf(stderr, "%s: not cancelled within 5 s (%s)\n", kind_name[v.kind],
				strerror(e));
			return 3;
		}
		pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
		if (ret != PTHREAD_CANCELED) {
			fprintf(stderr, "%s: returned %ld (%s) instead of being cancelled\n",
				kind_name[v.kind], v.result, strerror(v.error));
			return v.error == EINTR ? 1 : 2;
		}
		CHECK(v.cleaned);
		cancelled[v.kind]++;
	}
	round_trip();
	storm_stop();
	round_trip();
	kill(sleeper, SIGKILL);
	int status;
	if (waitpid(sleeper, &status, 0) != sleeper)
		fail("waitpid sleeper");
	CHECK(open_fds() == fds_before);
	printf("cancelled=%d", iterations);
	for (int k = 0; k < KINDS; k++)
		printf(" %d", cancelled[k]);
	printf("\n");
	return 0;
}
