/* poll and ppoll as distributions build them (-D_FORTIFY_SOURCE=2: the
 * count is not a constant, so they become __poll_chk and __ppoll_chk),
 * with a 300 ms timeout on an empty pipe under a 1 ms SIGALRM storm.
 * Usage: mux_fortified poll|ppoll */
#include "legacy.h"
#include <poll.h>

int main(int argc, char **argv)
{
	const char *call = argc > 1 ? argv[1] : "poll";
	int p[2], n;
	volatile nfds_t count = 1;
	struct pollfd fds[1];
	struct timespec ts = { 0, 300000000L };
	double start;

	if (pipe(p) != 0)
		fail("pipe");
	fds[0].fd = p[0];
	fds[0].events = POLLIN;
	storm_start(1000);
	start = now_ms();
	if (!strcmp(call, "poll"))
		n = poll(fds, count, 300);
	else
		n = ppoll(fds, count, &ts, NULL);
	if (n < 0)
		fail(call);
	report_ms("waited", now_ms() - start);
	storm_stop();
	CHECK(n == 0);
	CHECK(legacy_signals > 10);
	return 0;
}
