/* connect(2) with SO_SNDTIMEO 300 ms to a TCP listener whose queue stays
 * full, under a 1 ms SIGALRM storm. The kernel ends such a connect with
 * EINPROGRESS at 300 ms; prints connect_timeout_ms=. Bare, it fails with
 * EINTR; a plain retry would start the 300 ms again at every signal. */
#include "net.h"

int main(void)
{
	struct sockaddr_in addr;
	int listener = tcp_listener(0, &addr);
	int queued = tcp_client(&addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	double start, elapsed;

	if (fd < 0)
		fail("socket");
	set_timeout(fd, SO_SNDTIMEO, 300);
	storm_start(1000);
	start = now_ms();
	CHECK(connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0);
	elapsed = now_ms() - start;
	if (errno != EINPROGRESS)
		fail("connect");
	storm_stop();
	report_ms("connect_timeout", elapsed);
	close(queued);
	close(listener);
	CHECK(legacy_signals > 10);
	return 0;
}
