/* recv(2) with SO_RCVTIMEO 300 ms on a socket whose peer stays silent,
 * under a 1 ms SIGALRM storm. The kernel ends it with EAGAIN at 300 ms;
 * prints recv_timeout_ms=. Bare, it fails with EINTR; a plain retry would
 * start the 300 ms again at every signal and never time out. */
#include "net.h"

int main(void)
{
	int sv[2];
	char buf[64];
	double start, elapsed;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail("socketpair");
	set_timeout(sv[0], SO_RCVTIMEO, 300);
	storm_start(1000);
	start = now_ms();
	CHECK(recv(sv[0], buf, sizeof buf, 0) < 0);
	elapsed = now_ms() - start;
	if (errno != EAGAIN)
		fail("recv");
	storm_stop();
	report_ms("recv_timeout", elapsed);
	CHECK(legacy_signals > 10);
	return 0;
}
