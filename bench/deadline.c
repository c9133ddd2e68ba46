/* deadline.c: timeouts under a storm. `deadline CALL PERIOD_US`
 *
 * Makes one call that should end after 400 ms, under a SIGALRM storm of one
 * signal every PERIOD_US microseconds (handler without SA_RESTART):
 *   nanosleep      nanosleep(400 ms)                      returns 0
 *   nanosleep_rem  nanosleep(400 ms) in a loop that re-sleeps `rem` on
 *                  EINTR, as most hand fixes do (gives up after 4 s)
 *   poll           poll() of an empty socket, 400 ms      returns 0
 *   recv           recv() of an empty socket with SO_RCVTIMEO 400 ms
 *                                                          fails with EAGAIN
 * Prints `signals=N elapsed_ms=... gave_up=0|1`. Exits 1 if the call fails with EINTR,
 * 2 on any other wrong result.
 */
#include "../c-tests/legacy.h"
#include <poll.h>
#include <sys/socket.h>

#define TIMEOUT_MS 400
#define GIVE_UP_MS (10 * TIMEOUT_MS)

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: deadline nanosleep|nanosleep_rem|poll|recv PERIOD_US\n");
		return 2;
	}
	const char *call = argv[1];
	long period_us = atol(argv[2]);
	CHECK(period_us > 0);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail("socketpair");
	struct timeval tv = { TIMEOUT_MS / 1000, (TIMEOUT_MS % 1000) * 1000 };
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
		fail("setsockopt");
	struct timespec ts = { TIMEOUT_MS / 1000, (TIMEOUT_MS % 1000) * 1000000L };

	int gave_up = 0;
	storm_start(period_us);
	int before = legacy_signals;
	double t0 = now_ms();
	if (strcmp(call, "nanosleep") == 0) {
		if (nanosleep(&ts, NULL) != 0)
			fail("nanosleep");
	} else if (strcmp(call, "nanosleep_rem") == 0) {
		/* Under a fast storm this loop may never end: give up after
		 * GIVE_UP_MS and say so. */
		while (nanosleep(&ts, &ts) != 0) {
			if (errno != EINTR)
				fail("nanosleep");
			if (now_ms() - t0 > GIVE_UP_MS) {
				gave_up = 1;
				break;
			}
		}
	} else if (strcmp(call, "poll") == 0) {
		struct pollfd p = { sv[0], POLLIN, 0 };
		int r = poll(&p, 1, TIMEOUT_MS);
		if (r != 0) {
			if (r < 0)
				fail("poll");
			CHECK(r == 0);
		}
	} else if (strcmp(call, "recv") == 0) {
		char c;
		if (recv(sv[0], &c, 1, 0) != -1)
			CHECK(!"recv returned data");
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			fail("recv");
	} else {
		fprintf(stderr, "deadline: unknown call %s\n", call);
		return 2;
	}
	double t1 = now_ms();
	int signals = legacy_signals - before;
	storm_stop();
	printf("signals=%d elapsed_ms=%.3f gave_up=%d\n", signals, t1 - t0, gave_up);
	return 0;
}
