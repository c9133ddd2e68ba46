/* An EINTR after which no handler ran: a read on a socket with a 5 s
 * SO_RCVTIMEO meets SIGSTOP then SIGCONT (sent by a child, which writes
 * the data at 400 ms). Linux fails such a read with EINTR; nothing ran,
 * so the shim retries it. */
#include "legacy.h"
#include <sys/socket.h>
#include <sys/wait.h>

int main(void)
{
	int sv[2];
	char buf[64];
	ssize_t n;
	pid_t child;
	struct timeval tv = { 5, 0 };

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail("socketpair");
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
		fail("setsockopt");
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(sv[0]);
		quiet_sleep_ms(100);
		kill(getppid(), SIGSTOP);
		quiet_sleep_ms(100);
		kill(getppid(), SIGCONT);
		quiet_sleep_ms(200);
		if (write(sv[1], "late data", 9) != 9)
			_exit(3);
		_exit(0);
	}
	close(sv[1]);
	n = read(sv[0], buf, sizeof buf);
	if (n < 0)
		fail("read");
	CHECK(n == 9 && memcmp(buf, "late data", 9) == 0);
	waitpid(child, NULL, 0);
	return 0;
}
