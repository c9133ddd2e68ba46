/* net.h: helpers the socket and process tests share (on top of legacy.h).
 *
 * Helpers run before the storm starts or after it stops, or in helper
 * children (which inherit no timer), so none of them meets EINTR itself.
 */
#ifndef EINTRFIX_NET_H
#define EINTRFIX_NET_H

#include "legacy.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>

/* The write end of the pipe on which the last helper waits for its start. */
static int helper_start_fd = -1;

/* Forks a helper child. The helper waits until the program calls
 * helper_start_and_storm(), so that its delay counts from the storm's start
 * even when a loaded machine runs the program late; and it dies with the
 * program: when the blocking call fails bare, the program exits at once and
 * a helper still waiting (for a client that will never come) must not
 * outlive it. Returns as fork. */
static inline pid_t fork_helper(void)
{
	pid_t parent = getpid();
	pid_t child;
	int start[2];
	char go;
	if (pipe(start) != 0)
		fail("pipe");
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(start[1]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(3);
		while (read(start[0], &go, 1) < 0 && errno == EINTR)
			;
		close(start[0]);
		return 0;
	}
	close(start[0]);
	helper_start_fd = start[1];
	return child;
}

/* Starts the helper's clock, then the 1 ms SIGALRM storm. */
static inline void helper_start_and_storm(void)
{
	if (helper_start_fd >= 0) {
		if (write(helper_start_fd, "!", 1) != 1)
			fail("write (starting the helper)");
		close(helper_start_fd);
		helper_start_fd = -1;
	}
	storm_start(1000);
}

/* A TCP socket listening on 127.0.0.1 (a free port), its address in *addr. */
static inline int tcp_listener(int backlog, struct sockaddr_in *addr)
{
	socklen_t len = sizeof *addr;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	memset(addr, 0, sizeof *addr);
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0)
		fail("bind");
	if (listen(fd, backlog) != 0)
		fail("listen");
	if (getsockname(fd, (struct sockaddr *)addr, &len) != 0)
		fail("getsockname");
	return fd;
}

/* A new TCP socket connected to addr (before any storm). */
static inline int tcp_client(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0)
		fail("connect");
	return fd;
}

/* An AF_UNIX stream socket listening on an abstract address unique to
 * this process, its address in *addr and *len. */
static inline int unix_listener(int backlog, struct sockaddr_un *addr,
				socklen_t *len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	int n;
	if (fd < 0)
		fail("socket");
	memset(addr, 0, sizeof *addr);
	addr->sun_family = AF_UNIX;
	/* sun_path[0] stays NUL: an abstract name, no file to clean up. */
	n = snprintf(addr->sun_path + 1, sizeof addr->sun_path - 1,
		     "eintrfix-test-%ld", (long)getpid());
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (bind(fd, (struct sockaddr *)addr, *len) != 0)
		fail("bind");
	if (listen(fd, backlog) != 0)
		fail("listen");
	return fd;
}

/* Sets SO_RCVTIMEO or SO_SNDTIMEO to `ms` milliseconds. */
static inline void set_timeout(int fd, int option, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv) != 0)
		fail("setsockopt");
}

/* A byte of the bulk-transfer pattern at offset i. */
static inline unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 31 + (i >> 12));
}

/* Reads `fd` to end of file and checks it carried `total` pattern bytes:
 * the slow reader's side of the bulk-transfer tests (exit 0 if right). */
static inline int drain_and_check(int fd, size_t total)
{
	unsigned char buf[8192];
	size_t seen = 0;
	ssize_t n, i;
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 3;
		}
		for (i = 0; i < n; i++)
			if (buf[i] != pattern(seen + (size_t)i))
				return 4;
		seen += (size_t)n;
	}
	return seen == total ? 0 : 5;
}

/* Forks a helper child that, after `delay_ms`, connects to addr, sends
 * `message` and closes: the late client of the accept tests. */
static inline pid_t late_client(const struct sockaddr_in *addr, long delay_ms,
				const char *message)
{
	pid_t child = fork_helper();
	if (child == 0) {
		int fd;
		size_t len = strlen(message);
		quiet_sleep_ms(delay_ms);
		fd = tcp_client(addr);
		_exit(send(fd, message, len, 0) == (ssize_t)len ? 0 : 3);
	}
	return child;
}

/* Reads exactly `len` bytes (the storm has stopped) and checks them. */
static inline void expect(int fd, const char *message)
{
	char buf[256];
	size_t len = strlen(message), got = 0;
	ssize_t n;
	CHECK(len <= sizeof buf);
	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("read (checking the data)");
		got += (size_t)n;
	}
	CHECK(memcmp(buf, message, len) == 0);
}

/* Waits for a helper child (the storm has stopped) and checks it exited 0. */
static inline void reap(pid_t child)
{
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid (reaping the helper)");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#endif
