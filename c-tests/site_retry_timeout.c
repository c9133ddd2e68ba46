/* Code that handles EINTR (it looks at a flag its SIGTERM handler sets)
 * by making the call again with its whole timeout, as poll loops that
 * restart their timeout and reads on a socket with SO_RCVTIMEO do, under
 * a 1 ms SIGALRM storm that lasts 3 s; the peer never sends. Bare, the call never times out while the
 * storm lasts; under the shim the first 1 s timeout must hold. Argument:
 * "recv" or "poll". Prints timeout_ms; exits 0 when the call ended as a
 * timeout (EAGAIN, or poll's 0). */
#include "net.h"
#include <poll.h>

static volatile sig_atomic_t stop;

int main(int argc, char **argv)
{
	struct sockaddr_in addr;
	int listener = tcp_listener(1, &addr);
	int fd = tcp_client(&addr);
	int use_poll = argc > 1 && !strcmp(argv[1], "poll");
	char buf[16];
	ssize_t n;
	int r;
	double start;

	set_timeout(fd, SO_RCVTIMEO, 1000);
	start = now_ms();
	storm_start_for(1000, 3000);
	if (use_poll) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		while ((r = poll(&pfd, 1, 1000)) < 0 && errno == EINTR)
			if (stop)
				return 3;
		report_ms("timeout", now_ms() - start);
		CHECK(r == 0);
	} else {
		while ((n = recv(fd, buf, sizeof buf, 0)) < 0 && errno == EINTR)
			if (stop)
				return 3;
		report_ms("timeout", now_ms() - start);
		if (n < 0 && errno != EAGAIN)
			fail("recv");
		CHECK(n < 0);
	}
	close(fd);
	close(listener);
	return 0;
}
