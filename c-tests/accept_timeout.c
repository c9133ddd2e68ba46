/* accept(2) with SO_RCVTIMEO 300 ms on a TCP listener no client ever
 * reaches, under a 1 ms SIGALRM storm. The kernel ends it with EAGAIN at
 * 300 ms; prints accept_timeout_ms=. */
#include "net.h"

int main(void)
{
	struct sockaddr_in addr;
	int listener = tcp_listener(8, &addr);
	double start, elapsed;

	set_timeout(listener, SO_RCVTIMEO, 300);
	storm_start(1000);
	start = now_ms();
	CHECK(accept(listener, NULL, NULL) < 0);
	elapsed = now_ms() - start;
	if (errno != EAGAIN)
		fail("accept");
	storm_stop();
	report_ms("accept_timeout", elapsed);
	CHECK(legacy_signals > 10);
	return 0;
}
