/* send(2) with SO_SNDTIMEO 300 ms on a socket whose buffer is full and
 * whose peer never reads, under a 1 ms SIGALRM storm. The kernel ends it
 * with EAGAIN at 300 ms; prints send_timeout_ms=. */
#include "net.h"

int main(void)
{
	int sv[2];
	static char buf[4096];
	double start, elapsed;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail("socketpair");
	while (send(sv[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	if (errno != EAGAIN)
		fail("send (filling the buffer)");
	set_timeout(sv[0], SO_SNDTIMEO, 300);
	storm_start(1000);
	start = now_ms();
	CHECK(send(sv[0], buf, sizeof buf, 0) < 0);
	elapsed = now_ms() - start;
	if (errno != EAGAIN)
		fail("send");
	storm_stop();
	report_ms("send_timeout", elapsed);
	CHECK(legacy_signals > 10);
	return 0;
}
