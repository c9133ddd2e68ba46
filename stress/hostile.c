/* hostile: the shim in a hostile environment.
 *
 *   hostile stderr-closed     run with fd 2 closed and EINTRFIX_POLICY=log:
 *                             the program's own file gets fd 2, and the
 *                             shim's warnings must not land in it
 *   hostile fd-limit          every fd taken (EMFILE), then hooked calls
 *                             under a storm, a fork and a wait
 *   hostile dlopen LIBRARY    the library dlopen'ed late instead of
 *                             preloaded: its constructor runs, its own read
 *                             (found with dlsym) retries under a storm, and
 *                             the program's calls still work
 */
#include "stress.h"
#include <sys/resource.h>

/* A child writes `n` bytes of stream 3 into fd after `delay_ms`. */
static pid_t late_writer(int fd, size_t n, long delay_ms)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		unsigned char buf[4096];
		die_with_parent(parent);
		quiet_sleep_ms(delay_ms);
		for (size_t pos = 0; pos < n;) {
			size_t m = n - pos < sizeof buf ? n - pos : sizeof buf;
			stream_fill(3, pos, buf, m);
			ssize_t w = write(fd, buf, m);
			if (w <= 0)
				_exit(2);
			pos += (size_t)w;
		}
		_exit(0);
	}
	return pid;
}

static void expect_child(pid_t pid)
{
	int status;
	pid_t r;
	/* careful code: this program retries EINTR itself */
	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (r != pid)
		fail("waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Reads n bytes of stream 3 with `reader`, retrying EINTR itself. */
static void read_stream(ssize_t (*reader)(int, void *, size_t), int fd, size_t n)
{
	unsigned char buf[4096];
	size_t pos = 0;
	while (pos < n) {
		ssize_t r = reader(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("read");
		CHECK(stream_check(3, pos, buf, (size_t)r) == (size_t)r);
		pos += (size_t)r;
	}
}

static int stderr_closed(void)
{
	char path[] = "/tmp/eintrfix-hostile-XXXXXX";
	static const char mine[] = "the program's own data\n";
	int p[2];
	if (fcntl(2, F_GETFD) != -1) {
		fprintf(stderr, "run me with fd 2 closed (2>&-)\n");
		return 2;
	}
	int fd = mkstemp(path);
	if (fd != 2)
		return 2;
	unlink(path);
	if (write(fd, mine, sizeof mine - 1) != (ssize_t)(sizeof mine - 1))
		return 2;
	if (pipe(p) != 0)
		return 2;
	pid_t child = late_writer(p[1], 100000, 50);
	storm_start(200);
	read_stream(read, p[0], 100000);
	storm_stop();
	expect_child(child);
	CHECK(legacy_signals > 10);
	char back[4096];
	ssize_t n = pread(fd, back, sizeof back - 1, 0);
	CHECK(n >= 0);
	back[n] = 0;
	if ((size_t)n != sizeof mine - 1 || memcmp(back, mine, sizeof mine - 1) != 0) {
		/* fd 2 is our file: say it on stdout */
		printf("the program's file on fd 2 holds more than it wrote:\n%s", back);
		return 2;
	}
	printf("fd 2 kept clean through %ld signals\n", (long)legacy_signals);
	return 0;
}

static void *fd_limit_reader(void *arg)
{
	int *fds = arg;
	read_stream(read, fds[0], 1 << 20);
	return NULL;
}

static int fd_limit(void)
{
	int p[2], q[2], taken = 0;
	if (pipe(p) != 0 || pipe(q) != 0)
		fail("pipe");
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 256;
	setrlimit(RLIMIT_NOFILE, &rl);
	int first = -1, last = -1, fd;
	while ((fd = open("/dev/null", O_RDONLY)) >= 0) {
		if (first < 0)
			first = fd;
		last = fd;
		taken++;
	}
	CHECK(errno == EMFILE);
	pid_t c1 = late_writer(p[1], 1 << 20, 20);
	pid_t c2 = late_writer(q[1], 1 << 20, 20);
	storm_start(100);
	pthread_t t;
	if (pthread_create(&t, NULL, fd_limit_reader, q) != 0)
		fail("pthread_create");
	/* hooked calls that the shim retries, with no fd to spare */
	unsigned char buf[4096];
	size_t pos = 0;
	while (pos < 1 << 20) {
		ssize_t r = read(p[0], buf, sizeof buf);
		if (r <= 0)
			fail("read at the fd limit");
		CHECK(stream_check(3, pos, buf, (size_t)r) == (size_t)r);
		pos += (size_t)r;
	}
	pthread_join(t, NULL);
	int status;
	if (waitpid(c1, &status, 0) != c1 || waitpid(c2, &status, 0) != c2)
		fail("waitpid at the fd limit");
	struct timespec ts = { 0, 20000000 };
	if (nanosleep(&ts, NULL) != 0)
		fail("nanosleep at the fd limit");
	storm_stop();
	/* give them back: LeakSanitizer needs an fd at exit */
	for (fd = first; fd >= 0 && fd <= last; fd++)
		if (fd != p[0] && fd != p[1] && fd != q[0] && fd != q[1])
			close(fd);
	printf("fds taken up to the limit: %d; signals: %ld\n", taken, (long)legacy_signals);
	CHECK(legacy_signals > 10);
	return 0;
}

static int late_dlopen(const char *library)
{
	int p[2];
	CHECK(!shim_loaded());
	void *h = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	ssize_t (*shim_read)(int, void *, size_t) = (ssize_t(*)(int, void *, size_t))dlsym(h, "read");
	CHECK(shim_read != NULL && shim_read != read);
	if (pipe(p) != 0)
		fail("pipe");
	pid_t child = late_writer(p[1], 1 << 20, 50);
	storm_start(100);
	/* the shim's read, called directly: it must retry on its own */
	unsigned char buf[4096];
	size_t pos = 0;
	while (pos < 1 << 20) {
		ssize_t r = shim_read(p[0], buf, sizeof buf);
		if (r <= 0)
			fail("the dlopen'ed shim's read");
		CHECK(stream_check(3, pos, buf, (size_t)r) == (size_t)r);
		pos += (size_t)r;
	}
	expect_child(child);
	/* the program's own calls are bound to libc: they still work (and may
	 * see EINTR, which this careful code retries) */
	child = late_writer(p[1], 1 << 16, 10);
	read_stream(read, p[0], 1 << 16);
	expect_child(child);
	storm_stop();
	void *h2 = dlopen(library, RTLD_NOW | RTLD_GLOBAL);
	CHECK(h2 == h);
	dlclose(h2);
	dlclose(h);
	printf("dlopen'ed late: the shim's read retried through %ld signals\n",
	       (long)legacy_signals);
	return 0;
}

int main(int argc, char **argv)
{
	watchdog_start(20);
	if (argc == 2 && strcmp(argv[1], "stderr-closed") == 0)
		return stderr_closed();
	if (argc == 2 && strcmp(argv[1], "fd-limit") == 0)
		return fd_limit();
	if (argc == 3 && strcmp(argv[1], "dlopen") == 0)
		return late_dlopen(argv[2]);
	fprintf(stdout, "usage: hostile stderr-closed|fd-limit|dlopen LIBRARY\n");
	return 2;
}
