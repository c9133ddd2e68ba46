/* alias_calls NAME: one blocking call of NAME, an alias, large-file or
 * fortified entry point of a hooked function that a program or a library
 * may call by that name, found with dlsym(RTLD_DEFAULT) (the shim's export
 * when it is preloaded, libc's otherwise), under a 1 ms SIGALRM storm; a
 * child ends the wait after 300 ms. Exits 1 when the call failed with
 * EINTR, 0 when it completed with the right result, 2 otherwise.
 *   __read __write __send __connect __poll __select __nanosleep __wait
 *   __waitpid open64 openat openat64 __open_2 __open64_2 __openat_2
 *   __openat64_2 fcntl64
 * The positioned forms need a seekable descriptor, and none of those waits
 * interruptibly (tests/exports.rs lists what is not interrupted, and why). */
#include "net.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

typedef ssize_t (*io_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);
typedef int (*select_fn)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
typedef int (*nanosleep_fn)(const struct timespec *, struct timespec *);
typedef pid_t (*wait_fn)(int *);
typedef pid_t (*waitpid_fn)(pid_t, int *, int);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*fcntl_fn)(int, int, ...);

static const char *name;
static char path[64];
/* The listener `__connect` connects to, whose queue is full. */
static struct sockaddr_un listening;
static socklen_t listening_len;

/* NAME as the dynamic linker finds it for this program. */
static void *function(void)
{
	void *f = dlsym(RTLD_DEFAULT, name);

	if (f == NULL) {
		fprintf(stderr, "%s: not found\n", name);
		exit(2);
	}
	return f;
}

/* A child that sleeps 300 ms from the storm's start, runs `late_work`,
 * and exits (or dies with this program). */
static pid_t late(void (*late_work)(int), int fd)
{
	pid_t child = fork_helper();

	if (child == 0) {
		quiet_sleep_ms(300);
		late_work(fd);
		_exit(0);
	}
	return child;
}

static void nothing(int fd) { (void)fd; }

/* Accepts the queued client and the one waiting: lets its connect in. */
static void accept_two(int listener)
{
	if (accept(listener, NULL, NULL) < 0 || accept(listener, NULL, NULL) < 0)
		_exit(3);
}

/* The other end of what `drain` reads, which its child closes. */
static int drained_writer = -1;

/* Reads everything until end of file: drains a full pipe or socket. */
static void drain(int fd)
{
	char buf[65536];

	close(drained_writer);
	while (read(fd, buf, sizeof buf) > 0)
		;
}

/* Opens the FIFO for writing; quietly gone if the reader gave up (and
 * removed it). */
static void open_writer(int fd)
{
	(void)fd;
	if (open(path, O_WRONLY) < 0)
		_exit(3);
}

/* Fills fds[1] until a write would block, then makes it blocking again. */
static void fill(int fd)
{
	char buf[4096];
	int flags = fcntl(fd, F_GETFL);

	memset(buf, 'x', sizeof buf);
	CHECK(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
	while (write(fd, buf, sizeof buf) > 0)
		;
	CHECK(errno == EAGAIN);
	CHECK(fcntl(fd, F_SETFL, flags) == 0);
}

/* Locks the whole file at fd for writing, tells the parent through the
 * pipe whose write end is `ready`, and holds the lock 300 ms. */
static pid_t lock_holder(int fd)
{
	int ready[2];
	char byte = 'r';
	pid_t child;
	struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	CHECK(pipe(ready) == 0);
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		CHECK(fcntl(fd, F_SETLK, &lock) == 0);
		CHECK(write(ready[1], &byte, 1) == 1);
		quiet_sleep_ms(300);
		_exit(0);
	}
	CHECK(read(ready[0], &byte, 1) == 1);
	close(ready[0]);
	close(ready[1]);
	return child;
}

