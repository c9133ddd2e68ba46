/* connect(2) with SO_SNDTIMEO 300 ms on an AF_UNIX stream socket to a
 * listener whose queue stays full, under a 1 ms SIGALRM storm. The kernel
 * ends such a connect with EAGAIN at 300 ms; prints connect_timeout_ms=.
 * Bare, it fails with EINTR; a plain retry would start the 300 ms again at
 * every signal. */
#include "net.h"

int main(void)
{
	struct sockaddr_un addr;
	socklen_t len;
	int listener = unix_listener(0, &addr, &len);
	int queued = socket(AF_UNIX, SOCK_STREAM, 0);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	double start, elapsed;

	if (queued < 0 || connect(queued, (struct sockaddr *)&addr, len) != 0)
		fail("connect (the queued client)");
	if (fd < 0)
		fail("socket");
	set_timeout(fd, SO_SNDTIMEO, 300);
	storm_start(1000);
	start = now_ms();
	CHECK(connect(fd, (struct sockaddr *)&addr, len) != 0);
	elapsed = now_ms() - start;
	if (errno != EAGAIN)
		fail("connect");
	storm_stop();
	report_ms("connect_timeout", elapsed);
	{
		/* The socket's own timeout is still what the program set. */
		struct timeval tv;
		socklen_t tvlen = sizeof tv;
		CHECK(getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tvlen) == 0);
		CHECK(tv.tv_sec == 0 && tv.tv_usec >= 296000 && tv.tv_usec <= 304000);
	}
	close(queued);
	close(listener);
	CHECK(legacy_signals > 10);
	return 0;
}
