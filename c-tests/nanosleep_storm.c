/* nanosleep(2) for 400 ms under a 1 kHz SIGALRM storm; prints
 * nanosleep_ms=. Bare (or with the EINTR passed) it fails, and then `rem`
 * must hold the time that was left: more than 0, less than 400 ms. */
#include "legacy.h"

int main(void)
{
	struct timespec req = { 0, 400 * 1000000L };
	struct timespec rem = { -1, -1 };
	double start, elapsed;

	storm_start(1000);
	start = now_ms();
	if (nanosleep(&req, &rem) != 0) {
		int e = errno;
		elapsed = now_ms() - start;
		storm_stop();
		CHECK(rem.tv_sec == 0 && rem.tv_nsec > 0);
		/* What was left plus what was slept is what was asked. */
		CHECK(rem.tv_nsec / 1e6 + elapsed > 395 && rem.tv_nsec / 1e6 < 400);
		errno = e;
		fail("nanosleep");
	}
	elapsed = now_ms() - start;
	storm_stop();
	report_ms("nanosleep", elapsed);
	CHECK(legacy_signals > 100);
	return 0;
}