/* The call, made once the storm runs; returns what the caller checks. */
static long call(int fds[2], pid_t child)
{
	char buf[16];
	long result = -1;

	if (!strcmp(name, "__read")) {
		result = ((io_fn)function())(fds[0], buf, sizeof buf);
	} else if (!strcmp(name, "__write")) {
		result = ((write_fn)function())(fds[1], "x", 1);
	} else if (!strcmp(name, "__send")) {
		result = ((send_fn)function())(fds[1], "x", 1, 0);
	} else if (!strcmp(name, "__connect")) {
		result = ((connect_fn)function())(fds[1], (struct sockaddr *)&listening,
						  listening_len);
	} else if (!strcmp(name, "__poll")) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		result = ((poll_fn)function())(&p, 1, 5000);
	} else if (!strcmp(name, "__select")) {
		fd_set readable;
		struct timeval tv = { 5, 0 };
		FD_ZERO(&readable);
		FD_SET(fds[0], &readable);
		result = ((select_fn)function())(fds[0] + 1, &readable, NULL, NULL, &tv);
	} else if (!strcmp(name, "__nanosleep")) {
		struct timespec nap = { 0, 300 * 1000000L };
		result = ((nanosleep_fn)function())(&nap, NULL);
	} else if (!strcmp(name, "__wait")) {
		result = ((wait_fn)function())(NULL) == child ? 0 : -1;
	} else if (!strcmp(name, "__waitpid")) {
		result = ((waitpid_fn)function())(child, NULL, 0) == child ? 0 : -1;
	} else if (!strcmp(name, "open64") || !strcmp(name, "__open_2") ||
		   !strcmp(name, "__open64_2")) {
		result = ((open_fn)function())(path, O_RDONLY);
	} else if (!strncmp(name, "openat", 6) || !strncmp(name, "__openat", 8)) {
		result = ((openat_fn)function())(AT_FDCWD, path, O_RDONLY);
	} else if (!strcmp(name, "fcntl64")) {
		struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		result = ((fcntl_fn)function())(fds[0], F_SETLKW, &lock);
	}
	return result;
}

int main(int argc, char **argv)
{
	int fds[2] = { -1, -1 };
	pid_t child = -1;
	long result;
	int opens = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: alias_calls NAME\n");
		return 2;
	}
	name = argv[1];
	(void)function();
	snprintf(path, sizeof path, "/tmp/alias_calls.%d", (int)getpid());
	if (!strcmp(name, "__read") || !strcmp(name, "__poll") ||
	    !strcmp(name, "__select")) {
		child = late_pipe(fds, 300, "late data");
	} else if (!strcmp(name, "__write") || !strcmp(name, "__send")) {
		if (!strcmp(name, "__write"))
			CHECK(pipe(fds) == 0);
		else
			CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
		fill(fds[1]);
		drained_writer = fds[1];
		child = late(drain, fds[0]);
		close(fds[0]);
	} else if (!strcmp(name, "__connect")) {
		/* listen(fd, 0) and one connected, unaccepted client: full. */
		fds[0] = unix_listener(0, &listening, &listening_len);
		int queued = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(queued >= 0 && connect(queued, (struct sockaddr *)&listening,
					     listening_len) == 0);
		fds[1] = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(fds[1] >= 0);
		child = late(accept_two, fds[0]);
	} else if (!strcmp(name, "__wait") || !strcmp(name, "__waitpid")) {
		child = late(nothing, -1);
	} else if (!strcmp(name, "fcntl64")) {
		fds[0] = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		CHECK(fds[0] >= 0);
		child = lock_holder(fds[0]);
	} else if (strcmp(name, "__nanosleep") != 0) {
		opens = 1;
		CHECK(mkfifo(path, 0600) == 0);
		child = late(open_writer, -1);
	}
	helper_start_and_storm();
	result = call(fds, child);
	storm_stop();
	if (result < 0) {
		int error = errno;
		unlink(path);
		errno = error;
		fail(name);
	}
	unlink(path);
	if (!strcmp(name, "__read"))
		CHECK(result == 9);
	else if (!strcmp(name, "__poll") || !strcmp(name, "__select"))
		CHECK(result == 1);
	else if (!strcmp(name, "__write") || !strcmp(name, "__send"))
		CHECK(result == 1);
	else
		CHECK(result == 0 || opens);
	CHECK(legacy_signals > 10);
	return 0;
}
