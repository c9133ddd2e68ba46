/* readv/writev/preadv2/pwritev2 (offset -1: the file position, so a pipe)
 * under a 1 ms SIGALRM storm, with the other end of the pipe 300 ms late.
 * Usage: io_vectors readv|writev|preadv2|pwritev2 */
#include "legacy.h"
#include <fcntl.h>
#include <sys/uio.h>
#include <sys/wait.h>

/* Fills the pipe's buffer so that the next write blocks. */
static void fill(int fd)
{
	static char junk[4096];
	int flags = fcntl(fd, F_GETFL);
	CHECK(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
	while (write(fd, junk, sizeof junk) > 0)
		;
	CHECK(errno == EAGAIN);
	CHECK(fcntl(fd, F_SETFL, flags) == 0);
}

int main(int argc, char **argv)
{
	const char *call = argc > 1 ? argv[1] : "readv";
	int reading = !strcmp(call, "readv") || !strcmp(call, "preadv2");
	int p[2];
	char a[5], b[4];
	struct iovec iov[2] = { { a, sizeof a }, { b, sizeof b } };
	ssize_t n;
	pid_t child;

	if (pipe(p) != 0)
		fail("pipe");
	if (!reading)
		fill(p[1]);
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		char buf[4096];
		quiet_sleep_ms(300);
		if (reading)
			_exit(write(p[1], "late data", 9) == 9 ? 0 : 3);
		close(p[1]);
		while (read(p[0], buf, sizeof buf) > 0)
			;
		_exit(0);
	}
	storm_start(1000);
	if (reading) {
		close(p[1]);
		if (!strcmp(call, "readv"))
			n = readv(p[0], iov, 2);
		else
			n = preadv2(p[0], iov, 2, -1, 0);
		if (n < 0)
			fail(call);
		CHECK(n == 9 && !memcmp(a, "late ", 5) && !memcmp(b, "data", 4));
	} else {
		memcpy(a, "hello", 5);
		memcpy(b, "pipe", 4);
		if (!strcmp(call, "writev"))
			n = writev(p[1], iov, 2);
		else
			n = pwritev2(p[1], iov, 2, -1, 0);
		if (n < 0)
			fail(call);
		CHECK(n == 9);
		close(p[1]);
	}
	storm_stop();
	CHECK(legacy_signals > 10);
	return 0;
}
