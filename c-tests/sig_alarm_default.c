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
	struct sigevent ev;
	struct itimerspec its;
	timer_t timer;

	CHECK(sem_init(&sem, 0, 0) == 0);
	legacy_handle(SIGALRM, on_alarm);
	legacy_handle(SIGUSR1, legacy_count_signal);
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0)
		fail("timer_create");
	its.it_interval.tv_sec = 0;
	its.it_interval.tv_nsec = 1000000;
	its.it_value = its.it_interval;
	if (timer_settime(timer, 0, &its, NULL) != 0)
		fail("timer_settime");
	double start = now_ms();
	alarm(1);
	int r = sem_wait(&sem);
	double ms = now_ms() - start;
	alarm(0);
	memset(&its, 0, sizeof its);
	timer_settime(timer, 0, &its, NULL);
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
