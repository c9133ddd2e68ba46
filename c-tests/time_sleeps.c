/* Sleeps under a 1 ms SIGALRM storm; prints slept_ms for the bounds.
 * Usage: time_sleeps clock_nanosleep|clock_nanosleep_abs|
 *        clock_nanosleep_realtime|clock_nanosleep_old|usleep|sleep
 * Each sleeps 300 ms, except sleep (2 s: sleep(1) cut short returns the
 * truncated 0 and could not tell). A second argument `quiet` leaves
 * slept_ms out: `eintrfix audit` compares the output of runs. */
#include "legacy.h"

/* The GLIBC_2.2.5 version of clock_nanosleep, as old binaries link it. */
extern int clock_nanosleep_old(clockid_t, int, const struct timespec *,
			       struct timespec *);
__asm__(".symver clock_nanosleep_old, clock_nanosleep@GLIBC_2.2.5");

static void check_error(const char *call, int error)
{
	if (error) {
		errno = error;
		fail(call);
	}
	/* clock_nanosleep leaves errno alone. */
	CHECK(errno == 0);
}

int main(int argc, char **argv)
{
	const char *call = argc > 1 ? argv[1] : "clock_nanosleep";
	struct timespec req = { 0, 300000000L }, at;
	clockid_t clock = CLOCK_MONOTONIC;
	int flags = 0;
	double start;

	storm_start(1000);
	start = now_ms();
	errno = 0;
	if (!strcmp(call, "clock_nanosleep_old")) {
		check_error(call, clock_nanosleep_old(CLOCK_MONOTONIC, 0, &req, NULL));
	} else if (!strncmp(call, "clock_nanosleep", 15)) {
		/* One call for every form (the compiler would merge them): the
		 * audit finds it at its line. */
		if (!strcmp(call, "clock_nanosleep_realtime")) {
			clock = CLOCK_REALTIME;
		} else if (!strcmp(call, "clock_nanosleep_abs")) {
			clock_gettime(CLOCK_MONOTONIC, &at);
			at.tv_nsec += req.tv_nsec;
			if (at.tv_nsec >= 1000000000L) {
				at.tv_sec++;
				at.tv_nsec -= 1000000000L;
			}
			req = at;
			flags = TIMER_ABSTIME;
		} else {
			CHECK(!strcmp(call, "clock_nanosleep"));
		}
		check_error(call, clock_nanosleep(clock, flags, &req, NULL));
	} else if (!strcmp(call, "usleep")) {
		if (usleep(300000) != 0)
			fail(call);
	} else if (!strcmp(call, "sleep")) {
		unsigned left = sleep(2);
		if (left != 0) {
			errno = EINTR;
			fail(call);
		}
	} else {
		CHECK(!"unknown call");
	}
	if (argc < 3 || strcmp(argv[2], "quiet"))
		report_ms("slept", now_ms() - start);
	storm_stop();
	CHECK(legacy_signals > 10);
	return 0;
}
