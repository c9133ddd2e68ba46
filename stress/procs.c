/* procs: fork, vfork, posix_spawn, fork+exec and system() from a threaded
 * process under a signal storm. Every child must run, talk through hooked
 * calls, and exit with the code it was given; no iteration may hang.
 *
 *   procs [-n ITERATIONS] [-t PUMP_PAIRS] [-p ALRM_PERIOD_US] [-u USR1_PERIOD_US]
 *
 * While the main thread makes children, PUMP_PAIRS thread pairs keep moving
 * checksummed data through pipes, so children are forked while other
 * threads are inside hooked calls and their slow paths. The watchdog ends
 * the run with exit 3 if one iteration makes no progress for 20 s.
 *
 * Run as `procs --child CODE` it is the exec'ed child: it moves data through
 * a pipe under its own storm, then exits CODE.
 */
#include "stress.h"
#include <spawn.h>

extern char **environ;

#define MAX_PAIRS 16

struct pump {
	int rfd, wfd;
	uint64_t seed, sent, received;
	pthread_t reader, writer;
};

static struct pump pumps[MAX_PAIRS];
static volatile int stopping;
static const char *self;

static void *pump_writer(void *arg)
{
	struct pump *p = arg;
	unsigned char buf[8192];
	uint64_t state = p->seed;
	while (!stopping) {
		size_t n = 1 + rnd(&state) % sizeof buf;
		stream_fill(p->seed, p->sent, buf, n);
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(p->wfd, buf + off, n - off);
			if (w <= 0)
				fail("pump write");
			off += (size_t)w;
		}
		p->sent += n;
	}
	close(p->wfd);
	return NULL;
}

static void *pump_reader(void *arg)
{
	struct pump *p = arg;
	unsigned char buf[8192];
	ssize_t n;
	while ((n = read(p->rfd, buf, sizeof buf)) != 0) {
		if (n < 0)
			fail("pump read");
		if (stream_check(p->seed, p->received, buf, (size_t)n) != (size_t)n) {
			fprintf(stderr, "pump: data lost or duplicated at %llu\n",
				(unsigned long long)p->received);
			exit(2);
		}
		p->received += (uint64_t)n;
	}
	close(p->rfd);
	return NULL;
}

/* The exec'ed child: a round trip through a pipe under its own storm. */
static int child_main(int code)
{
	int fds[2];
	unsigned char out[4096], in[4096];
	storm_start(100);
	if (pipe(fds) != 0)
		fail("child pipe");
	stream_fill(42, 0, out, sizeof out);
	if (write(fds[1], out, sizeof out) != (ssize_t)sizeof out)
		fail("child write");
	size_t got = 0;
	while (got < sizeof in) {
		ssize_t n = read(fds[0], in + got, sizeof in - got);
		if (n <= 0)
			fail("child read");
		got += (size_t)n;
	}
	CHECK(memcmp(in, out, sizeof in) == 0);
	struct timespec ts = { 0, 2000000 };
	if (nanosleep(&ts, NULL) != 0)
		fail("child nanosleep");
	storm_stop();
	return code;
}

static void expect_exit(pid_t pid, int code, const char *how)
{
	int status;
	pid_t r = waitpid(pid, &status, 0);
	if (r < 0)
		fail("waitpid");
	if (r != pid || !WIFEXITED(status) || WEXITSTATUS(status) != code) {
		fprintf(stderr, "%s: child %d: status 0x%x, wanted exit %d\n", how, (int)pid, status,
			code);
		exit(2);
	}
}

static void by_fork(int code)
{
	int to_child[2], to_parent[2];
	unsigned char c = (unsigned char)code, back;
	if (pipe(to_child) != 0 || pipe(to_parent) != 0)
		fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		/* hooked calls in the child of a threaded parent */
		unsigned char got;
		if (read(to_child[0], &got, 1) != 1)
			_exit(100);
		if (write(to_parent[1], &got, 1) != 1)
			_exit(101);
		_exit(got);
	}
	if (write(to_child[1], &c, 1) != 1)
		fail("write to child");
	if (read(to_parent[0], &back, 1) != 1)
		fail("read from child");
	CHECK(back == c);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
	expect_exit(pid, code, "fork");
}

static void by_vfork(int code, int exec_it)
{
	char arg[16];
	snprintf(arg, sizeof arg, "%d", code);
	pid_t pid = vfork();
	if (pid < 0)
		fail("vfork");
	if (pid == 0) {
		if (exec_it) {
			execl(self, self, "--child", arg, (char *)NULL);
			_exit(127);
		}
		_exit(code);
	}
	expect_exit(pid, code, exec_it ? "vfork+exec" : "vfork");
}

