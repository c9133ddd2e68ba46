/* glibc's nptl test tst-sem6: a SIGALRM handler resets the disposition to
 * SIG_DFL and arms alarm(1) again, and sem_wait must fail with EINTR;
 * retrying it runs into the second alarm, which kills the process. Here a
 * POSIX timer also sends SIGUSR1 every millisecond (handler without
 * SA_RESTART), which legacy code does not expect.
 * Exit 0: sem_wait failed with EINTR after the alarm (prints alarm_ms);
 * 1: it failed with EINTR before (bare: the SIGUSR1 storm); killed by
 * SIGALRM (exit 142 from a shell) if it was retried. */
#include "legacy.h"
#include <semaphore.h>

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
	signal(SIGALRM, SIG_DFL);
	alarm(1);
}

int main(void)
{
	sem_t sem;

	CHECK(sem_init(&sem, 0, 0) == 0);
	legacy_handle(SIGALRM, on_alarm);
	timer_t storm = timer_storm_start(SIGUSR1, 1000);
	double start = now_ms();
	alarm(1);
	int r = sem_wait(&sem);
	double ms = now_ms() - start;
	alarm(0);
	timer_storm_stop(storm);
	if (r == 0) {
		fprintf(stderr, "sem_wait returned 0\n");
		return 2;
	}
	if (!(errno == EINTR && alarmed))
		fail("sem_wait");
	CHECK(legacy_signals > 10);
	report_ms("alarm", ms);
	return 0;
}