static void by_spawn(int code, int shell)
{
	char arg[32];
	pid_t pid;
	int err;
	if (shell) {
		snprintf(arg, sizeof arg, "exit %d", code);
		char *argv[] = { "sh", "-c", arg, NULL };
		err = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	} else {
		snprintf(arg, sizeof arg, "%d", code);
		char *argv[] = { (char *)self, "--child", arg, NULL };
		err = posix_spawn(&pid, self, NULL, NULL, argv, environ);
	}
	if (err != 0) {
		errno = err;
		fail("posix_spawn");
	}
	expect_exit(pid, code, shell ? "posix_spawn sh" : "posix_spawn");
}

static void by_fork_exec(int code)
{
	char arg[16];
	snprintf(arg, sizeof arg, "%d", code);
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		execl(self, self, "--child", arg, (char *)NULL);
		_exit(127);
	}
	expect_exit(pid, code, "fork+exec");
}

static void by_system(int code)
{
	char cmd[32];
	snprintf(cmd, sizeof cmd, "exit %d", code);
	int status = system(cmd);
	if (status == -1)
		fail("system");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != code) {
		fprintf(stderr, "system: status 0x%x, wanted exit %d\n", status, code);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	int iterations = 300, npumps = 2, opt;
	long alrm_us = 200, usr1_us = 2000;
	self = argv[0];
	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return child_main(atoi(argv[2]));
	while ((opt = getopt(argc, argv, "n:t:p:u:")) != -1) {
		switch (opt) {
		case 'n': iterations = atoi(optarg); break;
		case 't': npumps = atoi(optarg); break;
		case 'p': alrm_us = atol(optarg); break;
		case 'u': usr1_us = atol(optarg); break;
		default:
			fprintf(stderr, "usage: procs [-n N] [-t PAIRS] [-p US] [-u US]\n");
			return 2;
		}
	}
	CHECK(iterations > 0 && npumps >= 0 && npumps <= MAX_PAIRS && alrm_us > 0 && usr1_us > 0);
	legacy_handle(SIGUSR1, count_signal);
	legacy_handle(SIGCHLD, count_signal);
	watchdog_start(20);
	pid_t usr1 = signaller_start(SIGUSR1, usr1_us);
	storm_start(alrm_us);
	for (int i = 0; i < npumps; i++) {
		int fds[2];
		if (pipe(fds) != 0)
			fail("pipe");
		pumps[i].rfd = fds[0];
		pumps[i].wfd = fds[1];
		pumps[i].seed = 0xf0f0ULL + (uint64_t)i;
		if (pthread_create(&pumps[i].reader, NULL, pump_reader, &pumps[i]) != 0 ||
		    pthread_create(&pumps[i].writer, NULL, pump_writer, &pumps[i]) != 0)
			fail("pthread_create");
	}
	double start = now_ms(), slowest = 0;
	int counts[7] = { 0 };
	for (int i = 0; i < iterations; i++) {
		int code = i % 100;
		int kind = i % 7;
		double t0 = now_ms();
		progress("a child iteration");
		switch (kind) {
		case 0: by_fork(code); break;
		case 1: by_vfork(code, 0); break;
		case 2: by_vfork(code, 1); break;
		case 3: by_spawn(code, 0); break;
		case 4: by_spawn(code, 1); break;
		case 5: by_fork_exec(code); break;
		case 6: by_system(code); break;
		}
		counts[kind]++;
		double t = now_ms() - t0;
		if (t > slowest)
			slowest = t;
	}
	stopping = 1;
	progress("joining pumps");
	for (int i = 0; i < npumps; i++) {
		pthread_join(pumps[i].writer, NULL);
		pthread_join(pumps[i].reader, NULL);
		CHECK(pumps[i].received == pumps[i].sent);
	}
	storm_stop();
	signaller_stop(usr1);
	printf("iterations=%d fork=%d vfork=%d vfork_exec=%d spawn=%d spawn_sh=%d fork_exec=%d "
	       "system=%d signals=%lu\n",
	       iterations, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5],
	       counts[6], (unsigned long)(all_signals + legacy_signals));
	report_ms("slowest_iteration", slowest);
	report_ms("procs", now_ms() - start);
	return 0;
}
